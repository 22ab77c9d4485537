// Register screen: the cart a cashier rings up. Products come from the catalog (quick keys in pages,
// search, a barcode scanner anywhere on the screen) or are typed; every change is previewed by the
// core first (`preview_cart`: a line or discount the core would refuse never enters the cart) and
// saved (`save_cart`: the cart survives a restart). Eat-in / take-away per order, order and line
// discounts, hold / recall. No tax is computed here.
import { t } from "./i18n.js";
import { $, $$, h, yen, showError, methodLabel, toast, hideToast, fieldMessage, clearFieldMessages, timeOfDay, dateTime, today } from "./util.js";
import * as api from "./api.js";
import { openPay } from "./pay.js";
import { withApproval } from "./staff.js";
import { app, show } from "./nav.js";
import { installScanner } from "./scanner.js";
import { openProductForm, addSamples } from "./products.js";

/** The cart as the core knows it (`Cart`), without the customer (read from the form). */
let cart = { lines: [], discount: null, dining: null };
/** The core's last preview of `cart` (lines with this order's rates, totals). */
let view = null;
let selected = -1;
let catalog = [];
let quickCat = "";
let quickPage = 0;
let undo = null;
let queue = Promise.resolve();
let lastPointer = "mouse";

const RATE_OF_CLASS = { general: 10, food: 8, reduced: 8, exempt: 0 };

export function init() {
  $("#item-form").addEventListener("submit", (e) => {
    e.preventDefault();
    addFromForm();
  });
  const name = $("#item-name");
  name.addEventListener("input", onSearchInput);
  name.addEventListener("keydown", onNameKey);
  name.addEventListener("blur", () => setTimeout(closeSuggestions, 150));
  for (const id of ["#item-price", "#item-qty"]) {
    $(id).addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        addFromForm();
      }
    });
  }
  $("#clear").addEventListener("click", () => clearCart(true));
  $("#charge").addEventListener("click", doCharge);
  $("#hold").addEventListener("click", openHold);
  $("#recall").addEventListener("click", openRecall);
  $("#hold-form").addEventListener("submit", (e) => {
    e.preventDefault();
    holdNow();
  });
  $("#hold-cancel").addEventListener("click", () => $("#hold-dialog").close());
  for (const b of $$("#dining .dining-opt")) b.addEventListener("click", () => setDining(b.dataset.dining));
  const disc = $("#order-discount");
  disc.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      applyOrderDiscount(disc.value);
    }
  });
  disc.addEventListener("change", () => applyOrderDiscount(disc.value));
  for (const b of $$(".order-discount [data-discount]")) b.addEventListener("click", () => applyOrderDiscount(b.dataset.discount));
  $("#discount-clear").addEventListener("click", () => applyOrderDiscount(""));
  $("#quick-prev").addEventListener("click", () => flipPage(-1));
  $("#quick-next").addEventListener("click", () => flipPage(1));
  for (const id of ["#cust-name", "#cust-kana", "#cust-email", "#cust-phone"]) $(id).addEventListener("input", saveSoon);
  document.addEventListener("pointerdown", (e) => (lastPointer = e.pointerType || "mouse"), true);
  window.addEventListener("resize", () => renderQuick());

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
    renderDining();
  });
  document.addEventListener("reji-catalog", () => loadCatalog());

  installScanner({
    active: () => app.screen === "register" && !document.querySelector("dialog[open]"),
    onScan,
  });
  render();
  loadCatalog();
  loadSavedCart();
  refreshHeldCount();
}

export function relabel() {
  for (const s of $$("#methods [data-method]")) s.textContent = methodLabel(s.dataset.method);
  render();
  renderQuick();
}

export function enter() {
  loadCatalog();
  refreshHeldCount();
  setTimeout(() => focusHome(), 0);
}

/** Where the focus goes when nothing else should have it: the entry field (not on a touch
 * screen, where an input would open the on-screen keyboard: the cart list then). */
export function focusHome() {
  if (lastPointer === "touch") $("#lines").focus();
  else $("#item-name").focus();
}

// ---- keys ----

