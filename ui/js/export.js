// The CSV export screen: a period, the encoding and header language Excel or the accountant needs,
// progress from the core while it writes.
import { t } from "./i18n.js";
import { $, showError, today, setDate, getDate } from "./util.js";
import * as api from "./api.js";

export function init() {
  $("#export-form").addEventListener("submit", doExport);
  $("#x-format").addEventListener("change", formatChanged);
}

/** The journal is for 弥生会計 (and freee): Shift_JIS and Yayoi's own headers by default. */
function formatChanged() {
  const journal = $("#x-format").value === "journal";
  $("#x-encoding").value = journal ? "cp932" : "utf-8-bom";
  $("#x-headers-label").hidden = journal;
  $("#x-journal-help").hidden = !journal;
}

export function enter() {
  if (!$("#x-from").value) {
    const d = today();
    setDate($("#x-from"), `${d.slice(0, 8)}01`);
    setDate($("#x-to"), d);
  }
}

async function doExport(e) {
  e.preventDefault();
  const fromDate = getDate($("#x-from"));
  const toDate = fromDate === null ? null : getDate($("#x-to"));
  if (fromDate === null || toDate === null) return;
  const from = fromDate || null;
  const to = toDate || null;
  const format = $("#x-format").value;
  let path;
  try {
    const stem = format === "journal" ? "reji-仕訳" : "reji";
    path = await api.saveDialog({ defaultPath: `${stem}-${from ?? "all"}-${to ?? today()}.csv`, filters: [{ name: "CSV", extensions: ["csv"] }] });
  } catch (err) {
    return showError(err);
  }
  if (!path) return;
  const progress = $("#x-progress");
  progress.hidden = false;
  progress.removeAttribute("value");
  const button = $("#export-form button[type=submit]");
  button.disabled = true;
  // Progress from the core, through a Tauri channel: rows written of the total.
  const onProgress = api.progressChannel();
  onProgress.onmessage = ({ rows, total }) => {
    progress.max = Math.max(total, 1);
    progress.value = rows;
    $("#x-result").textContent = t("export.progress", { n: rows, total });
  };
  try {
    const r = await api.exportCsv({ path, from, to, encoding: $("#x-encoding").value, headers: $("#x-headers").value, format }, onProgress);
    const done = t(format === "journal" ? "export.done_journal" : "export.done", { n: r.rows, path: r.path });
    $("#x-result").textContent = done;
    api.notify(t("export.title"), done);
  } catch (err) {
    showError(err);
  } finally {
    progress.hidden = true;
    button.disabled = false;
  }
}
