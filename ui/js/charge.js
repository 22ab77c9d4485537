// Charge screen: big QR, amount, invoice number, live status, countdown, cancel, customer display,
// "pay as the customer" (demo), then paid / instructions / what happened next.
import { t, getLang } from "./i18n.js";
import { $, h, yen, dateTime, statusLabel, methodLabel, showError, showNotices, banner, copy, confirmAction, toast } from "./util.js";
import * as api from "./api.js";
import { putSvg } from "./svg.js";
import { app, show } from "./nav.js";
import { openReceipt } from "./receipt.js";
import { printerReady, printReceipt, printSlip } from "./printer.js";
import { restoreFromInvoice } from "./register.js";


let current = null; // the ChargeScreen from the core
let stopWatch = null;
let countdownTimer = null;

/** A safety net under the tracker's events: one refresh this often (an event lost while asleep). */
const SAFETY_REFRESH_MS = 20000;

/**
 * Live status from the core's payment tracker: the charge screen asks it to follow this invoice
 * closely (`watch_invoice`: its fast lane polls the session) and listens to `invoice-changed`.
 */
function watchInvoice(number, onChange) {
  let stopped = false;
  api.watchInvoice(number).catch(() => {});
  const unlisten = api.on("invoice-changed", (e) => {
    if (!stopped && e.payload.invoice_number === number) onChange(e.payload);
  });
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      onChange(await api.refreshInvoice(number));
    } catch (e) {
      if (e.code === "network") banner(t("error.network"));
      else showError(e);
    } finally {
      busy = false;
    }
  }, SAFETY_REFRESH_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    unlisten.then((f) => f());
    api.unwatchInvoice(number).catch(() => {});
  };
}

export function init() {
  $("#cancel-charge").addEventListener("click", cancel);
  $("#new-sale").addEventListener("click", newSale);
  $("#back-to-cart").addEventListener("click", backToCart);
  $("#retry").addEventListener("click", retry);
  $("#customer-display").addEventListener("click", openCustomerDisplay);
  $("#pay-as-customer").addEventListener("click", () =>
    api.demoPayWindow(current.invoice_number).catch(showError));
  $("#paid-at-store").addEventListener("click", () =>
    api.demoPaidAtStore(current.invoice_number).then(render).catch(showError));
}

export function enter(screen) {
  if (screen) render(screen);
}

export function leave() {
  stopWatching();
  clearInterval(countdownTimer);
  countdownTimer = null;
  current = null;
}

export function relabel() {
  if (current) render(current);
}

export function onKey(e) {
  if (document.querySelector("dialog[open]")) return;
  if (e.key === "Escape" && current && current.status === "pending") {
    e.preventDefault();
    cancel();
  } else if (e.key === "Enter" && current && !e.target.closest("input,textarea,button")) {
    if (!$("#back-to-cart").hidden) {
      e.preventDefault();
      backToCart();
    } else if (current.is_final || !$("#new-sale").hidden) {
      e.preventDefault();
      newSale();
    }
  }
}

function stopWatching() {
  if (stopWatch) stopWatch();
  stopWatch = null;
}

