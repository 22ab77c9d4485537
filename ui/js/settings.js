// Settings: the KOMOJU key (OS keychain), the shop's settings, the language.
import { t, setLang, getLang } from "./i18n.js";
import { $, $$, h, showError, toast, methodLabel, fieldMessage, clearFieldMessages } from "./util.js";
import * as api from "./api.js";
import { app, refreshInfo, relabel as relabelAll } from "./nav.js";
import { people, withApproval, renderChip } from "./staff.js";

/** The journal export's account names: the field and its setting. */
const JOURNAL_FIELDS = [
  ["s-j-cash", "journal_cash_account"],
  ["s-j-debit", "journal_debit_account"],
  ["s-j-debit-sub", "journal_debit_sub"],
  ["s-j-tender", "journal_tender_account"],
  ["s-j-credit", "journal_credit_account"],
];

export function init() {
  $("#key-form").addEventListener("submit", saveKey);
  $("#key-test").addEventListener("click", testConnection);
  $("#settings-form").addEventListener("submit", saveSettings);
  $("#staff-form").addEventListener("submit", addStaff);
  $("#welcome-form").addEventListener("submit", (e) => {
    e.preventDefault();
    saveWelcome();
  });
  $("#w-skip").addEventListener("click", skipWelcome);
  $("#welcome-dialog").addEventListener("cancel", (e) => {
    e.preventDefault();
    skipWelcome();
  });
  return load();
}

/** The payment page's lifetime is stored in seconds and shown in minutes. */
function minutesOf(seconds) {
  const n = Number(seconds);
  if (!Number.isFinite(n)) return "";
  return n % 60 === 0 ? String(n / 60) : (n / 60).toFixed(1);
}

/**
 * A first start (the shop is still called "Reji"): offers to set the shop's name and registration
 * number, which receipts need. Skippable; offered again on the next start until a name is set.
 */
export function maybeWelcome() {
  const s = window.rejiSettings;
  if (!s || s.shop_name !== "Reji" || sessionStorage.getItem("reji.welcome_skipped")) return false;
  $("#w-shop").value = "";
  $("#w-regno").value = s.registration_number ?? "";
  clearFieldMessages($("#welcome-dialog"));
  $("#welcome-dialog").showModal();
  $("#w-shop").focus();
  return true;
}

function skipWelcome() {
  sessionStorage.setItem("reji.welcome_skipped", "1");
  $("#welcome-dialog").close();
}

async function saveWelcome() {
  const shop = $("#w-shop").value.trim();
  if (!shop) return fieldMessage($("#w-shop"), t("field.settings.shop_name"));
  try {
    window.rejiSettings = await withApproval((a) => api.setSettings({ shop_name: shop, registration_number: $("#w-regno").value.trim() }, a));
    $("#welcome-dialog").close();
    toast(t("settings.saved"));
    await refreshInfo();
    await load();
  } catch (e) {
    showError(e);
  }
}

async function load() {
  clearFieldMessages($("#settings-form"));
  try {
    const s = await api.getSettings();
    window.rejiSettings = s;
    $("#s-shop").value = s.shop_name;
    $("#s-regno").value = s.registration_number ?? "";
    $("#s-address").value = s.shop_address ?? "";
    $("#s-phone").value = s.shop_phone ?? "";
    $("#s-footer").value = s.receipt_footer ?? "";
    $("#s-price-mode").value = s.price_mode;
    $("#s-rounding").value = s.rounding;
    $("#s-expires").value = minutesOf(s.expires_in);
    $("#s-dining").value = s.dining || "take_away";
    $("#s-locale").value = s.locale ?? "";
    $("#s-demo-lan").checked = s.demo_lan === "on";
    $("#s-tenders").value = (s.shop_tenders ?? "").split(",").filter(Boolean).join(", ");
    $("#s-day-start").value = s.day_starts_at ?? "00:00";
    for (const [id, key] of JOURNAL_FIELDS) $(`#${id}`).value = s[key] ?? "";
    const enabled = (s.payment_methods ?? "").split(",").filter(Boolean);
    $("#s-methods").replaceChildren(...(app.info?.payment_types ?? []).map((id) =>
      h("label", { class: "chip" },
        h("input", { type: "checkbox", value: id, checked: enabled.includes(id) }),
        h("span", {}, methodLabel(id)))));
    document.dispatchEvent(new CustomEvent("reji-settings", { detail: s }));
  } catch (e) {
    showError(e);
  }
}

export function enter() {
  load();
  renderStaff();
  $("#s-lang").value = getLang();
  renderKey();
}

export function relabel() {
  renderKey();
}

