//! The commands that write files (CSV export, the journal, receipts) and the helpers that check and
//! write an output file atomically, naming the flag that gave it.

use super::*;

pub(super) fn export_journal(
    ctx: &Ctx,
    reg: &Register,
    q: &ListQuery,
    a: &ExportArgs,
    encoding: reji::export::Encoding,
) -> Result<(), Error> {
    use reji::export::journal::write_yayoi;
    let lines = reg.journal(q)?;
    let done = match &a.out {
        Some(path) => {
            check_out("--out", path)?;
            let mut done = Default::default();
            reji::export::write_atomically(path, |w| {
                done = write_yayoi(w, &lines, encoding, a.lossy)?;
                Ok(())
            })
            .map_err(|e| out_error("--out", path, e))?;
            done
        }
        None => reji::export::write_spooled(stdio::Stdout, |w| {
            write_yayoi(w, &lines, encoding, a.lossy)
        })?,
    };
    export_done(ctx, a, &done, "journal lines");
    Ok(())
}

/// After an export: the count (JSON with `--json --out`, else on stderr), and what a lossy CP932
/// export wrote as `?` (always on stderr; in the JSON too).
pub(super) fn export_done(
    ctx: &Ctx,
    a: &ExportArgs,
    done: &reji::export::ExportSummary,
    what: &str,
) {
    if let Some(s) = done.replaced.summary() {
        errln!("reji: warning: {s}");
    }
    if ctx.json && a.out.is_some() {
        output::print_json(&serde_json::json!({
            "rows": done.rows,
            "out": a.out,
            "replaced": done.replaced,
        }));
    } else {
        errln!("reji: exported {} {what}", done.rows);
    }
}

/// A file the user named with `flag` must be a file in a folder that exists, a link to one, or a
/// device or FIFO (`/dev/null`, a pipe): checked before anything is done or written. A folder, a
/// socket or a block device is bad input naming the path.
pub(super) fn check_out(flag: &str, path: &std::path::Path) -> Result<(), Error> {
    use reji::export::Target;
    let target = reji::export::check_target(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidInput {
            Error::bad(flag, e.to_string())
        } else {
            Error::bad(flag, format!("cannot write {}: {e}", path.display()))
        }
    })?;
    if let Target::File(file) = target {
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            return Err(Error::bad(
                flag,
                format!("the folder {} does not exist", dir.display()),
            ));
        }
    }
    Ok(())
}

/// A write to a file named with `flag` that failed: a problem with the data (an unmappable
/// character) keeps its own message; a file-system problem (a full disk, `/dev/full`) names the
/// flag and the path, and is a local file error (exit 5).
pub(super) fn out_error(flag: &str, path: &std::path::Path, e: Error) -> Error {
    match e {
        Error::Export(reji::export::ExportError::Io(source)) => Error::WriteFile {
            flag: flag.to_string(),
            path: path.display().to_string(),
            source,
        },
        other => other,
    }
}

/// The font for `--pdf`, loaded before the command does anything (a missing font is bad input).
pub(super) fn pdf_font(wanted: bool) -> Result<Option<reji::receipt::pdf::PdfFont>, Error> {
    wanted
        .then(|| {
            reji::receipt::pdf::PdfFont::load().map_err(|e| Error::bad("--pdf", e.to_string()))
        })
        .transpose()
}

/// Writes a file the user named with `flag` ([`reji::export::write_atomically`]); a failure names
/// the flag and the path.
pub(super) fn write_file(flag: &str, path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    reji::export::write_atomically(path, |w| w.write_all(bytes).map_err(Error::from))
        .map_err(|e| out_error(flag, path, e))
}

pub(super) fn receipt(ctx: &Ctx, a: ReceiptArgs) -> Result<(), Error> {
    use reji::receipt::{html, pdf};
    let paper: html::Paper = a
        .paper
        .parse()
        .map_err(|e: String| Error::bad("--paper", e))?;
    let refund = a
        .refund
        .as_deref()
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    Error::bad(
                        "--refund",
                        format!("{s:?} must be a refund number: 1, 2, …"),
                    )
                })
        })
        .transpose()?;
    // Check the targets before anything is logged as issued.
    for (flag, p) in [("--pdf", &a.pdf), ("--html", &a.html)] {
        if let Some(p) = p {
            check_out(flag, p)?;
        }
    }
    let font = pdf_font(a.pdf.is_some())?;
    let mut reg = ctx.register(false)?;
    let r = reg.receipt(&a.id, refund)?;
    if let Some(p) = &a.html {
        write_file("--html", p, html::page(&r, paper).as_bytes())?;
    }
    if let (Some(p), Some(font)) = (&a.pdf, &font) {
        let bytes = pdf::render(&r.layout(), paper, font)
            .map_err(|e| Error::bad("--pdf", e.to_string()))?;
        write_file("--pdf", p, &bytes)?;
    }
    if ctx.json {
        output::print_json(&r);
    } else if a.pdf.is_none() && a.html.is_none() {
        out!("{}", r.to_text(40));
    } else {
        for p in [&a.pdf, &a.html].into_iter().flatten() {
            outln!("{}", p.display());
        }
    }
    Ok(())
}

pub(super) fn export(ctx: &Ctx, a: ExportArgs) -> Result<(), Error> {
    use reji::export::{Encoding, ExportOptions, HeaderLang};
    let journal = match a.format.trim() {
        "invoices" => false,
        "journal" => true,
        other => {
            return Err(Error::bad(
                "--format",
                format!("{other:?} must be invoices or journal"),
            ))
        }
    };
    let default_encoding = if journal { "cp932" } else { "utf-8-bom" };
    let encoding: Encoding = a
        .encoding
        .as_deref()
        .unwrap_or(default_encoding)
        .parse()
        .map_err(|e| Error::bad("--encoding", format!("{e}")))?;
    let headers: HeaderLang = a
        .headers
        .parse()
        .map_err(|e| Error::bad("--headers", format!("{e}")))?;
    let reg = ctx.register(false)?;
    let opts = ExportOptions {
        encoding,
        lossy: a.lossy,
        headers,
        tz: reg.settings().tz,
    };
    let q = ListQuery {
        from: a.from.clone(),
        to: a.to.clone(),
        ..Default::default()
    };
    reg.filter(&q)?;
    if journal {
        return export_journal(ctx, &reg, &q, &a, encoding);
    }
    let export = |w: &mut std::io::BufWriter<std::fs::File>| reg.export(&q, &opts, w);
    let done = match &a.out {
        Some(path) => {
            check_out("--out", path)?;
            let mut done = Default::default();
            reji::export::write_atomically(path, |w| {
                done = export(w)?;
                Ok(())
            })
            .map_err(|e| out_error("--out", path, e))?;
            done
        }
        None => reji::export::write_spooled(stdio::Stdout, export)?,
    };
    export_done(ctx, &a, &done, "invoices");
    Ok(())
}
