// History: search by date range, amount range, text, status, method; detail with the timeline;
// cancel and refund with a confirmation step.
import { t } from "./i18n.js";
import { $, h, yen, dateTime, timeOfDay, dateText, statusLabel, methodLabel, showError, today, toast, confirmAction, showNotices, setDate, getDate, fieldMessage, clearFieldMessages, saveAs } from "./util.js";
import * as api from "./api.js";
import { withApproval } from "./staff.js";
import { app, show } from "./nav.js";
import { openReceipt } from "./receipt.js";
import { putSvg } from "./svg.js";

const STATUSES = ["pending", "awaiting_payment", "paid", "failed", "needs_review", "partially_refunded", "refunded", "cancelled", "expired"];

export function init() {
  $("#history-more").addEventListener("click", () => search(true));
  $("#close-day").addEventListener("click", closeDay);
  $("#close-pdf").addEventListener("click", () => saveClose("pdf"));
  $("#close-csv").addEventListener("click", () => saveClose("csv"));
  $("#history-form").addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  $("#h-sync").addEventListener("click", async () => {
    try {
      await api.syncNow();
      toast(t("history.syncing"));
    } catch (e) {
      showError(e);
    }
  });
  // What the tracker learns (a konbini paid, a session expired) shows in the list at once.
  api.on("invoice-changed", () => {
    if ($("#screen-history").hidden) return;
    renderToday();
    if (!$("#detail").open) search();
  });
  $("#h-today").addEventListener("click", () => {
    setDate($("#h-from"), today());
    setDate($("#h-to"), today());
    search();
  });
  fillSelects();
}

function fillSelects() {
  const st = $("#h-status");
  const keep = st.value;
  st.replaceChildren(h("option", { value: "" }, t("history.any")), ...STATUSES.map((s) => h("option", { value: s }, statusLabel(s))));
  st.value = keep;
  const me = $("#h-method");
  const keepM = me.value;
  me.replaceChildren(h("option", { value: "" }, t("history.any")), ...(app.info?.payment_types ?? []).map((m) => h("option", { value: m }, methodLabel(m))));
  me.value = keepM;
}

export function relabel() {
  fillSelects();
}

export function enter() {
  search();
  renderToday();
  setTimeout(() => $("#h-text").focus(), 0);
}

/** An amount filter: empty is none; anything but yen is said beside the field (not ignored). */
function num(input) {
  const s = input.value.trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[,，¥￥円]/g, "");
  if (s === "") return null;
  if (!/^\d+$/.test(s)) {
    fieldMessage(input, t("field.amount"));
    return undefined;
  }
  return Number(s);
}

let todayDate = null;
/** The closed day whose 日計表 the PDF / CSV buttons save (the panel's, or the one before it). */
let closedDate = null;

/** 日計表: closes the day (after a confirmation: its records are locked), then offers its PDF / CSV. */
async function closeDay() {
  if (!(await confirmAction(t("close.confirm", { date: dateText(todayDate ?? "") }), t("close.button")))) return;
  try {
    await withApproval((a) => api.closeDay(todayDate, a));
    toast(t("close.done"));
    renderToday();
  } catch (e) {
    showError(e);
  }
}

async function saveClose(format) {
  const date = closedDate;
  await saveAs(`日計表-${date}.${format}`, format, async (path) => {
    await api.saveClose(date, path, format);
    return t("close.saved", { path });
  });
}

