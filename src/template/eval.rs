//! Executes parsed templates as Go's text/template does, writing traced output and recording
//! every values key the templates read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::format;
use super::funcs::{self, CallError, Func};
use super::lex::Number;
use super::parse::{Arg, Cmd, Node, Pipe, STACK_RED_ZONE, STACK_SEGMENT};
use super::value::{Kind, TValue};
use super::{Body, Engine, RenderOutput, TemplateError, Traced, ValuesRead};

/// Helm's `include` limit: the same define may be running at most this many times over
/// (pkg/engine `recursionMaxNums`); we count `tpl` the same way under the name "tpl".
const MAX_INCLUDE_DEPTH: usize = 1000;

/// Nested define calls of any name (`template` actions, `include`, `tpl`). Go stops at 100,000
/// (`maxExecDepth`); we stop at 10,000, which bounds memory to a few tens of MiB.
const MAX_EXEC_DEPTH: usize = 10_000;

pub(crate) fn render(engine: &Engine, body: &Arc<Body>, dot: &TValue) -> Result<RenderOutput, TemplateError> {
    let mut state = State {
        engine,
        reads: Vec::new(),
        seen: HashSet::new(),
        frames: vec![Vec::new()],
        template: body.file.clone(),
        line: 1,
        vars: vec![("$".to_string(), dot.clone())],
        depth: 0,
        includes: HashMap::new(),
        tpl_defines: HashMap::new(),
    };
    let mut out = Traced::default();
    state.walk_list(&body.nodes, &body.source, dot, &mut out)?;
    Ok(RenderOutput { text: out, reads: state.reads })
}

/// A `fail` inside an `include` or `tpl` is reported at that call, in the caller's template: Go
/// wraps the inner error in one of the caller's, and Helm prints the outermost location.
fn fail_at_call(error: TemplateError, caller: String, (line, col): (usize, usize)) -> TemplateError {
    match error {
        TemplateError::Fail { message, reads, .. } => {
            TemplateError::Fail { template: caller, line, col, message, reads }
        }
        other => other,
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) struct State<'e> {
    engine: &'e Engine,
    reads: Vec<ValuesRead>,
    seen: HashSet<ValuesRead>,
    /// Reads per running define, innermost last; `fail` reports the innermost.
    frames: Vec<Vec<ValuesRead>>,
    template: String,
    line: usize,
    vars: Vec<(String, TValue)>,
    depth: usize,
    /// How many times each define is running through `include` (and `tpl`), for Helm's limit.
    includes: HashMap<String, usize>,
    /// Defines declared inside `tpl` strings.
    tpl_defines: HashMap<String, Arc<Body>>,
}

