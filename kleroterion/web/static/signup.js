// The public sign-up page (issue 17): a letter's link carries the code in the URL's fragment
// (/aanmelden/PROCESS#code=ABCDE-FGHJK-2), which the browser never sends to the server, so the code
// is in no request line or log. Copy it into the field and take it out of the address bar.
document.addEventListener("DOMContentLoaded", function () {
  var match = /^#code=([0-9A-Za-z-]{1,20})$/.exec(window.location.hash);
  var field = document.getElementById("code");
  if (match && field && field.value === "") {
    field.value = match[1].toUpperCase();
  }
  if (match && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
});
