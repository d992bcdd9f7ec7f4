// Kleroterion staff app: the only script besides htmx. Moves focus to a form's error summary (GOV.UK
// pattern) so a screen reader announces it and the links to the fields are one Tab away.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) {
    summary.focus();
  }
});