impl State<'_> {
    pub(crate) fn record(&mut self, read: ValuesRead) {
        if let Some(frame) = self.frames.last_mut() {
            frame.push(read.clone());
        }
        if self.seen.insert(read.clone()) {
            self.reads.push(read);
        }
    }

    fn exec_err(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::Exec { template: self.template.clone(), line: self.line, message: message.into() }
    }

    fn fail(&self, message: String, (line, col): (usize, usize)) -> TemplateError {
        let mut reads = Vec::new();
        let mut seen = HashSet::new();
        for read in self.frames.last().into_iter().flatten() {
            if seen.insert(read.clone()) {
                reads.push(read.clone());
            }
        }
        TemplateError::Fail { template: self.template.clone(), line, col, message, reads }
    }

    fn walk_list(
        &mut self,
        nodes: &[Node],
        src: &Traced,
        dot: &TValue,
        out: &mut Traced,
    ) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let mut flow = Flow::Normal;
        for node in nodes {
            flow = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.walk(node, src, dot, out))?;
            if !matches!(flow, Flow::Normal) {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk(&mut self, node: &Node, src: &Traced, dot: &TValue, out: &mut Traced) -> Result<Flow, TemplateError> {
        if out.len() > funcs::MAX_STRING_BYTES {
            return Err(self.exec_err(format!(
                "rendered output larger than {} MiB (the engine's limit)",
                funcs::MAX_STRING_BYTES >> 20
            )));
        }
        match node {
            Node::Text(a, b) => out.push_slice(src, *a..*b),
            Node::Action { line, pipe } => {
                self.line = *line;
                let value = self.eval_pipe(pipe, dot)?;
                if pipe.decl.is_empty() {
                    format::print_value(out, &value);
                }
            }
            Node::If { line, pipe, list, else_list } | Node::With { line, pipe, list, else_list } => {
                self.line = *line;
                let mark = self.vars.len();
                let value = self.eval_pipe(pipe, dot)?;
                let is_with = matches!(node, Node::With { .. });
                let flow = if value.truthy() {
                    let inner = if is_with { value } else { dot.clone() };
                    self.walk_list(list, src, &inner, out)?
                } else if let Some(else_list) = else_list {
                    self.walk_list(else_list, src, dot, out)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Range { line, pipe, list, else_list } => {
                self.line = *line;
                return self.walk_range(*line, pipe, list, else_list.as_deref(), src, dot, out);
            }
            Node::Template { line, name, pipe } => {
                self.line = *line;
                let arg = match pipe {
                    Some(p) => self.eval_pipe(p, dot)?,
                    None => TValue::null(),
                };
                let text = self.call_define(name, &arg)?;
                out.push(&text);
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_range(
        &mut self,
        line: usize,
        pipe: &Pipe,
        list: &[Node],
        else_list: Option<&[Node]>,
        src: &Traced,
        dot: &TValue,
        out: &mut Traced,
    ) -> Result<Flow, TemplateError> {
        let value = self.eval_pipe_value(pipe, dot)?;
        let collected: Vec<(TValue, TValue)> = match value.kind() {
            Kind::Null => Vec::new(),
            Kind::List(items) => items.iter().enumerate().map(|(i, v)| (TValue::int(i as i64), v.clone())).collect(),
            Kind::ApiVersions(items) => {
                items.iter().enumerate().map(|(i, v)| (TValue::int(i as i64), TValue::str(v.clone()))).collect()
            }
            Kind::Map(m) => m.borrow().iter().map(|(k, v)| (TValue::str(k.clone()), v.clone())).collect(),
            Kind::Files(files) => files
                .iter()
                .map(|(k, v)| (TValue::str(k.clone()), TValue::str(String::from_utf8_lossy(v).into_owned())))
                .collect(),
            Kind::Int(_) => Vec::new(),
            _ => {
                self.line = line;
                return Err(self.exec_err(format!(
                    "range can't iterate over {}",
                    format::sprint(std::slice::from_ref(&value)).text
                )));
            }
        };
        // Go 1.22 ranges over an integer; counted lazily, so `range 1000000000` costs time (bounded
        // by the output limit when it writes), not memory.
        let mut items: Box<dyn Iterator<Item = (TValue, TValue)>> = match value.kind() {
            Kind::Int(n) => Box::new((0..*n).map(|i| (TValue::int(i), TValue::int(i)))),
            _ => Box::new(collected.into_iter()),
        };
        let Some(first) = items.next() else {
            if let Some(else_list) = else_list {
                return self.walk_list(else_list, src, dot, out);
            }
            return Ok(Flow::Normal);
        };
        for (key, elem) in std::iter::once(first).chain(items) {
            let mark = self.vars.len();
            match pipe.decl.as_slice() {
                [] => {}
                [v] => self.set_var(v, elem.clone(), pipe.is_assign)?,
                [k, v, ..] => {
                    self.set_var(k, key, pipe.is_assign)?;
                    self.set_var(v, elem.clone(), pipe.is_assign)?;
                }
            }
            let flow = self.walk_list(list, src, &elem, out)?;
            self.vars.truncate(mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, value: TValue, assign: bool) -> Result<(), TemplateError> {
        if assign {
            match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value,
                None => return Err(self.exec_err(format!("undefined variable: {name}"))),
            }
        } else {
            self.vars.push((name.to_string(), value));
        }
        Ok(())
    }

    /// Evaluates a pipeline and binds its declared variables.
    fn eval_pipe(&mut self, pipe: &Pipe, dot: &TValue) -> Result<TValue, TemplateError> {
        let value = self.eval_pipe_value(pipe, dot)?;
        for name in &pipe.decl {
            self.set_var(name, value.clone(), pipe.is_assign)?;
        }
        Ok(value)
    }

    fn eval_pipe_value(&mut self, pipe: &Pipe, dot: &TValue) -> Result<TValue, TemplateError> {
        let mut value: Option<TValue> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_cmd(cmd, dot, value)?);
        }
        Ok(value.unwrap_or_else(TValue::null))
    }

    fn eval_cmd(&mut self, cmd: &Cmd, dot: &TValue, fin: Option<TValue>) -> Result<TValue, TemplateError> {
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        match first {
            Arg::Func(func) => self.call_func(func, rest, dot, fin, (cmd.line, cmd.col)),
            Arg::Field(fields) => self.eval_field_chain(dot.clone(), false, fields, rest, dot, fin),
            Arg::Chain(term, fields) => {
                let receiver = self.eval_arg(term, dot)?;
                self.eval_field_chain(receiver, true, fields, rest, dot, fin)
            }
            Arg::Var(name, fields) if !fields.is_empty() => {
                let receiver = self.lookup_var(name)?;
                self.eval_field_chain(receiver, true, fields, rest, dot, fin)
            }
            _ => {
                if !rest.is_empty() || fin.is_some() {
                    return Err(self.exec_err(format!("can't give argument to non-function {}", arg_text(first))));
                }
                self.eval_arg(first, dot)
            }
        }
    }

    fn lookup_var(&self, name: &str) -> Result<TValue, TemplateError> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.exec_err(format!("undefined variable: {name}")))
    }

    fn eval_arg(&mut self, arg: &Arg, dot: &TValue) -> Result<TValue, TemplateError> {
        Ok(match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => TValue::null(),
            Arg::Bool(b) => TValue::bool(*b),
            Arg::Str(s) => TValue::str(s.clone()),
            Arg::Num(Number::Int(i)) => TValue::int(*i),
            Arg::Num(Number::Float(f)) => TValue::float(*f),
            Arg::Field(fields) => self.eval_field_chain(dot.clone(), false, fields, &[], dot, None)?,
            Arg::Var(name, fields) => {
                let v = self.lookup_var(name)?;
                if fields.is_empty() {
                    v
                } else {
                    self.eval_field_chain(v, true, fields, &[], dot, None)?
                }
            }
            Arg::Func(func) => self.call_func(func, &[], dot, None, (self.line, 0))?,
            Arg::Chain(term, fields) => {
                let receiver = self.eval_arg(term, dot)?;
                self.eval_field_chain(receiver, true, fields, &[], dot, None)?
            }
            Arg::Pipe(pipe) => stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.eval_pipe(pipe, dot))?,
        })
    }

    /// `piped` says the receiver came out of a pipeline (a parenthesised expression or a
    /// variable). Go turns a nil coming out of a pipeline into an invalid value, and a field of an
    /// invalid value is simply empty, so `(.Values.resources.limits).cpu` renders where
    /// `.Values.resources.limits.cpu` fails with a nil pointer (Helm's missingkey=zero).
    fn eval_field_chain(
        &mut self,
        mut receiver: TValue,
        piped: bool,
        fields: &[String],
        args: &[Arg],
        dot: &TValue,
        fin: Option<TValue>,
    ) -> Result<TValue, TemplateError> {
        if piped && receiver.is_null() {
            return Ok(TValue::null());
        }
        let (last, init) = fields.split_last().expect("a field chain has at least one field");
        for name in init {
            receiver = self.eval_field(&receiver, name, Vec::new(), false)?;
        }
        let has_args = !args.is_empty() || fin.is_some();
        let mut values = Vec::new();
        for arg in args {
            values.push(self.eval_arg(arg, dot)?);
        }
        values.extend(fin);
        self.eval_field(&receiver, last, values, has_args)
    }

    fn eval_field(
        &mut self,
        receiver: &TValue,
        name: &str,
        args: Vec<TValue>,
        has_args: bool,
    ) -> Result<TValue, TemplateError> {
        match receiver.kind() {
            // Helm's `Values.AsMap` returns the same Go map, so a `set` on the result is seen
            // through `.Values` too.
            Kind::Map(_) if receiver.is_helm_values() && name == "AsMap" => {
                if has_args {
                    return Err(self.exec_err(format!("wrong number of args for {name}: want 0 got {}", args.len())));
                }
                Ok(receiver.clone())
            }
            Kind::Map(m) => {
                if has_args {
                    return Err(self.exec_err(format!("{name} is not a method but has arguments")));
                }
                let found = m.borrow().get(name).cloned();
                if let Some(path) = receiver.values_path() {
                    let present = found.as_ref().is_some_and(|v| !v.is_null());
                    self.record(ValuesRead { path: path.child(name), found: present });
                }
                Ok(found.unwrap_or_else(TValue::null))
            }
            Kind::Files(files) => {
                funcs::files_method(files, name, &args).map_err(|e| self.exec_err(format!("error calling {name}: {e}")))
            }
            Kind::Semver(v) => funcs::semver_method(v, name, &args).map_err(|e| self.exec_err(e)),
            Kind::ApiVersions(list) if name == "Has" => {
                let wanted = args.first().map(format::plain_string).unwrap_or_default();
                Ok(TValue::bool(list.contains(&wanted)))
            }
            Kind::Null => Err(self.exec_err(format!("nil pointer evaluating interface {{}}.{name}"))),
            _ => Err(self.exec_err(format!("can't evaluate field {name} in type {}", receiver.type_name()))),
        }
    }

    fn call_func(
        &mut self,
        func: &'static Func,
        arg_nodes: &[Arg],
        dot: &TValue,
        fin: Option<TValue>,
        at: (usize, usize),
    ) -> Result<TValue, TemplateError> {
        let name = func.name;
        if name == "and" || name == "or" {
            let n = arg_nodes.len() + usize::from(fin.is_some());
            funcs::check_arity(func, n).map_err(|e| self.exec_err(e))?;
            let mut last = TValue::null();
            for arg in arg_nodes {
                last = self.eval_arg(arg, dot)?;
                if last.truthy() == (name == "or") {
                    return Ok(last);
                }
            }
            return Ok(fin.unwrap_or(last));
        }
        let mut args = Vec::with_capacity(arg_nodes.len() + 1);
        let mut forms = Vec::with_capacity(arg_nodes.len() + 1);
        for arg in arg_nodes {
            args.push(self.eval_arg(arg, dot)?);
            forms.push(arg_form(arg));
        }
        if fin.is_some() {
            forms.push(funcs::ArgForm::Piped);
        }
        args.extend(fin);
        if matches!(func.imp, funcs::Impl::Engine) {
            funcs::check_arity(func, args.len()).map_err(|e| self.exec_err(e))?;
        }
        match name {
            "include" => {
                let [tname, data] = self.want_args::<2>(name, args)?;
                let tname = format::plain_string(&tname);
                let caller = self.template.clone();
                let text = self
                    .counted_include(&tname, |state| state.call_define(&tname, &data))
                    .map_err(|e| fail_at_call(e, caller, at))?;
                Ok(TValue::traced(text))
            }
            "tpl" => {
                let [text, data] = self.want_args::<2>(name, args)?;
                let text = match text.as_traced() {
                    Some(t) => t.clone(),
                    None => Traced::plain(format::plain_string(&text)),
                };
                let caller = self.template.clone();
                let text = self
                    .counted_include("tpl", |state| state.run_tpl(&text, &data))
                    .map_err(|e| fail_at_call(e, caller, at))?;
                Ok(TValue::traced(text))
            }
            "required" => {
                let [message, value] = self.want_args::<2>(name, args)?;
                let missing = match value.kind() {
                    Kind::Null => true,
                    Kind::Str(s) => s.is_empty(),
                    _ => false,
                };
                if missing {
                    return Err(self.fail(format::plain_string(&message), at));
                }
                Ok(value)
            }
            "fail" => {
                let message = args.first().map(format::plain_string).unwrap_or_default();
                Err(self.fail(message, at))
            }
            _ => {
                let mut reads = Vec::new();
                let result = funcs::call(func, args, forms, &mut |r| reads.push(r));
                for read in reads {
                    self.record(read);
                }
                result.map_err(|e| match e {
                    CallError::Arity(message) | CallError::Type(message) => self.exec_err(message),
                    CallError::Returned(message) => self.exec_err(format!("error calling {name}: {message}")),
                })
            }
        }
    }

    /// Runs `body` as one more running copy of `name`, stopping where Helm stops.
    fn counted_include(
        &mut self,
        name: &str,
        body: impl FnOnce(&mut Self) -> Result<Traced, TemplateError>,
    ) -> Result<Traced, TemplateError> {
        let count = self.includes.entry(name.to_string()).or_insert(0);
        if *count > MAX_INCLUDE_DEPTH {
            return Err(self.exec_err(format!(
                "error calling include: rendering template has a nested reference name: {name}: unable to execute template"
            )));
        }
        *count += 1;
        let result = body(self);
        if let Some(count) = self.includes.get_mut(name) {
            *count -= 1;
        }
        result
    }

    fn want_args<const N: usize>(&self, name: &str, args: Vec<TValue>) -> Result<[TValue; N], TemplateError> {
        let got = args.len();
        args.try_into().map_err(|_| self.exec_err(format!("wrong number of args for {name}: want {N} got {got}")))
    }

    /// Runs a define with `data` as its dot, in a fresh variable scope, returning its output.
    fn call_define(&mut self, name: &str, data: &TValue) -> Result<Traced, TemplateError> {
        let body = match self.tpl_defines.get(name).or_else(|| self.engine.body(name)) {
            Some(body) => body.clone(),
            None => {
                return Err(self.exec_err(format!("template: no template {name:?} associated with template \"gotpl\"")))
            }
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.exec_err(format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})")));
        }
        self.frames.push(Vec::new());
        let text = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.run_body(&body, data));
        let frame = self.frames.pop().unwrap_or_default();
        if text.is_ok() {
            if let Some(parent) = self.frames.last_mut() {
                parent.extend(frame);
            }
        }
        text
    }

    fn run_body(&mut self, body: &Arc<Body>, data: &TValue) -> Result<Traced, TemplateError> {
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".to_string(), data.clone())]);
        let saved_template = std::mem::replace(&mut self.template, body.file.clone());
        let saved_line = self.line;
        self.depth += 1;
        let mut out = Traced::default();
        let result = self.walk_list(&body.nodes, &body.source, data, &mut out);
        self.depth -= 1;
        self.vars = saved_vars;
        if result.is_ok() {
            self.template = saved_template;
            self.line = saved_line;
        }
        result.map(|_| out)
    }

    /// Helm's `tpl`: the string is parsed as a template of the same engine; its literal parts keep
    /// the string's own spans.
    fn run_tpl(&mut self, text: &Traced, data: &TValue) -> Result<Traced, TemplateError> {
        let parsed = self.engine.parse_tpl(&text.text).map_err(|e| match e {
            TemplateError::Parse { line, message, .. } => self.exec_err(format!(
                "error calling tpl: cannot parse template {:?}: template: gotpl:{line}: {message}",
                text.text
            )),
            other => other,
        })?;
        let source = Arc::new(text.clone());
        for (name, nodes) in &parsed.defines {
            self.tpl_defines.insert(
                name.clone(),
                Arc::new(Body { file: self.template.clone(), source: source.clone(), nodes: nodes.clone() }),
            );
        }
        let body = Arc::new(Body { file: self.template.clone(), source, nodes: parsed.root.clone() });
        let text = self.run_body(&body, data)?;
        Ok(if text.as_str().contains(format::NO_VALUE) { text.replace(format::NO_VALUE, "") } else { text })
    }
}

/// How Go sees an argument node when converting it to a parameter's type.
fn arg_form(arg: &Arg) -> funcs::ArgForm {
    match arg {
        Arg::Nil | Arg::Bool(_) | Arg::Str(_) | Arg::Num(_) => funcs::ArgForm::Literal,
        Arg::Field(_) | Arg::Chain(..) => funcs::ArgForm::Field,
        Arg::Var(_, fields) if !fields.is_empty() => funcs::ArgForm::Field,
        Arg::Dot | Arg::Var(..) | Arg::Func(_) | Arg::Pipe(_) => funcs::ArgForm::Piped,
    }
}

fn arg_text(arg: &Arg) -> String {
    match arg {
        Arg::Dot => ".".into(),
        Arg::Nil => "nil".into(),
        Arg::Bool(b) => b.to_string(),
        Arg::Str(s) => format!("{s:?}"),
        Arg::Num(Number::Int(i)) => i.to_string(),
        Arg::Num(Number::Float(f)) => f.to_string(),
        Arg::Var(v, _) => v.clone(),
        _ => "pipeline".into(),
    }
}
