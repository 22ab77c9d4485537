//! `reji fake-komoju` (the fake alone) and `reji demo` (a guided walk-through against an embedded fake:
//! no KOMOJU account, a throw-away ledger).

use super::output;
use reji::fake::{FakeConfig, FakeControl, FakeKomoju};
use reji::komoju::RetryPolicy;
use reji::register::{Assembly, ChargeRequest, Error, ListQuery};
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// After the walk-through, open one more sale and wait (up to 10 minutes) for you to pay it in a
    /// browser on the fake's payment page.
    #[arg(long)]
    pub keep_running: bool,
    /// Pause between steps, in milliseconds.
    #[arg(long, default_value_t = 700)]
    pub pace_ms: u64,
}

fn fake_err(e: impl std::fmt::Display) -> Error {
    Error::Komoju(reji::komoju::KomojuError::Transport {
        attempts: 1,
        detail: e.to_string(),
    })
}

pub async fn fake_komoju(port: u16, json: bool) -> Result<(), Error> {
    let fake = FakeKomoju::start(FakeConfig {
        port,
        ..FakeConfig::default()
    })
    .await
    .map_err(|e| Error::bad("--port", format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    if json {
        output::print_json(&serde_json::json!({
            "api_base": fake.api_base(),
            "origin": fake.origin(),
            "secret_key": fake.secret_key(),
        }));
    } else {
        outln!("Fake KOMOJU listening");
        outln!("  API base     {}", fake.api_base());
        outln!("  secret key   {}", fake.secret_key());
        outln!(
            "  control API  {}/_fake/ (see docs/fake-komoju.md)",
            fake.origin()
        );
        outln!(
            "Use it:  REJI_API_BASE={} REJI_SECRET_KEY={} reji charge --amount 1000",
            fake.api_base(),
            fake.secret_key()
        );
        outln!("Stop with Ctrl-C.");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = fake.wait() => {}
    }
    Ok(())
}

pub async fn run(a: DemoArgs) -> Result<(), Error> {
    let pace = Duration::from_millis(a.pace_ms);
    let fake = FakeKomoju::start(FakeConfig::default())
        .await
        .map_err(fake_err)?;
    let control = FakeControl::new(&fake.origin());
    let dir = std::env::temp_dir().join(format!("reji-demo-{}", std::process::id()));
    let db = dir.join("demo.sqlite");
    let mut reg = Assembly::new(fake.api_base(), RetryPolicy::default()).demo(&db, &fake)?;

    step("Reji demo: a fake KOMOJU runs on this machine; nothing leaves it.");
    outln!("  fake KOMOJU   {}", fake.api_base());
    outln!("  demo ledger   {}", db.display());
    tokio::time::sleep(pace).await;

    step("1. A café sale: two coffees to take away (8 %), a cake (8 %) and a paper bag (10 %).");
    let sale = reg
        .charge(ChargeRequest {
            lines: vec![
                "コーヒー,480,2,8".parse().map_err(item)?,
                "ケーキ,550,1,8".parse().map_err(item)?,
                "紙袋,10,1,10".parse().map_err(item)?,
            ],
            locale: Some("ja".into()),
            ..Default::default()
        })
        .await?;
    output::charge_banner(&sale);
    tokio::time::sleep(pace).await;
    step("   The customer scans the QR and pays by card on KOMOJU's page…");
    let sid = sale.session_id.clone().unwrap_or_default();
    control
        .pay(&sid, "credit_card", None)
        .await
        .map_err(fake_err)?;
    let v = reg.show(&sale.invoice_number).await?;
    output::invoice(false, &v, None);
    tokio::time::sleep(pace).await;

    step("2. A sale paid later at a konbini: the customer chooses Lawson.");
    let sale = reg
        .charge(ChargeRequest {
            amount: Some(3_300),
            methods: reji::register::parse_methods("konbini,bank_transfer,pay_easy"),
            customer: reji::invoice::Customer {
                name: Some("山田 太郎".into()),
                name_kana: Some("ヤマダ タロウ".into()),
                email: Some("taro@example.jp".into()),
                phone: None,
            },
            ..Default::default()
        })
        .await?;
    let sid = sale.session_id.clone().unwrap_or_default();
    control
        .pay(&sid, "konbini", Some("lawson"))
        .await
        .map_err(fake_err)?;
    let v = reg.show(&sale.invoice_number).await?;
    output::invoice(false, &v, None);
    outln!("   Authorized is not paid: the invoice waits for the customer to pay at the store.");
    tokio::time::sleep(pace).await;

    step("3. Two days later the customer pays at Lawson; Reji learns it on its next sync.");
    control.advance_clock(2 * 86_400).await.map_err(fake_err)?;
    if let Some(pid) = &v.payment_id {
        control.capture_payment(pid).await.map_err(fake_err)?;
    }
    let reg_m = tokio::sync::Mutex::new(reg);
    let overlap = reji::tracker::TrackerConfig::default().overlap;
    let report = reji::tracker::sync(&reg_m, reji::tracker::FeedMode::Auto, overlap).await?;
    let mut reg = reg_m.into_inner();
    output::sync(false, &report);
    tokio::time::sleep(pace).await;

    step("4. Today's history and the CSV for the accountant (UTF-8 with BOM opens in Japanese Excel).");
    let list = reg.list(&ListQuery::default())?;
    output::list(false, &list);
    let opts = reji::export::ExportOptions {
        encoding: reji::export::Encoding::Utf8,
        lossy: false,
        headers: reji::export::HeaderLang::Ja,
        tz: reg.settings().tz,
    };
    let mut csv = Vec::new();
    reg.export(&ListQuery::default(), &opts, &mut csv)?;
    outln!("{}", String::from_utf8_lossy(&csv));

    if a.keep_running {
        step("5. Your turn: open this page in a browser (or scan the QR) and pay with any method.");
        let sale = reg
            .charge(ChargeRequest {
                amount: Some(1_000),
                ..Default::default()
            })
            .await?;
        output::charge_banner(&sale);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let v = reg.show(&sale.invoice_number).await?;
            if v.status != reji::status::InvoiceStatus::Pending
                || tokio::time::Instant::now() > deadline
            {
                output::invoice(false, &v, None);
                break;
            }
        }
    }
    step("Done. Run `reji demo --keep-running` to pay a sale yourself on the fake's page.");
    drop(reg);
    fake.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn item(e: reji::invoice::ItemError) -> Error {
    Error::bad("--item", e.to_string())
}

fn step(s: &str) {
    outln!("\n\x1b[1m{s}\x1b[0m");
}
