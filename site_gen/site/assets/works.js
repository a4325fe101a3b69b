// The All works table: filters, sorting, URL state and exports, all in the browser.
// Data comes from works-data.js (window.KERNELATLAS_WORKS). Text is only ever inserted with
// textContent, never as HTML, so entries cannot inject markup.
(function () {
  "use strict";
  const root = document.getElementById("ka-works");
  const data = window.KERNELATLAS_WORKS;
  if (!root || !data) return;

  const PAGE = 200; // rows drawn at a time; "Show more" adds another page
  const FILTERS = ["text", "kind", "cat", "year", "lang", "hw", "tech", "code"];
  const form = document.getElementById("ka-filters");
  const tbody = root.querySelector("tbody");
  const count = document.getElementById("ka-count");
  const more = document.getElementById("ka-more");
  const names = {};
  const COMPARE_MAX = 4; // works side by side on the Compare page
  const chosen = new Set(); // works ticked for comparison, in the order ticked
  const compareLink = document.getElementById("ka-compare");
  let shown = PAGE;
  let sort = { key: "date", dir: "desc" };

  // Fill the selects from the options (slug, name, count[, depth]).
  for (const [param, options] of Object.entries(data.options)) {
    const select = form.elements[param];
    names[param] = {};
    for (const [slug, name, n, depth] of options) {
      names[param][slug] = name;
      const option = document.createElement("option");
      option.value = slug;
      option.textContent = `${"\u00a0\u00a0".repeat(depth || 0)}${name} (${n})`;
      select.appendChild(option);
    }
  }

  // What the text filter searches: the same fields as the site search (see site_gen/site/search.py),
  // each also "squashed" to lower-case letters and digits, so "cudaforge" finds "CudaForge" and
  // "dr kernel" finds "Dr. Kernel".
  const squash = (text) => text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
  const headOf = (w) => w.title.split(":")[0].trim();
  for (const w of data.works) {
    const fields = [w.id, w.title, w.venue, w.arxiv, ...w.aliases, ...w.authors, ...w.orgs];
    w._text = fields.join("\n").toLowerCase();
    w._squashed = fields.map(squash).join("\n");
    w._names = new Set([...w.aliases, headOf(w), w.id].map(squash));
    w._kindName = (names.kind[w.kind] || w.kind).toLowerCase();
  }

  function state() {
    const s = {};
    for (const name of FILTERS) {
      const el = form.elements[name];
      s[name] = el.type === "checkbox" ? (el.checked ? "1" : "") : el.value.trim();
    }
    return s;
  }

  function matches(w, s) {
    if (s.kind && w.kind !== s.kind) return false;
    if (s.cat && !w.cat.includes(s.cat)) return false;
    if (s.year && w.date.slice(0, 4) !== s.year) return false;
    if (s.lang && !w.lang.includes(s.lang)) return false;
    if (s.hw && !w.hw.includes(s.hw)) return false;
    if (s.tech && !w.tech.includes(s.tech)) return false;
    if (s.code && !w.code) return false;
    if (s.text) {
      const whole = squash(s.text);
      if (whole && w._squashed.includes(whole)) return true;
      for (const word of s.text.toLowerCase().split(/\s+/)) {
        if (word && !w._text.includes(word) && !w._squashed.includes(squash(word))) return false;
      }
    }
    return true;
  }

  function compare(a, b) {
    let x = a[sort.key], y = b[sort.key];
    if (sort.key === "title" || sort.key === "venue") { x = x.toLowerCase(); y = y.toLowerCase(); }
    if (sort.key === "kind") { x = a._kindName; y = b._kindName; }
    if (sort.key === "code") { x = x ? 1 : 0; y = y ? 1 : 0; }
    const order = x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : 1;
    return sort.dir === "asc" ? order : -order;
  }

  // A work whose short name or title is exactly the query comes first.
  function filtered() {
    const s = state();
    const rows = data.works.filter((w) => matches(w, s)).sort(compare);
    const exact = s.text ? squash(s.text) : "";
    if (!exact) return rows;
    const first = rows.filter((w) => w._names.has(exact));
    return first.length ? [...first, ...rows.filter((w) => !w._names.has(exact))] : rows;
  }

  function cell(row, text, klass) {
    const td = document.createElement("td");
    if (klass) td.className = klass;
    if (text !== undefined) td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function link(parent, href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    parent.appendChild(a);
    return a;
  }

  function draw() {
    const rows = filtered();
    tbody.replaceChildren();
    for (const w of rows.slice(0, shown)) {
      const tr = document.createElement("tr");
      tr.dataset.id = w.id;
      const title = cell(tr, undefined, "ka-col-title");
      const tick = document.createElement("input");
      tick.type = "checkbox";
      tick.className = "ka-pick";
      tick.value = w.id;
      tick.checked = chosen.has(w.id);
      tick.disabled = !tick.checked && chosen.size >= COMPARE_MAX;
      tick.setAttribute("aria-label", `Compare ${w.aliases[0] || w.title}`);
      title.appendChild(tick);
      link(title, `../papers/${encodeURIComponent(w.id)}/`, w.title);
      if (w.aliases.length) {
        const small = document.createElement("small");
        small.textContent = ` (${w.aliases.join(", ")})`;
        title.appendChild(small);
      }
      const authors = w.authors.length > 2 ? `${w.authors[0]} et al.` : w.authors.join(", ");
      cell(tr, authors || (w.orgs.join(", ") || "—"), "ka-col-authors");
      cell(tr, w.date, "ka-col-date");
      cell(tr, w.venue || "preprint", "ka-col-venue");
      cell(tr, names.kind[w.kind] || w.kind, "ka-col-kind");
      const topics = cell(tr, w.taxonomy.map((c) => names.cat[c] || c).join(", "), "ka-col-topics");
      const tech = [...w.lang.map((l) => names.lang[l] || l), ...w.hw.map((h) => names.hw[h] || h)];
      if (tech.length) {
        const small = document.createElement("small");
        small.textContent = tech.join(", ");
        topics.appendChild(document.createElement("br"));
        topics.appendChild(small);
      }
      cell(tr, w.results ? String(w.results) : "—", "ka-col-results");
      const code = cell(tr, undefined, "ka-col-code");
      if (/^https?:\/\//.test(w.code)) link(code, w.code, "code");
      tbody.appendChild(tr);
    }
    count.textContent = `${rows.length} of ${data.works.length} works`;
    more.hidden = rows.length <= shown;
    for (const button of root.querySelectorAll("button[data-sort]")) {
      const th = button.closest("th");
      th.setAttribute("aria-sort", button.dataset.sort === sort.key ? (sort.dir === "asc" ? "ascending" : "descending") : "none");
    }
    return rows;
  }

  // The view lives in the query string: ?kind=method&lang=triton&sort=title&dir=asc (not `q`,
  // which MkDocs-Material takes as a search query).
  function saveUrl() {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(state())) if (v) params.set(k, v);
    if (sort.key !== "date" || sort.dir !== "desc") { params.set("sort", sort.key); params.set("dir", sort.dir); }
    const query = params.toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
  }

  function loadUrl() {
    const params = new URLSearchParams(location.search);
    for (const name of FILTERS) {
      const el = form.elements[name];
      const value = params.get(name) || "";
      if (el.type === "checkbox") el.checked = value === "1";
      else if (el.tagName === "SELECT") el.value = [...el.options].some((o) => o.value === value) ? value : "";
      else el.value = value;
    }
    const key = params.get("sort");
    if (key && root.querySelector(`button[data-sort="${CSS.escape(key)}"]`)) {
      sort = { key, dir: params.get("dir") === "asc" ? "asc" : "desc" };
    }
  }

  function update() { shown = PAGE; draw(); saveUrl(); }

  // Ticked works (two to four) open side by side on the Compare page.
  function showChosen() {
    const ids = [...chosen];
    compareLink.textContent = `Compare ticked works (${ids.length} of ${COMPARE_MAX})`;
    compareLink.href = `../compare/?ids=${ids.map(encodeURIComponent).join(",")}`;
    const ready = ids.length >= 2;
    compareLink.classList.toggle("ka-disabled", !ready);
    if (ready) compareLink.removeAttribute("aria-disabled");
    else compareLink.setAttribute("aria-disabled", "true");
    for (const tick of tbody.querySelectorAll("input.ka-pick")) {
      tick.disabled = !tick.checked && chosen.size >= COMPARE_MAX;
    }
  }
  tbody.addEventListener("change", (event) => {
    const tick = event.target;
    if (!tick.classList || !tick.classList.contains("ka-pick")) return;
    if (tick.checked) chosen.add(tick.value);
    else chosen.delete(tick.value);
    showChosen();
  });
  compareLink.addEventListener("click", (event) => { if (chosen.size < 2) event.preventDefault(); });

  function download(name, type, text) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type }));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  // CSV cells are quoted; a leading = + - @ is defused so spreadsheets do not run formulas.
  function csvCell(value) {
    let text = String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return `"${text.replace(/"/g, '""')}"`;
  }

  const CSV_COLUMNS = [
    ["id", (w) => w.id], ["title", (w) => w.title], ["aliases", (w) => w.aliases.join("; ")],
    ["authors", (w) => w.authors.join("; ")], ["organizations", (w) => w.orgs.join("; ")],
    ["date", (w) => w.date], ["venue", (w) => w.venue],
    ["kind", (w) => w.kind], ["taxonomy", (w) => w.taxonomy.join("; ")], ["languages", (w) => w.lang.join("; ")],
    ["hardware", (w) => w.hw.join("; ")], ["techniques", (w) => w.tech.join("; ")], ["arxiv", (w) => w.arxiv],
    ["paper", (w) => w.paper], ["code", (w) => w.code],
  ];

  document.getElementById("ka-export-bib").addEventListener("click", () => {
    download("kernelatlas.bib", "application/x-bibtex", filtered().map((w) => w.bib.trim() + "\n").join("\n"));
  });
  document.getElementById("ka-export-csv").addEventListener("click", () => {
    const lines = [CSV_COLUMNS.map(([name]) => name).join(",")];
    for (const w of filtered()) lines.push(CSV_COLUMNS.map(([, get]) => csvCell(get(w))).join(","));
    download("kernelatlas.csv", "text/csv", lines.join("\r\n") + "\r\n");
  });

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  document.getElementById("ka-reset").addEventListener("click", () => { form.reset(); sort = { key: "date", dir: "desc" }; update(); });
  more.addEventListener("click", () => { shown += PAGE; draw(); });
  // Sort controls are buttons, so Enter and Space work and screen readers announce them.
  const ASCENDING_FIRST = new Set(["title", "venue", "kind"]);
  for (const button of root.querySelectorAll("button[data-sort]")) {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      const flipped = sort.dir === "asc" ? "desc" : "asc";
      sort = { key, dir: sort.key === key ? flipped : ASCENDING_FIRST.has(key) ? "asc" : "desc" };
      update();
    });
  }
  window.addEventListener("popstate", () => { loadUrl(); draw(); });

  loadUrl();
  draw();
})();