export function onKey(e) {
  if (document.querySelector("dialog[open]")) return;
  if (e.defaultPrevented) return;
  const target = e.target;
  const inEntry = target === $("#item-name");
  const entryEmpty = $("#item-name").value.trim() === "";
  const inOtherText = !inEntry && target.matches?.("input:not([type=radio]):not([type=checkbox]), textarea, select");
  if (e.key === "F9" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
    e.preventDefault();
    doCharge();
  } else if (e.key === "F7") {
    e.preventDefault();
    toggleDining();
  } else if (e.key === "F8") {
    e.preventDefault();
    openHold();
  } else if (e.altKey && /^[1-9]$/.test(e.key)) {
    e.preventDefault();
    const p = pageItems()[Number(e.key) - 1];
    if (p) addProduct(p);
  } else if (e.key === "PageDown" || e.key === "PageUp") {
    e.preventDefault();
    flipPage(e.key === "PageDown" ? 1 : -1);
  } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z" && (entryEmpty || !inEntry) && !inOtherText && undo) {
    e.preventDefault();
    const u = undo;
    undo = null;
    hideToast();
    u();
  } else if (inOtherText) {
    // A line's quantity / discount field, the customer form: their own keys.
  } else if ((e.key === "ArrowDown" || e.key === "ArrowUp") && !suggestionsOpen()) {
    if (!cart.lines.length) return;
    e.preventDefault();
    select(Math.max(0, Math.min(cart.lines.length - 1, (selected < 0 ? cart.lines.length : selected) + (e.key === "ArrowDown" ? 1 : -1))));
  } else if ((e.key === "+" || e.key === "-") && entryEmpty && selected >= 0) {
    e.preventDefault();
    bumpQty(selected, e.key === "+" ? 1 : -1);
  } else if ((e.key === "*" || e.key === "×") && inEntry && /^[0-9０-９]{1,4}$/.test($("#item-name").value.trim()) && selected >= 0) {
    // "3 *": the selected line's quantity becomes 3.
    e.preventDefault();
    const n = Number(digitsOf($("#item-name").value));
    $("#item-name").value = "";
    setQty(selected, n);
  } else if (e.key === "Delete" && entryEmpty && selected >= 0) {
    e.preventDefault();
    removeLine(selected);
  } else if (e.key === "Escape") {
    if (suggestionsOpen()) {
      e.preventDefault();
      closeSuggestions();
    } else if (!entryEmpty) {
      e.preventDefault();
      $("#item-name").value = "";
    } else if (!$("#scan-notice").hidden) {
      e.preventDefault();
      $("#scan-notice").hidden = true;
    }
  }
}

function digitsOf(s) {
  return String(s).trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[,，]/g, "");
}

// ---- the cart: every change previewed by the core first ----

function customer() {
  const v = (id) => $(id).value.trim() || null;
  return { name: v("#cust-name"), name_kana: v("#cust-kana"), email: v("#cust-email"), phone: v("#cust-phone") };
}

function coreCart(c = cart) {
  return {
    lines: c.lines.map((l) => ({
      name: l.name, unit_price: l.unit_price, quantity: l.quantity, tax_rate: l.tax_rate,
      product_id: l.product_id ?? null, discount: l.discount || 0,
    })),
    discount: c.discount || null,
    dining: c.dining || null,
    customer: customer(),
  };
}

/**
 * Changes the cart: `fn` edits a copy; the core previews it; only what it accepts is kept (and
 * saved). `onError(e)` may show a refusal itself (returns true). Changes run one after another.
 */
function change(fn, onError = null) {
  const run = async () => {
    const draft = structuredClone(cart);
    if (fn(draft) === false) return false;
    let preview = null;
    if (draft.lines.length) {
      try {
        preview = await api.previewCart(coreCart(draft));
      } catch (e) {
        if (!onError?.(e)) showError(e);
        return false;
      }
      draft.lines.forEach((l, i) => (l.tax_rate = preview.lines[i]?.tax_rate ?? l.tax_rate));
    }
    cart = draft;
    view = preview;
    if (selected >= cart.lines.length) selected = cart.lines.length - 1;
    render();
    save();
    return true;
  };
  const p = queue.then(run, run);
  queue = p.catch(() => false);
  return p;
}

function save() {
  clearTimeout(saveTimer);
  api.saveCart(coreCart()).catch(showError);
}

let saveTimer;
function saveSoon() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(save, 400);
}

async function loadSavedCart() {
  try {
    const c = await api.currentCart();
    if (c?.lines?.length || c?.customer?.name) await loadCart(c);
  } catch (e) {
    showError(e);
  }
}

