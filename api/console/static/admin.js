// The admin's page: users (list, create, deactivate) and API tokens (list, create, revoke).

import { $, api, boot, el, fmtDate, guarded, pagination, say, showError } from "./console.js";

let page = 1;
let totalPages = 1;
let me = null;
const emails = new Map();

async function loadUsers() {
  const response = await api(`/api/v1/admin/users?page=${page}&page_size=20`, { raw: true });
  const users = await response.json();
  totalPages = Math.max(pagination(response).total_pages || 1, 1);
  $("#users-page").textContent = `Page ${page} of ${totalPages}`;
  $("#users-prev").disabled = page <= 1;
  $("#users-next").disabled = page >= totalPages;
  for (const u of users) emails.set(u.user_id, u.email);
  $("#user-rows").replaceChildren(...users.map((u) => el("tr", { dataset: { user: u.email } },
    el("td", {}, u.email), el("td", {}, u.username), el("td", {}, u.role), el("td", {}, u.is_active ? "yes" : "no"),
    el("td", {}, u.is_active && u.user_id !== me.user_id
      ? el("button", { type: "button", onclick: () => deactivate(u) }, "Deactivate", el("span", { className: "visually-hidden" }, ` ${u.email}`))
      : ""),
  )));
  $("#t-user").replaceChildren(...users.filter((u) => u.is_active).map((u) => el("option", { value: u.user_id, selected: u.user_id === me.user_id }, u.email)));
}

async function deactivate(user) {
  await guarded(async () => {
    await api(`/api/v1/admin/users/${user.user_id}`, { method: "PUT", body: { is_active: false } });
    say(`${user.email} is deactivated.`);
    await loadUsers();
  });
}

async function createUser(event) {
  event.preventDefault();
  const form = event.target;
  const body = { email: form.elements.email.value.trim(), username: form.elements.username.value.trim(), role: form.elements.role.value };
  if (form.elements.full_name.value.trim()) body.full_name = form.elements.full_name.value.trim();
  if (!body.email || !body.username) { showError("Give the new user's e-mail and username."); return; }
  await guarded(async () => {
    const user = await api("/api/v1/admin/users", { method: "POST", body });
    say(`${user.email} is created (${user.role}).`);
    form.reset();
    await loadUsers();
  });
}

async function loadTokens() {
  const tokens = await api("/api/v1/tokens?all_users=true");
  $("#token-rows").replaceChildren(...tokens.map((t) => el("tr", {},
    el("td", {}, t.name || "—"), el("td", {}, emails.get(t.user_id) || t.user_id), el("td", { className: "mono" }, t.prefix),
    el("td", {}, t.expires_at ? fmtDate(t.expires_at) : "never"), el("td", {}, t.last_used_at ? fmtDate(t.last_used_at) : "never"),
    el("td", {}, el("button", { type: "button", onclick: () => revoke(t) }, "Revoke", el("span", { className: "visually-hidden" }, ` ${t.name || t.prefix}`))),
  )));
  if (!tokens.length) $("#token-rows").append(el("tr", {}, el("td", { colSpan: 6 }, "No active tokens.")));
}

async function revoke(t) {
  await guarded(async () => {
    await api(`/api/v1/tokens/${t.token_id}`, { method: "DELETE" });
    say(`Token ${t.name || t.prefix} is revoked.`);
    await loadTokens();
  });
}

async function createToken(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.elements.name.value.trim();
  if (!name) { showError("Give the token a name."); form.elements.name.focus(); return; }
  const body = { name, user_id: form.elements.user_id.value };
  if (form.elements.expires_days.value) body.expires_days = Number(form.elements.expires_days.value);
  await guarded(async () => {
    const created = await api("/api/v1/tokens", { method: "POST", body });
    $("#new-token-value").value = created.token;
    $("#new-token").hidden = false;
    $("#new-token-value").select();
    form.elements.name.value = "";
    await loadTokens();
  });
}

boot(async (signedIn) => {
  me = signedIn;
  $("#user-form").addEventListener("submit", createUser);
  $("#token-create-form").addEventListener("submit", createToken);
  $("#users-prev").addEventListener("click", () => { page = Math.max(1, page - 1); guarded(loadUsers); });
  $("#users-next").addEventListener("click", () => { page = Math.min(totalPages, page + 1); guarded(loadUsers); });
  await loadUsers();
  await loadTokens();
});
