// ECG drawing for the reading workstation: grid, 12 leads 3x4 + rhythm strip, calipers, median beats.
// The pixel <-> paper mapping is explicit: 1 mm = pxPerInch / 25.4 CSS px (96 px/in unless calibrated);
// time runs at mmPerS mm/s, amplitude at mmPerMv mm/mV. x(t) = leftPx + t * pxPerS on the whole canvas,
// so a time difference measured on screen is dx / pxPerS seconds, whatever the scale.
"use strict";
(function () {
  const COLUMNS = [["I", "II", "III"], ["aVR", "aVL", "aVF"], ["V1", "V2", "V3"], ["V4", "V5", "V6"]];
  const LEFT_MM = 6;      // left margin holding the 1 mV calibration pulse (mm)
  const LABEL_MM = 5;     // band above the rhythm strip for beat labels (mm)
  const MEDIAN_MM_PER_S = 50;  // median beats are always drawn at 50 mm/s
  const LABEL_COLOURS = {N: "#1a1a1a", P: "#a04800", V: "#b00020", X: "#6a1b9a", "?": "#4d5562"};
  const MARK_COLOURS = {p_on: "#1d5e2c", p_off: "#1d5e2c", qrs_on: "#12355b", qrs_off: "#12355b", t_end: "#7a2a86"};

  /** Paper scale: pxPerInch (CSS px per inch), mmPerS (mm/s), mmPerMv (mm/mV). */
  function makeScale(pxPerInch, mmPerS, mmPerMv) {
    const pxPerMm = pxPerInch / 25.4;
    return {pxPerInch, mmPerS, mmPerMv, pxPerMm, pxPerS: pxPerMm * mmPerS, pxPerMv: pxPerMm * mmPerMv,
      leftPx: LEFT_MM * pxPerMm,
      /** ms spanned by dx CSS px at this scale. */
      msFromPx(dx) { return dx / this.pxPerS * 1000; }};
  }

  /** Lead name as in the recording for a standard name, case-insensitively ("AVR" finds "aVR"). */
  function findLead(leads, want) {
    const w = want.toUpperCase();
    return leads.find((l) => l.toUpperCase() === w) || null;
  }

  /** Size a canvas in CSS px, backed at the device pixel ratio; returns its 2D context in CSS px units. */
  function setup(canvas, cssW, cssH) {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
    canvas.style.width = cssW + "px";
    canvas.style.height = cssH + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  /** ECG paper: thin lines every 1 mm, thick every 5 mm, starting at x0 (px). */
  function grid(ctx, x0, y0, w, h, pxPerMm) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(x0, y0, w, h);
    for (const [step, colour, width] of [[1, "#f6d5d5", 0.5], [5, "#e59a9a", 1]]) {
      ctx.beginPath();
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      for (let mm = 0; mm * pxPerMm <= w + 0.01; mm += step) {
        const x = x0 + mm * pxPerMm;
        ctx.moveTo(x, y0); ctx.lineTo(x, y0 + h);
      }
      for (let mm = 0; mm * pxPerMm <= h + 0.01; mm += step) {
        const y = y0 + mm * pxPerMm;
        ctx.moveTo(x0, y); ctx.lineTo(x0 + w, y);
      }
      ctx.stroke();
    }
  }

  /** Samples [i0, i1) of one lead (integer µV at fs Hz) as a line; x of sample i = xAt(i / fs s). */
  function trace(ctx, uv, fs, i0, i1, xAt, base, pxPerMv) {
    ctx.beginPath();
    ctx.strokeStyle = "#111";
    ctx.lineWidth = 1.1;
    ctx.lineJoin = "round";
    const k = pxPerMv / 1000;
    for (let i = Math.max(0, i0); i < Math.min(uv.length, i1); i++) {
      const x = xAt(i / fs), y = base - uv[i] * k;
      if (i === Math.max(0, i0)) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }

  /** 1 mV calibration pulse, 5 mm wide, ending at x (px). */
  function pulse(ctx, x, base, sc) {
    const w = 4 * sc.pxPerMm, h = sc.pxPerMv;
    ctx.beginPath(); ctx.strokeStyle = "#111"; ctx.lineWidth = 1.1;
    ctx.moveTo(x - w - sc.pxPerMm * 0.5, base); ctx.lineTo(x - w, base); ctx.lineTo(x - w, base - h);
    ctx.lineTo(x - sc.pxPerMm, base - h); ctx.lineTo(x - sc.pxPerMm, base); ctx.lineTo(x, base);
    ctx.stroke();
  }

  function label(ctx, text, x, y, colour = "#1a1a1a", font = "600 12px system-ui,sans-serif") {
    ctx.font = font; ctx.fillStyle = colour; ctx.textBaseline = "top"; ctx.fillText(text, x, y);
  }

  /**
   * Where every lead goes. wave = {fs, duration_s, leads: {name: [µV]}}; opts.enlarge = lead name or "".
   * Returns {width, height, rows: [{lead, y, h, base, t0, t1, x0, x1, gain}], strip: row, labelTop}.
   */
  function layout(wave, sc, opts) {
    const names = Object.keys(wave.leads);
    const dur = Math.min(wave.duration_s, 10);
    const rowMm = Math.max(20, 3 * sc.mmPerMv);
    const rowPx = rowMm * sc.pxPerMm;
    const width = sc.leftPx + dur * sc.pxPerS + sc.pxPerMm;
    const rows = [];
    let y = 0;
    const std = COLUMNS.every((col) => col.every((n) => findLead(names, n)));
    const stripLead = findLead(names, "II") || names[0];
    if (opts.enlarge && findLead(names, opts.enlarge)) {
      const h = 2 * rowPx;
      const gain = Math.max(1, Math.min(2, 20 / sc.mmPerMv));  // twice the gain, at most 20 mm/mV
      rows.push({lead: findLead(names, opts.enlarge), y, h, base: y + 0.6 * h, t0: 0, t1: dur, gain, enlarged: true});
      y += h;
    } else if (std) {
      const colDur = dur / 4;
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 4; c++) {
          rows.push({lead: findLead(names, COLUMNS[c][r]), y, h: rowPx, base: y + 0.6 * rowPx,
                     t0: c * colDur, t1: (c + 1) * colDur, gain: 1});
        }
        y += rowPx;
      }
    } else {
      for (const n of names) {
        if (n === stripLead) continue;
        rows.push({lead: n, y, h: rowPx, base: y + 0.6 * rowPx, t0: 0, t1: dur, gain: 1});
        y += rowPx;
      }
    }
    const labelTop = y;
    y += LABEL_MM * sc.pxPerMm;
    const strip = {lead: stripLead, y: labelTop, h: y - labelTop + rowPx, base: y + 0.6 * rowPx, t0: 0, t1: dur,
                   gain: 1, strip: true};
    rows.push(strip);
    y += rowPx;
    for (const r of rows) { r.x0 = sc.leftPx + r.t0 * sc.pxPerS; r.x1 = sc.leftPx + r.t1 * sc.pxPerS; }
    const height = Math.ceil(y / sc.pxPerMm) * sc.pxPerMm;
    return {width: Math.ceil(width / sc.pxPerMm) * sc.pxPerMm, height, rows, strip, labelTop, duration_s: dur,
            leadsDrawn: new Set(rows.map((r) => r.lead)).size};
  }

  /** Draw the tracing; beats (optional) = [{t_ms, label}] marked above the rhythm strip. Returns the layout. */
  function drawTracing(canvas, wave, sc, opts = {}) {
    const lay = layout(wave, sc, opts);
    const ctx = setup(canvas, lay.width, lay.height);
    grid(ctx, 0, 0, lay.width, lay.height, sc.pxPerMm);
    const xAt = (t) => sc.leftPx + t * sc.pxPerS;
    let lastRowY = -1;
    for (const r of lay.rows) {
      const uv = wave.leads[r.lead];
      const pxPerMv = sc.pxPerMv * r.gain;
      if (r.y !== lastRowY || r.strip || r.enlarged) pulse(ctx, sc.leftPx, r.base, {...sc, pxPerMv});
      lastRowY = r.y;
      if (r.t0 > 0) {  // lead change marker between columns
        ctx.beginPath(); ctx.strokeStyle = "#111"; ctx.lineWidth = 1;
        ctx.moveTo(r.x0, r.base - 3 * sc.pxPerMm); ctx.lineTo(r.x0, r.base + 3 * sc.pxPerMm); ctx.stroke();
      }
      trace(ctx, uv, wave.fs, Math.round(r.t0 * wave.fs), Math.round(r.t1 * wave.fs) + (r.t1 >= lay.duration_s ? 0 : 1),
            xAt, r.base, pxPerMv);
      const tag = r.enlarged ? `${r.lead} (${sc.mmPerMv * r.gain} mm/mV)` : r.lead;
      label(ctx, tag, r.x0 + 3, r.strip ? r.y + LABEL_MM * sc.pxPerMm + 2 : r.y + 2);
    }
    if (opts.beats) beatMarks(ctx, lay, opts.beats, sc);
    canvas.dataset.pxPerMm = sc.pxPerMm.toFixed(5);
    canvas.dataset.mmPerS = sc.mmPerS;
    canvas.dataset.mmPerMv = sc.mmPerMv;
    canvas.dataset.stripTop = (lay.strip.y + LABEL_MM * sc.pxPerMm).toFixed(2);
    canvas.dataset.stripBottom = (lay.strip.y + lay.strip.h).toFixed(2);
    canvas.dataset.x0 = sc.leftPx.toFixed(3);
    canvas.dataset.drawnLeads = lay.leadsDrawn;
    return lay;
  }

  /** Beat labels (N, P, V, X, ?) with a tick, in the band above the rhythm strip (and on an enlarged lead). */
  function beatMarks(ctx, lay, beats, sc) {
    ctx.textAlign = "center";
    for (const b of beats) {
      const t = b.t_ms / 1000;
      if (t > lay.duration_s) continue;
      const x = sc.leftPx + t * sc.pxPerS;
      const colour = LABEL_COLOURS[b.label] || "#1a1a1a";
      label(ctx, b.label, x, lay.labelTop + 1, colour, "700 12px system-ui,sans-serif");
      ctx.beginPath(); ctx.strokeStyle = colour; ctx.lineWidth = 1;
      ctx.moveTo(x, lay.labelTop + 14); ctx.lineTo(x, lay.labelTop + LABEL_MM * sc.pxPerMm); ctx.stroke();
    }
    ctx.textAlign = "start";
  }

  /** Caliper overlay: legs a, b (s), keyboard cursor (s), marched ticks at a + k (b - a). */
  function drawCalipers(canvas, lay, sc, st) {
    const ctx = setup(canvas, lay.width, lay.height);
    ctx.clearRect(0, 0, lay.width, lay.height);
    const xAt = (t) => sc.leftPx + t * sc.pxPerS;
    const vline = (t, colour, dash, width = 1.5) => {
      ctx.beginPath(); ctx.setLineDash(dash); ctx.strokeStyle = colour; ctx.lineWidth = width;
      ctx.moveTo(xAt(t), 0); ctx.lineTo(xAt(t), lay.height); ctx.stroke(); ctx.setLineDash([]);
    };
    if (st.cursor != null) vline(st.cursor, "#0b57d0", [2, 3], 1);
    if (st.a != null && st.b != null && st.march) {
      const d = st.b - st.a;
      if (Math.abs(d) > 0.02) {
        for (let t = st.a - Math.floor(st.a / Math.abs(d)) * Math.abs(d); t <= lay.duration_s; t += Math.abs(d)) {
          if (Math.abs(t - st.a) > 1e-6 && Math.abs(t - st.b) > 1e-6) vline(t, "#a86b00", [6, 4], 1.2);
        }
      }
    }
    if (st.a != null) vline(st.a, "#b00020", []);
    if (st.b != null) {
      vline(st.b, "#b00020", []);
      const y = lay.labelTop + LABEL_MM * sc.pxPerMm * 0.5;
      ctx.beginPath(); ctx.strokeStyle = "#b00020"; ctx.lineWidth = 1.5;
      ctx.moveTo(xAt(st.a), y); ctx.lineTo(xAt(st.b), y); ctx.stroke();
    }
  }

  /** The voltage caliper on the overlay (drawn after the time calipers): two horizontal legs across
   *  the lead's row at y1, y2 (CSS px) joined by a vertical bar at x. */
  function drawVoltCaliper(canvas, lay, vc) {
    if (!vc || !vc.on || vc.y1 == null) return;
    const ctx = canvas.getContext("2d");
    const row = lay.rows.find((r) => r.lead === vc.lead && vc.x >= r.x0 && vc.x < r.x1) || {x0: 0, x1: lay.width};
    ctx.save();
    ctx.strokeStyle = "#0b57d0"; ctx.lineWidth = 1.5;
    for (const y of [vc.y1, vc.y2]) {
      if (y == null) continue;
      ctx.beginPath(); ctx.moveTo(row.x0, y); ctx.lineTo(row.x1, y); ctx.stroke();
    }
    if (vc.y2 != null) { ctx.beginPath(); ctx.moveTo(vc.x, vc.y1); ctx.lineTo(vc.x, vc.y2); ctx.stroke(); }
    ctx.restore();
  }

  /** Layout of the median beats (4 columns of 3 leads when all 12 exist), 50 mm/s, gain = sc.mmPerMv. */
  function medianLayout(median, sc) {
    const names = Object.keys(median.leads);
    const std = COLUMNS.every((col) => col.every((n) => findLead(names, n)));
    const cols = std ? COLUMNS.map((c) => c.map((n) => findLead(names, n))) : names.map((n) => [n]);
    const pxPerMs = sc.pxPerMm * MEDIAN_MM_PER_S / 1000;
    const rowPx = Math.max(20, 3 * sc.mmPerMv) * sc.pxPerMm;
    const cellW = median.duration_ms * pxPerMs;
    const gap = 4 * sc.pxPerMm;
    const cells = [];
    cols.forEach((col, c) => col.forEach((lead, r) => {
      const x0 = gap / 2 + c * (cellW + gap);
      cells.push({lead, x0, x1: x0 + cellW, y: r * rowPx, h: rowPx, base: r * rowPx + 0.6 * rowPx});
    }));
    const width = Math.ceil((cols.length * (cellW + gap)) / sc.pxPerMm) * sc.pxPerMm;
    const height = Math.max(...cols.map((c) => c.length)) * rowPx;
    return {cells, width, height, pxPerMs, x0: cells[0].x0};
  }

  /** Median beats with the fiducial marks (ms from the beat's start) as vertical lines in every lead. */
  function drawMedian(canvas, median, sc, marks) {
    const lay = medianLayout(median, sc);
    const ctx = setup(canvas, lay.width, lay.height);
    grid(ctx, 0, 0, lay.width, lay.height, sc.pxPerMm);
    for (const cell of lay.cells) {
      for (const [k, ms] of Object.entries(marks)) {
        if (ms == null) continue;
        ctx.beginPath(); ctx.strokeStyle = MARK_COLOURS[k]; ctx.lineWidth = 1.2; ctx.setLineDash(k.startsWith("p") ? [4, 3] : []);
        ctx.moveTo(cell.x0 + ms * lay.pxPerMs, cell.y + 2); ctx.lineTo(cell.x0 + ms * lay.pxPerMs, cell.y + cell.h - 2);
        ctx.stroke(); ctx.setLineDash([]);
      }
      trace(ctx, median.leads[cell.lead], median.fs, 0, median.leads[cell.lead].length,
            (t) => cell.x0 + t * 1000 * lay.pxPerMs, cell.base, sc.pxPerMv);
      label(ctx, cell.lead, cell.x0 + 2, cell.y + 2);
    }
    canvas.dataset.drawnLeads = lay.cells.length;
    return lay;
  }

  window.ECG = {makeScale, findLead, drawTracing, drawCalipers, drawVoltCaliper, drawMedian, medianLayout, MEDIAN_MM_PER_S, LABEL_MM};
})();
