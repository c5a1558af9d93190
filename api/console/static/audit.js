// The auditor's page: a contract's or an extraction's audit trail, newest first, paginated.

import { $, api, boot, el, fmtDate, guarded, pagination, showError } from "./console.js";

let page = 1;
let totalPages = 1;

function summary(event) {
  const data = event.event_data || {};
  if (event.event_type === "approve") {
    const corrections = data.corrections || [];
    return corrections.length
      ? `Approved with ${corrections.map((c) => `${c.field}: ${c.original ?? "not stated"} → ${c.corrected}${c.reason ? ` (${c.reason})` : ""}`).join("; ")}`
      : "Approved with no corrections";
  }
  if (event.event_type === "api_request") return `${data.method} ${data.path} → ${data.status}`;
  return Object.entries(data).filter(([, v]) => typeof v !== "object").map(([k, v]) => `${k}: ${v}`).join(", ");
}

async function load() {
  const kind = $("#a-kind").value;
  const id = $("#a-id").value.trim();
  if (!id) { showError("Enter the id of a contract or an extraction."); $("#a-id").focus(); return; }
  const params = new URLSearchParams({ page: String(page), page_size: "50" });
  const types = $("#a-types").value.trim();
  if (types) params.set("event_type", types);
  const response = await api(`/api/v1/audit/${kind}/${encodeURIComponent(id)}?${params}`, { raw: true });
  const events = await response.json();
  totalPages = Math.max(pagination(response).total_pages || 1, 1);
  $("#trail-page").textContent = `Page ${page} of ${totalPages}`;
  $("#trail-prev").disabled = page <= 1;
  $("#trail-next").disabled = page >= totalPages;
  $("#trail-rows").replaceChildren(...events.map((e) => el("tr", { className: `event-${e.event_type}` },
    el("td", {}, fmtDate(e.created_at)), el("td", {}, e.event_type), el("td", { className: "mono" }, e.user_id || "—"), el("td", {}, summary(e)))));
  if (!events.length) $("#trail-rows").append(el("tr", {}, el("td", { colSpan: 4 }, "No events.")));
  history.replaceState(null, "", `/audit?${kind}=${encodeURIComponent(id)}`);
}

boot(async () => {
  $("#audit-form").addEventListener("submit", (event) => { event.preventDefault(); page = 1; guarded(load); });
  $("#trail-prev").addEventListener("click", () => { page = Math.max(1, page - 1); guarded(load); });
  $("#trail-next").addEventListener("click", () => { page = Math.min(totalPages, page + 1); guarded(load); });
  const params = new URLSearchParams(window.location.search);
  for (const kind of ["extraction", "contract"]) {
    if (params.get(kind)) {
      $("#a-kind").value = kind;
      $("#a-id").value = params.get(kind);
      await load();
      return;
    }
  }
  $("#a-id").focus();
});
