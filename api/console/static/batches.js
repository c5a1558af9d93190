// The operator's page: start a batch from a file or for every unextracted contract, follow the
// batches live, see failures by reason, download results as CSV.

import { $, api, boot, download, el, fmtDate, guarded, pagination, say, showError } from "./console.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LIVE = new Set(["queued", "running"]);
let page = 1;
let totalPages = 1;
let selected = null;
let timer = null;

// The file's entries: contract ids or account numbers (one kind per file).
export function parseEntries(text) {
  const entries = text.split(/[\n,;]+/).map((s) => s.trim().replace(/^"|"$/g, "")).filter(Boolean);
  const ids = entries.filter((e) => UUID.test(e));
  const numbers = entries.filter((e) => !UUID.test(e) && !/^(account|account_number|contract_id|id)$/i.test(e));
  if (ids.length && numbers.length) throw new Error("The file mixes contract ids and account numbers; give one kind per file.");
  if (!ids.length && !numbers.length) throw new Error("The file has no account numbers or contract ids.");
  return ids.length ? { contract_ids: ids } : { account_numbers: numbers };
}

async function start(event) {
  event.preventDefault();
  const all = $("#batch-all").checked;
  const file = $("#batch-file").files[0];
  if (all === Boolean(file)) { showError("Choose a file, or tick “Every contract not yet extracted” (not both)."); return; }
  await guarded(async () => {
    const body = all ? { all_unextracted: true } : parseEntries(await file.text());
    const batch = await api("/api/v1/batches", { method: "POST", body });
    say(batch.status === "queued"
      ? "Batch started: a worker is writing its jobs; the counts follow."
      : `Batch started: ${batch.total} contracts, ${batch.skipped} skipped.`);
    $("#batch-form").reset();
    page = 1;
    selected = batch.batch_id;
    await refresh();
  });
}

function progressCell(b) {
  const label = `${b.done} of ${b.total} done (${b.percent}%)`;
  return el("td", {}, el("progress", { max: 100, value: b.percent, "aria-label": label }), " ", el("span", { className: "small" }, label));
}

async function refresh() {
  const response = await api(`/api/v1/batches?page=${page}&page_size=10`, { raw: true });
  const batches = await response.json();
  const info = pagination(response);
  totalPages = Math.max(info.total_pages || 1, 1);
  $("#batches-page").textContent = `Page ${page} of ${totalPages}`;
  $("#batches-prev").disabled = page <= 1;
  $("#batches-next").disabled = page >= totalPages;
  $("#batch-rows").replaceChildren(...batches.map((b) => el("tr", { dataset: { batch: b.batch_id }, className: b.batch_id === selected ? "selected" : null },
    el("td", {}, fmtDate(b.created_at)),
    el("td", { className: `batch-status ${b.status}` }, b.status),
    progressCell(b),
    el("td", {}, b.succeeded), el("td", {}, b.failed), el("td", {}, b.total),
    el("td", { className: "actions" },
      el("button", { type: "button", onclick: () => { selected = b.batch_id; guarded(refresh); } }, "Details", el("span", { className: "visually-hidden" }, ` of the batch started ${fmtDate(b.created_at)}`)),
      " ",
      el("button", { type: "button", onclick: () => guarded(() => download(`/api/v1/batches/${b.batch_id}/results.csv`, `batch-${b.batch_id}.csv`)) }, "Download CSV", el("span", { className: "visually-hidden" }, ` of the batch started ${fmtDate(b.created_at)}`)),
    ),
  )));
  if (!batches.length) $("#batch-rows").append(el("tr", {}, el("td", { colSpan: 7 }, "No batches yet.")));
  let live = batches.some((b) => LIVE.has(b.status));
  if (selected) live = (await detail(selected)) || live;
  clearTimeout(timer);
  if (live) timer = setTimeout(() => guarded(refresh), 1000);
}

async function detail(id) {
  const b = await api(`/api/v1/batches/${id}`);
  const facts = [
    ["Status", b.status], ["Total", b.total], ["Skipped", b.skipped], ["Queued", b.queued], ["Running", b.running],
    ["Succeeded", b.succeeded], ["Failed", b.failed], ["Done", `${b.percent}%`],
    ["Throughput", b.throughput_per_second ? `${b.throughput_per_second}/s` : "—"],
    ["Time left", b.eta_seconds ? `${Math.round(b.eta_seconds)} s` : "—"],
    ["Started", fmtDate(b.started_at)], ["Finished", fmtDate(b.finished_at)],
  ];
  $("#detail-title").textContent = `Batch ${b.batch_id}`;
  $("#detail-facts").replaceChildren(...facts.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
  $("#reason-rows").replaceChildren(...(b.failure_reasons.length
    ? b.failure_reasons.map((r) => el("tr", {}, el("td", {}, r.error || "no reason given"), el("td", {}, r.count)))
    : [el("tr", {}, el("td", { colSpan: 2 }, "No failures."))]));
  $("#batch-detail").hidden = false;
  return LIVE.has(b.status);
}

boot(async () => {
  $("#batch-form").addEventListener("submit", start);
  $("#batches-prev").addEventListener("click", () => { page = Math.max(1, page - 1); guarded(refresh); });
  $("#batches-next").addEventListener("click", () => { page = Math.min(totalPages, page + 1); guarded(refresh); });
  await refresh();
});
