// Small progressive enhancements; the pages work without JavaScript.
(function () {
  "use strict";
  // Pre-fill the time zone from the browser on a fresh form (never over the user's own choice).
  document.querySelectorAll("select[data-browser-timezone]").forEach(function (select) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) { return; }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.value = zone; break; }
    }
  });
  // Time-zone pickers: the zone this device is in, first; and a search box (city, country,
  // offset) that narrows the long list as you type.
  document.querySelectorAll("select[data-zone-picker]").forEach(function (select) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { zone = null; }
    var found = null;
    for (var i = 0; zone && i < select.options.length; i++) {
      var option = select.options[i];
      var old = (option.getAttribute("data-aliases") || "").split(" ");
      if (option.value === zone || old.indexOf(zone) !== -1) { found = option; break; }
    }
    if (found) { zone = found.value; }  // the listed name, not the browser's old one
    var before = select.value;
    if (found) {
      var group = document.createElement("optgroup");
      group.label = select.getAttribute("data-detected-label") || "This device";
      var copy = found.cloneNode(true);
      copy.selected = false;
      group.appendChild(copy);
      select.insertBefore(group, select.firstChild);
      // A fresh form takes the device's zone; otherwise what was chosen stays chosen.
      select.value = select.hasAttribute("data-browser-timezone") ? zone : before;
    }
    var search = document.createElement("input");
    search.type = "search";
    search.className = "form-control form-control-sm mb-1";
    search.placeholder = select.getAttribute("data-search-label") || "Search";
    search.setAttribute("aria-label", search.placeholder);
    search.setAttribute("aria-controls", select.id);
    select.parentNode.insertBefore(search, select);
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var first = null;
      select.querySelectorAll("optgroup").forEach(function (group) {
        var shown = 0;
        group.querySelectorAll("option").forEach(function (option) {
          var text = (option.textContent + " " + option.value).toLowerCase().replace(/_/g, " ");
          var match = words.every(function (w) { return text.indexOf(w) !== -1; });
          option.hidden = !match;
          if (match) { shown++; if (!first) { first = option; } }
        });
        group.hidden = shown === 0;
      });
      if (first && words.length) { select.value = first.value; }
    });
  });
  // The coordinator's calendar: drag a confirmed booking to another time (or doctor); the
  // drop opens the move page, which says what changes and moves only when confirmed.
  document.querySelectorAll("[data-move]").forEach(function (entry) {
    entry.setAttribute("draggable", "true");
    entry.addEventListener("dragstart", function (event) {
      event.dataTransfer.setData("text/plain", entry.getAttribute("data-move"));
      event.dataTransfer.effectAllowed = "move";
    });
  });
  document.querySelectorAll(".cal-col[data-day]").forEach(function (column) {
    column.addEventListener("dragover", function (event) { event.preventDefault(); });
    column.addEventListener("drop", function (event) {
      event.preventDefault();
      var url = event.dataTransfer.getData("text/plain");
      if (!url || url.charAt(0) !== "/") { return; }
      var box = column.getBoundingClientRect();
      var rows = parseInt(column.getAttribute("data-rows"), 10);
      var row = Math.max(0, Math.min(rows - 1,
        Math.floor((event.clientY - box.top) / box.height * rows)));
      var minutes = parseInt(column.getAttribute("data-first-hour"), 10) * 60 + row * 15;
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      var query = "start=" + column.getAttribute("data-day") + "T" +
        pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
      if (column.getAttribute("data-doctor")) {
        query += "&doctor=" + column.getAttribute("data-doctor");
      }
      window.location.assign(url + "?" + query);
    });
  });
  // Ask before destructive buttons (forms still POST with CSRF; this is only a second chance).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
