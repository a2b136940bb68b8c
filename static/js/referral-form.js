// The referral form: focus the error summary when the page comes back with problems,
// move focus to a field when its error is clicked, and send the form only once.
(function () {
  "use strict";

  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) {
        return;
      }
      event.preventDefault();
      // Show the question (legend or label) too, not only the input.
      var question = field.closest("fieldset") || field.closest(".mb-3") || field;
      question.scrollIntoView({ block: "start" });
      field.focus({ preventScroll: true });
    });
  }

  document.querySelectorAll("form[data-rst-submit-once]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    var label = button ? button.textContent : "";
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.sending = "true";
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
        button.textContent = button.dataset.sendingLabel || label;
      }
    });
    // A page restored by the Back button must be usable again.
    window.addEventListener("pageshow", function () {
      form.dataset.sending = "false";
      if (button) {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
        button.textContent = label;
      }
    });
  });
})();
