// Page behaviour on top of htmx: filters, bulk selection, inline edits and confirmations.
// Every form also works without this script, which only makes the pages quicker to use.

// Validation errors (422) and rejected stale edits (409) come back as forms with their
// messages, so htmx swaps them in like a success. Other errors keep the page as it is.
if (window.htmx) {
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "409", swap: true },
    { code: "422", swap: true },
    { code: "[45]..", swap: false, error: true },
  ];
}

// Leave empty filter fields out of GET requests that htmx sends, so pushed URLs only
// carry the filters in use, such as /accounts/?tier=high instead of ?q=&tier=high&...
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get" || !event.detail.formData) {
    return;
  }
  const formData = event.detail.formData;
  const emptyKeys = [];
  for (const [key, value] of formData.entries()) {
    if (value === "") {
      emptyKeys.push(key);
    }
  }
  for (const key of emptyKeys) {
    formData.delete(key);
  }
});

// The filter form applies itself on every change, and Apply sends it again. htmx 2.0.11
// pushes a history entry for each response, even for the URL already shown, so after a
// select changed and Apply was pressed, Back had to be pressed twice to leave that list.
// A push of the current URL replaces the entry instead.
document.addEventListener("htmx:beforeHistoryUpdate", (event) => {
  const update = event.detail.history;
  if (update.type !== "push") {
    return;
  }
  const target = new URL(update.path, window.location.href);
  const current = new URL(window.location.href);
  target.hash = "";
  current.hash = "";
  if (target.href === current.href) {
    update.type = "replace";
  }
});

// htmx restores a page from its history cache as HTML, which keeps no value chosen or
// typed in a form field. After Back the filter form would show no filters over a
// filtered table, and the next filter change would drop them. So the fields are set
// again from the restored URL.
document.addEventListener("htmx:historyRestore", () => {
  const form = document.getElementById("account-filters");
  if (form) {
    const params = new URLSearchParams(window.location.search);
    for (const field of form.querySelectorAll("input[name], select[name]")) {
      if (field.type !== "hidden") {
        field.value = params.get(field.name) || "";
      }
    }
  }
  updateSelection();
});

// Bulk selection on the account list ----------------------------------------------------

function rowBoxes() {
  return Array.from(document.querySelectorAll("[data-select-row]"));
}

function updateSelection() {
  const boxes = rowBoxes();
  const checked = boxes.filter((box) => box.checked).length;
  for (const counter of document.querySelectorAll("[data-bulk-count]")) {
    counter.textContent = String(checked);
  }
  for (const pageBox of document.querySelectorAll("[data-select-page]")) {
    pageBox.checked = boxes.length > 0 && checked === boxes.length;
    pageBox.indeterminate = checked > 0 && checked < boxes.length;
  }
}

function showBulkFields() {
  const select = document.querySelector("[data-bulk-action]");
  if (!select) {
    return;
  }
  for (const element of document.querySelectorAll("[data-bulk-for]")) {
    element.hidden = element.dataset.bulkFor !== select.value;
  }
}

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches("[data-select-page]")) {
    for (const box of rowBoxes()) {
      box.checked = target.checked;
    }
    updateSelection();
  } else if (target.matches("[data-select-row]")) {
    updateSelection();
  } else if (target.matches("[data-bulk-action]")) {
    showBulkFields();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  updateSelection();
  showBulkFields();
  updateCounters();
});

// The bulk form returns to the list as it is now, filters and page included.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb === "post" && event.detail.elt.id === "bulk-form") {
    event.detail.parameters.next = window.location.pathname + window.location.search;
  }
});

// The confirmation and the result of a bulk action open in the dialog. Bootstrap 5.3
// returns focus on close only to a data-bs-toggle trigger, so the page stores the
// control that opened the dialog and focuses it again on close. When that control is
// gone, the bulk form's submit button gets the focus.
let bulkDialogOpener = null;

