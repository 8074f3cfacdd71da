// Keyboard shortcuts of the review card: Enter confirms, C opens the correction form,
// the right and left arrows move to the next and previous account. Keys typed into a
// form field are left alone, so Enter there submits that form as usual.
(function () {
  "use strict";

  function typingInField(event) {
    const target = event.target;
    return target && target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  function click(selector) {
    const element = document.querySelector(selector);
    if (element && !element.disabled) {
      element.click();
      return true;
    }
    return false;
  }

  function openCorrection() {
    const form = document.querySelector("[data-review-correct-form]");
    if (!form) {
      return false;
    }
    form.hidden = false;
    const field = form.querySelector("input[name=tag]");
    if (field) {
      // Select the current tag so typing replaces it rather than prepending to it.
      field.focus();
      field.select();
    }
    return true;
  }

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-review-action=open-correction]");
    if (toggle) {
      event.preventDefault();
      openCorrection();
    }
  });

  document.addEventListener("keydown", (event) => {
    if (!document.querySelector("[data-review-card]") || typingInField(event)) {
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    let handled = false;
    if (event.key === "Enter") {
      if (event.target.closest && event.target.closest("a, button")) {
        return;
      }
      handled = click("[data-review-action=confirm]");
    } else if (event.key === "c" || event.key === "C") {
      handled = openCorrection();
    } else if (event.key === "ArrowRight") {
      handled = click("[data-review-action=next]");
    } else if (event.key === "ArrowLeft") {
      handled = click("[data-review-action=previous]");
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
