// The console's core: sign-in (API token or single sign-on with PKCE), the API client, the
// role-aware page shell, and following a job. Pages import what they need and call boot().

const TOKEN_KEY = "cre.token";
const METHOD_KEY = "cre.signedInWith";
const PKCE_KEY = "cre.pkce";
const TERMINAL = new Set(["succeeded", "failed"]);

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.code = body && body.code;
    this.body = body || {};
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);

// A DOM element: el("p", {className: "x"}, "text", child...). Text is always text, never HTML.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== "role" && !key.startsWith("aria")) node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);

export function signOut(message, failed = false) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(METHOD_KEY);
  if (message) sessionStorage.setItem("cre.signOutMessage", JSON.stringify({ message, failed }));
  window.location.assign(window.location.pathname + window.location.search);
}

// Calls the API with the user's token; the error's message is the JSON error body's `message`.
// `bearer` tries a token not yet kept (the sign-in form); a 401 on the kept one signs out.
export async function api(path, { method = "GET", body, raw = false, headers = {}, bearer } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  const credential = bearer || token();
  if (credential) init.headers.Authorization = `Bearer ${credential}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { message: "The server cannot be reached. Check your connection and try again." });
  }
  if (!response.ok) {
    let errorBody = null;
    try { errorBody = await response.json(); } catch (err) { /* not JSON: the status says it */ }
    if (response.status === 401 && !bearer && token()) signOut((errorBody && errorBody.message) || "Your sign-in has expired; sign in again.", true);
    throw new ApiError(response.status, errorBody);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

// X-Pagination of a paginated answer: {total, total_pages, page, ...}.
export function pagination(response) {
  try { return JSON.parse(response.headers.get("X-Pagination") || "{}"); } catch (err) { return {}; }
}

export function showError(error) {
  const box = $("#error");
  if (!error) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

export function say(text) {
  $("#status").textContent = text || "";
}

// Runs an async action with its errors shown in the page's alert (in the error body's words).
export async function guarded(action) {
  showError(null);
  try {
    return await action();
  } catch (err) {
    showError(err);
    return undefined;
  }
}

export function fmtDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function fmtConfidence(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

export const FIELDS = [
  ["gap_insurance_premium", "GAP premium"],
  ["refund_calculation_method", "Refund method"],
  ["cancellation_fee", "Cancellation fee"],
];
export const METHODS = [
  ["pro_rata", "Pro rata"],
  ["rule_of_78", "Rule of 78"],
  ["short_rate", "Short rate"],
  ["actuarial", "Actuarial"],
];

// --- following a job ---------------------------------------------------------------------------

// Reads the job's server-sent events with fetch (EventSource cannot send the Authorization
// header, and tokens never go in URLs); falls back to polling when the stream is unavailable.
export async function followJob(jobId, onUpdate) {
  try {
    const response = await api(`/api/v1/jobs/${jobId}/events`, { raw: true, headers: { Accept: "text/event-stream" } });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let last = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart()).join("\n");
        if (!data) continue; // a keep-alive comment
        last = JSON.parse(data);
        onUpdate(last);
        if (TERMINAL.has(last.status)) { reader.cancel().catch(() => {}); return last; }
      }
    }
    if (last && TERMINAL.has(last.status)) return last;
  } catch (err) {
    if (err instanceof ApiError && err.status !== 0 && err.status < 500) throw err;
  }
  return pollJob(jobId, onUpdate);
}

async function pollJob(jobId, onUpdate) {
  for (;;) {
    const state = await api(`/api/v1/jobs/${jobId}`);
    onUpdate(state);
    if (TERMINAL.has(state.status)) return state;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

// --- downloads through the token -------------------------------------------------------------

// Fetches a file with the bearer header and hands it to the browser (open or save).
export async function fetchBlob(path) {
  const response = await api(path, { raw: true, headers: { Accept: "*/*" } });
  return response.blob();
}

export async function download(path, filename) {
  const url = URL.createObjectURL(await fetchBlob(path));
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// --- single sign-on: authorization code flow with PKCE ----------------------------------------

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

export const redirectUri = () => `${window.location.origin}/sign-in/callback`;

async function startSso() {
  const sso = await (await fetch("/console/sso.json")).json();
  if (!sso.enabled) throw new Error(sso.message || "Single sign-on is not configured.");
  const verifier = randomText(48);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = randomText(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo: window.location.pathname + window.location.search }));
  const query = new URLSearchParams({
    response_type: "code", client_id: sso.client_id, redirect_uri: redirectUri(), scope: sso.scope,
    state, code_challenge: challenge, code_challenge_method: "S256",
  });
  window.location.assign(`${sso.authorization_endpoint}?${query}`);
}

// The callback page's side: check the state, trade the code (and the verifier) for tokens.
export async function finishSso() {
  const params = new URLSearchParams(window.location.search);
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", window.location.pathname); // the code leaves the address bar
  if (params.get("error")) throw new Error(`The identity provider refused the sign-in: ${params.get("error_description") || params.get("error")}.`);
  if (!saved || !params.get("code") || params.get("state") !== saved.state) throw new Error("This sign-in was not started here or has expired; sign in again.");
  const sso = await (await fetch("/console/sso.json")).json();
  if (!sso.enabled) throw new Error(sso.message || "Single sign-on is not configured.");
  let response;
  try {
    response = await fetch(sso.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
        client_id: sso.client_id, code_verifier: saved.verifier,
      }),
    });
  } catch (err) {
    throw new Error("The identity provider cannot be reached to finish the sign-in.");
  }
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`The identity provider refused the sign-in: ${tokens.error_description || tokens.error || response.status}.`);
  const bearer = tokens.id_token || tokens.access_token;
  if (!bearer) throw new Error("The identity provider sent no token.");
  sessionStorage.setItem(TOKEN_KEY, bearer);
  sessionStorage.setItem(METHOD_KEY, "oidc");
  return saved.returnTo || "/";
}

// --- the page shell ----------------------------------------------------------------------------

function showSignIn(message) {
  $("#sign-in").hidden = false;
  $("#page").hidden = true;
  if (message) showError(message);
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("#api-token").value.trim();
    if (!value) { showError("Enter an API token."); $("#api-token").focus(); return; }
    try {
      await api("/api/v1/me", { bearer: value });
    } catch (err) {
      showError(err);
      $("#api-token").focus();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    sessionStorage.setItem(METHOD_KEY, "token");
    window.location.reload();
  });
  const sso = $("#sso-sign-in");
  if (sso) sso.addEventListener("click", () => guarded(startSso));
  $("#api-token").focus();
}

function showRole(me) {
  const roleOf = (node) => (node.dataset.roles || "").split(" ").filter(Boolean);
  for (const node of document.querySelectorAll("[data-roles]")) {
    if (node === document.body) continue;
    const roles = roleOf(node);
    node.hidden = roles.length > 0 && !roles.includes(me.role);
  }
  $("#who-name").textContent = me.full_name || me.email;
  $("#who-role").textContent = me.role;
  $("#who").hidden = false;
  $("#sign-out").addEventListener("click", () => signOut("You are signed out."));
}

// Signs the page in (or shows the sign-in form), shows what the role may use, then runs the page.
export async function boot(init) {
  const farewell = JSON.parse(sessionStorage.getItem("cre.signOutMessage") || "null");
  sessionStorage.removeItem("cre.signOutMessage");
  if (!token()) {
    showSignIn();
    if (farewell && farewell.failed) showError(farewell.message);
    else if (farewell) say(farewell.message);
    return;
  }
  let me;
  try {
    me = await api("/api/v1/me");
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(err.message);
    return;
  }
  showRole(me);
  const needed = (document.body.dataset.roles || "").split(" ").filter(Boolean);
  if (needed.length && !needed.includes(me.role)) {
    const refused = $("#refused");
    refused.append(
      el("h2", {}, "Not for your role"),
      el("p", {}, `Your role (${me.role}) may not use this page; it is for: ${needed.join(", ")}.`),
      el("p", {}, el("a", { href: "/" }, "Back to the console")),
    );
    refused.hidden = false;
    return;
  }
  $("#page").hidden = false;
  if (init) await guarded(() => init(me));
}
