// The hub's admin pages (/admin/): the alliance dashboard (charts drawn by the vendored Chart.js, see
// /static/vendor/README.md; the per-clinic table with sparklines is plain DOM and SVG) and the plain pages
// for sites, reader coverage and API keys; the users, queue and webhook pages register themselves in
// AdminKit.pages (admin_users.js, admin_queue.js, admin_webhooks.js). All data comes from the admin API
// (/api/v1/admin/...) through api.js with the session cookie; text from the API is inserted as text.
"use strict";
(function () {
  const {el, $, t, fmtTime, pct, mins, dur, pageError, table, sortableTable, sparkline, siteOptions} = window.AdminKit;
  // Colour-blind-safe palette (Okabe-Ito, then Tableau) for per-clinic series.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D00", "#000000",
                   "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2", "#9C755F", "#E15759", "#BAB0AC"];

  // ---- dashboard ---------------------------------------------------------------------------------------
  const charts = {};
  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  function setupChartDefaults() {
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#1a1a1a";
  }

  async function dashboard() {
    setupChartDefaults();
    const form = $("stats-filter");
    const q = new URLSearchParams(location.search);
    for (const [name, id] of [["from", "f-from"], ["to", "f-to"]]) if (q.get(name)) $(id).value = q.get(name);
    form.addEventListener("submit", (e) => { e.preventDefault(); loadStats(true); });
    await loadStats(false, q.get("site_id") || "");
  }

  async function loadStats(fromForm, initialSite) {
    const params = new URLSearchParams();
    if ($("f-from").value) params.set("from", $("f-from").value);
    if ($("f-to").value) params.set("to", $("f-to").value);
    const site = fromForm ? $("f-site").value : initialSite;
    if (site) params.set("site_id", site);
    $("stats-status").textContent = t("admin_loading");
    let st;
    try { st = await api(`/api/v1/admin/stats?${params}`); pageError(null); }
    catch (e) { pageError(e); $("stats-status").textContent = ""; return; }
    if (fromForm) history.replaceState(null, "", `?${params}`);
    $("f-from").value = st.from; $("f-to").value = st.to;
    const sel = $("f-site");
    sel.replaceChildren(el("option", {value: ""}, t("admin_all_sites")),
      ...st.sites.map((s) => el("option", {value: s.id, selected: String(s.id) === String(st.site_id ?? "")}, s.name)));
    renderStats(st);
    $("stats-status").textContent = `${st.from} – ${st.to}`;
    document.body.dataset.statsLoaded = "1";
  }

  // Clinics beyond this many are drawn as one "other clinics" series (the table lists every one).
  const MAX_SERIES = 11;

  function volumeSeries(series) {
    if (series.length <= MAX_SERIES + 1) return series;
    const ranked = [...series].sort((a, b) => b.counts.reduce((x, y) => x + y, 0) - a.counts.reduce((x, y) => x + y, 0));
    const rest = ranked.slice(MAX_SERIES);
    return [...ranked.slice(0, MAX_SERIES), {site_name: t("admin_other_sites", {n: rest.length}),
      counts: rest[0].counts.map((_, i) => rest.reduce((a, s) => a + s.counts[i], 0))}];
  }

  function renderKpis(st) {
    const tot = st.totals;
    $("kpi-studies").textContent = tot.studies;
    $("kpi-sla").textContent = pct(tot.on_time_rate);
    $("kpi-sla-detail").textContent = `${tot.on_time} / ${tot.due} · ${t("admin_overdue")} ${tot.overdue}`;
    $("kpi-unreadable").textContent = pct(tot.unreadable_rate);
    $("kpi-unreadable-detail").textContent = `${tot.unreadable} / ${tot.analysed}`;
    $("kpi-returned").textContent = pct(tot.returned_rate);
    $("kpi-returned-detail").textContent = `${tot.returned} / ${tot.analysed}`;
    $("kpi-read").textContent = dur(tot.read_p50_s);
    $("kpi-notices").textContent = st.notices.open;
    $("kpi-notices").classList.toggle("alarm", st.notices.open > 0);
    $("kpi-sla").classList.toggle("alarm", tot.overdue > 0);
  }

  // The per-clinic table: sortable, filterable by name, a sparkline of daily studies per clinic.
  function renderClinics(st) {
    const num = (c) => ({num: true, ...c});
    const columns = [
      {label: t("admin_site"), cell: (c) => c.site_name, key: (c) => c.site_name},
      num({label: t("admin_studies"), cell: (c) => c.studies, key: (c) => c.studies, desc: true}),
      {label: t("admin_trend"), cell: (c) => sparkline(c.daily, `${c.site_name} · ${t("admin_trend")} · ${c.daily.join(", ")}`)},
      num({label: t("admin_unreadable_rate"), cell: (c) => pct(c.unreadable_rate), key: (c) => c.unreadable_rate, desc: true}),
      num({label: t("admin_returned_rate"), cell: (c) => pct(c.returned_rate), key: (c) => c.returned_rate, desc: true}),
      num({label: t("admin_on_time_rate"), cell: (c) => pct(c.on_time_rate), key: (c) => c.on_time_rate}),
      num({label: t("admin_overdue"), cell: (c) => el("span", {class: c.overdue ? "alarm" : null}, c.overdue),
           key: (c) => c.overdue, desc: true}),
      num({label: t("admin_tat_p50"), cell: (c) => dur(c.tat_p50_s), key: (c) => c.tat_p50_s, desc: true}),
      num({label: t("admin_open_notices"), cell: (c) => c.open_notices, key: (c) => c.open_notices, desc: true}),
    ];
    const tbl = sortableTable(columns, st.clinics, t("admin_clinic_table"), {col: 3, dir: -1});
    $("clinic-table").replaceChildren(tbl);
    const filter = $("clinic-filter");
    const apply = () => {
      const q = filter.value.trim().toLowerCase();
      const shown = tbl.filter((c) => !q || c.site_name.toLowerCase().includes(q));
      $("clinic-count").textContent = t("admin_shown_of", {n: shown, total: st.clinics.length});
    };
    filter.oninput = apply;
    apply();
  }

  function renderExports(st) {
    const q = new URLSearchParams({from: st.from, to: st.to});
    if (st.site_id) q.set("site_id", st.site_id);
    $("export-clinics").href = `/api/v1/admin/stats/clinics.csv?${q}`;
    $("export-studies").href = `/api/v1/admin/stats/studies.csv?${q}`;
  }

  function renderStats(st) {
    renderKpis(st);
    renderClinics(st);
    renderExports(st);

    // Studies per day, stacked by clinic (the busiest eleven, then the rest as one series).
    const days = st.volume.days.map((d) => d.slice(5));
    draw("chart-volume", {type: "bar", data: {labels: days, datasets: volumeSeries(st.volume.series).map((s, i) => ({
      label: s.site_name, data: s.counts, backgroundColor: PALETTE[i % PALETTE.length]}))},
      options: {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
                plugins: {legend: {position: "bottom"}}}});
    $("table-volume").replaceChildren(table(
      [[t("admin_day"), (r) => r.day], ...st.volume.series.map((s) => [s.site_name, (r) => s.counts[r.i]]),
       [t("admin_total"), (r) => st.volume.per_day_total[r.i]]],
      st.volume.days.map((day, i) => ({day, i})), t("admin_volume")));

    // Turnaround p50/p90 per priority against the SLA (a dash per priority).
    const tat = st.turnaround;
    draw("chart-tat", {type: "bar", data: {labels: tat.map((x) => t(`admin_priority_${x.priority}`)), datasets: [
      {label: t("admin_p50"), data: tat.map((x) => x.p50_min), backgroundColor: "#56B4E9"},
      {label: t("admin_p90"), data: tat.map((x) => x.p90_min), backgroundColor: "#0072B2"},
      {type: "line", label: t("admin_sla"), data: tat.map((x) => x.sla_min), borderColor: "#D55E00", backgroundColor: "#D55E00",
       showLine: false, pointStyle: "line", pointRadius: 28, pointBorderWidth: 3, pointHoverRadius: 28, order: -1}]},
      options: {scales: {y: {type: "logarithmic", title: {display: true, text: t("admin_minutes")}}},
                plugins: {legend: {position: "bottom"}}}});
    $("table-tat").replaceChildren(table([
      [t("admin_priority"), (x) => t(`admin_priority_${x.priority}`)], [t("admin_sla"), (x) => mins(x.sla_min)],
      [t("admin_reported"), (x) => x.reported], [t("admin_overdue"), (x) => x.overdue],
      [t("admin_p50"), (x) => dur(x.p50_s)], [t("admin_p90"), (x) => dur(x.p90_s)],
      [t("admin_on_time_rate"), (x) => `${x.within_sla} / ${x.due} (${pct(x.within_sla_rate)})`]], tat, t("admin_turnaround")));

    // Reader workload.
    const rd = st.readers;
    draw("chart-readers", {type: "bar", data: {labels: rd.map((r) => r.name), datasets: [
      {label: t("admin_claims"), data: rd.map((r) => r.claims), backgroundColor: "#56B4E9"},
      {label: t("admin_reports"), data: rd.map((r) => r.reports), backgroundColor: "#009E73"}]},
      options: {indexAxis: "y", scales: {x: {beginAtZero: true, ticks: {precision: 0}}}, plugins: {legend: {position: "bottom"}}}});
    $("table-readers").replaceChildren(table([
      [t("admin_reader"), (r) => r.name], [t("admin_claims"), (r) => r.claims], [t("admin_signed"), (r) => r.signed],
      [t("admin_released"), (r) => r.released], [t("admin_expired"), (r) => r.expired], [t("admin_reports"), (r) => r.reports],
      [t("admin_amendments"), (r) => r.amendments], [t("admin_read_p50"), (r) => dur(r.read_p50_s)]], rd, t("admin_readers")));

    // Critical notices per clinic: acknowledged and open; time to acknowledgment.
    const n = st.notices;
    $("notice-summary").replaceChildren(
      `${t("admin_raised")} ${n.raised} · ${t("admin_acknowledged")} ${n.acknowledged} · `,
      el("strong", {class: n.open ? "alarm" : ""}, `${t("admin_open")} ${n.open}`),
      ` · ${t("admin_ack_p50")} ${mins(n.ack_p50_min)} · ${t("admin_ack_p90")} ${mins(n.ack_p90_min)}`,
      n.oldest_open_at ? ` · ${t("admin_oldest_open")} ${fmtTime(n.oldest_open_at)}` : "");
    draw("chart-notices", {type: "bar", data: {labels: n.per_site.map((x) => x.site_name), datasets: [
      {label: t("admin_acknowledged"), data: n.per_site.map((x) => x.acknowledged), backgroundColor: "#009E73"},
      {label: t("admin_open"), data: n.per_site.map((x) => x.open), backgroundColor: "#D55E00"}]},
      options: {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
                plugins: {legend: {position: "bottom"}}}});
    $("table-notices").replaceChildren(table([
      [t("admin_site"), (x) => x.site_name], [t("admin_raised"), (x) => x.raised], [t("admin_acknowledged"), (x) => x.acknowledged],
      [t("admin_open"), (x) => x.open], [t("admin_ack_p50"), (x) => mins(x.ack_p50_min)], [t("admin_ack_p90"), (x) => mins(x.ack_p90_min)]],
      n.per_site, t("admin_notices")));
  }

  const formStatus = (text, isError) => window.AdminKit.status("form-status", text, isError);

  // ---- sites ---------------------------------------------------------------------------------------------
  async function sitesPage() {
    const load = async () => {
      const sites = await api("/api/v1/admin/sites");
      $("site-table").replaceChildren(table([
        [t("admin_code"), (s) => s.code], [t("admin_name"), (s) => s.name], [t("admin_level"), (s) => t(`admin_level_${s.level}`)],
        [t("admin_region"), (s) => s.region || "—"], [t("admin_active"), (s) => t(s.active ? "admin_yes" : "admin_no")],
        [t("admin_webhook"), (s) => s.webhook_url || "—"], [t("admin_created"), (s) => fmtTime(s.created_at)]], sites, t("admin_sites")));
    };
    $("site-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      if (!f.reportValidity()) return;
      try {
        await api("/api/v1/admin/sites", {method: "POST", json: {code: f.code.value.trim(), name: f.name.value.trim(),
                                                                 level: f.level.value, region: f.region.value.trim()}});
        formStatus(t("admin_created_ok")); f.reset(); await load();
      } catch (err) { formStatus(`${t("admin_error")}: ${err.message}`, true); }
    });
    await load();
  }

  // ---- reader coverage -------------------------------------------------------------------------------------
  async function coveragePage() {
    const [sites, readers] = await Promise.all([api("/api/v1/admin/sites"), api("/api/v1/admin/users?role=reader")]);
    const clinics = sites.filter((s) => s.level !== "hub");
    const box = $("coverage");
    if (!readers.length) { box.replaceChildren(el("p", {}, t("admin_no_readers"))); return; }
    box.replaceChildren(...readers.map((r) => {
      const covered = new Set(r.covered_site_ids);
      const status = el("span", {class: "muted", role: "status"});
      const form = el("form", {class: "coverage-form", "data-reader": r.id},
        el("fieldset", {},
          el("legend", {}, `${r.display_name || r.username} (${r.username}) · ${r.reader_pools.map((p) => t(`admin_pool_${p}`)).join("、")}`),
          el("div", {class: "checks"}, clinics.map((s) => el("label", {class: "check"},
            el("input", {type: "checkbox", name: "site", value: s.id, checked: covered.has(s.id)}), ` ${s.name}`)))),
        el("button", {type: "submit", class: "primary small", "aria-label": `${t("admin_save")} · ${r.display_name || r.username}`},
          t("admin_save")), " ", status);
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const ids = [...form.querySelectorAll("input[name=site]:checked")].map((c) => Number(c.value));
        try {
          await api(`/api/v1/admin/readers/${r.id}/coverage`, {method: "PUT", json: {site_ids: ids}});
          status.textContent = t("admin_saved"); status.className = "ok";
        } catch (err) { status.textContent = `${t("admin_error")}: ${err.message}`; status.className = "error-box"; }
      });
      return form;
    }));
  }

  // ---- API keys ----------------------------------------------------------------------------------------------
  async function keysPage() {
    await siteOptions($("key-site"));
    const load = async () => {
      const keys = await api("/api/v1/admin/api-keys");
      $("key-table").replaceChildren(table([
        [t("admin_site"), (k) => k.site_name], [t("admin_name"), (k) => k.name || "—"],
        [t("admin_key_prefix"), (k) => el("code", {}, `ek_${k.prefix}_…`)], [t("admin_created"), (k) => fmtTime(k.created_at)],
        [t("admin_key_state"), (k) => (k.revoked_at ? `${t("admin_key_revoked")} ${fmtTime(k.revoked_at)}` : t("admin_key_active"))],
        [t("admin_actions"), (k) => (k.revoked_at ? "" : el("button", {type: "button", class: "secondary small",
          "aria-label": `${t("admin_revoke")} ${k.site_name} ${k.name}`, onclick: () => revoke(k.id)}, t("admin_revoke")))]],
        keys, t("admin_api_keys")));
    };
    const revoke = async (id) => {
      if (!window.confirm(t("admin_revoke_confirm"))) return;
      try { await api(`/api/v1/admin/api-keys/${id}/revoke`, {method: "POST"}); pageError(null); }
      catch (err) { pageError(err); }
      await load();
    };
    $("key-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      try {
        const key = await api(`/api/v1/admin/sites/${f.site_id.value}/api-keys`, {method: "POST", json: {name: f.name.value.trim()}});
        $("new-token").replaceChildren(el("p", {class: "token-box"}, t("admin_token_once"), el("br"),
          el("code", {id: "new-token-value"}, key.token)));
        f.name.value = "";
        pageError(null);
        await load();
      } catch (err) { pageError(err); }
    });
    await load();
  }

  const PAGES = {dashboard, sites: sitesPage, coverage: coveragePage, "api-keys": keysPage, ...window.AdminKit.pages};
  window.AdminPages = {
    start(page) {
      Promise.resolve(PAGES[page]()).catch(pageError);
    },
  };
})();
