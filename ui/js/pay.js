// The payment dialog (F9 on the register): the cash handed over (a field, a keypad and quick
// buttons), the shop's own tenders (the `shop_tenders` setting), and KOMOJU's payment page for
// whatever is left. The core works out the change and the rest (`settle_preview`); this module only
// shows them.
import { t } from "./i18n.js";
import { $, h, yen, showError, clearFieldMessages, fieldMessage } from "./util.js";
import * as api from "./api.js";
import { keypad } from "./staff.js";

let state = null; // { total, submit, tenders: [{name, input}], preview }

/** The shop's tenders as the settings list them. */
function shopTenderNames() {
  return (window.rejiSettings?.shop_tenders || "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** Whole yen as the staff type it (digits, commas, ¥, full-width digits); null when no amount,
 * undefined when empty. The core checks again. */
function yenTyped(text) {
  const s = String(text ?? "").trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/^[¥￥]/, "").replace(/円$/, "").replace(/,/g, "");
  if (!s) return undefined;
  return /^\d{1,12}$/.test(s) ? Number(s) : null;
}

function tendersInput() {
  return state.tenders.map((r) => ({ name: r.name, amount: r.input.value }));
}

/** Checks every field where it is typed; returns false (and marks the field) when one is wrong. */
function checkFields() {
  const cash = $("#pay-cash");
  if (yenTyped(cash.value) === null) {
    fieldMessage(cash, t("pay.cash_invalid"));
    return false;
  }
  for (const r of state.tenders) {
    const v = yenTyped(r.input.value);
    if (v === null || v === 0) {
      fieldMessage(r.input, t("pay.tender_invalid", { name: r.name }));
      return false;
    }
  }
  return true;
}

let previewSeq = 0;
async function preview() {
  const seq = ++previewSeq;
  const summary = $("#pay-summary");
  if (yenTyped($("#pay-cash").value) === null || state.tenders.some((r) => yenTyped(r.input.value) === null)) {
    state.preview = null;
    return renderSummary();
  }
  try {
    const p = await api.settlePreview(state.total, $("#pay-cash").value, tendersInput());
    if (seq !== previewSeq) return;
    state.preview = p;
    clearFieldMessages(summary.closest("form"));
  } catch (e) {
    if (seq !== previewSeq) return;
    state.preview = null;
    // A voucher larger than what is left: said beside the field, where it was typed.
    showError(e);
  }
  renderSummary();
}

function renderSummary() {
  const p = state.preview;
  const cash = p?.tenders.find((x) => x.type === "cash");
  const rows = [];
  for (const x of p?.tenders || []) {
    if (x.type === "shop") rows.push([x.name, yen(x.amount), "pay-row-shop"]);
  }
  if (cash) {
    rows.push([t("pay.tendered"), yen(cash.tendered), "pay-row-tendered"]);
    rows.push([t("pay.change"), yen(cash.change), "pay-row-change big"]);
  }
  if (p && p.komoju_due > 0) rows.push([t("pay.rest"), yen(p.komoju_due), "pay-row-rest"]);
  $("#pay-summary").replaceChildren(...rows.map(([k, v, cls]) =>
    h("div", { class: `pay-row ${cls}` }, h("span", {}, k), h("output", {}, v))));
  const btn = $("#pay-submit");
  if (!p || (!cash && !(p.tenders || []).length)) btn.textContent = t("pay.qr_all");
  else if (p.komoju_due === 0) btn.textContent = cash ? t("pay.done_change", { change: yen(cash.change) }) : t("pay.done");
  else btn.textContent = t("pay.rest_qr", { rest: yen(p.komoju_due) });
}

function addTender(name) {
  if (state.tenders.some((r) => r.name === name)) {
    return state.tenders.find((r) => r.name === name).input.focus();
  }
  const input = h("input", { type: "text", inputmode: "numeric", autocomplete: "off", "data-field": "tenders", class: "pay-tender-amount", "aria-label": name });
  const row = h("div", { class: "pay-tender" },
    h("label", { class: "inline-label" }, h("span", {}, name), input),
    h("button", { type: "button", class: "chip-btn", "aria-label": t("register.remove"), onclick: () => {
      state.tenders = state.tenders.filter((r) => r.input !== input);
      row.remove();
      preview();
      $("#pay-cash").focus();
    } }, "×"));
  input.addEventListener("input", preview);
  state.tenders.push({ name, input });
  $("#pay-tender-rows").append(row);
  input.focus();
}

/** Opens the dialog for a sale of `total` yen; `submit({cash, tenders})` charges (errors about
 * a field are shown beside it in the dialog, which stays open until the charge is made). */
export function openPay({ total, submit }) {
  const dlg = $("#pay-dialog");
  state = { total, submit, tenders: [], preview: null };
  $("#pay-total").textContent = yen(total);
  const cash = $("#pay-cash");
  cash.value = "";
  $("#pay-tender-rows").replaceChildren();
  const names = shopTenderNames();
  $("#pay-shop").hidden = names.length === 0;
  $("#pay-shop-buttons").replaceChildren(...names.map((n) =>
    h("button", { type: "button", class: "btn ghost pay-shop-btn", onclick: () => addTender(n) }, n)));
  clearFieldMessages(dlg);
  renderSummary();
  if (!dlg.open) dlg.showModal();
  cash.focus();
}

async function onSubmit(e) {
  e.preventDefault();
  if (!state || !checkFields()) return;
  const btn = $("#pay-submit");
  btn.disabled = true;
  try {
    await state.submit({ cash: $("#pay-cash").value.trim() || null, tenders: tendersInput() });
    $("#pay-dialog").close();
  } catch (err) {
    if (!err?.cancelled) showError(err);
  } finally {
    btn.disabled = false;
  }
}

export function init() {
  const cash = $("#pay-cash");
  $("#pay-keypad").replaceChildren(keypad(cash, ["00"]));
  cash.addEventListener("input", preview);
  $("#pay-form").addEventListener("submit", onSubmit);
  $("#pay-back").addEventListener("click", () => $("#pay-dialog").close());
  $("#pay-exact").addEventListener("click", async () => {
    // Exactly what is left after the shop's tenders (the core's figure).
    try {
      const p = await api.settlePreview(state.total, null, tendersInput());
      cash.value = String(p.komoju_due);
    } catch (err) {
      return showError(err);
    }
    preview();
    cash.focus();
  });
  for (const b of document.querySelectorAll("#pay-dialog [data-cash]")) {
    b.addEventListener("click", () => {
      cash.value = b.dataset.cash;
      preview();
      cash.focus();
    });
  }
}
