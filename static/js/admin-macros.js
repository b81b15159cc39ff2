// Macros on the ticket page. Choosing one in the menu, or typing "/" and a word at the start
// of a line in the reply box and picking from the list, puts its text (already filled in for
// this ticket) in the reply box and selects it in the menu, so its actions apply on save.
// Without JavaScript the menu alone still works: the server writes nothing into the reply
// then, but applies the macro's actions.
(() => {
  const select = () => document.getElementById("id_macro");
  const reply = () => document.getElementById("id_reply");

  function macros() {
    const menu = select();
    if (!menu) return [];
    return [...menu.options]
      .filter((option) => option.value && option.dataset.text)
      .map((option) => ({
        id: option.value,
        title: option.textContent.trim(),
        text: option.dataset.text,
        actions: option.dataset.actions || "",
      }));
  }

  function showActions(id) {
    const menu = select();
    let note = document.getElementById("macro-actions");
    if (!menu) return;
    if (!note) {
      note = document.createElement("p");
      note.id = "macro-actions";
      note.className = "macro-actions";
      note.setAttribute("role", "status");
      menu.insertAdjacentElement("afterend", note);
    }
    const option = [...menu.options].find((o) => o.value === id);
    note.textContent = option && option.dataset.actions ? `→ ${option.dataset.actions}` : "";
  }

  // Put the text where the "/word" was typed (or at the end), and choose the macro.
  function apply(macro, start, end) {
    const box = reply();
    if (!box) return;
    const before = box.value.slice(0, start);
    const after = box.value.slice(end);
    box.value = `${before}${macro.text}${after}`;
    const caret = before.length + macro.text.length;
    box.focus();
    box.setSelectionRange(caret, caret);
    select().value = macro.id;
    showActions(macro.id);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    closeList();
  }

  let list = null;
  let active = 0;
  let matches = [];
  let range = null;

  function closeList() {
    if (list) list.hidden = true;
    matches = [];
    range = null;
    const box = reply();
    if (box) box.removeAttribute("aria-activedescendant");
  }

  function renderList() {
    const box = reply();
    if (!list) {
      list = document.createElement("ul");
      list.id = "macro-suggestions";
      list.className = "macro-suggestions";
      list.setAttribute("role", "listbox");
      box.insertAdjacentElement("afterend", list);
      box.setAttribute("aria-controls", list.id);
      list.addEventListener("mousedown", (event) => {
        const item = event.target.closest("li");
        if (!item) return;
        event.preventDefault();
        apply(matches[Number(item.dataset.index)], range.start, range.end);
      });
    }
    list.replaceChildren(
      ...matches.map((macro, index) => {
        const item = document.createElement("li");
        item.id = `macro-option-${macro.id}`;
        item.setAttribute("role", "option");
        item.dataset.index = String(index);
        item.setAttribute("aria-selected", index === active ? "true" : "false");
        const title = document.createElement("strong");
        title.textContent = macro.title;
        item.append(title);
        if (macro.actions) {
          const actions = document.createElement("span");
          actions.textContent = ` → ${macro.actions}`;
          item.append(actions);
        }
        return item;
      }),
    );
    list.hidden = matches.length === 0;
    if (matches[active]) box.setAttribute("aria-activedescendant", `macro-option-${matches[active].id}`);
  }

  document.addEventListener("input", (event) => {
    const box = event.target;
    if (box.id !== "id_reply") return;
    const caret = box.selectionStart;
    const lineStart = box.value.lastIndexOf("\n", caret - 1) + 1;
    const typed = box.value.slice(lineStart, caret);
    if (!typed.startsWith("/")) {
      closeList();
      return;
    }
    const words = typed.slice(1).toLowerCase().split(/\s+/).filter(Boolean);
    matches = macros()
      .filter((macro) => {
        const haystack = `${macro.title} ${macro.text}`.toLowerCase();
        return words.every((word) => haystack.includes(word));
      })
      .slice(0, 8);
    active = 0;
    range = { start: lineStart, end: caret };
    renderList();
  });

  document.addEventListener("keydown", (event) => {
    if (event.target.id !== "id_reply" || !matches.length || !list || list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      active = (active + step + matches.length) % matches.length;
      renderList();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      apply(matches[active], range.start, range.end);
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeList();
    }
  });

  document.addEventListener("change", (event) => {
    if (event.target.id !== "id_macro") return;
    const macro = macros().find((m) => m.id === event.target.value);
    showActions(event.target.value);
    const box = reply();
    if (!macro || !box) return;
    // What was typed stays; the macro's text follows it.
    const kept = box.value.trim() ? `${box.value.replace(/\s+$/, "")}\n\n` : "";
    box.value = kept;
    apply(macro, kept.length, kept.length);
  });
})();
