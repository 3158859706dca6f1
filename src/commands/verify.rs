//! `verify`: every image of a manifest stream that is not on the target registry.

use std::fmt::Write as _;
use std::io::{Seek, SeekFrom, Write};

use crate::cli;
use crate::diagnostic::Code;
use crate::discover;
use crate::error::{Context, Result};
use crate::reference::Reference;
use crate::values::{join_paths, Map, Value};
use crate::{report, rewrite};

use super::common::{check_kube_version, load_chart};
use super::Outcome;

/// Lists every image of a manifest stream that is not on the target registry; exit 1 if any.
pub fn verify(args: &cli::Verify) -> Result<Outcome> {
    let mapping = &args.mapping;
    let controls = match &args.chart {
        Some(chart) => {
            let chart = load_chart(chart)?;
            check_kube_version(&chart, &args.render.kube_version)?;
            discover::scan(&chart, &Value::Map(Map::new()), &args.render).sites
        }
        None => Vec::new(),
    };
    // Streamed one document at a time; the lines for images still to move are spooled to a
    // temporary file and copied out only when the whole stream was read, so memory stays bounded
    // by the largest document and a failure writes nothing to stdout.
    let mut spool = tempfile::tempfile().context(Code::OutputUnwritable, "verify: cannot create a temporary file")?;
    let tally = std::cell::RefCell::new(Tally {
        out: std::io::BufWriter::new(&mut spool),
        written: Ok(()),
        stray: 0,
        total: 0,
        settings: 0,
        settings_stray: 0,
    });
    let summary = {
        let mut keep = |field: rewrite::ImageField| {
            let mut tally = tally.borrow_mut();
            tally.total += 1;
            if !rewrite::unmoved(std::slice::from_ref(&field), mapping).is_empty() {
                tally.stray += 1;
                tally.write(&stray_line(&field, args.chart.is_some().then_some(controls.as_slice())));
            }
        };
        // An operator pulls its operand images from its registry settings, whatever the image
        // fields say: a setting still naming a source registry is an image not on the target.
        let mut document = |bytes: &[u8], line: usize| {
            if !discover::may_hold_registry_settings(bytes) {
                return;
            }
            // The scanner read this document already; a reader that still refuses it must not
            // let its settings pass unchecked.
            let parsed = std::str::from_utf8(bytes)
                .map_err(|e| e.to_string())
                .and_then(|text| crate::yaml::parse_documents(text, "stream").map_err(|e| e.message));
            let documents = match parsed {
                Ok(documents) => documents,
                Err(why) => {
                    let mut tally = tally.borrow_mut();
                    tally.settings += 1;
                    tally.settings_stray += 1;
                    tally.write(&format!(
                        "document at line {line}\t-\tnot checked for registry settings: it does not read as YAML \
                         here ({why}); check its registry settings by hand\n"
                    ));
                    return;
                }
            };
            for doc in &documents {
                for (location, value) in discover::stream_registry_settings(doc) {
                    let Ok(reference) = Reference::parse(&format!("{value}/image")) else { continue };
                    let mut tally = tally.borrow_mut();
                    tally.settings += 1;
                    if mapping.destination(&reference).is_some() {
                        tally.settings_stray += 1;
                        tally.write(&format!(
                            "{location}\t{value}\tregistry setting: the operator pulls its images from here (set it \
                             with the overlay; the post-renderer does not move registry settings)\n"
                        ));
                    }
                }
            }
        };
        rewrite::find_images_and_documents_in(args.input.open()?, rewrite::Rules::default(), &mut keep, &mut document)
            .map_err(|e| e.at(args.input.name()))?
    };
    let Tally { mut out, written, stray, total, settings, settings_stray } = tally.into_inner();
    written.and_then(|()| out.flush()).context(Code::OutputUnwritable, "verify: temporary file")?;
    drop(out);
    summary.notes.report("verify");
    spool.seek(SeekFrom::Start(0)).context(Code::OutputUnwritable, "verify: temporary file")?;
    report::copy_to_stdout(&mut spool)?;
    let settings_note = match (settings, settings_stray) {
        (0, _) => String::new(),
        (n, 0) => format!("; all {n} registry setting(s) name the target"),
        (n, k) => format!("; {k} of {n} registry setting(s) name a source registry"),
    };
    if stray == 0 && settings_stray == 0 {
        report::note(&format!("verify: all {total} image reference(s) are on the target registry{settings_note}"));
        Ok(Outcome::Success)
    } else {
        report::note(&format!(
            "verify: {stray} of {total} image reference(s) are not on the target registry{settings_note}"
        ));
        Ok(Outcome::Failed)
    }
}

/// The spool and the counts, shared by the field and the document callbacks.
struct Tally<W> {
    out: W,
    written: std::io::Result<()>,
    /// Image references, and those not on the target.
    total: usize,
    stray: usize,
    /// Registry settings, and those naming a source registry.
    settings: usize,
    settings_stray: usize,
}
impl<W: Write> Tally<W> {
    /// One line of the list, spooled (the first write error is kept for the end).
    fn write(&mut self, line: &str) {
        if self.written.is_ok() {
            self.written = self.out.write_all(line.as_bytes());
        }
    }
}

/// One line of verify's list: object, field, reference, and with a chart which values move it.
fn stray_line(field: &rewrite::ImageField, controls: Option<&[discover::ImageSite]>) -> String {
    let object = field.object_ref();
    let mut line = format!("{object}\t{}\t{}", field.field_path, field.text);
    if let Some(controls) = controls {
        let site = controls.iter().find(|s| {
            s.id.object == object
                && s.id.field == field.field_path
                && field.source.as_ref().is_none_or(|t| *t == s.id.template)
        });
        match site {
            Some(s) if !s.keys.is_empty() => {
                let _ = write!(line, "\tvalues: {}", join_paths(&s.keys, ", "));
            }
            _ => line.push_str("\tnot controlled by values: use the post-renderer"),
        }
    }
    line.push('\n');
    line
}