document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (target && target.id === "bulk-dialog-body" && window.bootstrap) {
    const dialog = document.getElementById("bulk-dialog");
    if (!dialog.classList.contains("show")) {
      bulkDialogOpener = document.activeElement;
    } else if (!dialog.contains(document.activeElement)) {
      // The result replaced the confirmation and its focused button, so the focus moves to
      // the result's own control instead of staying on the page behind the dialog.
      const control =
        target.querySelector(".modal-footer .btn") || target.querySelector(".btn-close");
      if (control) {
        // After htmx settles the swap, which may move the focus again.
        window.setTimeout(() => control.focus(), 0);
      }
    }
    bootstrap.Modal.getOrCreateInstance(dialog).show();
  }
  if (target && target.id === "account-results") {
    updateSelection();
  }
  updateCounters();
});

document.addEventListener("hidden.bs.modal", (event) => {
  if (event.target.id !== "bulk-dialog") {
    return;
  }
  let opener = bulkDialogOpener;
  bulkDialogOpener = null;
  if (!opener || !opener.isConnected || opener === document.body) {
    opener = document.querySelector("[data-bulk-submit]");
  }
  if (opener) {
    opener.focus();
  }
});

// A CSV download keeps the page, so the dialog closes once the request is sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("[data-close-modal]") && window.bootstrap) {
    const dialog = form.closest(".modal");
    if (dialog) {
      window.setTimeout(() => bootstrap.Modal.getOrCreateInstance(dialog).hide(), 300);
    }
  }
});

// After a bulk action the table shows the new owners and tags.
document.body.addEventListener("accountsChanged", () => {
  if (document.getElementById("account-results")) {
    htmx.ajax("GET", window.location.pathname + window.location.search, {
      target: "#account-results",
      swap: "outerHTML",
    });
  }
});

// Account page ----------------------------------------------------------------------------

// An inline Edit or Resolve form replaces the field row that opened it, and the row
// replaces the form again on Cancel or save. Each swap removes the focused control, which
// leaves the focus on <body>. So the focus moves into a form when it opens, or to the
// first invalid input after an error. When the row returns, the focus goes back to the
// control that opened the form, or to the row's first control when that one is gone (a
// resolved field shows Edit in place of Resolve).
const INLINE_SECTION = /^field-|^account-segment$/;
const inlineOpeners = new Map();

document.addEventListener("htmx:beforeRequest", (event) => {
  const control = event.detail.elt;
  if (!control || control.tagName !== "A" || control.closest("form")) {
    return;
  }
  const section = control.closest("[id]");
  if (section && INLINE_SECTION.test(section.id)) {
    inlineOpeners.set(section.id, control.getAttribute("href"));
  }
});

function focusInlineForm(form) {
  const field =
    form.querySelector("[aria-invalid=true]") ||
    form.querySelector(
      "input:not([type=hidden]):not([disabled]), textarea:not([disabled]), select:not([disabled])",
    );
  if (field) {
    field.focus();
  }
}

function focusInlineOpener(section, href) {
  const links = Array.from(section.querySelectorAll("a[href]"));
  const control =
    links.find((link) => link.getAttribute("href") === href) ||
    links.find((link) => link.hasAttribute("hx-get")) ||
    links[0];
  if (control) {
    control.focus();
  }
}

document.addEventListener("htmx:afterSwap", (event) => {
  const id = event.detail.target && event.detail.target.id;
  if (!id || !INLINE_SECTION.test(id) || !inlineOpeners.has(id)) {
    return;
  }
  const section = document.getElementById(id);
  const focusLost = !document.activeElement || document.activeElement === document.body;
  if (!section || !focusLost) {
    return;
  }
  if (section.tagName === "FORM") {
    focusInlineForm(section);
  } else {
    focusInlineOpener(section, inlineOpeners.get(id));
    inlineOpeners.delete(id);
  }
});

