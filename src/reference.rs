//! Image references as the docker/distribution grammar defines them:
//! `[host[:port]/]path[:tag][@algorithm:hex]`, with Docker Hub's implied `docker.io/library/`.
//!
//! Hand-written rather than taken from `oci-spec`: its `distribution::Reference` fills in a
//! `latest` tag and forgets whether the text named a registry, and we need both to write
//! overlays that change only what the chart said. Checking piece by piece also lets every
//! error say which part is wrong.

use std::fmt;

/// Docker Hub's canonical registry name, implied when a reference names no host.
pub const DOCKER_HUB: &str = "docker.io";
/// Docker Hub's legacy name, normalised to [`DOCKER_HUB`].
const LEGACY_DOCKER_HUB: &str = "index.docker.io";
/// Docker Hub's namespace for official images: `nginx` is `docker.io/library/nginx`.
const OFFICIAL_NAMESPACE: &str = "library/";
/// The most characters a repository path may have (distribution's `RepositoryNameTotalLengthMax`).
pub const REPOSITORY_LIMIT: usize = 255;
/// The most characters a tag may have (`[\w][\w.-]{0,127}`).
const TAG_LIMIT: usize = 128;

/// A parsed image reference. `registry` and `repository` are normalised (`nginx` is
/// `docker.io` + `library/nginx`); `explicit_registry` says whether the text named the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub explicit_registry: bool,
}

/// Why a text is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    pub text: String,
    pub reason: String,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an image reference: {}", self.text, self.reason)
    }
}

impl std::error::Error for ReferenceError {}

impl Reference {
    /// Parses `text` the way Docker and containerd do (`ParseNormalizedNamed`): the first
    /// `/`-separated component is a registry host only if it contains `.` or `:`, is
    /// `localhost`, or has uppercase letters; otherwise the image is on Docker Hub. A missing
    /// tag stays missing (no `latest` is filled in).
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let fail = |reason: String| ReferenceError { text: text.to_string(), reason };
        if text.is_empty() {
            return Err(fail("the text is empty".into()));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(format!("it contains {c:?}; references have no spaces or control characters")));
        }
        if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(fail("a 64-character hex string is an image ID, not a repository name".into()));
        }

        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (text, None),
        };
        if let Some(digest) = digest {
            check_digest(digest).map_err(fail)?;
        }

        if rest.starts_with('[') && !rest.contains('/') {
            return Err(fail("a registry host needs a repository path after it, e.g. [::1]:5000/app".into()));
        }

        // The tag separator is the first `:` after the last `/`; earlier colons belong to the
        // host's port (`localhost:5000/app`).
        let tail_start = rest.rfind('/').map_or(0, |slash| slash + 1);
        let (name, tag) = match rest[tail_start..].find(':') {
            Some(colon) => (&rest[..tail_start + colon], Some(&rest[tail_start + colon + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(fail)?;
        }
        if name.is_empty() {
            return Err(fail("there is no repository name before the tag or digest".into()));
        }

        let (host, path) = match name.split_once('/') {
            Some((first, remainder)) if names_a_host(first) => (Some(first), remainder),
            _ => (None, name),
        };
        if let Some(host) = host {
            check_host(host).map_err(|reason| fail(format!("registry host {host:?}: {reason}")))?;
        }
        check_repository(path).map_err(fail)?;

        let registry = match host {
            None | Some(LEGACY_DOCKER_HUB) => DOCKER_HUB,
            Some(host) => host,
        };
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}{path}")
        } else {
            path.to_string()
        };
        if repository.len() > REPOSITORY_LIMIT {
            return Err(fail(format!(
                "the repository path is {} characters; the limit is {REPOSITORY_LIMIT}",
                repository.len()
            )));
        }

        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
            explicit_registry: host.is_some(),
        })
    }

    /// `registry/repository`, without tag or digest: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Docker's short form, as `docker images` prints it: `nginx:1.25`, `bitnami/redis:7`,
    /// `quay.io/org/app@sha256:...`.
    pub fn familiar(&self) -> String {
        let mut text = if self.registry == DOCKER_HUB {
            match self.repository.strip_prefix(OFFICIAL_NAMESPACE) {
                // `library/a/b` keeps its namespace: dropping it would name `docker.io/a/b`.
                Some(official) if !official.contains('/') => official.to_string(),
                _ => self.repository.clone(),
            }
        } else {
            self.name()
        };
        push_tag_and_digest(&mut text, self);
        text
    }

    /// The same tag and digest at another place: what retargeting does to an image.
    pub fn with_location(&self, registry: &str, repository: &str) -> Reference {
        Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: self.tag.clone(),
            digest: self.digest.clone(),
            explicit_registry: true,
        }
    }

    /// Whether a string found somewhere in rendered manifests is plausibly an image, for scanners
    /// that look beyond fields known to hold images (for those, use [`Reference::parse`]).
    ///
    /// Almost any lowercase word parses (`auto`, `true`, `text/plain` all name Docker Hub
    /// repositories), and rewriting a string that is not an image breaks the workload, so this
    /// errs towards `false`. The text must parse and carry evidence of being an image:
    /// - a digest (`app@sha256:...`); or
    /// - a registry host written out, marked as a host by a `.`, a port or `localhost`, with
    ///   either a tag, a port, `localhost`, or at least two path components
    ///   (`quay.io/org/app`, `localhost:5000/app`, but not `api.example.com/v1`, which reads
    ///   as a URL without its scheme); or
    /// - a tag after a namespaced name (`bitnami/redis:7`); or
    /// - a tag after a single Docker Hub name, when the name has no `.` and the tag has a digit
    ///   or is `latest` but is not a port-like number of three or more digits: `nginx:1.25` and
    ///   `node:20` pass, while `redis.default.svc:6379`, `postgres:5432` (host:port) and
    ///   `app:frontend` (a key:value label) do not.
    ///
    /// Template text (`{{`), URLs with a scheme, and file paths (`/x`, `./x`, `../x`) are never
    /// images.
    pub fn looks_like_reference(text: &str) -> bool {
        let obviously_not = text.contains("{{")
            || text.contains("}}")
            || text.contains("://")
            || text.starts_with('/')
            || text.starts_with("./")
            || text.starts_with("../");
        if obviously_not {
            return false;
        }
        let Ok(reference) = Reference::parse(text) else {
            return false;
        };
        if reference.digest.is_some() {
            return true;
        }
        let first = text.split('/').next().unwrap_or_default();
        let written_host =
            reference.explicit_registry && (first.contains('.') || first.contains(':') || first == "localhost");
        if reference.explicit_registry && !written_host {
            // Only uppercase made the first component a host: `Hello/world` is no registry.
            return false;
        }
        if written_host {
            let path_components = text.split('/').count() - 1;
            return reference.tag.is_some() || first.contains(':') || first == "localhost" || path_components >= 2;
        }
        let Some(tag) = &reference.tag else {
            return false;
        };
        if text.contains('/') {
            return true;
        }
        let name = &text[..text.len() - tag.len() - 1];
        let port_like = tag.len() >= 3 && tag.bytes().all(|b| b.is_ascii_digit());
        !name.contains('.') && (tag.bytes().any(|b| b.is_ascii_digit()) || tag == "latest") && !port_like
    }
}

