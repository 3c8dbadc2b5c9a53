// Move keyboard and screen-reader focus to what a person must read first after a
// form round-trip: the error summary, or the refusal of an action. Loaded as a file:
// the Content-Security-Policy allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  var first = document.getElementById("error-summary") || document.getElementById("refusal");
  if (first) {
    first.focus();
  }
});
