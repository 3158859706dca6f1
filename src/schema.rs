//! `values.schema.json`: the merged values of a chart and of every enabled subchart checked
//! against their schemas, as Helm does before it renders, with Helm v4's messages.
//!
//! Helm v4 validates with santhosh-tekuri/jsonschema; we validate with the `jsonschema` crate and
//! word each violation as santhosh-tekuri does (`- at '/image': additional properties 'registry'
//! not allowed`) for the keywords charts use; other keywords keep the crate's wording. Nothing is
//! fetched: a `$ref` to anything outside the schema file is refused, naming it.

use crate::chart::{self, Chart, SubchartStatus};
use crate::diagnostic::Code;
use crate::error::Error;
use crate::values::{Step, Value, ValuesPath};

/// One value a chart's schema refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The chart whose schema refuses it (its name as Helm prints it: the alias when aliased).
    pub chart: String,
    /// Where in the root's values: `sessions.image.registry`.
    pub path: ValuesPath,
    /// Helm v4's line for it: `at '/image': additional properties 'registry' not allowed`.
    pub message: String,
}

/// Helm's error when values break a schema (pkg/chart/common/util `ValidateAgainstSchema`, as
/// `helm template` and `helm install` print it).
pub const HEADER: &str = "values don't meet the specifications of the schema(s) in the following chart(s):";

/// Whether any chart of the tree has a schema: without one there is nothing to check, and the
/// effective values (costly for deep values) need not be built.
pub fn applies(root: &Chart) -> bool {
    root.walk().any(|chart| chart.schema.is_some())
}

/// Checks the root's effective values (defaults, user values, and anything laid over them)
/// against the schema of the root and of every enabled subchart, each with its own subtree, as
/// Helm does. Errors name a schema that is not JSON, or one that refers outside itself.
pub fn violations(root: &Chart, effective: &Value) -> Result<Vec<Violation>, Error> {
    let enabled = chart::enabled(root, effective);
    let mut found = Vec::new();
    check(root, effective, &ValuesPath::root(), &enabled, &mut found)?;
    Ok(found)
}

/// `violations` as Helm's error (exit 2 where Helm refuses), None when the values conform.
pub fn validate(root: &Chart, effective: &Value) -> Result<(), Error> {
    let found = violations(root, effective)?;
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::coded(Code::SchemaRefusesValues, format!("{HEADER}\n{}", report(&found).trim_end())).hint(
        "Helm refuses these values the same way (`helm template` and `helm install` fail): give values the \
         chart's values.schema.json accepts",
    ))
}

/// The violations grouped by chart, in Helm's layout: `chart:` then one `- at ...` line each.
pub fn report(found: &[Violation]) -> String {
    let mut text = String::new();
    let mut last: Option<&str> = None;
    for v in found {
        if last != Some(v.chart.as_str()) {
            text.push_str(&format!("{}:\n", v.chart));
            last = Some(&v.chart);
        }
        text.push_str(&format!("- {}\n", v.message));
    }
    text
}

fn check(
    chart: &Chart,
    values: &Value,
    at: &ValuesPath,
    enabled: &SubchartStatus,
    found: &mut Vec<Violation>,
) -> Result<(), Error> {
    if let Some(schema) = &chart.schema {
        for (pointer, message) in
            validate_one(schema, values).map_err(|e| e.at(format!("{}: values.schema.json", chart.source)))?
        {
            let path = at.join(&pointer_path(&pointer));
            found.push(Violation { chart: chart.key.clone(), path, message });
        }
    }
    for sub in &chart.subcharts {
        if enabled.why_disabled(&sub.path).is_some() {
            continue;
        }
        match values.as_map().and_then(|m| m.get(&sub.key)) {
            None | Some(Value::Null) => {}
            Some(child @ Value::Map(_)) => check(sub, child, &at.child(&sub.key), enabled, found)?,
            Some(other) => found.push(Violation {
                chart: sub.key.clone(),
                path: at.child(&sub.key),
                message: format!("invalid type for values: expected object (map), got {}", go_type(other)),
            }),
        }
    }
    Ok(())
}

fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// A JSON pointer (`/image/tags/0`) as a values path.
fn pointer_path(pointer: &str) -> ValuesPath {
    let steps = pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .map(|token| match token.parse::<usize>() {
            Ok(i) if !token.starts_with('0') || token == "0" => Step::Index(i),
            _ => Step::Key(token),
        })
        .collect();
    ValuesPath::from_steps(steps)
}

/// Refuses every reference outside the schema document: Helm would fetch `http(s)://` and read
/// `file://` references; a tool that must not touch the network says which one it met.
struct NoRetrieval;

impl jsonschema::Retrieve for NoRetrieval {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "$ref {uri} points outside values.schema.json; helm-retarget reads no schema over the network or from \
             disk (Helm would fetch it): inline the referenced schema under $defs"
        )
        .into())
    }
}

/// One schema against one chart's values: (JSON pointer, Helm v4's message) per violation.
fn validate_one(schema_text: &str, values: &Value) -> Result<Vec<(String, String)>, Error> {
    let schema: serde_json::Value =
        serde_json::from_str(schema_text).map_err(|e| Error::coded(Code::SchemaInvalid, format!("not JSON: {e}")))?;
    let validator = jsonschema::options()
        .with_retriever(NoRetrieval)
        .build(&schema)
        .map_err(|e| Error::coded(Code::SchemaInvalid, e.to_string()).hint("fix the chart's values.schema.json"))?;
    let instance = to_json(values);
    let mut out = Vec::new();
    for error in validator.iter_errors(&instance) {
        let pointer = error.instance_path().to_string();
        let message = santhosh_message(&error);
        out.push((pointer.clone(), format!("at '{pointer}': {message}")));
    }
    Ok(out)
}

fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::String(s) => s.clone().into(),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// santhosh-tekuri/jsonschema v6's type names: every number is `number` on the instance side.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// A value in santhosh-tekuri's messages: strings in single quotes, anything else as JSON.
fn quoted(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn santhosh_message(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let instance = error.instance();
    let list = |items: &[String]| items.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", ");
    match error.kind() {
        K::AdditionalProperties { unexpected } => format!("additional properties {} not allowed", list(unexpected)),
        K::Required { property } => format!("missing property {}", quoted(property)),
        K::Type { kind } => {
            let want = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(ts) => {
                    let names: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
                    names.join(" or ")
                }
            };
            format!("got {}, want {want}", json_type(instance))
        }
        K::Enum { options } => {
            let options = match options.as_ref() {
                serde_json::Value::Array(items) => items.iter().map(quoted).collect::<Vec<_>>().join(", "),
                other => quoted(other),
            };
            format!("value must be one of {options}")
        }
        K::Constant { expected_value } => format!("value must be {}", quoted(expected_value)),
        K::Minimum { limit } => format!("minimum: got {instance}, want {limit}"),
        K::Maximum { limit } => format!("maximum: got {instance}, want {limit}"),
        K::ExclusiveMinimum { limit } => format!("exclusiveMinimum: got {instance}, want {limit}"),
        K::ExclusiveMaximum { limit } => format!("exclusiveMaximum: got {instance}, want {limit}"),
        K::MinLength { limit } => format!("minLength: got {}, want {limit}", text_length(instance)),
        K::MaxLength { limit } => format!("maxLength: got {}, want {limit}", text_length(instance)),
        K::MinItems { limit } => format!("minItems: got {}, want {limit}", array_length(instance)),
        K::MaxItems { limit } => format!("maxItems: got {}, want {limit}", array_length(instance)),
        K::Pattern { pattern } => format!("{} does not match pattern '{pattern}'", quoted(instance)),
        K::FalseSchema => "false schema".to_string(),
        _ => error.to_string(),
    }
}

fn text_length(value: &serde_json::Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn array_length(value: &serde_json::Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}
