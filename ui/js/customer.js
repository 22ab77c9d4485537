// The customer display. It has no command permissions: it only listens to `customer-view`
// (a sanitised view built by the core: shop name, total, QR SVG, status, instructions).
import { putSvg } from "./svg.js";

const $ = (s) => document.querySelector(s);
const yen = (n) => new Intl.NumberFormat("ja-JP", { style: "currency", currency: "JPY" }).format(n);
const STORES = { "seven-eleven": "セブン-イレブン", lawson: "ローソン", "family-mart": "ファミリーマート", ministop: "ミニストップ", "daily-yamazaki": "デイリーヤマザキ", seicomart: "セイコーマート" };
const OTHER = {
  cancelled: ["お取り消しになりました", "Cancelled"],
  expired: ["お支払いの期限が切れました", "This payment expired"],
  failed: ["お支払いできませんでした", "The payment did not go through"],
  needs_review: ["係員にお声がけください", "Please ask the staff"],
  refunded: ["返金しました", "Refunded"],
  partially_refunded: ["一部を返金しました", "Partly refunded"],
};

function show(id) {
  for (const s of ["#c-idle", "#c-pay", "#c-done", "#c-instructions", "#c-other"]) $(s).hidden = s !== id;
}

function field(label, value) {
  if (!value) return null;
  const d = document.createElement("div");
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.textContent = value;
  d.append(dt, dd);
  return d;
}

function fmtDeadline(iso) {
  return iso ? new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : null;
}

function render(v) {
  $("#c-shop").textContent = v.shop_name || "";
  document.body.dataset.state = v.state;
  if (v.instructions) {
    const i = v.instructions;
    const rows =
      i.kind === "konbini"
        ? [field("コンビニ Store", STORES[i.store] || i.store), field("お支払い番号 Number", i.receipt), field("確認番号 Code", i.confirmation_code)]
        : i.kind === "bank_transfer"
          ? [field("銀行 Bank", i.bank_name), field("支店 Branch", i.branch_name), field("口座種別 Type", i.account_type), field("口座番号 Account", i.account_number), field("口座名義 Name", i.account_name)]
          : [field("収納機関番号 Bank ID", i.bank_id), field("お客様番号 Customer", i.customer_id), field("確認番号 Code", i.confirmation_id)];
    // What the customer pays at the store or bank: what is left for the payment page, with the
    // method's fee once the payment shows one (the core's figure).
    const due = v.to_pay > 0 ? v.to_pay : v.amount;
    rows.push(field("お支払い期限 Pay by", fmtDeadline(i.deadline)), field("お支払い金額 Amount to pay", due != null ? yen(due) : null));
    if (v.fee > 0) rows.push(field("うち手数料 Incl. fee", yen(v.fee)));
    $("#c-fields").replaceChildren(...rows.filter(Boolean));
    putSvg($("#c-instr-qr"), i.instructions_qr_svg, "instructions");
    $("#c-instr-qr").hidden = !i.instructions_qr_svg;
    if (v.state !== "paid") return show("#c-instructions");
  }
  if (v.state === "idle") return show("#c-idle");
  if (v.state === "pending") {
    // A split sale: the cash is taken, the page asks for the rest.
    const split = (v.tenders || []).some((x) => x.type !== "komoju") && v.komoju_due > 0;
    $("#c-amount").textContent = yen(split ? v.komoju_due : v.amount);
    const paid = $("#c-split");
    paid.hidden = !split;
    paid.textContent = split ? `合計 Total ${yen(v.amount)} · お預り Paid ${yen(v.amount - v.komoju_due)}` : "";
    // The sale's discount, once the core's view carries it (`discount`: yen off, lines and order).
    const d = $("#c-discount");
    d.hidden = !(v.discount > 0);
    d.textContent = v.discount > 0 ? `お値引き Discount −${yen(v.discount)}` : "";
    putSvg($("#c-qr"), v.qr_svg, "QR");
    return show("#c-pay");
  }
  if (v.state === "paid") {
    $("#c-done-amount").textContent = yen(v.amount);
    const cash = $("#c-cash");
    cash.hidden = v.cash_tendered == null;
    cash.replaceChildren(...(v.cash_tendered == null ? [] : [
      field("お預り Cash received", yen(v.cash_tendered)),
      field("お釣り Change", yen(v.change)),
    ]));
    return show("#c-done");
  }
  const [ja, en] = OTHER[v.state] || ["", ""];
  $("#c-other-title").textContent = ja;
  $("#c-other-en").textContent = en;
  show("#c-other");
}

window.__TAURI__.event.listen("customer-view", (e) => render(e.payload));
