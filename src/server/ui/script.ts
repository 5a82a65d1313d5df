// The UI's own script, served as /assets/app.js (no inline scripts: the pages' content security
// policy allows scripts from this server only): confirmations before actions, and following the
// end of a live log.
export const SCRIPT = `
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
}, true);
document.addEventListener("htmx:confirm", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (!question || event.target.tagName === "FORM") return;
  event.preventDefault();
  if (window.confirm(question)) event.detail.issueRequest();
});
document.addEventListener("htmx:afterSwap", function (event) {
  var log = event.target.closest && event.target.closest("[data-follow]");
  if (log) log.scrollTop = log.scrollHeight;
});
`;
