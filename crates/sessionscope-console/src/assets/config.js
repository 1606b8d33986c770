// Configuration page (admins): the point builder builds the point text as you type and asks the
// server for a preview; grouping keys can be dragged into a new order (the move is posted as a
// plain form, exactly like the move buttons, so the server checks and records it the same way).
(function () {
  "use strict";

  // The same rules as `build_point` in config.rs.
  function buildPoint(side, kind, name, claim) {
    name = name.trim();
    claim = claim.trim();
    if (!name) return "";
    side = side === "response" ? "response" : "request";
    if (kind === "jwt") return side + ".header.authorization.jwt." + name;
    const known = ["cookie", "query", "form", "json", "graphql"];
    const point = side + "." + (known.indexOf(kind) >= 0 ? kind : "header") + "." + name;
    return claim ? point + ".jwt." + claim : point;
  }

  function startPointBuilder() {
    const form = document.getElementById("point-builder");
    if (!form) return;
    const side = document.getElementById("pb-side");
    const kind = document.getElementById("pb-kind");
    const name = document.getElementById("pb-name");
    const claim = document.getElementById("pb-claim");
    const output = document.getElementById("pb-point");
    const preview = document.getElementById("pb-preview");
    let timer = null;
    let asked = "";
    let latest = 0;

    // Request-only kinds are not offered for the response.
    function limitKinds() {
      const onResponse = side.value === "response";
      Array.prototype.forEach.call(kind.options, (option) => {
        option.disabled = onResponse && option.dataset.response === "no";
      });
      if (kind.selectedOptions[0] && kind.selectedOptions[0].disabled) kind.value = "header";
      claim.disabled = kind.value === "jwt";
    }

    function askPreview(point) {
      if (point === asked) return;
      asked = point;
      const ticket = ++latest;
      if (!point) {
        preview.innerHTML = '<p class="muted">Type a name to build a point.</p>';
        return;
      }
      fetch("/config/preview?point=" + encodeURIComponent(point), {
        headers: { "x-console-fragment": "1" },
        credentials: "same-origin",
      })
        .then((response) => {
          if (response.status === 401) {
            window.location.reload();
            return null;
          }
          return response.text();
        })
        .then((html) => {
          // Answers can arrive out of order; only the newest question's answer is shown.
          if (html !== null && ticket === latest) preview.innerHTML = html;
        })
        .catch(() => {
          if (ticket === latest) preview.innerHTML = '<p class="field-error">The preview failed; try again.</p>';
        });
    }

    function update() {
      limitKinds();
      const point = buildPoint(side.value, kind.value, name.value, claim.disabled ? "" : claim.value);
      output.textContent = point;
      clearTimeout(timer);
      timer = setTimeout(() => askPreview(point), 200);
    }

    [side, kind].forEach((element) => element.addEventListener("change", update));
    [name, claim].forEach((element) => element.addEventListener("input", update));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      asked = "";
      update();
    });
    form.querySelectorAll("button[data-use]").forEach((button) => {
      button.addEventListener("click", () => {
        const point = output.textContent.trim();
        if (!point) return;
        const target = button.dataset.use === "key"
          ? document.getElementById("key-points")
          : document.querySelector("#context-params tr.context-edit input[name=point]");
        if (!target) return;
        target.value = point;
        target.focus();
        target.scrollIntoView({ block: "center" });
      });
    });
    limitKinds();
    output.textContent = buildPoint(side.value, kind.value, name.value, claim.disabled ? "" : claim.value);
  }

  function startKeyDragging() {
    const form = document.getElementById("config-keys");
    if (!form) return;
    let dragged = null;
    form.querySelectorAll("li.key-row").forEach((row) => {
      row.addEventListener("dragstart", (event) => {
        dragged = row;
        row.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", row.dataset.index);
      });
      row.addEventListener("dragend", () => {
        row.classList.remove("dragging");
        form.querySelectorAll(".drop-target").forEach((element) => element.classList.remove("drop-target"));
      });
      row.addEventListener("dragover", (event) => {
        if (!dragged || dragged === row) return;
        event.preventDefault();
        row.classList.add("drop-target");
      });
      row.addEventListener("dragleave", () => row.classList.remove("drop-target"));
      row.addEventListener("drop", (event) => {
        event.preventDefault();
        if (!dragged || dragged === row) return;
        const action = document.createElement("input");
        action.type = "hidden";
        action.name = "action";
        action.value = "move:" + dragged.dataset.index + ":" + row.dataset.index;
        form.appendChild(action);
        form.submit();
      });
    });
  }

  function start() {
    startPointBuilder();
    startKeyDragging();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
