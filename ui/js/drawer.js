// The drawer's day (F6): open with a float counted by denomination, 入金 / 出金 with a reason,
// 点検 (X report: look only, any time) and 精算 (Z report: count, expected vs counted, 過不足,
// confirmed, then final). Every figure is the core's (`drawer_check` / `drawer_close`); the count's
// running total is only shown here.
import { t } from "./i18n.js";
import { $, $$, h, yen, dateTime, showError, toast, fieldMessage, clearFieldMessages, confirmAction, methodLabel, saveAs } from "./util.js";
import * as api from "./api.js";
import { withApproval } from "./staff.js";

const DENOMS = [10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1];

let report = null; // the last DrawerReport shown
let counting = null; // "open" | "close" while the count form is shown

export function init() {
  $("#drawer-check").addEventListener("click", () => check(true));
  $("#drawer-open-btn").addEventListener("click", () => startCount("open"));
  $("#drawer-close-btn").addEventListener("click", () => startCount("close"));
  $("#count-back").addEventListener("click", stopCount);
  $("#count-form").addEventListener("submit", submitCount);
  $("#move-form").addEventListener("submit", submitMove);
  for (const b of $$("#move-form [data-reason]")) {
    b.addEventListener("click", () => {
      $("#move-reason").value = t(b.dataset.reason);
      $("#move-reason").focus();
    });
  }
  $("#count-grid").replaceChildren(...DENOMS.map((d) => h("label", { class: "count-cell" },
    h("span", {}, yen(d)),
    h("input", { type: "text", inputmode: "numeric", autocomplete: "off", "data-denom": String(d), id: `count-${d}`, placeholder: "0", oninput: countTotal }))));
  relabel();
}

export function enter() {
  stopCount();
  check(false);
}

export function relabel() {
  for (const b of $$("#move-form [data-reason]")) b.textContent = t(b.dataset.reason);
  if (report) render(report);
}

/** 点検: the drawer's figures now (changes nothing). */
async function check(announce) {
  try {
    render(await api.drawerCheck());
    if (announce) toast(t("drawer.checked"));
  } catch (e) {
    showError(e);
  }
}

function startCount(kind) {
  counting = kind;
  clearFieldMessages($("#count-form"));
  for (const i of $$("#count-grid input")) i.value = "";
  $("#count-title").textContent = t(kind === "open" ? "drawer.count_float" : "drawer.count_close");
  $("#count-ok").textContent = t(kind === "open" ? "drawer.open" : "drawer.close_next");
  $("#count-form").hidden = false;
  renderButtons();
  countTotal();
  $("#count-10000").focus();
}

function stopCount() {
  counting = null;
  $("#count-form").hidden = true;
  $("#move-form").hidden = !(report && report.session);
  renderButtons();
}

/** The counts typed, checked where they are typed; null (and a message beside the field) when one
 * is no whole number. */
function counts() {
  const out = {};
  for (const i of $$("#count-grid input")) {
    const v = i.value.trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
    if (!v) continue;
    if (!/^\d{1,6}$/.test(v) || Number(v) > 100000) {
      fieldMessage(i, t("drawer.count_invalid"));
      return null;
    }
    out[i.dataset.denom] = Number(v);
  }
  return out;
}

function countTotal() {
  let total = 0;
  for (const i of $$("#count-grid input")) {
    const v = Number(i.value.trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)));
    if (Number.isInteger(v) && v > 0) total += v * Number(i.dataset.denom);
  }
  $("#count-total").textContent = yen(total);
}

async function submitCount(e) {
  e.preventDefault();
  const c = counts();
  if (!c) return;
  try {
    if (counting === "open") {
      render(await withApproval((a) => api.drawerOpen(c, a)));
      toast(t("drawer.opened"));
    } else {
      // The confirm step: what the drawer should hold against the count, before it is final.
      const now = await api.drawerCheck();
      const counted = $("#count-total").textContent;
      const ok = await confirmAction(
        t("drawer.close_confirm", { expected: yen(now.expected_cash), counted }),
        t("drawer.close"), t("common.back"));
      if (!ok) return $("#count-ok").focus();
      const r = await withApproval((a) => api.drawerClose(c, a));
      render(r);
      toast(t("drawer.closed_toast"));
    }
    stopCount();
    $("#drawer-check").focus();
  } catch (err) {
    showError(err);
  }
}

async function submitMove(e) {
  e.preventDefault();
  const form = $("#move-form");
  clearFieldMessages(form);
  const amount = $("#move-amount");
  const reason = $("#move-reason");
  const a = amount.value.trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[,¥￥円]/g, "");
  if (!/^\d{1,12}$/.test(a) || Number(a) <= 0) return fieldMessage(amount, t("field.amount"));
  if (!reason.value.trim()) return fieldMessage(reason, t("drawer.reason_needed"));
  const kind = $("#move-form input[name=move-kind]:checked").value;
  try {
    render(await withApproval((ap) => api.drawerMove(kind, a, reason.value.trim(), ap)));
    toast(t(kind === "in" ? "drawer.in_done" : "drawer.out_done", { amount: yen(Number(a)) }));
    amount.value = "";
    reason.value = "";
    amount.focus();
  } catch (err) {
    showError(err);
  }
}

function renderButtons() {
  const open = !!report?.session && !report.session.closed_at && report.kind === "check";
  $("#drawer-open-btn").hidden = open || counting != null;
  $("#drawer-close-btn").hidden = !open || counting != null;
  $("#move-form").hidden = !open || counting != null;
}

