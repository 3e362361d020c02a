// Vigil triage: countdowns that tick between page loads, and "being viewed by" heartbeats.
// The queue refreshes itself through htmx (queue.html); nothing here touches focus.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var loadedAt = Date.now();

  function format(seconds) {
    var sign = seconds < 0 ? "overdue " : "";
    seconds = Math.abs(seconds);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return sign + (h ? h + "h " + pad(m) + "m" : m + "m " + pad(s) + "s");
  }

  function tick() {
    var elapsed = Math.floor((Date.now() - loadedAt) / 1000);
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = parseInt(el.getAttribute("data-countdown"), 10) - elapsed;
      var text = format(left);
      if (el.textContent !== text) { el.textContent = text; }
      el.classList.toggle("overdue", left < 0);
    });
  }

  function heartbeat(el) {
    var url = el.getAttribute("data-heartbeat");
    setInterval(function () {
      fetch(url, {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf, "X-Vigil-Poll": "1"}});
    }, 15000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-heartbeat]").forEach(heartbeat);
    if (document.querySelector("[data-countdown]")) { setInterval(tick, 1000); }
  });
})();
