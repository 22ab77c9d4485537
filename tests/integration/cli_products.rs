//! The catalog through the real `reji` binary: products add / list / edit / archive / import /
//! export, and sales rung up from products with eat-in / take-away and discounts.

use crate::common::*;
use serde_json::Value;

const COFFEE: &str = "4901234567894";
const SANDWICH: &str = "4902102072618";

async fn add(e: &Env, args: &[&str]) -> Value {
    let mut all = vec!["products", "add"];
    all.extend_from_slice(args);
    e.reji(&all).await.ok().json()["product"].clone()
}

async fn cafe(e: &Env) -> (Value, Value, Value) {
    let coffee = add(
        e,
        &[
            "--name",
            "ブレンドコーヒー",
            "--price",
            "480",
            "--class",
            "food",
            "--code",
            COFFEE,
            "--kana",
            "ぶれんどこーひー",
            "--quick-key",
            "1",
        ],
    )
    .await;
    let sandwich = add(
        e,
        &[
            "--name",
            "サンドイッチ",
            "--price",
            "550",
            "--class",
            "food",
            "--code",
            SANDWICH,
            "--category",
            "フード",
        ],
    )
    .await;
    let bag = add(e, &["--name", "紙袋", "--price", "10"]).await;
    (coffee, sandwich, bag)
}

