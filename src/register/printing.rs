//! Printing at the counter: what gets queued when (a paid sale's receipt, the drawer kick for cash,
//! reprints marked 再発行, slips, 点検 / 精算 reports, the test page) and the queue's delivery.
//!
//! A print never touches the sale: jobs are queued after the sale is stored, and delivered in
//! three steps ([`Register::next_print`], sending without holding the register, then
//! [`Register::finish_print`]) so that a slow printer never holds up the counter. A failed job
//! waits in the queue (it survives a restart) for a retry; a printed job is never sent again
//! unless the staff ask for a reprint, which says 再発行. A drawer kick is only sent at once: one
//! that could not be delivered is dropped, never sent later.

use super::books::receipt_subject;
use super::*;
use crate::ledger::{NewPrintJob, PrintJob, PrintKind, PrintOutcome};
use crate::printing::{
    escpos, AutoPrint, Connection, PrintError, PrinterConfig, PrinterSettings, Timeouts,
};
use crate::receipt::Block;

/// A drawer kick older than this is dropped rather than sent (the customer has gone).
pub const KICK_WINDOW_SECS: i64 = 60;

/// One delivery to do: the job, its bytes and where they go.
pub struct PrintDelivery {
    pub job: PrintJob,
    pub payload: Vec<u8>,
    pub connection: Connection,
    pub status_check: bool,
}

/// What one pass over the queue did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PrintReport {
    pub printed: Vec<PrintJob>,
    pub failed: Vec<PrintJob>,
    /// The first failure's message, in the staff's words.
    pub error: Option<String>,
    /// Its code (`offline`, `timeout`, `paper_out`, `connection_lost`, `device`, `not_configured`).
    pub error_code: Option<String>,
    #[serde(skip)]
    pub failure: Option<PrintError>,
}

/// Who the ledger says delivered a job (or dropped it): the printer's worker, not the member whose
/// command ran last (the queueing is the member's).
const PRINTER_ACTOR: &str = "printer";

impl Register {
    /// The printer settings as stored (text per key).
    pub fn printer_settings(&self) -> PrinterSettings {
        self.settings.printer.clone()
    }

    /// The printer as set up.
    pub fn printer(&self) -> Result<PrinterConfig> {
        self.settings
            .printer
            .config()
            .map_err(|p| Error::bad(&format!("settings.{}", p.key), p.message))
    }

    fn queue(&mut self, job: NewPrintJob<'_>) -> Result<PrintJob> {
        let now = self.now();
        Ok(self.ledger.queue_print(job, now)?)
    }

    fn render(&self, blocks: &[Block], cfg: &PrinterConfig) -> Result<Vec<u8>> {
        crate::printing::job_bytes(blocks, cfg, false, None)
            .map_err(|e| Error::bad("settings.printer_mode", e))
    }

    /// Whether jobs go through the queue (a network or USB printer).
    fn queued_printer(&self) -> Result<Option<PrinterConfig>> {
        let cfg = self.printer()?;
        Ok(match cfg.connection {
            Connection::Network { .. } | Connection::Device { .. } => Some(cfg),
            Connection::None | Connection::System => None,
        })
    }

    /// Queues a sale's receipt (or the return receipt of its n-th refund). A second print of the
    /// same receipt says 再発行. Refused when no receipt printer is set up.
    pub fn print_receipt(&mut self, key: &str, refund: Option<usize>) -> Result<PrintJob> {
        let cfg = self.queued_printer()?.ok_or_else(no_printer)?;
        self.queue_receipt(key, refund, &cfg)
    }

    fn queue_receipt(
        &mut self,
        key: &str,
        refund: Option<usize>,
        cfg: &PrinterConfig,
    ) -> Result<PrintJob> {
        let inv = self.ledger.find_invoice(key)?;
        let sale = self.sale_record(&inv)?;
        let subject = receipt_subject(refund);
        let reissue = !self.ledger.prints_of(inv.id, &subject)?.is_empty();
        let receipt = self.build_receipt(&inv, &sale, refund, reissue)?;
        let payload = self.render(&receipt.layout(), cfg)?;
        let by = self.actor.label();
        self.queue(NewPrintJob {
            kind: if refund.is_some() {
                PrintKind::Return
            } else {
                PrintKind::Receipt
            },
            invoice_id: Some(inv.id),
            subject: &subject,
            reissue,
            payload: &payload,
            by: &by,
        })
    }

