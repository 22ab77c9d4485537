// Who works the register: the PIN pad (sign in, switch cashier, a manager's approval of one
// action), the signed-in name in the header, and `withApproval` for the manager's actions. A shop
// with no staff never sees any of it (the app acts as its one owner).
import { t } from "./i18n.js";
import { $, h } from "./util.js";
import * as api from "./api.js";

/** The core's staff and who is signed in here (`staff_state_get`). */
export const people = { staff: [], signed_in: null };

const DENIED = ["error.sign_in_needed", "error.manager_needed", "error.pin_unknown"];

/** Thrown when the cashier closes a PIN pad: the action was not done, and nothing is shown. */
export const CANCELLED = { cancelled: true, code: "cancelled", message_key: "pin.cancelled", detail: "" };

/** A keypad of big buttons (7 8 9 / 4 5 6 / 1 2 3 / C 0 ⌫) typing into `input`. */
export function keypad(input, extra = []) {
  const press = (k) => {
    if (k === "C") input.value = "";
    else if (k === "⌫") input.value = input.value.slice(0, -1);
    else if (!input.maxLength || input.maxLength < 0 || input.value.length < input.maxLength) input.value += k;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  };
  const keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "C", "0", "⌫", ...extra];
  return h("div", { class: "keypad" },
    ...keys.map((k) => h("button", {
      type: "button", class: "key", tabindex: "-1", dataset: { key: k },
      "aria-label": k === "⌫" ? t("pin.backspace") : k === "C" ? t("pin.clear") : k,
      // The focus stays in the field (typing from the keyboard goes on working).
      onmousedown: (e) => e.preventDefault(),
      onclick: () => press(k),
    }, k)));
}

/**
 * The PIN pad: resolves with the PIN typed, or null when closed (only when `cancellable`).
 * `check(pin)` runs the action and returns null when done, or a message to show on the pad (a
 * wrong PIN) and let the person try again.
 */
export function pinPad({ title, sub = "", cancellable = true, check, extra = null }) {
  let dlg = $("#pin-dialog");
  if (!dlg) {
    dlg = h("dialog", { id: "pin-dialog", class: "detail pin-dialog" });
    document.body.append(dlg);
  }
  return new Promise((resolve) => {
    const input = h("input", {
      id: "pin-input", type: "password", inputmode: "numeric", maxlength: "8", autocomplete: "off",
      "aria-label": t("pin.label"), class: "pin-input", "data-field": "pin",
    });
    const msg = h("p", { id: "pin-error", class: "field-error pin-error", role: "alert", hidden: true });
    const ok = h("button", { id: "pin-ok", class: "btn primary", type: "submit" }, t("pin.ok"));
    const form = h("form", { method: "dialog", novalidate: true, autocomplete: "off" },
      h("h2", { id: "pin-title" }, title),
      sub ? h("p", { class: "muted" }, sub) : "",
      input, msg, keypad(input),
      h("div", { class: "detail-actions" },
        cancellable ? h("button", { id: "pin-cancel", class: "btn ghost", type: "button", onclick: () => finish(null) }, t("common.back")) : "",
        extra || "",
        ok));
    let busy = false;
    const finish = (v) => {
      dlg.close();
      resolve(v);
    };
    input.addEventListener("input", () => {
      input.value = input.value.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\D/g, "");
      msg.hidden = true;
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (busy) return;
      const pin = input.value;
      if (!/^\d{4,8}$/.test(pin)) {
        msg.textContent = t("pin.shape");
        msg.hidden = false;
        return input.focus();
      }
      busy = true;
      ok.disabled = true;
      try {
        const problem = check ? await check(pin) : null;
        if (problem) {
          msg.textContent = problem;
          msg.hidden = false;
          input.value = "";
          input.focus();
        } else {
          finish(pin);
        }
      } finally {
        busy = false;
        ok.disabled = false;
      }
    });
    dlg.replaceChildren(form);
    dlg.oncancel = (e) => {
      e.preventDefault();
      if (cancellable) finish(null);
    };
    if (!dlg.open) dlg.showModal();
    input.focus();
  });
}

/** Runs `action(approval)`: when it needs a manager and the one signed in is a cashier, a manager
 * types their PIN on the pad and the action runs again with it, for this one call (the cashier
 * stays signed in). When nobody is signed in, the sign-in pad comes first. Errors other than a
 * refusal reach the caller as they are; a closed pad throws `CANCELLED`. */
export async function withApproval(action) {
  try {
    return await action(null);
  } catch (e) {
    if (e?.message_key === "error.sign_in_needed") {
      await signIn(true);
      return withApproval(action);
    }
    if (e?.message_key !== "error.manager_needed") throw e;
  }
  let result;
  let failure = null;
  const pin = await pinPad({
    title: t("pin.approve_title"),
    sub: t("pin.approve_sub"),
    check: async (p) => {
      try {
        result = await action(p);
        return null;
      } catch (e) {
        if (DENIED.includes(e?.message_key)) return t(e.message_key);
        failure = e;
        return null;
      }
    },
  });
  if (pin == null) throw CANCELLED;
  if (failure) throw failure;
  return result;
}

/** The sign-in pad (at start, or to switch cashier). `cancellable`: someone is signed in already. */
export async function signIn(cancellable = false) {
  const extra = people.signed_in
    ? h("button", { id: "pin-sign-out", class: "btn ghost", type: "button", onclick: () => signOut() }, t("staff.sign_out"))
    : null;
  const pin = await pinPad({
    title: people.signed_in ? t("staff.switch") : t("staff.sign_in_title"),
    sub: t("staff.sign_in_sub"),
    cancellable: cancellable && !!people.signed_in,
    extra,
    check: async (p) => {
      try {
        Object.assign(people, await api.signIn(p));
        return null;
      } catch (e) {
        return t(e?.message_key || "error.unknown");
      }
    },
  });
  renderChip();
  if (pin == null && !people.signed_in && people.staff.length) return signIn(false);
  return people.signed_in;
}

async function signOut() {
  $("#pin-dialog")?.close();
  Object.assign(people, await api.signOut());
  renderChip();
  signIn(false);
}

/** Loads who works here; with staff and nobody signed in, asks for a PIN before anything else. */
export async function start() {
  try {
    Object.assign(people, await api.staffState());
  } catch {
    return;
  }
  renderChip();
  if (people.staff.length && !people.signed_in) await signIn(false);
}

export async function reload() {
  Object.assign(people, await api.staffState());
  renderChip();
}

/** The header shows who is signed in (a button: switch cashier); nothing without staff. */
export function renderChip() {
  const chip = $("#staff-chip");
  if (!chip) return;
  chip.hidden = !people.staff.length;
  const m = people.signed_in;
  chip.replaceChildren(
    h("span", { class: "staff-name", id: "staff-name" }, m ? m.name : t("staff.nobody")),
    m ? h("span", { class: "staff-role muted small" }, t(`staff.role.${m.role}`)) : "");
}

export function init() {
  $("#staff-chip")?.addEventListener("click", () => signIn(true).catch(() => {}));
}
