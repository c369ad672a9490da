// The admin's live queue (/admin/queue): studies waiting per priority, the overdue ones first and marked,
// open claims grouped by reader with their age (reassign to another reader, or put back in the queue), and
// the escalations housekeeping raised. Refreshes every 30 s and on demand.
"use strict";
(function () {
  const {el, $, t, fmtTime, age, pageError, status, table} = window.AdminKit;
  const REFRESH_MS = 30000;
  const shortId = (id) => el("code", {title: id}, id.slice(0, 8));
  const prio = (p) => t(`admin_priority_${p}`);
  const dueCell = (x) => (x.overdue_s !== null ? `${t("admin_overdue_by")} ${age(x.overdue_s)}`
    : (x.due_at ? `${t("admin_due_in")} ${age((new Date(x.due_at) - new Date(x.now)) / 1000)}` : "—"));

  function depthCards(depth) {
    return depth.map((d) => el("div", {class: "kpi card", "data-priority": d.priority},
      el("span", {class: "kpi-label"}, `${prio(d.priority)} · ${t("admin_sla")} ${d.sla_min} ${t("admin_minutes")}`),
      el("span", {class: "kpi-value"}, `${t("admin_waiting")} ${d.waiting}`),
      el("span", {class: d.overdue ? "kpi-detail alarm" : "kpi-detail"}, `${t("admin_overdue_list")} ${d.overdue}`)));
  }

  function studyColumns() {
    return [
      [t("admin_study"), (x) => shortId(x.study_id)], [t("admin_priority"), (x) => prio(x.priority)],
      [t("admin_site"), (x) => x.site_name], [t("admin_received"), (x) => fmtTime(x.received_at)],
      [t("admin_waiting_time"), (x) => age(x.waiting_s)], [t("admin_due_at"), (x) => fmtTime(x.due_at)],
      [t("admin_due_in"), dueCell], [t("admin_status"), (x) => t(`clinic_status_${x.status}`)],
      [t("admin_reader"), (x) => x.reader_name || t("admin_not_claimed")]];
  }

  function claimActions(x, readers, reload) {
    const say = (text, isError) => status("claim-status", text, isError);
    const label = `${x.reader_name} · ${x.study_id.slice(0, 8)}`;
    const pick = el("select", {"aria-label": `${t("admin_reassign_to")} · ${label}`},
      el("option", {value: ""}, t("admin_pick_reader")),
      readers.filter((r) => r.id !== x.reader_id).map((r) => el("option", {value: r.id}, r.display_name || r.username)));
    const act = async (fn) => {
      try { await fn(); say(t("admin_done_ok")); } catch (err) { say(`${t("admin_error")}: ${err.message}`, true); }
      await reload();
    };
    return el("div", {class: "actions"}, pick,
      el("button", {type: "button", class: "secondary small", "aria-label": `${t("admin_reassign")} · ${label}`,
        onclick: () => pick.value && act(() => api(`/api/v1/admin/claims/${x.claim_id}/reassign`,
          {method: "POST", json: {reader_id: Number(pick.value)}}))}, t("admin_reassign")),
      el("button", {type: "button", class: "secondary small", "aria-label": `${t("admin_requeue")} · ${label}`,
        onclick: () => window.confirm(t("admin_requeue_confirm")) &&
          act(() => api(`/api/v1/admin/claims/${x.claim_id}/requeue`, {method: "POST"}))}, t("admin_requeue")));
  }

  function claimsByReader(studies, readers, reload) {
    const held = new Map();
    for (const x of studies.filter((s) => s.claim_id)) {
      if (!held.has(x.reader_id)) held.set(x.reader_id, []);
      held.get(x.reader_id).push(x);
    }
    if (!held.size) return [el("p", {}, t("admin_no_claims"))];
    return [...held.values()].map((rows) => el("div", {class: "reader-claims"},
      el("h3", {}, `${rows[0].reader_name} · ${rows.length}`),
      table([[t("admin_study"), (x) => shortId(x.study_id)], [t("admin_priority"), (x) => prio(x.priority)],
        [t("admin_site"), (x) => x.site_name], [t("admin_claim_age"), (x) => age(x.claim_age_s)],
        [t("admin_due_in"), dueCell], [t("admin_actions"), (x) => claimActions(x, readers, reload)]],
      rows, rows[0].reader_name, (x) => (x.overdue_s !== null ? "overdue" : null))));
  }

  function escalationTable(escalations, siteNames) {
    if (!escalations.length) return el("p", {}, t("admin_no_escalations"));
    return table([[t("admin_kind"), (e) => t(`admin_esc_kind_${e.kind}`)], [t("admin_site"), (e) => siteNames.get(e.site_id) || e.site_id],
      [t("admin_study"), (e) => shortId(e.study_id)], [t("admin_raised_at"), (e) => fmtTime(e.raised_at)]],
    escalations, t("admin_escalations"));
  }

  async function load() {
    let q, escalations, sites, readers;
    try {
      [q, escalations, sites, readers] = await Promise.all([api("/api/v1/admin/queue"), api("/api/v1/admin/escalations"),
        api("/api/v1/admin/sites"), api("/api/v1/admin/users?role=reader")]);
      pageError(null);
    } catch (err) { pageError(err); return; }
    const studies = q.studies.map((x) => ({...x, now: q.now}));
    const overdue = studies.filter((x) => x.overdue_s !== null);
    $("queue-depth").replaceChildren(...depthCards(q.depth));
    $("overdue-table").replaceChildren(overdue.length ? table(studyColumns(), overdue, t("admin_overdue_list"), () => "overdue")
      : el("p", {}, t("admin_no_overdue")));
    $("claims-by-reader").replaceChildren(...claimsByReader(studies, readers.filter((r) => r.active), load));
    $("waiting-table").replaceChildren(studies.length ? table(studyColumns(), studies, t("admin_waiting_list"),
      (x) => (x.overdue_s !== null ? "overdue" : null)) : el("p", {}, t("admin_no_waiting")));
    $("queue-truncated").textContent = q.truncated ? t("admin_queue_truncated", {n: studies.length}) : "";
    $("escalation-table").replaceChildren(escalationTable(escalations, new Map(sites.map((s) => [s.id, s.name]))));
    $("queue-updated").textContent = `${t("admin_updated_at")} ${fmtTime(q.now)}`;
    document.body.dataset.queueLoaded = String(Number(document.body.dataset.queueLoaded || 0) + 1);
  }

  async function queuePage() {
    $("queue-refresh").addEventListener("click", load);
    await load();
    setInterval(load, REFRESH_MS);
  }

  window.AdminKit.pages.queue = queuePage;
})();
