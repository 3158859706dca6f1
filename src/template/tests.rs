//! Tests of the template engine: parsing, Go semantics, sprig and Helm functions, provenance.

use std::collections::BTreeMap;

use super::*;
use crate::values::Value;

fn yaml_value(v: &serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::List(items.iter().map(yaml_value).collect()),
        Y::Mapping(m) => Value::Map(m.iter().map(|(k, v)| (k.as_str().unwrap().to_string(), yaml_value(v))).collect()),
        Y::Tagged(t) => yaml_value(&t.value),
    }
}

/// Values from YAML; empty text is an empty map, as Helm's `.Values` always is.
fn values(yaml: &str) -> Value {
    match yaml_value(&serde_yaml::from_str(yaml).unwrap()) {
        Value::Null => Value::Map(Default::default()),
        v => v,
    }
}

/// The top-level dot Helm builds: .Values traced from the root, .Chart with a traced appVersion.
fn dot(values_yaml: &str) -> TValue {
    let chart = TValue::map(vec![
        ("Name".into(), TValue::plain(&Value::String("demo".into()))),
        (
            "AppVersion".into(),
            TValue::with_origin(
                &Value::String("2.4.1".into()),
                Origin::Chart { chart: "demo".into(), field: "appVersion".into() },
            ),
        ),
    ]);
    let release = TValue::map(vec![
        ("Name".into(), TValue::plain(&Value::String("rel".into()))),
        ("Namespace".into(), TValue::plain(&Value::String("default".into()))),
    ]);
    let mut files = BTreeMap::new();
    files.insert("files/a.conf".to_string(), b"alpha=1\nbeta=2".to_vec());
    files.insert("files/b.conf".to_string(), b"gamma=3".to_vec());
    files.insert("other/c.txt".to_string(), b"c".to_vec());
    TValue::map(vec![
        ("Values".into(), TValue::helm_values(&std::sync::Arc::new(values(values_yaml)), &ValuesPath::root())),
        ("Chart".into(), chart),
        ("Release".into(), release),
        ("Files".into(), TValue::files(std::sync::Arc::new(files))),
        ("Capabilities".into(), TValue::capabilities("v1.31.2", vec!["apps/v1".into(), "policy/v1".into()])),
    ])
}

