// The file fields of the public forms (tickets/forms.py _attachments_field): the browser's own
// control only says "2 files", so the chosen files are listed under it, each with its size
// and a button that removes it. Without JavaScript the plain control still works.
"use strict";

const sizeText = (bytes) =>
  bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;

const listChosen = (input, list) => {
  list.replaceChildren();
  Array.from(input.files).forEach((file, index) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = `${file.name} (${sizeText(file.size)})`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button-secondary button-small";
    remove.textContent = input.dataset.removeLabel || "Remove";
    const named = input.dataset.removeFile || "Remove “%(name)s”";
    remove.setAttribute("aria-label", named.replace("%(name)s", file.name));
    remove.addEventListener("click", () => {
      const kept = new DataTransfer();
      Array.from(input.files).forEach((other, at) => {
        if (at !== index) kept.items.add(other);
      });
      input.files = kept.files;
      listChosen(input, list);
      input.focus();
    });
    item.append(name, " ", remove);
    list.append(item);
  });
};

document.querySelectorAll("input[type=file][data-file-list]").forEach((input) => {
  const list = document.createElement("ul");
  list.className = "chosen-files";
  list.id = `${input.id}-chosen`;
  list.setAttribute("aria-live", "polite");
  input.after(list);
  input.addEventListener("change", () => listChosen(input, list));
});