// A note's Edit, Delete, Cancel and save each swap the whole notes section, which also
// leaves the focus on <body>. So the focus moves into the edit form or to the Cancel link
// of a deletion's confirmation when one opens, and back to the note's Edit link when it
// closes.
let noteOpenerId = null;

document.addEventListener("htmx:beforeRequest", (event) => {
  const control = event.detail.elt;
  const item = control && control.closest ? control.closest("#account-notes li[id]") : null;
  noteOpenerId = item ? item.id : null;
});

document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  const section = document.getElementById("account-notes");
  const focusLost = !document.activeElement || document.activeElement === document.body;
  if (!target || target.id !== "account-notes" || !section || !focusLost) {
    return;
  }
  const form = section.querySelector("[data-testid=note-edit-form]");
  const confirmation = section.querySelector("[data-testid=note-delete-confirm]");
  const item = noteOpenerId ? document.getElementById(noteOpenerId) : null;
  if (form) {
    focusInlineForm(form);
  } else if (confirmation) {
    confirmation.querySelector("a[href]").focus();
  } else if (item && item.querySelector("[data-testid=note-actions] a")) {
    item.querySelector("[data-testid=note-actions] a").focus();
  }
});

// Notes, reasons and descriptions have no maxlength attribute, because it counts UTF-16
// code units, so an emoji as two or more characters, and cuts a pasted text silently. A
// counter next to each input shows its length and turns red past the limit in
// data-max-length. The server rejects a longer text with a message and keeps it in the form.
const graphemeSegmenter =
  typeof Intl !== "undefined" && Intl.Segmenter
    ? new Intl.Segmenter(undefined, { granularity: "grapheme" })
    : null;

// Count user-perceived characters (extended grapheme clusters), as the server does, so a
// flag, an emoji with a skin tone or a family emoji counts once. A browser without
// Intl.Segmenter counts code points, which can show more than the server counts.
function characterCount(text) {
  if (graphemeSegmenter === null) {
    return Array.from(text).length;
  }
  let count = 0;
  for (const _segment of graphemeSegmenter.segment(text)) {
    count += 1;
  }
  return count;
}

function updateCounters() {
  for (const input of document.querySelectorAll("[data-counter]")) {
    const counter = document.getElementById(input.dataset.counter);
    if (!counter) {
      continue;
    }
    const length = characterCount(input.value);
    const limit = Number(input.dataset.maxLength) || 0;
    counter.textContent = String(length);
    counter.classList.toggle("text-danger", limit > 0 && length > limit);
  }
}

document.addEventListener("input", (event) => {
  if (event.target.matches("[data-counter]")) {
    updateCounters();
  }
});

// Errors ----------------------------------------------------------------------------------

function showPageAlert(text) {
  const main = document.getElementById("main");
  if (!main) {
    return;
  }
  const alert = document.createElement("div");
  alert.className = "alert alert-danger alert-dismissible fade show";
  alert.setAttribute("role", "alert");
  alert.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "btn-close";
  close.setAttribute("data-bs-dismiss", "alert");
  close.setAttribute("aria-label", "Close");
  alert.appendChild(close);
  main.prepend(alert);
}

document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr ? event.detail.xhr.status : 0;
  if (status === 403) {
    showPageAlert("You may not make this change. Ask your manager or Sales Ops for access.");
  } else if (status === 404) {
    showPageAlert("This item no longer exists. Reload the page.");
  } else {
    showPageAlert(`The request failed (HTTP ${status}). Reload the page and try again.`);
  }
});

document.addEventListener("htmx:sendError", () => {
  showPageAlert("The portal did not answer. Check your connection and try again.");
});

// A review opened without ?position shows the first undecided account. Its address then
// names that account, so Back after the first decision returns to it.
document.addEventListener("DOMContentLoaded", () => {
  const card = document.querySelector("[data-review-card][data-position-url]");
  if (card && !new URLSearchParams(window.location.search).has("position")) {
    window.history.replaceState(window.history.state, "", card.dataset.positionUrl);
  }
});
