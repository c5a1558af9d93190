// The reviewer's queue: pending extractions, least confident first, cleared from the keyboard.
// Keys: j / ArrowDown next, k / ArrowUp previous, e edit, a approve, r reload, Escape leaves a field.

import { $, api, boot, el, fmtConfidence, guarded, pagination, say, showError } from "./console.js";
import { documentView, reviewView } from "./review.js";

const PAGE_SIZE = 50;
let items = [];
let index = 0;
let doc = null;
let current = null; // what reviewView returned for the current item
let opening = 0; // the latest open(): an answer for an item left since is dropped
let loading = Promise.resolve(); // the latest open(), which keys that act on the item wait for

function query() {
  const form = $("#queue-filters");
  const params = new URLSearchParams({ status: "pending", sort: "confidence", page_size: String(PAGE_SIZE) });
  for (const name of ["badge", "field", "batch_id"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  const hours = form.elements.older_than_hours.value.trim();
  if (hours) params.set("created_before", new Date(Date.now() - Number(hours) * 3600 * 1000).toISOString());
  return params;
}

async function load() {
  const response = await api(`/api/v1/extractions?${query()}`, { raw: true });
  items = await response.json();
  const total = pagination(response).total ?? items.length;
  $("#queue-count").textContent = `(${total})`;
  index = Math.min(index, Math.max(items.length - 1, 0));
  renderList();
  await open();
}

function renderList() {
  const list = $("#queue-list");
  list.replaceChildren(...items.map((item, i) => el("li", {},
    el("button", {
      type: "button", className: "queue-item", "aria-current": i === index ? "true" : null,
      onclick: () => { index = i; renderList(); guarded(open); },
    },
    el("span", { className: "account" }, item.account_number), " ",
    el("span", { className: `badge badge-${item.badge}` }, item.badge), " ",
    el("span", { className: "confidence" }, fmtConfidence(item.confidence)), " ",
    el("span", { className: "customer" }, item.customer_name || "")),
  )));
  if (!items.length) list.append(el("li", { className: "empty" }, "Nothing to review: the queue is clear."));
}

function open() {
  loading = openItem();
  return loading;
}

async function openItem() {
  const item = items[index];
  const ticket = ++opening;
  current = null; // no key acts on the item being left while the next one loads
  if (!item) {
    $("#item-title").textContent = "Item";
    $("#review").replaceChildren();
    doc.show("");
    current = null;
    return;
  }
  const [extraction, contract] = await Promise.all([
    api(`/api/v1/extractions/${item.extraction_id}`),
    api(`/api/v1/contracts/${item.contract_id}`),
  ]);
  if (ticket !== opening) return;
  $("#item-title").textContent = `${contract.account_number} · ${contract.customer_name || ""}`;
  doc.show(contract.document_text);
  current = reviewView($("#review"), doc, extraction, {
    idPrefix: "q",
    onApproved: async (updated) => {
      if (updated.status === "approved") say(`Approved ${item.account_number}.`);
      items.splice(index, 1);
      await load();
    },
  });
  // Show the least confident field's passage at once: that is what the reviewer checks.
  const weakest = Object.entries(extraction.fields).sort((a, b) => (a[1].confidence ?? 0) - (b[1].confidence ?? 0))[0];
  current.buttons.find((b) => b.dataset.field === weakest[0])?.click();
}

function move(step) {
  if (!items.length) return;
  index = Math.max(0, Math.min(items.length - 1, index + step));
  renderList();
  guarded(open);
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target.matches && target.matches("input, textarea, select");
  if (typing) {
    if (event.key === "Escape") target.blur();
    return;
  }
  const actions = {
    j: () => move(1), ArrowDown: () => move(1),
    k: () => move(-1), ArrowUp: () => move(-1),
    e: () => loading.then(() => current && current.firstInput && current.firstInput.focus()),
    a: () => loading.then(() => current && current.form && current.form.requestSubmit()),
    r: () => guarded(load),
  };
  const action = actions[event.key];
  if (action) {
    event.preventDefault();
    showError(null);
    action();
  }
}

boot(async () => {
  doc = documentView($("#doc"));
  $("#queue-filters").addEventListener("submit", (event) => { event.preventDefault(); index = 0; guarded(load); });
  document.addEventListener("keydown", onKey);
  await load();
});
