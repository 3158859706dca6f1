//! Pins each image an overlay moves to the digest its images lock holds: in the chart's own
//! `digest` key where it has one, else after the tag (`tag: v1@sha256:…`) where the reference ends
//! with a values string. Every placement is checked by rendering; an image whose values have no
//! place for a digest is an error naming the image, its values keys and why.

use std::collections::BTreeMap;

use crate::chart::Chart;
use crate::diagnostic::{Code, Diagnostic};
use crate::error::{Error, Result};
use crate::lock::ImagesLock;
use crate::plan::{Outcome, RetargetPlan};
use crate::reference::Reference;
use crate::render::{RenderOptions, TreeRenderer};
use crate::site::{Part, RenderedImage, SiteId};
use crate::values::{Value, ValuesPath};

/// `plan` with its overlay extended so that every moved image renders `destination@digest` (its
/// tag kept where the chart keeps one) as `lock` says; `user` are the values it was planned with,
/// `options` the cluster it was planned for.
#[allow(
    clippy::too_many_lines,
    reason = "one pass per image kind over the plan, kept together so their order stays visible"
)]
pub fn pin_digests(
    mut plan: RetargetPlan,
    root: &Chart,
    user: &Value,
    lock: &ImagesLock,
    options: &RenderOptions,
) -> Result<RetargetPlan> {
    let renderer = TreeRenderer::with_options(root, options.clone()).repeatable();
    let (base, _, _) = renderer.with_placeholders(user);
    let render = |overlay: &Value| {
        let render = renderer.render(&crate::values::coalesce(&base, overlay));
        let images: BTreeMap<SiteId, RenderedImage> =
            crate::discover::images(&render).into_iter().map(|i| (i.id.clone(), i)).collect();
        (render.effective.clone(), render.covering.clone(), images)
    };
    // Each failure with the reason its chart is off, if it is: those are warnings.
    let mut failures: Vec<(Option<String>, String)> = Vec::new();
    let mut targets = Vec::new();
    for m in &plan.moves {
        if !matches!(m.outcome, Outcome::Moved { .. }) {
            continue;
        }
        let Some(destination) = &m.destination else { continue };
        targets.push((m.site.clone(), m.source.to_string(), lock.pin(&m.source, destination), m.disabled.clone()));
    }
    // Where each locked image must end up, for telling a shared key's side effects apart.
    let wanted: BTreeMap<SiteId, Reference> =
        targets.iter().filter_map(|(site, _, pinned, _)| Some((site.clone(), pinned.clone().ok()?))).collect();
    let mut overlay = plan.overlay.clone();
    let (mut effective, mut covering, mut images) = render(&overlay);
    let mut done: Vec<(SiteId, Reference)> = Vec::new();
    for (site, source, pinned, disabled) in targets {
        let image = images.get(&site).cloned();
        // A chart that is off renders nothing as installed: the overlay moves it, unpinned.
        let (image, pinned) = match (image, pinned, &disabled) {
            (None, _, Some(off)) | (_, Err(_), Some(off)) => {
                plan.warnings.push(Diagnostic::new(
                    Code::PinSkippedChartOff,
                    format!("--pin-digests: {source} is left unpinned: its chart is off ({off})"),
                ));
                continue;
            }
            (None, _, None) => {
                failures.push((
                    disabled.clone(),
                    format!("{source} ({} {}): not rendered with the overlay", site.object, site.field),
                ));
                continue;
            }
            (Some(image), pinned, _) => (image, pinned),
        };
        let keys = crate::values::join_paths(&crate::discover::keys(&image.parts), ", ");
        if !image.components.is_empty() {
            failures.push((
                disabled.clone(),
                format!(
                    "{source} ({} {}, values {keys}): repository and tag are composed from separate fields or an \
                 image-config base, which hold no digest",
                    site.object, site.field
                ),
            ));
            continue;
        }
        let pinned = match pinned {
            Ok(pinned) => pinned,
            Err(why) => {
                failures.push((disabled.clone(), why));
                continue;
            }
        };
        if renders_pinned(&images, &site, &pinned) {
            done.push((site, pinned));
            continue;
        }
        let mut placed = false;
        let mut tried = Vec::new();
        for (path, value, how) in candidates(&image, &covering, &overlay, &pinned) {
            let mut trial = overlay.clone();
            trial.set(&path, value);
            let (trial_effective, trial_covering, trial_images) = render(&trial);
            // Every other image renders as before, or as its own lock entry says: a key shared
            // with an image that is not locked (excluded, already there) must not pin it too.
            let others_kept = trial_images.iter().all(|(id, trial_image)| {
                *id == site
                    || images.get(id).is_some_and(|before| before.text == trial_image.text)
                    || wanted.get(id).is_some_and(|p| renders_pinned(&trial_images, id, p))
            }) && done.iter().all(|(id, p)| renders_pinned(&trial_images, id, p));
            if renders_pinned(&trial_images, &site, &pinned) && others_kept {
                plan.comments.entry(path).or_default().push(format!("pinned {pinned} ({how}, images lock)"));
                overlay = trial;
                effective = trial_effective;
                covering = trial_covering;
                images = trial_images;
                placed = true;
                break;
            }
            tried.push(if others_kept {
                format!("{path} ({how}) did not render the digest")
            } else {
                format!("{path} ({how}) also builds another image, which would then render another digest")
            });
        }
        if placed {
            done.push((site, pinned));
            continue;
        }
        let composed = crate::discover::composition(&image.parts);
        let why = if tried.is_empty() {
            format!(
                "it renders as {composed}: the chart has no `digest` or `tag` key beside those keys, and the \
                 reference does not end with a values string a digest could follow"
            )
        } else {
            format!("it renders as {composed}; tried {}", tried.join("; "))
        };
        failures.push((
            disabled.clone(),
            format!("{source} ({} {}, values {keys}): no place for a digest: {why}", site.object, site.field),
        ));
    }
    let (skipped, failures): (Vec<_>, Vec<_>) = failures.into_iter().partition(|(off, _)| off.is_some());
    for (off, why) in skipped {
        let off = off.unwrap_or_default();
        plan.warnings.push(Diagnostic::new(
            Code::PinSkippedChartOff,
            format!("--pin-digests: left unpinned, its chart is off ({off}): {why}"),
        ));
    }
    let failures: Vec<String> = failures.into_iter().map(|(_, why)| why).collect();
    if !failures.is_empty() {
        return Err(Error::coded(
            Code::CannotPin,
            format!(
                "--pin-digests: {} image(s) cannot be pinned by values:\n  {}",
                failures.len(),
                failures.join("\n  ")
            ),
        )
        .at(&plan.chart)
        .hint("pin these with `helm-retarget post-render --pin-digests LOCK`, or lock the missing images"));
    }
    for m in &mut plan.moves {
        if let Some((_, pinned)) = done.iter().find(|(id, _)| *id == m.site) {
            if let Some(image) = images.get(&m.site) {
                m.rendered = image.text.clone();
            }
            m.destination = Some(pinned.clone());
        }
    }
    plan.overlay = overlay;
    plan.effective_after = effective;
    Ok(plan)
}

