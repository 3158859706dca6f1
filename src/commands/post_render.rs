//! `post-render`: the Helm post-renderer, manifests on stdin to the same stream with images moved.

use std::io::{Seek, SeekFrom, Write};

use crate::cli;
use crate::diagnostic::Code;
use crate::error::{Context, Error, Result};
use crate::{report, rewrite};

use super::Outcome;

/// The Helm post-renderer: manifests on stdin, the same stream with images retargeted on stdout.
/// The output is spooled to a temporary file and copied out only on success, so a failure writes
/// nothing to stdout while memory stays bounded by the largest document.
pub fn post_render(args: &cli::PostRender) -> Result<Outcome> {
    let mapping = &args.mapping;
    let lock = args.pin_digests.as_deref().map(crate::lock::ImagesLock::from_file).transpose()?;
    // Images the lock cannot pin, collected so the stream fails whole rather than half pinned.
    let unpinned = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let retarget = |r: &crate::reference::Reference| {
        let destination = mapping.destination(r)?;
        let Some(lock) = &lock else { return Some(destination) };
        match lock.pin(r, &destination) {
            Ok(pinned) => Some(pinned),
            Err(why) => {
                unpinned.borrow_mut().insert(why);
                Some(destination)
            }
        }
    };
    let mut spool =
        tempfile::tempfile().context(Code::OutputUnwritable, "post-render: cannot create a temporary file")?;
    // Rewrites are kept only for `--report`; without it memory stays bounded by one document.
    let mut rewrites = Vec::new();
    let keep = args.report.is_some();
    let summary = {
        let mut out = std::io::BufWriter::new(&mut spool);
        let rules = rewrite::Rules { text_images: args.text_images };
        let mut on_rewrite = |r| {
            if keep {
                rewrites.push(r);
            }
        };
        let summary = rewrite::rewrite_stream_by(std::io::stdin().lock(), &mut out, &retarget, &mut on_rewrite, rules)?;
        out.flush().context(Code::OutputUnwritable, "post-render: temporary file")?;
        summary
    };
    let mut unpinned = unpinned.into_inner();
    if lock.is_some() && unpinned.is_empty() {
        // The rewrite cannot put a digest everywhere (repository and tag in separate fields, an
        // image-config base shared by components): read the result back and name what lacks one.
        spool.seek(SeekFrom::Start(0)).context(Code::OutputUnwritable, "post-render: temporary file")?;
        let rules = rewrite::Rules { text_images: args.text_images };
        let mut check = |field: rewrite::ImageField| {
            for reference in field.references() {
                if reference.digest.is_none() && mapping.is_destination(&reference) {
                    unpinned.insert(format!(
                        "{} {} (line {}): {reference} has no place for a digest here",
                        field.object(),
                        field.field_path,
                        field.line
                    ));
                }
            }
        };
        rewrite::find_images_in(std::io::BufReader::new(&mut spool), rules, &mut check)?;
    }
    if !unpinned.is_empty() {
        let list: Vec<String> = unpinned.into_iter().collect();
        return Err(Error::coded(
            Code::CannotPin,
            format!("--pin-digests: {} image(s) cannot be pinned:\n  {}", list.len(), list.join("\n  ")),
        ));
    }
    if let Some(file) = &args.report {
        report::write_atomically(file, rewrite::report_json(&rewrites).as_bytes())?;
    }
    spool.seek(SeekFrom::Start(0)).context(Code::OutputUnwritable, "post-render: temporary file")?;
    report::copy_to_stdout(&mut spool)?;
    summary.notes.report("helm-retarget");
    report::note(&format!(
        "helm-retarget: {} image reference(s) moved in {} object(s)",
        summary.rewrites, summary.changed_objects
    ));
    Ok(Outcome::Success)
}
