//! The print queue's delivery inside the app: one task that sends waiting jobs to the receipt
//! printer without holding the register (a slow or absent printer never holds up the counter),
//! woken when a job is queued and every 30 seconds for retries. What to print and what an outcome
//! means are the core's (`Register::next_print` / `finish_print`); the staff window hears how it
//! went (`print-status`).

use crate::state::AppState;
use crate::windows::{to_staff, PRINT_STATUS};
use reji::ledger::{PrintJob, PrintKind};
use reji::printing::{transport, PrintError, Timeouts};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::Notify;

/// How often waiting jobs are tried again on their own.
const RETRY_EVERY: Duration = Duration::from_secs(30);

/// What the staff window is told after each delivery.
#[derive(Debug, Clone, Serialize)]
pub struct PrintStatus {
    pub ok: bool,
    pub job: PrintJob,
    /// The failure: `offline`, `timeout`, `paper_out`, `connection_lost`, `device`.
    pub code: Option<&'static str>,
    /// The i18n key of its sentence (`print.error.<code>`).
    pub message_key: Option<String>,
    /// Jobs still waiting.
    pub waiting: usize,
}

/// Wakes the delivery task.
#[derive(Clone, Default)]
pub struct PrintWorker {
    wake: Arc<Notify>,
}

impl PrintWorker {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the delivery task (it also delivers what waited across a restart).
pub fn start<R: Runtime>(app: &AppHandle<R>) -> PrintWorker {
    let worker = PrintWorker::default();
    let wake = worker.wake.clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            deliver(&app).await;
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
    });
    worker
}

/// Wakes the delivery task, if the app has one (the tests' mock app has none).
pub fn wake<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.try_state::<PrintWorker>() {
        w.wake();
    }
}

/// A sale is paid: the drawer kick and the receipt, as the settings say (nothing twice).
pub async fn after_sale<R: Runtime>(app: &AppHandle<R>, number: &str) {
    let state = app.state::<AppState>();
    let queued = state.register.lock().await.print_after_sale(number);
    if matches!(queued, Ok(ref jobs) if !jobs.is_empty()) {
        wake(app);
    }
}

async fn deliver<R: Runtime>(app: &AppHandle<R>) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let register = state.register.clone();
    let mut done = Vec::new();
    loop {
        let next = register.lock().await.next_print(&done);
        let Ok(Some(d)) = next else { break };
        done.push(d.job.id.clone());
        let (to, payload, check) = (d.connection.clone(), d.payload, d.status_check);
        let result = tauri::async_runtime::spawn_blocking(move || {
            transport::send(&to, &payload, check, Timeouts::default())
        })
        .await
        .unwrap_or_else(|_| Err(PrintError::ConnectionLost("the print task".into())));
        let (job, waiting) = {
            let mut reg = register.lock().await;
            let _ = reg.finish_print(&d.job, &result);
            (
                reg.ledger().print_job(&d.job.id).unwrap_or(d.job.clone()),
                reg.pending_prints().map(|v| v.len()).unwrap_or(0),
            )
        };
        let failed = result.as_ref().err().map(PrintError::code);
        match &result {
            Ok(_) => crate::applog::info(&format!("printed {} job {}", job.kind.as_str(), job.id)),
            Err(e) => crate::applog::warn(&format!(
                "printing {} job {} failed ({}): {e}",
                job.kind.as_str(),
                job.id,
                e.code()
            )),
        }
        to_staff(
            app,
            PRINT_STATUS,
            PrintStatus {
                ok: failed.is_none(),
                job: job.clone(),
                code: failed,
                message_key: failed.map(|c| format!("print.error.{c}")),
                waiting,
            },
        );
        // The printer is off, out of paper or unreachable: the next jobs would fail the same way
        // (a failed drawer kick is dropped; the jobs after it still get their own answer).
        if failed.is_some() && job.kind != PrintKind::Drawer {
            break;
        }
    }
}
