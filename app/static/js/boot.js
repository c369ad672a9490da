// Starts a page's script from data instead of an inline <script> (the CSP allows none):
// <script id="ecghub-boot" type="application/json">{"call": "ClinicConsole.study", "args": ["..."]}</script>
"use strict";
(function () {
  const el = document.getElementById("ecghub-boot");
  if (!el) return;
  const {call, args} = JSON.parse(el.textContent);
  const [obj, fn] = call.split(".");
  window[obj][fn](...(args || []));
})();