    /// What prints by itself once a sale is paid: the drawer kick when cash changed hands (taken
    /// or given as change), then the receipt when `auto_print` is `always` and it was not printed
    /// yet. Nothing when no receipt printer is set up. Safe to call again (nothing twice).
    pub fn print_after_sale(&mut self, key: &str) -> Result<Vec<PrintJob>> {
        let Some(cfg) = self.queued_printer()? else {
            return Ok(Vec::new());
        };
        let inv = self.ledger.find_invoice(key)?;
        let mut jobs = Vec::new();
        if !inv.status.has_receipt() {
            return Ok(jobs);
        }
        let view = self.view(inv.id)?;
        let cash = view.tenders.iter().any(|t| {
            t.kind == crate::tender::TenderKind::Cash && (t.amount > 0 || t.change.unwrap_or(0) > 0)
        });
        let first = self.ledger.prints_of(inv.id, "drawer")?.is_empty();
        if cash && first {
            if let Some(d) = cfg.drawer {
                let by = self.actor.label();
                jobs.push(self.queue(NewPrintJob {
                    kind: PrintKind::Drawer,
                    invoice_id: Some(inv.id),
                    subject: "drawer",
                    reissue: false,
                    payload: &escpos::kick_job(d),
                    by: &by,
                })?);
            }
        }
        if cfg.auto_print == AutoPrint::Always && self.ledger.prints_of(inv.id, "sale")?.is_empty()
        {
            jobs.push(self.queue_receipt(key, None, &cfg)?);
        }
        Ok(jobs)
    }

    /// Queues a drawer kick (入金 / 出金, or a manager's "open drawer"), when the drawer is on the
    /// printer. `None`: no drawer kick is set up.
    pub fn kick_drawer(&mut self, why: &str) -> Result<Option<PrintJob>> {
        let Some(cfg) = self.queued_printer()? else {
            return Ok(None);
        };
        let Some(d) = cfg.drawer else {
            return Ok(None);
        };
        let by = self.actor.label();
        Ok(Some(self.queue(NewPrintJob {
            kind: PrintKind::Drawer,
            invoice_id: None,
            subject: why,
            reissue: false,
            payload: &escpos::kick_job(d),
            by: &by,
        })?))
    }

