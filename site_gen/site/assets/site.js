// Every page: a table or chart that scrolls sideways can be reached and scrolled with the
// keyboard (it gets a tab stop and a name), as long as it is wider than its box.
(function () {
  "use strict";
  const SCROLLERS = ".md-typeset__scrollwrap, .ka-scroll, .ka-table-wrap";

  // A unique name: the nearest heading above the box, and a number when a section has several.
  const used = new Map();
  function label(box) {
    let heading = null;
    for (const h of document.querySelectorAll("article h1, article h2, article h3")) {
      if (h.compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING) heading = h;
    }
    const base = `Table (scrolls sideways)${heading ? `: ${heading.textContent.replace(/¶$/, "").trim()}` : ""}`;
    const n = (used.get(base) || 0) + 1;
    used.set(base, n);
    return n > 1 ? `${base} ${n}` : base;
  }

  function mark() {
    for (const box of document.querySelectorAll(SCROLLERS)) {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.dataset.kaFocusable = "1";
        if (!box.hasAttribute("role")) box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", label(box));
      } else if (!scrolls && box.dataset.kaFocusable) {
        box.removeAttribute("tabindex");
        delete box.dataset.kaFocusable;
      }
    }
  }

  // A chart that reads left to right in time opens at its newest end.
  function toEnd() {
    for (const box of document.querySelectorAll(".ka-scroll[data-ka-start=end]")) box.scrollLeft = box.scrollWidth;
  }
  document.addEventListener("DOMContentLoaded", toEnd);

  // The theme wraps tables when it mounts a page (document$ emits); run after it.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(() => requestAnimationFrame(mark));
  } else {
    document.addEventListener("DOMContentLoaded", mark);
  }
  window.addEventListener("resize", mark);
  window.addEventListener("load", mark);
})();
