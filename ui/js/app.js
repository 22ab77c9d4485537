// The staff window: navigation, keyboard shortcuts, mode badge / DEMO ribbon.
import { t, setLang, getLang, applyStatic } from "./i18n.js";
import { $, $$, call, showError, banner, toast, yen } from "./util.js";
import * as register from "./register.js";
import * as charge from "./charge.js";
import * as history from "./history.js";
import * as settings from "./settings.js";

export const app = { info: null, screen: "register" };

const screens = { register, charge, history, export: settings.exportScreen, settings };

export function show(name, arg) {
  if (app.screen === "charge" && name !== "charge") charge.leave();
  app.screen = name;
  for (const s of $$(".screen")) s.hidden = s.id !== `screen-${name}`;
  for (const b of $$(".tab")) b.classList.toggle("active", b.dataset.screen === name || (name === "charge" && b.dataset.screen === "register"));
  screens[name]?.enter?.(arg);
}

export async function refreshInfo() {
  try {
    app.info = await call("app_info");
  } catch (e) {
    showError(e);
    return;
  }
  const m = app.info.mode;
  const badge = $("#mode-badge");
  badge.textContent = t(`mode.${m}`);
  badge.className = `badge ${m}`;
  $("#demo-ribbon").hidden = m !== "demo";
  document.body.classList.toggle("demo", m === "demo");
  $("#shop-name").textContent = app.info.shop_name;
}

function onKey(e) {
  const dialogOpen = $("#detail").open;
  const fkeys = { F1: "register", F2: "history", F3: "export", F4: "settings" };
  if (fkeys[e.key] && !dialogOpen) {
    e.preventDefault();
    if (app.screen === "charge" && fkeys[e.key] === "register") return;
    show(fkeys[e.key]);
    return;
  }
  if (app.screen === "register") register.onKey(e);
  else if (app.screen === "charge") charge.onKey(e);
}

window.addEventListener("DOMContentLoaded", async () => {
  setLang(getLang());
  $("#lang-toggle").addEventListener("click", () => {
    setLang(getLang() === "ja" ? "en" : "ja");
    relabel();
  });
  for (const b of $$(".tab")) b.addEventListener("click", () => {
    if (app.screen === "charge" && b.dataset.screen === "register") return;
    show(b.dataset.screen);
  });
  document.addEventListener("keydown", onKey);
  register.init();
  charge.init();
  history.init();
  settings.init();
  listenToTracker();
  await refreshInfo();
  relabel();
  show("register");
});

/** The payment tracker's state (network trouble, key problem) and konbini / bank payments that
 * arrive later: a banner, a toast and an OS notification in the staff's language. */
function listenToTracker() {
  const { listen } = window.__TAURI__.event;
  listen("tracker-status", (e) => {
    const s = e.payload;
    banner(s.message_key ? t(s.message_key) : null);
    document.body.dataset.feed = s.feed ?? "";
  });
  listen("paid-later", (e) => {
    const p = e.payload;
    const body = t("notify.paid_later_body", { number: p.invoice_number, amount: yen(p.amount, p.currency) });
    toast(`${t("notify.paid_later_title")}: ${body}`);
    notify(t("notify.paid_later_title"), body);
  });
}

/** An OS notification (best effort: permission refused or no notification service = nothing). */
export async function notify(title, body) {
  try {
    let granted = await call("plugin:notification|is_permission_granted");
    if (!granted) granted = (await call("plugin:notification|request_permission")) === "granted";
    if (granted) await call("plugin:notification|notify", { options: { title, body } });
  } catch {
    // The toast in the window is enough.
  }
}

export function relabel() {
  applyStatic();
  $("#lang-toggle").textContent = getLang() === "ja" ? "EN" : "日本語";
  if (app.info) {
    $("#mode-badge").textContent = t(`mode.${app.info.mode}`);
  }
  for (const s of Object.values(screens)) s?.relabel?.();
}
