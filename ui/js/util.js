// Small DOM and formatting helpers shared by the staff screens (the commands are in api.js).
import { t, getLang } from "./i18n.js";
import { saveDialog } from "./api.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Creates an element: h("div", {class: "x", onclick: f}, "text", child…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function yen(n, currency = "JPY") {
  if (n == null) return "";
  if (currency !== "JPY") return `${n} ${currency}`;
  return new Intl.NumberFormat(getLang() === "ja" ? "ja-JP" : "en-JP", {
    style: "currency",
    currency: "JPY",
  }).format(n);
}

/** The shop's time zone (the `time_zone` setting; Asia/Tokyo until it is loaded). */
export function shopZone() {
  return window.rejiSettings?.time_zone || "Asia/Tokyo";
}

/** A moment in the staff's language, in the shop's time zone: 2026/12/01 08:21 (ja),
 * 1 Dec 2026, 08:21 (en). */
export function dateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: shopZone(), year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(d).map((p) => [p.type, p.value]));
  const ymd = `${parts.year}-${parts.month}-${parts.day}`;
  return `${dateText(ymd)} ${parts.hour}:${parts.minute}`;
}

/** Just the time of day, in the shop's time zone (08:21). */
export function timeOfDay(iso) {
  return dateTime(iso).split(" ").pop();
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A date (YYYY-MM-DD) as the staff read it: 2026/12/01 in Japanese, 1 Dec 2026 in English. */
export function dateText(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || "");
  if (!m) return ymd || "";
  return getLang() === "ja" ? `${m[1]}/${m[2]}/${m[3]}` : `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
}

/**
 * Reads a date as staff type it: 2026/12/01, 2026-12-01, 20261201, 12/1 (this year), 1 Dec 2026
 * (full-width digits too). Returns YYYY-MM-DD, "" for an empty field, or null when it is no date.
 */
export function parseDate(text) {
  const s = String(text ?? "").trim().replace(/[０-９／－]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  if (!s) return "";
  const year = Number(today().slice(0, 4));
  let y, mo, d, m;
  if ((m = /^(\d{4})[/.\-年](\d{1,2})[/.\-月](\d{1,2})日?$/.exec(s))) [y, mo, d] = [m[1], m[2], m[3]];
  else if ((m = /^(\d{4})(\d{2})(\d{2})$/.exec(s))) [y, mo, d] = [m[1], m[2], m[3]];
  else if ((m = /^(\d{1,2})[/.\-月](\d{1,2})日?$/.exec(s))) [y, mo, d] = [year, m[1], m[2]];
  else if ((m = /^(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})$/.exec(s))) {
    const i = MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase());
    if (i < 0) return null;
    [y, mo, d] = [m[3], i + 1, m[1]];
  } else return null;
  [y, mo, d] = [Number(y), Number(mo), Number(d)];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
  return `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** A date field (a text input): shows `ymd` in the staff's format; the value used is what it shows. */
export function setDate(input, ymd) {
  input.dataset.date = ymd || "";
  input.value = ymd ? dateText(ymd) : "";
}

/** The date a date field holds (YYYY-MM-DD), "" when empty; marks the field and returns null when
 * what was typed is no date. */
export function getDate(input) {
  const ymd = parseDate(input.value);
  if (ymd === null) {
    fieldMessage(input, t("date.invalid", { example: dateText(today()) }));
    return null;
  }
  setDate(input, ymd);
  return ymd;
}

/** Date fields show the date they hold in the staff's format once left (and on a language change). */
export function initDateFields(root = document) {
  for (const input of root.querySelectorAll(".date-input")) {
    input.placeholder = dateText(today());
    if (input.dataset.wired) continue;
    input.dataset.wired = "1";
    input.addEventListener("blur", () => {
      const ymd = parseDate(input.value);
      if (ymd !== null) setDate(input, ymd);
    });
  }
  for (const input of root.querySelectorAll(".date-input")) {
    if (input.dataset.date) input.value = dateText(input.dataset.date);
  }
}

/** Today in the shop's time zone, YYYY-MM-DD (from the parts: "en-CA" is not YYYY-MM-DD in
 * every engine; WebKit writes 12/1/2026). */
export function today() {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: shopZone(), year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date()).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}

export function statusLabel(s) {
  return t(`status.${s}`);
}

export function methodLabel(m) {
  return m ? t(`method.${m}`) : "—";
}

/** A translated sentence for a command error, with the core's detail underneath. */
export function errorText(e) {
  const key = e && e.message_key ? e.message_key : "error.unknown";
  return { title: t(key), detail: e && e.detail ? e.detail : "" };
}