/// The image at `site` renders as `pinned`: its name and digest, and its tag unless the chart
/// drops the tag when a digest is set.
fn renders_pinned(images: &BTreeMap<SiteId, RenderedImage>, site: &SiteId, pinned: &Reference) -> bool {
    images.get(site).is_some_and(|image| {
        let r = &image.reference;
        r.name() == pinned.name() && r.digest == pinned.digest && (r.tag.is_none() || r.tag == pinned.tag)
    })
}

/// Values edits that may put the digest into `image`, best first: the values string the chart
/// already renders a digest from, a `digest` key beside the keys that build the reference, a `tag`
/// key beside them holding `tag@digest`, then the values string the reference ends with
/// (`tag: v1` -> `tag: v1@sha256:…`). Each is only a guess until a render confirms it.
fn candidates(
    image: &RenderedImage,
    covering: &Value,
    overlay: &Value,
    pinned: &Reference,
) -> Vec<(ValuesPath, Value, &'static str)> {
    let digest = pinned.digest.clone().unwrap_or_default();
    let mut out: Vec<(ValuesPath, Value, &'static str)> = Vec::new();
    let mut push = |path: ValuesPath, value: String, how: &'static str| {
        if !out.iter().any(|(p, v, _)| *p == path && *v == Value::String(value.clone())) {
            out.push((path, Value::String(value), how));
        }
    };
    // Where each values string stands in the rendered text.
    let mut at = 0;
    let mut spans = Vec::new();
    for part in &image.parts {
        let text = match part {
            Part::Template { text } | Part::Values { text, .. } | Part::Chart { text, .. } => text,
        };
        if let Part::Values { path, offset, .. } = part {
            spans.push((path.clone(), at, at + text.len(), *offset));
        }
        at += text.len();
    }
    let traced = at == image.text.len();
    let digest_at = image.text.rfind('@');
    if let (true, Some(digest_at)) = (traced, digest_at) {
        for (path, start, end, _) in &spans {
            if *start > digest_at && *end == image.text.len() {
                let old = &image.text[*start..*end];
                let new = if old.starts_with("sha256:") {
                    digest.clone()
                } else {
                    digest.trim_start_matches("sha256:").to_string()
                };
                push(path.clone(), new, "the chart's digest key");
            }
        }
    }
    for (path, _, _, _) in &spans {
        if let Some(parent) = path.parent() {
            let sibling = parent.child("digest");
            // Tried even where the key is unset or null (coalescing drops nulls): a render shows
            // whether the chart reads it.
            if sibling != *path && !covering.get(&sibling).is_some_and(|v| matches!(v, Value::Map(_) | Value::List(_)))
            {
                push(sibling, digest.clone(), "the chart's digest key");
            }
        }
    }
    // A tag the template takes from elsewhere (`.Chart.AppVersion`) when the chart's `tag` key is
    // empty: the key then carries tag and digest.
    if let (Some(tag), None) = (&pinned.tag, digest_at) {
        for (path, _, _, _) in &spans {
            if let Some(parent) = path.parent() {
                let sibling = parent.child("tag");
                let taken = spans.iter().any(|(p, _, _, _)| *p == sibling);
                if !taken && !covering.get(&sibling).is_some_and(|v| matches!(v, Value::Map(_) | Value::List(_))) {
                    push(sibling, format!("{tag}@{digest}"), "in the tag key");
                }
            }
        }
    }
    if traced && digest_at.is_none() {
        for (path, start, end, offset) in &spans {
            let current = overlay.get(path).or_else(|| covering.get(path)).and_then(Value::as_str);
            if let Some(value) = current {
                // The string's end is the reference's end: the digest can follow it.
                if *end == image.text.len() && value.len() == offset + (end - start) {
                    push(path.clone(), format!("{value}@{digest}"), "after the tag");
                }
            }
        }
    }
    out
}
