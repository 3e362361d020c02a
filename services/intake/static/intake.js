// Optional improvements only: the form and the quick exit work without this file. GOV.UK Frontend's own
// script (vigil/init.js) runs the Exit this page button, the error summary and the other components.
(function () {
  "use strict";
  var EXIT = ".govuk-exit-this-page__button";
  function leave(event) {
    var exit = document.querySelector(EXIT);
    if (!exit) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    // replace() keeps this page out of the back button's history, which GOV.UK's button does not.
    window.location.replace(exit.href);
  }
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest(EXIT)) { leave(event); }
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.shiftKey) { leave(event); }
  });
}());