function render(s) {
  const first = !current || current.invoice_number !== s.invoice_number;
  current = s;
  showNotices(s);
  const screenEl = $("#screen-charge");
  screenEl.dataset.status = s.status;
  $("#charge-number").textContent = s.invoice_number;
  $("#charge-amount").textContent = yen(s.amount, s.currency);
  const taxes = [];
  if (s.tax_10) taxes.push(`10% ${yen(s.tax_10)}`);
  if (s.tax_8) taxes.push(`8% ${yen(s.tax_8)}`);
  $("#charge-tax").textContent = taxes.length ? `${t("charge.tax")} ${taxes.join(" · ")}` : "";
  const pill = $("#charge-status");
  pill.textContent = statusLabel(s.status) + (s.payment_method ? ` · ${methodLabel(s.payment_method)}` : "");
  pill.className = `status-pill ${s.status}`;

  const pending = s.status === "pending";
  putSvg($("#charge-qr"), pending ? s.qr_svg : null, t("charge.scan"));
  $("#charge-qr").hidden = !pending;
  $("#charge-scan").hidden = !pending;
  $("#pay-as-customer").hidden = !(pending && app.info?.mode === "demo");
  // Demo: play the customer paying the slip at the store days later.
  $("#paid-at-store").hidden = !(s.status === "awaiting_payment" && app.info?.mode === "demo");
  $("#cancel-charge").hidden = !s.can_cancel || s.status === "awaiting_payment";
  $("#retry").hidden = !s.can_retry;
  // A sale that will not be paid (cancelled, expired, failed) gives its cart back.
  const back = ["cancelled", "expired", "failed"].includes(s.status);
  $("#back-to-cart").hidden = !back;
  $("#new-sale").hidden = !s.is_final && s.status !== "awaiting_payment" && s.status !== "failed";
  $("#new-sale").classList.toggle("ghost", back);
  $("#new-sale").classList.toggle("primary", !back);

  renderTenders(s);
  renderResult(s);
  renderInstructions(s.instructions, s);
  if (first) renderItems(s.invoice_number);

  // The payment page's countdown only while the page can be paid; once a konbini / bank slip
  // exists its own deadline is what counts (shown instead).
  if (pending && !s.instructions) {
    if (first || !countdownTimer) startCountdown(s);
  } else {
    clearInterval(countdownTimer);
    countdownTimer = null;
    const deadline = s.instructions?.deadline;
    const el = $("#charge-countdown");
    el.classList.remove("urgent");
    el.textContent = deadline && !s.is_final ? `${t("deadline")} ${dateTime(deadline)}` : "";
  }
  if (first) setTimeout(() => focusDefault(), 0);
  const keepWatching = s.status === "pending" || s.status === "awaiting_payment";
  if (keepWatching && !stopWatch) {
    stopWatch = watchInvoice(s.invoice_number, (next) => {
      if (current && next.invoice_number === current.invoice_number) render(next);
    });
  } else if (!keepWatching) {
    stopWatching();
  }
}

function renderResult(s) {
  const el = $("#charge-result");
  // The live status refreshes every second: redraw only when something shown changed, so that a
  // button under the cashier's finger (receipt) is not replaced while it is being clicked.
  const key = `${s.invoice_number}|${s.status}|${s.amount}|${getLang()}`;
  if (el.dataset.shown === key) return;
  el.dataset.shown = key;
  const msg = {
    paid: ["✓", t("charge.paid"), t("charge.paid_sub")],
    awaiting_payment: ["…", t("charge.awaiting"), t("charge.awaiting_sub")],
    cancelled: ["×", t("charge.cancelled"), ""],
    expired: ["!", t("charge.expired"), t("charge.next_retry")],
    failed: ["!", t("charge.failed"), t("charge.next_retry")],
    needs_review: ["?", t("status.needs_review"), t("charge.needs_review")],
    refunded: ["↩", t("status.refunded"), ""],
    partially_refunded: ["↩", t("status.partially_refunded"), ""],
  }[s.status];
  el.hidden = !msg;
  el.className = `result ${s.status}`;
  if (msg) {
    el.replaceChildren(
      h("div", { class: "result-icon" }, msg[0]),
      h("div", { class: "result-title" }, msg[1]),
      msg[2] ? h("div", { class: "result-sub" }, msg[2]) : "",
      s.status === "paid" ? h("div", { class: "result-amount" }, yen(s.amount, s.currency)) : "",
      s.status === "paid" && s.change != null ? h("div", { class: "result-change", id: "charge-change" }, `${t("pay.change")} ${yen(s.change)}`) : "",
      s.can_receipt
        ? h("button", { id: "charge-receipt", class: "btn ghost", type: "button", onclick: () => openReceipt(s.invoice_number) }, t("detail.receipt"))
        : "",
      // With a receipt printer: printed by itself ("always"), or here on demand ("ask", "never",
      // and a reprint).
      s.can_receipt && printerReady()
        ? h("button", {
          id: "charge-print-receipt",
          class: window.rejiSettings?.auto_print === "ask" ? "btn primary" : "btn ghost",
          type: "button",
          onclick: () => printReceipt(s.invoice_number),
        }, window.rejiSettings?.auto_print === "ask" ? t("print.ask") : t("charge.print_receipt"))
        : "",
    );
  }
}

