//! `--set a.b[0].c=x,d=y` and its siblings (`--set-string`, `--set-json`, `--set-file`,
//! `--set-literal`), parsed the way Helm's `pkg/strvals/parser.go` and `literal_parser.go` do, into
//! the values tree the other flags build.
//!
//! A port, not a redesign: the same escapes (`\,` `\.` `\=`), the same `{a,b}` lists, the same
//! type inference (`true`/`false`/`null`/ints without a leading zero; `1.5` stays a string), the
//! same limits (index 65536, 30 nested names) and the same partial writes before an error.

use crate::values::{Map, Value};

/// The largest list index `--set` accepts (Helm's `MaxIndex`).
pub const MAX_INDEX: usize = 65536;
/// The deepest dotted name `--set` accepts (Helm's `MaxNestedNameLevel`).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// How the text after `=` becomes a value.
#[derive(Clone, Copy)]
pub enum Mode<'r> {
    /// `--set`: `true`, `false`, `null` and plain integers are typed, everything else is a string.
    Typed,
    /// `--set-string`: every value is a string.
    String,
    /// `--set-json`: each value is one JSON document; an empty value is null.
    Json,
    /// `--set-file`: each value names a file whose text becomes the value.
    File(&'r dyn Fn(&str) -> Result<Value, String>),
    /// `--set-literal`: one key, and everything after its `=` is the value, a string: no commas,
    /// braces or escapes (a backslash stays a backslash, in the key too), as Helm's literal parser.
    Literal,
}

impl std::fmt::Debug for Mode<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Typed => "Typed",
            Mode::String => "String",
            Mode::Json => "Json",
            Mode::File(_) => "File",
            Mode::Literal => "Literal",
        })
    }
}

/// Why a parse stopped: the end of the line (not an error at the top level), Helm's "not a list"
/// signal inside `valList`, or a message.
enum Stop {
    End,
    NotList,
    Error(String),
}

type Step<T> = std::result::Result<T, Stop>;

/// Parses one `--set`-style line into `into`, overwriting keys it names. On an error, the keys
/// parsed before it stay set, as in Helm.
pub fn parse_into(line: &str, into: &mut Map, mode: Mode<'_>) -> Result<(), String> {
    let mut parser = Parser { chars: line.chars().collect(), at: 0, mode };
    loop {
        match parser.key(into, 0) {
            Ok(()) => {}
            Err(Stop::End) => return Ok(()),
            Err(Stop::NotList) => return Err("not a list".to_string()),
            Err(Stop::Error(message)) => return Err(message),
        }
    }
}

struct Parser<'r> {
    chars: Vec<char>,
    at: usize,
    mode: Mode<'r>,
}

fn err<T>(message: impl Into<String>) -> Step<T> {
    Err(Stop::Error(message.into()))
}

/// Go's name for the dynamic type of a value, as a failed interface conversion prints it.
fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// Helm's parser asserts the type of what is already there and recovers the panic into this message.
fn conversion(found: &Value, want: &str) -> Stop {
    Stop::Error(format!("unable to parse key: interface conversion: interface {{}} is {}, not {want}", go_type(found)))
}

fn set(data: &mut Map, key: &str, value: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), value);
    }
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "`index` is checked non-negative first and MAX_INDEX bounds it next, as Helm's setIndex does"
)]
fn set_index(mut list: Vec<Value>, index: i64, value: Value) -> Step<Vec<Value>> {
    if index < 0 {
        return err(format!("negative {index} index not allowed"));
    }
    let index = index as usize;
    if index > MAX_INDEX {
        return err(format!("index of {index} is greater than maximum supported index of {MAX_INDEX}"));
    }
    if list.len() <= index {
        list.resize(index + 1, Value::Null);
    }
    list[index] = value;
    Ok(list)
}

