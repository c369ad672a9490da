// The admin's webhook page (/admin/webhooks): each site's webhook URL, set or switched off (the signing
// secret is shown once, when set; a row's button switches them off), and a site's delivery log (status, attempts, the receiver's answer).
"use strict";
(function () {
  const {el, $, t, fmtTime, pageError, status, table, siteOptions} = window.AdminKit;
  const say = (text, isError) => status("form-status", text, isError);

  async function showLog(site) {
    const rows = await api(`/api/v1/admin/sites/${site.id}/webhook-deliveries`);
    $("delivery-site").textContent = `· ${site.name}`;
    $("delivery-table").replaceChildren(rows.length ? table([
      [t("admin_event"), (d) => d.event_id], [t("admin_status"), (d) => el("span", {class: d.status === "failed" ? "alarm" : null},
        t(`admin_delivery_status_${d.status}`))],
      [t("admin_attempts"), (d) => d.attempts], [t("admin_next_attempt"), (d) => (d.status === "pending" ? fmtTime(d.next_attempt_at) : "—")],
      [t("admin_last_code"), (d) => d.last_status_code ?? "—"], [t("admin_last_error"), (d) => d.last_error || "—"],
      [t("admin_delivered_at"), (d) => fmtTime(d.delivered_at)]], rows, t("admin_deliveries"))
      : el("p", {}, t("admin_no_deliveries")));
  }

  async function clear(site) {
    if (!window.confirm(t("admin_webhook_clear_confirm"))) return;
    try { await put(site.id, null); } catch (err) { say(`${t("admin_error")}: ${err.message}`, true); }
  }

  function rowActions(s) {
    const button = (label, onclick) => el("button", {type: "button", class: "secondary small",
      "aria-label": `${label} · ${s.name}`, onclick}, label);
    return el("div", {class: "actions"}, button(t("admin_show_log"), () => showLog(s).catch(pageError)),
      s.webhook_url ? button(t("admin_webhook_clear"), () => clear(s)) : null);
  }

  async function load() {
    const sites = await api("/api/v1/admin/sites");
    $("webhook-table").replaceChildren(table([
      [t("admin_site"), (s) => s.name], [t("admin_webhook_url"), (s) => s.webhook_url || t("admin_webhook_none")],
      [t("admin_actions"), rowActions]], sites, t("admin_webhooks")));
    return sites;
  }

  async function put(siteId, url) {
    const out = await api(`/api/v1/admin/sites/${siteId}/webhook`, {method: "PUT", json: {url}});
    $("webhook-secret").replaceChildren(out.secret ? el("p", {class: "token-box"}, t("admin_webhook_secret_once"), el("br"),
      el("code", {id: "webhook-secret-value"}, out.secret)) : "");
    say(t("admin_saved"));
    await load();
  }

  async function webhooksPage() {
    await siteOptions($("webhook-site"));
    const form = $("webhook-form");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      try { await put(form.site_id.value, form.url.value.trim()); form.url.value = ""; }
      catch (err) { say(`${t("admin_error")}: ${err.message}`, true); }
    });
    await load();
  }

  window.AdminKit.pages.webhooks = webhooksPage;
})();
