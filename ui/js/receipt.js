// Receipts in the app: the core's template (blocks) rendered with text nodes only, in a dialog with a
// print button. The system print dialog prints a copy of it outside the dialog (style.css, @media print),
// 72 mm wide on an 80 mm roll or on A4.
import { t } from "./i18n.js";
import { $, h, showError } from "./util.js";
import * as api from "./api.js";
import { printerReady, printReceipt } from "./printer.js";

function block(b) {
  switch (b.kind) {
    case "heading": return h("h1", { class: "r-heading" }, b.text);
    case "title": return h("h2", { class: "r-title" }, b.text);
    case "center": return h("p", { class: "r-center" }, b.text);
    case "small": return h("p", { class: "r-small" }, b.text);
    case "rule": return h("hr", { class: "r-rule" });
    case "row":
      return h("div", { class: b.strong ? "r-row strong" : "r-row" }, h("span", {}, b.left), h("span", { class: "r" }, b.right));
    case "item":
      return b.detail
        ? h("div", {}, h("div", { class: "r-row" }, h("span", {}, b.name)),
            h("div", { class: "r-row r-detail" }, h("span", {}, b.detail), h("span", { class: "r" }, b.amount)))
        : h("div", { class: "r-row" }, h("span", {}, b.name), h("span", { class: "r" }, b.amount));
    default: return "";
  }
}

/** The system print dialog: a copy of the receipt outside the modal dialog is what prints (style.css). */
function printWithDialog() {
  const copy = $("#receipt-paper").cloneNode(true);
  copy.removeAttribute("id");
  $("#print-root").replaceChildren(copy);
  api.printDialog().catch(showError);
}

/** Opens the receipt of a paid invoice (or the return receipt of its `refund`-th refund). */
export async function openReceipt(number, refund = null) {
  let v;
  try {
    v = await api.receipt(number, refund);
  } catch (e) {
    return showError(e);
  }
  const dlg = $("#receipt-dialog");
  const others = [];
  if (refund == null) {
    for (let n = 1; n <= v.receipt.refund_count; n++) {
      others.push(h("button", { class: "btn ghost", type: "button", onclick: () => openReceipt(number, n) }, t("receipt.return_n", { n })));
    }
  } else {
    others.push(h("button", { class: "btn ghost", type: "button", onclick: () => openReceipt(number) }, t("receipt.sale")));
  }
  dlg.replaceChildren(
    h("div", { id: "receipt-paper", class: "receipt-paper" }, ...v.blocks.map(block)),
    h("div", { class: "detail-actions no-print" },
      ...others,
      printerReady()
        ? h("button", { id: "receipt-print-printer", class: "btn primary", type: "button", onclick: () => printReceipt(number, refund) }, t("receipt.print_printer"))
        : "",
      h("button", { id: "receipt-print", class: printerReady() ? "btn ghost" : "btn primary", type: "button", onclick: printWithDialog }, t("receipt.print")),
      h("button", { class: "btn ghost", type: "button", onclick: () => dlg.close() }, t("detail.close"))),
  );
  if (!dlg.open) dlg.showModal();
}