/** Today's total, sales by hour (the core's SVG) and by payment method. */
async function renderToday() {
  let v;
  try {
    v = await api.todayView(null);
  } catch (e) {
    return showError(e);
  }
  const s = v.summary;
  $("#today-title").textContent = `${t("today.title")} ${dateText(s.business_date)}`;
  // Which figure is gross and which net, said on the panel.
  $("#today-total").replaceChildren(
    h("span", { class: "muted small today-gross-label" }, t("today.gross")), " ",
    h("span", { id: "today-gross" }, yen(s.sales_total)),
    h("div", { id: "today-net", class: "small" }, t("today.net", { net: yen(v.net_total) })));
  $("#today-sub").textContent = t("today.sub", {
    n: s.sales_count, refunds: yen(s.refunds_total), pending: yen(s.pending_total), pending_n: s.pending_count,
  });
  putSvg($("#today-hours"), v.hour_chart_svg, t("today.by_hour"));
  todayDate = s.business_date;
  const closed = !!v.closed_at;
  // After an early 精算 the panel shows the next business day; the closed day's 日計表 stays a
  // click away.
  const early = v.earlier_close;
  closedDate = closed ? s.business_date : early ? early.business_date : null;
  $("#close-day").hidden = closed || !v.closable;
  $("#close-pdf").hidden = !closedDate;
  $("#close-csv").hidden = !closedDate;
  $("#close-state").textContent = closed
    ? t("close.closed", { at: dateTime(v.closed_at) })
    : early
      ? t("close.early", { date: dateText(early.business_date), at: dateTime(early.closed_at), next: dateText(s.business_date) })
      : "";
  const max = Math.max(1, ...s.per_method.map((m) => m.total));
  $("#today-methods").replaceChildren(...s.per_method.map((m) =>
    h("li", {},
      h("span", { class: "m-name" }, methodLabel(m.method)),
      h("meter", { min: "0", max: String(max), value: String(m.total) }),
      h("span", { class: "m-total num" }, `${yen(m.total)} (${m.count})`))));
  if (!s.per_method.length) $("#today-methods").append(h("li", { class: "muted" }, t("today.none")));
}

/** Rows asked for: a page of 100 (the core's default), one more page per "more". */
const PAGE = 100;
let pageLimit = PAGE;

async function search(more = false) {
  const from = getDate($("#h-from"));
  const to = from === null ? null : getDate($("#h-to"));
  if (from === null || to === null) return;
  const min = num($("#h-min"));
  const max = min === undefined ? undefined : num($("#h-max"));
  if (min === undefined || max === undefined) return;
  pageLimit = more ? pageLimit + PAGE : PAGE;
  const query = {
    limit: pageLimit,
    from: from || null,
    to: to || null,
    min,
    max,
    text: $("#h-text").value || null,
    status: $("#h-status").value || null,
    method: $("#h-method").value || null,
  };
  try {
    const rows = await api.listInvoices(query);
    renderRows(rows);
    $("#history-more").hidden = rows.length < pageLimit;
  } catch (e) {
    showError(e);
  }
}

function renderRows(rows) {
  const tbody = $("#history-rows");
  const paid = rows.filter((r) => ["paid", "partially_refunded"].includes(r.status));
  const total = paid.reduce((a, r) => a + r.amount - r.refunded_amount, 0);
  $("#history-summary").textContent = rows.length ? t("history.count", { n: rows.length, total: yen(total) }) : t("history.none");
  tbody.replaceChildren(
    ...rows.map((r) =>
      h("tr", { tabindex: "0", class: "hrow", onclick: () => openDetail(r.invoice_number), onkeydown: (e) => e.key === "Enter" && openDetail(r.invoice_number) },
        h("td", { class: "mono" }, r.invoice_number),
        h("td", {}, dateTime(r.created_at)),
        h("td", {}, r.summary),
        h("td", {}, r.customer_name || r.customer_email || ""),
        h("td", {}, tenderText(r)),
        h("td", {}, h("span", { class: `status-pill small ${r.status}` }, statusLabel(r.status))),
        h("td", { class: "num" }, yen(r.amount, r.currency)),
      ),
    ),
  );
}

