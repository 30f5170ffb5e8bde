// testrota scan console (/scan): a tube, then its members, by camera, scanner or thumb.
//
// Every scan gets an id and goes into a queue kept in localStorage; the queue is sent in order,
// one request at a time, and a scan leaves it only once the server has answered it. A network
// drop (or a lost answer) leaves it queued and it is sent again later with the same id: the
// server keeps each answer by id and takes each scan once. A queued scan carries when it was
// made as an age, so a phone's clock that is wrong does not matter.
"use strict";

(function () {
  const root = document.getElementById("scan-console");
  if (!root) return;
  const t = (name, values) => {
    let text = root.dataset["t" + name.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())] || name;
    for (const [k, v] of Object.entries(values || {})) text = text.replace("{" + k + "}", v);
    return text;
  };
  const $ = (id) => document.getElementById(id);
  const site = $("scan-site");
  const ratio = $("scan-ratio");
  const step = $("scan-step");
  const tubeBox = $("scan-tube");
  const answerBox = $("scan-answer");
  const log = $("scan-log");
  const queueBadge = $("scan-queue");
  const onlineBadge = $("scan-online");
  const input = $("scan-input");
  const video = $("scan-video");
  const cameraButton = $("scan-camera");
  const QUEUE_KEY = "testrota.scan.queue";
  const TUBE_KEY = "testrota.scan.tube";
  const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  let queue = [];
  try { queue = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { queue = []; }
  let tube = null; // {code, places_left, status}
  try { tube = JSON.parse(localStorage.getItem(TUBE_KEY) || "null"); } catch (e) { tube = null; }
  let sending = false;
  let retryDelay = 1000;
  let retryTimer = null;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    (window.crypto || {}).getRandomValues ? crypto.getRandomValues(bytes) : bytes.forEach((_, i) => { bytes[i] = Math.random() * 256; });
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function save() {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
    localStorage.setItem(TUBE_KEY, JSON.stringify(tube));
    queueBadge.hidden = queue.length === 0;
    queueBadge.textContent = t("waiting", { n: queue.length });
    root.dataset.queued = String(queue.length);
  }

  function showTube() {
    const open = tube && tube.status === "open" && tube.places_left > 0;
    tubeBox.classList.toggle("open", !!open);
    tubeBox.dataset.code = open ? tube.code : "";
    tubeBox.dataset.placesLeft = open ? String(tube.places_left) : "";
    step.textContent = open ? t("scan-people", { code: tube.code, n: tube.places_left }) : t("scan-tube");
    $("scan-close-tube").disabled = !open;
    $("scan-new-tube").disabled = !open;
  }

  // --- feedback: colour, sound, vibration ----------------------------------------------------
  let audio = null;
  function beep(color) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tones = { green: [[880, 0.12]], amber: [[660, 0.1], [660, 0.1]], red: [[220, 0.45]] }[color] || [];
      let at = audio.currentTime;
      for (const [freq, length] of tones) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.value = 0.2;
        osc.connect(gain).connect(audio.destination);
        osc.start(at);
        osc.stop(at + length);
        at += length + 0.08;
      }
    } catch (e) { /* no sound: the colour says it */ }
    if (navigator.vibrate) navigator.vibrate({ green: 80, amber: [80, 60, 80], red: 400 }[color] || 0);
  }

  function show(color, message, item) {
    answerBox.hidden = false;
    answerBox.className = "answer " + color;
    answerBox.dataset.color = color;
    answerBox.textContent = message;
    beep(color);
    if (item) {
      let li = log.querySelector('li[data-id="' + item.id + '"]');
      if (!li) {
        li = document.createElement("li");
        li.dataset.id = item.id;
        log.prepend(li);
        while (log.children.length > 50) log.lastChild.remove();
      }
      li.dataset.color = color;
      li.dataset.kind = item.kind;
      li.dataset.value = item.value;
      if (color === "pending") li.dataset.pending = "1"; else delete li.dataset.pending;
      li.textContent = message;
    }
  }

  // --- the queue ------------------------------------------------------------------------------
  function enqueue(kind, value) {
    const item = {
      id: newId(),
      kind: kind,
      value: value,
      site: site.value || null,
      tube: kind === "person" && tube ? tube.code : (kind === "close" ? value : null),
      ratio: kind === "tube" && ratio.value ? Number(ratio.value) : null,
      scannedAt: Date.now(),
    };
    queue.push(item);
    // The console moves on at once; the server's answer corrects it when it comes.
    if (kind === "tube") tube = { code: value, places_left: Number(ratio.value || root.dataset.defaultRatio), status: "open" };
    else if (kind === "person" && tube) tube.places_left = Math.max(0, tube.places_left - 1);
    else if (kind === "close") tube = null;
    save();
    showTube();
    show("pending", value + " …", item);
    flush();
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = setTimeout(() => { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function setOnline(online) {
    onlineBadge.textContent = online ? t("online") : t("offline");
    onlineBadge.classList.toggle("warn", !online);
    root.dataset.online = online ? "1" : "0";
  }

  async function flush() {
    if (sending) return;
    sending = true;
    try {
      while (queue.length) {
        const item = queue[0];
        let response;
        try {
          response = await fetch("/scan/api", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF, "Accept": "application/json" },
            body: JSON.stringify({
              id: item.id, kind: item.kind, value: item.value, site: item.site,
              tube: item.tube, ratio: item.ratio, age_ms: Math.max(0, Date.now() - item.scannedAt),
            }),
          });
        } catch (e) {
          setOnline(false);
          show("amber", t("queued"), null);
          scheduleRetry();
          return;
        }
        if (response.status === 401 || response.status === 403) {
          show("red", t("signed-out"), null);
          scheduleRetry();
          return;
        }
        if (response.status >= 500) { scheduleRetry(); return; }
        let answer;
        try { answer = await response.json(); } catch (e) { scheduleRetry(); return; }
        setOnline(true);
        retryDelay = 1000;
        queue.shift();
        if (answer.tube) {
          tube = answer.tube.status === "open" && answer.tube.places_left > 0 ? answer.tube : null;
        } else if (item.kind === "tube" && !answer.ok) {
          tube = null; // the tube was refused: scan another
        } else if (item.kind === "person" && !answer.ok && tube && tube.code === item.tube) {
          tube.places_left += 1; // the swab was refused: its place is still free
        }
        save();
        showTube();
        show(answer.color || "red", answer.message || "", item);
      }
    } finally {
      sending = false;
    }
  }

  // --- what a scan is ---------------------------------------------------------------------------
  function handle(raw) {
    const value = (raw || "").trim();
    if (!value) return;
    if (!site.value) { show("red", t("choose-site"), null); return; }
    const personalCode = value.toUpperCase().startsWith("TR:");
    const tubeOpen = tube && tube.status === "open" && tube.places_left > 0;
    if (!personalCode && !tubeOpen) enqueue("tube", value);
    else enqueue("person", value);
  }

  $("scan-manual").addEventListener("submit", (event) => {
    event.preventDefault();
    handle(input.value);
    input.value = "";
    input.focus();
  });
  $("scan-close-tube").addEventListener("click", () => { if (tube) enqueue("close", tube.code); });
  $("scan-new-tube").addEventListener("click", () => { tube = null; save(); showTube(); });
  window.addEventListener("online", () => {
    setOnline(true);
    retryDelay = 1000;
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    flush();
  });
  window.addEventListener("offline", () => setOnline(false));

  // --- the camera -------------------------------------------------------------------------------
  let stream = null;
  let detector = null;
  let lastValue = "";
  let lastAt = 0;

  async function makeDetector() {
    const formats = ["qr_code", "code_128", "code_39", "ean_13", "itf", "data_matrix"];
    if ("BarcodeDetector" in window) {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      const wanted = formats.filter((f) => supported.includes(f));
      if (wanted.length) return new window.BarcodeDetector({ formats: wanted });
    }
    const api = window.BarcodeDetectionAPI;
    if (!api) return null;
    // The reader's WebAssembly is served by this app, never fetched from a CDN.
    api.prepareZXingModule({
      overrides: {
        locateFile: (path, prefix) => (path.endsWith(".wasm") ? root.dataset.wasm : prefix + path),
      },
    });
    return new api.BarcodeDetector({ formats: formats });
  }

  async function tick() {
    if (!stream) return;
    if (video.readyState >= 2) {
      try {
        const found = await detector.detect(video);
        if (found.length) {
          const value = found[0].rawValue;
          const now = Date.now();
          // The same code held in view reads many times a second: take it once.
          if (value !== lastValue || now - lastAt > 4000) {
            lastValue = value;
            handle(value);
          }
          lastAt = now;
        }
      } catch (e) { /* a frame that cannot be read */ }
    }
    setTimeout(tick, 120);
  }

  async function startCamera() {
    detector = detector || (await makeDetector());
    if (!detector) { show("amber", t("no-detector"), null); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      show("amber", t("no-camera"), null);
      return;
    }
    video.srcObject = stream;
    video.classList.add("on");
    await video.play().catch(() => {});
    cameraButton.textContent = t("camera-on");
    root.dataset.camera = "on";
    tick();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    video.classList.remove("on");
    cameraButton.textContent = t("camera-off");
    root.dataset.camera = "off";
  }

  cameraButton.addEventListener("click", () => (stream ? stopCamera() : startCamera()));
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) cameraButton.hidden = true;

  setOnline(navigator.onLine !== false);
  save();
  showTube();
  flush();
})();
