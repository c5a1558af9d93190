// The agent's page: find a contract, extract and review it, quote a refund, ask about it.

import { $, ApiError, api, boot, download, el, fetchBlob, followJob, guarded, say, showError } from "./console.js";
import { documentView, reviewView, shownValue } from "./review.js";

const REFUND_PATH = /^\/api\/v1\/contracts\/\{[^}]+\}\/refund-quotes$/;
const STATUS_WORDS = { queued: "Queued: waiting for a worker…", running: "Running: reading the contract…", succeeded: "Done.", failed: "Failed." };

let me = null;
let contract = null;
let doc = null;
let chatSession = null;
let refundAvailable = null;

function fact(id, value) {
  $(id).textContent = value === null || value === undefined || value === "" ? "—" : value;
}

function vehicleText(v) {
  if (!v) return null;
  if (v.description) return v.description;
  return [v.year, v.make, v.model, v.vin ? `VIN ${v.vin}` : null].filter(Boolean).join(" ");
}

async function search(event) {
  event.preventDefault();
  const number = $("#account-number").value.trim();
  if (!number) { showError("Enter an account number."); $("#account-number").focus(); return; }
  await guarded(async () => {
    say("Searching…");
    const found = await api("/api/v1/contracts/search", { method: "POST", body: { account_number: number } });
    history.replaceState(null, "", `/agent?contract=${found.contract_id}`);
    await loadContract(found.contract_id);
  }).finally(() => say(""));
}

async function loadContract(id) {
  contract = await api(`/api/v1/contracts/${id}`);
  chatSession = null;
  $("#chat-log").replaceChildren();
  fact("#c-account", contract.account_number);
  fact("#c-customer", contract.customer_name);
  fact("#c-dealer", contract.dealer);
  fact("#c-lender", contract.lender);
  fact("#c-vehicle", vehicleText(contract.vehicle));
  fact("#c-start", contract.contract_start_date);
  fact("#c-term", contract.term_months ? `${contract.term_months} months` : null);
  fact("#c-state", contract.state);
  fact("#c-extraction", contract.extraction_status);
  $("#open-pdf").hidden = !contract.has_pdf;
  const audit = $("#audit-link");
  audit.hidden = !["auditor", "admin"].includes(me.role);
  audit.href = `/audit?contract=${contract.contract_id}`;
  doc.show(contract.document_text);
  $("#contract").hidden = false;
  $("#review").replaceChildren();
  $("#extract").hidden = true;
  if (contract.extraction) {
    await showExtraction(contract.extraction.extraction_id);
  } else {
    $("#extract").hidden = false;
    $("#extract-button").disabled = false;
    if (contract.extraction_job) await follow(contract.extraction_job.job_id);
  }
  await showRefundPanel();
}

async function showExtraction(extractionId) {
  const extraction = await api(`/api/v1/extractions/${extractionId}`);
  $("#extract").hidden = true;
  fact("#c-extraction", extraction.status);
  reviewView($("#review"), doc, extraction, {
    onApproved: (updated) => {
      say("Approved.");
      fact("#c-extraction", updated.status);
      showExtraction(updated.extraction_id);
    },
  });
}

async function follow(jobId) {
  const progress = $("#progress");
  progress.hidden = false;
  $("#extract-button").disabled = true;
  const seen = [];
  const final = await followJob(jobId, (state) => {
    $("#progress-text").textContent = STATUS_WORDS[state.status] || state.status;
    seen.push(state.status);
    progress.dataset.seen = seen.join(" "); // the states this page was told of, in order
  });
  if (final.status === "succeeded") {
    progress.hidden = true;
    await showExtraction(final.result.extraction_id);
    contract.extraction = { extraction_id: final.result.extraction_id };
  } else {
    $("#progress-bar").hidden = true;
    $("#extract-button").disabled = false;
    throw new Error(`The extraction failed: ${final.error || "no reason given"}.`);
  }
}

async function extract() {
  await guarded(async () => {
    $("#extract-button").disabled = true;
    $("#progress-bar").hidden = false;
    $("#progress-text").textContent = "Starting…";
    $("#progress").hidden = false;
    const response = await api("/api/v1/extractions/create", { method: "POST", body: { contract_id: contract.contract_id }, raw: true });
    const body = await response.json();
    if (response.status === 200) { $("#progress").hidden = true; await showExtraction(body.extraction_id); return; }
    await follow(body.job_id);
  });
  if ($("#extract").hidden === false) $("#extract-button").disabled = false;
}

async function openPdf() {
  await guarded(async () => {
    say("Opening the PDF…");
    const url = URL.createObjectURL(await fetchBlob(`/api/v1/contracts/${contract.contract_id}/pdf`));
    const opened = window.open(url, "_blank");
    if (!opened) {
      // A blocked pop-up: offer the file as a link instead.
      const link = el("a", { href: url, download: `GAP-${contract.account_number}.pdf` }, "Download the PDF");
      $("#open-pdf").after(" ", link);
    } else {
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }
    say("");
  });
}