async function openDetail(number) {
  let d;
  try {
    d = await api.invoiceDetail(number);
  } catch (e) {
    return showError(e);
  }
  const s = d.screen;
  const dlg = $("#detail");
  const refundInput = h("input", { id: "refund-amount", inputmode: "numeric", placeholder: String(d.refund.refundable), dataset: { field: "amount" } });
  const canRefund = d.refund.refundable > 0;
  const bank = d.refund.needs_bank_account && canRefund ? bankForm() : null;
  // Returns by items (返品): how many of each line come back; not for a sale refunded by amount.
  const byItems = canRefund && d.refund.by !== "amount";
  const returned = d.refund.returned || [];
  const qtyInputs = d.items.map((i, n) => {
    const left = i.quantity - (returned[n] || 0);
    return byItems && left > 0
      ? h("input", { class: "ret-qty", inputmode: "numeric", placeholder: "0", size: "3", "aria-label": t("detail.return_qty", { name: i.name }), dataset: { line: String(n + 1), left: String(left), field: "returned_items" } })
      : null;
  });
  const reasonInput = byItems ? h("input", { id: "return-reason", maxlength: "60", placeholder: t("detail.return_reason_placeholder"), dataset: { field: "reason" } }) : null;
  dlg.replaceChildren(
    h("div", { class: "detail-head" },
      h("div", {}, h("div", { class: "muted" }, t("charge.invoice")), h("div", { class: "invoice-number" }, s.invoice_number)),
      h("span", { class: `status-pill ${s.status}` }, statusLabel(s.status)),
      h("div", { class: "amount-mid" }, yen(s.amount, s.currency))),
    h("h3", {}, t("detail.items")),
    h("table", { class: "table compact" },
      byItems ? h("thead", {}, h("tr", {}, h("th", {}), h("th", {}), h("th", {}), h("th", {}), h("th", { class: "num" }, t("detail.return_head")))) : "",
      h("tbody", {}, ...d.items.map((i, n) =>
        h("tr", {}, h("td", {}, i.name), h("td", {}, `${i.tax_rate}%`), h("td", { class: "num" }, `${yen(i.unit_price)} × ${i.quantity}`), h("td", { class: "num" }, yen(i.unit_price * i.quantity)),
          byItems ? h("td", { class: "num" }, qtyInputs[n] || "", returned[n] ? h("div", { class: "muted small" }, t("detail.returned_n", { n: returned[n] })) : "") : "")))),
    byItems
      ? h("div", { class: "return-row" },
        h("label", { class: "inline grow" }, h("span", {}, t("detail.return_reason")), reasonInput),
        h("button", { id: "return-button", class: "btn danger", type: "button", onclick: () => returnItems(s, qtyInputs, reasonInput, bank) }, t("detail.return")))
      : "",
    h("h3", {}, t("detail.timeline")),
    h("ol", { class: "timeline" }, ...d.timeline.map((e) =>
      h("li", { class: `ev ev-${e.kind}` }, h("span", { class: "when" }, dateTime(e.at)), " ",
        h("span", { class: "ev-text" }, eventSentence(e, s)),
        e.known ? "" : h("span", { class: "muted small ev-raw" }, ` (${e.kind})`)))),
    d.refund.requests.length
      ? h("div", {},
        h("h3", {}, t("detail.refund_requests")),
        h("ul", { class: "refund-requests" }, ...d.refund.requests.map((r) =>
          h("li", {}, yen(r.amount, s.currency), " ", h("span", { class: `status-pill small rr-${r.status}` }, t(`refund_request.${r.status}`))))))
      : "",
    bank ? bank.el : "",
    h("div", { class: "dialog-error", role: "alert", hidden: true }),
    h("div", { class: "detail-actions" },
      s.can_receipt
        ? h("button", { id: "detail-receipt", class: "btn ghost", type: "button", onclick: () => openReceipt(s.invoice_number) }, t("detail.receipt")) : "",
      canRefund && d.refund.by !== "items" ? h("label", { class: "inline" }, h("span", {}, t("detail.refund_amount")), refundInput) : "",
      canRefund ? h("button", { id: "refund-button", class: "btn danger", type: "button", onclick: () => refund(s, refundInput.value, bank) },
        t(bank ? "detail.refund_request" : "detail.refund")) : "",
      s.can_cancel ? h("button", { class: "btn danger", type: "button", onclick: () => cancel(s) }, t("charge.cancel")) : "",
      ["pending", "awaiting_payment", "expired", "failed", "cancelled"].includes(s.status)
        ? h("button", { class: "btn ghost", type: "button", onclick: () => { dlg.close(); show("charge", s); } }, t("detail.open")) : "",
      h("button", { class: "btn primary", type: "button", onclick: () => dlg.close() }, t("detail.close"))),
  );
  dlg.showModal();
}

