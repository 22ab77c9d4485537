// The receipt printer: its settings panel (connection, paper, mode, auto print, the drawer, the test
// page, the print queue) and what the print task reports (`print-status`): a failure is said in the
// staff's language with a retry, and the sale is never touched by it.
import { t } from "./i18n.js";
import { $, $$, h, toast, showError, clearFieldMessages, fieldMessage } from "./util.js";
import * as api from "./api.js";
import { withApproval } from "./staff.js";

export function init() {
  $("#printer-form").addEventListener("submit", save);
  $("#p-printer").addEventListener("change", showFields);
  $("#p-drawer").addEventListener("change", showFields);
  $("#p-test").addEventListener("click", () => queued(api.printTestPage()));
  $("#p-open-drawer").addEventListener("click", () => queued(withApproval((a) => api.openDrawer(a))));
  $("#p-retry").addEventListener("click", retry);
  document.addEventListener("reji-settings", (e) => fill(e.detail));
  api.on("print-status", (e) => onStatus(e.payload));
}

/** A network or USB printer is set up: receipts go to it (else the system print dialog). */
export function printerReady() {
  return ["network", "usb"].includes(window.rejiSettings?.printer);
}

/** Prints a sale's receipt (or a refund's return receipt) on the receipt printer. */
export function printReceipt(number, refund = null) {
  return queued(api.printReceipt(number, refund));
}

/** Prints the konbini / bank / Pay-easy slip for the customer. */
export function printSlip(number) {
  return queued(api.printSlip(number));
}

async function queued(p) {
  try {
    await p;
    toast(t("print.queued"));
  } catch (e) {
    showError(e);
  }
}

function fill(s) {
  if (!s) return;
  $("#p-printer").value = s.printer || "none";
  $("#p-host").value = s.printer_host ?? "";
  $("#p-port").value = s.printer_port || "";
  $("#p-device").value = s.printer_device ?? "";
  $("#p-paper").value = s.printer_paper || "80";
  $("#p-mode").value = s.printer_mode || "text";
  $("#p-auto").value = s.auto_print || "always";
  $("#p-drawer").value = s.drawer || "none";
  $("#p-pulse").value = s.drawer_pulse_ms || "";
  $("#p-status").checked = s.printer_status !== "off";
  showFields();
  renderQueue();
}

function showFields() {
  const kind = $("#p-printer").value;
  const queue = kind === "network" || kind === "usb";
  for (const el of $$("#printer-form [data-show]")) {
    const want = el.dataset.show.split(" ");
    el.hidden = !(want.includes(kind) || (want.includes("queue") && queue));
  }
  $("#p-pulse-row").hidden = !queue || $("#p-drawer").value === "none";
}

function half(s) {
  return s.replace(/[０-９．：]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).trim();
}

/** The printer's settings, saved all or nothing like the rest (a refused field is marked). */
async function save(e) {
  e.preventDefault();
  const form = $("#printer-form");
  clearFieldMessages(form);
  const values = {
    printer: $("#p-printer").value,
    printer_host: $("#p-host").value.trim(),
    printer_port: half($("#p-port").value),
    printer_device: $("#p-device").value.trim(),
    printer_paper: $("#p-paper").value,
    printer_mode: $("#p-mode").value,
    printer_status: $("#p-status").checked ? "on" : "off",
    auto_print: $("#p-auto").value,
    drawer: $("#p-drawer").value,
    drawer_pulse_ms: half($("#p-pulse").value),
  };
  if (values.printer === "network" && !values.printer_host) return fieldMessage($("#p-host"), t("field.settings.printer_host"));
  if (values.printer_port && !/^\d{1,5}$/.test(values.printer_port)) return fieldMessage($("#p-port"), t("field.settings.printer_port"));
  if (values.printer === "usb" && !values.printer_device) return fieldMessage($("#p-device"), t("field.settings.printer_device"));
  if (values.drawer_pulse_ms && !/^\d{1,3}$/.test(values.drawer_pulse_ms)) return fieldMessage($("#p-pulse"), t("field.settings.drawer_pulse_ms"));
  try {
    window.rejiSettings = await withApproval((a) => api.setSettings(values, a));
  } catch (err) {
    return showError(err);
  }
  toast(t("settings.saved"));
  document.dispatchEvent(new CustomEvent("reji-settings", { detail: window.rejiSettings }));
}

async function retry() {
  try {
    renderQueueFrom(await api.retryPrints());
  } catch (e) {
    showError(e);
  }
}

export async function renderQueue() {
  try {
    renderQueueFrom(await api.printQueue());
  } catch {
    // The queue is shown again on the next status; nothing to tell the cashier here.
  }
}

function jobLabel(j) {
  const what = t(`print.kind.${j.kind}`);
  return `${what}${j.invoice ? ` ${j.invoice}` : ""}${j.reissue ? ` (${t("print.reissue")})` : ""}`;
}

function renderQueueFrom(q) {
  const ul = $("#p-queue");
  if (!ul) return;
  $("#p-waiting").textContent = q.pending.length ? t("print.waiting", { n: q.pending.length }) : t("print.none_waiting");
  $("#p-retry").hidden = q.pending.length === 0;
  ul.replaceChildren(...q.recent.slice(0, 8).map((j) => h("li", { class: `print-job ${j.status}` },
    h("span", {}, jobLabel(j)),
    h("span", { class: `badge print-${j.status}` }, t(`print.status.${j.status}`)),
    j.last_error && j.status !== "printed" ? h("div", { class: "muted small" }, t(`print.error.${j.last_error.split(":")[0]}`)) : "")));
}

function onStatus(s) {
  if (s.ok) {
    if (s.job.kind !== "drawer") toast(t("print.done", { what: jobLabel(s.job) }));
  } else if (s.job.kind === "drawer") {
    toast(t("print.drawer_failed", { why: t(s.message_key) }), "error", null, 8000);
  } else {
    toast(`${jobLabel(s.job)}: ${t(s.message_key)}`, "error", { label: t("print.retry"), run: retry }, 12000);
  }
  renderQueue();
}
