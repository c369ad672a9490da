// The admin dashboard's overdue critical notices (危急值): unacknowledged longer than the configured bound
// (GET /api/v1/admin/notices/overdue), oldest first, refreshed every 30 s, so the hub can phone the clinic.
// A separate file from admin.js: it only needs #overdue-notices on the page. Text from the API goes in as text.
"use strict";
(function () {
  const box = document.getElementById("overdue-notices");
  if (!box) return;
  const S = JSON.parse(document.getElementById("strings").textContent);
  const t = (key) => (key in S ? S[key] : key);
  const LANG = (window.ECGHUB && window.ECGHUB.lang) || "zh-CN";
  const el = window.el;
  const fmtTime = (iso) => new Date(iso).toLocaleString(LANG, {hour12: false});

  function row(n) {
    return el("tr", {"data-notice": n.id},
      el("th", {scope: "row"}, `${Math.round(n.waiting_min)} ${t("admin_minutes")}`),
      el("td", {}, n.site_name),
      el("td", {}, n.patient_name || "", el("br"), el("span", {class: "muted"}, n.patient_id || "")),
      el("td", {}, n.text),
      el("td", {}, fmtTime(n.raised_at)));
  }

  async function load() {
    let list;
    try { list = await window.api("/api/v1/admin/notices/overdue"); }
    catch (e) { document.getElementById("overdue-table").replaceChildren(el("p", {class: "error-box"}, e.message)); return; }
    const heads = ["admin_overdue_waiting", "admin_overdue_site", "admin_overdue_patient", "admin_overdue_finding",
                   "admin_overdue_raised"];
    document.getElementById("overdue-none").hidden = list.length > 0;
    document.getElementById("overdue-table").replaceChildren(list.length ? el("table", {class: "data"},
      el("thead", {}, el("tr", {}, heads.map((h) => el("th", {scope: "col"}, t(h))))),
      el("tbody", {}, list.map(row))) : "");
    box.dataset.loaded = "1";
  }

  load();
  setInterval(load, 30000);
})();