/** Puts a cart (saved, recalled, or rebuilt from a cancelled charge) on the register. */
async function loadCart(c) {
  const cust = c.customer ?? {};
  $("#cust-name").value = cust.name ?? "";
  $("#cust-kana").value = cust.name_kana ?? "";
  $("#cust-email").value = cust.email ?? "";
  $("#cust-phone").value = cust.phone ?? "";
  $("#customer-box").open = Object.values(cust).some(Boolean) || $("#customer-box").open;
  cart = { lines: [], discount: null, dining: null };
  selected = -1;
  const ok = await change((d) => {
    d.lines = (c.lines ?? []).map((l) => ({ ...l, discount: l.discount || 0 }));
    d.discount = c.discount ?? null;
    d.dining = c.dining ?? null;
    selected = d.lines.length - 1;
  });
  if (!ok) {
    // Shown as it was kept even if the core refuses it now (an archived product): fix or clear.
    cart = { lines: (c.lines ?? []).map((l) => ({ ...l, discount: l.discount || 0 })), discount: c.discount ?? null, dining: c.dining ?? null };
    view = null;
    render();
  }
  return ok;
}

function clearCart(ask = false) {
  const before = structuredClone(cart);
  const cust = customer();
  cart = { lines: [], discount: null, dining: null };
  view = null;
  selected = -1;
  for (const id of ["#cust-name", "#cust-kana", "#cust-email", "#cust-phone"]) $(id).value = "";
  for (const c of $$("#methods input")) c.checked = false;
  $("#order-discount").value = "";
  clearFieldMessages($("#screen-register"));
  render();
  save();
  if (ask && before.lines.length) {
    setUndo(t("register.cleared"), () => loadCart({ ...before, customer: cust }));
  }
  focusHome();
}

function setUndo(message, fn) {
  undo = fn;
  toast(message, "info", { label: t("register.undo"), run: () => { undo = null; fn(); } });
}

function sameLine(a, b) {
  return a.product_id ? a.product_id === b.product_id && a.unit_price === b.unit_price && !a.discount
    : !a.product_id && a.name === b.name && a.unit_price === b.unit_price && a.tax_rate === b.tax_rate && !a.discount;
}

function addLine(line, onError) {
  return change((d) => {
    const same = d.lines.findIndex((l) => sameLine(l, line));
    if (same >= 0) {
      d.lines[same].quantity += line.quantity;
      selected = same;
    } else {
      d.lines.push(line);
      selected = d.lines.length - 1;
    }
  }, onError);
}

/** A catalog product: one more of it (a second scan adds one to its line). */
export function addProduct(p, quantity = 1) {
  return addLine({ name: p.name, unit_price: p.price, quantity, tax_rate: RATE_OF_CLASS[p.class] ?? 10, product_id: p.id, discount: 0 });
}

function setQty(i, n) {
  if (!Number.isInteger(n) || n < 0) return;
  if (n === 0) return removeLine(i);
  return change((d) => {
    if (!d.lines[i]) return false;
    d.lines[i].quantity = n;
    selected = i;
  });
}

function bumpQty(i, by) {
  const l = cart.lines[i];
  if (!l) return;
  if (l.quantity + by < 1) return removeLine(i);
  return setQty(i, l.quantity + by);
}

async function removeLine(i) {
  const removed = cart.lines[i];
  if (!removed) return;
  const ok = await change((d) => {
    d.lines.splice(i, 1);
    selected = Math.min(i, d.lines.length - 1);
  });
  if (!ok) return;
  setUndo(t("register.removed", { name: removed.name }), () =>
    change((d) => {
      d.lines.splice(Math.min(i, d.lines.length), 0, removed);
      selected = Math.min(i, d.lines.length - 1);
    }));
  focusHome();
}

function select(i) {
  selected = i;
  renderLines();
  const li = $(`#lines li[data-index="${i}"]`);
  li?.scrollIntoView({ block: "nearest" });
}

function setDining(d) {
  return change((c) => {
    c.dining = d;
  });
}

function currentDining() {
  return view?.dining ?? cart.dining ?? window.rejiSettings?.dining ?? "take_away";
}

function toggleDining() {
  return setDining(currentDining() === "eat_in" ? "take_away" : "eat_in");
}

/** The order's discount as typed: yen (100, ¥100, 100円), a percentage (10%) or 端数値引き. */
function discountText(raw) {
  const s = digitsOf(String(raw ?? "")).replace(/％/g, "%").replace(/^[¥￥]/, "").replace(/円$/, "").trim();
  if (s === "") return "";
  if (/^\d+$/.test(s) || /^\d{1,3}%$/.test(s) || /^round(10|100|1000)$/.test(s)) return s;
  return null;
}

