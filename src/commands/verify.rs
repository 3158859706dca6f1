//! `verify`: every image of a manifest stream that is not on the target registry.

use std::fmt::Write as _;
use std::io::{Seek, SeekFrom, Write};

use crate::cli;
use crate::diagnostic::Code;
use crate::discover;
use crate::error::{Context, Result};
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
    let (mut stray, mut total) = (0usize, 0usize);
    let mut written = Ok(());
    let summary = {
        let mut out = std::io::BufWriter::new(&mut spool);
        let mut keep = |field: rewrite::ImageField| {
            total += 1;
            if rewrite::unmoved(std::slice::from_ref(&field), mapping).is_empty() {
                return;
            }
            stray += 1;
            let line = stray_line(&field, args.chart.is_some().then_some(controls.as_slice()));
            if written.is_ok() {
                written = out.write_all(line.as_bytes());
            }
        };
        let summary = rewrite::find_images_in(args.input.open()?, rewrite::Rules::default(), &mut keep)
            .map_err(|e| e.at(args.input.name()))?;
        written.and_then(|()| out.flush()).context(Code::OutputUnwritable, "verify: temporary file")?;
        summary
    };
    summary.notes.report("verify");
    spool.seek(SeekFrom::Start(0)).context(Code::OutputUnwritable, "verify: temporary file")?;
    report::copy_to_stdout(&mut spool)?;
    if stray == 0 {
        report::note(&format!("verify: all {total} image reference(s) are on the target registry"));
        Ok(Outcome::Success)
    } else {
        report::note(&format!("verify: {stray} of {total} image reference(s) are not on the target registry"));
        Ok(Outcome::Failed)
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
