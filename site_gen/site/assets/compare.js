// The Compare page: two to four works side by side, from compare/data.json (each work's shown
// fields, and its numbers as rows pointing to their comparison cell and source; written by
// site_gen/site/compare.py). The choice lives in the address (?ids=a,b,c). Text is only ever
// inserted with textContent, never as HTML.
(function () {
  "use strict";
  const root = document.getElementById("ka-compare-page");
  if (!root) return;
  const MAX = 4;
  const names = JSON.parse(document.getElementById("ka-compare-names").textContent);
  const form = document.getElementById("ka-compare-form");
  const input = document.getElementById("ka-compare-add");
  const options = document.getElementById("ka-compare-options");
  const status = document.getElementById("ka-compare-status");
  const facetsBox = document.getElementById("ka-compare-facets");
  const resultsBox = document.getElementById("ka-compare-results");
  let works = new Map(); // id -> work of data.json
  let results = []; // every number, as an object with its cell's fields
  let ids = [];

  const shortName = (w) => (w.aliases && w.aliases[0]) || w.title.split(":")[0].trim();
  const vocabName = (group, slug) => (names.vocab[group] && names.vocab[group][slug]) || slug;
  const g = (x) => String(Number(Number(x).toPrecision(6)));

  function el(tag, text, klass) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (klass) node.className = klass;
    return node;
  }

  function link(href, text) {
    const a = el("a", text);
    a.href = href;
    return a;
  }

  function readIds() {
    const raw = new URLSearchParams(location.search).get("ids") || "";
    return [...new Set(raw.split(",").map((s) => s.trim()).filter(Boolean))];
  }

  function writeIds() {
    const query = ids.length ? `?ids=${ids.map(encodeURIComponent).join(",")}` : location.pathname;
    history.pushState(null, "", query);
  }

  // --- what each work is ------------------------------------------------------------------------

  // Rows of the first table: a label and, per work, a list of items (text or nodes). Items that
  // every compared work has are marked, so what the works share stands out.
  const ROWS = [
    ["Kind", (w) => [vocabName("kinds", w.kind)]],
    ["Date", (w) => [w.date]],
    ["Venue", (w) => [w.venue || "preprint"]],
    ["Authors", (w) => w.authors],
    ["Organisations", (w) => w.organizations],
    ["Categories", (w) => w.categories.map((path) => path.join(" › ")), true],
    ["Languages", (w) => w.languages.map((s) => vocabName("languages", s)), true],
    ["Hardware", (w) => w.hardware.map((s) => vocabName("hardware", s)), true],
    ["Techniques", (w) => w.techniques.map((s) => vocabName("techniques", s)), true],
    ["Evaluated on", (w) => w.benchmarks.map((b) => (works.has(b) ? shortName(works.get(b)) : b)), true],
    ["Numbers reported", (w) => [String(w.numbers)]],
    ["Summary", (w) => [w.summary]],
  ];

  function scrollBox(label, table) {
    const box = el("div", undefined, "ka-scroll");
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", label);
    box.appendChild(table);
    return box;
  }

  function headRow(shown) {
    const tr = el("tr");
    tr.appendChild(el("th", "Work")).scope = "col";
    for (const w of shown) {
      const th = el("th");
      th.scope = "col";
      th.dataset.id = w.id;
      th.appendChild(link(`../papers/${encodeURIComponent(w.id)}/`, shortName(w)));
      th.appendChild(el("br"));
      th.appendChild(el("small", w.title));
      th.appendChild(el("br"));
      const remove = el("button", "Remove", "md-button ka-remove");
      remove.type = "button";
      remove.dataset.id = w.id;
      remove.setAttribute("aria-label", `Remove ${shortName(w)} from the comparison`);
      th.appendChild(remove);
      tr.appendChild(th);
    }
    return tr;
  }

  function drawFacets(shown) {
    const table = el("table", undefined, "ka-compare");
    table.id = "ka-compare-table";
    table.appendChild(el("thead")).appendChild(headRow(shown));
    const tbody = table.appendChild(el("tbody"));
    for (const [label, items, markShared] of ROWS) {
      const tr = tbody.appendChild(el("tr"));
      tr.appendChild(el("th", label)).scope = "row";
      const lists = shown.map(items);
      const everywhere = new Set(lists[0].filter((x) => lists.every((l) => l.includes(x))));
      lists.forEach((list) => {
        const td = tr.appendChild(el("td"));
        if (!list.length) td.textContent = "—";
        list.forEach((item, i) => {
          if (i) td.appendChild(document.createTextNode(markShared ? "" : ", "));
          const shared = markShared && shown.length > 1 && everywhere.has(item);
          const span = td.appendChild(el(shared ? "strong" : "span", item, markShared ? "ka-item" : ""));
          if (shared) span.title = "shared by every work compared";
        });
      });
    }
    facetsBox.replaceChildren(scrollBox("The works compared", table));
  }

  // --- what each work reports, by comparison cell ----------------------------------------------

  function subsetName(r) {
    if (!r.subset) return names.whole;
    if (r.subset.startsWith("holdout:")) {
      const paper = r.subset.slice(8);
      return `tasks chosen by ${works.has(paper) ? shortName(works.get(paper)) : paper}`;
    }
    return (names.subsets[r.benchmark] || {})[r.subset] || r.subset;
  }

  function metricLabel(r) {
    if (r.aggregate === "fast_p") return r.p === "" ? "fast_p" : `fast_p (p = ${g(r.p)})`;
    if (r.aggregate === "pass-at-k") return r.k === "" ? "pass@k" : `pass@k (k = ${r.k})`;
    return `${vocabName("metrics", r.metric)}, ${vocabName("aggregates", r.aggregate).toLowerCase()}`;
  }

  function cellTitle(r) {
    const parts = [subsetName(r)];
    if (r.benchmark_version) parts.push(r.benchmark_version);
    parts.push(metricLabel(r));
    if (r.baseline !== "none") parts.push(`over ${vocabName("baselines", r.baseline)}`);
    parts.push(r.hardware ? vocabName("devices", r.hardware) : "hardware not stated");
    return parts.join(" · ");
  }

  const valueLabel = (r) => `${g(r.value)}${r.unit === "%" ? "%" : r.unit === "x" ? "×" : ""}`;

  function drawResults(shown) {
    const chosen = new Set(shown.map((w) => w.id));
    const cells = new Map();
    for (const r of results) {
      if (!chosen.has(r.entry)) continue;
      if (!cells.has(r.cell)) cells.set(r.cell, { first: r, by: new Map() });
      const cell = cells.get(r.cell);
      if (!cell.by.has(r.entry)) cell.by.set(r.entry, []);
      cell.by.get(r.entry).push(r);
    }
    const order = (b) => (names.first.includes(b) ? names.first.indexOf(b) : names.first.length);
    const benchName = (b) => (works.has(b) ? shortName(works.get(b)) : b);
    const rows = [...cells.values()].map((c) => ({ ...c, title: cellTitle(c.first), bench: benchName(c.first.benchmark) }));
    rows.sort((a, b) => b.by.size - a.by.size || order(a.first.benchmark) - order(b.first.benchmark)
      || a.bench.localeCompare(b.bench) || a.title.localeCompare(b.title));
    const shared = rows.filter((c) => c.by.size > 1).length;
    if (!rows.length) {
      resultsBox.replaceChildren(el("p", "None of these works reports a number in the knowledge base yet."));
      return shared;
    }
    const table = el("table", undefined, "ka-compare ka-compare-results");
    table.id = "ka-compare-numbers";
    table.appendChild(el("thead")).appendChild(headRow(shown)).querySelectorAll(".ka-remove").forEach((b) => b.remove());
    table.querySelector("thead th").textContent = "Comparison cell";
    const tbody = table.appendChild(el("tbody"));
    for (const c of rows) {
      const tr = tbody.appendChild(el("tr"));
      tr.dataset.cell = c.first.cell;
      if (c.by.size > 1) tr.className = "ka-shared";
      const th = tr.appendChild(el("th"));
      th.scope = "row";
      th.appendChild(link(`../papers/${encodeURIComponent(c.first.benchmark)}/`, c.bench));
      th.appendChild(el("br"));
      th.appendChild(el("small", c.title));
      const higher = names.higher[c.first.metric] !== false;
      const all = [...c.by.values()].flat().map((r) => Number(r.value));
      const best = c.by.size > 1 ? (higher ? Math.max(...all) : Math.min(...all)) : null;
      for (const w of shown) {
        const td = tr.appendChild(el("td", undefined, "ka-num"));
        td.dataset.id = w.id;
        const mine = c.by.get(w.id) || [];
        if (!mine.length) td.textContent = "—";
        for (const r of mine) {
          const line = td.appendChild(el("span", undefined, "ka-value"));
          const href = r.url || (r.arxiv ? `https://arxiv.org/abs/${r.arxiv}` : "");
          const value = line.appendChild(el(Number(r.value) === best ? "strong" : "span"));
          value.appendChild(href ? link(href, valueLabel(r)) : document.createTextNode(valueLabel(r)));
          if (r.model) line.appendChild(el("small", ` ${r.model}`));
        }
      }
    }
    resultsBox.replaceChildren(scrollBox("Reported numbers of the works compared", table));
    return shared;
  }

  // --- the page --------------------------------------------------------------------------------

  function draw() {
    const unknown = ids.filter((id) => !works.has(id));
    const known = ids.filter((id) => works.has(id));
    const shown = known.slice(0, MAX).map((id) => works.get(id));
    const notes = [];
    if (unknown.length) notes.push(`No work with id ${unknown.map((id) => `“${id}”`).join(", ")} (left out).`);
    if (known.length > MAX) notes.push(`Only the first ${MAX} works are compared.`);
    if (!shown.length) {
      facetsBox.replaceChildren();
      resultsBox.replaceChildren();
      status.textContent = [...notes, "Add two to four works to compare them."].join(" ");
      return;
    }
    drawFacets(shown);
    const shared = drawResults(shown);
    const what = shown.length < 2 ? "Add another work to compare." : `${shown.length} works compared; they report in ${shared} cell${shared === 1 ? "" : "s"} together.`;
    status.textContent = [...notes, what].join(" ");
  }

  function find(text) {
    const t = text.trim().toLowerCase();
    if (!t) return null;
    const all = [...works.values()];
    return all.find((w) => w.id === t) || all.find((w) => [w.title, ...w.aliases].some((n) => n.toLowerCase() === t))
      || all.find((w) => [w.title, ...w.aliases].some((n) => n.toLowerCase().includes(t))) || null;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const work = find(input.value);
    if (!work) { status.textContent = `No work matches “${input.value.trim()}”.`; return; }
    if (!ids.includes(work.id)) {
      if (ids.filter((id) => works.has(id)).length >= MAX) { status.textContent = `At most ${MAX} works side by side: remove one first.`; return; }
      ids.push(work.id);
      writeIds();
    }
    input.value = "";
    draw();
  });
  document.getElementById("ka-compare-clear").addEventListener("click", () => { ids = []; writeIds(); draw(); });
  root.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button.ka-remove");
    if (!button) return;
    ids = ids.filter((id) => id !== button.dataset.id);
    writeIds();
    draw();
  });
  window.addEventListener("popstate", () => { ids = readIds(); draw(); });

  ids = readIds();
  // Rows of fields named once in the file become objects here.
  const record = (fields, row) => Object.fromEntries(fields.map((f, i) => [f, row[i]]));
  function unpack(data) {
    const cells = data.cells.map((row) => record(data.cell_fields, row));
    const out = [];
    for (const [entry, numbers] of Object.entries(data.numbers)) {
      for (const row of numbers) {
        const n = record(data.number_fields, row);
        out.push({ ...cells[n.cell], entry, value: n.value, unit: n.unit, model: n.model,
          url: n.url >= 0 ? data.urls[n.url] : "", arxiv: n.arxiv });
      }
    }
    return out;
  }

  const DATA = "data.json";
  fetch(DATA)
    .then((response) => { if (!response.ok) throw new Error(`${DATA}: HTTP ${response.status}`); return response.json(); })
    .then((data) => {
      works = new Map(data.works.map((w) => [w.id, w]));
      results = unpack(data);
      for (const w of [...works.values()].sort((a, b) => shortName(a).localeCompare(shortName(b)))) {
        const option = el("option");
        option.value = w.id;
        option.label = `${shortName(w)}: ${w.title}`;
        options.appendChild(option);
      }
      draw();
    })
    .catch((error) => {
      status.textContent = `The works could not be loaded (${error.message}); the comparison needs the site served over HTTP.`;
    });
})();