fn push_tag_and_digest(text: &mut String, reference: &Reference) {
    if let Some(tag) = &reference.tag {
        text.push(':');
        text.push_str(tag);
    }
    if let Some(digest) = &reference.digest {
        text.push('@');
        text.push_str(digest);
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/nginx:1.25@sha256:...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.name();
        push_tag_and_digest(&mut text, self);
        f.write_str(&text)
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(text)
    }
}

/// Docker's rule for whether the first path component of a name is a registry host.
pub fn names_a_host(component: &str) -> bool {
    component == "localhost"
        || component.contains('.')
        || component.contains(':')
        || component.chars().any(|c| c.is_ascii_uppercase())
}

/// Checks a registry host with optional port: DNS-style labels or an IPv4 address
/// (`harbor.example.com`, `10.0.0.5:5000`), or an IPv6 address in brackets (`[::1]:5000`).
/// The error is the reason, without the host.
pub fn check_host(host: &str) -> Result<(), String> {
    let (address, port) = if let Some(bracketed) = host.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return Err("an IPv6 address needs a closing ']'".into());
        };
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(format!(
                "[{inside}] is not an IPv6 address this grammar accepts (hex digits and ':' only, no zone)"
            ));
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(format!("unexpected {after:?} after the IPv6 address")),
            },
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("port {port:?} must be a number"));
        }
    }
    let Some(address) = address else {
        return Ok(());
    };
    if address.is_empty() {
        return Err("the host name is empty".into());
    }
    for label in address.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (a leading, trailing or doubled '.')".into());
        }
        if let Some(c) = label.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-') {
            return Err(format!("{c:?} is not allowed in a host name (letters, digits, '-' and '.')"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} must start and end with a letter or digit"));
        }
    }
    Ok(())
}

/// Checks a repository path: `/`-separated lowercase components, each letters and digits joined
/// by one `.`, one or two `_`, or any number of `-`. The error is the reason.
pub fn check_repository(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the repository path is empty".into());
    }
    for component in path.split('/') {
        check_path_component(component)?;
    }
    Ok(())
}

