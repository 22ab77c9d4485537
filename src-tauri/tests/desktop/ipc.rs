//! Commands through Tauri's IPC with the mock runtime and the app's real config and capabilities.

use reji::clock::SystemClock;
use reji::fake::{FakeConfig, FakeControl, FakeKomoju};
use reji::komoju::{Client, RetryPolicy};
use reji::ledger::Ledger;
use reji::register::Register;
use reji_desktop::state::{AppState, ModeInfo};
use serde_json::{json, Value};
use std::sync::Arc;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

fn app(register: Register) -> App<MockRuntime> {
    let app = reji_desktop::with_commands(mock_builder())
        .build(tauri::generate_context!("../tauri.conf.json", test = true))
        .expect("app builds");
    let dir = std::env::temp_dir();
    app.manage(AppState::with_register(
        register,
        ModeInfo {
            mode: "test".into(),
            key_masked: None,
            key_error: None,
        },
        dir,
    ));
    app
}

fn window(app: &App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    match app.get_webview_window(label) {
        Some(w) => w,
        None => WebviewWindowBuilder::new(app, label, WebviewUrl::App("index.html".into()))
            .build()
            .unwrap(),
    }
}

fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: if cfg!(any(windows, target_os = "android")) {
                "http://tauri.localhost"
            } else {
                "tauri://localhost"
            }
            .parse()
            .unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

/// A fake KOMOJU on loopback and a register on `ledger` that talks to it.
fn fake_register(ledger: Ledger) -> (FakeKomoju, Register) {
    let fake = tauri::async_runtime::handle()
        .block_on(FakeKomoju::start(FakeConfig::default()))
        .unwrap();
    let client = Client::new(
        &fake.api_base(),
        fake.secret_key().parse().unwrap(),
        RetryPolicy::default(),
    )
    .unwrap();
    let reg = Register::new(ledger, Some(client), Arc::new(SystemClock)).unwrap();
    (fake, reg)
}

fn offline_register() -> Register {
    Register::new(
        Ledger::open_in_memory().unwrap(),
        None,
        Arc::new(SystemClock),
    )
    .unwrap()
}

#[test]
fn preview_totals_comes_from_the_core() {
    let app = app(offline_register());
    let staff = window(&app, "staff");
    let lines = json!([
        {"name": "コーヒー", "unit_price": 480, "quantity": 2, "rate": 8},
        {"name": "紙袋", "unit_price": 10, "quantity": 1, "rate": 10},
    ]);
    let b = invoke(&staff, "preview_totals", json!({ "lines": lines })).unwrap();
    assert_eq!(b["total"], 970);
    let rates: Vec<i64> = b["per_rate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rate"].as_i64().unwrap())
        .collect();
    assert!(rates.contains(&8) && rates.contains(&10), "{b}");

    let bad = json!([{"name": "x", "unit_price": 100, "quantity": 1, "rate": 5}]);
    let e = invoke(&staff, "preview_totals", json!({ "lines": bad })).unwrap_err();
    assert_eq!(e["code"], "bad_input");
    assert_eq!(e["message_key"], "error.bad_input");
    assert!(e["detail"].as_str().unwrap().contains("tax rate"), "{e}");
    // The refusal names the input it is about by the core's name, never a CLI flag.
    assert_eq!(e["field"], "items", "{e}");
    assert!(!e["detail"].as_str().unwrap().contains("--"), "{e}");
}

