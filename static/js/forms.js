// Public forms (GOV.UK pattern). The server renders errors, aria-invalid and the red border;
// this only keeps the live field checks (templates/tickets/ticket_form.html#field-feedback)
// saying the same thing, and moves focus to a field from the error summary.
"use strict";

const markField = (feedback) => {
  const row = feedback.closest(".field");
  const input = row && row.querySelector("input, select, textarea");
  if (!input) return;
  const invalid = feedback.dataset.invalid === "true";
  row.classList.toggle("has-error", invalid);
  if (invalid) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
};

// After any swap (the feedback is replaced in place, or out of band), mark the fields again.
document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll(".field-feedback[data-invalid]").forEach(markField);
});

// A link in the error summary focuses its field (the browser would only scroll to it), with
// the field's label in view above it.
document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a[href^='#']");
  if (!link) return;
  const field = document.getElementById(link.getAttribute("href").slice(1));
  if (!field) return;
  event.preventDefault();
  const label = document.querySelector(`label[for="${field.id}"]`) || field;
  label.scrollIntoView();
  field.focus({ preventScroll: true });
});