#[test]
fn repeatable_renders_make_every_rsa_key_one_small_key() {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let bits = |pem: &str| rsa::RsaPrivateKey::from_pkcs1_pem(pem).expect("PKCS#1 PEM").n().bits();
    let src = r#"{{ genPrivateKey "rsa" }}|{{ (genCA "ca" 365).Key }}"#;
    let out = crate::template::with_repeatable_random(7, || run(src, "n: 3"));
    let (own, ca) = out.split_once('|').unwrap();
    assert_eq!((bits(own), bits(ca)), (1024, 1024));
    // Outside them (`template`), genCA's key is sprig's 2048 bits.
    let ca = run(r#"{{ (genCA "ca" 365).Key }}"#, "n: 3");
    assert_eq!(bits(&ca), 2048);
}

fn render_with(templates: &[(&str, &str)], name: &str, dot: &TValue) -> Result<RenderOutput, TemplateError> {
    let mut engine = Engine::new();
    for (n, src) in templates {
        engine.add(n, src)?;
    }
    engine.render(name, dot)
}

fn run(src: &str, values_yaml: &str) -> String {
    render_with(&[("t.yaml", src)], "t.yaml", &dot(values_yaml)).unwrap_or_else(|e| panic!("{src}: {e}")).text.text
}

fn run_err(src: &str, values_yaml: &str) -> TemplateError {
    render_with(&[("t.yaml", src)], "t.yaml", &dot(values_yaml)).expect_err(src)
}

/// (values path or chart field, covered text, offset) for each span.
fn spans(t: &Traced) -> Vec<(String, String, usize)> {
    t.spans
        .iter()
        .map(|s| {
            let origin = match &s.origin {
                Origin::Values(p) => p.to_string(),
                Origin::Chart { chart, field } => format!("{chart}:{field}"),
            };
            (origin, t.text[s.range.clone()].to_string(), s.offset)
        })
        .collect()
}

fn sp(origin: &str, text: &str, offset: usize) -> (String, String, usize) {
    (origin.to_string(), text.to_string(), offset)
}

// ---------------------------------------------------------------- parsing and Go semantics

#[test]
fn trim_markers_remove_whitespace_on_their_side_only() {
    assert_eq!(run("a  {{- \"b\" -}}  \n c", ""), "abc");
    assert_eq!(run("a  {{ \"b\" -}}  \n c", ""), "a  bc");
    assert_eq!(run("a\n  {{- \"b\" }}  c", ""), "ab  c");
    assert_eq!(run("x {{- /* note */ -}} y", ""), "xy");
    assert_eq!(run("x {{/* note\nspans lines */}} y", ""), "x  y");
    // `{{-3}}` is a number, not a trim marker.
    assert_eq!(run("a {{-3}}", ""), "a -3");
}

#[test]
fn literals_strings_raw_chars_numbers_nil_and_bools() {
    assert_eq!(
        run(r#"{{ "a\tb\"c" }}|{{ `raw\n` }}|{{ 'a' }}|{{ 0x1F }}|{{ 1.5 }}|{{ -2 }}|{{ true }}"#, ""),
        "a\tb\"c|raw\\n|97|31|1.5|-2|true"
    );
    assert_eq!(run("{{ 1e3 }}|{{ 0o17 }}|{{ 1_000 }}", ""), "1000|15|1000");
    assert_eq!(run("{{ print nil }}", ""), "<nil>");
}

#[test]
fn if_else_if_else_chains() {
    let src = "{{ if eq .Values.n 1.0 }}one{{ else if eq .Values.n 2.0 }}two{{ else }}many{{ end }}";
    assert_eq!(run(src, "n: 1"), "one");
    assert_eq!(run(src, "n: 2"), "two");
    assert_eq!(run(src, "n: 5"), "many");
}

#[test]
fn range_over_lists_maps_ints_with_else_break_and_continue() {
    assert_eq!(run("{{ range $i, $v := .Values.l }}{{ $i }}={{ $v }};{{ end }}", "l: [a, b]"), "0=a;1=b;");
    assert_eq!(run("{{ range .Values.l }}{{ . }}{{ end }}", "l: [x, y]"), "xy");
    assert_eq!(run("{{ range $k, $v := .Values.m }}{{ $k }}:{{ $v }} {{ end }}", "m: {b: 2, a: 1}"), "a:1 b:2 ");
    assert_eq!(run("{{ range .Values.l }}x{{ else }}empty{{ end }}", "l: []"), "empty");
    assert_eq!(run("{{ range .Values.missing }}x{{ else }}none{{ end }}", ""), "none");
    assert_eq!(run("{{ range 3 }}{{ . }}{{ end }}", ""), "012");
    let src = "{{ range .Values.l }}{{ if eq . \"skip\" }}{{ continue }}{{ end }}{{ if eq . \"stop\" }}{{ break }}{{ end }}{{ . }},{{ end }}";
    assert_eq!(run(src, "l: [a, skip, b, stop, c]"), "a,b,");
    assert_eq!(run("{{ range $v := .Values.l }}{{ $v }}{{ end }}", "l: [p, q]"), "pq");
}

#[test]
fn with_else_with_else() {
    let src = "{{ with .Values.a }}a={{ . }}{{ else with .Values.b }}b={{ . }}{{ else }}none{{ end }}";
    assert_eq!(run(src, "a: 1"), "a=1");
    assert_eq!(run(src, "b: 2"), "b=2");
    assert_eq!(run(src, "c: 3"), "none");
}

#[test]
fn variables_declare_assign_scope_and_root() {
    let src = "{{ $x := \"a\" }}{{ if true }}{{ $x = \"b\" }}{{ $y := 1 }}{{ end }}{{ $x }}";
    assert_eq!(run(src, ""), "b");
    assert_eq!(run("{{ with .Values.m }}{{ $.Release.Name }}/{{ .k }}{{ end }}", "m: {k: v}"), "rel/v");
    assert!(run_err("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", "").to_string().contains("undefined variable"));
}

#[test]
fn pipelines_parentheses_and_chained_fields() {
    assert_eq!(run("{{ \"abc\" | upper | printf \"%s!\" }}", ""), "ABC!");
    assert_eq!(run("{{ (dict \"a\" (dict \"b\" \"deep\")).a.b }}", ""), "deep");
    let tpls =
        [("t.yaml", "{{ (include \"cfg\" . | fromYaml).port }}"), ("_h.tpl", "{{ define \"cfg\" }}port: 80{{ end }}")];
    assert_eq!(render_with(&tpls, "t.yaml", &dot("")).unwrap().text.text, "80");
}

#[test]
fn define_template_and_block() {
    let tpls = [
        ("_h.tpl", "{{- define \"greet\" -}}hi {{ . }}{{- end -}}"),
        ("t.yaml", "{{ template \"greet\" \"bob\" }}|{{ block \"fallback\" . }}default{{ end }}"),
    ];
    assert_eq!(render_with(&tpls, "t.yaml", &dot("")).unwrap().text.text, "hi bob|default");
    // A later define of the same name replaces the earlier one.
    let tpls = [
        ("a.tpl", "{{ define \"x\" }}one{{ end }}"),
        ("b.tpl", "{{ define \"x\" }}two{{ end }}"),
        ("t.yaml", "{{ include \"x\" . }}"),
    ];
    assert_eq!(render_with(&tpls, "t.yaml", &dot("")).unwrap().text.text, "two");
}

#[test]
fn missing_keys_print_empty_and_nil_field_access_errors_like_go() {
    assert_eq!(run("[{{ .Values.nope }}]", ""), "[]");
    let err = run_err("line1\n{{ .Values.image.repository }}", "");
    assert_eq!(
        err,
        TemplateError::Exec {
            template: "t.yaml".into(),
            line: 2,
            message: "nil pointer evaluating interface {}.repository".into()
        }
    );
    assert_eq!(run("{{ (.Values.image | default dict).repository }}", ""), "");
    let err = run_err("{{ .Values.s.x }}", "s: str");
    assert!(err.to_string().contains("can't evaluate field x in type string"), "{err}");
}

#[test]
fn a_nil_out_of_a_pipeline_has_empty_fields_as_in_go() {
    // Go turns a nil leaving a pipeline into an invalid value whose fields are empty: the
    // `(.Values.x).y` idiom real charts use (prometheus-mysql-exporter's resources.limits).
    assert_eq!(run("[{{ (.Values.resources.limits).cpu }}]", "resources: {}"), "[]");
    assert_eq!(run("{{ $x := .Values.nope }}[{{ $x.a.b }}]", ""), "[]");
    // A nil straight from a map lookup still fails further down the same chain.
    assert!(run_err("{{ (.Values.resources).limits.cpu }}", "resources: {}").to_string().contains("nil pointer"));
}

#[test]
fn and_or_short_circuit_and_return_the_deciding_operand() {
    assert_eq!(run("{{ or .Values.a .Values.b \"c\" }}", "b: bee"), "bee");
    assert_eq!(run("{{ and \"x\" 0 \"y\" }}", ""), "0");
    assert_eq!(run("{{ and \"x\" \"y\" }}", ""), "y");
    // Short circuit: the nil access on the right is never evaluated.
    assert_eq!(run("{{ if and .Values.img .Values.img.tag }}t{{ else }}f{{ end }}", ""), "f");
    assert_eq!(run("{{ not 0 }}{{ not \"x\" }}", ""), "truefalse");
}

#[test]
fn comparisons_follow_go() {
    assert_eq!(
        run("{{ eq \"b\" \"a\" \"b\" }}{{ ne 1 2 }}{{ lt 1 2 }}{{ ge \"b\" \"a\" }}{{ le 2.5 2.5 }}", ""),
        "truetruetruetruetrue"
    );
    assert_eq!(run("{{ eq .Values.missing \"x\" }}", ""), "false");
    let err = run_err("{{ eq .Values.n 1 }}", "n: 1");
    assert!(err.to_string().contains("incompatible types for comparison"), "{err}");
    assert!(run_err("{{ lt nil 1 }}", "").to_string().contains("invalid type for comparison"));
}

#[test]
fn builtins_len_index_slice_print_html_js_urlquery() {
    assert_eq!(run("{{ len .Values.l }}{{ len \"abc\" }}{{ len .Values.m }}", "l: [1, 2]\nm: {a: 1}"), "231");
    assert_eq!(
        run("{{ index .Values.m \"a\" \"b\" }}|{{ index .Values.l 1 }}", "m: {a: {b: deep}}\nl: [x, y]"),
        "deep|y"
    );
    assert!(run_err("{{ index .Values.l 5 }}", "l: [x]").to_string().contains("index out of range: 5"));
    // sprig's `slice` replaces Go's builtin and takes lists only (checked against Helm v4.1.4).
    assert_eq!(run("{{ slice .Values.l 1 }}", "l: [a, b, c]"), "[b c]");
    assert!(run_err("{{ slice \"hello\" 1 3 }}", "")
        .to_string()
        .contains("list should be type of slice or array but string"));
    assert_eq!(run("{{ print 1 2 \"a\" 3 \"b\" \"c\" }}", ""), "1 2a3bc");
    assert_eq!(run("{{ println \"a\" 1 }}", ""), "a 1\n");
    assert_eq!(run("{{ html \"<a href='x'>&</a>\" }}", ""), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
    assert_eq!(run("{{ js \"it's <b>\" }}", ""), "it\\'s \\u003Cb\\u003E");
    assert_eq!(run("{{ urlquery \"a b&c\" }}", ""), "a+b%26c");
    assert!(matches!(run_err("{{ len nil }}", ""), TemplateError::Exec { .. }));
}

#[test]
fn printing_maps_lists_and_floats_as_go_does() {
    assert_eq!(run("{{ .Values.m }}", "m: {b: [x, y], a: 1}"), "map[a:1 b:[x y]]");
    assert_eq!(
        run("{{ .Values.big }} {{ .Values.small }} {{ .Values.f }}", "big: 12345678\nsmall: 123456\nf: 1.25"),
        "1.2345678e+07 123456 1.25"
    );
    assert_eq!(run("{{ list 1 nil \"a\" }}", ""), "[1 <nil> a]");
}

#[test]
fn printf_verbs_widths_and_errors() {
    let cases = [
        (r#"{{ printf "%s-%v" "a" 1 }}"#, "a-1"),
        (r#"{{ printf "%d|%5d|%-4d|%05d" 42 42 42 42 }}"#, "42|   42|42  |00042"),
        (r#"{{ printf "%q %t" "x\"y" true }}"#, r#""x\"y" true"#),
        (r#"{{ printf "%.2f|%f|%x|%X|%o" 3.14159 1.5 255 255 8 }}"#, "3.14|1.500000|ff|FF|10"),
        (r#"{{ printf "%5s|%-5s|%.2s" "ab" "ab" "abcdef" }}"#, "   ab|ab   |ab"),
        (r#"{{ printf "%d" 1.5 }}"#, "%!d(float64=1.5)"),
        (r#"{{ printf "%s %s" "a" }}"#, "a %!s(MISSING)"),
        (r#"{{ printf "%s" "a" "b" }}"#, "a%!(EXTRA string=b)"),
        (r#"{{ printf "100%%" }}"#, "100%"),
        (r#"{{ printf "%v" .Values.m }}"#, "map[k:v]"),
        (r#"{{ printf "%s" nil }}"#, "%!s(<nil>)"),
    ];
    for (src, want) in cases {
        assert_eq!(run(src, "m: {k: v}"), want, "{src}");
    }
}

#[test]
fn unknown_function_is_a_parse_error_naming_it() {
    let mut engine = Engine::new();
    let err = engine.add("t.yaml", "ok\n{{ frobnicate .Values }}").unwrap_err();
    assert_eq!(
        err,
        TemplateError::Parse {
            template: "t.yaml".into(),
            line: 2,
            message: "function \"frobnicate\" not defined".into()
        }
    );
}

#[test]
fn syntax_errors_are_parse_errors() {
    let mut engine = Engine::new();
    for src in
        ["{{ if true }}x", "{{ end }}", "{{ \"unterminated }}", "{{ range }}{{ end }}", "{{ break }}", "{{ .a | }}"]
    {
        assert!(matches!(engine.add("t", src), Err(TemplateError::Parse { .. })), "{src}");
    }
}

#[test]
fn fail_reports_the_reads_of_the_innermost_define() {
    let tpls = [
        (
            "_h.tpl",
            r#"{{ define "outer" }}{{ .Values.outerKey }}{{ include "check" . }}{{ end }}
{{ define "check" }}{{ if not .Values.global.allowInsecure }}{{ if .Values.image.custom }}{{ fail "custom images need allowInsecure" }}{{ end }}{{ end }}{{ end }}"#,
        ),
        ("t.yaml", "{{ include \"outer\" . }}"),
    ];
    let err = render_with(&tpls, "t.yaml", &dot("global: {}\nimage: {custom: true}")).unwrap_err();
    let TemplateError::Fail { message, reads, template, line, col } = err else { panic!("{err:?}") };
    assert_eq!(message, "custom images need allowInsecure");
    // Where Helm points: the outermost call, the include in t.yaml (its `include` at byte 3).
    assert_eq!((template.as_str(), line, col), ("t.yaml", 1, 3));
    assert_eq!(
        reads,
        vec![
            ValuesRead { path: ValuesPath::parse("global"), found: true },
            ValuesRead { path: ValuesPath::parse("global.allowInsecure"), found: false },
            ValuesRead { path: ValuesPath::parse("image"), found: true },
            ValuesRead { path: ValuesPath::parse("image.custom"), found: true },
        ]
    );
}

#[test]
fn required_fails_on_nil_and_empty_strings() {
    assert_eq!(run("{{ required \"need x\" .Values.x }}", "x: ok"), "ok");
    let err = run_err("{{ required \"need x\" .Values.x }}", "x: ''");
    assert!(matches!(&err, TemplateError::Fail { message, .. } if message == "need x"), "{err:?}");
    assert!(matches!(run_err("{{ required \"need y\" .Values.y }}", ""), TemplateError::Fail { .. }));
}

#[test]
fn reads_are_recorded_once_in_first_read_order() {
    let out = render_with(
        &[("t.yaml", "{{ .Values.b }}{{ .Values.a.x }}{{ .Values.b }}{{ hasKey .Values \"c\" }}{{ get .Values.a \"y\" }}{{ dig \"a\" \"z\" \"d\" .Values }}")],
        "t.yaml",
        &dot("a: {x: 1}\nb: null"),
    )
    .unwrap();
    let reads: Vec<(String, bool)> = out.reads.iter().map(|r| (r.path.to_string(), r.found)).collect();
    let want = [("b", false), ("a", true), ("a.x", true), ("c", false), ("a.y", false), ("a.z", false)];
    assert_eq!(reads, want.iter().map(|(p, f)| (p.to_string(), *f)).collect::<Vec<_>>());
}

// ---------------------------------------------------------------- sprig

#[test]
fn sprig_strings() {
    let cases = [
        (
            r#"{{ trim "  a b  " }}|{{ trimAll "-" "--a--" }}|{{ trimPrefix "v" "v1.2" }}|{{ trimSuffix "-x" "a-x" }}"#,
            "a b|a|1.2|a",
        ),
        (
            r#"{{ upper "ab" }}{{ lower "CD" }}|{{ title "hello world" }}|{{ untitle "Hello World" }}"#,
            "ABcd|Hello World|hello world",
        ),
        (
            r#"{{ repeat 3 "ab" }}|{{ substr 1 3 "hello" }}|{{ nospace "a b c" }}|{{ trunc 3 "abcdef" }}|{{ trunc -2 "abcdef" }}"#,
            "ababab|el|abc|abc|ef",
        ),
        (
            r#"{{ abbrev 5 "hello world" }}|{{ initials "foo bar" }}|{{ contains "b" "abc" }}|{{ hasPrefix "a" "abc" }}|{{ hasSuffix "c" "abc" }}"#,
            "he...|fb|true|true|true",
        ),
        (
            r#"{{ quote "a\"b" }}|{{ squote "x" }}|{{ quote .Values.missing }}|{{ cat "a" 1 nil "b" }}"#,
            r#""a\"b"|'x'||a 1 b"#,
        ),
        (
            r#"{{ replace "." "-" "a.b.c" }}|{{ plural "one" "many" 2 }}|{{ snakecase "FooBarBaz" }}|{{ camelcase "foo_bar" }}|{{ kebabcase "FooBar" }}"#,
            "a-b-c|many|foo_bar_baz|FooBar|foo-bar",
        ),
        (
            r#"{{ $p := split "/" "a/b/c" }}{{ $p._1 }}|{{ splitList "," "x,y" }}|{{ $q := splitn ":" 2 "a:b:c" }}{{ $q._1 }}|{{ join "," (list "a" 1 nil "b") }}"#,
            "b|[x y]|b:c|a,1,b",
        ),
        (
            r#"{{ sortAlpha (list "b" "a" "c") }}|{{ toString 12 }}|{{ toStrings (list 1 "x") }}|{{ swapcase "aB" }}"#,
            "[a b c]|12|[1 x]|Ab",
        ),
        (
            r#"{{ regexMatch "^v[0-9]+" "v12" }}|{{ regexFind "[0-9]+" "ab12cd34" }}|{{ regexFindAll "[0-9]" "a1b2c3" 2 }}|{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}|{{ regexReplaceAllLiteral "a" "aa" "$1" }}|{{ regexSplit "," "a,b,c" -1 }}"#,
            "true|12|[1 2]|-W-xxW-|$1$1|[a b c]",
        ),
        (r#"{{ indent 2 "a\nb" }}|{{ nindent 2 "a" }}"#, "  a\n  b|\n  a"),
        (r#"{{ wrap 5 "aaa bbb ccc" }}|{{ randAlphaNum 4 | len }}"#, "aaa\nbbb\nccc|4"),
    ];
    for (src, want) in cases {
        assert_eq!(run(src, ""), want, "{src}");
    }
}

#[test]
fn sprig_defaults_and_encodings() {
    let cases = [
        (
            r#"{{ default "d" .Values.missing }}|{{ default "d" "" }}|{{ default "d" "v" }}|{{ default 3 0 }}"#,
            "d|d|v|3",
        ),
        (
            r#"{{ empty "" }}{{ empty 0 }}{{ empty (list) }}{{ empty "x" }}|{{ coalesce "" nil "c" "d" }}|{{ ternary "y" "n" true }}{{ ternary "y" "n" false }}"#,
            "truetruetruefalse|c|yn",
        ),
        (r#"{{ all 1 "a" }}{{ any 0 "" }}|{{ deepEqual (list 1 2) (list 1 2) }}"#, "truefalse|true"),
        (
            r#"{{ b64enc "hello" }}|{{ b64dec "aGVsbG8=" }}|{{ sha256sum "abc" | trunc 8 }}|{{ sha1sum "abc" | trunc 8 }}|{{ adler32sum "abc" }}|{{ b32enc "hi" }}"#,
            "aGVsbG8=|hello|ba7816bf|a9993e36|38600999|NBUQ====",
        ),
        (
            r#"{{ toJson .Values.m }}|{{ toRawJson (dict "h" "<a>") }}|{{ toJson (dict "h" "<a>") }}"#,
            r#"{"a":[1,2.5,"x"],"b":null}|{"h":"<a>"}|{"h":"\u003ca\u003e"}"#,
        ),
        (r#"{{ toPrettyJson (dict "a" 1 "b" (list)) }}"#, "{\n  \"a\": 1,\n  \"b\": []\n}"),
        (r#"{{ (fromJson "{\"a\": {\"b\": 2}}").a.b }}|{{ (fromJsonArray "[1, 2]") | len }}"#, "2|2"),
    ];
    for (src, want) in cases {
        assert_eq!(run(src, "m: {a: [1, 2.5, x], b: null}"), want, "{src}");
    }
}

#[test]
fn sprig_lists() {
    let cases = [
        (
            r"{{ first (list 1 2 3) }}{{ last (list 1 2 3) }}|{{ rest (list 1 2 3) }}|{{ initial (list 1 2 3) }}",
            "13|[2 3]|[1 2]",
        ),
        (
            r"{{ append (list 1) 2 }}|{{ prepend (list 1) 0 }}|{{ concat (list 1) (list 2 3) }}|{{ reverse (list 1 2) }}",
            "[1 2]|[0 1]|[1 2 3]|[2 1]",
        ),
        (
            r#"{{ uniq (list 1 1 2) }}|{{ without (list 1 2 3) 2 }}|{{ has 2 (list 1 2) }}|{{ compact (list "a" "" nil 0 "b") }}"#,
            "[1 2]|[1 3]|true|[a b]",
        ),
        (
            r"{{ until 3 }}|{{ untilStep 0 10 4 }}|{{ seq 3 }}|{{ seq 5 3 }}|{{ chunk 2 (list 1 2 3) }}|{{ slice (list 1 2 3) 1 2 }}",
            "[0 1 2]|[0 4 8]|1 2 3|5 4 3|[[1 2] [3]]|[2]",
        ),
        (r#"{{ first .Values.missing }}|{{ tuple 1 "a" }}"#, "|[1 a]"),
    ];
    for (src, want) in cases {
        assert_eq!(run(src, ""), want, "{src}");
    }
}

#[test]
fn sprig_dicts_mutate_in_place_like_go_maps() {
    let cases = [
        (
            r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $d }}|{{ $_ := unset $d "a" }}{{ $d }}"#,
            "map[a:1 b:2]|map[b:2]",
        ),
        (
            r#"{{ $d := dict "a" 1 }}{{ hasKey $d "a" }}{{ get $d "a" }}[{{ get $d "z" }}]|{{ pluck "a" $d (dict "a" 2) (dict) }}"#,
            "true1[]|[1 2]",
        ),
        (
            r#"{{ dig "a" "b" "def" (dict "a" (dict "b" "found")) }}|{{ dig "a" "x" "def" (dict "a" (dict)) }}"#,
            "found|def",
        ),
        (
            r#"{{ keys (dict "b" 1 "a" 2) | sortAlpha }}|{{ values (dict "a" 1) }}|{{ pick (dict "a" 1 "b" 2) "a" }}|{{ omit (dict "a" 1 "b" 2) "a" }}"#,
            "[a b]|[1]|map[a:1]|map[b:2]",
        ),
        (
            r#"{{ $d := dict "a" 1 "n" (dict "x" 1) }}{{ $_ := merge $d (dict "a" 9 "b" 2 "n" (dict "x" 9 "y" 2)) }}{{ $d }}"#,
            "map[a:1 b:2 n:map[x:1 y:2]]",
        ),
        (
            r#"{{ mergeOverwrite (dict "a" 1 "n" (dict "x" 1)) (dict "a" 9 "n" (dict "y" 2)) }}"#,
            "map[a:9 n:map[x:1 y:2]]",
        ),
        (r#"{{ $a := dict "k" "v" }}{{ $b := deepCopy $a }}{{ $_ := set $b "k" "w" }}{{ $a.k }}{{ $b.k }}"#, "vw"),
    ];
    for (src, want) in cases {
        assert_eq!(run(src, ""), want, "{src}");
    }
}

#[test]
fn sprig_math_types_paths_dates() {
    let cases = [
        (
            r"{{ add 1 2 3 }}|{{ add1 1 }}|{{ sub 5 2 }}|{{ mul 2 3 }}|{{ div 7 2 }}|{{ mod 7 2 }}|{{ max 1 5 3 }}|{{ min 4 2 }}",
            "6|2|3|6|3|1|5|2",
        ),
        (
            r#"{{ floor 1.7 }}|{{ ceil 1.2 }}|{{ round 1.256 2 }}|{{ int "42" }}|{{ int 3.9 }}|{{ float64 "1.5" }}|{{ atoi "7" }}|{{ addf 1.5 1 }}"#,
            "1|2|1.26|42|3|1.5|7|2.5",
        ),
        (
            r#"{{ kindOf (dict) }}|{{ kindIs "slice" (list) }}|{{ typeOf "x" }}|{{ typeIs "float64" .Values.n }}|{{ kindOf .Values.n }}"#,
            "map|true|string|true|float64",
        ),
        (
            r#"{{ base "a/b/c.txt" }}|{{ dir "a/b/c.txt" }}|{{ ext "c.tar.gz" }}|{{ clean "a//b/../c/" }}|{{ isAbs "/x" }}"#,
            "c.txt|a/b|.gz|a/c|true",
        ),
        (
            r#"{{ now | date "2006-01-02" }}|{{ date "Jan 2, 2006 15:04" 0 }}|{{ htmlDate 86400 }}|{{ duration "3725" }}"#,
            "2024-01-01|Jan 1, 1970 00:00|1970-01-02|1h2m5s",
        ),
        (r#"{{ getHostByName "example.com" }}|{{ uuidv4 | len }}"#, "|36"),
        (
            r#"{{ (genCA "ca" 365).Cert | hasPrefix "-----BEGIN CERTIFICATE" }}|{{ genPrivateKey "rsa" | contains "PRIVATE KEY" }}"#,
            "true|true",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(run(src, "n: 3"), want, "{src}");
    }
}

/// Every name in Helm v4.1.4's function map (probed with the real binary: one template per name),
/// and no other.
#[test]
fn the_function_table_is_helms_function_map() {
    #[rustfmt::skip]
    let helm: &[&str] = &[
    "abbrev", "abbrevboth", "add", "add1", "add1f", "addf", "adler32sum", "ago", "all", "and", "any",
    "append", "atoi", "b32dec", "b32enc", "b64dec", "b64enc", "base", "bcrypt", "biggest", "buildCustomCert",
    "call", "camelcase", "cat", "ceil", "chunk", "clean", "coalesce", "compact", "concat", "contains", "date",
    "dateInZone", "dateModify", "date_in_zone", "date_modify", "decryptAES", "deepCopy", "deepEqual",
    "default", "derivePassword", "dict", "dig", "dir", "div", "divf", "duration", "durationRound", "empty",
    "encryptAES", "eq", "ext", "fail", "first", "float64", "floor", "fromJson", "fromJsonArray", "fromToml",
    "fromYaml", "fromYamlArray", "ge", "genCA", "genCAWithKey", "genPrivateKey", "genSelfSignedCert",
    "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey", "get", "getHostByName", "gt", "has",
    "hasKey", "hasPrefix", "hasSuffix", "hello", "html", "htmlDate", "htmlDateInZone", "htpasswd", "include",
    "indent", "index", "initial", "initials", "int", "int64", "isAbs", "join", "js", "kebabcase", "keys",
    "kindIs", "kindOf", "last", "le", "len", "list", "lookup", "lower", "lt", "max", "maxf", "merge",
    "mergeOverwrite", "min", "minf", "mod", "mul", "mulf", "mustAppend", "mustChunk", "mustCompact",
    "mustDateModify", "mustDeepCopy", "mustFirst", "mustFromJson", "mustHas", "mustInitial", "mustLast",
    "mustMerge", "mustMergeOverwrite", "mustPrepend", "mustPush", "mustRegexFind", "mustRegexFindAll",
    "mustRegexMatch", "mustRegexReplaceAll", "mustRegexReplaceAllLiteral", "mustRegexSplit", "mustRest",
    "mustReverse", "mustSlice", "mustToDate", "mustToJson", "mustToPrettyJson", "mustToRawJson", "mustToYaml",
    "mustUniq", "mustWithout", "must_date_modify", "ne", "nindent", "nospace", "not", "now", "omit", "or",
    "osBase", "osClean", "osDir", "osExt", "osIsAbs", "pick", "pluck", "plural", "prepend", "print", "printf",
    "println", "push", "quote", "randAlpha", "randAlphaNum", "randAscii", "randBytes", "randInt",
    "randNumeric", "regexFind", "regexFindAll", "regexMatch", "regexQuoteMeta", "regexReplaceAll",
    "regexReplaceAllLiteral", "regexSplit", "repeat", "replace", "required", "rest", "reverse", "round",
    "semver", "semverCompare", "seq", "set", "sha1sum", "sha256sum", "sha512sum", "shuffle", "slice",
    "snakecase", "sortAlpha", "split", "splitList", "splitn", "squote", "sub", "subf", "substr", "swapcase",
    "ternary", "title", "toDate", "toDecimal", "toJson", "toPrettyJson", "toRawJson", "toString", "toStrings",
    "toToml", "toYaml", "toYamlPretty", "tpl", "trim", "trimAll", "trimPrefix", "trimSuffix", "trimall",
    "trunc", "tuple", "typeIs", "typeIsLike", "typeOf", "uniq", "unixEpoch", "unset", "until", "untilStep",
    "untitle", "upper", "urlJoin", "urlParse", "urlquery", "uuidv4", "values", "without", "wrap", "wrapWith",
    ];
    assert_eq!(helm.len(), 239);
    assert_eq!(super::funcs::names(), helm);
}

/// Helm deletes sprig's `env` and `expandenv` from its function map (checked with Helm v3.17.2 and
/// v4.1.4): a chart calling them fails to parse.
#[test]
fn env_and_expandenv_are_not_helm_functions() {
    for name in ["env", "expandenv"] {
        let err = Engine::new().add("t.yaml", &format!("{{{{ {name} \"HOME\" }}}}")).unwrap_err();
        assert_eq!(err.to_string(), format!("parse error at (t.yaml:1): function \"{name}\" not defined"));
    }
}

#[test]
fn semver_compare_constraints() {
    let cases = [
        (">=1.21-0", "v1.31.2", true),
        (">=1.21-0", "v1.20.0", false),
        (">=1.21-0", "v1.31.0-eks-1234", true),
        (">=1.21", "v1.31.0-eks-1234", false),
        ("<1.22", "1.21.9", true),
        ("^1.2", "1.9.0", true),
        ("^1.2", "2.0.0", false),
        ("^0.2.3", "0.2.9", true),
        ("^0.2.3", "0.3.0", false),
        ("~1.2", "1.2.9", true),
        ("~1.2", "1.3.0", false),
        ("~1.2.3", "1.2.2", false),
        (">=1.2, <1.4", "1.3.5", true),
        (">=1.2, <1.4", "1.4.0", false),
        ("<1.0 || >=2.0", "2.1.0", true),
        ("<1.0 || >=2.0", "1.5.0", false),
        ("1.2 - 1.4.5", "1.4.5", true),
        ("1.2 - 1.4.5", "1.4.6", false),
        ("1.2.x", "1.2.7", true),
        ("*", "3.0.0", true),
        ("!=1.2.3", "1.2.3", false),
        (">1.2", "1.2.5", false),
        (">1.2", "1.3.0", true),
        ("=1.2.3", "v1.2.3", true),
        (">= 1.19 < 1.25", "1.24.1", true),
    ];
    for (constraint, version, want) in cases {
        assert_eq!(semver::compare(constraint, version), Ok(want), "{constraint} vs {version}");
    }
    assert!(semver::compare(">=1.0", "not-a-version").is_err());
    assert_eq!(
        run(
            r#"{{ semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version }}|{{ (semver "1.2.3-rc.1").Minor }}"#,
            ""
        ),
        "true|2"
    );
}

// ---------------------------------------------------------------- Helm

#[test]
fn to_yaml_matches_helm_format() {
    let v = "root:\n  b: [x, {name: 'n', image: 'img:1'}]\n  a:\n    s: 'true'\n    v: '1.21'\n    e: ''\n    c: 'a: b'\n    m: \"l1\\nl2\\n\"\n    q: \"it's #x\"\n    st: '*'\n    num: 3\n    f: 1.5\n    z: null\n    em: {}\n    el: []\n";
    let out = run("{{ toYaml .Values.root }}", v);
    let want = "a:\n  c: 'a: b'\n  e: \"\"\n  el: []\n  em: {}\n  f: 1.5\n  m: |\n    l1\n    l2\n  num: 3\n  q: 'it''s #x'\n  s: \"true\"\n  st: '*'\n  v: \"1.21\"\n  z: null\nb:\n- x\n- image: img:1\n  name: \"n\"";
    assert_eq!(out, want);
    assert_eq!(run("{{ toYaml .Values.l }}", "l: [[a, b], c]"), "- - a\n  - b\n- c");
    assert_eq!(run("{{ toYaml .Values.s }}", "s: plain"), "plain");
    assert_eq!(run("{{ toYaml (dict \"k\" \"no-trailing\\nnewline\") }}", ""), "k: |-\n  no-trailing\n  newline");
    assert_eq!(run("{{ toYaml (dict \"a10\" 1 \"a2\" 2 \"B\" 3) }}", ""), "B: 3\na2: 2\na10: 1");
}

#[test]
fn from_yaml_and_yaml_arrays() {
    assert_eq!(run("{{ $m := fromYaml \"a: 1\\nb: [x]\" }}{{ $m.a }}{{ index $m.b 0 }}", ""), "1x");
    assert_eq!(run("{{ (fromYaml \"- not a map\").Error | empty | not }}", ""), "true");
    assert_eq!(run("{{ fromYamlArray \"- a\\n- b\" }}", ""), "[a b]");
}

#[test]
fn files_and_capabilities() {
    assert_eq!(run("{{ .Files.Get \"files/b.conf\" }}", ""), "gamma=3");
    assert_eq!(run("{{ range .Files.Lines \"files/a.conf\" }}[{{ . }}]{{ end }}", ""), "[alpha=1][beta=2]");
    assert_eq!(
        run("{{ range $p, $_ := .Files.Glob \"files/*.conf\" }}{{ $p }} {{ end }}", ""),
        "files/a.conf files/b.conf "
    );
    assert_eq!(run("{{ (.Files.Glob \"files/*\").AsConfig }}", ""), "a.conf: |-\n  alpha=1\n  beta=2\nb.conf: gamma=3");
    assert_eq!(run("{{ (.Files.Glob \"other/**\").AsSecrets }}", ""), "c.txt: Yw==");
    assert_eq!(
        run("{{ .Capabilities.APIVersions.Has \"apps/v1\" }}{{ .Capabilities.APIVersions.Has \"x/v9\" }}", ""),
        "truefalse"
    );
    assert_eq!(run("{{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.KubeVersion.GitVersion }}", ""), "1.31 v1.31.2");
    assert_eq!(run("{{ lookup \"v1\" \"Secret\" \"ns\" \"name\" | len }}", ""), "0");
}

#[test]
fn include_with_nindent_keeps_provenance() {
    let tpls = [
        ("_h.tpl", "{{- define \"img\" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}"),
        ("t.yaml", "image:{{ include \"img\" . | nindent 2 }}"),
    ];
    let out = render_with(&tpls, "t.yaml", &dot("image: {repository: nginx}")).unwrap().text;
    assert_eq!(out.text, "image:\n  nginx:2.4.1");
    assert_eq!(spans(&out), vec![sp("image.repository", "nginx", 0), sp("demo:appVersion", "2.4.1", 0)]);
}

#[test]
fn tpl_renders_strings_with_their_own_spans() {
    let v = "registry: reg.example\nimage: \"{{ .Values.registry }}/app:v1\"";
    let out = render_with(&[("t.yaml", "{{ tpl .Values.image . }}")], "t.yaml", &dot(v)).unwrap();
    assert_eq!(out.text.text, "reg.example/app:v1");
    assert_eq!(spans(&out.text), vec![sp("registry", "reg.example", 0), sp("image", "/app:v1", 22)]);
    assert!(out.reads.iter().any(|r| r.path == ValuesPath::parse("registry")));
    // Defines inside a tpl string work too.
    assert_eq!(run("{{ tpl \"{{ define \\\"q\\\" }}Q{{ end }}{{ include \\\"q\\\" . }}\" . }}", ""), "Q");
}

/// Issue 8: pod templates kept in `files/*.yaml` and pulled in with `tpl (.Files.Get ...)`: the
/// values read inside trace to their keys, so the image is attributed to values, not hard-coded.
#[test]
fn issue_8_tpl_of_a_file_traces_values_read_inside_it() {
    let d = dot("image:\n  repository: reg.example/app\n  tag: \"1.2\"");
    let mut files = BTreeMap::new();
    files.insert(
        "files/pod.yaml".to_string(),
        b"containers:\n  - image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\n".to_vec(),
    );
    d.insert("Files", TValue::files(std::sync::Arc::new(files)));
    let out = render_with(&[("t.yaml", "{{ tpl (.Files.Get \"files/pod.yaml\") . }}")], "t.yaml", &d).unwrap();
    assert_eq!(out.text.text, "containers:\n  - image: reg.example/app:1.2\n");
    let at = out.text.text.find("reg.example").unwrap();
    assert_eq!(
        out.text.origins_in(at..at + "reg.example/app".len()),
        vec![Origin::Values(ValuesPath::parse("image.repository"))]
    );
    let tag = out.text.text.rfind("1.2").unwrap();
    assert_eq!(out.text.origins_in(tag..tag + 3), vec![Origin::Values(ValuesPath::parse("image.tag"))]);
    assert!(out.reads.iter().any(|r| r.path == ValuesPath::parse("image.repository") && r.found));
}

/// Issue 10: recursion and size limits are errors naming the limit, never a crash.
#[test]
fn issue_10_engine_limits_are_errors() {
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
    let err = Engine::new().add("t.yaml", &parens).unwrap_err();
    assert!(err.to_string().contains("max expression depth exceeded"), "{err}");
    let ifs = format!("{}x{}", "{{ if 1 }}".repeat(100_000), "{{ end }}".repeat(100_000));
    let err = Engine::new().add("t.yaml", &ifs).unwrap_err();
    assert!(err.to_string().contains("max expression depth exceeded"), "{err}");
    for (src, limit) in [
        ("{{ repeat 9223372036854775807 \"ab\" }}", "error calling repeat: rendered string larger than 64 MiB"),
        ("{{ indent 3000000000 \"x\" }}", "error calling indent: rendered string larger than 64 MiB"),
        ("{{ nindent 3000000000 \"x\" }}", "error calling nindent: rendered string larger than 64 MiB"),
        ("{{ until 1000000000 }}", "error calling until: list longer than 1048576 items"),
        ("{{ untilStep 0 9223372036854775807 1 }}", "error calling untilStep: list longer than 1048576 items"),
        ("{{ seq 1000000000 }}", "error calling seq: list longer than 1048576 items"),
        ("{{ randAlphaNum 1000000000 }}", "error calling randAlphaNum: rendered string larger than 64 MiB"),
        ("{{ range 1000000000 }}xxxxxxxxxxxxxxxx{{ end }}", "rendered output larger than 64 MiB"),
    ] {
        let err = run_err(src, "").to_string();
        assert!(err.starts_with("template: t.yaml:1: ") && err.contains(limit), "{src}: {err}");
    }
    // Go's fmt refuses widths over a million: no allocation, Go's text.
    assert_eq!(run("{{ printf \"%01000000000d\" 5 }}", ""), "%!(NOVERB)%!(EXTRA int=5)");
    // include and tpl nesting stop at Helm's 1000 with Helm's message.
    let err = run_err("{{ define \"loop\" }}{{ include \"loop\" . }}{{ end }}{{ include \"loop\" . }}", "").to_string();
    assert!(err.ends_with("rendering template has a nested reference name: loop: unable to execute template"), "{err}");
    let err = run_err("{{ tpl .Values.t . }}", "t: \"{{ tpl .Values.t . }}\"").to_string();
    assert!(err.ends_with("rendering template has a nested reference name: tpl: unable to execute template"), "{err}");
}

/// A Bitnami-style image helper, in our own words: registry/repository:tag@digest with a global
/// registry override.
const IMAGES_TPL: &str = r#"
{{- define "lib.image" -}}
{{- $registry := .imageRoot.registry -}}
{{- $repository := .imageRoot.repository -}}
{{- $separator := ":" -}}
{{- $termination := .imageRoot.tag | toString -}}
{{- if .global -}}
  {{- if .global.imageRegistry -}}
    {{- $registry = .global.imageRegistry -}}
  {{- end -}}
{{- end -}}
{{- if .imageRoot.digest -}}
  {{- $separator = "@" -}}
  {{- $termination = .imageRoot.digest | toString -}}
{{- end -}}
{{- if $registry -}}
{{- printf "%s/%s%s%s" $registry $repository $separator $termination -}}
{{- else -}}
{{- printf "%s%s%s" $repository $separator $termination -}}
{{- end -}}
{{- end -}}
"#;

#[test]
fn bitnami_style_image_helper_traces_each_part() {
    let tpls = [
        ("_images.tpl", IMAGES_TPL),
        ("t.yaml", "image: {{ include \"lib.image\" (dict \"imageRoot\" .Values.image \"global\" .Values.global) }}"),
    ];
    let v = "image: {registry: docker.io, repository: bitnami/nginx, tag: 1.25.3}\nglobal: {imageRegistry: ''}";
    let out = render_with(&tpls, "t.yaml", &dot(v)).unwrap();
    assert_eq!(out.text.text, "image: docker.io/bitnami/nginx:1.25.3");
    assert_eq!(
        spans(&out.text),
        vec![
            sp("image.registry", "docker.io", 0),
            sp("image.repository", "bitnami/nginx", 0),
            sp("image.tag", "1.25.3", 0)
        ]
    );
    assert!(out.reads.contains(&ValuesRead { path: ValuesPath::parse("global.imageRegistry"), found: true }));

    let v = "image: {registry: docker.io, repository: bitnami/nginx, tag: 1.25.3, digest: 'sha256:abc'}\nglobal: {imageRegistry: mirror.local}";
    let out = render_with(&tpls, "t.yaml", &dot(v)).unwrap();
    assert_eq!(out.text.text, "image: mirror.local/bitnami/nginx@sha256:abc");
    assert_eq!(
        spans(&out.text),
        vec![
            sp("global.imageRegistry", "mirror.local", 0),
            sp("image.repository", "bitnami/nginx", 0),
            sp("image.digest", "sha256:abc", 0)
        ]
    );
    // A numeric tag parsed as a float still carries its values path.
    let v = "image: {registry: r.io, repository: app, tag: 1.21}";
    let out = render_with(&tpls, "t.yaml", &dot(v)).unwrap();
    assert_eq!(out.text.text, "image: r.io/app:1.21");
    assert_eq!(spans(&out.text)[2], sp("image.tag", "1.21", 0));
}

#[test]
fn istio_style_hub_tag_variant_with_global_fallback() {
    let src = r#"image: "{{ .Values.hub | default .Values.global.hub }}/{{ .Values.image | default "proxyv2" }}:{{ .Values.tag | default .Values.global.tag }}{{- with (.Values.variant | default .Values.global.variant) }}-{{ . }}{{- end }}""#;
    let v = "global: {hub: docker.io/istio, tag: 1.22.0, variant: distroless}\nhub: ''\ntag: ''";
    let out = render_with(&[("t.yaml", src)], "t.yaml", &dot(v)).unwrap();
    assert_eq!(out.text.text, "image: \"docker.io/istio/proxyv2:1.22.0-distroless\"");
    assert_eq!(
        spans(&out.text),
        vec![
            sp("global.hub", "docker.io/istio", 0),
            sp("global.tag", "1.22.0", 0),
            sp("global.variant", "distroless", 0)
        ]
    );
    let v = "global: {hub: docker.io/istio, tag: 1.22.0}\nhub: my.reg/istio\ntag: 1.23.1";
    let out = render_with(&[("t.yaml", src)], "t.yaml", &dot(v)).unwrap();
    assert_eq!(out.text.text, "image: \"my.reg/istio/proxyv2:1.23.1\"");
    assert_eq!(spans(&out.text), vec![sp("hub", "my.reg/istio", 0), sp("tag", "1.23.1", 0)]);
}

#[test]
fn to_yaml_of_a_container_list_keeps_image_spans_through_nindent() {
    let v = "extraContainers:\n- name: side\n  image: busybox:1.36\n- name: q\n  image: '1.0'\n";
    let out =
        render_with(&[("t.yaml", "containers:{{ toYaml .Values.extraContainers | nindent 2 }}")], "t.yaml", &dot(v))
            .unwrap();
    assert_eq!(out.text.text, "containers:\n  - image: busybox:1.36\n    name: side\n  - image: \"1.0\"\n    name: q");
    let s = spans(&out.text);
    assert!(s.contains(&sp("extraContainers[0].image", "busybox:1.36", 0)), "{s:?}");
    assert!(s.contains(&sp("extraContainers[1].image", "1.0", 0)), "{s:?}");
    assert!(s.contains(&sp("extraContainers[0].name", "side", 0)), "{s:?}");
}

#[test]
fn string_functions_keep_spans_on_copied_bytes() {
    let v = "repo: Registry.io/team/app\ntag: v1.2.3";
    let out = render_with(
        &[("t.yaml", r#"{{ printf "%s:%s" (.Values.repo | lower) (trimPrefix "v" .Values.tag) | quote }} {{ replace "team" "ops" .Values.repo }} {{ (splitList "/" .Values.repo) | last }}"#)],
        "t.yaml",
        &dot(v),
    )
    .unwrap();
    assert_eq!(out.text.text, "\"registry.io/team/app:1.2.3\" Registry.io/ops/app app");
    assert_eq!(
        spans(&out.text),
        vec![
            sp("repo", "registry.io/team/app", 0),
            sp("tag", "1.2.3", 1),
            sp("repo", "Registry.io/", 0),
            sp("repo", "/app", 16),
            sp("repo", "app", 17),
        ]
    );
}

#[test]
fn traced_slice_and_spans_in_clip_and_shift() {
    let mut t = Traced::plain("x=");
    t.push(&Traced::from_origin("abcdef", Some(&Origin::Values(ValuesPath::parse("k")))));
    t.push_str(";");
    let s = t.slice(3..6);
    assert_eq!(s.text, "bcd");
    assert_eq!(s.spans, vec![Span { range: 0..3, origin: Origin::Values(ValuesPath::parse("k")), offset: 1 }]);
    let within = t.spans_in(0..4);
    assert_eq!(within, vec![Span { range: 2..4, origin: Origin::Values(ValuesPath::parse("k")), offset: 0 }]);
}

#[test]
fn parse_once_render_many_with_different_values() {
    let mut engine = Engine::new();
    engine.add("t.yaml", "{{ .Values.a }}").unwrap();
    assert_eq!(engine.render("t.yaml", &dot("a: one")).unwrap().text.text, "one");
    assert_eq!(engine.render("t.yaml", &dot("a: two")).unwrap().text.text, "two");
    assert!(engine.has("t.yaml"));
    assert!(matches!(engine.render("nope", &dot("")), Err(TemplateError::Exec { .. })));
}

#[test]
fn to_value_drops_origins() {
    let v = values("a: {b: [1, x]}");
    let t = TValue::from_values(&v, &ValuesPath::parse("sub"));
    assert_eq!(t.to_value(), values("a: {b: [1.0, x]}"));
}

#[test]
fn include_recursion_is_stopped() {
    let err = render_with(
        &[("t.yaml", "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}")],
        "t.yaml",
        &dot(""),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nested reference"), "{err}");
}

#[test]
fn to_yaml_folds_long_flow_scalars_at_eighty_columns_like_go_yaml() {
    let long = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss";
    let out = run("{{ toYaml .Values }}", &format!("k: \"{long}\"\nq: \"x: {long}\""));
    let want = "k: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  qqqq rrrr ssss\nq: 'x: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo\n  pppp qqqq rrrr ssss'";
    assert_eq!(out, want);
}

#[test]
fn go_number_literals_include_hexadecimal_floats() {
    // traefik's _helpers.tpl multiplies by 0x1p60 (2^60) to read "Ei" memory sizes.
    assert_eq!(run("{{ 0x1p60 }} {{ 0x1.8p1 }} {{ 0x10 }} {{ 1_000 }}", ""), "1.152921504606847e+18 3 16 1000");
}

#[test]
fn issue10_fuzz_an_escaped_quote_char_constant_at_the_end_of_the_text_is_a_parse_error() {
    // Found by the template_parse fuzz target (tests/fuzz/regressions/template_parse/): the lexer
    // looked past the end of the text for the closing quote of `'\'`.
    let mut engine = Engine::new();
    for src in ["\n{{ '\\'", "{{ '\\'", "{{ '\\' }}"] {
        assert!(matches!(engine.add("t", src), Err(TemplateError::Parse { .. })), "{src:?}");
    }
    assert_eq!(run("{{ '\\'' }}", "{}"), "39");
}