function applyOrderDiscount(raw) {
  const input = $("#order-discount");
  const text = discountText(raw);
  if (text === null) {
    fieldMessage(input, t("field.discount"));
    return Promise.resolve(false);
  }
  if ((text || null) === (cart.discount || null)) {
    input.value = cart.discount ? discountLabel(cart.discount) : "";
    return Promise.resolve(true);
  }
  return change((d) => {
    d.discount = text || null;
  }, (e) => {
    if (e.field === "discount" || e.field === "items") {
      showError({ ...e, field: "discount" });
      return true;
    }
    return false;
  });
}

function discountLabel(d) {
  if (!d) return "";
  if (d.startsWith("round")) return t(`discount.${d}`);
  return d.endsWith("%") ? d : `¥${d}`;
}

function lineDiscount(i, raw, input) {
  const s = digitsOf(raw).replace(/^[¥￥]/, "").replace(/円$/, "");
  if (s !== "" && !/^\d+$/.test(s)) {
    fieldMessage(input, t("field.discount"));
    return;
  }
  const v = s === "" ? 0 : Number(s);
  if (v === (cart.lines[i]?.discount || 0)) return;
  change((d) => {
    d.lines[i].discount = v;
    selected = i;
  }, (e) => {
    const el = $(`#lines [data-focus-key="disc-${i}"]`);
    if (el) {
      fieldMessage(el, t("field.discount"), e.detail);
      return true;
    }
    return false;
  });
}

// ---- typed items and search ----

let searchSeq = 0;
let searchTimer;
let suggestions = [];
let active = -1;

function suggestionsOpen() {
  return !$("#suggestions").hidden;
}

function closeSuggestions() {
  $("#suggestions").hidden = true;
  $("#item-name").setAttribute("aria-expanded", "false");
  active = -1;
}

function onSearchInput() {
  clearTimeout(searchTimer);
  const q = $("#item-name").value.trim();
  if (!q || /^\d{6,}$/.test(q)) return closeSuggestions();
  searchTimer = setTimeout(async () => {
    const seq = ++searchSeq;
    try {
      const found = await api.productsList(q, false);
      if (seq !== searchSeq || $("#item-name").value.trim() !== q) return;
      suggestions = found.slice(0, 8);
      active = -1;
      renderSuggestions();
    } catch (e) {
      showError(e);
    }
  }, 120);
}

function renderSuggestions() {
  const ul = $("#suggestions");
  ul.replaceChildren(...suggestions.map((p, i) =>
    h("li", {
      class: `suggestion${i === active ? " active" : ""}`, role: "option", "aria-selected": i === active ? "true" : "false",
      onmousedown: (e) => e.preventDefault(),
      onclick: () => pickSuggestion(i),
    },
    h("span", { class: `rate-tag r${RATE_OF_CLASS[p.class]}` }, t(`class.short.${p.class}`)),
    h("span", { class: "s-name" }, p.name, p.kana ? h("small", {}, ` ${p.kana}`) : ""),
    h("span", { class: "s-code muted" }, p.code ?? ""),
    h("span", { class: "s-price" }, yen(p.price)))));
  ul.hidden = suggestions.length === 0;
  $("#item-name").setAttribute("aria-expanded", String(!ul.hidden));
}

function pickSuggestion(i) {
  const p = suggestions[i];
  if (!p) return;
  closeSuggestions();
  $("#item-name").value = "";
  addProduct(p, quantityTyped());
  $("#item-qty").value = "1";
  focusHome();
}

