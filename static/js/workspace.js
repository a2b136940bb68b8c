// The referral page of the staff workspace (referrals/templates/referrals/workspace/detail.html):
// notes count their characters, a refused form shows its first error, and the transfer form
// says where the referral will go. (submit-once.js sends each action form once.)
(function () {
  "use strict";

  var numbers = new Intl.NumberFormat("en-US");

  // Character counts for texts with a limit. The visible count follows every key; the
  // count read out by screen readers waits for a pause in typing.
  document.querySelectorAll("textarea[data-rst-limit]").forEach(function (box) {
    var limit = parseInt(box.dataset.rstLimit, 10);
    var count = document.createElement("div");
    count.id = box.id + "_count";
    count.className = "form-text rst-char-count";
    var spoken = document.createElement("div");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    var holder = box.closest(".mb-3") || box.parentNode;
    holder.appendChild(count);
    holder.appendChild(spoken);
    var described = (box.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(count.id);
    box.setAttribute("aria-describedby", described.join(" "));
    var pause = null;

    function message() {
      // As the server counts: surrounding spaces dropped, characters (not UTF-16 units).
      var length = Array.from(box.value.trim()).length;
      if (length > limit) {
        return {
          text: numbers.format(length - limit) + " characters too many (" +
            numbers.format(length) + " of " + numbers.format(limit) + ")",
          over: true
        };
      }
      return {
        text: numbers.format(limit - length) + " characters left (" +
          numbers.format(length) + " of " + numbers.format(limit) + ")",
        over: false
      };
    }

    function update(speak) {
      var now = message();
      count.textContent = now.text;
      count.classList.toggle("rst-char-count-over", now.over);
      window.clearTimeout(pause);
      if (speak) {
        pause = window.setTimeout(function () {
          spoken.textContent = message().text;
        }, 1000);
      }
    }

    box.addEventListener("input", function () {
      update(true);
    });
    update(false);
  });

  // A form sent back with errors: open it, and take the reader to its first marked field.
  var refused = document.querySelector("form[data-rst-refused]");
  if (refused) {
    var details = refused.closest("details");
    if (details) {
      details.open = true;
    }
    var field = refused.querySelector(".is-invalid, [aria-invalid=true]");
    if (field) {
      var question = field.closest("fieldset") || field.closest(".mb-3") || field;
      question.scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
    }
  }

  // Transfer: say where the referral goes for the chosen state or territory.
  var select = document.querySelector("select[data-rst-transfer]");
  var note = document.getElementById("transfer-destination");
  if (select && note) {
    var general = note.textContent;
    var ownRegion = note.dataset.ownRegion;
    var ownLabel = note.dataset.ownRegionLabel;
    var describe = function () {
      var option = select.options[select.selectedIndex];
      if (!option || !option.value) {
        note.textContent = general;
        return;
      }
      var place = option.textContent.split(" — ")[0];
      var region = option.dataset.region;
      var regionLabel = option.dataset.regionLabel;
      if (!region) {
        note.textContent = place + " is not mapped to a region: the referral will go to " +
          "the supervisor intake" + (ownRegion ? " and leave your queue." : ".");
      } else if (!ownRegion) {
        note.textContent = place + " is in " + regionLabel + ": the referral will go to " +
          "that region's queue and specialist.";
      } else if (region === ownRegion) {
        note.textContent = place + " is in " + ownLabel + ", your region: the referral " +
          "stays in your region's queue (the routing rule chooses its specialist again).";
      } else {
        note.textContent = place + " is in " + regionLabel + ": the referral will leave " +
          "your queue and go to that region's specialist.";
      }
    };
    var described = (select.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(note.id);
    select.setAttribute("aria-describedby", described.join(" "));
    select.addEventListener("change", describe);
    describe();
  }
})();
