// The units field takes several units ("A, B"), but the browser's own suggestion list only
// ever completes the whole field. Here the unit being typed (after the last comma, semicolon
// or line break) is matched against the page's list of units, and choosing one replaces just
// that unit, keeping the ones before it. Without this script the field still takes typed paths.
(function () {
  "use strict";
  var source = document.getElementById("units");
  if (!source) return;
  var units = Array.prototype.map.call(source.options, function (o) {
    return { path: o.value, level: o.label || "", key: o.value.toLowerCase() };
  });
  var LIMIT = 12;
  var count = 0;

  function lastSeparator(text) {
    var at = -1;
    for (var i = 0; i < text.length; i++) {
      if (",，;；\n".indexOf(text.charAt(i)) >= 0) at = i;
    }
    return at;
  }

  function enhance(input) {
    count += 1;
    var list = document.createElement("ul");
    list.id = "unit-options-" + count;
    list.className = "unit-options";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("aria-label") || input.placeholder || "");
    list.hidden = true;
    input.removeAttribute("list");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    input.insertAdjacentElement("afterend", list);
    var active = -1;

    function options() {
      return list.querySelectorAll("li[role=option]");
    }

    function mark(index) {
      var items = options();
      active = index;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      list.hidden = true;
      list.textContent = "";
      input.setAttribute("aria-expanded", "false");
      mark(-1);
    }

    function choose(path) {
      var cut = lastSeparator(input.value);
      var head = cut >= 0 ? input.value.slice(0, cut + 1).replace(/\s+$/, "") + " " : "";
      input.value = head + path + ", ";
      close();
      input.focus();
    }

    function render() {
      var cut = lastSeparator(input.value);
      var typed = input.value.slice(cut + 1).trim().toLowerCase();
      if (!typed) {
        close();
        return;
      }
      var taken = {};
      input.value.slice(0, cut + 1).split(/[,，;；\n]/).forEach(function (t) {
        taken[t.trim()] = true;
      });
      var found = units.filter(function (u) {
        return u.key.indexOf(typed) >= 0 && !taken[u.path];
      }).slice(0, LIMIT);
      list.textContent = "";
      found.forEach(function (u, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.path = u.path;
        item.textContent = u.path + " ";
        var level = document.createElement("span");
        level.className = "muted";
        level.textContent = u.level;
        item.appendChild(level);
        // mousedown, not click: the field keeps its focus, so it does not close the list first
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(u.path);
        });
        list.appendChild(item);
      });
      list.hidden = found.length === 0;
      input.setAttribute("aria-expanded", found.length ? "true" : "false");
      mark(-1);
    }

    input.addEventListener("input", render);
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (event) {
      var items = options();
      if (list.hidden || !items.length) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        mark((active + 1) % items.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        mark(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault(); // choose the unit, do not send the form yet
        choose(items[active].dataset.path);
      } else if (event.key === "Escape") {
        close();
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[name=units]"), enhance);
})();
