// sessionscope console: progressive enhancement only. Every view works without this script;
// it adds keyboard shortcuts, in-place expansion of sessions (fragments), copy buttons, local
// times and the timeline's range selection. The URL always carries the view: whatever this
// script shows in place, it also puts into the address bar with history.pushState.
"use strict";

(function () {
  const csrf = () => document.body.dataset.csrf || "";
  const FRAGMENT_HEADER = "x-console-fragment";

  function isTyping(event) {
    const target = event.target;
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // ---- Local times -------------------------------------------------------------------------

  const pad = (number, width) => String(number).padStart(width || 2, "0");

  function utcOffset(date) {
    const minutes = -date.getTimezoneOffset();
    const sign = minutes >= 0 ? "+" : "-";
    const absolute = Math.abs(minutes);
    return "UTC" + sign + pad(Math.floor(absolute / 60)) + ":" + pad(absolute % 60);
  }

  // Shows <time datetime="...Z"> in the browser's time zone; the UTC offset and the UTC time
  // stay on hover.
  function localiseTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach((element) => {
      if (element.dataset.localised) return;
      const date = new Date(element.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      const clock = pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
      const day = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
      element.textContent = element.dataset.format === "clock"
        ? clock + "." + pad(date.getMilliseconds(), 3)
        : day + " " + clock;
      element.title = day + " " + clock + " " + utcOffset(date) + " · " + element.getAttribute("datetime");
      element.dataset.localised = "1";
    });
  }

  // ---- Fragments ---------------------------------------------------------------------------

  function withParameter(href, name, value) {
    const url = new URL(href, location.href);
    url.searchParams.set(name, value);
    return url.pathname + url.search;
  }

  // Fetches a part of a page. A 401 means the login expired: reload, which leads to sign-in.
  async function fetchFragment(href, kind) {
    const response = await fetch(withParameter(href, "fragment", kind), {
      headers: { [FRAGMENT_HEADER]: "1" },
      credentials: "same-origin",
    });
    if (response.status === 401) {
      location.reload();
      throw new Error("signed out");
    }
    return { ok: response.ok, html: await response.text() };
  }

  function failureMarkup(href) {
    return '<p class="filter-problem" role="alert">Could not load this part of the page. ' +
      '<a href="' + href.replace(/"/g, "&quot;") + '">Open it as a page</a></p>';
  }

  function sessionTable() {
    return document.getElementById("sessions");
  }

  function columnCount(row) {
    return row ? row.children.length : 1;
  }

  function removeDetailsRows() {
    document.querySelectorAll("tr.details-row").forEach((row) => {
      const sessionRow = row.previousElementSibling;
      if (sessionRow) {
        sessionRow.classList.remove("expanded");
        const link = sessionRow.querySelector("a.expand");
        if (link) link.setAttribute("aria-expanded", "false");
      }
      row.remove();
    });
    document.querySelectorAll(".orphan-details").forEach((block) => block.remove());
  }

  async function expandSession(row, href, push) {
    removeDetailsRows();
    const detailsRow = document.createElement("tr");
    detailsRow.className = "details-row loading-row";
    const cell = document.createElement("td");
    cell.colSpan = columnCount(row);
    cell.innerHTML = '<span class="spinner"></span>Loading session…';
    detailsRow.appendChild(cell);
    row.after(detailsRow);
    row.classList.add("expanded");
    const link = row.querySelector("a.expand");
    if (link) link.setAttribute("aria-expanded", "true");
    selectRow(row);
    if (push) history.pushState({ view: "session" }, "", href);
    try {
      const answer = await fetchFragment(href, "session");
      cell.innerHTML = answer.ok || answer.html ? answer.html : failureMarkup(href);
    } catch (error) {
      if (error.message !== "signed out") cell.innerHTML = failureMarkup(href);
    }
    detailsRow.classList.remove("loading-row");
    localiseTimes(cell);
  }

  function collapseSession(push) {
    const table = sessionTable();
    const block = document.getElementById("session-details");
    if (!block) return false;
    const href = block.dataset.collapseHref || (table && table.dataset.listHref) || "/sessions";
    removeDetailsRows();
    if (push) history.pushState({ view: "list" }, "", href);
    return true;
  }

  // Reloads the open session's block in place from a link inside it (show only, sort, chips).
  async function reloadSessionBlock(href) {
    const block = document.getElementById("session-details");
    if (!block) { location.href = href; return; }
    block.classList.add("loading");
    history.pushState({ view: "session" }, "", href);
    try {
      const answer = await fetchFragment(href, "session");
      const holder = document.createElement("div");
      holder.innerHTML = answer.html || failureMarkup(href);
      const fresh = holder.querySelector("#session-details");
      if (fresh) {
        block.replaceWith(fresh);
        localiseTimes(fresh);
      } else {
        block.classList.remove("loading");
        block.insertAdjacentHTML("afterbegin", holder.innerHTML);
      }
    } catch (error) {
      block.classList.remove("loading");
    }
  }

  function closeRequest(push) {
    const details = document.getElementById("request-details");
    if (!details) return false;
    const close = details.querySelector("a.close-request");
    const wrapper = details.closest("tr.request-details-row");
    document.querySelectorAll("tr.request-row.selected").forEach((row) => row.classList.remove("selected"));
    (wrapper || details).remove();
    if (push && close) history.pushState({ view: "session" }, "", close.getAttribute("href"));
    return true;
  }

  async function openRequest(row, href) {
    const existing = document.getElementById("request-details");
    if (existing) (existing.closest("tr.request-details-row") || existing).remove();
    document.querySelectorAll("tr.request-row.selected").forEach((other) => other.classList.remove("selected"));
    row.classList.add("selected");
    const detailsRow = document.createElement("tr");
    detailsRow.className = "request-details-row loading-row";
    const cell = document.createElement("td");
    cell.colSpan = columnCount(row);
    cell.innerHTML = '<span class="spinner"></span>Loading request…';
    detailsRow.appendChild(cell);
    row.after(detailsRow);
    history.pushState({ view: "request" }, "", href);
    try {
      const answer = await fetchFragment(href, "request");
      cell.innerHTML = answer.html || failureMarkup(href);
    } catch (error) {
      if (error.message !== "signed out") cell.innerHTML = failureMarkup(href);
    }
    detailsRow.classList.remove("loading-row");
    localiseTimes(cell);
  }

  async function showMoreRequests(link) {
    const href = link.getAttribute("href");
    const body = document.getElementById("request-rows");
    if (!body) { location.href = href; return; }
    link.classList.add("loading");
    link.insertAdjacentHTML("afterbegin", '<span class="spinner"></span>');
    try {
      const answer = await fetchFragment(href, "requests");
      const template = document.createElement("template");
      template.innerHTML = answer.html;
      const inner = template.content.querySelector("template");
      const content = inner ? inner.content : template.content;
      content.querySelectorAll("tr").forEach((row) => body.appendChild(row));
      const next = content.querySelector("#more-requests");
      const container = link.closest(".more-row") || link;
      if (next) container.replaceWith(next.closest(".more-row") || next);
      else container.remove();
      localiseTimes(body);
    } catch (error) {
      location.href = href;
    }
  }

  // ---- Session rows and keyboard -------------------------------------------------------------

  function sessionRows() {
    return Array.from(document.querySelectorAll("tr.session-row"));
  }

  function selectRow(row) {
    sessionRows().forEach((other) => other.classList.toggle("selected", other === row));
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  function moveSelection(step) {
    const rows = sessionRows();
    if (!rows.length) return;
    const current = rows.findIndex((row) => row.classList.contains("selected"));
    const next = current < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, current + step));
    selectRow(rows[next]);
  }

  function toggleRow(row) {
    if (row.classList.contains("expanded")) {
      collapseSession(true);
      return;
    }
    expandSession(row, row.dataset.expandHref, true);
  }

  document.addEventListener("keydown", (event) => {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === "Escape") {
      const open = document.querySelector("dialog[open]");
      if (open) { open.close(); return; }
      const menu = document.querySelector("details.filter-menu[open]");
      if (menu) { menu.open = false; return; }
      if (isTyping(event)) { event.target.blur(); return; }
      if (closeRequest(true)) return;
      collapseSession(true);
      return;
    }
    if (isTyping(event)) return;
    if (event.key === "?") {
      const dialog = document.getElementById("shortcuts");
      if (dialog && !dialog.open) dialog.showModal();
      event.preventDefault();
    } else if (event.key === "/") {
      const search = document.getElementById("endpoint-search");
      if (search) { search.focus(); search.select(); event.preventDefault(); }
    } else if (event.key === "j") {
      moveSelection(1);
    } else if (event.key === "k") {
      moveSelection(-1);
    } else if (event.key === "Enter") {
      const row = document.querySelector("tr.session-row.selected");
      if (row) { toggleRow(row); event.preventDefault(); }
    }
  });

  // ---- Clicks ------------------------------------------------------------------------------

  async function copyText(text) {
    try {
      if (navigator.clipboard) await navigator.clipboard.writeText(text);
    } catch (error) {
      // Clipboards are unreliable (headless browsers, insecure origins); the visible field
      // beside the button always holds the text.
    }
  }

  function plainClick(event) {
    return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
  }

  document.addEventListener("click", (event) => {
    const actionTarget = event.target.closest("[data-action]");
    if (actionTarget) {
      const action = actionTarget.dataset.action;
      if (action === "shortcuts") {
        const dialog = document.getElementById("shortcuts");
        if (dialog) dialog.showModal();
        return;
      }
      if (action === "copy-link") {
        const field = document.getElementById("copied-link");
        const link = location.href;
        if (field) {
          field.value = link;
          field.hidden = false;
          field.select();
        }
        copyText(link);
        actionTarget.textContent = "Link copied";
        setTimeout(() => { actionTarget.textContent = "Copy link"; }, 1600);
        return;
      }
      if (action === "collapse" && plainClick(event)) {
        event.preventDefault();
        collapseSession(true);
        return;
      }
      if (action === "close-request" && plainClick(event) && document.getElementById("session-details")) {
        event.preventDefault();
        closeRequest(true);
        return;
      }
    }

    const copyButton = event.target.closest("button[data-copy]");
    if (copyButton) {
      copyText(copyButton.dataset.copy);
      const label = copyButton.textContent;
      copyButton.textContent = "Copied";
      setTimeout(() => { copyButton.textContent = label; }, 1200);
      return;
    }

    if (!plainClick(event)) return;

    const expand = event.target.closest("a.expand");
    if (expand) {
      const row = expand.closest("tr.session-row");
      if (row && sessionTable()) {
        event.preventDefault();
        toggleRow(row);
      }
      return;
    }

    const more = event.target.closest("a#more-requests");
    if (more) {
      event.preventDefault();
      showMoreRequests(more);
      return;
    }

    const fragmentLink = event.target.closest("a[data-fragment]");
    if (fragmentLink && document.getElementById("session-details")) {
      const href = fragmentLink.getAttribute("href");
      if (fragmentLink.dataset.fragment === "session") {
        event.preventDefault();
        reloadSessionBlock(href);
        return;
      }
      if (fragmentLink.dataset.fragment === "request") {
        const row = fragmentLink.closest("tr.request-row");
        if (row) {
          event.preventDefault();
          openRequest(row, href);
        }
        return;
      }
    }

    // A click anywhere on a request row opens it, unless it hit a link of its own.
    const requestRow = event.target.closest("tr.request-row");
    if (requestRow && !event.target.closest("a") && !window.getSelection().toString()) {
      const link = requestRow.querySelector("a.request-link");
      if (link) link.click();
    }
  });

  // ---- Filter bar --------------------------------------------------------------------------

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "filter-bar") return;
    const from = form.querySelector("[name=from]");
    const to = form.querySelector("[name=to]");
    // A typed range replaces a preset; both together would be refused as a conflict.
    if ((from && from.value.trim()) || (to && to.value.trim())) {
      form.querySelectorAll("input[type=hidden][name=window]").forEach((input) => input.remove());
    }
    // Empty fields would only clutter the URL.
    form.querySelectorAll("input, select").forEach((field) => {
      if (field.name && !field.value.trim()) field.disabled = true;
    });
  });

  // ---- Timeline range selection -------------------------------------------------------------

  let drag = null;

  function timelineFraction(svg, clientX) {
    const box = svg.getBoundingClientRect();
    const viewWidth = Number(svg.dataset.viewWidth) || 1000;
    const left = Number(svg.dataset.plotLeft) || 0;
    const width = Number(svg.dataset.plotWidth) || viewWidth;
    const x = ((clientX - box.left) / box.width) * viewWidth;
    return { x: Math.min(left + width, Math.max(left, x)), fraction: Math.min(1, Math.max(0, (x - left) / width)) };
  }

  document.addEventListener("mousedown", (event) => {
    const svg = event.target.closest && event.target.closest("svg#timeline");
    if (!svg || event.button !== 0) return;
    const point = timelineFraction(svg, event.clientX);
    drag = { svg, start: point };
    event.preventDefault();
  });

  document.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const point = timelineFraction(drag.svg, event.clientX);
    const selection = drag.svg.querySelector(".tl-selection");
    if (selection) {
      selection.setAttribute("x", Math.min(drag.start.x, point.x));
      selection.setAttribute("width", Math.abs(point.x - drag.start.x));
    }
  });

  document.addEventListener("mouseup", (event) => {
    if (!drag) return;
    const { svg, start } = drag;
    drag = null;
    const end = timelineFraction(svg, event.clientX);
    if (Math.abs(end.x - start.x) < 3) {
      const selection = svg.querySelector(".tl-selection");
      if (selection) selection.setAttribute("width", 0);
      return;
    }
    const first = new Date(svg.dataset.start).getTime();
    const last = new Date(svg.dataset.end).getTime();
    if (isNaN(first) || isNaN(last)) return;
    const low = Math.min(start.fraction, end.fraction);
    const high = Math.max(start.fraction, end.fraction);
    const from = new Date(Math.floor(first + (last - first) * low));
    // `to` is exclusive: one millisecond more keeps a request at the very end.
    const to = new Date(Math.ceil(first + (last - first) * high) + 1);
    const url = new URL(location.href);
    ["in.window", "in.from", "in.to", "rcursor", "req"].forEach((name) => url.searchParams.delete(name));
    url.searchParams.set("in.from", from.toISOString());
    url.searchParams.set("in.to", to.toISOString());
    reloadSessionBlock(url.pathname + url.search);
  });

  // ---- History -----------------------------------------------------------------------------

  // Back and forward: the URL holds the whole view, so render it again.
  window.addEventListener("popstate", () => location.reload());

  function start() {
    localiseTimes(document);
    const open = document.querySelector("tr.session-row.expanded");
    if (open) selectRow(open);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  window.sessionscope = { csrf, localiseTimes };
})();

