// The staff window: registers the screens with the navigation, keyboard shortcuts, and what the
// payment tracker pushes (banner, paid-later toast and OS notification).
import { t, setLang, getLang } from "./i18n.js";
import { $, $$, banner, toast, yen, initDateFields } from "./util.js";
import * as api from "./api.js";
import { app, show, keyToScreen, refreshInfo, relabel, registerScreens } from "./nav.js";
import * as register from "./register.js";
import * as charge from "./charge.js";
import * as history from "./history.js";
import * as exportScreen from "./export.js";
import * as settings from "./settings.js";
import * as products from "./products.js";
import * as drawer from "./drawer.js";
import * as pay from "./pay.js";
import * as staff from "./staff.js";
import * as printer from "./printer.js";
import * as support from "./support.js";

registerScreens({ register, charge, history, export: exportScreen, settings, products, drawer });

function onKey(e) {
  const dialogOpen = !!document.querySelector("dialog[open]");
  const fkeys = { F1: "register", F2: "history", F3: "export", F4: "settings", F5: "products", F6: "drawer" };
  if (fkeys[e.key]) e.preventDefault(); // F5 never reloads the window
  if (fkeys[e.key] && !dialogOpen) {
    e.preventDefault();
    if (app.screen === "charge" && fkeys[e.key] === "register") return;
    show(fkeys[e.key]);
    return;
  }
  if (app.screen === "register" || app.screen === "charge") keyToScreen(e);
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
  // After a click, the focus never stays on <body> (typing would go nowhere): it goes back to
  // where the screen wants it.
  document.addEventListener("click", () => setTimeout(() => {
    const a = document.activeElement;
    if ((!a || a === document.body) && !document.querySelector("dialog[open]")) defaultFocus();
  }, 0));
  document.addEventListener("focusout", () => setTimeout(() => {
    const a = document.activeElement;
    if ((!a || a === document.body) && !document.querySelector("dialog[open]") && document.hasFocus()) defaultFocus();
  }, 50));
  // First what the app is (mode, shop, the payment types the screens offer), then the screens.
  await refreshInfo();
  register.init();
  charge.init();
  history.init();
  exportScreen.init();
  products.init();
  drawer.init();
  pay.init();
  staff.init();
  printer.init();
  support.init();
  await settings.init();
  listenToTracker();
  relabel();
  initDateFields();
  show("register");
  // A shop with staff: who works the register first (nothing changes for a shop without staff).
  await staff.start();
  settings.maybeWelcome();
});

function defaultFocus() {
  if (app.screen === "register") register.focusHome();
  else if (app.screen === "charge") charge.focusDefault();
  else document.querySelector(".screen:not([hidden]) input, .screen:not([hidden]) button")?.focus();
}

/** The payment tracker's state (network trouble, key problem) and konbini / bank payments that
 * arrive later: a banner, a toast and an OS notification in the staff's language. */
function listenToTracker() {
  api.on("tracker-status", (e) => {
    const s = e.payload;
    banner(s.message_key ? t(s.message_key) : null);
    document.body.dataset.feed = s.feed ?? "";
  });
  api.on("paid-later", (e) => {
    const p = e.payload;
    const body = t("notify.paid_later_body", { number: p.invoice_number, amount: yen(p.amount, p.currency) });
    toast(`${t("notify.paid_later_title")}: ${body}`);
    api.notify(t("notify.paid_later_title"), body);
  });
}
