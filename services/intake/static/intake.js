// Optional improvements only: the form and the quick-exit link work without this file.
(function () {
  "use strict";
  function leave(event) {
    var exit = document.getElementById("quick-exit");
    if (!exit) { return; }
    if (event) { event.preventDefault(); }
    // replace() keeps this page out of the back button's history.
    window.location.replace(exit.href);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var exit = document.getElementById("quick-exit");
    if (exit) { exit.addEventListener("click", leave); }
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && event.shiftKey) { leave(event); }
    });
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
}());
