// Leaderboards: filters, sorting and URL state for the Reported results page and benchmark pages.
// Every leaderboard is a server-rendered table; this script only hides, shows and reorders rows.
(function () {
  "use strict";
  const form = document.getElementById("ka-lb-filters");
  if (!form) return;
  const boards = Array.from(document.querySelectorAll(".ka-board"));
  const unranked = Array.from(document.querySelectorAll(".ka-unranked-row"));
  const sections = Array.from(document.querySelectorAll(".ka-lb-section"));
  const count = document.getElementById("ka-lb-count");
  const FILTERS = ["benchmark", "metric", "baseline", "hardware"];
  const DEFAULT_SORT = { key: "rank", dir: "asc" };
  let sort = { ...DEFAULT_SORT };

  function state() {
    const s = {};
    for (const name of FILTERS) s[name] = form.elements[name] ? form.elements[name].value : "";
    s.model = form.elements.model.value.trim().toLowerCase();
    s.cross = form.elements.cross.checked;
    return s;
  }

  function matches(el, s) {
    for (const name of FILTERS) if (s[name] && el.dataset[name] !== s[name]) return false;
    return !(s.cross && Number(el.dataset.works) < 2);
  }

  function heading(section) {
    // The section's <h2> is rendered by Markdown just before it (possibly with a placeholder between).
    let el = section.previousElementSibling;
    while (el && el.tagName !== "H2") el = el.previousElementSibling;
    return el;
  }

  function compare(a, b) {
    const key = sort.key;
    let x = a.dataset[key], y = b.dataset[key];
    if (key === "rank" || key === "value") { x = Number(x); y = Number(y); }
    const order = x < y ? -1 : x > y ? 1 : 0;
    return sort.dir === "asc" ? order : -order;
  }

  function apply() {
    const s = state();
    let shownBoards = 0, shownNumbers = 0;
    for (const board of boards) {
      let visibleRows = 0;
      const body = board.querySelector("tbody");
      const rows = Array.from(body.rows);
      for (const tr of rows) {
        const ok = !s.model || tr.dataset.model.includes(s.model) || tr.dataset.work.includes(s.model);
        tr.hidden = !ok;
        if (ok) visibleRows++;
      }
      rows.sort(compare).forEach((tr) => body.appendChild(tr));
      for (const th of board.querySelectorAll("th[data-sort]")) {
        th.setAttribute("aria-sort", th.dataset.sort === sort.key ? (sort.dir === "asc" ? "ascending" : "descending") : "none");
      }
      board.hidden = !(matches(board, s) && visibleRows > 0);
      if (!board.hidden) { shownBoards++; shownNumbers += visibleRows; }
    }
    for (const tr of unranked) {
      tr.hidden = !(matches(tr, s) && (!s.model || tr.dataset.model.includes(s.model)));
      if (!tr.hidden) shownNumbers++;
    }
    for (const section of sections) {
      const wrap = section.querySelector(".ka-unranked");
      const anyUnranked = wrap && Array.from(wrap.querySelectorAll(".ka-unranked-row")).some((tr) => !tr.hidden);
      if (wrap) wrap.hidden = !anyUnranked;
      const anyBoard = Array.from(section.querySelectorAll(".ka-board")).some((b) => !b.hidden);
      section.hidden = !(anyBoard || anyUnranked);
      const h = heading(section);
      if (h) h.hidden = section.hidden;
    }
    count.textContent = `${shownBoards} leaderboard${shownBoards === 1 ? "" : "s"}, ${shownNumbers} number${shownNumbers === 1 ? "" : "s"} shown`;
    save(s);
  }

  // The view lives in the query string: ?hardware=nvidia-a100&metric=...&sort=value&dir=desc
  function save(s) {
    const params = new URLSearchParams();
    for (const name of FILTERS) if (s[name]) params.set(name, s[name]);
    if (s.model) params.set("model", form.elements.model.value.trim());
    if (s.cross) params.set("cross", "1");
    if (sort.key !== DEFAULT_SORT.key || sort.dir !== DEFAULT_SORT.dir) { params.set("sort", sort.key); params.set("dir", sort.dir); }
    const query = params.toString();
    history.replaceState(null, "", (query ? `?${query}` : location.pathname) + location.hash);
  }

  function load() {
    const params = new URLSearchParams(location.search);
    for (const name of FILTERS) {
      const select = form.elements[name];
      const value = params.get(name);
      if (select && value && Array.from(select.options).some((o) => o.value === value)) select.value = value;
    }
    form.elements.model.value = params.get("model") || "";
    form.elements.cross.checked = params.get("cross") === "1";
    const key = params.get("sort");
    if (key && document.querySelector(`.ka-leaderboard th[data-sort="${CSS.escape(key)}"]`)) {
      sort = { key, dir: params.get("dir") === "desc" ? "desc" : "asc" };
    }
  }

  for (const th of document.querySelectorAll(".ka-leaderboard th[data-sort]")) {
    th.tabIndex = 0;
    const choose = () => {
      const key = th.dataset.sort;
      // Values start best-first; dates newest-first; names A-Z.
      const first = key === "date" ? "desc" : "asc";
      sort = sort.key === key ? { key, dir: sort.dir === "asc" ? "desc" : "asc" } : { key, dir: first };
      apply();
    };
    th.addEventListener("click", choose);
    th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); } });
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("reset", () => setTimeout(() => { sort = { ...DEFAULT_SORT }; apply(); }, 0));
  load();
  apply();
})();