    /// The customer's slip of a konbini / bank transfer / Pay-easy sale, with the amount the
    /// customer pays (KOMOJU's fee included) and a QR code of the instructions.
    pub fn print_slip(&mut self, key: &str) -> Result<PrintJob> {
        let cfg = self.queued_printer()?.ok_or_else(no_printer)?;
        let inv = self.ledger.find_invoice(key)?;
        let view = self.view(inv.id)?;
        let tz = self.settings.tz;
        let deadline = view
            .payment_deadline
            .as_deref()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string());
        let facts = crate::receipt::SlipFacts {
            invoice_number: view.invoice_number.clone(),
            amount: view.amount,
            fee: view.payment_method_fee,
            deadline,
            details: crate::komoju::PaymentDetails::from_value(view.payment_details.as_ref()),
        };
        let blocks = crate::receipt::slip_layout(&facts, &self.settings.shop_details())
            .ok_or_else(|| Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "print a payment slip for (it is not a konbini, bank transfer or Pay-easy payment waiting to be paid)",
            })?;
        let payload = self.render(&blocks, &cfg)?;
        let reissue = !self.ledger.prints_of(inv.id, "slip")?.is_empty();
        let by = self.actor.label();
        self.queue(NewPrintJob {
            kind: PrintKind::Slip,
            invoice_id: Some(inv.id),
            subject: "slip",
            reissue,
            payload: &payload,
            by: &by,
        })
    }

    /// 点検 (`check`) or 精算 (`close`) report of the drawer, as printed.
    pub fn print_drawer_report(&mut self, report: &DrawerReport) -> Result<PrintJob> {
        let cfg = self.queued_printer()?.ok_or_else(no_printer)?;
        let blocks = drawer_report_layout(report, &self.settings.shop_details(), self.settings.tz);
        let payload = self.render(&blocks, &cfg)?;
        let subject = format!("{} {}", report.kind, report.until);
        let by = self.actor.label();
        self.queue(NewPrintJob {
            kind: PrintKind::Report,
            invoice_id: None,
            subject: &subject,
            reissue: false,
            payload: &payload,
            by: &by,
        })
    }

    /// The test page: the shop's name and a sample in text mode and in raster mode (whichever
    /// is chosen, both are shown, so the shop can see which its printer prints), a QR code and
    /// a cut.
    pub fn print_test_page(&mut self) -> Result<PrintJob> {
        let cfg = self.queued_printer()?.ok_or_else(no_printer)?;
        let shop = self.settings.shop_details();
        let sample = |mode: &str| {
            vec![
                Block::Title {
                    text: format!("テスト印刷（{mode}）"),
                },
                Block::Center {
                    text: shop.name.clone(),
                },
                Block::Row {
                    left: "コーヒー ※".into(),
                    right: "¥480".into(),
                    strong: false,
                },
                Block::Row {
                    left: "合計（税込）".into(),
                    right: "¥480".into(),
                    strong: true,
                },
                Block::Small {
                    text: format!(
                        "用紙 {} mm・1行 {} 文字 ｱｲｳ ABC 123",
                        cfg.paper.as_str(),
                        cfg.paper.columns()
                    ),
                },
            ]
        };
        let text = escpos::text_job(
            &sample("テキスト"),
            escpos::JobOptions {
                paper: cfg.paper,
                kick: None,
                cut: false,
            },
        );
        let mut raster_blocks = sample("ラスター");
        raster_blocks.push(Block::Qr {
            data: "https://komoju.com/".into(),
        });
        let font = crate::receipt::pdf::PdfFont::load();
        let mut payload = text;
        match font {
            Ok(font) => {
                let bmp = crate::printing::raster::render(&raster_blocks, cfg.paper, &font)
                    .map_err(|e| Error::bad("settings.printer_mode", e.to_string()))?;
                payload.extend(escpos::raster_job(
                    &bmp,
                    escpos::JobOptions {
                        paper: cfg.paper,
                        kick: None,
                        cut: true,
                    },
                ));
            }
            Err(e) => {
                // No font for raster mode on this computer: say so on the page itself.
                payload.extend(escpos::text_job(
                    &[Block::Small {
                        text: format!("raster: {e}"),
                    }],
                    escpos::JobOptions {
                        paper: cfg.paper,
                        kick: None,
                        cut: true,
                    },
                ));
            }
        }
        let by = self.actor.label();
        self.queue(NewPrintJob {
            kind: PrintKind::Test,
            invoice_id: None,
            subject: "test",
            reissue: false,
            payload: &payload,
            by: &by,
        })
    }

    /// Jobs waiting (queued or failed), oldest first.
    pub fn pending_prints(&self) -> Result<Vec<PrintJob>> {
        Ok(self.ledger.pending_prints()?)
    }

    /// The latest jobs, newest first (the print log).
    pub fn recent_prints(&self, limit: usize) -> Result<Vec<PrintJob>> {
        Ok(self.ledger.recent_prints(limit)?)
    }

    /// The next job to deliver, oldest first. Drawer kicks too old to matter are dropped on the
    /// way. `None`: nothing waits (or no printer is set up).
    pub fn next_print(&mut self, skip: &[String]) -> Result<Option<PrintDelivery>> {
        let Some(cfg) = self.queued_printer()? else {
            return Ok(None);
        };
        let now = self.now();
        for job in self.ledger.pending_prints()? {
            if skip.contains(&job.id) {
                continue;
            }
            if job.kind == PrintKind::Drawer
                && (now - job.created_at).num_seconds() > KICK_WINDOW_SECS
            {
                self.ledger.finish_print(
                    &job.id,
                    job.version,
                    PrintOutcome::Dropped("late: too late to open the drawer"),
                    PRINTER_ACTOR,
                    now,
                )?;
                continue;
            }
            let payload = self.ledger.print_payload(&job.id)?;
            return Ok(Some(PrintDelivery {
                job,
                payload,
                connection: cfg.connection.clone(),
                status_check: cfg.status_check,
            }));
        }
        Ok(None)
    }

    /// Records a delivery's outcome (compare-and-set: `false` if another delivery of the same job
    /// was recorded first). A drawer kick that failed is dropped, not retried.
    pub fn finish_print(
        &mut self,
        job: &PrintJob,
        result: &std::result::Result<(), PrintError>,
    ) -> Result<bool> {
        let now = self.now();
        let message;
        let outcome = match result {
            Ok(()) => PrintOutcome::Printed,
            Err(e) => {
                message = format!("{}: {e}", e.code());
                if job.kind == PrintKind::Drawer {
                    PrintOutcome::Dropped(&message)
                } else {
                    PrintOutcome::Failed(&message)
                }
            }
        };
        Ok(self
            .ledger
            .finish_print(&job.id, job.version, outcome, PRINTER_ACTOR, now)?)
    }

    /// Delivers what waits, in order, here and now (the CLI; the app does the same steps without
    /// holding the register while it sends). Stops at the first failure: the printer is off, out
    /// of paper or unreachable, and the jobs after it would fail the same way.
    pub fn print_pending(&mut self, t: Timeouts) -> Result<PrintReport> {
        let mut report = PrintReport::default();
        let mut done = Vec::new();
        while let Some(d) = self.next_print(&done)? {
            done.push(d.job.id.clone());
            let result =
                crate::printing::transport::send(&d.connection, &d.payload, d.status_check, t);
            self.finish_print(&d.job, &result)?;
            let job = self.ledger.print_job(&d.job.id)?;
            match result {
                Ok(()) => report.printed.push(job),
                Err(e) => {
                    let kick = job.kind == PrintKind::Drawer;
                    report.error = Some(e.to_string());
                    report.error_code = Some(e.code().to_string());
                    report.failure = Some(e);
                    report.failed.push(job);
                    // The printer is off, out of paper or unreachable: the jobs after this one
                    // would fail the same way (a dropped kick still lets them record why).
                    if !kick {
                        break;
                    }
                }
            }
        }
        Ok(report)
    }
}

