//! The function library as a table: Go's template builtins, sprig v3 and Helm's extras, one
//! definition per function (name, arity, whether it reads whole maps, implementation), grouped by
//! family. Names resolve when a template is parsed, so an unknown name is a parse error as in Go.
//!
//! Functions that pass a value through return the value itself, so its origin and spans survive.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::format::{plain_string, to_traced};
use super::value::{Kind, MapCell, TValue};
use super::{Traced, ValuesRead};

mod builtins;
mod crypto;
pub use crypto::with_repeatable_random;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod helm;
mod lists;
mod math;
mod paths;
pub(crate) mod regex;
mod semvers;
mod strings;
mod types;

pub(crate) use dates::{go_time_string, rfc3339};
pub(crate) use helm::files_method;
pub(crate) use semvers::method as semver_method;

/// What a function returns: a value, or the message Go prints after `error calling NAME: `.
pub(crate) type Res = Result<TValue, String>;

/// How many arguments a function takes, as its Go signature says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arity {
    Exact(usize),
    AtLeast(usize),
}

/// How a function runs.
#[derive(Clone, Copy)]
pub(crate) enum Impl {
    /// A function of its arguments alone.
    Plain(fn(&mut Call) -> Res),
    /// A function the evaluator runs itself: it needs the engine (`include`, `tpl`), stops the
    /// render (`fail`, `required`), or does not evaluate every argument (`and`, `or`).
    Engine,
}

/// One entry of the function table.
#[derive(Clone, Copy)]
pub(crate) struct Func {
    pub(crate) name: &'static str,
    pub(crate) arity: Arity,
    /// Takes in every key of a values map it is given (toYaml, merge, keys...): the tracer counts
    /// that as a read of the whole map, so a change anywhere under it can change the output.
    pub(crate) whole_maps: bool,
    pub(crate) imp: Impl,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Func {
    pub(crate) const fn new(name: &'static str, arity: Arity, call: fn(&mut Call) -> Res) -> Func {
        Func { name, arity, whole_maps: false, imp: Impl::Plain(call) }
    }

    pub(crate) const fn engine(name: &'static str, arity: Arity) -> Func {
        Func { name, arity, whole_maps: false, imp: Impl::Engine }
    }

    /// Marks a function that reads every key of the maps it is given.
    pub(crate) const fn whole(mut self) -> Func {
        self.whole_maps = true;
        self
    }
}

/// Every family's table.
fn families() -> [&'static [Func]; 14] {
    [
        builtins::FUNCS,
        helm::FUNCS,
        strings::FUNCS,
        regex::FUNCS,
        defaults::FUNCS,
        encoding::FUNCS,
        lists::FUNCS,
        dicts::FUNCS,
        math::FUNCS,
        types::FUNCS,
        semvers::FUNCS,
        crypto::FUNCS,
        dates::FUNCS,
        paths::FUNCS,
    ]
}

fn table() -> &'static HashMap<&'static str, &'static Func> {
    static TABLE: OnceLock<HashMap<&'static str, &'static Func>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        for family in families() {
            for func in family {
                let earlier = map.insert(func.name, func);
                debug_assert!(earlier.is_none(), "function {} defined twice", func.name);
            }
        }
        map
    })
}

/// The function a template names, if Helm defines it.
pub(crate) fn lookup(name: &str) -> Option<&'static Func> {
    table().get(name).copied()
}

/// Every function name, sorted (for tests and the conformance suite).
#[cfg(test)]
pub(crate) fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = table().keys().copied().collect();
    names.sort_unstable();
    names
}

/// How an argument was written, which decides Go's error for a value of the wrong type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ArgForm {
    /// A constant: `3`, `"x"`, `true`, `nil`.
    Literal,
    /// A field chain (`.Values.x`, `$v.a`): a missing key is a nil *interface*, which Go will not
    /// pass where a map or a string is wanted.
    Field,
    /// A parenthesised pipeline, a variable, or the piped-in value: Go has turned a nil there
    /// into "no value", which becomes the zero map (or an error for a string).
    Piped,
}

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Go's arity check: `wrong number of args for NAME: want N got M`.
    Arity(String),
    /// Go's argument conversion: `wrong type for value; expected map[string]interface {}; got
    /// interface {}` (no `error calling` prefix: it happens before the call).
    Type(String),
    /// The function returned an error (or panicked): Go prints `error calling NAME: ...`.
    Returned(String),
}

/// Marks a message as Go's argument-conversion error (see [`CallError::Type`]).
const TYPE_ERROR: char = '\u{1}';

fn type_error(message: String) -> String {
    format!("{TYPE_ERROR}{message}")
}

