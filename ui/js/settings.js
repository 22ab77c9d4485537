// Settings: the KOMOJU key (OS keychain), the shop's settings, the language.
import { t, setLang, getLang } from "./i18n.js";
import { $, $$, h, showError, toast, methodLabel } from "./util.js";
import * as api from "./api.js";
import { app, refreshInfo, relabel as relabelAll } from "./nav.js";

export function init() {
  $("#key-form").addEventListener("submit", saveKey);
  $("#key-test").addEventListener("click", testConnection);
  $("#settings-form").addEventListener("submit", saveSettings);
  load();
}

async function load() {
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
    $("#s-expires").value = s.expires_in;
    $("#s-locale").value = s.locale ?? "";
    $("#s-demo-lan").checked = s.demo_lan === "on";
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
    await api.saveKey(key);
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

async function saveSettings(e) {
  e.preventDefault();
  const wanted = {
    shop_name: $("#s-shop").value,
    registration_number: $("#s-regno").value,
    shop_address: $("#s-address").value,
    shop_phone: $("#s-phone").value,
    receipt_footer: $("#s-footer").value,
    price_mode: $("#s-price-mode").value,
    rounding: $("#s-rounding").value,
    expires_in: $("#s-expires").value,
    payment_methods: $$("#s-methods input:checked").map((c) => c.value),
    locale: $("#s-locale").value,
    demo_lan: $("#s-demo-lan").checked ? "on" : "off",
  };
  try {
    for (const [key, value] of Object.entries(wanted)) {
      const current = window.rejiSettings?.[key];
      if (Array.isArray(value) ? (current ?? "") === value.join(",") : current === value) continue;
      window.rejiSettings = await api.setSetting(key, value);
    }
    const lang = $("#s-lang").value;
    if (lang !== getLang()) {
      setLang(lang);
      relabelAll();
    }
    toast(t("settings.saved"));
    refreshInfo();
    document.dispatchEvent(new CustomEvent("reji-settings", { detail: window.rejiSettings }));
  } catch (err) {
    showError(err);
  }
}
