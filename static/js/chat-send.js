// Chat message boxes (the customer's window and the agents' console). The server never
// re-renders a box while the chat is live, so nothing typed is lost; once a message is
// accepted (no error shown), the box is emptied, unless more was typed meanwhile.
const chatSendForm = (event) => {
  const form = event.detail.elt;
  return form instanceof HTMLFormElement && form.dataset.chatSend ? form : null;
};

document.addEventListener("htmx:configRequest", (event) => {
  const form = chatSendForm(event);
  if (form) form.dataset.sent = form.elements.body.value;
});

document.addEventListener("htmx:afterRequest", (event) => {
  const form = chatSendForm(event);
  if (!form || !event.detail.successful) return;
  const error = document.getElementById(form.dataset.chatSend);
  const box = form.elements.body;
  const refused = Boolean(error && error.textContent.trim());
  if (box) {
    if (refused) box.setAttribute("aria-invalid", "true");
    else box.removeAttribute("aria-invalid");
  }
  if (refused) return;
  if (box && box.value === form.dataset.sent) box.value = "";
});
