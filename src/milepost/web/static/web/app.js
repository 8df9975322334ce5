/* Milepost — the little behaviour the pages need beyond htmx. No inline scripts anywhere
   (the Content-Security-Policy forbids them); everything here is progressive: every page
   works without it. */
"use strict";

document.documentElement.classList.add("js");

function onReady(fn) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fn);
  } else {
    fn();
  }
}

onReady(function () {
  // Small screens: the main navigation folds behind a "Menu" button.
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", function () {
      const open = nav.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // Selects marked data-autosubmit submit their form on change (the organization switcher,
  // filters); their submit button stays for keyboard and no-script users.
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;

    // Alignment tree: the first click loads the children (htmx, "click once"); later clicks
    // only fold and unfold them.
    const nodeToggle = target.closest(".node-toggle");
    if (nodeToggle && nodeToggle.dataset.loaded === "true") {
      const children = document.getElementById(nodeToggle.getAttribute("aria-controls"));
      if (children) {
        const expanded = nodeToggle.getAttribute("aria-expanded") === "true";
        children.hidden = expanded;
        nodeToggle.setAttribute("aria-expanded", expanded ? "false" : "true");
        nodeToggle.textContent = expanded ? "+" : "−";
      }
      return;
    }

    // Roadmap side panel: close.
    if (target.closest("[data-close-panel]")) {
      const panel = document.getElementById("side-panel");
      if (panel) {
        panel.innerHTML = "";
        const layout = panel.closest(".roadmap-layout");
        if (layout) layout.classList.remove("has-panel");
        keepTodayInView();
      }
      event.preventDefault();
    }
  });

  // The roadmap keeps today's line in view: when the page opens, and when the side panel
  // opens or closes (the timeline then loses or gains the panel's width, and a line that was
  // near its right edge would be hidden behind the new edge). It scrolls only when the line
  // is out of view, so the titles on the left stay visible whenever they can; then it puts
  // the line at two thirds of the width, leaving room for the work ahead of it.
  function keepTodayInView() {
    const scroller = document.querySelector(".timeline-scroll");
    const today = scroller && scroller.querySelector(".tl-today");
    if (!scroller || !today) return;
    const x = Number(today.getAttribute("x1")) || 0;
    const width = scroller.clientWidth;
    const margin = Math.min(40, width / 4);
    const left = scroller.scrollLeft;
    if (x >= left + margin && x <= left + width - margin) return;
    scroller.scrollLeft = Math.max(0, x - (width * 2) / 3);
  }
  keepTodayInView();

  // htmx swaps 422 responses (forms with their errors beside the fields: see the
  // htmx-config meta in base.html). Any other refusal (403 not allowed, 404, 409 conflict,
  // 5xx) is not swapped into the form; its message goes to the page's message area instead,
  // so a click never fails silently.
  function showMessage(text, level) {
    const main = document.getElementById("main");
    if (!main) return;
    let list = main.querySelector(":scope > ul.messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      list.setAttribute("role", "status");
      main.insertBefore(list, main.firstChild);
    }
    list.replaceChildren();
    const item = document.createElement("li");
    item.className = level;
    item.setAttribute("data-testid", "htmx-error");
    item.textContent = text;
    list.appendChild(item);
    list.scrollIntoView({ block: "nearest" });
  }

  function refusalText(xhr) {
    // The server's error page carries its message in [data-error-message]; DOMParser builds
    // an inert document (no scripts run), so reading it is safe under the CSP.
    let detail = "";
    try {
      const doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      const node = doc.querySelector("[data-error-message], .errorlist, .form-errors");
      detail = node ? (node.textContent || "").trim() : "";
    } catch (_err) {
      detail = "";
    }
    if (detail) return detail;
    if (xhr.status === 403) return "You are not allowed to do this.";
    if (xhr.status === 404) return "Not found: it may have been removed.";
    if (xhr.status === 409) return "This conflicts with a change made meanwhile: reload the page.";
    if (xhr.status >= 500) return "Something went wrong on the server; nothing was saved. Try again.";
    return "The request was refused (" + xhr.status + ").";
  }

  document.body.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail && event.detail.xhr;
    if (xhr) showMessage(refusalText(xhr), "error");
  });

  // A new attempt clears the previous attempt's refusal.
  document.body.addEventListener("htmx:beforeRequest", function () {
    document.querySelectorAll('[data-testid="htmx-error"]').forEach(function (item) {
      const list = item.parentElement;
      item.remove();
      if (list && !list.children.length) list.remove();
    });
  });

  document.body.addEventListener("htmx:sendError", function () {
    showMessage("The server could not be reached; nothing was saved. Check your connection.", "error");
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail && event.detail.target;
    if (!(target instanceof Element)) return;
    // A tree node's children arrived: mark its toggle as loaded and expanded.
    const toggle = document.querySelector('.node-toggle[aria-controls="' + target.id + '"]');
    if (toggle) {
      toggle.dataset.loaded = "true";
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = "−";
      target.hidden = false;
    }
    // The roadmap side panel opened: make room for it and move focus into it.
    if (target.id === "side-panel") {
      const layout = target.closest(".roadmap-layout");
      if (layout) layout.classList.add("has-panel");
      keepTodayInView();
      const heading = target.querySelector("h2");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
  });
});
