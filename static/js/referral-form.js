// The referral form: focus the error summary when the page comes back with problems,
// and move focus to a field when its error is clicked. (submit-once.js sends it once.)
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
})();
