// Products (商品): the shop's catalog. Search by name, kana or code; add, edit, archive (products are
// never deleted: a sale keeps what it sold); quick-key positions and categories; CSV import (all or
// nothing: a refused file lists every problem row here) and export (UTF-8 with BOM or CP932).
import { t } from "./i18n.js";
import { $, h, yen, showError, toast, confirmAction, fieldMessage, clearFieldMessages, saveAs } from "./util.js";
import * as api from "./api.js";
import { withApproval } from "./staff.js";
import { app } from "./nav.js";

const CLASSES = ["food", "general", "reduced", "exempt"];
let rows = [];
let searchTimer;

export function init() {
  $("#p-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(load, 150);
  });
  $("#p-archived").addEventListener("change", load);
  $("#p-add").addEventListener("click", async () => {
    if (await openProductForm(null)) load();
  });
  $("#p-import").addEventListener("click", importCsv);
  $("#p-export").addEventListener("click", exportCsv);
  $("#p-samples").addEventListener("click", async () => {
    await addSamples();
    load();
  });
  $("#product-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitForm();
  });
  $("#pf-cancel").addEventListener("click", () => finishForm(null));
  $("#product-dialog").addEventListener("cancel", (e) => {
    e.preventDefault();
    finishForm(null);
  });
}

export function enter() {
  load();
  setTimeout(() => $("#p-search").focus(), 0);
}

export function relabel() {
  render();
}

async function load() {
  try {
    rows = await api.productsList($("#p-search").value.trim() || null, $("#p-archived").checked);
  } catch (e) {
    return showError(e);
  }
  render();
}

function classLabel(c) {
  return t(`class.${c}`);
}

function render() {
  const tbody = $("#products-rows");
  tbody.replaceChildren(...rows.map((p) =>
    h("tr", { class: p.archived ? "archived" : "", dataset: { id: p.id } },
      h("td", { class: "num" }, p.quick_key ?? ""),
      h("td", {}, h("div", { class: "p-name" }, p.name), p.kana ? h("div", { class: "muted small" }, p.kana) : ""),
      h("td", {}, p.category ?? ""),
      h("td", {}, h("span", { class: `class-tag c-${p.class}` }, classLabel(p.class))),
      h("td", { class: "mono" }, p.code ?? ""),
      h("td", { class: "num" }, yen(p.price)),
      h("td", { class: "row-actions" },
        p.archived
          ? h("span", { class: "muted small" }, t("products.archived"))
          : [
            h("button", { class: "btn ghost p-edit", type: "button", onclick: async () => { if (await openProductForm(p)) load(); } }, t("products.edit")),
            h("button", { class: "btn danger p-archive", type: "button", onclick: () => archive(p) }, t("products.archive")),
          ]))));
  const q = $("#p-search").value.trim();
  const empty = $("#products-empty");
  empty.hidden = rows.length > 0;
  empty.textContent = q ? t("products.none_found", { q }) : t("products.none");
  $("#p-samples").hidden = !(rows.length === 0 && !q && app.info?.mode === "demo");
}

async function archive(p) {
  if (!(await confirmAction(t("products.archive_confirm", { name: p.name }), t("products.archive")))) return;
  try {
    await withApproval((a) => api.productArchive(p.id, a));
    toast(t("products.archived_done", { name: p.name }));
    document.dispatchEvent(new CustomEvent("reji-catalog"));
    load();
  } catch (e) {
    showError(e);
  }
}

// ---- the form (add / edit), also opened by the register for an unknown scanned code ----

let editing = null;
let resolveForm = null;

/** Opens the product form (`p` to edit, null to add, `preset` fields for a new one); resolves
 * with the saved product, or null when the staff went back. */
export function openProductForm(p, preset = {}) {
  editing = p;
  const v = p ?? { name: "", kana: "", price: "", class: "food", code: "", category: "", quick_key: "", ...preset };
  $("#product-title").textContent = p ? t("products.edit_title") : t("products.add_title");
  $("#pf-name").value = v.name ?? "";
  $("#pf-kana").value = v.kana ?? "";
  $("#pf-price").value = v.price === "" || v.price == null ? "" : String(v.price);
  $("#pf-class").value = CLASSES.includes(v.class) ? v.class : "food";
  $("#pf-code").value = v.code ?? "";
  $("#pf-category").value = v.category ?? "";
  $("#pf-quick").value = v.quick_key ?? "";
  clearFieldMessages($("#product-dialog"));
  fillCategories();
  const dlg = $("#product-dialog");
  dlg.showModal();
  $("#pf-name").focus();
  return new Promise((resolve) => (resolveForm = resolve));
}

async function fillCategories() {
  try {
    const all = await api.productsList(null, false);
    const cats = [...new Set(all.map((p) => p.category).filter(Boolean))];
    $("#pf-categories").replaceChildren(...cats.map((c) => h("option", { value: c })));
  } catch {
    // Suggestions only.
  }
}

function finishForm(product) {
  $("#product-dialog").close();
  const r = resolveForm;
  resolveForm = null;
  r?.(product);
}

const normal = (s) => String(s ?? "").trim().replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));

