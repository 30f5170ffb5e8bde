// testrota: a little JavaScript, progressive only. Every page works without it.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Forms marked data-confirm ask first (apply an import, re-plan a week).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Tables with data-autosubmit filters: changing a select submits its form.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit], input[data-autosubmit]")) {
    el.form.requestSubmit();
  }
});

// Check-in and status lookup: keep the big input focused and selected, so a barcode scanner
// (which types the number and presses Enter) can be used all day without touching the screen.
function keepScanFocus() {
  const input = document.querySelector("input.scan");
  if (!input) return;
  input.focus();
  input.select();
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) input.focus();
  });
}

// Upload: drag and drop onto the zone, and a progress bar while a large file is sent.
function setupUpload() {
  const form = document.querySelector("form[data-upload]");
  if (!form) return;
  const zone = form.querySelector(".drop");
  const input = form.querySelector('input[type="file"]');
  const chosen = form.querySelector("[data-chosen]");
  const bar = form.querySelector("progress");
  const busy = form.querySelector("[data-busy]");
  const show = () => {
    if (chosen) chosen.textContent = input.files.length ? input.files[0].name : "";
  };
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach((name) =>
    zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((name) =>
    zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
  zone.addEventListener("drop", (e) => {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      show();
    }
  });
  form.addEventListener("submit", (event) => {
    if (!window.XMLHttpRequest || !input.files.length) return;
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    if (bar) { bar.hidden = false; bar.value = 0; }
    xhr.upload.addEventListener("progress", (e) => {
      if (bar && e.lengthComputable) bar.value = e.loaded / e.total;
    });
    xhr.upload.addEventListener("load", () => { if (busy) busy.hidden = false; });
    xhr.addEventListener("load", () => {
      // The server answers with the preview page (or the form with its error): show it.
      if (xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", () => { form.submit(); });
    xhr.send(new FormData(form));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  keepScanFocus();
  setupUpload();
});
