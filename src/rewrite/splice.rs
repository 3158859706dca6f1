//! The new text of one image site, and how it is written into the document's bytes: in place when
//! the scalar can hold it as written, the whole scalar re-quoted when it cannot.

use std::ops::Range;

use saphyr_parser::ScalarStyle;

use super::sites::Site;
use super::ImageField;
use crate::diagnostic::Code;
use crate::error::Error;
use crate::reference::Reference;

/// The new text for a field, or None when `retarget` leaves it where it is.
pub(super) fn new_text(
    field: &ImageField,
    retarget: &dyn Fn(&Reference) -> Option<Reference>,
) -> Result<Option<String>, Error> {
    if field.components.is_empty() {
        let old = Reference::parse(&field.text).map_err(|e| site_error(field, e.to_string()))?;
        return Ok(retarget(&old).filter(|new| *new != old).map(|new| new.to_string()));
    }
    new_base(field, retarget)
}

/// Moves an image config's `base` so that every component lands where the mapping sends it.
/// One base serves all components, so the mapping must agree on it for all of them.
fn new_base(field: &ImageField, retarget: &dyn Fn(&Reference) -> Option<Reference>) -> Result<Option<String>, Error> {
    let base = field.text.as_str();
    let mut decided: Option<Option<String>> = None;
    for component in &field.components {
        let old = Reference::parse(component).map_err(|e| site_error(field, e.to_string()))?;
        let old_name = component.split(['@']).next().unwrap_or(component);
        let image_path = old_name.strip_prefix(base).unwrap_or(old_name).trim_start_matches('/');
        let image_path = strip_tag(image_path);
        let new_base = match retarget(&old).filter(|new| *new != old) {
            None => None,
            Some(new) => {
                let name = format!("{}/{}", new.registry, new.repository);
                // A `repository` composed with a tag alone is the whole name.
                let stripped = if image_path.is_empty() {
                    Some(name.as_str())
                } else {
                    name.strip_suffix(image_path).and_then(|b| b.strip_suffix('/'))
                };
                Some(stripped.map(str::to_string).ok_or_else(|| {
                    site_error(
                        field,
                        format!("the mapping renames {component} to {new}, which no single `base` can express"),
                    )
                })?)
            }
        };
        match &decided {
            None => decided = Some(new_base),
            Some(previous) if *previous != new_base => {
                return Err(site_error(
                    field,
                    format!(
                        "the mapping sends the components of base {base} to different places ({} and {}); \
                     one base cannot serve both",
                        previous.as_deref().unwrap_or(base),
                        new_base.as_deref().unwrap_or(base)
                    ),
                )
                .hint("map or exclude this base's registry as a whole in the mapping file"));
            }
            Some(_) => {}
        }
    }
    Ok(decided.flatten())
}

/// `path/image:tag` -> `path/image` (the colon after the last slash starts the tag).
fn strip_tag(name: &str) -> &str {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].find(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    }
}

/// The bytes to replace and their replacement. Reference characters stand for themselves in
/// every scalar style, except that a bracketed IPv6 registry cannot sit in a plain scalar as is:
/// then the whole scalar is double-quoted.
pub(super) fn splice(site: &Site, new: &str, bytes: &[u8]) -> Result<(Range<usize>, String), Error> {
    let self_representing = |c: char| c.is_ascii_alphanumeric() || "._-/:@+".contains(c);
    // `image: *img`: the alias token gives way to the whole new value (a plain scalar cannot
    // start with `*`, so a node written so is always an alias).
    if let Some((whole, value, within)) = site.plain.as_ref().filter(|(w, _, _)| bytes.get(w.start) == Some(&b'*')) {
        let expanded = format!("{}{new}{}", &value[..within.start], &value[within.end..]);
        let plain_safe = expanded.starts_with(|c: char| c.is_ascii_alphanumeric())
            && expanded.chars().all(|c| self_representing(c) || c == '=');
        let text = if plain_safe { expanded } else { serde_json::to_string(&expanded).unwrap_or_default() };
        return Ok((whole.clone(), text));
    }
    let place = site.place.clone().map_err(|why| site_error(&site.field, why))?;
    if new.chars().all(self_representing) {
        return Ok((place, new.to_string()));
    }
    let quotable = !new.contains(['"', '\\', '\'']) && !new.chars().any(char::is_control);
    match (&site.plain, site.style) {
        (_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) if quotable => Ok((place, new.to_string())),
        (Some((whole, value, within)), ScalarStyle::Plain) if quotable => {
            let mut quoted = String::from("\"");
            quoted.push_str(&value[..within.start]);
            quoted.push_str(new);
            quoted.push_str(&value[within.end..]);
            quoted.push('"');
            Ok((whole.clone(), quoted))
        }
        _ => Err(site_error(&site.field, format!("{new:?} cannot be written into this scalar without re-quoting it"))),
    }
}

pub(super) fn site_error(field: &ImageField, why: String) -> Error {
    Error::coded(
        Code::CannotRewriteInPlace,
        format!("{}: {}: cannot rewrite {:?}: {why}", field.object(), field.field_path, field.text),
    )
    .at("manifest stream")
    .at(format!("document {}", field.document))
    .line(field.line)
}

#[cfg(test)]
mod tests {
    use crate::rewrite::tests::to_mirror;
    use crate::rewrite::*;

    #[test]
    fn a_base_the_mapping_splits_is_an_error() {
        let input = "kind: ConfigMap\ndata:\n  a: |\n    base: quay.io/p\n    components:\n      x: {image: one}\n      y: {image: two}\n";
        let only_one = |r: &Reference| r.repository.ends_with("one").then(|| to_mirror(r)).flatten();
        let e = rewrite(input.as_bytes(), &only_one).unwrap_err();
        assert!(e.to_string().contains("one base cannot serve both"), "{e}");
    }

    #[test]
    fn an_ipv6_registry_in_a_plain_scalar_is_quoted() {
        let input = "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n  - image: 'nginx:2'\n";
        let v6 = |r: &Reference| Some(r.with_location("[fd00::1]:5000", &r.repository));
        let out = String::from_utf8(rewrite(input.as_bytes(), &v6).unwrap().output).unwrap();
        assert_eq!(
            out,
            "kind: Pod\nspec:\n  containers:\n  - image: \"[fd00::1]:5000/library/nginx:1\"\n  - image: '[fd00::1]:5000/library/nginx:2'\n"
        );
    }
}
