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
  // Ask before destructive buttons (forms still POST with CSRF; this is only a second chance).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
