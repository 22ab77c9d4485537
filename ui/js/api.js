// Every command the staff window sends to the app, one function each: the only module that talks
// to the Rust side (`src-tauri/src/commands.rs`; the capabilities allow exactly these).

const tauri = window.__TAURI__;

/** Calls a Rust command; rejects with the command's `{code, message_key, detail, field?}`. */
async function call(cmd, args = {}) {
  try {
    return await tauri.core.invoke(cmd, args);
  } catch (e) {
    if (e && typeof e === "object" && e.code) throw e;
    throw { code: "unknown", message_key: "error.unknown", detail: String(e) };
  }
}

// The app and its settings
export const appInfo = () => call("app_info");
export const getSettings = () => call("get_settings");
export const setSetting = (key, value, approval) => call("set_setting", { key, value, approval });
export const setSettings = (values, approval) => call("set_settings", { values, approval });
export const saveKey = (key, approval) => call("save_key", { key, approval });
export const testConnection = () => call("test_connection");

// Ringing up and charging
export const previewTotals = (lines) => call("preview_totals", { lines });
export const charge = (input) => call("charge", { input });
export const watchInvoice = (number) => call("watch_invoice", { number });
export const unwatchInvoice = (number) => call("unwatch_invoice", { number });
export const refreshInvoice = (number) => call("refresh_invoice", { number });
export const cancelInvoice = (number) => call("cancel_invoice", { number });
export const retryInvoice = (number) => call("retry_invoice", { number });
export const refundInvoice = (number, amount, bank, approval) => call("refund_invoice", { number, amount, bank, approval });
export const returnItems = (number, items, reason, bank, approval) => call("refund_invoice", { number, items, reason, bank, approval });
export const previewReturn = (number, items) => call("preview_return", { number, items });
export const checkRefundBank = (bank) => call("check_refund_bank", { bank });
export const settlePreview = (total, cash, tenders) => call("settle_preview", { total, cash, tenders });

// The drawer (点検 / 精算) and the staff
export const drawerCheck = () => call("drawer_check");
export const saveDrawerReport = (which, path, format) => call("save_drawer_report", { which, path, format });
export const drawerOpen = (counts, approval) => call("drawer_open", { counts, approval });
export const drawerMove = (kind, amount, reason, approval) => call("drawer_move", { kind, amount, reason, approval });
export const drawerClose = (counts, approval) => call("drawer_close", { counts, approval });

// The receipt printer (jobs queue in the ledger; `print-status` events say how each went)
export const printReceipt = (number, refund = null) => call("print_receipt", { number, refund });
export const printSlip = (number) => call("print_slip", { number });
export const printTestPage = () => call("print_test_page");
export const printDrawerCheck = () => call("print_drawer_check");
export const openDrawer = (approval) => call("open_drawer", { approval });
export const printQueue = () => call("print_queue");
export const retryPrints = () => call("retry_prints");
export const openInstructions = (number) => call("open_instructions", { number });
export const diagnostics = () => call("diagnostics");
export const printDialog = () => call("print_dialog");
export const staffState = () => call("staff_state_get");
export const signIn = (pin) => call("sign_in", { pin });
export const signOut = () => call("sign_out");
export const staffAdd = (name, pin, role, approval) => call("staff_add", { name, pin, role, approval });

// The cart: previewed by the core, kept across restarts, held and recalled
export const previewCart = (cart) => call("preview_cart", { cart });
export const saveCart = (cart) => call("save_cart", { cart });
export const currentCart = () => call("current_cart");
export const holdCart = (cart, label) => call("hold_cart", { cart, label });
export const heldOrders = () => call("held_orders");
export const recallOrder = (id) => call("recall_order", { id });

// The catalog
export const productsList = (q, archived) => call("products_list", { q, archived });
export const productLookup = (key) => call("product_lookup", { key });
export const productAdd = (input, approval) => call("product_add", { input, approval });
export const productEdit = (id, input, approval) => call("product_edit", { id, input, approval });
export const productArchive = (id, approval) => call("product_archive", { id, approval });
export const productsImport = (path, approval) => call("products_import", { path, approval });
export const productsExport = (path, encoding) => call("products_export", { path, encoding });

// The customer display and demo mode
export const openCustomerDisplay = () => call("open_customer_display");
export const setCustomerView = (number) => call("set_customer_view", { number });
export const demoPayWindow = (number) => call("demo_pay_window", { number });
export const demoPaidAtStore = (number) => call("demo_paid_at_store", { number });

// History, the day, receipts, export
export const listInvoices = (query) => call("list_invoices", { query });
export const invoiceDetail = (number) => call("invoice_detail", { number });
export const syncNow = () => call("sync_now");
export const todayView = (date) => call("today_view", { date });
export const closeDay = (date, approval) => call("close_day", { date, approval });
export const saveClose = (date, path, format) => call("save_close", { date, path, format });
export const receipt = (number, refund) => call("receipt", { number, refund });
export const exportCsv = (input, onProgress) => call("export_csv", { input, onProgress });
export const progressChannel = () => new tauri.core.Channel();

// Tauri's plugins (allowed in the staff window's capability)
export const saveDialog = (options) => call("plugin:dialog|save", { options });
export const openDialog = (options) => call("plugin:dialog|open", { options });

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

/** Events the app pushes to the staff window (`src-tauri/src/windows.rs` names them). */
export const on = (event, handler) => tauri.event.listen(event, handler);
