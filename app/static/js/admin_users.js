// The admin's users page: create accounts; set the name and title printed on signed reports; disable an
// account, reset its password (the one-time temporary password is shown once, here, and never again) and
// end its sessions. Every action is an admin API call, audited there.
"use strict";
(function () {
  const {el, $, t, status, table, pageError, siteOptions} = window.AdminKit;
  const say = (text, isError) => status("user-status", text, isError);

  function rowActions(u, reload) {
    const who = u.display_name || u.username;
    const button = (label, onclick, cls = "secondary small") =>
      el("button", {type: "button", class: cls, "aria-label": `${label} · ${who}`, onclick}, label);
    const act = async (fn) => {
      try { await fn(); pageError(null); } catch (err) { say(`${t("admin_error")}: ${err.message}`, true); }
      await reload();
    };
    return el("div", {class: "actions"},
      button(t("admin_edit"), () => openEditor(u, reload)),
      u.active ? button(t("admin_reset_password"), () => act(() => resetPassword(u))) : null,
      u.active ? button(t("admin_revoke_sessions"), () => act(async () => {
        await api(`/api/v1/admin/users/${u.id}/revoke-sessions`, {method: "POST"});
        say(t("admin_revoke_sessions_done"));
      })) : null,
      u.active ? button(t("admin_disable"), () => act(async () => {
        if (!window.confirm(t("admin_disable_confirm"))) return;
        const out = await api(`/api/v1/admin/users/${u.id}/disable`, {method: "POST"});
        say(t("admin_disabled_done", {n: out.claims_ended}));
      })) : null);
  }

  // The temporary password goes into the page once; reloading the list or the page does not bring it back.
  async function resetPassword(u) {
    if (!window.confirm(t("admin_reset_confirm"))) return;
    const out = await api(`/api/v1/admin/users/${u.id}/reset-password`, {method: "POST"});
    $("temp-password").replaceChildren(el("p", {class: "token-box"},
      `${u.display_name || u.username} (${u.username}) · ${t("admin_temp_password_once")}`, el("br"),
      el("code", {id: "temp-password-value"}, out.temporary_password)));
    say("");
  }

  function openEditor(u, reload) {
    const form = $("edit-form");
    $("edit-card").hidden = false;
    $("edit-username").textContent = `· ${u.username}`;
    form.display_name.value = u.display_name || "";
    form.title.value = u.title || "";
    form.onsubmit = async (e) => {
      e.preventDefault();
      try {
        await api(`/api/v1/admin/users/${u.id}`, {method: "PATCH", json: {
          display_name: form.display_name.value.trim(), title: form.title.value.trim()}});
        $("edit-card").hidden = true; say(t("admin_saved")); await reload();
      } catch (err) { say(`${t("admin_error")}: ${err.message}`, true); }
    };
    form.display_name.focus();
  }

  async function usersPage() {
    const sites = await siteOptions($("user-site"));
    const names = new Map(sites.map((s) => [s.id, s.name]));
    const load = async () => {
      const users = await api("/api/v1/admin/users");
      $("user-table").replaceChildren(table([
        [t("admin_username"), (u) => u.username], [t("admin_display_name"), (u) => u.display_name || "—"],
        [t("admin_title_col"), (u) => u.title || "—"],
        [t("admin_site"), (u) => u.site_name], [t("admin_role"), (u) => t(`admin_role_${u.role}`)],
        [t("admin_pools"), (u) => u.reader_pools.map((p) => t(`admin_pool_${p}`)).join("、") || "—"],
        [t("admin_covered_sites"), (u) => u.role === "reader" ? (u.covered_site_ids.map((i) => names.get(i) || i).join("、") || "—") : ""],
        [t("admin_user_state"), (u) => el("span", {class: u.active ? null : "alarm"}, t(u.active ? "admin_state_active" : "admin_state_disabled"))],
        [t("admin_actions"), (u) => rowActions(u, load)]], users, t("admin_users")));
    };
    $("edit-cancel").addEventListener("click", () => { $("edit-card").hidden = true; });
    const form = $("user-form");
    const syncPools = () => { $("user-pools").disabled = form.role.value !== "reader"; };
    form.role.addEventListener("change", syncPools);
    syncPools();
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      const pools = [...form.querySelectorAll("input[name=reader_pools]:checked")].map((c) => c.value);
      try {
        await api("/api/v1/admin/users", {method: "POST", json: {
          site_id: Number(form.site_id.value), username: form.username.value.trim(), password: form.password.value,
          role: form.role.value, display_name: form.display_name.value.trim(), title: form.title.value.trim(),
          reader_pools: form.role.value === "reader" ? pools : []}});
        status("form-status", t("admin_created_ok"));
        for (const name of ["password", "username", "display_name", "title"]) form[name].value = "";
        await load();
      } catch (err) { status("form-status", `${t("admin_error")}: ${err.message}`, true); }
    });
    await load();
  }

  window.AdminKit.pages.users = usersPage;
})();
