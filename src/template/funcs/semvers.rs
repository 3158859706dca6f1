//! sprig's semantic versions: `semver` gives a Masterminds/semver `*Version` whose fields and
//! methods templates call (`.Major`, `.Compare`, `.LessThan`...); `semverCompare` checks a
//! constraint.

use std::rc::Rc;

use super::{bool_of, Arity::Exact, Func};
use crate::template::semver::{self, Version};
use crate::template::value::{Kind, TValue};

pub(super) static FUNCS: &[Func] = &[
    Func::new("semverCompare", Exact(2), |c| semver::compare(&c.str(0), &c.str(1)).map(TValue::bool)),
    Func::new("semver", Exact(1), |c| Ok(TValue::semver(Version::parse(&c.str(0))?))),
];

/// A method or field of a `*semver.Version`, as Go calls it from a template.
pub(crate) fn method(v: &Rc<Version>, name: &str, args: &[TValue]) -> Result<TValue, String> {
    let want = |n: usize| -> Result<(), String> {
        if args.len() != n {
            return Err(format!("wrong number of args for {name}: want {n} got {}", args.len()));
        }
        Ok(())
    };
    let other = || -> Result<Rc<Version>, String> {
        match args[0].kind() {
            Kind::Semver(o) => Ok(o.clone()),
            _ => Err(format!("wrong type for value; expected *semver.Version; got {}", args[0].type_name())),
        }
    };
    let bumped = |major: u64, minor: u64, patch: u64| {
        let text = format!("{major}.{minor}.{patch}");
        let mut out = Version::parse(&text).expect("a plain version parses");
        out.original = if v.original.starts_with('v') { format!("v{text}") } else { text };
        TValue::semver(out)
    };
    match name {
        "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String" | "IncMajor" | "IncMinor"
        | "IncPatch" => want(0)?,
        "Compare" | "LessThan" | "LessThanEqual" | "GreaterThan" | "GreaterThanEqual" | "Equal" => want(1)?,
        _ => return Err(format!("can't evaluate field {name} in type *semver.Version")),
    }
    let order = || other().map(|o| v.compare(&o));
    match name {
        "Major" => Ok(TValue::int(v.major as i64)),
        "Minor" => Ok(TValue::int(v.minor as i64)),
        "Patch" => Ok(TValue::int(v.patch as i64)),
        "Prerelease" => Ok(TValue::str(v.pre.clone())),
        "Metadata" => Ok(TValue::str(v.meta.clone())),
        "Original" => Ok(TValue::str(v.original.clone())),
        "String" => Ok(TValue::str(v.to_string())),
        "IncMajor" => Ok(bumped(v.major + 1, 0, 0)),
        "IncMinor" => Ok(bumped(v.major, v.minor + 1, 0)),
        "IncPatch" if v.pre.is_empty() => Ok(bumped(v.major, v.minor, v.patch + 1)),
        "IncPatch" => Ok(bumped(v.major, v.minor, v.patch)),
        "Compare" => Ok(TValue::int(order()? as i64)),
        "LessThan" => bool_of(order()?.is_lt()),
        "LessThanEqual" => bool_of(order()?.is_le()),
        "GreaterThan" => bool_of(order()?.is_gt()),
        "GreaterThanEqual" => bool_of(order()?.is_ge()),
        _ => bool_of(order()?.is_eq()),
    }
}
