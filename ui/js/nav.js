// Navigation between the staff window's screens, and what every screen may read about the app (its
// mode and shop). Screens import this module; it imports none of them (app.js registers them), so
// there is no import cycle between the shell of the window and its screens.
import { t, getLang, applyStatic } from "./i18n.js";
import { $, $$, showError, initDateFields } from "./util.js";
import * as api from "./api.js";

export const app = { info: null, screen: "register" };

const screens = {};

/** Called once by app.js: name → screen module ({init, enter, leave, relabel, onKey}, all optional). */
export function registerScreens(s) {
  Object.assign(screens, s);
}

export function show(name, arg) {
  if (app.screen === "charge" && name !== "charge") screens.charge?.leave?.();
  app.screen = name;
  document.body.dataset.screen = name;
  for (const s of $$(".screen")) s.hidden = s.id !== `screen-${name}`;
  for (const b of $$(".tab")) b.classList.toggle("active", b.dataset.screen === name || (name === "charge" && b.dataset.screen === "register"));
  screens[name]?.enter?.(arg);
}

/** The screen on show gets the key first (its own shortcuts). */
export function keyToScreen(e) {
  screens[app.screen]?.onKey?.(e);
}

export async function refreshInfo() {
  try {
    app.info = await api.appInfo();
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

export function relabel() {
  applyStatic();
  $("#lang-toggle").textContent = getLang() === "ja" ? "EN" : "日本語";
  if (app.info) {
    $("#mode-badge").textContent = t(`mode.${app.info.mode}`);
  }
  for (const s of Object.values(screens)) s?.relabel?.();
  initDateFields();
}
