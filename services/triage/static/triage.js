// Vigil triage: live queue, countdowns and "being viewed by". No framework; the server renders the rows.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var loadedAt = Date.now();

  function fmt(seconds) {
    var sign = seconds < 0 ? "overdue " : "";
    seconds = Math.abs(seconds);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return sign + (h ? h + "h " + pad(m) + "m" : m + "m " + pad(s) + "s");
  }

  function tick() {
    var elapsed = Math.floor((Date.now() - loadedAt) / 1000);
    document.querySelectorAll("[data-left]").forEach(function (el) {
      var left = parseInt(el.getAttribute("data-left"), 10) - elapsed;
      el.textContent = fmt(left);
      el.classList.toggle("overdue", left < 0);
    });
  }

  function pollQueue(body) {
    var source = body.getAttribute("data-source");
    var every = parseInt(body.getAttribute("data-refresh"), 10) || 2000;
    var status = document.getElementById("queue-status");
    var count = body.querySelectorAll("tr[data-incident]").length;
    function once() {
      fetch(source, {credentials: "same-origin", headers: {"Accept": "text/html"}}).then(function (r) {
        if (r.status === 401) { window.location.href = "/login?next=/queue"; return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || html === undefined) { return; }
        body.innerHTML = html;
        loadedAt = Date.now();
        tick();
        var now = body.querySelectorAll("tr[data-incident]").length;
        if (status && now > count) { status.textContent = (now - count) + " new in the queue"; }
        count = now;
      }).catch(function () { /* offline for a moment: try again next time */ })
        .finally(function () { setTimeout(once, every); });
    }
    setTimeout(once, every);
  }

  function heartbeat(el) {
    var url = el.getAttribute("data-heartbeat");
    setInterval(function () {
      fetch(url, {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}});
    }, 15000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.getElementById("queue-rows");
    if (body) { pollQueue(body); }
    document.querySelectorAll("[data-heartbeat]").forEach(heartbeat);
    setInterval(tick, 1000);
  });
})();