/** A tender's name in the report: cash, a shop tender (`shop:NAME`), or a KOMOJU method. */
function tenderLabel(m) {
  if (m === "cash") return t("method.cash");
  if (m.startsWith("shop:")) return m.slice(5);
  return methodLabel(m);
}

function row(label, value, cls = "") {
  return h("div", { class: `rep-row ${cls}` }, h("dt", {}, label), h("dd", {}, value));
}

function render(r) {
  report = r;
  const s = r.session;
  const state = $("#drawer-state");
  if (r.kind === "close") {
    state.textContent = t("drawer.state_closed", { at: dateTime(s?.closed_at) });
  } else if (s) {
    state.textContent = t("drawer.state_open", { at: dateTime(s.opened_at), float: yen(s.float) });
  } else {
    state.textContent = t("drawer.state_none");
  }
  renderButtons();
  const diff = r.difference;
  const rows = [
    row(t("drawer.float"), yen(r.float)),
    row(t("drawer.cash_sales"), yen(r.cash_sales)),
    row(t("drawer.cash_refunds"), r.cash_refunds ? `−${yen(r.cash_refunds)}` : yen(0)),
    row(t("drawer.cash_in"), yen(r.cash_in)),
    row(t("drawer.cash_out"), r.cash_out ? `−${yen(r.cash_out)}` : yen(0)),
    row(t("drawer.expected"), yen(r.expected_cash), "rep-expected"),
  ];
  if (r.counted_cash != null) {
    rows.push(row(t("drawer.counted"), yen(r.counted_cash), "rep-counted"));
    rows.push(row(t("drawer.difference"),
      diff === 0 ? yen(0) : `${diff < 0 ? t("drawer.short") : t("drawer.over")} ${yen(Math.abs(diff))}`,
      `rep-difference ${diff < 0 ? "short" : diff > 0 ? "over" : "even"}`));
  }
  const tenders = r.per_tender.length
    ? r.per_tender.map((m) => row(`${tenderLabel(m.method)} (${t("drawer.count_n", { n: m.count })})`, yen(m.total)))
    : [h("p", { class: "muted" }, t("today.none"))];
  const refunds = (r.refunds_per_tender || []).map((m) =>
    row(`${tenderLabel(m.method)} (${t("drawer.count_n", { n: m.count })})`, `−${yen(m.total)}`));
  const rateName = (x) => (x === 0 ? t("drawer.rate_exempt") : t("drawer.rate_n", { rate: x }));
  const rates = [
    ...(r.per_rate || []).map((x) => row(`${rateName(x.rate)}${x.discount ? ` (${t("drawer.discount")} −${yen(x.discount)})` : ""}`, `${yen(x.gross)} (${t("drawer.tax")} ${yen(x.tax)})`)),
    ...(r.refunds_per_rate || []).map((x) => row(`${t("drawer.refunded")} ${rateName(x.rate)}`, `−${yen(x.gross)} (${t("drawer.tax")} ${yen(x.tax)})`)),
  ];
  if (r.pending_count) rates.push(row(t("drawer.pending", { n: r.pending_count }), yen(r.pending_total)));
  const moves = r.movements.map((m) => h("li", {},
    h("span", { class: "muted small" }, dateTime(m.at)), " ",
    h("strong", {}, t(m.kind === "in" ? "drawer.in" : "drawer.out")), " ",
    yen(m.amount), " — ", m.reason));
  $("#drawer-report").replaceChildren(
    h("h2", { id: "report-title" }, t(r.kind === "close" ? "drawer.z_title" : "drawer.x_title")),
    h("p", { class: "muted small" }, t(r.kind === "close" ? "drawer.z_help" : "drawer.x_help")),
    h("dl", { class: "rep", id: "rep-cash" }, ...rows),
    h("h3", {}, t("drawer.per_tender", { total: yen(r.sales_total) })),
    h("dl", { class: "rep", id: "rep-tenders" }, ...tenders),
    refunds.length ? h("h3", {}, t("drawer.refunds", { total: `−${yen(r.refunds_total)}` })) : "",
    refunds.length ? h("dl", { class: "rep", id: "rep-refunds" }, ...refunds) : "",
    h("dl", { class: "rep", id: "rep-net" }, row(t("drawer.net"), yen(r.net_total ?? r.sales_total), "rep-net-total")),
    rates.length ? h("h3", {}, t("drawer.per_rate")) : "",
    rates.length ? h("dl", { class: "rep", id: "rep-rates" }, ...rates) : "",
    moves.length ? h("h3", {}, t("drawer.movements")) : "",
    moves.length ? h("ul", { class: "rep-moves" }, ...moves) : "",
    h("div", { class: "close-actions no-print" },
      h("button", { id: "drawer-save-pdf", class: "btn ghost", type: "button", onclick: () => saveReport(r, "pdf") }, t("drawer.save_pdf")),
      h("button", { id: "drawer-save-csv", class: "btn ghost", type: "button", onclick: () => saveReport(r, "csv") }, t("drawer.save_csv"))));
}

/** The report shown, as a PDF or CSV file (the core's, as printed; a 精算 as it was stored). */
async function saveReport(r, format) {
  const which = r.kind === "close" ? "close" : "check";
  const stamp = (r.until || "").slice(0, 10);
  const name = `${t(which === "close" ? "drawer.file_close" : "drawer.file_check")}-${stamp}.${format}`;
  await saveAs(name, format, async (path) => {
    await api.saveDrawerReport(which, path, format);
    return t("close.saved", { path });
  });
}