/// Checks the arity and runs a plain function, recording the values reads it makes.
pub(crate) fn call(
    func: &Func,
    args: Vec<TValue>,
    forms: Vec<ArgForm>,
    record: &mut dyn FnMut(ValuesRead),
) -> Result<TValue, CallError> {
    check_arity(func, args.len()).map_err(CallError::Arity)?;
    let Impl::Plain(run) = func.imp else {
        return Err(CallError::Returned(format!("{} must be run by the evaluator", func.name)));
    };
    // A values map consumed whole is a read of all of it: whoever tracks what a template depends
    // on (to know what a change of values can affect) must see it.
    if func.whole_maps {
        for arg in &args {
            if let (Kind::Map(_), Some(path)) = (arg.kind(), arg.values_path()) {
                record(ValuesRead { path: path.clone(), found: true });
            }
        }
    }
    let mut call = Call { name: func.name, args, forms, record };
    run(&mut call).map_err(|message| match message.strip_prefix(TYPE_ERROR) {
        Some(message) => CallError::Type(message.to_string()),
        None => CallError::Returned(message),
    })
}

/// Go's message when a call has the wrong number of arguments.
pub(crate) fn check_arity(func: &Func, got: usize) -> Result<(), String> {
    match func.arity {
        Arity::Exact(n) if got != n => Err(format!("wrong number of args for {}: want {n} got {got}", func.name)),
        Arity::AtLeast(n) if got < n => {
            Err(format!("wrong number of args for {}: want at least {n} got {got}", func.name))
        }
        _ => Ok(()),
    }
}

/// One call's arguments, with typed accessors. A missing argument reads as nil (only where the
/// arity allows it to be missing).
pub(crate) struct Call<'r> {
    pub(crate) name: &'static str,
    pub(crate) args: Vec<TValue>,
    forms: Vec<ArgForm>,
    record: &'r mut dyn FnMut(ValuesRead),
}

impl Call<'_> {
    pub(crate) fn len(&self) -> usize {
        self.args.len()
    }

    /// The argument itself (nil when absent).
    pub(crate) fn value(&self, i: usize) -> TValue {
        self.args.get(i).cloned().unwrap_or_else(TValue::null)
    }

    /// The argument as a string with its spans (`%v` for non-strings, empty for nil).
    pub(crate) fn traced(&self, i: usize) -> Traced {
        self.args.get(i).map(to_traced).unwrap_or_default()
    }

    /// The argument as a plain string.
    pub(crate) fn str(&self, i: usize) -> String {
        self.args.get(i).map(plain_string).unwrap_or_default()
    }

    /// The argument as spf13/cast's ToInt64 reads it.
    pub(crate) fn int(&self, i: usize) -> i64 {
        self.args.get(i).map_or(0, to_i64)
    }

    /// The argument as spf13/cast's ToFloat64 reads it.
    pub(crate) fn float(&self, i: usize) -> f64 {
        self.args.get(i).map_or(0.0, to_f64)
    }

    /// The items of a list argument (nil is empty); other kinds are sprig's error.
    pub(crate) fn list(&self, i: usize) -> Result<Vec<TValue>, String> {
        items(self.name, &self.value(i))
    }

    fn form(&self, i: usize) -> ArgForm {
        self.forms.get(i).copied().unwrap_or(ArgForm::Piped)
    }

    /// A map argument, or Go's conversion error naming what was given.
    pub(crate) fn map(&self, i: usize) -> Result<&MapCell, String> {
        match self.map_or_nil(i)? {
            Some(m) => Ok(m),
            None => Err("assignment to entry in nil map".into()),
        }
    }

    /// A map parameter as Go fills it: a nil from a pipeline or variable is the nil map (None);
    /// a missing key read directly (`.Values.missing`) is Go's conversion error.
    pub(crate) fn map_or_nil(&self, i: usize) -> Result<Option<&MapCell>, String> {
        let value = self.args.get(i);
        match value.map(TValue::kind) {
            Some(Kind::Map(m)) => Ok(Some(m)),
            None => Ok(None),
            Some(Kind::Null) => match self.form(i) {
                ArgForm::Field => {
                    Err(type_error("wrong type for value; expected map[string]interface {}; got interface {}".into()))
                }
                ArgForm::Literal | ArgForm::Piped => Ok(None),
            },
            Some(_) => Err(type_error(self.wrong_type(i, "map[string]interface {}"))),
        }
    }

    /// A bool parameter (`ternary`'s condition): Go converts nothing else.
    pub(crate) fn bool(&self, i: usize) -> Result<bool, String> {
        match self.args.get(i).map(TValue::kind) {
            Some(Kind::Bool(b)) => Ok(*b),
            _ => Err(type_error(self.wrong_type(i, "bool"))),
        }
    }

    /// Go's message for an argument of the wrong type: constants are named by their text.
    fn wrong_type(&self, i: usize, want: &str) -> String {
        let value = self.value(i);
        match self.form(i) {
            ArgForm::Literal => format!("expected {want}; found {}", plain_string(&value)),
            _ if value.is_null() => format!("invalid value; expected {want}"),
            _ => format!("wrong type for value; expected {want}; got {}", value.type_name()),
        }
    }

    /// Records that `key` was looked up on the values map `map` (found or not).
    pub(crate) fn record_key(&mut self, map: &TValue, key: &str, found: Option<&TValue>) {
        if let Some(path) = map.values_path() {
            (self.record)(ValuesRead { path: path.child(key), found: found.is_some_and(|v| !v.is_null()) });
        }
    }
}

