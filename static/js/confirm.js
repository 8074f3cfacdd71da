// Plain forms with data-confirm ask before they submit (htmx forms use hx-confirm). The
// portal's pages and the framework admin both load this file.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
