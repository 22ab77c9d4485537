// Register screen: item entry, quick keys, per-line 10 % / 8 %, running total from the core
// (`preview_totals`; no tax is computed here).
import { t } from "./i18n.js";
import { $, $$, h, yen, showError, methodLabel } from "./util.js";
import * as api from "./api.js";
import { app, show } from "./nav.js";

const QUICK = [
  { name: "コーヒー", price: 480, rate: 8 },
  { name: "カフェラテ", price: 550, rate: 8 },
  { name: "紅茶", price: 450, rate: 8 },
  { name: "ケーキ", price: 550, rate: 8 },
  { name: "クッキー", price: 280, rate: 8 },
  { name: "店内飲食 コーヒー", price: 480, rate: 10 },
  { name: "マグカップ", price: 1800, rate: 10 },
  { name: "紙袋", price: 10, rate: 10 },
];

let lines = [];
let previewSeq = 0;

export function init() {
  $("#item-form").addEventListener("submit", (e) => {
    e.preventDefault();
    addFromForm();
  });
  $("#clear").addEventListener("click", clear);
  $("#charge").addEventListener("click", doCharge);
  const qk = $("#quick-keys");
  QUICK.forEach((q, i) => {
    qk.append(
      h("button", { class: `quick rate-${q.rate}`, type: "button", onclick: () => add(q.name, q.price, 1, q.rate) },
        h("span", { class: "qk-key" }, i < 8 ? `Alt+${i + 1}` : ""),
        h("span", { class: "qk-name" }, q.name),
        h("span", { class: "qk-price" }, yen(q.price)),
        h("span", { class: "qk-rate" }, `${q.rate}%`)),
    );
  });
  const m = $("#methods");
  for (const id of app.info?.payment_types ?? []) {
    m.append(h("label", { class: "chip" }, h("input", { type: "checkbox", value: id, name: "method" }), h("span", { dataset: { method: id } }, methodLabel(id))));
  }
  // Only the methods the shop offers (Settings) are shown; none set = all.
  document.addEventListener("reji-settings", (e) => {
    const enabled = (e.detail?.payment_methods ?? "").split(",").filter(Boolean);
    for (const c of $$("#methods input")) {
      const off = enabled.length > 0 && !enabled.includes(c.value);
      c.closest("label").hidden = off;
      if (off) c.checked = false;
    }
  });
  render();
}

export function relabel() {
  for (const s of $$("#methods [data-method]")) s.textContent = methodLabel(s.dataset.method);
  render();
}

export function enter() {
  setTimeout(() => $("#item-name").focus(), 0);
}

export function onKey(e) {
  if (e.altKey && /^[1-8]$/.test(e.key)) {
    e.preventDefault();
    const q = QUICK[Number(e.key) - 1];
    add(q.name, q.price, 1, q.rate);
  } else if (e.key === "F9" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
    e.preventDefault();
    doCharge();
  } else if (e.key === "Escape") {
    e.preventDefault();
    if (lines.length) lines.pop();
    render();
  }
}

function addFromForm() {
  const name = $("#item-name").value.trim();
  const price = Number($("#item-price").value);
  const qty = Number($("#item-qty").value || 1);
  const rate = Number($("input[name=rate]:checked").value);
  if (!name || !Number.isInteger(price) || price < 0 || !Number.isInteger(qty) || qty < 1) {
    $("#item-price").focus();
    return;
  }
  add(name, price, qty, rate);
  $("#item-form").reset();
  $("#item-qty").value = "1";
  $("#item-name").focus();
}

function add(name, unit_price, quantity, rate) {
  const same = lines.find((l) => l.name === name && l.unit_price === unit_price && l.rate === rate);
  if (same) same.quantity += quantity;
  else lines.push({ name, unit_price, quantity, rate });
  render();
}

function clear() {
  lines = [];
  for (const id of ["#cust-name", "#cust-kana", "#cust-email", "#cust-phone"]) $(id).value = "";
  for (const c of $$("#methods input")) c.checked = false;
  render();
}

function render() {
  const ol = $("#lines");
  ol.replaceChildren(
    ...lines.map((l, i) =>
      h("li", { class: "line" },
        h("span", { class: `rate-tag r${l.rate}` }, l.rate === 0 ? t("rate.0") : `${l.rate}%`),
        h("span", { class: "line-name" }, l.name),
        h("span", { class: "line-qty" },
          h("button", { class: "mini", type: "button", "aria-label": "-", onclick: () => { l.quantity > 1 ? l.quantity-- : lines.splice(i, 1); render(); } }, "−"),
          h("span", {}, `× ${l.quantity}`),
          h("button", { class: "mini", type: "button", "aria-label": "+", onclick: () => { l.quantity++; render(); } }, "+")),
        h("span", { class: "line-amount" }, yen(l.unit_price * l.quantity)),
        h("button", { class: "mini remove", type: "button", title: t("register.remove"), onclick: () => { lines.splice(i, 1); render(); } }, "×"),
      ),
    ),
  );
  $("#lines-empty").hidden = lines.length > 0;
  $("#charge").disabled = lines.length === 0;
  preview();
}

async function preview() {
  const seq = ++previewSeq;
  if (!lines.length) {
    $("#tax-lines").replaceChildren();
    $("#total").textContent = yen(0);
    return;
  }
  try {
    const b = await api.previewTotals(lines);
    if (seq !== previewSeq) return;
    const inclusive = (window.rejiSettings?.price_mode ?? "inclusive") === "inclusive";
    $("#tax-lines").replaceChildren(
      ...b.per_rate.map((r) =>
        h("div", { class: "tax-line" },
          r.rate === 0
            ? t("register.exempt", { gross: yen(r.gross) })
            : inclusive
              ? t("register.tax_of", { rate: r.rate, gross: yen(r.gross), tax: yen(r.tax) })
              : t("register.tax_ex", { rate: r.rate, net: yen(r.net), tax: yen(r.tax) }))),
    );
    $("#total").textContent = yen(b.total);
  } catch (e) {
    if (seq === previewSeq) showError(e);
  }
}

async function doCharge() {
  if (!lines.length) return;
  const btn = $("#charge");
  btn.disabled = true;
  const methods = $$("#methods input:checked").map((c) => c.value);
  const input = {
    lines,
    name: $("#cust-name").value || null,
    name_kana: $("#cust-kana").value || null,
    email: $("#cust-email").value || null,
    phone: $("#cust-phone").value || null,
    methods: methods.length ? [methods.join(",")] : [],
  };
  try {
    const screen = await api.charge(input);
    clear();
    show("charge", screen);
  } catch (e) {
    showError(e);
  } finally {
    btn.disabled = lines.length === 0;
  }
}