/// spf13/cast's ToInt64: numbers truncate, numeric strings parse, everything else is 0.
pub(crate) fn to_i64(v: &TValue) -> i64 {
    match v.kind() {
        Kind::Int(i) => *i,
        Kind::Float(f) => *f as i64,
        Kind::Bool(b) => i64::from(*b),
        Kind::Str(t) => {
            let text = t.text.trim();
            text.parse::<i64>()
                .ok()
                .or_else(|| {
                    super::lex::parse_number(text).and_then(|n| match n {
                        super::lex::Number::Int(i) => Some(i),
                        super::lex::Number::Float(_) => None,
                    })
                })
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// spf13/cast's ToFloat64.
pub(crate) fn to_f64(v: &TValue) -> f64 {
    match v.kind() {
        Kind::Int(i) => *i as f64,
        Kind::Float(f) => *f,
        Kind::Bool(b) => f64::from(u8::from(*b)),
        Kind::Str(t) => t.text.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// The items of a list argument; sprig errors on anything else.
pub(crate) fn items(name: &str, v: &TValue) -> Result<Vec<TValue>, String> {
    match v.kind() {
        Kind::List(l) => Ok(l.clone()),
        Kind::ApiVersions(l) => Ok(l.iter().map(|s| TValue::str(s.clone())).collect()),
        Kind::Null => Ok(Vec::new()),
        _ => Err(list_error(name, v.type_name())),
    }
}

/// sprig's message when a list function is given something else.
fn list_error(name: &str, type_name: &str) -> String {
    let verb = name.strip_prefix("must").map_or(name.to_string(), |n| {
        let mut chars = n.chars();
        chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
    });
    match verb.as_str() {
        "push" | "append" => format!("Cannot push on type {type_name}"),
        "prepend" => format!("Cannot prepend on type {type_name}"),
        "compact" => format!("Cannot compact on type {type_name}"),
        "chunk" => format!("Cannot chunk type {type_name}"),
        "concat" => format!("Cannot concat type {type_name} as list"),
        "slice" => format!("list should be type of slice or array but {type_name}"),
        _ => format!("Cannot find {verb} on type {type_name}"),
    }
}

/// sprig's strslice: list items as strings, nils dropped; a single value as a one-item list.
pub(crate) fn strslice(v: &TValue) -> Vec<Traced> {
    match v.kind() {
        Kind::List(l) => l.iter().filter(|x| !x.is_null()).map(to_traced).collect(),
        Kind::ApiVersions(l) => l.iter().map(|x| Traced::plain(x.clone())).collect(),
        Kind::Null => Vec::new(),
        _ => vec![to_traced(v)],
    }
}

/// sprig's `empty`.
pub(crate) fn sprig_empty(v: &TValue) -> bool {
    !v.truthy()
}

/// Helm's tolerant parsers put their error in a map under "Error".
pub(crate) fn error_map(message: &str) -> TValue {
    TValue::map(vec![("Error".into(), TValue::str(message))])
}

pub(crate) fn bool_of(b: bool) -> Res {
    Ok(TValue::bool(b))
}

/// No string a function builds may be larger than this: `repeat`, `indent`, `printf` widths and
/// their kind would otherwise exhaust memory on a hostile chart. Helm has no such limit; a real
/// chart's largest rendered file is a few MiB.
pub(crate) const MAX_STRING_BYTES: usize = 64 << 20;

/// No list a function builds may hold more items than this (`until`, `seq`, `untilStep`).
pub(crate) const MAX_LIST_ITEMS: usize = 1 << 20;

/// The error for a string that would pass [`MAX_STRING_BYTES`].
pub(crate) fn check_size(bytes: u128) -> Result<(), String> {
    if bytes > MAX_STRING_BYTES as u128 {
        return Err(format!("rendered string larger than {} MiB (the engine's limit)", MAX_STRING_BYTES >> 20));
    }
    Ok(())
}

/// The error for a list that would pass [`MAX_LIST_ITEMS`].
pub(crate) fn check_items(items: u128) -> Result<(), String> {
    if items > MAX_LIST_ITEMS as u128 {
        return Err(format!("list longer than {MAX_LIST_ITEMS} items (the engine's limit)"));
    }
    Ok(())
}
