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