impl Parser<'_> {
    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.at).copied();
        if c.is_some() {
            self.at += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.at -= 1;
    }

    /// Characters up to the first unescaped one in `stop` (consumed, returned second; None at the
    /// end of the line). A backslash takes the next character literally (not in literal mode).
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        let escapes = !matches!(self.mode, Mode::Literal);
        loop {
            match self.read() {
                None => return (out, None),
                Some(c) if stop.contains(&c) => return (out, Some(c)),
                Some('\\') if escapes => match self.read() {
                    None => return (out, None),
                    Some(next) => out.push(next),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn convert(&self, text: &str) -> Step<Value> {
        match self.mode {
            Mode::Typed => Ok(typed(text)),
            Mode::String | Mode::Json | Mode::Literal => Ok(Value::String(text.to_string())),
            Mode::File(read) => read(text).map_err(Stop::Error),
        }
    }

    /// The rest of the line: a `--set-literal` value.
    fn rest(&mut self) -> String {
        let rest = self.chars[self.at..].iter().collect();
        self.at = self.chars.len();
        rest
    }

    fn key(&mut self, data: &mut Map, level: usize) -> Step<()> {
        let stop: &[char] = if matches!(self.mode, Mode::Literal) { &['=', '[', '.'] } else { &['=', '[', ',', '.'] };
        let (key, last) = self.until(stop);
        match last {
            None if key.is_empty() => Err(Stop::End),
            None => err(format!("key {key:?} has no value")),
            Some('[') => {
                let index = self.index().map_err(|e| match e {
                    Stop::Error(m) => Stop::Error(format!("error parsing index: {m}")),
                    other => other,
                })?;
                let list = match data.get(&key) {
                    Some(Value::List(l)) => l.clone(),
                    Some(other) => return Err(conversion(other, "[]interface {}")),
                    None => Vec::new(),
                };
                let (list, result) = self.list_item(list, index, level);
                set(data, &key, Value::List(list));
                result
            }
            Some('=') => {
                if matches!(self.mode, Mode::Literal) {
                    let value = self.rest();
                    set(data, &key, Value::String(value));
                    return Ok(());
                }
                if matches!(self.mode, Mode::Json) {
                    if self.empty_value() {
                        set(data, &key, Value::Null);
                        return Ok(());
                    }
                    let value = self.json_value()?;
                    set(data, &key, value);
                    self.empty_value();
                    return Ok(());
                }
                match self.value_list() {
                    Ok(list) => {
                        set(data, &key, Value::List(list));
                        Ok(())
                    }
                    Err(Stop::End) => {
                        set(data, &key, Value::String(String::new()));
                        Err(Stop::End)
                    }
                    Err(Stop::NotList) => {
                        let (text, _) = self.until(&[',']);
                        let value = self.convert(&text)?;
                        set(data, &key, value);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Some(',') => {
                set(data, &key, Value::String(String::new()));
                err(format!("key {key:?} has no value (cannot end with ,)"))
            }
            Some(_) => {
                // '.': a nested map.
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return err(format!(
                        "value name nested level is greater than maximum supported nested level of \
                         {MAX_NESTED_NAME_LEVEL}"
                    ));
                }
                let mut inner = match data.get(&key) {
                    Some(Value::Map(m)) => m.clone(),
                    Some(other) => return Err(conversion(other, "map[string]interface {}")),
                    None => Map::new(),
                };
                let result = self.key(&mut inner, level);
                if result.is_ok() && inner.is_empty() {
                    return err(format!("key map {key:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, &key, Value::Map(inner));
                }
                result
            }
        }
    }

    /// The number inside `[...]`, as Go's `strconv.Atoi` reads it.
    fn index(&mut self) -> Step<i64> {
        let (text, last) = self.until(&[']']);
        if last.is_none() {
            return Err(Stop::End);
        }
        text.parse::<i64>().or_else(|_| err(format!("strconv.Atoi: parsing {text:?}: invalid syntax")))
    }

    /// What follows `name[i]`: `=value`, another `[j]`, or `.key...`. Returns the list as far as
    /// it was built, with the outcome.
    fn list_item(&mut self, list: Vec<Value>, index: i64, level: usize) -> (Vec<Value>, Step<()>) {
        if index < 0 {
            return (list, err(format!("negative {index} index not allowed")));
        }
        let (rest, last) = self.until(&['[', '.', '=']);
        if !rest.is_empty() {
            return (list, err(format!("unexpected data at end of array index: {rest:?}")));
        }
        let done = |result: Step<Vec<Value>>, list: Vec<Value>| match result {
            Ok(l) => (l, Ok(())),
            Err(e) => (list, Err(e)),
        };
        match last {
            None => (list, Err(Stop::End)),
            Some('=') => {
                if matches!(self.mode, Mode::Literal) {
                    let value = self.rest();
                    return done(set_index(list.clone(), index, Value::String(value)), list);
                }
                if matches!(self.mode, Mode::Json) {
                    if self.empty_value() {
                        return done(set_index(list.clone(), index, Value::Null), list);
                    }
                    let value = match self.json_value() {
                        Ok(v) => v,
                        Err(e) => return (list, Err(e)),
                    };
                    return match set_index(list.clone(), index, value) {
                        Ok(l) => {
                            self.empty_value();
                            (l, Ok(()))
                        }
                        Err(e) => (list, Err(e)),
                    };
                }
                match self.value_list() {
                    Ok(values) => done(set_index(list.clone(), index, Value::List(values)), list),
                    Err(Stop::End) => done(set_index(list.clone(), index, Value::String(String::new())), list),
                    Err(Stop::NotList) => {
                        let (text, _) = self.until(&[',']);
                        match self.convert(&text) {
                            Ok(value) => done(set_index(list.clone(), index, value), list),
                            Err(e) => (list, Err(e)),
                        }
                    }
                    Err(e) => (list, Err(e)),
                }
            }
            Some('[') => {
                let next = match self.index() {
                    Ok(n) => n,
                    Err(Stop::Error(m)) => return (list, err(format!("error parsing index: {m}"))),
                    Err(e) => return (list, Err(e)),
                };
                let current = match usize::try_from(index).ok().and_then(|i| list.get(i)) {
                    Some(Value::List(l)) => l.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => {
                        let e = conversion(other, "[]interface {}");
                        return (list, Err(e));
                    }
                };
                let (inner, result) = self.list_item(current, next, level);
                if let Err(e) = result {
                    return (list, Err(e));
                }
                done(set_index(list.clone(), index, Value::List(inner)), list)
            }
            Some(_) => {
                // '.': a map inside the list; a non-map there (indices out of order) starts afresh.
                let mut inner = match usize::try_from(index).ok().and_then(|i| list.get(i)) {
                    Some(Value::Map(m)) => m.clone(),
                    _ => Map::new(),
                };
                if let Err(e) = self.key(&mut inner, level) {
                    return (list, Err(e));
                }
                done(set_index(list.clone(), index, Value::Map(inner)), list)
            }
        }
    }

    /// Skips blanks; true at the end of the line or a comma (consumed), false before anything else.
    fn empty_value(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    /// One JSON document from here; the rest of the line stays unread.
    fn json_value(&mut self) -> Step<Value> {
        let rest: String = self.chars[self.at..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let used = rest[..stream.byte_offset()].chars().count();
                self.at += used;
                Ok(from_json(&value))
            }
            Some(Err(e)) => err(e.to_string()),
            None => err("unexpected end of JSON input"),
        }
    }

    /// `{a,b,c}` after `=`; `NotList` (nothing consumed) when the value does not open with `{`.
    fn value_list(&mut self) -> Step<Vec<Value>> {
        match self.read() {
            None => return Err(Stop::End),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(Stop::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            match self.until(&[',', '}']) {
                (_, None) => return err("list must terminate with '}'"),
                (text, Some('}')) => {
                    if let Some(c) = self.read() {
                        if c != ',' {
                            self.unread();
                        }
                    }
                    list.push(self.convert(&text)?);
                    return Ok(list);
                }
                (text, Some(_)) => list.push(self.convert(&text)?),
            }
        }
    }
}

/// Helm's `typedVal` for `--set`.
pub fn typed(text: &str) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::Int(0);
    }
    if !text.is_empty() && !text.starts_with('0') {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
    }
    Value::String(text.to_string())
}

/// A JSON document as values: numbers are floats, as Go's `encoding/json` decodes them.
pub fn from_json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    //! Cases from Helm's `pkg/strvals/parser_test.go`, restated as values trees.
    use super::*;

    fn parse(line: &str, mode: Mode<'_>) -> Result<Value, String> {
        let mut map = Map::new();
        parse_into(line, &mut map, mode).map(|()| Value::Map(map))
    }

    fn yaml(text: &str) -> Value {
        crate::yaml::parse(text, "expected").unwrap()
    }

    #[test]
    fn a_values_path_as_text_is_a_set_key_with_the_same_steps() {
        // The text of a values path is what users paste after `--set`: a key with a dot in it
        // is escaped, and Helm's parser reads the escape back as one key.
        let path = crate::values::ValuesPath::root().child("images").child("app.main").child("x=y").child("tag");
        let got = parse(&format!("{path}=v1"), Mode::String).unwrap();
        assert_eq!(got.get(&path), Some(&Value::String("v1".into())));
        assert_eq!(got, yaml("images:\n  app.main:\n    x=y:\n      tag: v1\n"));
    }

    fn typed_ok(line: &str, want: &str) {
        assert_eq!(parse(line, Mode::Typed), Ok(yaml(want)), "{line}");
    }

    #[test]
    fn scalars_are_typed_like_helm_and_set_string_keeps_text() {
        typed_ok("name1=null,f=false,t=true", "{name1: null, f: false, t: true}");
        typed_ok("leading_zeros=00009", "{leading_zeros: '00009'}");
        typed_ok("zero_int=0,long_int=1234567890", "{zero_int: 0, long_int: 1234567890}");
        typed_ok("float=1.5,upper=TRUE", "{float: '1.5', upper: true}");
        typed_ok("name1=,name2=value2", "{name1: '', name2: value2}");
        for (line, want) in [
            ("long_int_string=1234567890", "{long_int_string: '1234567890'}"),
            ("boolean=true", "{boolean: 'true'}"),
            ("is_null=null", "{is_null: 'null'}"),
            ("zero=0", "{zero: '0'}"),
        ] {
            assert_eq!(parse(line, Mode::String), Ok(yaml(want)), "{line}");
        }
    }

    #[test]
    fn commas_escapes_and_spaces() {
        typed_ok("name1=value1,name2=value2,", "{name1: value1, name2: value2}");
        typed_ok(r"name1=one\,two,name2=three\,four", "{name1: 'one,two', name2: 'three,four'}");
        typed_ok(r"name1=one\=two", "{name1: one=two}");
        typed_ok("name1=one two three", "{name1: one two three}");
        typed_ok(r"a\.b=1,nodeSelector.kubernetes\.io/os=linux", "{a.b: 1, nodeSelector: {kubernetes.io/os: linux}}");
    }

    #[test]
    fn dotted_names_nest_maps() {
        typed_ok("outer.middle.inner=value", "{outer: {middle: {inner: value}}}");
        typed_ok("outer.inner1=value,outer.middle.inner=value", "{outer: {inner1: value, middle: {inner: value}}}");
        typed_ok("name1.name2=", "{name1: {name2: ''}}");
    }

    #[test]
    fn braces_make_lists() {
        typed_ok("name1={value1,value2},name2={1021,902}", "{name1: [value1, value2], name2: [1021, 902]}");
        typed_ok("name1.name2={value1,value2}", "{name1: {name2: [value1, value2]}}");
    }

    #[test]
    fn indexes_fill_lists_with_nulls_and_nest() {
        typed_ok("list[0]=foo,list[1]=bar,", "{list: [foo, bar]}");
        typed_ok("list[0]=foo,list[3]=bar", "{list: [foo, null, null, bar]}");
        typed_ok("list[0].foo=bar,list[0].hello=world", "{list: [{foo: bar, hello: world}]}");
        typed_ok("noval[0]", "{noval: []}");
        typed_ok("noval[0]=", "{noval: ['']}");
        typed_ok("nested[1][1]=1", "{nested: [null, [null, 1]]}");
        typed_ok("name1.name2[1].foo=bar,name1.name2[0].foo=bar", "{name1: {name2: [{foo: bar}, {foo: bar}]}}");
        typed_ok("name1.name2[1].foo=bar", "{name1: {name2: [null, {foo: bar}]}}");
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            "name1=value1,,,,name2=value2,",
            "name1,name2=",
            "name1,name2=value2",
            "name1,name2=value2\\",
            "name1,name2",
            "name1.name2",
            "name1.name2,name1.name3",
            "name1.=name2",
            "name1.,name2",
            "name1={1021,902",
            "list[0].foo=bar,list[-30].hello=world",
            "list[0]=foo,list[-20]=bar",
            "illegal[0]name.foo=bar",
            "]={}].",
            "list[x]=1",
        ] {
            assert!(parse(line, Mode::Typed).is_err(), "{line} should fail");
        }
        // 31 dots: one more than Helm allows (30 dots, 31 names, is fine).
        assert!(parse(&((0..31).map(|i| format!("k{i}")).collect::<Vec<_>>().join(".") + "=1"), Mode::Typed).is_ok());
        let deep = (0..32).map(|i| format!("k{i}")).collect::<Vec<_>>().join(".") + "=1";
        assert!(parse(&deep, Mode::Typed).unwrap_err().contains("nested level"));
        assert!(parse("a[65537]=1", Mode::Typed).unwrap_err().contains("maximum supported index of 65536"));
    }

    #[test]
    fn parse_into_overwrites_and_keeps_other_keys() {
        let Value::Map(mut base) = yaml("outer: {inner1: overwrite, inner2: value2}") else { panic!() };
        parse_into("outer.inner1=value1,outer.inner3=value3,outer.inner4=4", &mut base, Mode::Typed).unwrap();
        assert_eq!(Value::Map(base), yaml("outer: {inner1: value1, inner2: value2, inner3: value3, inner4: 4}"));

        let mut base = Map::new();
        parse_into("listOuter[0][0].type=listValue", &mut base, Mode::Typed).unwrap();
        parse_into("listOuter[0][0].status=alive", &mut base, Mode::Typed).unwrap();
        assert_eq!(Value::Map(base), yaml("listOuter: [[{type: listValue, status: alive}]]"));

        let Value::Map(mut base) = yaml("listOuter: [[[{exited: old}]]]") else { panic!() };
        parse_into("listOuter[0][1][0].type=listValue", &mut base, Mode::Typed).unwrap();
        parse_into("listOuter[0][0][1].status=alive", &mut base, Mode::Typed).unwrap();
        assert_eq!(Value::Map(base), yaml("listOuter: [[[{exited: old}, {status: alive}], [{type: listValue}]]]"));
    }

    #[test]
    fn a_key_of_the_wrong_type_is_an_error_naming_both_types() {
        let Value::Map(mut base) = yaml("image: nginx") else { panic!() };
        let e = parse_into("image.tag=1", &mut base, Mode::Typed).unwrap_err();
        assert_eq!(e, "unable to parse key: interface conversion: interface {} is string, not map[string]interface {}");
    }

    #[test]
    fn json_values_are_documents_and_empty_is_null() {
        assert_eq!(
            parse(r#"outer.inner1="value1",outer.inner3=["a",2],e=,m={"k":true}"#, Mode::Json),
            Ok(yaml("{outer: {inner1: value1, inner3: [a, 2.0]}, e: null, m: {k: true}}"))
        );
        assert_eq!(parse("list[0]={\"a\":1}", Mode::Json), Ok(yaml("{list: [{a: 1.0}]}")));
        assert!(parse("a={", Mode::Json).is_err());
    }

    #[test]
    fn literal_values_keep_commas_braces_and_backslashes() {
        // Cases from Helm's `literal_parser_test.go`, restated.
        let literal = |line: &str| parse(line, Mode::Literal);
        assert_eq!(literal("name=value1,value2"), Ok(yaml("{name: 'value1,value2'}")));
        assert_eq!(literal("a.b={x,y}"), Ok(yaml("{a: {b: '{x,y}'}}")));
        assert_eq!(literal(r"a\.b=c\,d"), Ok(yaml(r"{'a\': {b: 'c\,d'}}")));
        assert_eq!(literal("k=true"), Ok(yaml("{k: 'true'}")));
        assert_eq!(literal("k="), Ok(yaml("{k: ''}")));
        assert_eq!(literal("k=a=b.c[0]"), Ok(yaml("{k: 'a=b.c[0]'}")));
        assert_eq!(literal("list[1]=x,y"), Ok(yaml("{list: [null, 'x,y']}")));
        assert_eq!(literal("list[0].name=n,m"), Ok(yaml("{list: [{name: 'n,m'}]}")));
        assert_eq!(literal("noval[0]"), Ok(yaml("{noval: []}")));
        assert_eq!(literal("name"), Err(r#"key "name" has no value"#.to_string()));
        assert_eq!(literal("a.=x"), Err(r#"key map "a" has no value"#.to_string()));
        assert!(literal("list[-1]=x").unwrap_err().contains("negative -1 index not allowed"));
        let Value::Map(mut base) = yaml("image: nginx") else { panic!() };
        let e = parse_into("image.tag=1", &mut base, Mode::Literal).unwrap_err();
        assert_eq!(e, "unable to parse key: interface conversion: interface {} is string, not map[string]interface {}");
    }

    #[test]
    fn file_values_read_the_named_file() {
        let read = |name: &str| -> Result<Value, String> { Ok(Value::String(format!("<{name}>"))) };
        assert_eq!(parse("a=x.txt,b.c=y", Mode::File(&read)), Ok(yaml("{a: <x.txt>, b: {c: <y>}}")));
    }
}