/** The customer's bank account for a konbini / bank transfer / Pay-easy refund request (KOMOJU
 * pays the money back by bank transfer; the core checks every field). */
function bankForm() {
  const f = (id, key, field, attrs = {}) => h("label", {}, h("span", {}, t(key)), h("input", { id, dataset: { field }, ...attrs }));
  const type = h("select", { id: "rr-type", dataset: { field: "account_type" } },
    h("option", { value: "futsu" }, t("bank.futsu")), h("option", { value: "toza" }, t("bank.toza")));
  const el = h("fieldset", { class: "bank-form" },
    h("legend", {}, t("detail.bank_account")),
    h("p", { class: "muted small" }, t("detail.bank_help")),
    f("rr-bank", "bank.bank_name", "bank_name", { maxlength: "40" }),
    f("rr-branch", "bank.branch_number", "branch_number", { inputmode: "numeric", maxlength: "3", placeholder: "123" }),
    h("label", {}, h("span", {}, t("bank.type")), type),
    f("rr-number", "bank.account_number", "account_number", { inputmode: "numeric", maxlength: "7", placeholder: "1234567" }),
    f("rr-kana", "bank.holder_kana", "holder_kana", { placeholder: "ﾔﾏﾀﾞ ﾀﾛｳ" }));
  const value = () => ({
    bank_name: $("#rr-bank", el).value.trim() || null,
    branch_number: $("#rr-branch", el).value.trim() || null,
    account_type: type.value,
    account_number: $("#rr-number", el).value.trim() || null,
    holder_kana: $("#rr-kana", el).value.trim() || null,
  });
  return { el, value };
}

/** A return by items: the quantities typed, checked here for form, then what they are worth from
 * the core (its preview) in the confirm step; the core checks again and gives the money back. */
async function returnItems(s, inputs, reasonInput, bank) {
  const dlg = $("#detail");
  clearFieldMessages(dlg);
  const slot = $(".dialog-error", dlg);
  if (slot) slot.hidden = true;
  const items = [];
  for (const input of inputs.filter(Boolean)) {
    const raw = input.value.trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
    if (raw === "" || raw === "0") continue;
    const q = Number(raw);
    if (!/^\d+$/.test(raw) || q > Number(input.dataset.left)) {
      return fieldMessage(input, t("field.returned_items_qty", { left: input.dataset.left }));
    }
    items.push({ line: Number(input.dataset.line), quantity: q });
  }
  if (!items.length) {
    const first = inputs.find(Boolean);
    return first ? fieldMessage(first, t("field.returned_items_none")) : undefined;
  }
  let per;
  try {
    per = await api.previewReturn(s.invoice_number, items);
  } catch (e) {
    return showError(e);
  }
  const amount = per.reduce((a, r) => a + r.amount, 0);
  const split = per.map((r) => `${r.rate}% ${yen(r.amount, s.currency)}`).join(" / ");
  const key = bank ? "detail.return_request_confirm" : "detail.return_confirm";
  if (!(await confirmAction(t(key, { number: s.invoice_number, amount: yen(amount, s.currency), split }), t("detail.return")))) return;
  try {
    const reason = reasonInput.value.trim() || null;
    const r = await withApproval((a) => api.returnItems(s.invoice_number, items, reason, bank ? bank.value() : null, a));
    toast(t(bank ? "detail.refund_requested" : "detail.returned"));
    showNotices(r);
    $("#detail").close();
    search();
    renderToday();
  } catch (e) {
    showError(e);
  }
}