fn check_path_component(component: &str) -> Result<(), String> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if component.is_empty() {
        return Err("the repository path has an empty component (a doubled or trailing '/')".into());
    }
    if component.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!("repository path component {component:?} must be lowercase"));
    }
    if let Some(c) = component.chars().find(|&c| !alphanumeric(c) && !matches!(c, '.' | '_' | '-')) {
        return Err(format!("{c:?} in {component:?} is not allowed in a repository path (a-z, 0-9, '.', '_', '-')"));
    }
    if !component.starts_with(alphanumeric) || !component.ends_with(alphanumeric) {
        return Err(format!("repository path component {component:?} must start and end with a letter or digit"));
    }
    for separator in component.split(alphanumeric).filter(|run| !run.is_empty()) {
        let allowed = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !allowed {
            return Err(format!(
                "separator {separator:?} in {component:?} is not allowed (one '.', one or two '_', or dashes)"
            ));
        }
    }
    Ok(())
}

/// Checks a tag: `[\w][\w.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if tag.is_empty() {
        return Err("the tag after ':' is empty".into());
    }
    if tag.len() > TAG_LIMIT {
        return Err(format!("the tag is {} characters; the limit is {TAG_LIMIT}", tag.len()));
    }
    if !tag.starts_with(word) {
        return Err(format!("tag {tag:?} must start with a letter, digit or '_'"));
    }
    if let Some(c) = tag.chars().find(|&c| !word(c) && c != '.' && c != '-') {
        return Err(format!("{c:?} is not allowed in tag {tag:?} (letters, digits, '_', '.', '-')"));
    }
    Ok(())
}