fn product_count(e: &Env) -> i64 {
    e.ledger()
        .connection()
        .query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_is_added_with_its_fields_and_bad_input_names_the_field() {
    let e = env().await;
    let (coffee, _, bag) = cafe(&e).await;
    assert!(s(&coffee, "id").starts_with("prd_"), "{coffee}");
    assert_eq!(coffee["name"], "ブレンドコーヒー");
    assert_eq!(coffee["price"], 480);
    assert_eq!(coffee["class"], "food");
    assert_eq!(coffee["code"], COFFEE);
    assert_eq!(coffee["quick_key"], 1);
    assert_eq!(coffee["archived"], false);
    assert_eq!(
        bag["class"], "general",
        "the class defaults to general (10 %)"
    );
    assert_eq!(bag["code"], Value::Null);

    for (args, flag) in [
        (vec!["--name", "x", "--price", "4.80"], "--price"),
        (vec!["--name", "x", "--price", "-1"], "--price"),
        (vec!["--name", "x", "--price", "100000000"], "--price"),
        (
            vec!["--name", "x", "--price", "100", "--class", "luxury"],
            "--class",
        ),
        (
            vec!["--name", "x", "--price", "100", "--code", "4901234567890"],
            "--code",
        ),
        (
            vec!["--name", "x", "--price", "100", "--code", COFFEE],
            "--code",
        ),
        (
            vec!["--name", "x", "--price", "100", "--quick-key", "1"],
            "--quick-key",
        ),
        (vec!["--name", "", "--price", "100"], "--name"),
        (vec!["--price", "100"], "--name"),
    ] {
        let mut all = vec!["products", "add"];
        all.extend_from_slice(&args);
        let r = e.reji(&all).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(flag), "{args:?}: {}", r.stderr);
        assert_eq!(r.json()["error"]["code"], "bad_input");
    }
    assert_eq!(product_count(&e), 3, "no refused product was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_are_found_by_name_kana_and_code_and_archived_ones_leave_the_list() {
    let e = env().await;
    let (coffee, sandwich, _) = cafe(&e).await;
    let names = |v: &Value| -> Vec<String> {
        v["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| s(p, "name"))
            .collect()
    };
    let all = e.reji(&["products", "list"]).await.ok().json();
    assert_eq!(
        names(&all),
        ["ブレンドコーヒー", "サンドイッチ", "紙袋"],
        "quick keys first, then by name"
    );
    for q in ["コーヒー", "ｺｰﾋｰ", "こーひー", "ぶれんど", "49012345"] {
        let v = e.reji(&["products", "list", "--q", q]).await.ok().json();
        assert_eq!(names(&v), ["ブレンドコーヒー"], "{q}");
    }
    let v = e
        .reji(&["products", "list", "--code", SANDWICH])
        .await
        .ok()
        .json();
    assert_eq!(v["products"][0]["id"], sandwich["id"]);
    let v = e
        .reji(&["products", "list", "--code", "4549131970258"])
        .await
        .ok()
        .json();
    assert_eq!(v["products"], serde_json::json!([]));

    let v = e.reji(&["products", "archive", COFFEE]).await.ok().json();
    assert_eq!(v["product"]["archived"], true);
    assert_eq!(v["product"]["id"], coffee["id"]);
    let v = e.reji(&["products", "list"]).await.ok().json();
    assert_eq!(names(&v), ["サンドイッチ", "紙袋"]);
    let v = e
        .reji(&["products", "list", "--archived"])
        .await
        .ok()
        .json();
    assert_eq!(names(&v).len(), 3);
    // Its code and quick key are free again.
    add(
        &e,
        &[
            "--name",
            "新ブレンド",
            "--price",
            "500",
            "--code",
            COFFEE,
            "--quick-key",
            "1",
        ],
    )
    .await;

    let r = e
        .reji(&["products", "archive", "prd_0000000000zzzzzzzzzzzzzzzz"])
        .await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = e.reji(&["products", "archive", "4549131970258"]).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("4549131970258"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn food_is_8_percent_taken_away_and_10_eaten_in_and_lines_carry_the_product() {
    let e = env().await;
    let (coffee, _, bag) = cafe(&e).await;
    let away = e
        .charge(&[
            "--product",
            &format!("{COFFEE}*2"),
            "--product",
            s(&bag, "id").as_str(),
            "--take-away",
        ])
        .await;
    assert_eq!(away["amount"], 970);
    assert_eq!(away["dining"], "take_away");
    assert_eq!(away["items"][0]["product_id"], coffee["id"]);
    assert_eq!(away["items"][0]["quantity"], 2);
    assert_eq!(away["items"][0]["tax_rate"], 8);
    assert_eq!(away["items"][1]["tax_rate"], 10);
    assert_eq!(away["tax_8"], 71); // 960 × 8/108, rounded down
    assert_eq!(away["tax_10"], 0);

    let inside = e
        .charge(&["--product", COFFEE, "--eat-in", "--item", "Tip,100,1,10"])
        .await;
    assert_eq!(inside["dining"], "eat_in");
    assert_eq!(inside["items"][0]["tax_rate"], 10);
    assert_eq!(inside["items"][1]["name"], "Tip");
    assert_eq!(inside["items"][1].get("product_id"), None);
    assert_eq!(inside["tax_10"], 52); // 580 × 10/110
    assert_eq!(inside["per_rate"][0]["rate"], 10);
    assert_eq!(inside["per_rate"][0]["gross"], 580);

    // The shop's default applies when the sale does not say.
    e.reji(&["settings", "dining", "eat_in"]).await.ok();
    let v = e.charge(&["--product", COFFEE]).await;
    assert_eq!(
        (v["dining"].as_str(), v["items"][0]["tax_rate"].as_i64()),
        (Some("eat_in"), Some(10))
    );

    // Scanning the same code twice is one line of two.
    let v = e.charge(&["--product", COFFEE, "--product", COFFEE]).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["quantity"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_keeps_the_name_and_price_as_sold() {
    let e = env().await;
    cafe(&e).await;
    let v = e.charge(&["--product", COFFEE]).await;
    let inv = s(&v, "invoice_number");
    e.reji(&[
        "products",
        "edit",
        COFFEE,
        "--price",
        "520",
        "--name",
        "ブレンド（新）",
    ])
    .await
    .ok();
    e.reji(&["products", "archive", COFFEE]).await.ok();
    let again = e.show(&inv).await;
    assert_eq!(again["items"][0]["name"], "ブレンドコーヒー");
    assert_eq!(again["items"][0]["unit_price"], 480);
    assert_eq!(again["amount"], 480);
    // An archived product is not sold any more.
    let r = e.reji(&["charge", "--product", COFFEE]).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains(COFFEE), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_product_is_not_found_and_nothing_is_charged() {
    let e = env().await;
    cafe(&e).await;
    for key in [
        "4549131970258",
        "4900000000001",
        "prd_0000000000zzzzzzzzzzzzzzzz",
        "coffee",
    ] {
        let r = e
            .reji(&["charge", "--product", key, "--item", "Bag,10,1,10"])
            .await;
        assert_eq!(r.code, 3, "{key}: {}", r.stderr);
        assert!(r.stderr.contains(key), "{key}: {}", r.stderr);
        assert_eq!(r.json()["error"]["code"], "not_found");
    }
    let r = e
        .reji(&["charge", "--product", &format!("{COFFEE}*0")])
        .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--product"), "{}", r.stderr);
    assert_eq!(e.invoice_count(), 0);
    assert_eq!(e.stats().await["sessions"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_discount_is_spread_over_the_rates_and_shown_per_rate() {
    let e = env().await;
    cafe(&e).await;
    // Take-away coffee (8 %) ¥480 + bag (10 %) ¥10 + an eat-in-proof ¥610 item at 10 %.
    let v = e
        .charge(&[
            "--product",
            COFFEE,
            "--item",
            "Cake,610,1,10",
            "--take-away",
            "--discount",
            "100",
        ])
        .await;
    assert_eq!(v["amount"], 990);
    assert_eq!(v["discount"], 100);
    assert_eq!(v["order_discount"], "100");
    let rates: Vec<(i64, i64, i64, i64)> = v["per_rate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rate"].as_i64().unwrap(),
                r["gross"].as_i64().unwrap(),
                r["tax"].as_i64().unwrap(),
                r["discount"].as_i64().unwrap(),
            )
        })
        .collect();
    // 100 × 610/1090 = 55.96 → 56 (larger remainder), 100 × 480/1090 = 44.04 → 44.
    assert_eq!(rates, [(10, 554, 50, 56), (8, 436, 32, 44)]);
    assert_eq!(v["tax_10"], 50);
    assert_eq!(v["tax_8"], 32);
    // KOMOJU is asked for the discounted total; the lines no longer add up to it, so none are sent.
    let body: String = e
        .ledger()
        .connection()
        .query_row(
            "SELECT body FROM api_requests ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["amount"], 990);
    assert_eq!(body.get("line_items"), None, "{body}");

    let v = e
        .charge(&["--item", "Cake,610,1,10", "--discount", "10%"])
        .await;
    assert_eq!(
        (v["amount"].as_i64(), v["discount"].as_i64()),
        (Some(549), Some(61))
    );
    let v = e
        .charge(&["--item", "Cake,1234,1,10", "--discount", "round100"])
        .await;
    assert_eq!(v["amount"], 1200);

    for bad in ["2000", "abc", "0", "150%"] {
        let r = e
            .reji(&["charge", "--item", "Cake,610,1,10", "--discount", bad])
            .await;
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("--discount"), "{bad}: {}", r.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_edit_and_import_back_updates_instead_of_duplicating() {
    let e = env().await;
    cafe(&e).await;
    for encoding in ["utf-8-bom", "cp932"] {
        let path = e.dir.path().join(format!("products-{encoding}.csv"));
        let p = path.to_str().unwrap();
        e.reji(&["products", "export", "--out", p, "--encoding", encoding])
            .await
            .ok();
        let bytes = std::fs::read(&path).unwrap();
        let text = if encoding == "cp932" {
            assert!(std::str::from_utf8(&bytes).is_err(), "CP932, not UTF-8");
            encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
        } else {
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
            String::from_utf8(bytes[3..].to_vec()).unwrap()
        };
        assert!(
            text.starts_with(
                "商品ID,商品名,読み仮名,価格,税区分,JANコード,カテゴリ,クイックキー,状態\r\n"
            ),
            "{text}"
        );
        assert!(text.contains(COFFEE));
        // The owner raises the sandwich's price in Excel and saves.
        let edited = text.replace(",550,", ",580,");
        let bytes = if encoding == "cp932" {
            encoding_rs::SHIFT_JIS.encode(&edited).0.into_owned()
        } else {
            [b"\xEF\xBB\xBF".as_slice(), edited.as_bytes()].concat()
        };
        std::fs::write(&path, bytes).unwrap();
        let r = e.reji(&["products", "import", p]).await.ok().json();
        assert_eq!(r["import"]["added"], 0, "{r}");
        assert_eq!(r["import"]["updated"], 3, "{r}");
        assert_eq!(r["import"]["encoding"], encoding, "{r}");
        assert_eq!(product_count(&e), 3);
        let v = e
            .reji(&["products", "list", "--code", SANDWICH])
            .await
            .ok()
            .json();
        assert_eq!(v["products"][0]["price"], 580);
        assert_eq!(v["products"][0]["class"], "food");
        e.reji(&["products", "edit", SANDWICH, "--price", "550"])
            .await
            .ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_bad_rows_is_refused_whole_with_every_row_named() {
    let e = env().await;
    cafe(&e).await;
    let path = e.dir.path().join("bad.csv");
    let p = path.to_str().unwrap();
    let csv = "\u{feff}商品名,価格,税区分,JANコード\r\n\
               クッキー,200,food,4549131970258\r\n\
               ケーキ,abc,food,\r\n\
               マフィン,300,luxury,\r\n\
               スコーン,250,food,4901234567890\r\n\
               ベーグル,280,food,4549131970258\r\n\
               ラテ,520\r\n\
               ドーナツ,200000000,general,\r\n\
               別ブレンド,500,food,4901234567894\r\n";
    std::fs::write(&path, csv).unwrap();
    let r = e.reji(&["products", "import", p]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    let problems = r.json()["error"]["problems"].as_array().unwrap().clone();
    let at: Vec<(u64, Option<String>)> = problems
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap(),
                p["column"].as_str().map(String::from),
            )
        })
        .collect();
    let col = |c: &str| Some(c.to_string());
    assert_eq!(
        at,
        [
            (3, col("価格")),
            (4, col("税区分")),
            (5, col("JANコード")),
            (6, col("JANコード")),
            (7, None),
            (8, col("価格")),
        ],
        "{problems:?}"
    );
    for line in ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"] {
        assert!(r.stderr.contains(line), "{line}: {}", r.stderr);
    }
    assert!(r.stderr.contains("nothing was changed"), "{}", r.stderr);
    assert_eq!(product_count(&e), 3, "nothing was stored");

    // Line 9 names the coffee's code without a 商品ID: it updates the coffee, not a clash.
    std::fs::write(&path, "商品名,価格,税区分,JANコード\n別ブレンド,500,food,4901234567894\nクッキー,200,food,4549131970258\n").unwrap();
    let r = e.reji(&["products", "import", p]).await.ok().json();
    assert_eq!(
        (
            r["import"]["added"].as_u64(),
            r["import"]["updated"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let v = e
        .reji(&["products", "list", "--code", COFFEE])
        .await
        .ok()
        .json();
    assert_eq!(v["products"][0]["name"], "別ブレンド");

    // Bytes that are neither UTF-8 nor CP932.
    std::fs::write(
        &path,
        b"\xEF\xBB\xBF\xE5\x95\x86\xE5\x93\x81\xE5\x90\x8D,price\n\xFF\xFE,1\n",
    )
    .unwrap();
    let r = e.reji(&["products", "import", p]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("line 2") && r.stderr.contains("UTF-8"),
        "{}",
        r.stderr
    );
    let r = e
        .reji(&[
            "products",
            "import",
            e.dir.path().join("missing.csv").to_str().unwrap(),
        ])
        .await;
    assert_ne!(r.code, 0);
    assert_eq!(product_count(&e), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receipt_and_the_export_show_the_discount() {
    let e = env().await;
    cafe(&e).await;
    let v = e
        .charge(&[
            "--product",
            COFFEE,
            "--item",
            "Cake,610,1,10",
            "--take-away",
            "--discount",
            "100",
        ])
        .await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();
    assert_eq!(e.show(&inv).await["status"], "paid");
    let r = e.cmd(&["receipt", &inv]).output().await.unwrap();
    let text = String::from_utf8_lossy(&r.stdout).into_owned();
    for needle in [
        "お持ち帰り",
        "値引",
        "-¥100",
        "10%対象 値引",
        "-¥56",
        "8%対象 値引※",
        "-¥44",
        "¥990",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in\n{text}");
    }
    let out = e.dir.path().join("invoices.csv");
    e.reji(&[
        "export",
        "--out",
        out.to_str().unwrap(),
        "--encoding",
        "utf-8",
    ])
    .await
    .ok();
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"discount"));
    assert!(lines.next().unwrap().ends_with(",100"), "{csv}");
}