async function refund(s, value, bank) {
  const dlg = $("#detail");
  clearFieldMessages(dlg);
  const slot = $(".dialog-error", dlg);
  if (slot) slot.hidden = true;
  const digits = value.trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[,¥￥円]/g, "");
  if (digits !== "" && (!/^\d+$/.test(digits) || Number(digits) <= 0)) return fieldMessage($("#refund-amount"), t("field.amount"));
  // The bank account is checked (by the core) before the confirm step.
  if (bank) {
    try {
      await api.checkRefundBank(bank.value());
    } catch (e) {
      return showError(e);
    }
  }
  const amount = digits === "" ? null : Number(digits);
  const shown = yen(amount ?? s.amount - s.refunded_amount);
  const key = bank ? "detail.refund_request_confirm" : "detail.refund_confirm";
  if (!(await confirmAction(t(key, { number: s.invoice_number, amount: shown }), t(bank ? "detail.refund_request" : "detail.refund")))) return;
  try {
    const r = await withApproval((a) => api.refundInvoice(s.invoice_number, amount, bank ? bank.value() : null, a));
    toast(t(bank ? "detail.refund_requested" : "status.refunded"));
    showNotices(r);
    $("#detail").close();
    search();
    // Today's figures change at once (refunds, net).
    renderToday();
  } catch (e) {
    showError(e);
  }
}

async function cancel(s) {
  if (!(await confirmAction(t("detail.cancel_confirm", { number: s.invoice_number }), t("charge.cancel")))) return;
  try {
    showNotices(await api.cancelInvoice(s.invoice_number));
    $("#detail").close();
    search();
  } catch (e) {
    showError(e);
  }
}

/** Who did it, as staff read it: the member's name, the owner (a shop without staff), KOMOJU. */
function whoOf(e) {
  if (e.actor === "staff") return e.who || t("event.who_staff");
  if (e.actor === "owner") return t("event.who_owner");
  if (e.actor === "komoju") return "KOMOJU";
  return t("event.who_system");
}

/** An event of the log as a sentence in the staff's language (never a raw cause); an unknown
 * kind still reads as one, with the kind in small text (`e.known` false). */
function eventSentence(e, s) {
  const who = whoOf(e);
  const time = timeOfDay(e.at);
  const v = { who, time, amount: e.amount != null ? yen(e.amount, s.currency) : "", to: e.to_status ? statusLabel(e.to_status) : "", from: e.from_status ? statusLabel(e.from_status) : "" };
  e.known = true;
  switch (e.kind) {
    case "created":
      return t("event.created", { ...v, amount: yen(s.amount, s.currency) });
    case "status":
      if (e.action === "tender") {
        return s.cash_tendered != null
          ? t("event.cash", { ...v, amount: yen(s.cash_tendered, s.currency), change: yen(s.change ?? 0, s.currency) })
          : t("event.counter", v);
      }
      if (e.actor === "komoju") return t("event.komoju_status", v);
      if (e.action === "cancel") return t("event.cancelled", v);
      return t("event.status", v);
    case "refused":
      return t("event.refused", v);
    case "refund":
      return t("event.refund", v);
    case "refund_sent":
      return t("event.refund_sent", v);
    case "refund_request":
      return t("event.refund_request", v);
    case "return":
      return e.reason ? t("event.return_why", { ...v, reason: e.reason }) : t("event.return", v);
    case "receipt":
      return t("event.receipt", v);
    case "staff":
      return t("event.cancel_requested", v);
    case "correction":
      return t("event.correction", v);
    case "renumbered":
      return t("event.renumbered", v);
    case "print":
      if (e.print) {
        const p = e.print;
        const err = p.error ? `print.error.${p.error}` : null;
        const why = err && t(err) !== err ? t(err) : (p.error || "");
        if (p.what === "drawer") {
          return t(`event.drawer_${p.outcome === "dropped" ? "failed" : p.outcome}`, { ...v, why });
        }
        const what = t(`print.kind.${p.what}`);
        return t(`event.print_${p.outcome}`, { ...v, what, why, reissue: p.reissue ? t("event.print_reissue") : "" });
      }
      e.known = false;
      return t("event.other", v);
    default:
      e.known = false;
      return t("event.other", v);
  }
}

/** How a sale was paid, for the list: the counter's tender (cash, a shop tender) and KOMOJU's method. */
function tenderText(r) {
  const parts = [];
  if (r.tender) parts.push(r.tender === "cash" ? t("method.cash") : r.tender.replace(/^shop:/, ""));
  if (r.payment_method) parts.push(methodLabel(r.payment_method));
  return parts.length ? parts.join(" + ") : "—";
}
