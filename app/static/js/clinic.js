// The clinic console (/clinic/): upload with a real progress bar, the quality verdict, the site's studies,
// the critical-notice banner, reports and share-link slips. Everything goes through the API (api.js and,
// for the upload's progress events, XMLHttpRequest) with the session cookie: the API's tenancy, roles and
// audit apply. Text from the API is always inserted as text, never as HTML (the QR code's SVG, made by the
// server, is the one exception).
"use strict";
(function () {
  const S = JSON.parse(document.getElementById("strings").textContent);
  const LANG = (window.ECGHUB && window.ECGHUB.lang) || "zh-CN";
  const $ = (id) => document.getElementById(id);
  const t = (key) => (key in S ? S[key] : key);

  const el = window.el;

  function fmtTime(iso) {
    if (!iso) return "—";
    return new Date(iso).toLocaleString(LANG, {year: "numeric", month: "2-digit", day: "2-digit",
                                               hour: "2-digit", minute: "2-digit", hour12: false});
  }

  function fmtMinutes(ms) {
    const min = Math.max(0, ms) / 60000;
    if (min < 90) return `${Math.round(min)} ${t("clinic_minutes")}`;
    return `${(min / 60).toFixed(1)} ${t("clinic_hours")}`;
  }

  function showError(node, err) {
    if (!node) return;
    if (!err) { node.hidden = true; node.textContent = ""; return; }
    node.textContent = `${t("clinic_error")}: ${err.message || err}`;
    node.hidden = false;
  }

  // A random UUID (v4), also where crypto.randomUUID is missing (plain http on a clinic's LAN).
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---- the pipeline's quality issues, in the page's language -------------------------------------------
  // The pipeline (ecg/quality.py) gives each problem a stable code, its lead and its values (quality.issues and
  // leads[].issues, beside the English sentences in reasons). The page writes the text from the code with the
  // clinic_q_<code> strings. An unknown code, missing values, or an analysis stored before codes existed (reasons
  // only) shows the pipeline's English sentence as it was written.
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  }
  // mm:ss (h:mm:ss from one hour) within the record, as the pipeline writes it.
  function clock(seconds) {
    const s = Math.round(seconds), mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0"), ss = String(s % 60).padStart(2, "0");
    return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${String(Math.floor(s / 60)).padStart(2, "0")}:${ss}`;
  }
  function extentText(p, throughout) {
    if (typeof p.extent_pct === "number") return fill(t("clinic_q_extent"), {pct: p.extent_pct});
    return throughout ? t("clinic_q_throughout") : "";
  }
  function spansText(p) {
    if (!Array.isArray(p.spans) || !p.spans.length) return "";
    const list = p.spans.map((s) => `${clock(s.start_s)}-${clock(s.end_s)}`).join(t("clinic_q_sep"));
    const more = p.more_spans ? fill(t("clinic_q_more_spans"), {n: p.more_spans}) : "";
    return fill(t("clinic_q_spans"), {spans: list + more});
  }
  const fixed = (x, digits) => (typeof x === "number" ? x.toFixed(digits) : undefined);
  // code -> the template's values from the issue's params (undefined = missing: fall back to the text)
  const ISSUE_VALUES = {
    lead_off: (p) => ({where: spansText(p)}),
    artefact: (p) => ({extent: extentText(p, true)}),
    clipping: () => ({}),
    implausible_amplitude: (p) => ({mv: fixed(p.mv, 0)}),
    mains: (p) => ({hz: p.hz, mv: fixed(p.mv, 2), extent: extentText(p, false)}),
    muscle: (p) => ({extent: extentText(p, false)}),
    baseline_wander: (p) => ({extent: extentText(p, false)}),
    too_short: (p) => ({duration: fixed(p.duration_s, 1), min: p.min_s}),
    no_usable_lead: () => ({}),
    too_many_leads_unreadable: (p) => ({n_bad: p.n_bad, n_leads: p.n_leads,
                                        leads: Array.isArray(p.leads) ? p.leads.join(t("clinic_q_sep")) : undefined}),
    long_recording: (p) => ({analysed: fixed(p.analysed_s, 0), duration: fixed(p.duration_s, 0)}),
  };
  // One issue ({code, lead, params, text}) as text in the page's language, with its lead.
  function issueText(issue) {
    const values = ISSUE_VALUES[issue.code];
    const key = issue.code === "too_short" && issue.lead ? "clinic_q_too_short_lead" : `clinic_q_${issue.code}`;
    if (!values || !(key in S)) return issue.text;
    const v = values(issue.params || {});
    if (Object.values(v).some((x) => x === undefined || x === null)) return issue.text;
    const text = fill(S[key], {lead: issue.lead || "", ...v});
    return issue.lead ? fill(t("clinic_q_with_lead"), {lead: issue.lead, text}) : text;
  }
  // Texts for a lead or the whole record: from the issues when the analysis has them, else the stored sentences.
  function qualityTexts(issues, reasons) {
    return Array.isArray(issues) ? issues.map(issueText) : reasons;
  }

  // ---- quality verdict ------------------------------------------------------------------------------
  function renderQuality(box, study) {
    box.replaceChildren();
    const a = study.analysis;
    const q = a && a.quality;
    const status = study.status;
    if (status === "received") {
      box.append(el("p", {class: "verdict pending"}, t("clinic_quality_waiting")));
      return;
    }
    const verdict = q ? q.verdict : (status === "unreadable" ? "unreadable" : null);
    if (verdict) {
      box.append(el("p", {class: `verdict verdict-${verdict}`, "data-verdict": verdict}, t(`clinic_verdict_${verdict}`)));
    }
    if (!q) {
      if (study.status_reason) box.append(el("p", {class: "reason"}, `${t("clinic_reason")}: ${study.status_reason}`));
      if (status === "analysis_failed") box.append(el("p", {class: "verdict verdict-unreadable"}, t("clinic_status_analysis_failed")));
      return;
    }
    const leadReasons = new Set(q.leads.flatMap((l) => l.reasons));
    const overall = Array.isArray(q.issues) ? qualityTexts(q.issues.filter((i) => !i.lead))
                                            : q.reasons.filter((r) => !leadReasons.has(r));
    if (overall.length) {
      box.append(el("ul", {class: "overall-reasons"}, overall.map((r) => el("li", {}, r))));
    }
    const bad = q.leads.filter((l) => l.verdict !== "good" || l.reasons.length);
    if (bad.length) {
      box.append(el("table", {class: "lead-table"},
        el("thead", {}, el("tr", {}, el("th", {scope: "col"}, t("clinic_lead")), el("th", {scope: "col"}, t("clinic_quality")),
          el("th", {scope: "col"}, t("clinic_problem")))),
        el("tbody", {}, bad.map((l) => el("tr", {class: `lead-${l.verdict}`, "data-lead": l.lead},
          el("th", {scope: "row"}, l.lead),
          el("td", {}, el("span", {class: `badge v-${l.verdict}`}, t(`clinic_verdict_${l.verdict}`).split(" — ")[0])),
          el("td", {}, el("ul", {class: "reasons"}, qualityTexts(l.issues, l.reasons).map((r) => el("li", {}, r)))))))));
    } else {
      box.append(el("p", {}, t("clinic_leads_ok")));
    }
    if (status === "awaiting_read" || status === "in_read") {
      box.append(el("p", {}, t("clinic_verdict_sent"), " ", priorityBadge(study.priority)));
    }
    if (a.heart_rate_bpm) box.append(el("p", {}, `${t("clinic_heart_rate")}: ${Math.round(a.heart_rate_bpm)} ${t("bpm")}`));
  }

  function priorityBadge(p) { return el("span", {class: `badge ${p}`}, t(`clinic_priority_${p}`)); }
  function statusLabel(s) { return el("span", {class: `status st-${s}`}, t(`clinic_status_${s}`)); }

  // ---- critical notices: a banner that stays until someone acknowledges -----------------------------
  // Each notice names the patient (name and clinic id), the finding in Chinese first, and links to the study.
  // Acknowledging is the 危急值 closed loop: whom the clinic told, when, and what they repeated back
  // (POST /api/v1/notices/{id}/acknowledge); the recorded chain is shown after it.
  const notices = {
    timer: null,
    item(n) {
      return el("li", {"data-id": n.id, class: "notice"},
        el("strong", {class: "notice-patient"}, n.patient_name || ""), " ",
        n.patient_id ? el("span", {class: "notice-pid"}, `${t("clinic_patient_id")} ${n.patient_id}`) : null, " ",
        el("strong", {class: "notice-text"}, n.text), " ",
        el("span", {class: "muted"}, fmtTime(n.raised_at)), " ",
        el("a", {href: `/clinic/studies/${n.study_id}`}, t("clinic_open_study")), " ",
        el("button", {type: "button", class: "ack", "aria-controls": "ack-form",
                      onclick: () => notices.openForm(n)}, t("clinic_acknowledge")));
    },
    async refresh() {
      const banner = $("notice-banner");
      if (!banner) return;
      let list;
      try { list = await api("/api/v1/notices?unacknowledged=true"); }
      catch (e) { showError($("notice-error"), e); banner.hidden = false; return; }
      const ul = $("notice-list");
      const shown = new Set([...ul.children].map((li) => li.dataset.id));
      const now = new Set(list.map((n) => String(n.id)));
      document.body.dataset.noticesLoaded = "1";
      if (shown.size === now.size && [...now].every((id) => shown.has(id))) { banner.hidden = list.length === 0; return; }
      ul.replaceChildren(...list.map(notices.item));
      const form = $("ack-form");
      if (!form.hidden && !now.has(form.dataset.notice)) form.hidden = true;  // acknowledged elsewhere
      banner.hidden = list.length === 0;
      // The tab's title flags open critical results too (seen from another tab or when scrolled away).
      const base = document.title.replace(/^\(!\d+\) /, "");
      document.title = list.length ? `(!${list.length}) ${base}` : base;
    },
    openForm(n) {
      const form = $("ack-form");
      if (form.dataset.notice !== String(n.id)) form.reset();
      form.dataset.notice = String(n.id);
      $("ack-patient").textContent = `${n.patient_name || ""}（${t("clinic_patient_id")} ${n.patient_id || "—"}）：${n.text}`;
      if (!form.elements.told_at.value) form.elements.told_at.value = localInputValue(new Date());
      showError($("notice-error"), null);
      form.hidden = false;
      form.elements.told_name.focus();
    },
    body(form) {
      const v = (name) => form.elements[name].value.trim();
      const body = {told_name: v("told_name"), told_role: v("told_role"), read_back: v("read_back")};
      if (v("action_taken")) body.action_taken = v("action_taken");
      // datetime-local is the browser's wall clock: sent with its offset, so any PC time zone is right.
      if (v("told_at")) body.told_at = new Date(v("told_at")).toISOString();
      return body;
    },
    async submit(ev) {
      ev.preventDefault();
      const form = $("ack-form"), button = $("ack-submit");
      for (const name of ["told_name", "told_role", "read_back"]) {
        if (!form.elements[name].value.trim()) { form.elements[name].focus(); form.elements[name].reportValidity(); return; }
      }
      button.disabled = true;
      try {
        const done = await api(`/api/v1/notices/${form.dataset.notice}/acknowledge`, {method: "POST", json: notices.body(form)});
        showError($("notice-error"), null);
        form.hidden = true; form.reset();
        notices.receipt(done);
        await notices.refresh();
        const next = document.querySelector("#notice-list button");
        (next || $("receipt-h")).focus();
      } catch (e) {
        showError($("notice-error"), notices.fieldError(form, e));
      } finally { button.disabled = false; }
    },
    // A 422 names the field: say it with the form's own (Chinese) label and put the cursor there.
    fieldError(form, e) {
      const errs = (e.problem && e.problem.errors) || [];
      const input = errs.length && form.elements[errs[0].field];
      if (!input) return e;
      input.focus();
      const label = form.querySelector(`label[for="${input.id}"]`);
      return new Error(`${label ? label.textContent.replace(/\s*\*$/, "") : errs[0].field}: ${errs[0].message}`);
    },
    receipt(n) {
      const box = $("notice-receipt");
      $("receipt-patient").textContent = `${n.patient_name || ""}（${t("clinic_patient_id")} ${n.patient_id || "—"}）：${n.text}`;
      $("receipt-chain").replaceChildren(...n.chain.map((s) => el("li", {"data-step": s.step},
        el("strong", {}, t(`clinic_chain_${s.step}`)), " ", fmtTime(s.at),
        s.step === "acknowledged" ? notices.loopText(n) : null)));
      box.hidden = false;
    },
    loopText(n) {
      return el("span", {class: "loop"},
        `${t("clinic_chain_received_by")}：${n.received_by_name}（${n.received_by_role}）；`,
        `${t("clinic_chain_told")}：${n.told_name}（${n.told_role}）${fmtTime(n.told_at)}；`,
        `${t("clinic_chain_read_back")}：${n.read_back}`,
        n.action_taken ? `；${t("clinic_chain_action")}：${n.action_taken}` : "");
    },
    start() {
      $("ack-form").addEventListener("submit", notices.submit);
      $("ack-cancel").addEventListener("click", () => { $("ack-form").hidden = true; });
      notices.refresh();
      notices.timer = setInterval(notices.refresh, 10000);
      document.addEventListener("visibilitychange", () => { if (!document.hidden) notices.refresh(); });
    },
  };

  // A Date as a datetime-local input's value (the browser's wall clock, to the second).
  function localInputValue(d) {
    const p = (x) => String(x).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }

  // ---- the site's event stream (long-poll): refresh what an event changes ----------------------------
  // Events carry ids only (no patient data). At start the page skips the events it has already seen,
  // then waits for new ones (GET /api/v1/events?after=&wait=).
  const events = {
    last: 0,
    async catchUp() {
      for (let i = 0; i < 100; i++) {
        const page = await api(`/api/v1/events?after=${events.last}&limit=500`);
        events.last = page.last_id;
        if (page.events.length < 500) return;
      }
    },
    async loop(onEvents) {
      try { await events.catchUp(); } catch (e) { /* retried below */ }
      for (;;) {
        try {
          const page = await api(`/api/v1/events?after=${events.last}&wait=25`);
          events.last = page.last_id;
          if (page.events.length) onEvents(page.events);
        } catch (e) {
          await new Promise((r) => setTimeout(r, 5000));
        }
      }
    },
  };

  // ---- the site's studies -----------------------------------------------------------------------------
  const studies = {
    cursor: null,
    async load(reset) {
      const body = $("studies-body");
      const params = new URLSearchParams({limit: "20"});
      if (!reset && studies.cursor) params.set("cursor", studies.cursor);
      let page;
      try { page = await api(`/api/v1/studies?${params}`); showError($("studies-error"), null); }
      catch (e) { showError($("studies-error"), e); return; }
      if (reset) body.replaceChildren();
      body.append(...page.items.map(studies.row));
      studies.cursor = page.next_cursor;
      $("more-studies").hidden = !page.next_cursor;
      $("no-studies").hidden = body.children.length > 0;
      document.body.dataset.studiesLoaded = "1";
    },
    row(s) {
      const signed = s.status === "reported" || s.status === "amended";
      const tat = el("td", {class: "tat"});
      if (signed) studies.turnaround(s, tat);
      else if (s.status === "awaiting_read" || s.status === "in_read" || s.status === "received") {
        tat.textContent = `${t("clinic_waiting_for")} ${fmtMinutes(Date.now() - new Date(s.received_at))}`;
      } else tat.textContent = "—";
      return el("tr", {"data-study": s.id},
        el("td", {}, fmtTime(s.received_at)),
        el("td", {}, s.patient.name, el("br"), el("span", {class: "muted"}, s.patient.id)),
        el("td", {}, priorityBadge(s.priority)),
        el("td", {}, statusLabel(s.status)),
        tat,
        el("td", {class: "row-actions"},
          el("a", {href: `/clinic/studies/${s.id}`}, t("clinic_open")),
          signed ? el("a", {href: `/api/v1/studies/${s.id}/report.pdf`, target: "_blank", rel: "noopener"}, t("clinic_pdf")) : null));
    },
    turnaround(s, td) {
      // The list carries the first signature time: no per-row fetch (and audited read) of the report.
      td.textContent = s.first_signed_at ? fmtMinutes(new Date(s.first_signed_at) - new Date(s.received_at)) : "—";
    },
  };

  // ---- upload ------------------------------------------------------------------------------------------
  const upload = {
    files: [],
    key: null,          // Idempotency-Key of the current upload, reused by "retry" and by the clock warning
    confirm: false,     // the technician confirmed the acquisition-time warning (confirm_acquired_at=true)
    busy: false,
    setFiles(list) {
      const byName = new Map(upload.files.map((f) => [f.name, f]));
      for (const f of list) byName.set(f.name, f);
      upload.files = [...byName.values()];
      upload.key = null;  // a different body needs a new key
      upload.renderFiles();
    },
    renderFiles() {
      const ul = $("file-list");
      ul.replaceChildren(...upload.files.map((f) => el("li", {},
        `${f.name} (${(f.size / 1024).toFixed(0)} KB) `,
        el("button", {type: "button", class: "link", "aria-label": `${t("clinic_file_remove")} ${f.name}`,
                      onclick: () => { upload.files = upload.files.filter((x) => x !== f); upload.key = null; upload.renderFiles(); }},
          t("clinic_file_remove")))));
      if (!upload.files.length) ul.append(el("li", {class: "muted"}, t("clinic_no_files")));
    },
    formData() {
      const fd = new FormData();
      for (const f of upload.files) fd.append("files", f, f.name);
      const form = $("upload-form");
      for (const name of ["patient_id", "patient_name", "patient_sex", "patient_birth_date", "acquired_at", "indication", "urgency"]) {
        const v = form.elements[name].value.trim();
        if (v) fd.append(name, v);
      }
      if (upload.confirm) fd.append("confirm_acquired_at", "true");
      return fd;
    },
    setBusy(busy) {
      upload.busy = busy;
      for (const n of $("upload-form").querySelectorAll("input, select, textarea, #upload-button")) n.disabled = busy;
    },
    submit(ev) {
      ev.preventDefault();
      if (upload.busy) return;
      showError($("upload-error"), null);
      if (!upload.files.length) { showError($("upload-error"), new Error(t("clinic_need_files"))); $("files").focus(); return; }
      const form = $("upload-form");
      for (const name of ["patient_id", "patient_name"]) {
        if (!form.elements[name].value.trim()) { form.elements[name].focus(); form.elements[name].reportValidity(); return; }
      }
      if (!upload.key) upload.key = newKey();
      upload.confirm = false;  // a corrected time is checked again
      upload.send();
    },
    send() {
      const xhr = new XMLHttpRequest();
      const bar = $("upload-progress"), text = $("progress-text");
      $("progress-box").hidden = false;
      $("retry-button").hidden = true;
      $("clock-warning").hidden = true;
      bar.value = 0; bar.removeAttribute("data-done");
      text.textContent = t("clinic_uploading");
      upload.setBusy(true);
      xhr.open("POST", "/api/v1/studies");
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.setRequestHeader("Idempotency-Key", upload.key);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.floor((e.loaded / e.total) * 100);
        bar.value = pct;
        text.textContent = `${pct}% (${(e.loaded / 1024).toFixed(0)} / ${(e.total / 1024).toFixed(0)} KB)`;
      });
      xhr.addEventListener("load", () => {
        upload.setBusy(false);
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status === 200 || xhr.status === 202) {
          bar.value = 100; bar.dataset.done = "1";
          text.textContent = `100% — ${t("clinic_uploaded")}`;
          upload.key = null; upload.confirm = false;
          $("next-button").hidden = false;
          $("upload-button").hidden = true;
          quality.watch(body.id);
          studies.load(true);
          return;
        }
        if (xhr.status === 401) { location.href = "/login?next=/clinic/"; return; }
        if (xhr.status === 503 && body && body.type === "/problems/busy") { upload.busyRetry(xhr, body); return; }
        if (xhr.status === 422 && body && body.type === "/problems/acquisition-time") { upload.clockWarning(body); return; }
        const detail = (body && body.detail) || `${xhr.status} ${xhr.statusText}`;
        showError($("upload-error"), new Error(detail));
        text.textContent = "";
        if (xhr.status >= 500 || xhr.status === 408 || xhr.status === 429) $("retry-button").hidden = false;
        else upload.key = null;  // the form must change: the next attempt is a new upload
      });
      const lost = () => {
        upload.setBusy(false);
        showError($("upload-error"), new Error(t("clinic_network_error")));
        $("retry-button").hidden = false;
        $("retry-button").focus();
      };
      xhr.addEventListener("error", lost);
      xhr.addEventListener("timeout", lost);
      xhr.send(upload.formData());
    },
    // Admission control said "busy" (nothing was stored): say so, wait Retry-After, send again with
    // the same Idempotency-Key. The form stays locked while waiting.
    busyRetry(xhr, body) {
      const wait = Math.max(1, parseInt(xhr.getResponseHeader("Retry-After"), 10) || body.retry_after_s || 10);
      const text = $("progress-text");
      upload.setBusy(true);
      $("progress-box").hidden = false;
      $("progress-box").dataset.state = "busy";
      let left = wait;
      const tick = () => {
        if (!upload.busy) return;  // reset while waiting
        text.textContent = `${t("clinic_busy_retrying")} (${left} s)`;
        if (left-- <= 0) { delete $("progress-box").dataset.state; upload.send(); return; }
        upload.retryTimer = setTimeout(tick, 1000);
      };
      tick();
    },
    // The acquisition time failed a clock check (nothing was stored): say why in the page's language, then the
    // technician confirms (same Idempotency-Key, confirm_acquired_at=true) or corrects the time and uploads again.
    clockWarning(body) {
      $("progress-text").textContent = "";
      $("progress-box").hidden = true;  // nothing was stored: no full bar beside the warning
      const when = (iso) => fmtTime(iso);
      const values = {time: when(body.acquired_at), birth: body.birth_date || "—", days: body.max_age_days};
      const reasons = body.checks.map((c) => el("li", {"data-check": c}, fill(t(`clinic_clock_${c}`), values)));
      if (body.mismatch_min !== null && body.mismatch_min !== undefined) {
        reasons.push(el("li", {"data-check": "mismatch"}, fill(t("clinic_clock_mismatch"),
          {device: when(body.device_time), form: when(body.form_time), min: body.mismatch_min})));
      }
      reasons.push(el("li", {}, t(body.acquired_at_source === "device" ? "clinic_clock_from_device" : "clinic_clock_from_form")));
      $("clock-reasons").replaceChildren(...reasons);
      const impossible = body.checks.includes("acquired_at_future") || body.checks.includes("acquired_before_birth");
      $("clock-effect").textContent = t(impossible ? "clinic_clock_receipt_note" : "clinic_clock_keep_note");
      $("clock-warning").hidden = false;
      $("clock-confirm").focus();
    },
    reset() {
      clearTimeout(upload.retryTimer);
      upload.busy = false; upload.confirm = false;
      $("clock-warning").hidden = true;
      $("upload-form").reset();
      upload.files = []; upload.key = null;
      upload.renderFiles();
      $("progress-box").hidden = true;
      $("next-button").hidden = true; $("retry-button").hidden = true;
      $("upload-button").hidden = false;
      $("quality-card").hidden = true;
      showError($("upload-error"), null);
      $("patient_id").focus();
    },
    start() {
      const zone = $("dropzone"), input = $("files");
      input.addEventListener("change", () => { upload.setFiles(input.files); input.value = ""; });
      zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
      zone.addEventListener("dragleave", () => zone.classList.remove("over"));
      zone.addEventListener("drop", (e) => {
        e.preventDefault(); zone.classList.remove("over");
        if (e.dataTransfer && e.dataTransfer.files.length) upload.setFiles(e.dataTransfer.files);
      });
      $("upload-form").addEventListener("submit", upload.submit);
      $("retry-button").addEventListener("click", () => { showError($("upload-error"), null); upload.send(); });
      $("next-button").addEventListener("click", upload.reset);
      $("clock-confirm").addEventListener("click", () => { upload.confirm = true; $("clock-warning").hidden = true; upload.send(); });
      $("clock-correct").addEventListener("click", () => { $("clock-warning").hidden = true; $("acquired_at").focus(); });
      upload.renderFiles();
    },
  };

  // ---- after an upload: poll the study until its quality verdict is known --------------------------------
  const quality = {
    async watch(id) {
      const card = $("quality-card"), box = $("quality");
      card.hidden = false;
      box.replaceChildren(el("p", {class: "verdict pending"}, t("clinic_quality_waiting")));
      const deadline = Date.now() + 90000;
      for (;;) {
        let study;
        try { study = await api(`/api/v1/studies/${id}`); }
        catch (e) { box.replaceChildren(el("p", {class: "error-box", role: "alert"}, `${t("clinic_error")}: ${e.message}`)); return; }
        if (study.status !== "received") {
          renderQuality(box, study);
          box.append(el("p", {}, el("a", {href: `/clinic/studies/${id}`}, t("clinic_open_study"))));
          $("quality-h").focus();
          studies.load(true);
          return;
        }
        if (Date.now() > deadline) { box.replaceChildren(el("p", {}, t("clinic_quality_timeout"))); return; }
        await new Promise((r) => setTimeout(r, 600));
      }
    },
  };

  // ---- the study page: details, report, share links --------------------------------------------------------
  async function studyPage(id) {
    notices.start();
    let study;
    try { study = await api(`/api/v1/studies/${id}`); }
    catch (e) { showError($("study-error"), e); return; }
    const dl = $("study-summary");
    const p = study.patient;
    const rows = [
      [t("clinic_patient"), `${p.name} (${p.id})`], [t("sex"), t(`sex_${p.sex}`)],
      [t("clinic_birth_date"), p.birth_date || "—"], [t("clinic_received"), fmtTime(study.received_at)],
      [t("clinic_priority"), priorityBadge(study.priority)], [t("clinic_status"), statusLabel(study.status)],
      [t("clinic_indication"), study.indication || "—"],
    ];
    if (study.status_reason && study.status !== "unreadable") rows.push([t("clinic_reason"), study.status_reason]);
    dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    renderQuality($("quality"), study);
    await reportBox(id);
  }

  async function reportBox(id) {
    const box = $("report");
    let rep;
    try { rep = await api(`/api/v1/studies/${id}/report`); }
    catch (e) { box.replaceChildren(el("p", {class: "error-box", role: "alert"}, `${t("clinic_error")}: ${e.message}`)); return; }
    if (!rep.versions.length) { box.replaceChildren(el("p", {}, t("clinic_no_report"))); return; }
    const latest = rep.versions[0];
    const name = LANG === "zh-CN" ? "zh" : "en";
    box.replaceChildren(...[
      el("p", {}, `${t("clinic_version")} ${latest.version} · ${t("clinic_signed")} ${fmtTime(latest.signed_at)}`,
        latest.amendment_reason ? ` · ${t("amendment_reason")}: ${latest.amendment_reason}` : ""),
      el("ul", {class: "statements"}, latest.statements.map((st) =>
        el("li", {class: st.severity === "critical" ? "critical" : ""}, st[name] || st.code))),
      latest.free_text ? el("p", {}, latest.free_text) : null,
      el("p", {class: "links"},
        el("a", {href: `/api/v1/studies/${id}/report.pdf`, target: "_blank", rel: "noopener", class: "button-link"}, t("clinic_open_pdf")),
        " ",
        el("a", {href: `/api/v1/studies/${id}/report.png`, target: "_blank", rel: "noopener", class: "button-link secondary"}, t("clinic_open_png"))),
      rep.versions.length > 1 ? el("details", {}, el("summary", {}, t("history")),
        el("ul", {}, rep.versions.slice(1).map((v) => el("li", {},
          `${t("clinic_version")} ${v.version} · ${fmtTime(v.signed_at)}: ${v.statements.map((st) => st[name] || st.code).join("；")}`)))) : null,
    ].filter(Boolean));
    $("share-card").hidden = false;
    share.start(id);
  }

  const share = {
    id: null,
    start(id) {
      share.id = id;
      $("share-form").addEventListener("submit", share.create);
      share.list();
    },
    async create(ev) {
      ev.preventDefault();
      const button = $("share-create");
      button.disabled = true;
      try {
        const link = await api(`/api/v1/studies/${share.id}/share-links`, {method: "POST", json: {hours: Number($("share-hours").value)}});
        showError($("share-error"), null);
        sessionStorage.setItem(`ecghub.slip.${link.id}`, JSON.stringify({
          study_id: share.id, url: link.url, qr_svg: link.qr_svg, expires_at: link.expires_at}));
        const qr = el("div", {class: "qr", role: "img", "aria-label": "QR"});
        qr.innerHTML = link.qr_svg;  // SVG generated by the server (segno), not user input
        $("share-new").replaceChildren(
          el("p", {}, t("clinic_share_created"), " ", `${t("clinic_share_expires")}: ${fmtTime(link.expires_at)}`),
          qr,
          el("p", {class: "slip-url"}, link.url),
          el("p", {}, el("a", {href: `/clinic/studies/${share.id}/slip?link=${link.id}`, class: "button-link", id: "print-slip"},
            t("clinic_share_print"))));
        share.list();
      } catch (e) { showError($("share-error"), e); }
      button.disabled = false;
    },
    async list() {
      let links;
      try { links = await api(`/api/v1/studies/${share.id}/share-links`); }
      catch (e) { showError($("share-error"), e); return; }
      const now = Date.now();
      $("share-list").replaceChildren(...(links.length ? links.map((l) => {
        const state = l.revoked_at ? "revoked" : (new Date(l.expires_at) <= now ? "expired" : "active");
        return el("li", {},
          `#${l.id} · ${fmtTime(l.created_at)} · ${t("clinic_share_expires")} ${fmtTime(l.expires_at)} · `,
          el("span", {class: `share-${state}`}, t(`clinic_share_${state}`)), " ",
          state === "active" ? el("button", {type: "button", class: "secondary small", onclick: () => share.revoke(l.id)},
            t("clinic_share_revoke")) : null);
      }) : [el("li", {class: "muted"}, t("clinic_share_none"))]));
    },
    async revoke(linkId) {
      try { await api(`/api/v1/share-links/${linkId}/revoke`, {method: "POST"}); sessionStorage.removeItem(`ecghub.slip.${linkId}`); }
      catch (e) { showError($("share-error"), e); }
      share.list();
    },
  };

  // ---- the printable slip ----------------------------------------------------------------------------------
  async function slipPage(studyId, linkId) {
    const raw = linkId !== null ? sessionStorage.getItem(`ecghub.slip.${linkId}`) : null;
    const saved = raw ? JSON.parse(raw) : null;
    if (!saved || saved.study_id !== studyId) { $("slip-missing").hidden = false; return; }
    let study;
    try { study = await api(`/api/v1/studies/${studyId}`); }
    catch (e) { $("slip-missing").textContent = `${t("clinic_error")}: ${e.message}`; $("slip-missing").hidden = false; return; }
    const p = study.patient;
    $("slip-patient").replaceChildren(
      el("dt", {}, t("clinic_patient")), el("dd", {}, `${p.name} (${p.id})`),
      el("dt", {}, t("acquired")), el("dd", {}, fmtTime(study.acquired_at)));
    $("slip-qr").innerHTML = saved.qr_svg;  // server-made SVG
    $("slip-expires").textContent = fmtTime(saved.expires_at);
    $("slip-url").textContent = saved.url;
    $("slip-body").hidden = false;
    const button = $("slip-print");
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }

  window.ClinicConsole = {
    start() {
      notices.start();
      upload.start();
      studies.load(true);
      $("refresh-studies").addEventListener("click", () => studies.load(true));
      $("more-studies").addEventListener("click", () => studies.load(false));
      let pending = null;  // one list refresh for a burst of events
      events.loop((evs) => {
        if (evs.some((e) => e.type === "notice.raised")) notices.refresh();
        if (!pending) pending = setTimeout(() => { pending = null; studies.load(true); }, 300);
      });
    },
    study: studyPage,
    slip: slipPage,
    issueText,
  };
})();