function quantityTyped() {
  const n = Number(digitsOf($("#item-qty").value || "1"));
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

function onNameKey(e) {
  if (suggestionsOpen() && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
    e.preventDefault();
    active = (active + (e.key === "ArrowDown" ? 1 : -1) + suggestions.length + 1) % (suggestions.length + 1);
    if (active === suggestions.length) active = -1;
    renderSuggestions();
    return;
  }
  if (e.key !== "Enter" || e.ctrlKey || e.metaKey) return;
  e.preventDefault();
  const q = $("#item-name").value.trim();
  if (active >= 0) return pickSuggestion(active);
  if ($("#item-price").value.trim() !== "") return addFromForm();
  if (/^[0-9０-９]{6,14}$/.test(q)) {
    // A code typed by hand: the same as a scan.
    $("#item-name").value = "";
    closeSuggestions();
    return onScan(digitsOf(q));
  }
  if (suggestions.length && suggestionsOpen()) return pickSuggestion(0);
  if (q) $("#item-price").focus();
}

function addFromForm() {
  const nameEl = $("#item-name");
  const priceEl = $("#item-price");
  const qtyEl = $("#item-qty");
  const name = nameEl.value.trim();
  const priceText = digitsOf(priceEl.value);
  const qtyText = digitsOf(qtyEl.value || "1");
  if (!name) return fieldMessage(nameEl, t("register.need_name"));
  if (!/^\d+$/.test(priceText)) return fieldMessage(priceEl, t("field.price"));
  if (!/^\d+$/.test(qtyText) || Number(qtyText) < 1) return fieldMessage(qtyEl, t("register.need_qty"));
  const rate = Number($("input[name=rate]:checked").value);
  closeSuggestions();
  addLine({ name, unit_price: Number(priceText), quantity: Number(qtyText), tax_rate: rate, product_id: null, discount: 0 }, (e) => {
    if (e.field === "items" || e.field === "discount") {
      showError({ ...e, field: "items" });
      fieldMessage(priceEl, t("field.price"), e.detail);
      return true;
    }
    return false;
  }).then((ok) => {
    if (!ok) return;
    // The rate stays as chosen: a café typing several take-away items picks 8 % once.
    nameEl.value = "";
    priceEl.value = "";
    qtyEl.value = "1";
    nameEl.focus();
  });
}

// ---- the scanner ----

async function onScan(code) {
  const notice = $("#scan-notice");
  try {
    const p = await api.productLookup(code);
    notice.hidden = true;
    await addProduct(p);
  } catch (e) {
    if (e.code !== "not_found") return showError(e);
    notice.replaceChildren(
      h("span", { class: "scan-text" }, t("scan.unknown", { code })),
      h("button", { id: "scan-register", class: "btn primary", type: "button", onclick: () => registerScanned(code) }, t("scan.register")),
      h("button", { class: "mini", type: "button", "aria-label": t("detail.close"), onclick: () => { notice.hidden = true; focusHome(); } }, "×"));
    notice.hidden = false;
    notice.dataset.code = code;
  }
}

async function registerScanned(code) {
  $("#scan-notice").hidden = true;
  const p = await openProductForm(null, { code });
  if (p) {
    await addProduct(p);
    loadCatalog();
  }
  focusHome();
}

// ---- quick keys from the catalog ----

async function loadCatalog() {
  try {
    const all = await api.productsList(null, false);
    catalog = all.filter((p) => p.quick_key != null).sort((a, b) => a.quick_key - b.quick_key);
    catalog.total = all.length;
  } catch (e) {
    showError(e);
  }
  renderQuick();
}

function categories() {
  return [...new Set(catalog.map((p) => p.category).filter(Boolean))];
}

function filtered() {
  return quickCat ? catalog.filter((p) => p.category === quickCat) : catalog;
}

function pageSize() {
  const cols = getComputedStyle($("#quick-keys")).gridTemplateColumns.split(" ").filter(Boolean).length || 4;
  const rows = window.innerHeight >= 1000 ? 4 : 3;
  return cols * rows;
}

function pageItems() {
  const size = pageSize();
  return filtered().slice(quickPage * size, quickPage * size + size);
}

function flipPage(by) {
  const pages = Math.max(1, Math.ceil(filtered().length / pageSize()));
  quickPage = (quickPage + by + pages) % pages;
  renderQuick();
}

function renderQuick() {
  const qk = $("#quick-keys");
  const cats = categories();
  $("#quick-cats").replaceChildren(...(cats.length > 1 ? ["", ...cats] : []).map((c) =>
    h("button", {
      type: "button", role: "tab", class: `cat${c === quickCat ? " active" : ""}`, "aria-selected": c === quickCat ? "true" : "false",
      onclick: () => { quickCat = c; quickPage = 0; renderQuick(); },
    }, c || t("register.all"))));
  if (quickCat && !cats.includes(quickCat)) quickCat = "";
  if (!catalog.length) {
    qk.classList.add("none");
    qk.replaceChildren(h("div", { class: "quick-empty" },
      h("p", { class: "muted" }, t("register.no_quick")),
      h("div", { class: "quick-empty-actions" },
        h("button", { id: "quick-products", class: "btn ghost", type: "button", onclick: () => show("products") }, t("register.to_products")),
        app.info?.mode === "demo" && !catalog.total
          ? h("button", { id: "quick-samples", class: "btn primary", type: "button", onclick: async () => { await addSamples(); loadCatalog(); } }, t("products.samples"))
          : "")));
    $("#quick-pager").hidden = true;
    return;
  }
  qk.classList.remove("none");
  const pages = Math.max(1, Math.ceil(filtered().length / pageSize()));
  if (quickPage >= pages) quickPage = pages - 1;
  qk.replaceChildren(...pageItems().map((p, i) => {
    const rate = rateFor(p);
    return h("button", {
      class: `quick rate-${rate}`, type: "button", dataset: { product: p.id, quickKey: p.quick_key },
      onclick: () => { addProduct(p); if (lastPointer !== "touch") $("#item-name").focus(); },
    },
    h("span", { class: "qk-key" }, i < 9 ? `Alt+${i + 1}` : ""),
    h("span", { class: "qk-rate" }, rate === 0 ? t("rate.0") : `${rate}%`),
    h("span", { class: "qk-name" }, p.name),
    h("span", { class: "qk-price" }, yen(p.price)));
  }));
  $("#quick-pager").hidden = pages < 2;
  $("#quick-page").textContent = t("register.page", { n: quickPage + 1, of: pages });
}

function rateFor(p) {
  if (p.class === "food") return currentDining() === "eat_in" ? 10 : 8;
  return RATE_OF_CLASS[p.class] ?? 10;
}

// ---- drawing ----

function render() {
  renderLines();
  renderDining();
  renderTotals();
  $("#lines-empty").hidden = cart.lines.length > 0;
  $("#charge").disabled = cart.lines.length === 0;
  $("#hold").disabled = cart.lines.length === 0;
  const disc = $("#order-discount");
  if (document.activeElement !== disc && !disc.getAttribute("aria-invalid")) disc.value = cart.discount ? discountLabel(cart.discount) : "";
  for (const b of $$(".order-discount [data-discount]")) b.classList.toggle("active", cart.discount === b.dataset.discount);
}

function renderDining() {
  const d = currentDining();
  for (const b of $$("#dining .dining-opt")) {
    const on = b.dataset.dining === d;
    b.classList.toggle("active", on);
    b.setAttribute("aria-checked", String(on));
  }
  // Food quick keys show the rate they bear for this order.
  for (const b of $$("#quick-keys .quick")) {
    const p = catalog.find((x) => x.id === b.dataset.product);
    if (!p) continue;
    const rate = rateFor(p);
    b.className = `quick rate-${rate}`;
    $(".qk-rate", b).textContent = rate === 0 ? t("rate.0") : `${rate}%`;
  }
}

function renderLines() {
  const ol = $("#lines");
  const focused = document.activeElement?.dataset?.focusKey;
  const caret = document.activeElement?.selectionStart;
  ol.replaceChildren(...cart.lines.map((l, i) => {
    const rate = l.tax_rate;
    const amount = l.unit_price * l.quantity - (l.discount || 0);
    const isSel = i === selected;
    const qty = h("input", {
      class: "qty-input", type: "text", inputmode: "numeric", value: String(l.quantity), "aria-label": t("register.qty"),
      dataset: { focusKey: `qty-${i}` },
      onfocus: (e) => { if (selected !== i) { selected = i; markSelected(); } e.target.select(); },
      onkeydown: (e) => {
        if (e.key === "+" || e.key === "-") {
          e.preventDefault();
          bumpQty(i, e.key === "+" ? 1 : -1);
        } else if (e.key === "Enter") {
          e.preventDefault();
          commitQty(i, e.target);
        } else if (e.key === "Escape") {
          e.target.value = String(l.quantity);
          focusHome();
        }
      },
      onchange: (e) => commitQty(i, e.target),
    });
    return h("li", {
      class: `line${isSel ? " selected" : ""}`, tabindex: "-1", dataset: { index: i, focusKey: `line-${i}` },
      onclick: (e) => { if (!e.target.closest("button, input")) { selected = i; markSelected(); focusLine(i); } },
    },
    h("span", { class: `rate-tag r${rate}` }, rate === 0 ? t("rate.0") : `${rate}%`),
    h("span", { class: "line-name" }, l.name,
      l.discount ? h("small", { class: "line-discount" }, ` ${t("register.line_discount_short")} −${yen(l.discount)}`) : ""),
    h("span", { class: "line-unit" }, `@${yen(l.unit_price)}`),
    h("span", { class: "line-qty" },
      h("button", { class: "mini", type: "button", "aria-label": "−", dataset: { focusKey: `minus-${i}` }, onclick: () => bumpQty(i, -1) }, "−"),
      qty,
      h("button", { class: "mini", type: "button", "aria-label": "+", dataset: { focusKey: `plus-${i}` }, onclick: () => bumpQty(i, 1) }, "+")),
    h("span", { class: "line-amount" }, yen(amount)),
    h("button", { class: "mini remove", type: "button", title: t("register.remove"), "aria-label": t("register.remove"), dataset: { focusKey: `remove-${i}` }, onclick: () => removeLine(i) }, "×"),
    isSel ? h("div", { class: "line-edit" },
      h("label", { class: "inline-label" }, h("span", {}, t("register.line_discount")),
        h("input", {
          class: "disc-input", type: "text", inputmode: "numeric", value: l.discount ? String(l.discount) : "", placeholder: "0",
          dataset: { focusKey: `disc-${i}` },
          onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); lineDiscount(i, e.target.value, e.target); } },
          onchange: (e) => lineDiscount(i, e.target.value, e.target),
        }))) : "");
  }));
  if (focused) {
    const again = ol.querySelector(`[data-focus-key="${focused}"]`);
    if (again) {
      again.focus();
      if (caret != null && again.setSelectionRange) try { again.setSelectionRange(caret, caret); } catch { /* no caret */ }
    } else if (focused.match(/^(qty|minus|plus|remove|line|disc)-/)) {
      focusHome();
    }
  }
}

