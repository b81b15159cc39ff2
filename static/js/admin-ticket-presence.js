// The ticket page tells the team who has it open and who is typing a reply (the poll is
// htmx's, on #ticket-presence); leaving the page removes the mark at once.
(() => {
  const TYPING_WINDOW_MS = 15000;
  let typedAt = 0;

  document.addEventListener("input", (event) => {
    if (event.target.id === "id_reply") typedAt = Date.now();
  });

  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id !== "ticket-presence") return;
    event.detail.parameters.typing = Date.now() - typedAt < TYPING_WINDOW_MS ? "1" : "0";
  });

  window.addEventListener("pagehide", () => {
    const box = document.getElementById("ticket-presence");
    const token = document.querySelector("[name=csrfmiddlewaretoken]");
    if (!box || !token || !navigator.sendBeacon) return;
    const data = new FormData();
    data.append("leaving", "1");
    data.append("csrfmiddlewaretoken", token.value);
    navigator.sendBeacon(box.dataset.presenceUrl, data);
  });
})();