// Marking a finding as a false positive (request details): the API creates the rule, which
// applies to new traffic; "Re-evaluate stored data" applies it to what is stored, and "Undo"
// removes the rule again.
(function () {
  "use strict";
  const csrf = () => document.body.dataset.csrf || "";

  async function call(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { "x-csrf-token": csrf() } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let answer = {};
    try { answer = await response.json(); } catch (_) { answer = {}; }
    if (!response.ok) throw new Error(answer.message || ("the server answered " + response.status));
    return answer;
  }

  function say(box, text, good) {
    const result = box.querySelector(".fp-result");
    result.textContent = text;
    result.classList.toggle("ok", good === true);
    result.classList.toggle("bad", good === false);
  }

  function button(label, action) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = label;
    element.addEventListener("click", action);
    return element;
  }

  document.addEventListener("click", async (event) => {
    const mark = event.target.closest(".fp-mark");
    if (!mark) return;
    const box = mark.closest(".fp-action");
    mark.disabled = true;
    say(box, "marking …");
    try {
      const answer = await call("POST", "/api/v1/requests/" + encodeURIComponent(box.dataset.requestId) + "/false-positive", {
        type: box.dataset.type,
        point: box.dataset.point,
        breadth: box.querySelector(".fp-breadth").value,
        scope: box.querySelector(".fp-scope").value,
      });
      const rule = (answer.rule && answer.rule.id) || answer.id || "";
      say(box, "Marked (rule " + rule + "); new traffic is no longer flagged.", true);
      box.appendChild(button("Re-evaluate stored data", async (click) => {
        click.target.disabled = true;
        try {
          const outcome = await call("POST", "/api/v1/rules/reevaluate", {});
          say(box, "Stored data re-evaluated: " + outcome.attacks_removed + " findings removed from " +
            outcome.exchanges_changed + " requests. Reload to see the counts.", true);
        } catch (error) { say(box, error.message, false); }
      }));
      box.appendChild(button("Undo", async (click) => {
        click.target.disabled = true;
        try {
          await call("DELETE", "/api/v1/rules/" + encodeURIComponent(rule));
          say(box, "Undone: the rule is removed.", true);
          mark.disabled = false;
        } catch (error) { say(box, error.message, false); }
      }));
    } catch (error) {
      say(box, error.message, false);
      mark.disabled = false;
    }
  });
})();
