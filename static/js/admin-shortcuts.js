// Keyboard shortcuts on the ticket page and the queue, listed in #shortcuts-help ("?").
// Single keys act only outside text fields, so typing a reply never triggers them.
(() => {
  const help = () => document.getElementById("shortcuts-help");

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }

  function toggleHelp() {
    const dialog = help();
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  function chooseStatusAfter(value) {
    const menu = document.getElementById("id_status_after_reply");
    if (!menu || ![...menu.options].some((option) => option.value === value)) return;
    menu.value = value;
    menu.dispatchEvent(new Event("change", { bubbles: true }));
    menu.classList.add("shortcut-flash");
    setTimeout(() => menu.classList.remove("shortcut-flash"), 600);
  }

  function writeAs(kind) {
    const radio = document.querySelector(`input[name="reply_kind"][value="${kind}"]`);
    if (radio) radio.checked = true;
    const box = document.getElementById("id_reply");
    if (box) box.focus();
  }

  function ticketPage(event) {
    const key = event.key;
    if (key === "r") writeAs("public");
    else if (key === "n") writeAs("internal");
    else if (key === "w") chooseStatusAfter("waiting");
    else if (key === "o") chooseStatusAfter("open");
    else if (key === "d") chooseStatusAfter("resolved");
    else if (key === "j" && help().dataset.nextUrl) window.location.assign(help().dataset.nextUrl);
    else if (key === "u") {
      const back = document.querySelector(".breadcrumbs a[href$='/tickets/ticket/']");
      if (back) window.location.assign(back.href);
    } else return false;
    return true;
  }

  let row = -1;
  function queueRows() {
    return [...document.querySelectorAll("#result_list tbody tr")];
  }
  function focusRow(index) {
    const rows = queueRows();
    if (!rows.length) return;
    row = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((tr, n) => tr.classList.toggle("shortcut-current", n === row));
    const link = rows[row].querySelector("th a, td a");
    if (link) link.focus();
  }

  function queuePage(event) {
    const key = event.key;
    const rows = queueRows();
    if (key === "j") focusRow(row + 1);
    else if (key === "k") focusRow(row - 1);
    else if ((key === "o" || key === "Enter") && rows[row]) {
      const link = rows[row].querySelector("th a, td a");
      if (link) window.location.assign(link.href);
    } else if (key === "x" && rows[row]) {
      const box = rows[row].querySelector("input.action-select");
      if (box) box.click();
    } else if (key === "f") {
      const search = document.getElementById("searchbar");
      if (search) search.focus();
    } else return false;
    return true;
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest(".shortcuts-close")) help().close();
  });

  document.addEventListener("keydown", (event) => {
    const dialog = help();
    if (!dialog) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && dialog.dataset.page === "ticket") {
      const save = document.querySelector('input[name="_continue"]');
      if (save) {
        event.preventDefault();
        save.click();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (dialog.open) return;
    const handled = dialog.dataset.page === "ticket" ? ticketPage(event) : queuePage(event);
    if (handled) event.preventDefault();
  });
})();
