// Insert the chosen canned reply (already filled in for this ticket) into the reply box.
document.addEventListener("change", (event) => {
  if (event.target.id !== "id_canned_reply") return;
  const option = event.target.selectedOptions[0];
  const reply = document.getElementById("id_reply");
  if (!option || !reply || !option.dataset.text) return;
  reply.value = reply.value ? `${reply.value}\n\n${option.dataset.text}` : option.dataset.text;
  reply.focus();
});
