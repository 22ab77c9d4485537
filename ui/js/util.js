// Small DOM and formatting helpers shared by the staff screens (the commands are in api.js).
import { t, getLang } from "./i18n.js";

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

export function dateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return new Intl.DateTimeFormat(getLang() === "ja" ? "ja-JP" : "en-GB", {
    timeZone: "Asia/Tokyo",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).format(d);
}

/** Today in the shop's time zone, YYYY-MM-DD. */
/** Today in the shop's time zone (the `time_zone` setting; Asia/Tokyo until it is loaded). */
export function today() {
  const timeZone = window.rejiSettings?.time_zone || "Asia/Tokyo";
  return new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date());
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
export function toast(text, kind = "info") {
  const el = $("#toast");
  el.replaceChildren(text);
  el.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = "toast"), 3500);
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
  if (showFieldError(e)) return;
  const { title, detail } = errorText(e);
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
  for (const old of scope.querySelectorAll(".field-error")) old.remove();
  for (const old of scope.querySelectorAll("[aria-invalid]")) old.removeAttribute("aria-invalid");
  const { title, detail } = errorText(e);
  const msg = h("div", { class: "field-error", role: "alert" }, h("strong", {}, title), detail ? h("div", {}, detail) : "");
  (input.closest("label") || input).after(msg);
  input.setAttribute("aria-invalid", "true");
  input.focus();
  input.addEventListener("input", () => { input.removeAttribute("aria-invalid"); msg.remove(); }, { once: true });
  return true;
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
export function confirmAction(message, okLabel) {
  const dlg = document.getElementById("confirm-dialog");
  return new Promise((resolve) => {
    const finish = (v) => {
      dlg.close();
      resolve(v);
    };
    dlg.replaceChildren(
      h("p", { class: "confirm-message" }, message),
      h("div", { class: "detail-actions" },
        h("button", { id: "confirm-no", class: "btn ghost", type: "button", onclick: () => finish(false) }, t("common.back")),
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
