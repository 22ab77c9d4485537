//! The system print dialog for a shop without a receipt printer: the receipt dialog's 「印刷」 asks the
//! shell (`print_dialog`) to print the staff window, and `ui/style.css` prints a copy of the receipt,
//! whole, on the paper picked in the dialog (an 80 mm roll or A4).
//!
//! For the end-to-end tests only, `REJI_E2E_PRINT_DIR` replaces the dialog with what a person would
//! pick in it, "Print to File" as PDF, so that the test reads back with pdftotext what WebKit's print
//! path produced: `print-N.pdf` (then `print-N.done`, or `print-N.failed` with the reason) on the
//! paper named in the folder's `paper` file (`a4`, else an 80 mm roll). (A page driven by WebDriver
//! ignores `window.print()`, which is why the button goes through the shell.)

use tauri::{Runtime, WebviewWindow};

/// Opens the OS print dialog for `window` (or, under the E2E hook, prints it to a PDF file).
pub fn print<R: Runtime>(window: &WebviewWindow<R>) -> tauri::Result<()> {
    match std::env::var_os("REJI_E2E_PRINT_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => print_to_file(window, dir.into()),
        None => window.print(),
    }
}

#[cfg(target_os = "linux")]
fn print_to_file<R: Runtime>(
    window: &WebviewWindow<R>,
    dir: std::path::PathBuf,
) -> tauri::Result<()> {
    window.with_webview(move |pw| {
        use webkit2gtk::PrintOperationExt;
        let n = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".pdf"))
                    .count()
            })
            .unwrap_or(0)
            + 1;
        let name = format!("print-{n}");
        let pdf = dir.join(format!("{name}.pdf"));
        let paper = std::fs::read_to_string(dir.join("paper")).unwrap_or_default();
        let size = if paper.trim() == "a4" {
            gtk::PaperSize::new(Some("iso_a4"))
        } else {
            gtk::PaperSize::new_custom("reji_roll_80", "80 mm roll", 80.0, 400.0, gtk::Unit::Mm)
        };
        let setup = gtk::PageSetup::new();
        setup.set_paper_size_and_default_margins(&size);
        let settings = gtk::PrintSettings::new();
        settings.set_printer("Print to File");
        settings.set_paper_size(&size);
        settings.set("output-file-format", Some("pdf"));
        settings.set("output-uri", Some(&format!("file://{}", pdf.display())));
        let op = webkit2gtk::PrintOperation::new(&pw.inner());
        op.set_page_setup(&setup);
        op.set_print_settings(&settings);
        let done = dir.join(format!("{name}.done"));
        op.connect_finished(move |_| {
            let _ = std::fs::write(&done, b"ok");
        });
        let failed = dir.join(format!("{name}.failed"));
        op.connect_failed(move |_, e| {
            let _ = std::fs::write(&failed, e.to_string());
        });
        op.print();
    })
}

#[cfg(not(target_os = "linux"))]
fn print_to_file<R: Runtime>(
    window: &WebviewWindow<R>,
    _dir: std::path::PathBuf,
) -> tauri::Result<()> {
    window.print()
}
