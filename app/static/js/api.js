// Calls the ecghub API from pages with the session cookie. Errors are RFC 9457 problem+json:
// api() throws an Error whose message is the problem's detail, ready to show to a person.
"use strict";
// Page facts (language, role) come as JSON data, not inline script: the CSP allows no inline script.
window.ECGHUB = JSON.parse((document.getElementById("ecghub-page") || {}).textContent || "{}");
async function api(path, {method = "GET", json, body, headers = {}} = {}) {
  const opts = {method, credentials: "same-origin", headers: {"X-Requested-With": "fetch", ...headers}};
  if (json !== undefined) { opts.body = JSON.stringify(json); opts.headers["Content-Type"] = "application/json"; }
  else if (body !== undefined) { opts.body = body; }
  const resp = await fetch(path, opts);
  if (resp.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("401"); }
  if (resp.status === 204) return null;
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) { const e = new Error((data && data.detail) || resp.statusText); e.status = resp.status; e.problem = data; throw e; }
  return data;
}
window.api = api;

// Builds DOM nodes without innerHTML (no injection from API data): el("td", {class: "x"}, "text", child).
// Attributes: "class", "text" (textContent), on* (event listeners); null/false values are skipped.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
window.el = el;
