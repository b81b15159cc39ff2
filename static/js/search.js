// Live search (templates/includes/search_form.html) runs through htmx; this file only helps it.
"use strict";

// Chinese input methods fire "input" events while a word is still being composed, with the
// box holding pinyin ("tixian") instead of 提现. Searching for those would flash useless
// results and fill the search log with half-typed words, so such events are stopped on their
// way down (capture phase) before htmx on the form sees them; the form searches on
// "compositionend" instead.
document.addEventListener(
  "input",
  (event) => {
    if (event.isComposing && event.target.closest("[data-live-search]")) {
      event.stopPropagation();
    }
  },
  true,
);

// After Enter on live results the address holds the search's token ("sl"), which only the
// server needs: show the customer a clean address they can share.
const address = new URL(window.location.href);
if (address.searchParams.has("sl")) {
  address.searchParams.delete("sl");
  window.history.replaceState(window.history.state, "", address);
}

// Esc closes the live results under a search box and leaves the customer in the box.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest && event.target.closest("[data-live-search]");
  const panel = form && form.querySelector(".live-results");
  if (!panel || !panel.textContent.trim()) return;
  event.preventDefault();
  panel.replaceChildren();
  form.querySelector("input[name=q]").focus();
});
