// sessionscope console: progressive enhancement only. Every view works without this script;
// it adds keyboard shortcuts, in-place expansion of sessions (fragments), and copy buttons.
"use strict";

(function () {
  const csrf = () => document.body.dataset.csrf || "";

  function isTyping(event) {
    const target = event.target;
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", (event) => {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === "Escape") {
      const open = document.querySelector("dialog[open]");
      if (open) { open.close(); return; }
    }
    if (isTyping(event)) return;
    if (event.key === "?") {
      const dialog = document.getElementById("shortcuts");
      if (dialog && !dialog.open) dialog.showModal();
      event.preventDefault();
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    if (button.dataset.action === "shortcuts") {
      const dialog = document.getElementById("shortcuts");
      if (dialog) dialog.showModal();
    }
  });

  window.sessionscope = { csrf };
})();