function renderKey() {
  const info = app.info;
  if (!info) return;
  const badge = $("#key-badge");
  badge.textContent = t(`mode.${info.mode}`);
  badge.className = `badge ${info.mode}`;
  $("#key-masked").textContent = info.key_masked || (info.mode === "demo" ? t("settings.key_none") : info.key_error?.detail || "");
}

async function saveKey(e) {
  e.preventDefault();
  const input = $("#key-input");
  const key = input.value.trim();
  if (!key) return input.focus();
  try {
    await withApproval((a) => api.saveKey(key, a));
    input.value = "";
    toast(t("settings.key_saved"));
    await refreshInfo();
    renderKey();
  } catch (err) {
    showError(err);
  } finally {
    input.value = "";
  }
}

async function testConnection() {
  const out = $("#key-test-result");
  out.textContent = t("settings.key_testing");
  try {
    const r = await api.testConnection();
    out.textContent = t("settings.key_test_ok", { mode: t(`mode.${r.mode}`), ms: r.millis });
  } catch (err) {
    out.textContent = "";
    showError(err);
  }
}

/** One save for the whole form, all or nothing (`set_settings`): a refused field is marked beside
 * it and nothing is stored. */
async function saveSettings(e) {
  e.preventDefault();
  const form = $("#settings-form");
  clearFieldMessages(form);
  const minutes = $("#s-expires").value.trim().replace(/[０-９．]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  if (!/^\d+(\.\d+)?$/.test(minutes)) return fieldMessage($("#s-expires"), t("field.settings.expires_in"));
  const values = {
    shop_name: $("#s-shop").value.trim(),
    registration_number: $("#s-regno").value.trim(),
    shop_address: $("#s-address").value.trim(),
    shop_phone: $("#s-phone").value.trim(),
    receipt_footer: $("#s-footer").value.trim(),
    price_mode: $("#s-price-mode").value,
    rounding: $("#s-rounding").value,
    expires_in: String(Math.round(Number(minutes) * 60)),
    dining: $("#s-dining").value,
    payment_methods: $$("#s-methods input:checked").map((c) => c.value),
    locale: $("#s-locale").value,
    demo_lan: $("#s-demo-lan").checked ? "on" : "off",
    shop_tenders: $("#s-tenders").value.split(/[,、]/).map((x) => x.trim()).filter(Boolean),
    day_starts_at: $("#s-day-start").value.trim().replace(/[０-９：]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)),
  };
  for (const [id, key] of JOURNAL_FIELDS) values[key] = $(`#${id}`).value.trim();
  if (!/^\d{1,2}:\d{2}$/.test(values.day_starts_at)) return fieldMessage($("#s-day-start"), t("field.settings.day_starts_at"));
  try {
    window.rejiSettings = await withApproval((a) => api.setSettings(values, a));
  } catch (err) {
    return showError(err);
  }
  const lang = $("#s-lang").value;
  if (lang !== getLang()) {
    setLang(lang);
    relabelAll();
  }
  toast(t("settings.saved"));
  $("#s-expires").value = minutesOf(window.rejiSettings.expires_in);
  refreshInfo();
  document.dispatchEvent(new CustomEvent("reji-settings", { detail: window.rejiSettings }));
}

// ---- Staff ----

/** The staff list (names and roles; never a PIN) and who is signed in here. */
export function renderStaff() {
  const ul = $("#staff-list");
  if (!ul) return;
  ul.replaceChildren(...(people.staff.length
    ? people.staff.map((m) => h("li", { class: "staff-row" },
      h("span", { class: "staff-row-name" }, m.name),
      h("span", { class: `badge role-${m.role}` }, t(`staff.role.${m.role}`)),
      people.signed_in?.id === m.id ? h("span", { class: "muted small" }, t("staff.here")) : ""))
    : [h("li", { class: "muted" }, t("staff.none"))]));
  // The first member must be a manager (someone has to be able to do a manager's work).
  const role = $("#st-role");
  role.value = people.staff.length ? role.value : "manager";
  role.querySelector("option[value=cashier]").disabled = people.staff.length === 0;
}

async function addStaff(e) {
  e.preventDefault();
  const form = $("#staff-form");
  clearFieldMessages(form);
  const name = $("#st-name");
  const pin = $("#st-pin");
  if (!name.value.trim()) return fieldMessage(name, t("field.name"));
  const digits = pin.value.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  if (!/^\d{4,8}$/.test(digits)) return fieldMessage(pin, t("field.pin"));
  try {
    const st = await withApproval((a) => api.staffAdd(name.value.trim(), digits, $("#st-role").value, a));
    Object.assign(people, st);
    name.value = "";
    pin.value = "";
    renderChip();
    renderStaff();
    toast(t("staff.added"));
    name.focus();
  } catch (err) {
    if (!err?.cancelled) showError(err);
  }
}
