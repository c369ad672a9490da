// Shared helpers of the admin pages (/admin/): strings, formatting of rates, durations and times, plain
// and sortable tables, sparklines (inline SVG, no library). Page scripts register themselves in
// AdminKit.pages; admin.js starts the page named by the boot data. API text is inserted as text, never HTML.
"use strict";
(function () {
  const S = JSON.parse(document.getElementById("strings").textContent);
  const LANG = (window.ECGHUB && window.ECGHUB.lang) || "zh-CN";
  const el = window.el;
  const $ = (id) => document.getElementById(id);
  const t = (key, vars) => {
    let s = key in S ? S[key] : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
    return s;
  };
  const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString(LANG, {hour12: false}) : "—");
  const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
  const mins = (x) => (x === null || x === undefined ? "—" : `${x} ${t("admin_minutes")}`);

  // A duration in seconds as people read it: seconds under a minute (one decimal under 10 s, so a real
  // read is never "0"), otherwise minutes with one decimal.
  function dur(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return `${seconds < 10 ? (+seconds).toFixed(1) : Math.round(seconds)} ${t("admin_seconds")}`;
    return `${(seconds / 60).toFixed(1)} ${t("admin_minutes")}`;
  }

  // How long something has waited: like dur(), then hours with one decimal from two hours on, days from two days.
  function age(seconds) {
    if (seconds !== null && seconds !== undefined && seconds >= 172800) {
      return `${(seconds / 86400).toFixed(1)} ${t("admin_days")}`;
    }
    if (seconds !== null && seconds !== undefined && seconds >= 7200) {
      return `${(seconds / 3600).toFixed(1)} ${t("admin_hours")}`;
    }
    return dur(seconds);
  }

  function pageError(err) {
    const box = $("page-error");
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = `${t("admin_error")}: ${err.message || err}`;
    box.hidden = false;
  }

  function status(id, text, isError) {
    const box = $(id);
    box.textContent = text || "";
    box.className = isError ? "error-box" : "ok";
  }

  // A table: columns [[header, row => cell]], rows; the first column is the row header.
  function table(columns, rows, caption, rowClass) {
    return el("table", {class: "data"},
      caption ? el("caption", {class: "sr-only"}, caption) : null,
      el("thead", {}, el("tr", {}, columns.map(([h]) => el("th", {scope: "col"}, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {class: rowClass ? rowClass(r) : null}, columns.map(([, f], i) =>
        i === 0 ? el("th", {scope: "row"}, f(r)) : el("td", {}, f(r)))))));
  }

  // A sortable table: columns [{label, cell: row => node|text, key: row => number|string|null}].
  // Clicking a header button sorts by it (again: the other way); empty values sort last either way.
  // Rows are built once and re-ordered, so a hundred clinics and more sort at once.
  function sortableTable(columns, rows, caption, initial) {
    const body = el("tbody");
    const built = rows.map((r) => ({r, tr: el("tr", {}, columns.map((c, i) =>
      i === 0 ? el("th", {scope: "row"}, c.cell(r)) : el("td", {class: c.num ? "num" : null}, c.cell(r))))}));
    const heads = columns.map((c, i) => {
      if (!c.key) return el("th", {scope: "col"}, c.label);
      const th = el("th", {scope: "col", "aria-sort": "none"});
      th.append(el("button", {type: "button", class: "sort", onclick: () => sortBy(i)}, c.label));
      return th;
    });
    let state = {col: -1, dir: 1};
    function sortBy(i, dir) {
      const d = dir || (state.col === i ? -state.dir : (columns[i].desc ? -1 : 1));
      state = {col: i, dir: d};
      const key = columns[i].key;
      built.sort((a, b) => {
        const x = key(a.r), y = key(b.r);
        if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;
        if (y === null || y === undefined) return -1;
        return (typeof x === "string" ? x.localeCompare(y, LANG) : x - y) * d;
      });
      heads.forEach((th, j) => columns[j].key &&
        th.setAttribute("aria-sort", j === i ? (d > 0 ? "ascending" : "descending") : "none"));
      body.replaceChildren(...built.map((b) => b.tr));
    }
    const tableEl = el("table", {class: "data sortable"},
      caption ? el("caption", {class: "sr-only"}, caption) : null,
      el("thead", {}, el("tr", {}, heads)), body);
    if (initial) sortBy(initial.col, initial.dir); else body.replaceChildren(...built.map((b) => b.tr));
    tableEl.filter = (pred) => {
      let shown = 0;
      for (const b of built) { const ok = pred(b.r); b.tr.hidden = !ok; if (ok) shown += 1; }
      return shown;
    };
    return tableEl;
  }

  // A sparkline of daily counts: an inline SVG polyline (width x height px), the last day marked.
  function sparkline(values, label, width = 120, height = 28) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    for (const [k, v] of Object.entries({width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      class: "spark", "aria-label": label})) svg.setAttribute(k, v);
    const max = Math.max(1, ...values);
    const n = values.length;
    const x = (i) => (n <= 1 ? width / 2 : 1 + (i * (width - 2)) / (n - 1));
    const y = (v) => height - 2 - (v / max) * (height - 4);
    const line = document.createElementNS(NS, "polyline");
    line.setAttribute("points", values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#0072B2");
    line.setAttribute("stroke-width", "1.5");
    svg.append(line);
    if (n) {
      const dot = document.createElementNS(NS, "circle");
      for (const [k, v] of Object.entries({cx: x(n - 1), cy: y(values[n - 1]), r: 2.2, fill: "#D55E00"})) dot.setAttribute(k, v);
      svg.append(dot);
    }
    return svg;
  }

  async function siteOptions(select) {
    const sites = await api("/api/v1/admin/sites");
    select.replaceChildren(...sites.map((s) => el("option", {value: s.id}, `${s.name} (${s.code})`)));
    return sites;
  }

  window.AdminKit = {S, LANG, el, $, t, fmtTime, pct, mins, dur, age, pageError, status, table, sortableTable,
                     sparkline, siteOptions, pages: {}};
})();
