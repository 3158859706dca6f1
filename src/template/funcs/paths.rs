//! sprig's path (`path` and `path/filepath` on Linux), network and URL functions.

use super::{bool_of, Arity::Exact, Call, Func, Res};
use crate::template::value::{Kind, TValue};

pub(super) static FUNCS: &[Func] = &[
    Func::new("base", Exact(1), |c| Ok(TValue::str(path_base(&c.str(0))))),
    Func::new("osBase", Exact(1), |c| Ok(TValue::str(path_base(&c.str(0))))),
    Func::new("dir", Exact(1), |c| Ok(TValue::str(path_dir(&c.str(0))))),
    Func::new("osDir", Exact(1), |c| Ok(TValue::str(path_dir(&c.str(0))))),
    Func::new("ext", Exact(1), |c| Ok(TValue::str(path_ext(&c.str(0))))),
    Func::new("osExt", Exact(1), |c| Ok(TValue::str(path_ext(&c.str(0))))),
    Func::new("clean", Exact(1), |c| Ok(TValue::str(path_clean(&c.str(0))))),
    Func::new("osClean", Exact(1), |c| Ok(TValue::str(path_clean(&c.str(0))))),
    Func::new("isAbs", Exact(1), |c| bool_of(c.str(0).starts_with('/'))),
    Func::new("osIsAbs", Exact(1), |c| bool_of(c.str(0).starts_with('/'))),
    // No network at render time: nothing resolves, as on a machine without DNS.
    Func::new("getHostByName", Exact(1), |_| Ok(TValue::str(""))),
    Func::new("urlParse", Exact(1), url_parse),
    Func::new("urlJoin", Exact(1), url_join),
];

pub(crate) fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub(crate) fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(p: &str) -> String {
    for (i, ch) in p.char_indices().rev() {
        match ch {
            '/' => return String::new(),
            '.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}

/// Go's url.Parse as sprig's urlParse returns it: scheme, host, path, query, opaque, fragment,
/// userinfo, hostname.
fn url_parse(c: &mut Call) -> Res {
    let text = c.str(0);
    let (rest, fragment) = match text.split_once('#') {
        Some((r, f)) => (r.to_string(), f.to_string()),
        None => (text.clone(), String::new()),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r.to_string(), q.to_string()),
        None => (rest, String::new()),
    };
    let (scheme, rest) = match rest.split_once(':') {
        Some((s, r))
            if !s.is_empty()
                && s.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
                && s.chars().all(|ch| ch.is_ascii_alphanumeric() || "+-.".contains(ch)) =>
        {
            (s.to_ascii_lowercase(), r.to_string())
        }
        _ => (String::new(), rest),
    };
    let (mut host, mut path, mut userinfo, mut opaque) = (String::new(), rest.clone(), String::new(), String::new());
    if let Some(after) = rest.strip_prefix("//") {
        let (authority, p) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        path = p.to_string();
        match authority.rsplit_once('@') {
            Some((u, h)) => {
                userinfo = u.to_string();
                host = h.to_string();
            }
            None => host = authority.to_string(),
        }
    } else if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest;
        path = String::new();
    }
    let hostname = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or("").to_string(),
        None => host.rsplit_once(':').map_or(host.clone(), |(h, _)| h.to_string()),
    };
    Ok(TValue::map(vec![
        ("scheme".into(), TValue::str(scheme)),
        ("host".into(), TValue::str(host)),
        ("hostname".into(), TValue::str(hostname)),
        ("path".into(), TValue::str(path)),
        ("query".into(), TValue::str(query)),
        ("opaque".into(), TValue::str(opaque)),
        ("fragment".into(), TValue::str(fragment)),
        ("userinfo".into(), TValue::str(userinfo)),
    ]))
}

/// sprig's urlJoin: the parts of a urlParse map put back together.
fn url_join(c: &mut Call) -> Res {
    let m = c.map(0)?;
    let get = |k: &str| match m.borrow().get(k).map(|v| v.kind().clone_str()) {
        Some(Some(s)) => s,
        _ => String::new(),
    };
    let mut out = String::new();
    let scheme = get("scheme");
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    let opaque = get("opaque");
    if opaque.is_empty() {
        let (host, userinfo) = (get("host"), get("userinfo"));
        if !scheme.is_empty() || !host.is_empty() || !userinfo.is_empty() {
            out.push_str("//");
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&host);
        }
        let path = get("path");
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    } else {
        out.push_str(&opaque);
    }
    let query = get("query");
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    let fragment = get("fragment");
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    Ok(TValue::str(out))
}

trait StrOf {
    fn clone_str(&self) -> Option<String>;
}

impl StrOf for Kind {
    fn clone_str(&self) -> Option<String> {
        match self {
            Kind::Str(t) => Some(t.text.clone()),
            _ => None,
        }
    }
}