function markSelected() {
  for (const li of $$("#lines li")) li.classList.toggle("selected", Number(li.dataset.index) === selected);
}

function focusLine(i) {
  const li = $(`#lines li[data-index="${i}"]`);
  if (!li) return;
  renderLines();
  $(`#lines li[data-index="${i}"]`)?.focus();
}

function commitQty(i, input) {
  const v = digitsOf(input.value);
  if (!/^\d+$/.test(v)) {
    fieldMessage(input, t("register.need_qty"));
    return;
  }
  if (Number(v) !== cart.lines[i]?.quantity) setQty(i, Number(v));
}

function renderTotals() {
  const b = view?.totals;
  const inclusive = (window.rejiSettings?.price_mode ?? "inclusive") === "inclusive";
  if (!b) {
    $("#tax-lines").replaceChildren();
    $("#discount-line").hidden = true;
    $("#total").textContent = yen(0);
    return;
  }
  $("#tax-lines").replaceChildren(...b.per_rate.map((r) =>
    h("div", { class: "tax-line", dataset: { rate: r.rate, gross: r.gross, tax: r.tax, discount: r.discount ?? 0 } },
      h("span", { class: "tl-main" },
        r.rate === 0
          ? t("register.exempt", { gross: yen(r.gross) })
          : inclusive
            ? t("register.tax_of", { rate: r.rate, gross: yen(r.gross), tax: yen(r.tax) })
            : t("register.tax_ex", { rate: r.rate, net: yen(r.net), tax: yen(r.tax) })),
      r.discount ? h("span", { class: "tl-discount" }, t("register.rate_discount", { amount: yen(r.discount) })) : "")));
  const dl = $("#discount-line");
  dl.hidden = !b.discount;
  dl.replaceChildren(h("span", {}, t("register.discount_total") + (cart.discount ? ` (${discountLabel(cart.discount)})` : "")), h("span", { class: "num" }, `−${yen(b.discount)}`));
  $("#total").textContent = yen(b.total);
}