/** How the sale is paid (the core's figures): the shop's tenders, お預り and お釣り, and what the
 * payment page asks for the rest (with its method's fee once the payment shows one). */
function renderTenders(s) {
  const el = $("#charge-tenders");
  const rows = [];
  for (const x of s.tenders || []) {
    if (x.type === "shop") rows.push(["ct-shop", x.name, yen(x.amount)]);
  }
  if (s.cash_tendered != null) {
    rows.push(["ct-tendered", t("pay.tendered"), yen(s.cash_tendered)]);
    rows.push(["ct-change", t("pay.change"), yen(s.change)]);
  }
  const counter = (s.tenders || []).some((x) => x.type !== "komoju");
  if (counter && s.komoju_due > 0) rows.push(["ct-rest", t("pay.rest_page"), yen(s.komoju_due)]);
  if (s.fee > 0 && s.to_pay > 0) rows.push(["ct-to-pay", t("pay.to_pay_fee", { fee: yen(s.fee) }), yen(s.to_pay)]);
  el.hidden = rows.length === 0;
  el.replaceChildren(...rows.map(([id, k, v]) => h("div", { class: `ct-row ${id}`, id }, h("dt", {}, k), h("dd", {}, v))));
}

function field(label, value, copyable = true) {
  if (!value) return null;
  return h("div", { class: "field" },
    h("dt", {}, label),
    h("dd", {}, h("span", { class: "value" }, value),
      copyable ? h("button", { class: "mini copy", type: "button", onclick: () => copy(value) }, t("charge.copy")) : ""));
}

function renderInstructions(ins, s) {
  const el = $("#charge-instructions");
  el.hidden = !ins;
  if (!ins) return el.replaceChildren();
  const deadline = ins.deadline ? dateTime(ins.deadline) : null;
  let title, fields;
  if (ins.kind === "konbini") {
    title = `${t("konbini.title")}${ins.store ? ` — ${storeName(ins.store)}` : ""}`;
    fields = [
      field(t("konbini.receipt"), ins.receipt),
      field(t("konbini.confirmation"), ins.confirmation_code),
      s?.to_pay ? field(t("pay.at_store"), yen(s.to_pay), false) : null,
      field(t("deadline"), deadline, false),
    ];
  } else if (ins.kind === "bank_transfer") {
    title = t("bank.title");
    fields = [
      field(t("bank.bank"), ins.bank_name),
      field(t("bank.branch"), ins.branch_name),
      field(t("bank.type"), ins.account_type),
      field(t("bank.number"), ins.account_number),
      field(t("bank.name"), ins.account_name),
      field(t("bank.order"), ins.order_id),
      s?.to_pay ? field(t("pay.at_store"), yen(s.to_pay), false) : null,
      field(t("deadline"), deadline, false),
    ];
  } else {
    title = t("payeasy.title");
    fields = [
      field(t("payeasy.bank_id"), ins.bank_id),
      field(t("payeasy.customer_id"), ins.customer_id),
      field(t("payeasy.confirmation_id"), ins.confirmation_id),
      s?.to_pay ? field(t("pay.at_store"), yen(s.to_pay), false) : null,
      field(t("deadline"), deadline, false),
    ];
  }
  const qr = h("div", { class: "qr small" });
  putSvg(qr, ins.instructions_qr_svg, t("charge.open_instructions"));
  el.replaceChildren(
    h("h3", {}, title),
    h("div", { class: "instr-body" },
      h("dl", { class: "fields" }, ...fields.filter(Boolean)),
      ins.instructions_qr_svg ? qr : ""),
    ins.instructions_url
      ? h("button", { id: "charge-open-instructions", class: "btn ghost", type: "button", onclick: () => api.openInstructions(s.invoice_number).catch(showError) }, t("charge.open_instructions"))
      : "",
    printerReady()
      ? h("button", { id: "charge-print-slip", class: "btn ghost", type: "button", onclick: () => printSlip(s.invoice_number) }, t("charge.print_slip"))
      : "",
  );
}

