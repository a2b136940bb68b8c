// Send a form once: its button is disabled while the page waits for the answer, and works
// again when the page comes back from the Back button's cache. The server acts once per
// form anyway (the referral form's submission token, the action forms' one-time tokens);
// this spares the second post and tells the person it is on its way.
// Forms marked data-rst-submit-once, and every posting form on a staff referral page.
(function () {
  "use strict";

  var once = "form[data-rst-submit-once], .rst-referral form[method=post i]";
  document.querySelectorAll(once).forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    var label = button ? button.textContent : "";
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return; // another handler stopped it (say, a field to fix first): not sent
      }
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
