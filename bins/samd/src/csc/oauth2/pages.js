// sam's OAuth 2.0 pages (bins/samd/src/csc/oauth2.rs): the page that waits for the user's
// device follows the authorisation (GET .../authorize/progress, JSON) and goes on by itself.
// Without script the page's button does the same. No other script runs on these pages.
(function () {
  "use strict";
  var main = document.querySelector("main[data-authorization]");
  if (!main) {
    return;
  }
  var id = main.getAttribute("data-authorization");
  var status = document.getElementById("status");
  var back = document.getElementById("back");
  var backLink = document.getElementById("back-link");
  var form = document.getElementById("continue");
  var url = "/csc/v2/oauth2/authorize/progress?authorization_id=" + encodeURIComponent(id);
  var every = 1000;
  if (form) {
    form.hidden = true;
  }
  function show(text) {
    status.textContent = text;
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json();
      })
      .then(function (progress) {
        if (progress.status === "pending") {
          window.setTimeout(poll, every);
        } else if (progress.status === "approved") {
          show(progress.message);
          window.location.assign(progress.redirect);
        } else {
          var heading = document.querySelector("h1");
          heading.textContent = "Not authorised";
          document.title = document.title.replace("Approve on your device", "Not authorised");
          show(progress.message);
          status.setAttribute("role", "alert");
          if (progress.redirect) {
            backLink.setAttribute("href", progress.redirect);
            back.hidden = false;
            backLink.focus();
          }
        }
      })
      .catch(function () {
        show("The service cannot be reached; trying again…");
        window.setTimeout(poll, 5 * every);
      });
  }
  window.setTimeout(poll, every);
})();