// --- refund quote --------------------------------------------------------------------------

async function refundEndpointExists() {
  if (refundAvailable !== null) return refundAvailable;
  try {
    const spec = await (await fetch("/openapi.json")).json();
    refundAvailable = Object.entries(spec.paths || {}).some(([path, item]) => REFUND_PATH.test(path) && item.post);
  } catch (err) {
    refundAvailable = false;
  }
  return refundAvailable;
}

async function showRefundPanel() {
  $("#refund").hidden = !(await refundEndpointExists());
  $("#refund-result").replaceChildren();
  if (!$("#refund-date").value) $("#refund-date").value = new Date().toISOString().slice(0, 10);
}

function money(value) {
  return value === null || value === undefined ? "—" : `$${value}`;
}

async function quote(event) {
  event.preventDefault();
  const result = $("#refund-result");
  result.replaceChildren();
  const date = $("#refund-date").value;
  if (!date) { showError("Enter the cancellation date."); $("#refund-date").focus(); return; }
  await guarded(async () => {
    let q;
    try {
      q = await api(`/api/v1/contracts/${contract.contract_id}/refund-quotes`, {
        method: "POST", body: { cancellation_date: date, reason: $("#refund-reason").value },
      });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 405 || (err.status === 404 && err.code === "not_found" && /No such resource/.test(err.message)))) {
        refundAvailable = false;
        $("#refund").hidden = true;
        say("Refund quotes are not available on this server.");
        return;
      }
      throw err;
    }
    result.append(
      el("p", { className: q.eligible ? "eligible" : "not-eligible" }, el("strong", {}, q.eligible ? "Eligible for a refund" : "Not eligible"), q.reason_text ? ` — ${q.reason_text}` : ""),
      el("dl", { className: "facts" },
        el("div", {}, el("dt", {}, "Refund"), el("dd", { id: "refund-amount" }, money(q.refund))),
        el("div", {}, el("dt", {}, "Gross refund"), el("dd", {}, money(q.gross_refund))),
        el("div", {}, el("dt", {}, "Fee applied"), el("dd", {}, money(q.fee_applied))),
        el("div", {}, el("dt", {}, "Method"), el("dd", {}, shownValue("refund_calculation_method", q.method))),
        el("div", {}, el("dt", {}, "Factor"), el("dd", {}, q.factor ?? "—")),
      ),
      el("h3", {}, "How it was worked out"),
      el("ol", { className: "steps" }, (q.steps || []).map((s) => el("li", {}, s.text, s.figure !== undefined && s.figure !== null ? el("span", { className: "figure" }, ` ${s.figure}`) : null))),
      (q.warnings || []).length ? el("ul", { className: "warnings" }, q.warnings.map((w) => el("li", {}, typeof w === "string" ? w : w.message || JSON.stringify(w)))) : null,
      q.quote_id ? el("button", { type: "button", onclick: () => guarded(() => download(`/api/v1/refund-quotes/${q.quote_id}/letter.pdf`, `refund-quote-${contract.account_number}.pdf`)) }, "Download the letter") : null,
    );
  });
}

// --- chat ----------------------------------------------------------------------------------

async function ask(event) {
  event.preventDefault();
  const box = $("#chat-message");
  const message = box.value.trim();
  if (!message) { showError("Type a question."); box.focus(); return; }
  const log = $("#chat-log");
  await guarded(async () => {
    const accepted = await api("/api/v1/chat", { method: "POST", body: { message, contract_id: contract.contract_id, session_id: chatSession } });
    chatSession = accepted.session_id;
    box.value = "";
    log.append(el("li", { className: "from-agent" }, el("span", { className: "who-said" }, "You: "), message));
    const pending = el("li", { className: "from-assistant" }, "Thinking…");
    log.append(pending);
    const final = await followJob(accepted.job_id, () => {});
    if (final.status !== "succeeded") { pending.textContent = `No answer: ${final.error || "the assistant failed"}.`; return; }
    const answer = final.result;
    const citations = (answer.sources || []).map((source, i) => el("li", {},
      el("button", { type: "button", className: "citation", onclick: () => doc.highlight(source.start, source.end) }, `Source ${i + 1}: “${source.quote}”`)));
    pending.replaceChildren(el("span", { className: "who-said" }, "Assistant: "), answer.response, citations.length ? el("ul", { className: "citations" }, citations) : null);
  });
}

boot(async (signedIn) => {
  me = signedIn;
  doc = documentView($("#doc"));
  $("#search-form").addEventListener("submit", search);
  $("#extract-button").addEventListener("click", extract);
  $("#open-pdf").addEventListener("click", openPdf);
  $("#refund-form").addEventListener("submit", quote);
  $("#chat-form").addEventListener("submit", ask);
  const id = new URLSearchParams(window.location.search).get("contract");
  if (id) await loadContract(id);
  else $("#account-number").focus();
});