#[test]
fn settings_round_trip_and_no_key_is_an_error_code() {
    let app = app(offline_register());
    let staff = window(&app, "staff");
    let s = invoke(
        &staff,
        "set_setting",
        json!({"key": "shop_name", "value": "喫茶レジ"}),
    )
    .unwrap();
    assert_eq!(s["shop_name"], "喫茶レジ");
    assert_eq!(
        invoke(&staff, "get_settings", json!({})).unwrap()["shop_name"],
        "喫茶レジ"
    );
    let e = invoke(
        &staff,
        "charge",
        json!({"input": {"lines": [{"name": "x", "unit_price": 100, "quantity": 1, "rate": 10}]}}),
    )
    .unwrap_err();
    assert_eq!(e["message_key"], "error.no_key", "{e}");

    // A list setting comes as an array.
    let s = invoke(
        &staff,
        "set_setting",
        json!({"key": "payment_methods", "value": ["paypay", "konbini"]}),
    )
    .unwrap();
    assert_eq!(s["payment_methods"], "paypay,konbini", "{s}");
    let e = invoke(
        &staff,
        "set_setting",
        json!({"key": "payment_methods", "value": ["paypay", "bitcoin"]}),
    )
    .unwrap_err();
    assert_eq!(e["field"], "settings.payment_methods", "{e}");

    // The screens take the payment types they offer from the core, in its order.
    let info = invoke(&staff, "app_info", json!({})).unwrap();
    assert_eq!(info["payment_types"][0], "paypay", "{info}");
    assert_eq!(
        info["payment_types"].as_array().unwrap().len(),
        reji::register::PAYMENT_TYPES.len()
    );

    // A refused setting names its field (the settings screen shows the message beside it).
    let e = invoke(
        &staff,
        "set_setting",
        json!({"key": "shop_name", "value": "a\u{7}b"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "bad_input", "{e}");
    assert_eq!(e["field"], "settings.shop_name", "{e}");
}

#[test]
fn the_customer_display_cannot_call_commands() {
    let app = app(offline_register());
    let customer = window(&app, "customer");
    for cmd in [
        "preview_totals",
        "get_settings",
        "list_invoices",
        "save_key",
    ] {
        let r = invoke(&customer, cmd, json!({}));
        let e = r.expect_err(cmd);
        assert!(
            e.to_string().contains("not allowed"),
            "{cmd} from the customer window: {e}"
        );
    }
    // A window the capabilities do not name gets nothing either (the demo payment page).
    let other = window(&app, "demo-pay");
    assert!(invoke(&other, "get_settings", json!({})).is_err());
}

#[test]
fn charge_shows_a_qr_and_refresh_sees_the_payment() {
    let rt = tauri::async_runtime::handle();
    let (fake, reg) = fake_register(Ledger::open_in_memory().unwrap());
    let app = app(reg);
    let staff = window(&app, "staff");
    let s = invoke(
        &staff,
        "charge",
        json!({"input": {
            "lines": [{"name": "コーヒー", "unit_price": 480, "quantity": 2, "rate": 8}],
            "email": "", "methods": []
        }}),
    )
    .unwrap();
    assert_eq!(s["status"], "pending");
    assert_eq!(s["amount"], 960);
    assert!(s["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(s.get("payment_details").is_none(), "no raw KOMOJU JSON");
    let number = s["invoice_number"].as_str().unwrap().to_string();
    let session_id = s["session_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    let control = FakeControl::new(&fake.origin());
    rt.block_on(control.pay(&session_id, "credit_card", None))
        .unwrap();
    let s = invoke(&staff, "refresh_invoice", json!({ "number": number })).unwrap();
    assert_eq!(s["status"], "paid", "{s}");
    assert!(s["qr_svg"].is_null());
    assert_eq!(s["is_final"], true);

    let rows = invoke(
        &staff,
        "list_invoices",
        json!({"query": {"status": "paid"}}),
    )
    .unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["summary"], "コーヒー");
    let d = invoke(&staff, "invoice_detail", json!({ "number": number })).unwrap();
    assert!(d["timeline"].as_array().unwrap().len() >= 2, "{d}");
    let text = d.to_string();
    assert!(!text.contains(fake.secret_key()), "no key in any answer");
}

/// Waits (bounded) for an event payload matching `f`.
fn wait_event(
    rx: &std::sync::mpsc::Receiver<Value>,
    what: &str,
    f: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) if f(&v) => return v,
            Ok(_) => continue,
            Err(e) => panic!("no {what}: {e}"),
        }
    }
}

#[test]
fn the_tracker_publishes_changes_and_konbini_paid_later_to_the_staff_window() {
    use tauri::Listener;
    let rt = tauri::async_runtime::handle();
    let dir = tempfile::tempdir().unwrap();
    let (fake, reg) = fake_register(Ledger::open(&dir.path().join("t.sqlite")).unwrap());
    let app = app(reg);
    let staff = window(&app, "staff");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    for name in ["invoice-changed", "paid-later"] {
        let tx = tx.clone();
        app.listen_any(name, move |e| {
            let mut v: Value = serde_json::from_str(e.payload()).unwrap();
            v["event"] = json!(name);
            let _ = tx.send(v);
        });
    }
    rt.block_on(async {
        let state = app.state::<AppState>();
        reji_desktop::tracking::start(app.handle(), &state).await;
    });
    // Charging puts the QR on screen: the tracker's fast lane follows it, no refresh needed.
    let s = invoke(
        &staff,
        "charge",
        json!({"input": {
            "lines": [{"name": "弁当", "unit_price": 864, "quantity": 1, "rate": 8}],
            "methods": ["konbini"]
        }}),
    )
    .unwrap();
    let number = s["invoice_number"].as_str().unwrap().to_string();
    let session_id = s["session_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let control = FakeControl::new(&fake.origin());
    let p = rt
        .block_on(control.pay(&session_id, "konbini", Some("lawson")))
        .unwrap();
    let v = wait_event(&rx, "awaiting_payment", |v| {
        v["event"] == "invoice-changed" && v["status"] == "awaiting_payment"
    });
    assert_eq!(v["invoice_number"], number.as_str());
    assert!(v["instructions"].is_object(), "{v}");
    assert!(v.get("payment_details").is_none(), "no raw KOMOJU JSON");
    // Days later the customer pays at the store: the slow lane learns it, the staff are told.
    rt.block_on(control.capture_payment(p["id"].as_str().unwrap()))
        .unwrap();
    let tracker = app.state::<AppState>().tracker().expect("a tracker runs");
    rt.block_on(tracker.refresh_now());
    let paid = wait_event(&rx, "paid-later", |v| v["event"] == "paid-later");
    assert_eq!(paid["invoice_number"], number.as_str());
    assert_eq!(paid["amount"], 864);
    rt.block_on(tracker.stop());
}

#[test]
fn the_day_closes_from_the_app_and_its_report_saves_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Register::new(
        Ledger::open(&dir.path().join("c.sqlite")).unwrap(),
        None,
        Arc::new(SystemClock),
    )
    .unwrap();
    let app = app(reg);
    let staff = window(&app, "staff");
    let before = invoke(&staff, "today_view", json!({ "date": null })).unwrap();
    assert!(before["closed_at"].is_null());
    assert!(before["hour_chart_svg"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));
    // Not closed yet: nothing to save.
    let csv = dir.path().join("close.csv");
    let e = invoke(
        &staff,
        "save_close",
        json!({ "date": null, "path": csv.to_str().unwrap(), "format": "csv" }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    let c = invoke(&staff, "close_day", json!({ "date": null })).unwrap();
    assert_eq!(c["newly_closed"], true);
    let again = invoke(&staff, "close_day", json!({ "date": null })).unwrap();
    assert_eq!(again["newly_closed"], false);
    // Closed during its hours: the panel turns to the next business day, says which day was
    // closed, and that day shows as closed.
    let after = invoke(&staff, "today_view", json!({ "date": null })).unwrap();
    assert!(after["closed_at"].is_null(), "{after}");
    assert_eq!(after["closable"], false, "{after}");
    let closed_day = after["earlier_close"]["business_date"].clone();
    assert_eq!(
        closed_day, before["summary"]["business_date"],
        "the day closed is the day shown before: {after}"
    );
    let closed = invoke(&staff, "today_view", json!({ "date": closed_day })).unwrap();
    assert!(closed["closed_at"].is_string(), "{closed}");
    invoke(
        &staff,
        "save_close",
        json!({ "date": null, "path": csv.to_str().unwrap(), "format": "csv" }),
    )
    .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with('\u{feff}') && text.contains(",sales,total,0,0,"),
        "{text}"
    );
    let e = invoke(
        &staff,
        "save_close",
        json!({ "date": null, "path": csv.to_str().unwrap(), "format": "docx" }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "bad_input");
    // The customer display cannot close anything.
    assert!(invoke(&window(&app, "customer"), "close_day", json!({})).is_err());
}

#[test]
fn the_catalog_the_cart_and_held_orders_through_the_app() {
    let app = app(offline_register());
    let staff = window(&app, "staff");
    let coffee = invoke(
        &staff,
        "product_add",
        json!({"input": {"name": "ブレンド", "price": "480", "class": "food", "code": "4901234567894"}}),
    )
    .unwrap();
    assert!(
        coffee["id"].as_str().unwrap().starts_with("prd_"),
        "{coffee}"
    );
    let e = invoke(
        &staff,
        "product_add",
        json!({"input": {"name": "x", "price": "abc"}}),
    )
    .unwrap_err();
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("bad_input"), Some("price")),
        "{e}"
    );
    assert!(!e["detail"].as_str().unwrap().contains("--"), "{e}");

    // A scan finds the product; an unknown code is not_found.
    let p = invoke(&staff, "product_lookup", json!({"key": "4901234567894"})).unwrap();
    assert_eq!(p["id"], coffee["id"]);
    let e = invoke(&staff, "product_lookup", json!({"key": "4549131970258"})).unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    let list = invoke(&staff, "products_list", json!({"q": "ぶれんど"})).unwrap();
    assert_eq!(
        list[0]["name"], "ブレンド",
        "hiragana finds the katakana name"
    );
    let list = invoke(&staff, "products_list", json!({"q": "ブレ"})).unwrap();
    assert_eq!(list[0]["name"], "ブレンド");

    // The cart: food follows eat-in / take-away, a discount comes off per rate.
    let line = json!({"name": "ブレンド", "unit_price": 480, "quantity": 2, "tax_rate": 8, "product_id": coffee["id"]});
    let cart = json!({"lines": [line], "dining": "eat_in", "discount": "10%"});
    let v = invoke(&staff, "preview_cart", json!({"cart": cart})).unwrap();
    assert_eq!(v["lines"][0]["tax_rate"], 10, "{v}");
    assert_eq!(v["totals"]["total"], 864, "{v}");
    assert_eq!(v["totals"]["discount"], 96, "{v}");
    let e = invoke(
        &staff,
        "preview_cart",
        json!({"cart": {"lines": [{"name": "x", "unit_price": 1_000_000_000_000_000i64, "quantity": 1, "tax_rate": 10}]}}),
    )
    .unwrap_err();
    assert_eq!(e["field"], "items", "{e}");

    // It survives (the screen saves it), goes on hold, and comes back once.
    invoke(&staff, "save_cart", json!({"cart": cart})).unwrap();
    assert_eq!(
        invoke(&staff, "current_cart", json!({})).unwrap()["discount"],
        "10%"
    );
    let held = invoke(
        &staff,
        "hold_cart",
        json!({"cart": cart, "label": "テラス"}),
    )
    .unwrap();
    assert_eq!(held["total"], 864, "{held}");
    assert_eq!(
        invoke(&staff, "current_cart", json!({})).unwrap()["lines"],
        json!([])
    );
    assert_eq!(
        invoke(&staff, "held_orders", json!({}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let back = invoke(&staff, "recall_order", json!({"id": held["id"]})).unwrap();
    assert_eq!(back["lines"][0]["quantity"], 2, "{back}");
    assert_eq!(
        invoke(&staff, "recall_order", json!({"id": held["id"]})).unwrap_err()["code"],
        "not_found"
    );

    // A refused import lists its rows; nothing is stored.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "商品名,価格\nクッキー,abc\nマフィン,300,x\n").unwrap();
    let e = invoke(
        &staff,
        "products_import",
        json!({"path": path.to_str().unwrap()}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "bad_input", "{e}");
    assert_eq!(e["problems"].as_array().unwrap().len(), 2, "{e}");
    assert_eq!(e["problems"][0]["line"], 2, "{e}");
    assert_eq!(
        invoke(&staff, "products_list", json!({}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let out = dir.path().join("products.csv");
    let n = invoke(
        &staff,
        "products_export",
        json!({"path": out.to_str().unwrap(), "encoding": "cp932"}),
    )
    .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn the_settings_form_saves_all_or_nothing() {
    let app = app(offline_register());
    let staff = window(&app, "staff");
    let e = invoke(
        &staff,
        "set_settings",
        json!({"values": {"shop_name": "喫茶ひだまり", "registration_number": "T123", "shop_address": "東京都"}}),
    )
    .unwrap_err();
    assert_eq!(e["field"], "settings.registration_number", "{e}");
    let s = invoke(&staff, "get_settings", json!({})).unwrap();
    assert_eq!(s["shop_name"], "Reji", "nothing was saved: {s}");
    assert_eq!(s["shop_address"], "", "{s}");
    let s = invoke(
        &staff,
        "set_settings",
        json!({"values": {"shop_name": "喫茶ひだまり", "shop_address": "東京都", "payment_methods": ["paypay"], "dining": "eat_in"}}),
    )
    .unwrap();
    assert_eq!(
        (s["shop_name"].as_str(), s["shop_address"].as_str()),
        (Some("喫茶ひだまり"), Some("東京都"))
    );
    assert_eq!(
        (s["payment_methods"].as_str(), s["dining"].as_str()),
        (Some("paypay"), Some("eat_in"))
    );
}

/// Issue 17 through the app: a cash sale paid at the counter with no KOMOJU at all, the drawer's
/// day (open, 出金, 点検, 精算 with a shortage), and staff: a cashier's refund refused until a
/// manager's PIN approves that one call, each event recording who.
#[test]
fn cash_the_drawer_and_a_managers_approval_through_the_app() {
    let app = app(offline_register());
    let staff = window(&app, "staff");
    let lines = json!([{"name": "ブレンド", "unit_price": 1750, "quantity": 1, "rate": 10}]);

    // What the payment dialog shows comes from the core.
    let p = invoke(
        &staff,
        "settle_preview",
        json!({"total": 1750, "cash": "2,000", "tenders": []}),
    )
    .unwrap();
    assert_eq!(
        (p["tenders"][0]["change"].as_i64(), p["komoju_due"].as_i64()),
        (Some(250), Some(0))
    );
    let e = invoke(
        &staff,
        "settle_preview",
        json!({"total": 1750, "cash": "abc", "tenders": []}),
    )
    .unwrap_err();
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("bad_input"), Some("cash"))
    );

    // No staff: the owner opens the drawer and sells for cash without any KOMOJU client.
    let r = invoke(
        &staff,
        "drawer_open",
        json!({"counts": {"1000": 5, "100": 10}}),
    )
    .unwrap();
    assert_eq!(r["float"], 6000);
    let s = invoke(
        &staff,
        "charge",
        json!({"input": {"lines": lines, "cash": "2000"}}),
    )
    .unwrap();
    assert_eq!(s["status"], "paid", "{s}");
    assert_eq!(
        (s["cash_tendered"].as_i64(), s["change"].as_i64()),
        (Some(2000), Some(250))
    );
    let number = s["invoice_number"].as_str().unwrap().to_string();
    // The shop's own tenders come first (the app offers the settings' list), then cash.
    let set = invoke(
        &staff,
        "set_settings",
        json!({"values": {"shop_tenders": ["商品券", "売掛"]}}),
    )
    .unwrap();
    assert_eq!(set["shop_tenders"], "商品券,売掛");
    let v = invoke(
        &staff,
        "charge",
        json!({"input": {"lines": lines, "cash": "2000",
                          "tenders": [{"name": "商品券", "amount": "1,000"}]}}),
    )
    .unwrap();
    assert_eq!(v["status"], "paid", "{v}");
    assert_eq!(
        (v["cash_tendered"].as_i64(), v["change"].as_i64()),
        (Some(2000), Some(1250))
    );
    assert_eq!(v["tenders"][0]["name"], "商品券");
    let e = invoke(
        &staff,
        "charge",
        json!({"input": {"lines": lines, "tenders": [{"name": "商品券", "amount": "5000"}]}}),
    )
    .unwrap_err();
    assert_eq!(e["field"], "tenders", "a voucher gives no change: {e}");

    // Staff: the first is a manager (signed in at once), then a cashier who signs in.
    let st = invoke(
        &staff,
        "staff_add",
        json!({"name": "店長", "pin": "1234", "role": "manager"}),
    )
    .unwrap();
    assert_eq!(st["signed_in"]["name"], "店長");
    invoke(
        &staff,
        "staff_add",
        json!({"name": "山田", "pin": "5678", "role": "cashier"}),
    )
    .unwrap();
    let e = invoke(&staff, "sign_in", json!({"pin": "0000"})).unwrap_err();
    assert_eq!(e["message_key"], "error.pin_unknown");
    let st = invoke(&staff, "sign_in", json!({"pin": "5678"})).unwrap();
    assert_eq!(st["signed_in"]["name"], "山田");
    assert!(
        !st.to_string().contains("pbkdf2"),
        "no PIN hash reaches the screen"
    );

    // The cashier sells; the refund needs a manager: refused, then approved by the manager's PIN
    // for that one call (the cashier stays signed in).
    let s2 = invoke(
        &staff,
        "charge",
        json!({"input": {"lines": lines, "cash": "1750"}}),
    )
    .unwrap();
    assert_eq!(s2["status"], "paid");
    let e = invoke(
        &staff,
        "refund_invoice",
        json!({"number": number, "amount": 500}),
    )
    .unwrap_err();
    assert_eq!(
        (e["code"].as_str(), e["message_key"].as_str()),
        (Some("not_allowed"), Some("error.manager_needed"))
    );
    assert!(!e.to_string().contains("REJI_PIN"), "{e}");
    let e = invoke(
        &staff,
        "refund_invoice",
        json!({"number": number, "amount": 500, "approval": "5678"}),
    )
    .unwrap_err();
    assert_eq!(
        e["message_key"], "error.manager_needed",
        "a cashier cannot approve"
    );
    let r = invoke(
        &staff,
        "refund_invoice",
        json!({"number": number, "amount": 500, "approval": "1234"}),
    )
    .unwrap();
    assert_eq!(r["refunded_amount"], 500);
    let st = invoke(&staff, "staff_state_get", json!({})).unwrap();
    assert_eq!(
        st["signed_in"]["name"], "山田",
        "the cashier stays signed in"
    );
    // The next thing the cashier does is recorded as the cashier's, not the approving manager's.
    invoke(&staff, "receipt", json!({"number": number})).unwrap();
    let e = invoke(
        &staff,
        "drawer_move",
        json!({"kind": "out", "amount": "1200", "reason": "仕入れ"}),
    )
    .unwrap_err();
    assert_eq!(e["message_key"], "error.manager_needed");
    invoke(
        &staff,
        "drawer_move",
        json!({"kind": "out", "amount": "1200", "reason": "仕入れ", "approval": "1234"}),
    )
    .unwrap();

    // 点検 changes nothing; 精算 with a count ¥100 short.
    let x = invoke(&staff, "drawer_check", json!({})).unwrap();
    // 6000 float + 1750 + 750 (beside a ¥1,000 voucher) + 1750 − 500 refunded in cash − 1200 out.
    assert_eq!(x["expected_cash"], 8550, "{x}");
    let z = invoke(
        &staff,
        "drawer_close",
        json!({"counts": {"5000": 1, "1000": 3, "100": 4, "50": 1}, "approval": "1234"}),
    )
    .unwrap();
    assert_eq!(
        (z["counted_cash"].as_i64(), z["difference"].as_i64()),
        (Some(8450), Some(-100))
    );
    let again = invoke(
        &staff,
        "drawer_close",
        json!({"counts": {"5000": 1}, "approval": "1234"}),
    )
    .unwrap_err();
    assert_eq!(again["code"], "not_allowed");

    // Who did what, by name.
    let d = invoke(&staff, "invoice_detail", json!({ "number": number })).unwrap();
    let tl = d["timeline"].as_array().unwrap();
    assert!(
        tl.iter()
            .any(|e| e["action"] == "tender" && e["actor"] == "owner"),
        "{d}"
    );
    assert!(
        tl.iter()
            .any(|e| e["kind"] == "refund" && e["who"] == "店長" && e["amount"] == 500),
        "{d}"
    );
    assert!(
        tl.iter()
            .any(|e| e["kind"] == "receipt" && e["who"] == "山田"),
        "{d}"
    );
    let d2 = invoke(
        &staff,
        "invoice_detail",
        json!({ "number": s2["invoice_number"] }),
    )
    .unwrap();
    assert!(
        d2["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["who"] == "山田"),
        "{d2}"
    );
}

#[test]
fn diagnostics_name_the_versions_and_the_last_errors_and_no_secret() {
    let logs = tempfile::tempdir().unwrap();
    reji_desktop::applog::init(logs.path());
    let app = app(offline_register());
    let staff = window(&app, "staff");
    // A failed command is logged with its code (bad input, the staff's to fix, is not).
    let e = invoke(&staff, "invoice_detail", json!({"number": "R-404"})).unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    let d = invoke(&staff, "diagnostics", json!({})).unwrap();
    let text = d["text"].as_str().unwrap();
    for needle in [
        "Reji (desktop)",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        "ledger schema:",
        "print jobs waiting: 0",
        "not_found",
        "R-404",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} in the diagnostics:\n{text}"
        );
    }
    assert!(!text.contains("sk_"), "no key in the diagnostics:\n{text}");
    let log = std::fs::read_to_string(logs.path().join("reji.log")).unwrap();
    assert!(log.contains("WARN not_found"), "{log}");
    assert!(d["log_path"].as_str().unwrap().ends_with("reji.log"), "{d}");
}

#[test]
fn drawer_reports_save_as_csv_and_pdf() {
    let app = app(offline_register());
    let staff = window(&app, "staff");
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    invoke(&staff, "drawer_open", json!({"counts": {"1000": 5}})).unwrap();
    // Nothing closed yet: the last 精算 is not found.
    let e = invoke(
        &staff,
        "save_drawer_report",
        json!({"which": "close", "path": path("z.csv"), "format": "csv"}),
    )
    .unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    let e = invoke(
        &staff,
        "save_drawer_report",
        json!({"which": "check", "path": path("x.xls"), "format": "xls"}),
    )
    .unwrap_err();
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("bad_input"), Some("format"))
    );
    invoke(
        &staff,
        "save_drawer_report",
        json!({"which": "check", "path": path("x.csv"), "format": "csv"}),
    )
    .unwrap();
    let x = std::fs::read_to_string(dir.path().join("x.csv")).unwrap();
    assert!(
        x.contains("報告,点検,,") && x.contains("現金,釣銭準備金,,5000"),
        "{x}"
    );

    invoke(
        &staff,
        "drawer_close",
        json!({"counts": {"1000": 4, "500": 1}}),
    )
    .unwrap();
    for format in ["csv", "pdf"] {
        invoke(
            &staff,
            "save_drawer_report",
            json!({"which": "close", "path": path(&format!("z.{format}")), "format": format}),
        )
        .unwrap();
    }
    let z = std::fs::read_to_string(dir.path().join("z.csv")).unwrap();
    assert!(
        z.contains("報告,精算,,") && z.contains("現金,過不足,,-500") && z.contains("報告,精算 "),
        "the 精算 as stored, with when it was closed: {z}"
    );
    let pdf = std::fs::read(dir.path().join("z.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
}
