// Reading workstation (/reader/): worklist, claim with lease renewal, 12-lead viewer with calipers and
// draggable fiducials, serial comparison, report with lexicon type-ahead, sign (S), return, release.
// Everything goes through the reading API (api.js) with the session cookie; no data lives in the page.
"use strict";
(function () {
  const T = JSON.parse(document.getElementById("rd-strings").textContent);
  const LANG = (window.ECGHUB && window.ECGHUB.lang) || "zh-CN";
  const $ = (id) => document.getElementById(id);
  const MARKS = ["p_on", "p_off", "qrs_on", "qrs_off", "t_end"];
  const MARK_LANE = {p_on: 0, p_off: 1, qrs_on: 2, qrs_off: 0, t_end: 1};  // label rows: neighbours never share one
  const MEAS_KEYS = ["heart_rate_bpm", "p_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms",
                     "p_axis_deg", "qrs_axis_deg", "t_axis_deg"];
  const DEPENDS = {p_on: ["p_ms", "pr_ms"], p_off: ["p_ms"], qrs_on: ["pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms"],
                   qrs_off: ["qrs_ms"], t_end: ["qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms"]};

  const S = {
    bundle: null, claim: null, leaseMs: 600000, renewing: false, waves: {}, beats: null, lex: [], lexByCode: {},
    layout: null, medLayout: null, marks: {}, machineMarks: {}, rrMs: null, chosen: [], cal: {a: null, b: null, cursor: null,
    march: false, on: false}, vcal: {on: false, y1: null, y2: null, x: null, lead: "", gain: 1}, enlarge: "", myClaims: [], priorBundle: null, priorWave: null, drawSeq: 0,
    pxPerInch: Number(localStorage.getItem("rd.pxPerInch")) || 96, opening: 0, start: 0,
    mode: "sign",  // "sign": a claimed study; "amend": a signed study opened to amend; "view": neither
    lexReady: null,
  };
  window.__rdTimings = [];

  // ------------------------------------------------------------------ text helpers
  const t = (k, vars = {}) => (T[k] || k).replace(/\{(\w+)\}/g, (_, v) => (v in vars ? vars[v] : ""));
  const fmt1 = (v) => (v == null || !isFinite(v) ? "—" : String(Math.round(v * 10) / 10));
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

  /** Age as clinicians write it: days for newborns, months under 2 years, then years (age in days). */
  function ageText(days) {
    if (days == null) return "—";
    if (days < 31) return `${days} ${T.days}`;
    if (days < 730) return `${Math.floor(days * 12 / 365)} ${T.months}`;
    return `${Math.floor(days / 365)} ${T.years}`;
  }
  function dateText(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  const stmtText = (s) => (LANG === "en" ? s.en : s.zh);

  // ------------------------------------------------------------------ messages
  /** Show an API error in the reader's language, with the server's detail. */
  function showError(err) {
    const status = err && err.status;
    const key = !status ? "rd_err_network" : status === 409 ? "rd_err_conflict" : status === 404 ? "rd_err_notfound"
      : status === 403 ? "rd_err_forbidden" : status === 422 ? "rd_err_invalid" : status >= 500 ? "rd_err_server" : "rd_err_other";
    const detail = err && err.message && err.message !== "401" ? err.message : "";
    say(`${t(key)}${detail ? " — " + detail : ""}`, "err");
  }
  /** A message that stays in view (sticky) until the next action or until dismissed. */
  function say(text, kind = "ok") {
    const m = $("rd-msg");
    $("rd-msg-text").textContent = text;
    m.className = `rd-msg ${kind}`;
    m.hidden = false;
  }
  const clearMsg = () => { $("rd-msg").hidden = true; };
  const status = (text) => { $("rd-status").textContent = text; };

  // ------------------------------------------------------------------ worklist and claims
  async function refreshWorklist() {
    try {
      const wl = await api("/api/v1/reader/worklist?limit=20");
      for (const [k, v] of Object.entries(wl.counts)) {
        const el = document.querySelector(`[data-count="${k}"]`);
        if (el) el.textContent = v;
      }
      document.querySelector(".rd-overdue").classList.toggle("has", (wl.counts.overdue || 0) > 0);
      S.myClaims = wl.my_claims;
      renderClaims();
      renderQueue(wl.items);
      return wl.items;
    } catch (e) { showError(e); return null; }
  }

  /** Waiting time as the queue shows it: minutes, then hours and minutes (from seconds). */
  function waitText(s) {
    const m = Math.floor(Math.max(0, s) / 60);
    return m < 60 ? t("rd_wait_min", {m}) : t("rd_wait_h", {h: Math.floor(m / 60), m: m % 60});
  }

  /** One row per queued study: priority, patient (name, sex, age), clinic, indication, waiting, due. */
  function renderQueue(items) {
    $("rd-queue-n").textContent = `(${items.length})`;
    $("rd-queue-rows").innerHTML = items.map((it) => `
      <tr class="${it.overdue ? "overdue" : ""}" data-study="${esc(it.study_id)}">
        <td><span class="badge ${it.priority}">${esc(t("rd_prio_" + it.priority))}</span></td>
        <td class="rd-q-patient"><b>${esc(it.patient_name)}</b> · ${esc(T["sex_" + it.patient_sex] || "")} · ${esc(ageText(it.age_days))}</td>
        <td class="rd-q-clinic">${esc(it.site_name)}</td>
        <td class="rd-q-ind">${esc(it.indication || "—")}</td>
        <td class="rd-q-wait">${esc(waitText(it.waiting_s))}</td>
        <td>${esc(dateText(it.due_at))}${it.overdue ? " · " + esc(T.rd_overdue) : ""}</td>
        <td><button type="button" class="rd-btn" data-claim-study="${it.study_id}">${esc(T.rd_claim)}</button></td>
      </tr>`).join("");
  }

  /** The reader's recently signed studies (the way to amend one), loaded when the list is opened. */
  async function refreshRecent() {
    if (!$("rd-recent").open) return;
    try {
      const items = await api("/api/v1/reader/recent?limit=20");
      $("rd-recent-n").textContent = `(${items.length})`;
      $("rd-recent-rows").innerHTML = items.length ? items.map((it) => `
        <tr><td>${esc(it.patient_name)} · ${esc(ageText(it.age_days))}</td><td>${esc(dateText(it.acquired_at))}</td>
        <td>${esc(dateText(it.signed_at))}</td><td>v${esc(it.version)} · ${esc(t("rd_status_" + it.status))}</td>
        <td><button type="button" class="rd-btn" data-amend-study="${esc(it.study_id)}">${esc(T.rd_open_amend)}</button></td></tr>`).join("")
        : `<tr><td colspan="5" class="muted">${esc(T.rd_none)}</td></tr>`;
    } catch (e) { showError(e); }
  }

  function leaseLeft(c) { return new Date(c.lease_until).getTime() - Date.now(); }
  function mmss(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function renderClaims() {
    const ul = $("rd-my-claims");
    if (!S.myClaims.length) { ul.innerHTML = `<li class="muted">${esc(T.rd_none)}</li>`; return; }
    ul.innerHTML = S.myClaims.map((c) => {
      const current = S.claim && S.claim.id === c.id;
      return `<li class="${current ? "current" : ""}" data-claim="${c.id}">
        <span>${esc(c.study_id.slice(0, 8))}</span>
        <span class="rd-countdown" aria-label="${esc(T.rd_lease_left)}">${mmss(leaseLeft(c))}</span>
        ${current ? `<span class="small">${esc(T.rd_open_now)}</span>` : `<button type="button" class="rd-btn" data-open-study="${c.study_id}">${esc(T.rd_open)}</button>`}
      </li>`;
    }).join("");
  }

  /** Every second: lease countdowns; renew the open study's lease when half of it has run out. */
  function tick() {
    for (const li of document.querySelectorAll("#rd-my-claims li[data-claim]")) {
      const c = S.myClaims.find((x) => String(x.id) === li.dataset.claim);
      if (!c) continue;
      const left = leaseLeft(c);
      li.querySelector(".rd-countdown").textContent = mmss(left);
      li.classList.toggle("low", left < 120000);
    }
    if (S.claim && !S.renewing && leaseLeft(S.claim) < S.leaseMs / 2) renewLease();
  }

  async function renewLease() {
    S.renewing = true;
    try {
      const c = await api(`/api/v1/reader/claims/${S.claim.id}/renew`, {method: "POST"});
      S.claim = c;
      const mine = S.myClaims.find((x) => x.id === c.id);
      if (mine) mine.lease_until = c.lease_until; else S.myClaims.push(c);
      status(t("rd_lease_renewed"));
    } catch (e) {
      showError(e);
      S.claim = null;  // lease lost: signing will not be possible
    } finally { S.renewing = false; }
  }

  // ------------------------------------------------------------------ opening a study
  /** Start the N-to-drawn clock (performance.measure "rd-next-to-drawn" when the 12 leads are drawn). */
  function startClock() {
    performance.clearMarks("rd-next");
    performance.clearMeasures("rd-next-to-drawn");
    performance.mark("rd-next");
  }

  /** N (or the button): with a claimed study open, ask first to put it back; never drop a claim silently. */
  async function requestNext() {
    if ($("rd-dlg-leave").open) return;
    if (S.bundle && S.claim && await stillHeld(S.claim)) { askLeave(); return; }
    next();
  }

  /** Whether the reader still holds this claim (it may have ended in another tab or been reassigned). */
  async function stillHeld(c) {
    try {
      const wl = await api("/api/v1/reader/worklist?limit=1");
      S.myClaims = wl.my_claims;
      if (wl.my_claims.some((x) => x.id === c.id)) return true;
      claimLost();
      return false;
    } catch (_) { return true; }  // unsure: ask rather than leave the claim behind
  }

  /** The open study's claim is no longer ours (ended, lapsed, reassigned): signing is no longer possible. */
  function claimLost() {
    S.claim = null;
    for (const id of ["rd-sign", "rd-return", "rd-release"]) $(id).disabled = true;
    renderClaims();
  }

  function draftStarted() {
    return S.chosen.length > 0 || $("rd-free").value.trim() !== "" || !!document.querySelector(".rd-meas input.edited")
      || Object.keys(S.marks).some((k) => S.machineMarks[k] != null && Math.abs(S.marks[k] - S.machineMarks[k]) > 0.05);
  }

  function askLeave() {
    $("rd-dlg-leave-text").textContent = t("rd_leave_text", {id: S.bundle.study.id.slice(0, 8)});
    $("rd-dlg-leave-draft").hidden = !draftStarted();
    $("rd-dlg-leave").showModal();
    $("rd-dlg-leave-cancel").focus();  // Enter keeps reading; N again (or the button) puts it back
  }

  async function leaveAndNext() {
    $("rd-dlg-leave").close();
    if (!S.claim) { next(); return; }
    const released = S.claim;
    try {
      await api(`/api/v1/reader/claims/${released.id}/release`, {method: "POST"});
    } catch (e) { showError(e); return; }
    closeStudy();
    const b = await next();
    if (b && b.study.id === released.study_id) say(T.rd_same_again, "ok");
    else status(T.rd_released_ok);
  }

  async function next() {
    startClock();
    clearMsg();
    $("rd-next").disabled = true;
    try {
      const b = await api("/api/v1/reader/next", {method: "POST"});
      if (!b) { closeStudy(); say(T.rd_queue_empty, "ok"); refreshWorklist(); return null; }
      await openBundle(b);
      return b;
    } catch (e) { showError(e); return null; } finally { $("rd-next").disabled = false; }
  }

  async function claimStudy(id) {
    startClock();
    clearMsg();
    try { await openBundle(await api(`/api/v1/reader/studies/${id}/claim`, {method: "POST"})); } catch (e) { showError(e); }
  }

  async function reopen(id) {
    startClock();
    clearMsg();
    try { await openBundle(await api(`/api/v1/reader/studies/${id}`)); } catch (e) { showError(e); }
  }

  async function openBundle(b) {
    const seq = ++S.opening;
    S.bundle = b; S.claim = b.claim; S.waves = {}; S.beats = null; S.priorBundle = null; S.priorWave = null;
    S.cal = {a: null, b: null, cursor: null, march: false, on: S.cal.on}; S.enlarge = "";
    S.vcal = {...S.vcal, y1: null, y2: null, lead: ""}; S.marks = {}; S.machineMarks = {};
    S.start = 0;
    $("rd-start").value = "0";
    $("rd-start").max = String(Math.max(0, Math.floor(b.recording.duration_s - 1)));
    $("rd-window").hidden = !(b.recording.duration_s > 10.5);
    S.leaseMs = b.claim ? new Date(b.claim.lease_until) - new Date(b.claim.claimed_at) : 600000;
    $("rd-empty").hidden = true;
    $("rd-study").hidden = false;
    document.body.classList.add("rd-open");  // compact header: the 12 leads and the rhythm strip fit 1366 x 768
    showStudyLabel(b);
    fillLeadSelect(b.recording.leads);
    clearMedian();
    const wave = loadWave();
    await S.lexReady;  // statements of signed versions are shown from the lexicon
    if (seq !== S.opening) return;
    renderSide(b);
    document.querySelector(".rd-side").scrollTop = 0;  // a new study starts with its identity in view
    resetReport(b);
    // The tracing first; the median beats, the prior study and the worklist only once it is drawn,
    // so that they do not compete with it for the server (the N-to-drawn time is what the reader waits for).
    await wave;
    if (seq !== S.opening) return;
    const beats = api(`/api/v1/reader/studies/${b.study.id}/beats`).then((x) => { if (seq === S.opening) { S.beats = x; onBeats(); } })
      .catch((e) => { if (seq === S.opening) { $("rd-median-note").textContent = e.message; } });
    loadPrior(b);
    refreshWorklist();
    await beats;
  }

  /** Short study id; with the status when the study is open without a claim (e.g. signed, to amend). */
  function showStudyLabel(b) {
    $("rd-study-label").textContent = `· ${b.study.id.slice(0, 8)}` + (b.claim ? "" : ` · ${t("rd_status_" + b.study.status)}`);
    showIdentity(b);
  }

  /** The patient's identity above the tracing, always in view while reading (wrong-patient guard):
   *  name, sex, age with its unit, the clinic's patient id, the site and the acquisition time. */
  function showIdentity(b) {
    const p = b.patient || {}, st = b.study || {};
    const parts = [
      `<b>${esc(p.name || "—")}</b>`, esc(T["sex_" + p.sex] || p.sex || ""), esc(ageText(p.age_days)),
      p.id ? `${esc(T.rd_patient_id || "ID")} ${esc(p.id)}` : "",
      b.site && b.site.name ? esc(b.site.name) : "",
      `${esc(T.rd_acquired)} ${esc(dateText(st.acquired_at))}`,
    ].filter(Boolean);
    $("rd-idbar").innerHTML = parts.join(" · ");
    $("rd-idbar").dataset.studyId = st.id || "";
  }

  function closeStudy() {
    S.opening++;  // late responses for the closed study are dropped
    S.bundle = null; S.claim = null; S.waves = {}; S.beats = null; S.layout = null;
    $("rd-study").hidden = true;
    $("rd-empty").hidden = false;
    document.body.classList.remove("rd-open");
    $("rd-prior-trace").hidden = true;
  }

  async function loadWave() {
    const b = S.bundle, key = waveKey();
    if (!b) return;
    if (!S.waves[key]) {
      const seq = S.opening;
      const w = await api(`${b.links.waveform}?${waveQuery()}`);
      if (seq !== S.opening) return;
      S.waves[key] = w;
    }
    drawMain();
  }

  // ------------------------------------------------------------------ drawing
  function scale() { return ECG.makeScale(S.pxPerInch, Number($("rd-speed").value), Number($("rd-gain").value)); }

  /** The waveform query: the 10 s window and the reader's filter choice (high-pass, low-pass Hz, notch);
   *  500 samples/s when the low-pass is above 100 Hz or off, so that the band shown is the band chosen. */
  function waveQuery() {
    const lp = Number($("rd-lp").value);
    const fs = lp === 0 || lp >= 100 ? 500 : 250;
    return `fs=${fs}&start_s=${S.start}&duration_s=10&hp=${$("rd-hp").value}&lp=${$("rd-lp").value}&notch=${$("rd-notch").checked}`;
  }

  /** Cache key of the shown waveform: the filter choice and the window's start (s). */
  function waveKey() { return waveQuery(); }

  /** Beats inside the shown 10 s window, with times (ms) from the window's start. */
  function windowBeats() {
    if (!S.beats) return null;
    const t0 = S.start * 1000;
    return S.beats.beats.filter((b) => b.t_ms >= t0 && b.t_ms < t0 + 10000).map((b) => ({...b, t_ms: b.t_ms - t0}));
  }

  function drawMain() {
    const w = S.bundle && S.waves[waveKey()];
    if (!w) return;
    const sc = scale();
    const canvas = $("rd-ecg");
    S.layout = ECG.drawTracing(canvas, w, sc, {enlarge: S.enlarge, beats: windowBeats()});
    canvas.dataset.study = S.bundle.study.id;
    canvas.dataset.drawSeq = String(++S.drawSeq);
    drawCal();
    showScale(sc);
    try {
      const m = performance.measure("rd-next-to-drawn", "rd-next");
      if (!canvas.dataset.timed || canvas.dataset.timed !== S.bundle.study.id) {
        window.__rdTimings.push({study: S.bundle.study.id, ms: m.duration});
        canvas.dataset.timed = S.bundle.study.id;
      }
    } catch (_) { /* no N pressed yet */ }
    if (S.priorWave && !$("rd-prior-trace").hidden) drawPrior();
  }

  function showScale(sc) {
    $("rd-scale-text").textContent = t("rd_scale_text", {speed: sc.mmPerS, gain: sc.mmPerMv,
      px: sc.pxPerMm.toFixed(2), ppi: fmt1(sc.pxPerInch)});
    $("rd-scalebar").style.width = `${50 * sc.pxPerMm}px`;
    $("rd-scalebar").title = "50 mm";
    $("rd-calib").value = sc.pxPerInch;
  }

  function drawCal() {
    if (!S.layout) return;
    const sc = scale();
    ECG.drawCalipers($("rd-over"), S.layout, sc, S.cal);
    ECG.drawVoltCaliper($("rd-over"), S.layout, S.vcal);
    const out = $("rd-caliper-out");
    if (S.vcal.on) {
      out.innerHTML = S.vcal.y2 != null ? `${esc(T.rd_voltage)} <span id="rd-vcal-mv">${voltMv().toFixed(2)}</span> mV` +
        ` <span class="small muted">(${esc(S.vcal.lead)}, ${sc.mmPerMv * S.vcal.gain} mm/mV)</span>`
        : S.vcal.y1 != null ? T.rd_vcal_second : T.rd_vcal_first;
    } else if (S.cal.a != null && S.cal.b != null) {
      const ms = Math.abs(S.cal.b - S.cal.a) * 1000;
      out.innerHTML = `${esc(T.rd_interval)} <span id="rd-cal-ms">${Math.round(ms)}</span> ms · ` +
        `<span id="rd-cal-bpm">${fmt1(60000 / ms)}</span> ${esc(T.bpm)}${S.cal.march ? " · " + esc(T.rd_marching) : ""}`;
    } else if (S.cal.a != null) {
      out.textContent = T.rd_cal_second;
    } else {
      out.textContent = S.cal.on ? T.rd_cal_first : "";
    }
  }

  function onBeats() {
    drawMain();
    clearMedian();
    const counts = {};
    for (const x of S.beats.beats) counts[x.label] = (counts[x.label] || 0) + 1;
    $("rd-beat-summary").textContent = t("rd_beat_summary", {n: S.beats.beats.length,
      labels: Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(" · ")});
    const m = S.beats.median;
    if (!m) { $("rd-median-note").textContent = S.beats.median_missing || ""; return; }
    $("rd-median-note").textContent = t("rd_median_note", {n: m.n_beats});
    S.machineMarks = {...m.fiducials_ms};
    S.marks = {...m.fiducials_ms};
    const iv = (S.bundle.analysis && S.bundle.analysis.intervals_ms) || {};
    S.rrMs = iv.rr || S.beats.rr_mean_ms;
    buildHandles();
    drawMedian();
    renderAmplitudes(S.beats.lead_table || []);
  }

  /** The per-lead R, S and ST table (mV, from the median beat). */
  function renderAmplitudes(rows) {
    const mv = (v) => (v == null ? "—" : (Math.round(v * 100) / 100).toFixed(2));
    $("rd-amp-rows").innerHTML = rows.length ? rows.map((r) => `<tr data-lead="${esc(r.lead)}"><th scope="row">${esc(r.lead)}</th>
      <td class="rd-pattern">${esc(r.pattern || "")}</td><td>${mv(r.r_mv)}</td><td>${mv(r.s_mv)}</td><td>${mv(r.st_j_mv)}</td><td>${mv(r.st_j60_mv)}</td></tr>`).join("")
      : `<tr><td colspan="6" class="muted">${esc(T.rd_none)}</td></tr>`;
  }

  /** Nothing of the previous study's median beats stays on screen while the new ones load. */
  function clearMedian() {
    S.medLayout = null;
    renderAmplitudes([]);
    $("rd-handles").innerHTML = "";
    $("rd-median-canvas").width = 0;
    $("rd-median-canvas").style.width = "0px";
    for (const id of ["rd-median-note", "rd-marks-out", "rd-beat-summary"]) $(id).textContent = "";
  }

  function drawMedian() {
    if (!S.bundle || !S.beats || !S.beats.median) return;
    S.medLayout = ECG.drawMedian($("rd-median-canvas"), S.beats.median, scale(), S.marks);
    placeHandles();
    marksReadout();
  }

  // ------------------------------------------------------------------ fiducial marks
  function buildHandles() {
    const box = $("rd-handles");
    box.innerHTML = "";
    for (const k of MARKS) {
      if (S.marks[k] == null) continue;
      const h = document.createElement("div");
      h.className = "rd-handle";
      h.dataset.mark = k;
      h.tabIndex = 0;
      h.setAttribute("role", "slider");
      h.setAttribute("aria-label", T["rd_mark_" + k]);
      h.setAttribute("aria-valuemin", "0");
      h.setAttribute("aria-valuemax", String(Math.round(S.beats.median.duration_ms)));
      h.textContent = T["rd_mark_short_" + k];
      h.style.top = `${MARK_LANE[k] * 18}px`;
      h.addEventListener("keydown", onHandleKey);
      h.addEventListener("pointerdown", onHandleDown);
      box.appendChild(h);
    }
  }

  function placeHandles() {
    const lay = S.medLayout;
    $("rd-handles").style.width = `${lay.width}px`;
    for (const h of document.querySelectorAll(".rd-handle")) {
      const k = h.dataset.mark, ms = S.marks[k];
      h.style.left = `${lay.x0 + ms * lay.pxPerMs}px`;
      h.setAttribute("aria-valuenow", String(Math.round(ms)));
      h.setAttribute("aria-valuetext", `${T["rd_mark_" + k]} ${Math.round(ms)} ms`);
      h.classList.toggle("moved", Math.abs(ms - S.machineMarks[k]) > 0.05);
    }
  }

  /** Keep the marks in order: P on <= P off <= QRS on < QRS off < T end (ms). */
  function clampMark(k, ms) {
    const i = MARKS.indexOf(k);
    let lo = 0, hi = S.beats.median.duration_ms;
    for (let j = i - 1; j >= 0; j--) if (S.marks[MARKS[j]] != null) { lo = S.marks[MARKS[j]]; break; }
    for (let j = i + 1; j < MARKS.length; j++) if (S.marks[MARKS[j]] != null) { hi = S.marks[MARKS[j]]; break; }
    return Math.min(hi, Math.max(lo, Math.round(ms * 10) / 10));
  }

  function setMark(k, ms) {
    const v = clampMark(k, ms);
    if (v === S.marks[k]) return;
    S.marks[k] = v;
    drawMedian();
    applyMarksToMeasurements(k);
  }

  function onHandleKey(e) {
    const k = e.currentTarget.dataset.mark;
    const step = e.shiftKey ? 10 : 2;
    const d = {ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step, PageDown: -20, PageUp: 20}[e.key];
    if (d === undefined) return;
    e.preventDefault();
    setMark(k, S.marks[k] + d);
  }

  function dragTo(k, clientX) {
    const rect = $("rd-median-wrap").getBoundingClientRect();
    const lay = S.medLayout;
    const x = clientX - rect.left;
    const cell = lay.cells.find((c) => x >= c.x0 - 8 && x <= c.x1 + 8) || lay.cells[0];
    setMark(k, (x - cell.x0) / lay.pxPerMs);
  }

  function startDrag(k, e) {
    e.preventDefault();
    const move = (ev) => dragTo(k, ev.clientX);
    const up = () => { window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up); };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  function onHandleDown(e) { e.currentTarget.focus(); startDrag(e.currentTarget.dataset.mark, e); }

  /** Pointer on the median canvas: grab the nearest mark line (within 6 px) in whichever lead. */
  function onMedianDown(e) {
    if (!S.medLayout) return;
    const rect = $("rd-median-canvas").getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const cell = S.medLayout.cells.find((c) => x >= c.x0 - 6 && x <= c.x1 + 6 && y >= c.y && y <= c.y + c.h);
    if (!cell) return;
    let best = null, bestD = 6;
    for (const k of MARKS) {
      if (S.marks[k] == null) continue;
      const d = Math.abs(cell.x0 + S.marks[k] * S.medLayout.pxPerMs - x);
      if (d <= bestD) { best = k; bestD = d; }
    }
    if (best) startDrag(best, e);
  }

  /** Interval values (ms) from the current marks and the RR (ms): PR, P, QRS, QT, QTc Bazett/Fridericia. */
  function fromMarks(m, rr) {
    const out = {};
    if (m.p_on != null && m.qrs_on != null) out.pr_ms = m.qrs_on - m.p_on;
    if (m.p_on != null && m.p_off != null) out.p_ms = m.p_off - m.p_on;
    if (m.qrs_on != null && m.qrs_off != null) out.qrs_ms = m.qrs_off - m.qrs_on;
    if (m.qrs_on != null && m.t_end != null) {
      out.qt_ms = m.t_end - m.qrs_on;
      if (rr) {
        out.qtc_bazett_ms = out.qt_ms / Math.sqrt(rr / 1000);       // Bazett 1920
        out.qtc_fridericia_ms = out.qt_ms / Math.cbrt(rr / 1000);   // Fridericia 1920
      }
    }
    for (const k of Object.keys(out)) out[k] = Math.round(out[k] * 10) / 10;
    return out;
  }

  function applyMarksToMeasurements(moved) {
    const v = fromMarks(S.marks, S.rrMs);
    for (const key of DEPENDS[moved]) {
      const input = $("m-" + key);
      if (v[key] == null || !input) continue;
      input.value = v[key];
      input.classList.add("edited");
    }
    marksReadout();
  }

  function marksReadout() {
    const v = fromMarks(S.marks, S.rrMs);
    $("rd-marks-out").textContent = t("rd_marks_readout", {pr: fmt1(v.pr_ms), qrs: fmt1(v.qrs_ms), qt: fmt1(v.qt_ms),
      qtcb: fmt1(v.qtc_bazett_ms), qtcf: fmt1(v.qtc_fridericia_ms), rr: fmt1(S.rrMs)});
  }

  // ------------------------------------------------------------------ calipers and lead enlargement
  /** The voltage caliper: two clicks in one lead's row; the vertical distance in mV at the row's gain. */
  function toggleVolt(force) {
    S.vcal = {on: force ?? !S.vcal.on, y1: null, y2: null, x: null, lead: "", gain: 1};
    $("rd-vcal").setAttribute("aria-pressed", String(S.vcal.on));
    if (S.vcal.on && S.cal.on) toggleCalipers(false);
    $("rd-over").className = S.vcal.on || S.cal.on ? "calipers" : "pick";
    drawCal();
  }
  /** mV between the two legs: pixels / (px per mm x mm per mV of the row, e.g. 10 mm/mV). */
  function voltMv() {
    return Math.abs(S.vcal.y2 - S.vcal.y1) / (scale().pxPerMv * S.vcal.gain);
  }
  function placeVolt(e) {
    const rect = $("rd-over").getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const row = S.layout.rows.find((r) => y >= r.y && y < r.y + r.h && x >= r.x0 && x < r.x1);
    if (S.vcal.y1 == null || S.vcal.y2 != null || !row || row.lead !== S.vcal.lead) {
      if (!row) return;
      S.vcal = {...S.vcal, y1: y, y2: null, x, lead: row.lead, gain: row.gain || 1};
    } else {
      S.vcal.y2 = y;
    }
    drawCal();
  }

  function toggleCalipers(force) {
    S.cal.on = force ?? !S.cal.on;
    if (S.cal.on && S.vcal.on) toggleVolt(false);
    $("rd-calipers").setAttribute("aria-pressed", String(S.cal.on));
    $("rd-over").className = S.cal.on ? "calipers" : "pick";
    if (!S.cal.on) S.cal.cursor = null;
    drawCal();
  }
  function toggleMarch() {
    S.cal.march = !S.cal.march;
    $("rd-march").setAttribute("aria-pressed", String(S.cal.march));
    drawCal();
  }
  /** Show the 10 s window starting at start_s (s), for recordings longer than 10 s. */
  function setWindow(startS) {
    const max = Math.max(0, Math.floor(S.bundle.recording.duration_s - 1));
    S.start = Math.max(0, Math.min(max, Math.round(startS)));
    $("rd-start").value = String(S.start);
    clearCalipers();
    loadWave().catch(showError);
  }

  function clearCalipers() { S.cal.a = S.cal.b = null; S.cal.march = false; $("rd-march").setAttribute("aria-pressed", "false"); drawCal(); }

  /** Place a caliper leg at time ts (s): the first leg, then the second; a third click starts over. */
  function placeLeg(ts) {
    if (S.cal.a == null || S.cal.b != null) { S.cal.a = ts; S.cal.b = null; } else { S.cal.b = ts; }
    drawCal();
  }

  function timeAt(clientX) {
    const rect = $("rd-over").getBoundingClientRect();
    const sc = scale();
    return Math.max(0, Math.min(S.layout.duration_s, (clientX - rect.left - sc.leftPx) / sc.pxPerS));
  }

  function onTracingClick(e) {
    if (!S.layout) return;
    if (S.vcal.on) { placeVolt(e); return; }
    if (S.cal.on) { placeLeg(timeAt(e.clientX)); return; }
    const rect = $("rd-over").getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const row = S.layout.rows.find((r) => y >= r.y && y < r.y + r.h && x >= r.x0 && x < r.x1);
    if (!row) return;
    setEnlarge(S.enlarge || row.strip ? "" : row.lead);
  }

  function setEnlarge(lead) {
    S.enlarge = lead;
    $("rd-enlarge").value = lead;
    drawMain();
    status(lead ? t("rd_enlarged", {lead}) : T.rd_all_leads);
  }

  function onTracingKey(e) {
    if (!S.layout || !S.cal.on) return;
    const step = (e.shiftKey ? 40 : 4) / 1000;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      const c = S.cal.cursor ?? (S.cal.b ?? S.cal.a ?? 0);
      S.cal.cursor = Math.max(0, Math.min(S.layout.duration_s, c + (e.key === "ArrowLeft" ? -step : step)));
      drawCal();
      status(`${Math.round(S.cal.cursor * 1000)} ms`);
    } else if ((e.key === "Enter" || e.key === " ") && S.cal.cursor != null) {
      e.preventDefault();
      placeLeg(S.cal.cursor);
    }
  }

  function fillLeadSelect(leads) {
    const sel = $("rd-enlarge");
    sel.innerHTML = `<option value="">${esc(T.rd_all_leads)}</option>` + leads.map((l) => `<option>${esc(l)}</option>`).join("");
  }

  // ------------------------------------------------------------------ side panel
  function renderSide(b) {
    const p = b.patient, st = b.study;
    const overdue = st.due_at && new Date(st.due_at) < new Date();
    $("rd-patient").innerHTML = `
      <dt>${esc(T.rd_name)}</dt><dd>${esc(p.name)}</dd>
      <dt>${esc(T.rd_sex)}</dt><dd>${esc(T["sex_" + p.sex] || p.sex)}</dd>
      <dt>${esc(T.rd_age)}</dt><dd>${esc(ageText(p.age_days))}</dd>
      <dt>${esc(T.rd_indication)}</dt><dd>${esc(st.indication || "—")}</dd>
      <dt>${esc(T.rd_clinic_urgency)}</dt><dd>${esc(t("rd_prio_" + st.clinic_urgency))}</dd>
      <dt>${esc(T.rd_priority)}</dt><dd><span class="badge ${st.priority}">${esc(t("rd_prio_" + st.priority))}</span></dd>
      <dt>${esc(T.rd_due)}</dt><dd>${esc(dateText(st.due_at))}${overdue ? ` <span class="badge overdue">${esc(T.rd_overdue)}</span>` : ""}</dd>
      <dt>${esc(T.rd_acquired)}</dt><dd>${esc(dateText(st.acquired_at))}</dd>`;
    const a = b.analysis || {};
    const q = a.quality || {verdict: "unreadable", reasons: [], leads: []};
    const badLeads = (q.leads || []).filter((l) => l.verdict !== "good");
    $("rd-quality").innerHTML = `<p><span class="verdict ${esc(q.verdict)}">${esc(t("rd_verdict_" + q.verdict))}</span></p>
      ${q.reasons && q.reasons.length ? `<ul class="small">${q.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>` : ""}
      ${badLeads.length ? `<ul class="small">${badLeads.map((l) => `<li><b>${esc(l.lead)}</b> ${esc(t("rd_verdict_" + l.verdict))}: ${esc(l.reasons.join("; "))}</li>`).join("")}</ul>` : ""}`;
    const iv = a.intervals_ms || {}, ax = a.axes_deg || {}, miss = a.missing || {};
    const row = (label, v, unit, key) => `<tr><th scope="row">${esc(label)}</th><td>${v == null ? `— <span class="small muted">${esc(miss[key] || "")}</span>` : `${esc(typeof v === "string" ? v : fmt1(v))} ${esc(unit)}`}</td></tr>`;
    $("rd-machine").innerHTML = `<caption class="sr-only">${esc(T.rd_machine)}</caption>` +
      row(T.rd_hr, a.heart_rate_bpm, T.bpm, "heart_rate_bpm") + row("RR", iv.rr, "ms", "rr_ms") + row("P", iv.p, "ms", "p_ms") +
      row("PR", iv.pr, "ms", "pr_ms") + row("QRS", iv.qrs, "ms", "qrs_ms") + row("QT", iv.qt, "ms", "qt_ms") +
      row("QTc Bazett", iv.qtc_bazett, "ms", "qtc_bazett_ms") + row("QTc Fridericia", iv.qtc_fridericia, "ms", "qtc_fridericia_ms") +
      row(T.rd_axes, ax.qrs == null ? null : `${fmt1(ax.p)} / ${fmt1(ax.qrs)} / ${fmt1(ax.t)}`, "°", "qrs_axis_deg");
    $("rd-findings").innerHTML = (a.findings || []).map((f) => {
      // The finding's own text in the reader's language (it may carry a qualifier, "长间歇 3.2 s");
      // analyses stored before findings had Chinese fall back to the lexicon's text.
      const lx = S.lexByCode[f.code];
      const text = LANG === "en" ? f.text : (f.text_zh || (lx ? lx.zh : f.text));
      const ev = LANG === "en" ? f.evidence : (f.evidence_zh || f.evidence);
      return `<li><span class="sev ${esc(f.severity)}">${esc(t("rd_sev_" + f.severity))}</span><b>${esc(f.code)}</b> ${esc(text)}
        ${ev ? `<br><span class="small muted">${esc(ev)}</span>` : ""}</li>`;
    }).join("") || `<li class="muted">${esc(T.rd_none)}</li>`;
  }

  // ------------------------------------------------------------------ prior study (serial comparison)
  async function loadPrior(b) {
    const box = $("rd-prior");
    $("rd-prior-trace").hidden = true;
    if (!b.priors.length) { box.innerHTML = `<p class="muted">${esc(T.rd_no_prior)}</p>`; return; }
    box.innerHTML = `<ul class="rd-prior-list">${b.priors.map((p, i) => `<li>${esc(dateText(p.acquired_at))} · ${esc(t("rd_status_" + p.status))}
      <button type="button" class="rd-btn" data-prior="${i}">${esc(T.rd_compare)}</button></li>`).join("")}</ul><div id="rd-prior-detail"></div>`;
    await showPrior(0, false);
  }

  async function showPrior(i, draw = true) {
    const b = S.bundle, p = b && b.priors[i];
    if (!p) return;
    const seq = S.opening;
    try {
      const pb = await api(p.link);
      if (seq !== S.opening) return;
      S.priorBundle = pb;
      const r = pb.reports[0];
      const m = r ? r.measurements : {};
      $("rd-prior-detail").innerHTML = r ? `
        <p class="small">${esc(T.rd_signed)} ${esc(dateText(r.signed_at))} · v${r.version}</p>
        <ul class="rd-prior-list">${r.statements.map((s) => `<li><b>${esc(s.code)}</b> ${esc(stmtText(s))}</li>`).join("")}</ul>
        ${r.free_text ? `<p class="small">${esc(r.free_text)}</p>` : ""}
        <p class="small">${esc(T.rd_hr)} ${esc(fmt1(m.heart_rate_bpm))} · PR ${esc(fmt1(m.pr_ms))} · QRS ${esc(fmt1(m.qrs_ms))} · QT ${esc(fmt1(m.qt_ms))} · QTcB ${esc(fmt1(m.qtc_bazett_ms))} ms</p>`
        : `<p class="muted small">${esc(T.rd_prior_unsigned)}</p>`;
      if (draw) {
        S.priorWave = await api(`${p.link}/waveform?fs=250&duration_s=10&filtered=true`);
        if (seq !== S.opening) return;
        $("rd-prior-trace").hidden = false;
        $("rd-prior-trace-date").textContent = `· ${dateText(p.acquired_at)}`;
        drawPrior();
        $("rd-prior-trace").scrollIntoView({block: "nearest"});
      }
    } catch (e) {  // e.g. an earlier study outside this reader's pools: say so here, not as a page alert
      $("rd-prior-detail").innerHTML = `<p class="error small">${esc(t("rd_prior_failed"))} — ${esc(e.message)}</p>`;
    }
  }

  function drawPrior() { ECG.drawTracing($("rd-prior-canvas"), S.priorWave, scale(), {}); }

  // ------------------------------------------------------------------ report: statements, measurements
  function loadLexicon() { S.lexReady = fetchLexicon(); return S.lexReady; }
  async function fetchLexicon() {
    try {
      S.lex = await api("/api/v1/reader/lexicon");
      S.lexByCode = Object.fromEntries(S.lex.map((s) => [s.code, s]));
    } catch (e) { showError(e); }
  }

  function machineMeasurements(b) {
    const a = b.analysis || {}, iv = a.intervals_ms || {};
    const ax = a.axes_deg || {};
    return {heart_rate_bpm: a.heart_rate_bpm, p_ms: iv.p, pr_ms: iv.pr, qrs_ms: iv.qrs, qt_ms: iv.qt,
            qtc_bazett_ms: iv.qtc_bazett, qtc_fridericia_ms: iv.qtc_fridericia,
            p_axis_deg: ax.p, qrs_axis_deg: ax.qrs, t_axis_deg: ax.t};
  }

  /** The report form: empty with the machine's measurements to sign a claimed study, or, for a signed
   *  study opened without a claim, prefilled with the current signed version to amend it. */
  function resetReport(b) {
    const latest = b.reports[0];
    S.mode = b.claim ? "sign" : latest && ["reported", "amended"].includes(b.study.status) ? "amend" : "view";
    const amending = S.mode === "amend";
    S.chosen = amending ? latest.statements.map((x) => x.code).filter((c) => S.lexByCode[c]) : [];
    renderChosen();
    $("rd-free").value = amending ? latest.free_text || "" : "";
    $("rd-family").value = amending ? latest.patient_explanation || "" : "";
    $("rd-stmt-input").value = "";
    $("rd-amend-reason").value = "";
    closeList();
    const machine = machineMeasurements(b);
    const values = amending ? {...machine, ...latest.measurements} : machine;
    for (const k of MEAS_KEYS) {
      const input = $("m-" + k);
      input.value = values[k] == null ? "" : values[k];
      input.classList.toggle("edited", amending && latest.edited_measurements.includes(k));
    }
    renderVersions(b);
    const note = $("rd-amend-note");
    note.hidden = !amending;
    note.textContent = amending ? t("rd_amend_note", {v: latest.version, n: latest.version + 1}) : "";
    $("rd-amend-box").hidden = !amending;
    $("rd-amend").hidden = !amending;
    for (const id of ["rd-sign", "rd-return", "rd-release"]) {
      $(id).hidden = amending;
      $(id).disabled = !b.claim;
    }
  }

  /** Every signed version, latest first, read-only (an amendment never changes an earlier version). */
  function renderVersions(b) {
    const box = $("rd-versions");
    box.hidden = !b.reports.length;
    $("rd-version-list").innerHTML = b.reports.map((r, i) => {
      const m = r.measurements || {};
      return `<li class="rd-version${i === 0 ? " current" : ""}" data-version="${esc(r.version)}">
        <p class="small"><b>v${esc(r.version)}</b>${i === 0 ? ` <span class="rd-cur">${esc(T.rd_current_version)}</span>` : ""}
          · ${esc(T.rd_signed)} ${esc(dateText(r.signed_at))}</p>
        <ul class="rd-prior-list">${r.statements.map((x) => `<li><b>${esc(x.code)}</b> ${esc(stmtText(x))}</li>`).join("")}</ul>
        ${r.free_text ? `<p class="small">${esc(r.free_text)}</p>` : ""}
        <p class="small">${esc(T.rd_hr)} ${esc(fmt1(m.heart_rate_bpm))} · PR ${esc(fmt1(m.pr_ms))} · QRS ${esc(fmt1(m.qrs_ms))} · QT ${esc(fmt1(m.qt_ms))} · QTcB ${esc(fmt1(m.qtc_bazett_ms))} ms</p>
        ${r.amendment_reason ? `<p class="small rd-reason">${esc(T.rd_amend_reason_shown)}: ${esc(r.amendment_reason)}</p>` : ""}
      </li>`;
    }).join("");
  }

  function matches(q) {
    const s = q.trim().toLowerCase();
    if (!s) return [];
    const pick = S.chosen;
    return S.lex.filter((x) => !pick.includes(x.code) && (x.code.toLowerCase().startsWith(s) || x.zh.includes(q.trim())
      || x.en.toLowerCase().includes(s))).slice(0, 12);
  }

  function openList(items) {
    const ul = $("rd-stmt-list"), input = $("rd-stmt-input");
    if (!items.length) { closeList(); return; }
    ul.innerHTML = items.map((x, i) => `<li role="option" id="rd-opt-${i}" data-code="${esc(x.code)}" aria-selected="${i === 0}">
      <span class="code">${esc(x.code)}</span>${esc(stmtText(x))}${x.severity === "critical" ? ` <span class="sev critical">${esc(T.rd_sev_critical)}</span>` : ""}</li>`).join("");
    ul.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-activedescendant", "rd-opt-0");
  }
  function closeList() {
    $("rd-stmt-list").hidden = true;
    $("rd-stmt-input").setAttribute("aria-expanded", "false");
    $("rd-stmt-input").removeAttribute("aria-activedescendant");
  }
  function moveOption(d) {
    const opts = [...document.querySelectorAll("#rd-stmt-list li")];
    if (!opts.length) return;
    let i = opts.findIndex((o) => o.getAttribute("aria-selected") === "true");
    i = (i + d + opts.length) % opts.length;
    opts.forEach((o, j) => o.setAttribute("aria-selected", String(j === i)));
    $("rd-stmt-input").setAttribute("aria-activedescendant", opts[i].id);
    opts[i].scrollIntoView({block: "nearest"});
  }

  function addStatement(code) {
    if (!code || S.chosen.includes(code) || !S.lexByCode[code]) return;
    S.chosen.push(code);
    renderChosen();
    status(t("rd_added", {text: stmtText(S.lexByCode[code])}));
  }
  function removeStatement(code) {
    S.chosen = S.chosen.filter((c) => c !== code);
    renderChosen();
    $("rd-stmt-input").focus();
  }
  function renderChosen() {
    $("rd-chosen").innerHTML = S.chosen.map((c) => {
      const x = S.lexByCode[c];
      return `<li class="${x.severity}" data-code="${esc(c)}"><b>${esc(c)}</b> ${esc(stmtText(x))}
        <button type="button" data-remove="${esc(c)}" aria-label="${esc(t("rd_remove", {text: stmtText(x)}))}">×</button></li>`;
    }).join("");
  }

  function onStmtKey(e) {
    const open = !$("rd-stmt-list").hidden;
    if (e.key === "ArrowDown") { e.preventDefault(); if (!open) openList(matches(e.target.value)); else moveOption(1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); moveOption(-1); }
    else if (e.key === "Enter") {
      e.preventDefault();
      const sel = document.querySelector('#rd-stmt-list li[aria-selected="true"]');
      const code = sel ? sel.dataset.code : (S.lexByCode[e.target.value.trim().toUpperCase()] || {}).code;
      if (code) { addStatement(code); e.target.value = ""; closeList(); }
    } else if (e.key === "Escape" && open) { e.preventDefault(); closeList(); }
  }

  function measurementsPayload() {
    const out = {};
    for (const k of MEAS_KEYS) {
      const v = $("m-" + k).value.trim();
      if (v !== "" && isFinite(Number(v))) out[k] = Number(v);
    }
    return out;
  }

  // ------------------------------------------------------------------ sign, return, release
  function askSign() {
    const amending = S.bundle && S.mode === "amend";
    if (!S.bundle || (!S.claim && !amending)) { say(T.rd_no_claim, "err"); return; }
    if (!S.chosen.length) { say(T.rd_need_statement, "err"); $("rd-stmt-input").focus(); return; }
    if (amending && $("rd-amend-reason").value.trim().length < 3) {
      say(T.rd_amend_reason_short, "err");
      $("rd-amend-reason").focus();
      return;
    }
    $("dlg-sign-h").textContent = amending ? T.rd_confirm_amend : T.rd_confirm_sign;
    $("rd-dlg-sign-ok").textContent = amending ? T.rd_amend_sign : T.rd_sign_now;
    const crit = S.chosen.filter((c) => S.lexByCode[c].severity === "critical");
    $("rd-dlg-sign-list").innerHTML = S.chosen.map((c) => `<li><b>${esc(c)}</b> ${esc(stmtText(S.lexByCode[c]))}</li>`).join("");
    $("rd-dlg-crit").hidden = !crit.length;
    $("rd-dlg-sign").showModal();
    $("rd-dlg-sign-ok").focus();
  }

  /** Measurements for an amendment: those that differ from the machine's (the API overlays them on it). */
  function amendMeasurements() {
    const machine = machineMeasurements(S.bundle), out = {};
    for (const [k, v] of Object.entries(measurementsPayload())) if (machine[k] !== v) out[k] = v;
    return out;
  }

  async function amend() {
    $("rd-dlg-sign").close();
    const id = S.bundle.study.id, seq = S.opening;
    try {
      const r = await api(`/api/v1/reader/studies/${id}/amend`, {method: "POST", json: {
        statements: S.chosen, free_text: $("rd-free").value, patient_explanation: $("rd-family").value,
        measurements: amendMeasurements(),
        reason: $("rd-amend-reason").value.trim()}});
      const b = await api(`/api/v1/reader/studies/${id}`);
      if (seq === S.opening) {
        S.bundle.study = b.study; S.bundle.reports = b.reports;
        showStudyLabel(S.bundle);
        resetReport(S.bundle);  // the new version is now the current one; the earlier ones stay listed
      }
      say(t("rd_amended_ok", {v: r.version}), "ok");
      refreshRecent();
    } catch (e) { showError(e); }
  }

  async function sign() {
    if (S.mode === "amend") { amend(); return; }
    $("rd-dlg-sign").close();
    // Wrong-patient guard: the claim, the study on screen and the identity shown must be one study.
    const shown = $("rd-idbar").dataset.studyId;
    if (!S.claim || !S.bundle || S.claim.study_id !== S.bundle.study.id || shown !== S.bundle.study.id) {
      say(T.rd_identity_mismatch || "The study on screen is not the claimed study: reopen it before signing.", "err");
      return;
    }
    const crit = S.chosen.some((c) => S.lexByCode[c].severity === "critical");
    try {
      const r = await api(`/api/v1/reader/claims/${S.claim.id}/sign`, {method: "POST", json: {
        study_id: S.bundle.study.id, statements: S.chosen, free_text: $("rd-free").value,
        patient_explanation: $("rd-family").value, measurements: measurementsPayload()}});
      closeStudy();
      say(t(crit ? "rd_signed_critical" : "rd_signed_ok", {v: r.version}), "ok");
      $("rd-next").focus();
      refreshWorklist();
      refreshRecent();
    } catch (e) {
      showError(e);
      if (e.status === 404 || e.status === 409) claimLost();  // the API's "no such claim of yours" / "claim has ended"
    }
  }

  function askReturn() {
    if (!S.claim) { say(T.rd_no_claim, "err"); return; }
    $("rd-return-err").hidden = true;
    $("rd-dlg-return").showModal();
    $("rd-return-reason").focus();
  }

  async function doReturn() {
    const reason = $("rd-return-reason").value.trim();
    if (reason.length < 3) { $("rd-return-err").textContent = T.rd_reason_short; $("rd-return-err").hidden = false; return; }
    try {
      await api(`/api/v1/reader/claims/${S.claim.id}/return`, {method: "POST", json: {reason}});
      $("rd-dlg-return").close();
      $("rd-return-reason").value = "";
      closeStudy();
      say(T.rd_returned_ok, "ok");
      $("rd-next").focus();
      refreshWorklist();
    } catch (e) { $("rd-return-err").textContent = e.message; $("rd-return-err").hidden = false; }
  }

  async function release(claimId) {
    try {
      await api(`/api/v1/reader/claims/${claimId}/release`, {method: "POST"});
      if (S.claim && S.claim.id === claimId) closeStudy();
      say(T.rd_released_ok, "ok");
      refreshWorklist();
    } catch (e) { showError(e); }
  }

  // ------------------------------------------------------------------ live updates (server-sent events)
  /** Listen to /api/v1/reader/stream: any queue event refreshes the worklist; a stat arrival also
   *  beeps, shows a desktop notification (when permitted) and an in-page alert naming the study.
   *  The browser reconnects by itself when the server ends the stream (bounded lifetime). */
  function listen() {
    if (!window.EventSource) return;
    const es = new EventSource("/api/v1/reader/stream");
    es.addEventListener("study.queued", (e) => {
      let ev = null;
      try { ev = JSON.parse(e.data); } catch (_) { return; }
      const stat = ev.data && ev.data.priority === "stat" && ev.data.reason !== "requeued";
      refreshWorklist().then((items) => { if (stat) statArrived(ev.study_id, items || []); });
    });
    S.stream = es;
  }

  /** A stat study arrived: sound, desktop notification and the in-page alert with a claim button. */
  function statArrived(studyId, items) {
    const it = items.find((x) => x.study_id === studyId);
    const who = it ? [it.patient_name, ageText(it.age_days), it.site_name, it.indication].filter(Boolean).join(" · ") : "";
    const text = who ? t("rd_stat_arrived_who", {who}) : T.rd_stat_arrived;
    $("rd-stat-text").textContent = text;
    $("rd-stat-claim").dataset.claimStudy = studyId;
    $("rd-stat-claim").hidden = !it;
    $("rd-stat").hidden = false;
    $("rd-stat").dataset.study = studyId;
    beep();
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(T.rd_stat_arrived, {body: who, tag: "ecghub-stat-" + studyId}); } catch (_) { /* not allowed here */ }
    }
    showNotifyButton();
  }

  /** Two short 880 Hz tones through WebAudio (no sound file); silent until the page has had a click or key. */
  function beep() {
    try {
      S.audio = S.audio || new (window.AudioContext || window.webkitAudioContext)();
      const ctx = S.audio, t0 = ctx.currentTime;
      for (const at of [0, 0.25]) {
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, t0 + at);
        gain.gain.exponentialRampToValueAtTime(0.3, t0 + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.18);
        osc.connect(gain).connect(ctx.destination);
        osc.start(t0 + at);
        osc.stop(t0 + at + 0.2);
      }
      window.__rdBeeps = (window.__rdBeeps || 0) + 1;
    } catch (_) { /* no audio on this device */ }
  }

  /** The "desktop notifications" button, shown while the browser has not been asked yet. */
  function showNotifyButton() {
    $("rd-notify").hidden = !(window.Notification && Notification.permission === "default");
  }
  async function askNotify() {
    if (S.audio && S.audio.state === "suspended") S.audio.resume();
    try { await Notification.requestPermission(); } catch (_) { /* refused */ }
    showNotifyButton();
  }

  // ------------------------------------------------------------------ keyboard
  function typing(el) {
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  }
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || document.querySelector("dialog[open]") || typing(e.target)) return;
    const k = e.key.toLowerCase();
    if (k === "n") { e.preventDefault(); requestNext(); }
    else if (k === "s" && S.bundle) { e.preventDefault(); askSign(); }
    else if (k === "c" && S.bundle) { e.preventDefault(); toggleCalipers(); }
    else if (k === "m" && S.bundle) { e.preventDefault(); toggleMarch(); }
    else if (k === "v" && S.bundle) { e.preventDefault(); toggleVolt(); }
    else if (k === "r" && S.bundle) { e.preventDefault(); $("rd-stmt-input").focus(); }
    else if (e.key === "Escape" && S.bundle) { if (S.enlarge) setEnlarge(""); else clearCalipers(); }
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    document.addEventListener("keydown", onKey);
    $("rd-next").addEventListener("click", requestNext);
    $("rd-dlg-leave-ok").addEventListener("click", leaveAndNext);
    $("rd-dlg-leave-cancel").addEventListener("click", () => $("rd-dlg-leave").close());
    $("rd-dlg-leave").addEventListener("keydown", (e) => {
      if (e.key.toLowerCase() === "n" && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); e.stopPropagation(); leaveAndNext(); }
    });
    $("rd-recent").addEventListener("toggle", refreshRecent);
    $("rd-speed").addEventListener("change", () => { drawMain(); drawMedian(); });
    $("rd-gain").addEventListener("change", () => { drawMain(); drawMedian(); });
    for (const id of ["rd-hp", "rd-lp", "rd-notch"]) $(id).addEventListener("change", () => loadWave().catch(showError));
    $("rd-vcal").addEventListener("click", () => toggleVolt());
    $("rd-enlarge").addEventListener("change", (e) => setEnlarge(e.target.value));
    $("rd-calipers").addEventListener("click", () => toggleCalipers());
    $("rd-start").addEventListener("change", (e) => setWindow(Number(e.target.value) || 0));
    $("rd-prev-win").addEventListener("click", () => setWindow(S.start - 10));
    $("rd-next-win").addEventListener("click", () => setWindow(S.start + 10));
    $("rd-msg-close").addEventListener("click", clearMsg);
    $("rd-stat-close").addEventListener("click", () => { $("rd-stat").hidden = true; });
    $("rd-stat-claim").addEventListener("click", () => { $("rd-stat").hidden = true; });
    $("rd-notify").addEventListener("click", askNotify);
    // Browsers start audio only after a gesture: the first click or key unlocks the stat beep.
    const unlock = () => {
      try { S.audio = S.audio || new (window.AudioContext || window.webkitAudioContext)(); S.audio.resume(); } catch (_) { /* none */ }
    };
    document.addEventListener("pointerdown", unlock, {once: true});
    document.addEventListener("keydown", unlock, {once: true});
    $("rd-march").addEventListener("click", toggleMarch);
    $("rd-clear").addEventListener("click", clearCalipers);
    $("rd-calib").addEventListener("change", (e) => {
      const v = Number(e.target.value);
      if (!(v >= 20 && v <= 400)) { say(T.rd_calib_bad, "err"); return; }
      S.pxPerInch = v; localStorage.setItem("rd.pxPerInch", String(v)); drawMain(); drawMedian();
    });
    $("rd-over").addEventListener("click", onTracingClick);
    $("rd-over").className = "pick";
    $("rd-ecg-scroll").addEventListener("keydown", onTracingKey);
    $("rd-median-canvas").addEventListener("pointerdown", onMedianDown);
    $("rd-stmt-input").addEventListener("input", (e) => openList(matches(e.target.value)));
    $("rd-stmt-input").addEventListener("keydown", onStmtKey);
    $("rd-stmt-input").addEventListener("blur", () => setTimeout(closeList, 150));
    $("rd-stmt-list").addEventListener("mousedown", (e) => {
      const li = e.target.closest("li[data-code]");
      if (li) { e.preventDefault(); addStatement(li.dataset.code); $("rd-stmt-input").value = ""; closeList(); }
    });
    $("rd-chosen").addEventListener("click", (e) => { const b = e.target.closest("[data-remove]"); if (b) removeStatement(b.dataset.remove); });
    $("rd-adopt").addEventListener("click", () => {
      for (const f of (S.bundle && S.bundle.analysis && S.bundle.analysis.findings) || []) addStatement(f.code);
    });
    for (const k of MEAS_KEYS) $("m-" + k).addEventListener("input", (e) => e.target.classList.add("edited"));
    $("rd-report").addEventListener("submit", (e) => { e.preventDefault(); askSign(); });
    $("rd-dlg-sign-ok").addEventListener("click", sign);
    $("rd-dlg-sign-cancel").addEventListener("click", () => $("rd-dlg-sign").close());
    $("rd-return").addEventListener("click", askReturn);
    $("rd-dlg-ret-ok").addEventListener("click", doReturn);
    $("rd-dlg-ret-cancel").addEventListener("click", () => $("rd-dlg-return").close());
    $("rd-release").addEventListener("click", () => S.claim && release(S.claim.id));
    document.addEventListener("click", (e) => {
      const c = e.target.closest("[data-claim-study]"); if (c) claimStudy(c.dataset.claimStudy);
      const o = e.target.closest("[data-open-study]"); if (o) reopen(o.dataset.openStudy);
      const a = e.target.closest("[data-amend-study]");
      if (a) reopen(a.dataset.amendStudy).then(() => { if (S.mode === "amend") $("rd-versions").scrollIntoView({block: "nearest"}); });
      const p = e.target.closest("[data-prior]"); if (p) showPrior(Number(p.dataset.prior));
    });
    showScale(scale());
  }

  wire();
  loadLexicon();
  refreshWorklist();
  listen();
  showNotifyButton();
  setInterval(tick, 1000);
  setInterval(refreshWorklist, 30000);  // a safety net: the live stream refreshes it as studies arrive
  window.__rd = {state: S, fromMarks};
})();