let toastTimer;
/** A short message at the bottom right; with `action` ({label, run}) it carries a button (undo). */
export function toast(text, kind = "info", action = null, ms = 3500) {
  const el = $("#toast");
  el.replaceChildren(h("span", {}, text));
  if (action) {
    el.append(h("button", {
      id: "toast-action", class: "toast-action", type: "button",
      onclick: () => { el.className = "toast"; clearTimeout(toastTimer); action.run(); },
    }, action.label));
  }
  el.className = `toast show ${kind}${action ? " actionable" : ""}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = "toast"), action ? Math.max(ms, 6000) : ms);
}

export function hideToast() {
  clearTimeout(toastTimer);
  $("#toast").className = "toast";
}

/** What the core wants staff to know beside a result (`notices` of a charge screen). */
export function showNotices(screen) {
  const notices = (screen && screen.notices) || [];
  if (notices.length === 0) return;
  const el = $("#toast");
  el.replaceChildren(...notices.map((n) => h("div", {}, t(`notice.${n.code}`))));
  el.className = "toast show warn";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = "toast"), 7000);
}

/** Shows a command error beside the input it is about (`e.field`: the core's name for it, matched
 * by `data-field` in the open dialog or else the visible screen), or in the toast when it is about
 * no input on screen. */
export function showError(e) {
  // A PIN pad closed by the cashier: the action was not done, and there is nothing to say.
  if (e && e.cancelled) return;
  if (showFieldError(e)) return;
  const { title, detail } = errorText(e);
  // A dialog that is open shows the error inside it (a toast would be hidden behind the dialog).
  const slot = document.querySelector("dialog[open] .dialog-error");
  if (slot) {
    slot.replaceChildren(h("strong", {}, title), detail ? h("div", { class: "detail" }, detail) : "");
    slot.hidden = false;
    return;
  }
  const el = $("#toast");
  el.replaceChildren(h("strong", {}, title), detail ? h("div", { class: "detail" }, detail) : "");
  el.className = "toast show error";
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = "toast"), 7000);
}

function showFieldError(e) {
  if (!e || !e.field) return false;
  const scope = document.querySelector("dialog[open]") || document.querySelector(".screen:not([hidden])") || document;
  const input = scope.querySelector(`[data-field="${CSS.escape(e.field)}"]`);
  if (!input) return false;
  const { title, detail } = errorText(e);
  fieldMessage(input, fieldSentence(e.field) || title, detail);
  return true;
}

/** The staff's-language sentence for a field the core refused (its detail stays underneath). */
function fieldSentence(field) {
  const key = `field.${field}`;
  const s = t(key);
  return s === key ? null : s;
}

/** Clears the messages shown beside fields in `scope` (a form, a dialog, a screen). */
export function clearFieldMessages(scope = document) {
  for (const old of scope.querySelectorAll(".field-error")) old.remove();
  for (const old of scope.querySelectorAll("[aria-invalid]")) old.removeAttribute("aria-invalid");
}

/** Shows a message beside an input (never a browser bubble) and focuses it. */
export function fieldMessage(input, title, detail = "") {
  const scope = input.closest("dialog, form, .screen") || document;
  clearFieldMessages(scope);
  const msg = h("div", { class: "field-error", role: "alert" }, h("strong", {}, title), detail ? h("div", {}, detail) : "");
  (input.closest("label") || input).after(msg);
  input.setAttribute("aria-invalid", "true");
  input.focus();
  const clear = () => { input.removeAttribute("aria-invalid"); msg.remove(); };
  input.addEventListener("input", clear, { once: true });
  input.addEventListener("change", clear, { once: true });
  return msg;
}

/** Non-blocking banner for network trouble (cleared on the next success). */
export function banner(text) {
  const el = $("#banner");
  if (!text) {
    el.hidden = true;
    return;
  }
  el.textContent = text;
  el.hidden = false;
}

export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h("textarea", {}, text);
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  toast(t("charge.copied"));
}

/**
 * Asks the cashier to confirm (an in-app dialog: a webview's native `confirm()` looks foreign and some
 * webviews do not show it). Resolves true on OK; Esc or the other button is false.
 */
export function confirmAction(message, okLabel, backLabel) {
  const dlg = document.getElementById("confirm-dialog");
  return new Promise((resolve) => {
    const finish = (v) => {
      dlg.close();
      resolve(v);
    };
    dlg.replaceChildren(
      h("p", { class: "confirm-message" }, message),
      h("div", { class: "detail-actions" },
        h("button", { id: "confirm-no", class: "btn ghost", type: "button", onclick: () => finish(false) }, backLabel ?? t("common.back")),
        h("button", { id: "confirm-yes", class: "btn danger", type: "button", onclick: () => finish(true) }, okLabel ?? t("common.ok"))),
    );
    dlg.oncancel = (e) => {
      e.preventDefault();
      finish(false);
    };
    dlg.showModal();
    document.getElementById("confirm-no").focus();
  });
}

/**
 * Asks where to save a `format` file (`name` suggested), then `write(path)`, which returns the toast
 * to show; nothing happens if the staff cancels, and an error is shown as any other.
 */
export async function saveAs(name, format, write) {
  let path;
  try {
    path = await saveDialog({ defaultPath: name, filters: [{ name: format.toUpperCase(), extensions: [format] }] });
  } catch (e) {
    return showError(e);
  }
  if (!path) return;
  try {
    toast(await write(path));
  } catch (e) {
    showError(e);
  }
}