/// Checks a digest: the grammar's `algorithm:hex`, then go-digest's registered algorithms,
/// which fix the length and require lowercase hex.
fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return Err(format!("digest {digest:?} needs an algorithm prefix, e.g. sha256:<64 hex digits>"));
    };
    let well_formed_algorithm = !algorithm.is_empty()
        && algorithm.split(['-', '_', '+', '.']).all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic()) && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    if !well_formed_algorithm {
        return Err(format!("digest algorithm {algorithm:?} is malformed"));
    }
    if let Some(c) = encoded.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("digest {digest:?} has {c:?} where hex digits belong"));
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(format!("digest algorithm {algorithm:?} is not supported (sha256, sha384 or sha512)")),
    };
    if encoded.len() != expected {
        return Err(format!("a {algorithm} digest has {expected} hex digits, this one has {}", encoded.len()));
    }
    if encoded.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!("digest {digest:?} must use lowercase hex"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parsed(text: &str) -> Reference {
        Reference::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn reason(text: &str) -> String {
        match Reference::parse(text) {
            Ok(r) => panic!("{text:?} parsed as {r:?}"),
            Err(e) => e.reason,
        }
    }

    /// (text, registry, repository, tag, digest, explicit_registry)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<String>, bool);

    fn check(cases: &[Case<'_>]) {
        for (text, registry, repository, tag, digest, explicit) in cases {
            let r = parsed(text);
            assert_eq!(
                (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref(), r.digest.clone(), r.explicit_registry),
                (*registry, *repository, *tag, digest.clone(), *explicit),
                "parsing {text:?}"
            );
        }
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        check(&[
            ("nginx", "docker.io", "library/nginx", None, None, false),
            ("nginx:1.25", "docker.io", "library/nginx", Some("1.25"), None, false),
            ("library/nginx", "docker.io", "library/nginx", None, None, false),
            ("docker.io/nginx", "docker.io", "library/nginx", None, None, true),
            ("docker.io/library/nginx:latest", "docker.io", "library/nginx", Some("latest"), None, true),
            ("index.docker.io/x/y", "docker.io", "x/y", None, None, true),
            ("index.docker.io/busybox", "docker.io", "library/busybox", None, None, true),
            ("bitnami/redis:7.2", "docker.io", "bitnami/redis", Some("7.2"), None, false),
            // A one-component name is never a host, so these are Docker Hub names with tags.
            ("test.com:5000", "docker.io", "library/test.com", Some("5000"), None, false),
            ("localhost:5000", "docker.io", "library/localhost", Some("5000"), None, false),
        ]);
    }

    #[test]
    fn hosts_are_recognised_by_dot_colon_localhost_or_uppercase() {
        check(&[
            ("quay.io/org/app:v1", "quay.io", "org/app", Some("v1"), None, true),
            ("test:5000/repo", "test:5000", "repo", None, None, true),
            ("localhost/app", "localhost", "app", None, None, true),
            ("localhost:5000/x", "localhost:5000", "x", None, None, true),
            ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", Some("5050"), None, true),
            ("Registry/app", "Registry", "app", None, None, true),
            (
                "sub-dom1.foo.com/bar/baz/quux:some-tag",
                "sub-dom1.foo.com",
                "bar/baz/quux",
                Some("some-tag"),
                None,
                true,
            ),
            ("xn--n3h.com/img:xn--n3h.com", "xn--n3h.com", "img", Some("xn--n3h.com"), None, true),
            // Without a dot, colon or uppercase the first component is a Hub namespace.
            ("registry/app", "docker.io", "registry/app", None, None, false),
        ]);
    }

    #[test]
    fn ipv6_hosts_need_brackets_and_a_path() {
        let digest = Some(format!("sha256:{HEX64}"));
        check(&[
            ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", None, None, true),
            ("[::1]:5000/repo:tag", "[::1]:5000", "repo", Some("tag"), None, true),
            (&format!("[2001:db8::1]:5000/repo@sha256:{HEX64}"), "[2001:db8::1]:5000", "repo", None, digest, true),
        ]);
        assert!(reason("[2001:db8::1]:5000").contains("needs a repository path"));
        assert!(reason("[fe80::1%eth0]:5000/repo").contains("IPv6"));
        assert!(reason("[::1/repo").contains("closing ']'"));
    }

    #[test]
    fn bad_hosts_and_ports_say_what_is_wrong() {
        assert!(reason("localhost:/app").contains("port \"\""));
        assert!(reason("localhost:50a0/app").contains("must be a number"));
        assert!(reason("-bad.com/app").contains("must start and end"));
        assert!(reason("a..b/app").contains("empty label"));
        assert!(reason("a_b.com/app").contains("'_'"));
    }

    #[test]
    fn uppercase_in_the_path_is_rejected() {
        assert!(reason("Nginx").contains("must be lowercase"));
        assert!(reason("nginx/Web").contains("\"Web\" must be lowercase"));
        assert!(reason("test:5000/Uppercase/lowercase:tag").contains("must be lowercase"));
        // Uppercase tags are fine.
        assert_eq!(parsed("lowercase:Uppercase").tag.as_deref(), Some("Uppercase"));
    }

    #[test]
    fn path_separators_follow_the_grammar() {
        for good in ["a.b", "a_b", "a__b", "a-b", "a---b", "a-b.c_d__e"] {
            parsed(&format!("org/{good}"));
        }
        assert!(reason("org/a..b").contains("separator \"..\""));
        assert!(reason("org/a___b").contains("separator \"___\""));
        assert!(reason("org/a._b").contains("separator \"._\""));
        assert!(reason("org/-a").contains("must start and end"));
        assert!(reason("org/a-").contains("must start and end"));
        assert!(reason("org//a").contains("empty component"));
        assert!(reason("org/a/").contains("empty component"));
        assert!(reason("aa/asdf$$^/aa").contains("'$'"));
    }

    #[test]
    fn tags_and_digests_combine() {
        let digest = format!("sha256:{HEX64}");
        check(&[
            (&format!("nginx@{digest}"), "docker.io", "library/nginx", None, Some(digest.clone()), false),
            (&format!("quay.io/o/a:1.0@{digest}"), "quay.io", "o/a", Some("1.0"), Some(digest.clone()), true),
            (&format!("test:5000/repo@{digest}"), "test:5000", "repo", None, Some(digest.clone()), true),
        ]);
        let sha512 = format!("sha512:{}", "ab".repeat(64));
        assert_eq!(parsed(&format!("app@{sha512}")).digest, Some(sha512));
        parsed(&format!("app@sha384:{}", "cd".repeat(48)));
    }

    #[test]
    fn bad_digests_are_rejected_with_reasons() {
        assert!(reason("app@sha256:ffff").contains("has 64 hex digits, this one has 4"));
        assert!(reason(&format!("app@sha256:{}", HEX64.to_uppercase())).contains("lowercase hex"));
        assert!(reason(&format!("app@md5:{HEX64}")).contains("not supported"));
        assert!(reason(&format!("app@{HEX64}")).contains("algorithm prefix"));
        assert!(reason(&format!("app@sha256:{}g", &HEX64[1..])).contains("'g'"));
        assert!(reason(&format!("app@9sha:{HEX64}")).contains("malformed"));
        assert!(reason(&format!("@sha256:{HEX64}")).contains("no repository name"));
        assert!(reason(HEX64).contains("image ID"));
    }

    #[test]
    fn bad_tags_are_rejected_with_reasons() {
        assert!(reason("app:").contains("empty"));
        assert!(reason("app:.x").contains("must start"));
        assert!(reason("app:a+b").contains("'+'"));
        assert!(reason(&format!("app:{}", "t".repeat(129))).contains("limit is 128"));
        parsed(&format!("app:{}", "t".repeat(128)));
        assert!(reason(":justtag").contains("no repository name"));
    }

    #[test]
    fn names_longer_than_255_characters_are_rejected() {
        let at_limit = "a".repeat(REPOSITORY_LIMIT);
        parsed(&format!("example.com/{at_limit}:tag"));
        assert!(reason(&format!("example.com/{at_limit}b")).contains("256 characters"));
        // The limit counts the normalised path, `library/` included.
        assert!(reason(&"a".repeat(250)).contains("258 characters"));
    }

    #[test]
    fn empty_and_spaced_texts_are_rejected() {
        assert!(reason("").contains("empty"));
        assert!(reason("nginx 1.25").contains("' '"));
        assert!(reason("nginx\n").contains("'\\n'"));
    }

    #[test]
    fn display_familiar_and_name_round_trip() {
        let cases = [
            ("nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25"),
            ("docker.io/bitnami/redis:7", "docker.io/bitnami/redis:7", "bitnami/redis:7"),
            ("index.docker.io/library/a/b", "docker.io/library/a/b", "library/a/b"),
            ("quay.io/org/app", "quay.io/org/app", "quay.io/org/app"),
        ];
        for (text, full, familiar) in cases {
            let r = parsed(text);
            assert_eq!(r.to_string(), full);
            assert_eq!(r.familiar(), familiar);
            assert_eq!(parsed(&r.to_string()).familiar(), familiar, "{full} re-parses");
        }
        let with_digest = parsed(&format!("localhost:5000/x:1@sha256:{HEX64}"));
        assert_eq!(with_digest.name(), "localhost:5000/x");
        assert_eq!(with_digest.familiar(), format!("localhost:5000/x:1@sha256:{HEX64}"));
    }

    #[test]
    fn from_str_parses_and_errors_display_the_text() {
        let r: Reference = "quay.io/o/a:1".parse().unwrap();
        assert_eq!(r.name(), "quay.io/o/a");
        let e = "Nginx:1".parse::<Reference>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"Nginx:1\" is not an image reference: repository path component \"Nginx\" must be lowercase"
        );
    }

    #[test]
    fn with_location_keeps_tag_and_digest() {
        let source = parsed(&format!("nginx:1.25@sha256:{HEX64}"));
        let moved = source.with_location("harbor.example.com", "hub/library/nginx");
        assert_eq!(moved.to_string(), format!("harbor.example.com/hub/library/nginx:1.25@sha256:{HEX64}"));
        assert!(moved.explicit_registry);
        assert_eq!(parsed(&moved.to_string()), moved);
    }

    #[test]
    fn looks_like_reference_accepts_only_plausible_images() {
        let digest = format!("sha256:{HEX64}");
        let cases: &[(&str, bool)] = &[
            ("nginx:1.25", true),
            ("nginx:latest", true),
            ("node:20", true),
            ("bitnami/redis:7", true),
            ("bitnami/redis:stable", true),
            ("quay.io/prometheus/node-exporter", true),
            ("registry.k8s.io/pause:3.9", true),
            ("localhost:5000/app", true),
            ("localhost/app", true),
            (&format!("busybox@{digest}"), true),
            ("", false),
            ("auto", false),
            ("true", false),
            ("nginx", false),
            ("text/plain", false),
            ("bitnami/redis", false),
            ("api.example.com/v1", false),
            ("Hello/world:1", false),
            ("Hello/world", false),
            ("app:frontend", false),
            ("redis.default.svc:6379", false),
            ("example.com:443", false),
            ("postgres:5432", false),
            ("{{ .Values.image }}", false),
            ("repo/{{ .Values.tag }}", false),
            ("https://quay.io/org/app:1", false),
            ("/usr/bin/app:1", false),
            ("./app:1", false),
            ("../app:1", false),
            ("nginx :1.25", false),
            ("Nginx:1.25", false),
        ];
        for (text, expected) in cases {
            assert_eq!(Reference::looks_like_reference(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn check_host_accepts_registry_hosts_and_ports() {
        for good in ["harbor.example.com", "10.0.0.5:5000", "localhost", "[::1]:5000", "REG.example.com"] {
            assert_eq!(check_host(good), Ok(()), "{good}");
        }
        for bad in ["", "a:b", "host.com:", "[::1", "ex ample.com"] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }
}
