// The phone report's tracing (templates/report.html): tap a lead to see it enlarged.
// The enlarged view is a copy of the lead's own vector SVG (paper mm in its viewBox), drawn at
// least `zoomPxPerMm` CSS px per mm (5 px/mm: a 1 mm box is 5 px, 1 mV is 50 px); wider than the
// screen (the 10 s rhythm strip) it scrolls sideways. Started by boot.js (no inline script: CSP).
"use strict";
window.PhoneReport = {
  start(opts) {
    const zoom = document.getElementById("zoom");
    const body = document.getElementById("zoom-body");
    const title = document.getElementById("zoom-title");
    const closeButton = document.getElementById("zoom-close");
    let opener = null;

    function close() {
      zoom.hidden = true;
      body.textContent = "";
      if (opener) opener.focus();
    }

    function open(button) {
      opener = button;
      const svg = button.querySelector("svg").cloneNode(true);
      title.textContent = opts.leadTitle.replace("{lead}", button.dataset.lead);
      body.textContent = "";
      body.appendChild(svg);
      zoom.hidden = false;
      const widthMm = parseFloat(svg.dataset.mm);
      svg.style.width = Math.max(body.clientWidth - 16, widthMm * opts.zoomPxPerMm) + "px";
      closeButton.focus();
    }

    document.querySelectorAll("button.lead").forEach((b) => b.addEventListener("click", () => open(b)));
    closeButton.addEventListener("click", close);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !zoom.hidden) close(); });
  },
};
