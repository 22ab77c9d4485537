// Settings (key → OS keychain, shop settings, language) and the CSV export screen.
import { t, setLang, getLang } from "./i18n.js";
import { $, $$, h, call, showError, toast, today, methodLabel } from "./util.js";
import { METHODS } from "./register.js";
import { app, refreshInfo, relabel as relabelAll, notify } from "./app.js";

export function init() {
  $("#key-form").addEventListener("submit", saveKey);
  $("#key-test").addEventListener("click", testConnection);
  $("#settings-form").addEventListener("submit", saveSettings);
  $("#export-form").addEventListener("submit", doExport);
  load();
}

async function load() {
  try {
    const s = await call("get_settings");
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
    $("#s-methods").replaceChildren(...METHODS.map((id) =>
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
    await call("save_key", { key });
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
    const r = await call("test_connection");
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
    payment_methods: $$("#s-methods input:checked").map((c) => c.value).join(","),
    locale: $("#s-locale").value,
    demo_lan: $("#s-demo-lan").checked ? "on" : "off",
  };
  try {
    for (const [key, value] of Object.entries(wanted)) {
      if (window.rejiSettings?.[key] === value) continue;
      window.rejiSettings = await call("set_setting", { key, value });
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

export const exportScreen = {
  enter() {
    if (!$("#x-from").value) {
      const d = today();
      $("#x-from").value = `${d.slice(0, 8)}01`;
      $("#x-to").value = d;
    }
  },
};

async function doExport(e) {
  e.preventDefault();
  const from = $("#x-from").value || null;
  const to = $("#x-to").value || null;
  let path;
  try {
    path = await call("plugin:dialog|save", {
      options: { defaultPath: `reji-${from ?? "all"}-${to ?? today()}.csv`, filters: [{ name: "CSV", extensions: ["csv"] }] },
    });
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
  const onProgress = new window.__TAURI__.core.Channel();
  onProgress.onmessage = ({ rows, total }) => {
    progress.max = Math.max(total, 1);
    progress.value = rows;
    $("#x-result").textContent = t("export.progress", { n: rows, total });
  };
  try {
    const r = await call("export_csv", {
      input: { path, from, to, encoding: $("#x-encoding").value, headers: $("#x-headers").value },
      onProgress,
    });
    const done = t("export.done", { n: r.rows, path: r.path });
    $("#x-result").textContent = done;
    notify(t("export.title"), done);
  } catch (err) {
    showError(err);
  } finally {
    progress.hidden = true;
    button.disabled = false;
  }
}