fn no_printer() -> Error {
    Error::bad(
        "settings.printer",
        "no receipt printer is set up: choose a network or USB printer in the settings",
    )
}

/// The drawer's 点検 / 精算 report as a document of the receipt template.
pub fn drawer_report_layout(
    r: &DrawerReport,
    shop: &crate::receipt::ShopDetails,
    tz: Tz,
) -> Vec<Block> {
    let yen = |n: i64| Money::jpy(n).to_string();
    let signed = |n: i64| {
        if n > 0 {
            format!("+{}", yen(n))
        } else {
            yen(n)
        }
    };
    let minus = |n: i64| {
        if n > 0 {
            format!("-{}", yen(n))
        } else {
            yen(0)
        }
    };
    let row = |left: String, right: String| Block::Row {
        left,
        right,
        strong: false,
    };
    let local = |at: &str| {
        chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|_| at.to_string())
    };
    let mut b = vec![
        Block::Heading {
            text: shop.name.clone(),
        },
        Block::Title {
            text: if r.kind == "close" {
                "精算レポート".into()
            } else {
                "点検レポート".into()
            },
        },
    ];
    if let Some(from) = &r.from {
        b.push(row("期間（から）".into(), local(from)));
    }
    b.push(row("期間（まで）".into(), local(&r.until)));
    b.push(Block::Rule);
    b.push(Block::Small {
        text: "支払方法別".into(),
    });
    for m in &r.per_tender {
        b.push(row(
            format!(
                "　{} {}件",
                crate::receipt::method_label(&m.method),
                m.count
            ),
            yen(m.total),
        ));
    }
    b.push(Block::Row {
        left: "売上合計".into(),
        right: yen(r.sales_total),
        strong: true,
    });
    if !r.refunds_per_tender.is_empty() {
        b.push(Block::Small {
            text: "返金（支払方法別）".into(),
        });
        for m in &r.refunds_per_tender {
            b.push(row(
                format!(
                    "　{} {}件",
                    crate::receipt::method_label(&m.method),
                    m.count
                ),
                minus(m.total),
            ));
        }
        b.push(row("返金合計".into(), minus(r.refunds_total)));
    }
    b.push(Block::Row {
        left: "純売上".into(),
        right: yen(r.net_total),
        strong: true,
    });
    if !r.per_rate.is_empty() || !r.refunds_per_rate.is_empty() {
        b.push(Block::Rule);
        b.push(Block::Small {
            text: "税率別".into(),
        });
        let name = |rate: u8| {
            if rate == 0 {
                "非課税".to_string()
            } else {
                format!("{rate}%対象")
            }
        };
        for x in &r.per_rate {
            b.push(row(format!("　{}（税込）", name(x.rate)), yen(x.gross)));
            if x.rate != 0 {
                b.push(row(format!("　　{}% 内消費税等", x.rate), yen(x.tax)));
            }
            if x.discount > 0 {
                b.push(row("　　値引".into(), minus(x.discount)));
            }
        }
        for x in &r.refunds_per_rate {
            b.push(row(
                format!("　返金 {}（税込）", name(x.rate)),
                minus(x.gross),
            ));
            if x.rate != 0 {
                b.push(row(format!("　　{}% 内消費税等", x.rate), minus(x.tax)));
            }
        }
    }
    if r.pending_count > 0 {
        b.push(row(
            format!("入金待ち（コンビニ・銀行）{}件", r.pending_count),
            yen(r.pending_total),
        ));
    }
    b.push(Block::Rule);
    b.push(Block::Small {
        text: "現金".into(),
    });
    b.push(row("　釣銭準備金".into(), yen(r.float)));
    b.push(row("　現金売上".into(), yen(r.cash_sales)));
    b.push(row(
        "　現金返金".into(),
        format!("-{}", yen(r.cash_refunds)),
    ));
    b.push(row("　入金".into(), yen(r.cash_in)));
    b.push(row("　出金".into(), minus(r.cash_out)));
    b.push(Block::Row {
        left: "現金在高（理論）".into(),
        right: yen(r.expected_cash),
        strong: true,
    });
    if let Some(c) = r.counted_cash {
        b.push(Block::Row {
            left: "現金在高（実査）".into(),
            right: yen(c),
            strong: true,
        });
    }
    if let Some(d) = r.difference {
        b.push(row(
            if d < 0 {
                "過不足（不足）".into()
            } else {
                "過不足".into()
            },
            signed(d),
        ));
    }
    if let Some(count) = &r.count {
        b.push(Block::Rule);
        b.push(Block::Small {
            text: "金種別".into(),
        });
        for (d, n) in count.counts.iter().rev() {
            if *n > 0 {
                b.push(row(format!("　{} × {n}", yen(*d)), yen(d * *n as i64)));
            }
        }
    }
    if !r.movements.is_empty() {
        b.push(Block::Rule);
        b.push(Block::Small {
            text: "入出金".into(),
        });
        for m in &r.movements {
            let (label, amount) = if m.kind == "in" {
                ("入金", yen(m.amount))
            } else {
                ("出金", format!("-{}", yen(m.amount)))
            };
            b.push(row(format!("　{label} {}", m.reason), amount));
        }
    }
    if r.kind == "close" {
        b.push(Block::Rule);
        b.push(Block::Small {
            text: "精算済みの記録は変更できません".into(),
        });
    }
    b
}
