// The chat console: keep each transcript scrolled to its newest line, and send on Enter.
const scrollToEnd = (transcript) => {
  transcript.scrollTop = transcript.scrollHeight;
};

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".console-transcript").forEach(scrollToEnd);
});

// Fired for each swapped-in element: a new line (inside a transcript) or a new chat panel.
document.addEventListener("htmx:oobAfterSwap", (event) => {
  const element = event.target;
  if (!(element instanceof Element)) return;
  const transcript = element.closest(".console-transcript");
  if (transcript) scrollToEnd(transcript);
  element.querySelectorAll(".console-transcript").forEach(scrollToEnd);
});

document.addEventListener("keydown", (event) => {
  const field = event.target;
  if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
  if (!field.matches || !field.matches(".console-reply textarea")) return;
  event.preventDefault();
  if (field.value.trim()) field.form.requestSubmit();
});

// A chat that comes back (handed back to this agent) replaces its old, ended panel.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const fragment = event.detail.fragment;
  if (!fragment || !fragment.querySelectorAll) return;
  fragment.querySelectorAll(".chat-panel[id]").forEach((panel) => {
    const old = document.getElementById(panel.id);
    if (old) old.remove();
  });
});

document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-dismiss-chat]");
  if (!button) return;
  const panel = document.getElementById(button.dataset.dismissChat);
  if (panel) panel.remove();
});

// The tab's title counts the waiting chats, so an agent in another tab sees a new one.
const baseTitle = document.title;
const showWaitingInTitle = () => {
  const waiting = document.getElementById("waiting-chats");
  const count = waiting ? Number(waiting.dataset.waiting || 0) : 0;
  document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
};
document.addEventListener("DOMContentLoaded", showWaitingInTitle);
document.addEventListener("htmx:oobAfterSwap", showWaitingInTitle);