async function submitForm() {
  const f = (id) => $(id).value;
  const input = {
    name: f("#pf-name").trim(),
    kana: f("#pf-kana").trim(),
    price: normal(f("#pf-price")).replace(/[,，]/g, "").replace(/^[¥￥]/, "").replace(/円$/, ""),
    class: f("#pf-class"),
    code: normal(f("#pf-code")).replace(/[\s-]/g, ""),
    category: f("#pf-category").trim(),
    quick_key: normal(f("#pf-quick")),
  };
  // The app's own checks first, in the staff's language (no browser bubbles); the core checks
  // everything again (check digits, unique codes and quick keys) and names the field it refuses.
  if (!input.name) return fieldMessage($("#pf-name"), t("field.name"));
  if (!/^\d{1,8}$/.test(input.price)) return fieldMessage($("#pf-price"), t("field.price"));
  if (input.code && !/^\d{8,14}$/.test(input.code)) return fieldMessage($("#pf-code"), t("field.code"));
  if (input.quick_key && !/^\d{1,3}$/.test(input.quick_key)) return fieldMessage($("#pf-quick"), t("field.quick_key"));
  try {
    const saved = await withApproval((a) => (editing ? api.productEdit(editing.id, input, a) : api.productAdd(input, a)));
    toast(t(editing ? "products.saved" : "products.added", { name: saved.name }));
    document.dispatchEvent(new CustomEvent("reji-catalog"));
    finishForm(saved);
  } catch (e) {
    showError(e);
  }
}

// ---- CSV ----

async function importCsv() {
  let path;
  try {
    path = await api.openDialog({ multiple: false, directory: false, filters: [{ name: "CSV", extensions: ["csv", "txt"] }] });
  } catch (e) {
    return showError(e);
  }
  if (Array.isArray(path)) path = path[0];
  if (path) await importFrom(path);
}

/** Imports the file the staff picked (all or nothing) and shows what happened on the screen:
 * how many were added / updated, or every problem row of a refused file. */
export async function importFrom(path) {
  const out = $("#import-result");
  out.hidden = false;
  out.className = "panel import-result";
  out.replaceChildren(h("p", {}, t("products.importing")));
  try {
    const r = await withApproval((a) => api.productsImport(path, a));
    out.classList.add("ok");
    out.replaceChildren(h("p", { class: "import-ok" }, t("products.imported", { added: r.added, updated: r.updated, encoding: r.encoding })));
    document.dispatchEvent(new CustomEvent("reji-catalog"));
    load();
  } catch (e) {
    const problems = e.problems ?? [];
    out.classList.add("bad");
    if (!problems.length) {
      out.replaceChildren(h("p", {}, h("strong", {}, t(e.message_key ?? "error.unknown")), " ", e.detail ?? ""));
      return;
    }
    out.replaceChildren(
      h("p", { class: "import-bad" }, h("strong", {}, t("products.import_refused", { n: problems.length }))),
      h("table", { class: "table compact problems" },
        h("thead", {}, h("tr", {}, h("th", { class: "num" }, t("products.problem.line")), h("th", {}, t("products.problem.column")), h("th", {}, t("products.problem.message")))),
        h("tbody", { id: "import-problems" }, ...problems.map((p) =>
          h("tr", {}, h("td", { class: "num" }, String(p.line)), h("td", {}, p.column ?? "—"), h("td", {}, p.message))))),
      h("button", { class: "btn ghost", type: "button", onclick: () => (out.hidden = true) }, t("detail.close")));
  }
}

async function exportCsv() {
  const encoding = $("#p-encoding").value;
  await saveAs(`商品-${new Date().toISOString().slice(0, 10)}.csv`, "csv", async (path) => {
    const n = await api.productsExport(path, encoding);
    return t("products.exported", { n, path });
  });
}

// ---- demo: sample products so a first try has quick keys ----

const SAMPLES = [
  ["コーヒー", "コーヒー", 480, "food", "ドリンク"],
  ["カフェラテ", "カフェラテ", 550, "food", "ドリンク"],
  ["紅茶", "コウチャ", 450, "food", "ドリンク"],
  ["ケーキ", "ケーキ", 550, "food", "フード"],
  ["クッキー", "クッキー", 280, "food", "フード"],
  ["サンドイッチ", "サンドイッチ", 600, "food", "フード"],
  ["マグカップ", "マグカップ", 1800, "general", "グッズ"],
  ["紙袋", "カミブクロ", 10, "general", "グッズ"],
  ["オレンジジュース", "オレンジジュース", 400, "food", "ドリンク"],
  ["マフィン", "マフィン", 320, "food", "フード"],
  ["コーヒー豆 200g", "コーヒーマメ", 1200, "food", "グッズ"],
  ["ドリップバッグ", "ドリップバッグ", 150, "food", "グッズ"],
  ["トートバッグ", "トートバッグ", 2200, "general", "グッズ"],
];

/** Adds the sample products (demo mode, empty catalog), quick keys 1… in order. */
export async function addSamples() {
  try {
    let i = 0;
    for (const [name, kana, price, cls, category] of SAMPLES) {
      i += 1;
      await withApproval((a) => api.productAdd({ name, kana, price: String(price), class: cls, code: "", category, quick_key: String(i) }, a));
    }
    toast(t("products.samples_added", { n: SAMPLES.length }));
    document.dispatchEvent(new CustomEvent("reji-catalog"));
  } catch (e) {
    showError(e);
  }
}