function storeName(s) {
  return { "seven-eleven": "セブン-イレブン", lawson: "ローソン", "family-mart": "ファミリーマート", ministop: "ミニストップ", "daily-yamazaki": "デイリーヤマザキ", seicomart: "セイコーマート" }[s] || s;
}

function startCountdown(s) {
  clearInterval(countdownTimer);
  const el = $("#charge-countdown");
  if (!s.expires_at || s.status !== "pending") return (el.textContent = "");
  const end = new Date(s.expires_at).getTime();
  const tick = () => {
    const left = Math.max(0, Math.floor((end - Date.now()) / 1000));
    const mm = String(Math.floor(left / 60)).padStart(2, "0");
    const ss = String(left % 60).padStart(2, "0");
    el.textContent = left > 0 ? t("charge.expires_in", { time: `${mm}:${ss}` }) : t("charge.expired_at");
    el.classList.toggle("urgent", left < 120);
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

/** What Enter or a stray click would reach: never the cancel button, never <body>. */
export function focusDefault() {
  for (const id of ["#back-to-cart", "#new-sale", "#customer-display"]) {
    const b = $(id);
    if (b && !b.hidden) return b.focus();
  }
}

/** The charge's lines (and discount) beside the amount, so the cashier sees what is charged. */
async function renderItems(number) {
  const ul = $("#charge-items");
  ul.replaceChildren();
  try {
    const d = await api.invoiceDetail(number);
    if (current?.invoice_number !== number) return;
    ul.replaceChildren(
      ...d.items.map((i) => h("li", {},
        h("span", { class: `rate-tag r${i.tax_rate}` }, i.tax_rate === 0 ? t("rate.0") : `${i.tax_rate}%`),
        h("span", { class: "ci-name" }, `${i.name} × ${i.quantity}`),
        h("span", { class: "ci-amount" }, yen(i.unit_price * i.quantity - (i.discount || 0))))),
      d.order_discount ? h("li", { class: "ci-discount" }, h("span", {}, ""), h("span", { class: "ci-name" }, t("register.discount_total")), h("span", { class: "ci-amount" }, discountShown(d.order_discount))) : "",
      d.dining ? h("li", { class: "ci-dining muted" }, h("span", {}, ""), h("span", { class: "ci-name" }, t(`dining.${d.dining}`)), h("span", {}, "")) : "");
  } catch {
    // The amount and number are shown anyway.
  }
}

function discountShown(d) {
  if (d.startsWith("round")) return t(`discount.${d}`);
  return d.endsWith("%") ? `−${d}` : `−${yen(Number(d))}`;
}

/** Cancelling a live payment asks first (the customer may be paying right now); a cancelled sale's
 * cart goes back to the register as it was. */
async function cancel() {
  if (!current) return;
  const number = current.invoice_number;
  if (current.status === "pending" && !(await confirmAction(t("charge.cancel_confirm", { number }), t("charge.cancel"), t("charge.keep")))) {
    return focusDefault();
  }
  try {
    const s = await api.cancelInvoice(number);
    render(s);
    if (s.status === "cancelled") await backToCart();
  } catch (e) {
    showError(e);
  }
}

/** Back to the register with the sale's cart, rebuilt from the invoice. */
async function backToCart() {
  if (!current) return;
  const number = current.invoice_number;
  api.setCustomerView(null).catch(() => {});
  try {
    await restoreFromInvoice(number);
    toast(t("charge.cart_back", { number }));
  } catch (e) {
    showError(e);
  }
  show("register");
}

async function retry() {
  try {
    render(await api.retryInvoice(current.invoice_number));
  } catch (e) {
    showError(e);
  }
}

async function openCustomerDisplay() {
  try {
    await api.openCustomerDisplay();
    const number = current?.invoice_number ?? null;
    // The new window needs a moment to start listening; tell it twice.
    for (const ms of [700, 2000]) setTimeout(() => api.setCustomerView(number).catch(() => {}), ms);
  } catch (e) {
    showError(e);
  }
}

function newSale() {
  api.setCustomerView(null).catch(() => {});
  show("register");
}