// ---- hold / recall ----

async function refreshHeldCount() {
  try {
    const held = await api.heldOrders();
    const c = $("#held-count");
    c.textContent = String(held.length);
    c.hidden = held.length === 0;
    return held;
  } catch (e) {
    showError(e);
    return [];
  }
}

function openHold() {
  if (!cart.lines.length) return;
  $("#hold-label").value = "";
  clearFieldMessages($("#hold-dialog"));
  $("#hold-dialog").showModal();
  $("#hold-label").focus();
}

async function holdNow() {
  try {
    const held = await api.holdCart(coreCart(), $("#hold-label").value.trim() || null);
    $("#hold-dialog").close();
    resetAfterSale();
    toast(t("register.held", { label: held.label ?? t("register.held_unnamed"), total: yen(held.total) }));
    refreshHeldCount();
  } catch (e) {
    showError(e);
  }
}

async function openRecall() {
  const held = await refreshHeldCount();
  const dlg = $("#recall-dialog");
  dlg.replaceChildren(
    h("h2", {}, t("register.recall_title")),
    held.length
      ? h("ul", { id: "held-list", class: "held-list" }, ...held.map((o, i) =>
        h("li", {},
          h("button", { class: "held", type: "button", dataset: { id: o.id }, onclick: () => recall(o) },
            h("span", { class: "held-label" }, o.label ?? t("register.held_n", { n: i + 1 })),
            h("span", { class: "held-items muted" }, t("register.held_items", { n: o.items })),
            h("span", { class: "held-time muted" }, o.held_at.slice(0, 10) === today() ? timeOfDay(o.held_at) : dateTime(o.held_at)),
            h("span", { class: "held-total" }, yen(o.total))))))
      : h("p", { class: "muted" }, t("register.none_held")),
    h("div", { class: "detail-actions" }, h("button", { class: "btn ghost", type: "button", onclick: () => dlg.close() }, t("detail.close"))));
  dlg.showModal();
  ($("#held-list button", dlg) || $(".btn", dlg)).focus();
}

