// Settings → サポート: "copy diagnostics" (versions, OS, schema, the change feed, the print queue and
// the log's last errors; no key and no customer details) for a shop to paste into a mail to support.
import { t } from "./i18n.js";
import { $, showError } from "./util.js";
import * as api from "./api.js";

export function init() {
  $("#support-copy").addEventListener("click", copy);
}

async function copy() {
  const result = $("#support-result");
  const area = $("#support-text");
  result.textContent = "";
  let d;
  try {
    d = await api.diagnostics();
  } catch (e) {
    showError(e);
    return;
  }
  // Always shown, so it can be read or selected by hand where the clipboard is not allowed.
  area.value = d.text;
  area.hidden = false;
  try {
    await navigator.clipboard.writeText(d.text);
    result.textContent = t("support.copied");
  } catch {
    area.focus();
    area.select();
    result.textContent = t("support.select");
  }
}
