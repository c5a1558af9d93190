// An extraction beside its document: each field's value, badge, confidence and quote; selecting
// a field highlights its passage in the text; one form corrects and approves it.

import { ApiError, api, el, fmtConfidence, fmtDate, FIELDS, METHODS } from "./console.js";

const LABEL = Object.fromEntries(FIELDS);
const METHOD_LABEL = Object.fromEntries(METHODS);

// The document text, with at most one passage highlighted. Offsets count characters (code points)
// of document_text, as the API gives them.
export function documentView(node) {
  let chars = [];
  return {
    show(text) {
      chars = Array.from(text || "");
      node.replaceChildren(text ? text : el("em", {}, "This contract has no document text yet."));
    },
    highlight(start, end) {
      if (start === null || start === undefined || end === null || end === undefined || end > chars.length) return false;
      const mark = el("mark", { id: "highlight" }, chars.slice(start, end).join(""));
      node.replaceChildren(chars.slice(0, start).join(""), mark, chars.slice(end).join(""));
      // Scroll the text, not the page: the fields the reviewer is reading stay where they are.
      node.scrollTop = Math.max(0, mark.offsetTop - node.clientHeight / 2 + mark.offsetHeight / 2);
      return true;
    },
  };
}

export function shownValue(name, value) {
  if (value === null || value === undefined || value === "") return "not stated";
  if (name === "refund_calculation_method") return METHOD_LABEL[value] || value;
  return `$${value}`;
}

function badge(level) {
  return el("span", { className: `badge badge-${level}` }, level);
}

function approvalOf(extraction) {
  const approve = (extraction.audit_trail || []).filter((e) => e.event_type === "approve").pop();
  return approve ? approve.event_data || {} : {};
}

function valueInput(name, value, id) {
  if (name === "refund_calculation_method") {
    const select = el("select", { id, name });
    if (!value) select.append(el("option", { value: "" }, "Not stated"));
    for (const [code, label] of METHODS) select.append(el("option", { value: code, selected: code === value }, label));
    return select;
  }
  return el("input", { id, name, value: value || "", inputmode: "decimal", autocomplete: "off" });
}

// Renders the extraction in `container`; `doc` is a documentView. Resolves nothing: calls
// onApproved(updated) after a successful submit.
export function reviewView(container, doc, extraction, { onApproved, canSubmit = true, idPrefix = "r" } = {}) {
  container.replaceChildren();
  const approved = extraction.status === "approved";
  const fieldsList = el("ul", { className: "fields" });
  const hint = el("p", { className: "help", role: "status" }, "Select a field to see its passage in the document.");
  const buttons = [];
  for (const [name, label] of FIELDS) {
    const field = extraction.fields[name];
    const quote = field.source && field.source.quote;
    const select = el("button", {
      type: "button", className: "field-select", "aria-pressed": "false", dataset: { field: name },
      onclick: () => {
        for (const other of buttons) other.setAttribute("aria-pressed", String(other === select));
        const shown = field.source && doc.highlight(field.source.start, field.source.end);
        hint.textContent = shown ? `${label}: its passage is highlighted in the document.` : `${label}: no passage in the document to show.`;
      },
    }, label);
    buttons.push(select);
    fieldsList.append(el("li", { className: "field", dataset: { field: name } },
      el("div", { className: "field-head" }, select, " ", badge(field.badge), el("span", { className: "confidence" }, `confidence ${fmtConfidence(field.confidence)}`)),
      el("p", { className: "value" }, shownValue(name, field.value)),
      quote ? el("blockquote", { className: "quote" }, quote) : el("p", { className: "quote none" }, "No passage: the document does not state it."),
      field.flags && field.flags.length ? el("p", { className: "flags" }, `Check: ${field.flags.join(", ").replace(/_/g, " ")}`) : null,
    ));
  }
  container.append(hint, fieldsList);

  if (approved) {
    const data = approvalOf(extraction);
    const corrections = data.corrections || [];
    container.append(el("div", { className: "approved", id: "approval" },
      el("h3", {}, "Approved"),
      el("p", {}, `Approved ${fmtDate(extraction.approved_at)}${extraction.approved_by ? ` by user ${extraction.approved_by}` : ""}.`),
      corrections.length
        ? el("ul", {}, corrections.map((c) => el("li", {}, `${LABEL[c.field] || c.field}: ${shownValue(c.field, c.original)} → ${shownValue(c.field, c.corrected)}${c.reason ? ` (${c.reason})` : ""}`)))
        : el("p", {}, "Approved as extracted, with no corrections."),
      data.notes ? el("p", {}, `Notes: ${data.notes}`) : null,
    ));
    return { buttons };
  }
  if (!canSubmit) return { buttons };

  const form = el("form", { className: "review-form", novalidate: true });
  const inputs = {};
  form.append(el("h3", {}, "Review"));
  for (const [name, label] of FIELDS) {
    const value = extraction.fields[name].value;
    const valueId = `${idPrefix}-value-${name}`;
    const reasonId = `${idPrefix}-reason-${name}`;
    inputs[name] = { value: valueInput(name, value, valueId), reason: el("input", { id: reasonId, autocomplete: "off" }), original: value || "" };
    form.append(el("fieldset", {},
      el("legend", {}, label),
      el("label", { htmlFor: valueId }, `${label}: value`), inputs[name].value,
      el("label", { htmlFor: reasonId }, `${label}: reason for a change`), inputs[name].reason,
    ));
  }
  const notesId = `${idPrefix}-notes`;
  const notes = el("textarea", { id: notesId, rows: 2 });
  const submit = el("button", { type: "submit", className: "primary" }, "Approve");
  const outcome = el("div", { className: "outcome", role: "alert" });
  form.append(el("label", { htmlFor: notesId }, "Notes (optional)"), notes, submit, outcome);
  container.append(form);

  const changed = () => FIELDS.filter(([name]) => inputs[name].value.value.trim() !== inputs[name].original);
  form.addEventListener("input", () => { submit.textContent = changed().length ? "Submit corrections and approve" : "Approve"; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return; // submitted once already
    outcome.replaceChildren();
    const corrections = [];
    for (const [name, label] of changed()) {
      const reason = inputs[name].reason.value.trim();
      if (!reason) {
        outcome.replaceChildren(el("p", { className: "error" }, `Give a reason for the change to ${label}.`));
        inputs[name].reason.focus();
        return;
      }
      corrections.push({ field_name: name, corrected_value: inputs[name].value.value.trim(), correction_reason: reason });
    }
    submit.disabled = true;
    try {
      const updated = await api(`/api/v1/extractions/${extraction.extraction_id}/submit`, {
        method: "POST", body: { corrections, notes: notes.value.trim() || null },
      });
      if (onApproved) onApproved(updated);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        outcome.replaceChildren(el("div", { className: "conflict" },
          el("p", {}, el("strong", {}, "Someone else approved this extraction first. "), `Your changes were not saved. (${err.message})`),
          el("button", { type: "button", onclick: async () => onApproved && onApproved(await api(`/api/v1/extractions/${extraction.extraction_id}`)) }, "Show the approved values"),
        ));
      } else {
        submit.disabled = false;
        outcome.replaceChildren(el("p", { className: "error" }, err.message));
      }
    }
  });
  return { buttons, form, firstInput: inputs[FIELDS[0][0]].value, submit };
}