async function recall(o) {
  try {
    if (cart.lines.length) {
      // The cart on the register is not lost: it goes on hold in the recalled order's place.
      await api.holdCart(coreCart(), t("register.auto_held"));
      toast(t("register.swapped"));
    }
    const c = await api.recallOrder(o.id);
    $("#recall-dialog").close();
    await loadCart(c);
    refreshHeldCount();
    focusHome();
  } catch (e) {
    showError(e);
  }
}

// ---- charging, and back from a charge ----

function resetAfterSale() {
  cart = { lines: [], discount: null, dining: null };
  view = null;
  selected = -1;
  undo = null;
  for (const id of ["#cust-name", "#cust-kana", "#cust-email", "#cust-phone"]) $(id).value = "";
  for (const c of $$("#methods input")) c.checked = false;
  $("#order-discount").value = "";
  render();
  save();
}

async function doCharge() {
  await queue;
  if (!cart.lines.length || !view) return;
  // A discount typed but not yet applied counts.
  const disc = $("#order-discount");
  if ((discountText(disc.value) ?? "x") !== (cart.discount ?? "") && document.activeElement === disc) {
    if (!(await applyOrderDiscount(disc.value))) return;
  }
  const methods = $$("#methods input:checked").map((c) => c.value);
  const cust = customer();
  const base = {
    lines: cart.lines.map((l) => ({
      name: l.name, unit_price: l.unit_price, quantity: l.quantity, rate: l.tax_rate,
      product_id: l.product_id ?? null, discount: l.discount || 0,
    })),
    ...cust,
    methods: methods.length ? [methods.join(",")] : [],
    discount: cart.discount,
    dining: cart.dining,
  };
  // The payment dialog: cash handed over, the shop's tenders, KOMOJU for the rest. It stays open
  // (showing what is wrong beside its field) until the charge is made.
  openPay({
    total: view.totals.total,
    submit: async ({ cash, tenders }) => {
      const screen = await withApproval((approval) => api.charge({ ...base, cash, tenders, approval }));
      resetAfterSale();
      show("charge", screen);
    },
  });
}

/**
 * A charge cancelled, expired or failed: its cart comes back as it was, rebuilt from the invoice
 * (lines with their products and discounts, the order's discount, eat-in / take-away, customer).
 * A cart rung up meanwhile is put on hold, not lost.
 */
export async function restoreFromInvoice(number) {
  const d = await api.invoiceDetail(number);
  const restored = {
    lines: d.items.map((i) => ({
      name: i.name, unit_price: i.unit_price, quantity: i.quantity, tax_rate: i.tax_rate,
      product_id: i.product_id ?? null, discount: i.discount || 0,
    })),
    discount: d.order_discount ?? null,
    dining: d.dining ?? null,
    customer: d.customer ?? {},
  };
  await queue;
  if (cart.lines.length) {
    await api.holdCart(coreCart(), t("register.auto_held"));
    refreshHeldCount();
  }
  return loadCart(restored);
}
