//! Builds the syntax tree of a template file from its tokens: actions, control structures,
//! pipelines, and the `define`/`block` bodies it declares.

use std::sync::Arc;

use super::funcs;
use super::lex::{lex, parse_number, Item, Number, Tok};
use super::TemplateError;

#[derive(Debug)]
pub(crate) enum Node {
    /// Literal text: a byte range into the body's source.
    Text(usize, usize),
    Action {
        line: usize,
        pipe: Pipe,
    },
    If {
        line: usize,
        pipe: Pipe,
        list: Vec<Node>,
        else_list: Option<Vec<Node>>,
    },
    Range {
        line: usize,
        pipe: Pipe,
        list: Vec<Node>,
        else_list: Option<Vec<Node>>,
    },
    With {
        line: usize,
        pipe: Pipe,
        list: Vec<Node>,
        else_list: Option<Vec<Node>>,
    },
    Template {
        line: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    /// Variables declared (`:=`) or assigned (`=`) by this pipeline.
    pub(crate) decl: Vec<String>,
    pub(crate) is_assign: bool,
    pub(crate) cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub(crate) struct Cmd {
    pub(crate) args: Vec<Arg>,
    /// Where its first operand (the function, when it calls one) starts: line, byte column.
    pub(crate) line: usize,
    pub(crate) col: usize,
}

#[derive(Debug)]
pub(crate) enum Arg {
    Dot,
    Nil,
    Bool(bool),
    Str(String),
    Num(Number),
    /// `.a.b`
    Field(Vec<String>),
    /// `$x.a.b` (no fields for a bare variable)
    Var(String, Vec<String>),
    /// A function, resolved from the table when parsed.
    Func(&'static funcs::Func),
    /// `(pipeline).a.b`
    Chain(Box<Arg>, Vec<String>),
    Pipe(Box<Pipe>),
}

/// A parsed file: its top-level nodes and the defines it declares, in source order.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) root: Arc<Vec<Node>>,
    pub(crate) defines: Vec<(String, Arc<Vec<Node>>)>,
}

pub(crate) fn parse(name: &str, src: &str) -> Result<Parsed, TemplateError> {
    let items = lex(name, src)?;
    let mut p = Parser { name, items, pos: 0, defines: Vec::new(), range_depth: 0, depth: 0 };
    let (root, end) = p.list()?;
    if let Some(end) = end {
        return Err(p.err(format!("unexpected {{{{{end}}}}}")));
    }
    Ok(Parsed { root: Arc::new(root), defines: p.defines })
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    pos: usize,
    defines: Vec<(String, Arc<Vec<Node>>)>,
    range_depth: usize,
    /// Nesting of parentheses and control structures, bounded by [`MAX_DEPTH`].
    depth: usize,
}

/// Go's text/template parser stops at this nesting of parentheses ("max expression depth
/// exceeded"); we count control structures too, which Go leaves to its growable stacks.
pub(crate) const MAX_DEPTH: usize = 10_000;

/// Recursion grows the stack on demand (in segments), so Go's depths fit in any thread's stack.
pub(crate) const STACK_RED_ZONE: usize = 64 * 1024;
pub(crate) const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// What ended a list: `{{end}}` or `{{else}}` (with the keyword after `else`, if any).
#[derive(Debug, PartialEq)]
enum Terminator {
    End,
    Else,
}

impl std::fmt::Display for Terminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Terminator::End => "end",
            Terminator::Else => "else",
        })
    }
}

impl Parser<'_> {
    fn enter(&mut self) -> Result<(), TemplateError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err("max expression depth exceeded"));
        }
        self.depth += 1;
        Ok(())
    }

    fn line(&self) -> usize {
        self.items.get(self.pos).or(self.items.last()).map_or(1, |i| i.line)
    }

    fn err(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::Parse { template: self.name.to_string(), line: self.line(), message: message.into() }
    }

    fn peek(&self) -> &Tok {
        &self.items[self.pos.min(self.items.len() - 1)].tok
    }

    fn next(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.items.len() - 1 {
            self.pos += 1;
        }
        tok
    }

    fn skip_space(&mut self) {
        while *self.peek() == Tok::Space {
            self.pos += 1;
        }
    }

    /// The next non-space token, consumed.
    fn next_non_space(&mut self) -> Tok {
        self.skip_space();
        self.next()
    }

    fn expect_right(&mut self, context: &str) -> Result<(), TemplateError> {
        match self.next_non_space() {
            Tok::RightDelim => Ok(()),
            tok => Err(self.err(format!("unexpected {} in {context}", describe(&tok)))),
        }
    }

    /// Parses nodes until `{{end}}`, `{{else}}` or the end of input.
    fn list(&mut self) -> Result<(Vec<Node>, Option<Terminator>), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            match self.next() {
                Tok::Eof => return Ok((nodes, None)),
                Tok::Text(a, b) => nodes.push(Node::Text(a, b)),
                Tok::LeftDelim => {
                    if let Some(t) = self.action(&mut nodes)? {
                        return Ok((nodes, Some(t)));
                    }
                }
                tok => return Err(self.err(format!("unexpected {}", describe(&tok)))),
            }
        }
    }

    fn action(&mut self, nodes: &mut Vec<Node>) -> Result<Option<Terminator>, TemplateError> {
        self.skip_space();
        let line = self.line();
        let Tok::Keyword(k) = self.peek().clone() else {
            let pipe = self.pipeline("command", true)?;
            nodes.push(Node::Action { line, pipe });
            return Ok(None);
        };
        self.next();
        match k {
            "end" => {
                self.expect_right("end")?;
                Ok(Some(Terminator::End))
            }
            "else" => {
                // `else if`/`else with` leave the keyword for the caller; plain else closes here.
                self.skip_space();
                if !matches!(self.peek(), Tok::Keyword("if" | "with")) {
                    self.expect_right("else")?;
                }
                Ok(Some(Terminator::Else))
            }
            "if" | "with" | "range" => {
                self.enter()?;
                let node = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.control(k, line));
                self.depth -= 1;
                let node = node?;
                nodes.push(node);
                Ok(None)
            }
            "break" | "continue" => {
                if self.range_depth == 0 {
                    return Err(self.err(format!("{{{{{k}}}}} outside {{{{range}}}}")));
                }
                self.expect_right(k)?;
                nodes.push(if k == "break" { Node::Break } else { Node::Continue });
                Ok(None)
            }
            "template" | "block" => {
                let name = match self.next_non_space() {
                    Tok::Str(s) => s,
                    tok => return Err(self.err(format!("unexpected {} in {k} clause", describe(&tok)))),
                };
                self.skip_space();
                let pipe = if *self.peek() == Tok::RightDelim {
                    self.next();
                    None
                } else {
                    Some(self.pipeline(k, false)?)
                };
                if k == "block" {
                    let (body, end) = self.list()?;
                    if end != Some(Terminator::End) {
                        return Err(self.err("unexpected EOF in block"));
                    }
                    self.defines.push((name.clone(), Arc::new(body)));
                }
                nodes.push(Node::Template { line, name, pipe });
                Ok(None)
            }
            "define" => {
                let name = match self.next_non_space() {
                    Tok::Str(s) => s,
                    tok => return Err(self.err(format!("unexpected {} in define clause", describe(&tok)))),
                };
                self.expect_right("define clause")?;
                let (body, end) = self.list()?;
                if end != Some(Terminator::End) {
                    return Err(self.err(format!("unexpected EOF in define {name:?}")));
                }
                self.defines.push((name, Arc::new(body)));
                Ok(None)
            }
            other => Err(self.err(format!("unexpected keyword {other}"))),
        }
    }

    /// `if`, `with`, `range` after their keyword, including `else if`/`else with` chains.
    fn control(&mut self, k: &str, line: usize) -> Result<Node, TemplateError> {
        let pipe = self.pipeline(k, true)?;
        if k == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.list()?;
        if k == "range" {
            self.range_depth -= 1;
        }
        let else_list = match end {
            None => return Err(self.err(format!("unexpected EOF in {k}"))),
            Some(Terminator::End) => None,
            Some(Terminator::Else) => {
                self.skip_space();
                if matches!(self.peek(), Tok::Keyword("if" | "with")) {
                    let Tok::Keyword(inner) = self.next() else { unreachable!() };
                    if k == "range" || inner != k {
                        return Err(self.err(format!("unexpected {inner} after else in {k}")));
                    }
                    // `{{else if x}}...{{end}}` is `{{else}}{{if x}}...{{end}}{{end}}` with one end.
                    let line = self.line();
                    self.enter()?;
                    let node = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || self.control(inner, line));
                    self.depth -= 1;
                    Some(vec![node?])
                } else {
                    let (else_list, end) = self.list()?;
                    if end != Some(Terminator::End) {
                        return Err(
                            self.err(format!("expected end; found {}", end.map_or("EOF".into(), |e| e.to_string())))
                        );
                    }
                    Some(else_list)
                }
            }
        };
        Ok(match k {
            "if" => Node::If { line, pipe, list, else_list },
            "with" => Node::With { line, pipe, list, else_list },
            _ => Node::Range { line, pipe, list, else_list },
        })
    }

    /// A pipeline up to `}}` (or `)` when not at top level), with optional declarations.
    fn pipeline(&mut self, context: &str, allow_decl: bool) -> Result<Pipe, TemplateError> {
        self.skip_space();
        let mut decl = Vec::new();
        let mut is_assign = false;
        if allow_decl {
            let save = self.pos;
            if let Tok::Var(v) = self.peek().clone() {
                self.next();
                self.skip_space();
                match self.peek().clone() {
                    Tok::Declare | Tok::Assign => {
                        is_assign = *self.peek() == Tok::Assign;
                        self.next();
                        decl.push(v);
                    }
                    Tok::Comma if context == "range" => {
                        self.next();
                        self.skip_space();
                        let Tok::Var(v2) = self.next() else {
                            return Err(self.err("range can only initialize variables"));
                        };
                        self.skip_space();
                        match self.next() {
                            Tok::Declare => {}
                            Tok::Assign => is_assign = true,
                            _ => return Err(self.err("expected := in range")),
                        }
                        decl.push(v);
                        decl.push(v2);
                    }
                    _ => self.pos = save,
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            self.skip_space();
            if cmds.is_empty() {
                match self.peek() {
                    Tok::RightDelim => {
                        self.next();
                        break;
                    }
                    Tok::RParen => break,
                    _ => {}
                }
            }
            cmds.push(self.command()?);
            self.skip_space();
            match self.peek() {
                Tok::Pipe => {
                    self.next();
                }
                Tok::RightDelim => {
                    self.next();
                    break;
                }
                Tok::RParen => break,
                tok => return Err(self.err(format!("unexpected {} in operand", describe(tok)))),
            }
        }
        if cmds.is_empty() {
            return Err(self.err(format!("missing value for {context}")));
        }
        Ok(Pipe { decl, is_assign, cmds })
    }

    fn command(&mut self) -> Result<Cmd, TemplateError> {
        let mut args = Vec::new();
        self.skip_space();
        let (line, col) = self.items.get(self.pos).map_or((self.line(), 0), |item| (item.line, item.col));
        loop {
            self.skip_space();
            match self.peek() {
                Tok::Pipe | Tok::RightDelim | Tok::RParen => break,
                _ => args.push(self.operand()?),
            }
        }
        if args.is_empty() {
            return Err(self.err("missing command"));
        }
        Ok(Cmd { args, line, col })
    }

    fn operand(&mut self) -> Result<Arg, TemplateError> {
        let term = match self.next() {
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Str(s) => Arg::Str(s),
            Tok::Char(c) => Arg::Num(Number::Int(c)),
            Tok::Number(n) => Arg::Num(parse_number(&n).ok_or_else(|| self.err(format!("bad number syntax: {n:?}")))?),
            Tok::Field(f) => {
                let mut fields = vec![f];
                fields.extend(self.fields());
                return Ok(Arg::Field(fields));
            }
            Tok::Var(v) => return Ok(Arg::Var(v, self.fields())),
            Tok::Ident(name) => match funcs::lookup(&name) {
                Some(func) => Arg::Func(func),
                None => return Err(self.err(format!("function {name:?} not defined"))),
            },
            Tok::LParen => {
                self.enter()?;
                let pipe = stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
                    self.pipeline("parenthesized pipeline", false)
                });
                self.depth -= 1;
                let pipe = pipe?;
                if self.next() != Tok::RParen {
                    return Err(self.err("unclosed left paren"));
                }
                Arg::Pipe(Box::new(pipe))
            }
            tok => return Err(self.err(format!("unexpected {} in operand", describe(&tok)))),
        };
        let fields = self.fields();
        if fields.is_empty() {
            return Ok(term);
        }
        match term {
            Arg::Pipe(_) | Arg::Func(_) => Ok(Arg::Chain(Box::new(term), fields)),
            Arg::Dot => Err(self.err("unexpected . after term \".\"")),
            _ => Err(self.err("unexpected field after literal")),
        }
    }

    /// Field names written directly after a term (`.a.b`, no spaces).
    fn fields(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Tok::Field(f) = self.peek().clone() {
            self.next();
            out.push(f);
        }
        out
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Eof => "EOF".into(),
        Tok::RightDelim => "\"}}\"".into(),
        Tok::LeftDelim => "\"{{\"".into(),
        Tok::Ident(s) => format!("<{s}>"),
        Tok::Keyword(k) => format!("<{k}>"),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Number(n) => n.clone(),
        Tok::Field(f) => format!("<.{f}>"),
        Tok::Var(v) => format!("<{v}>"),
        Tok::Pipe => "\"|\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        other => format!("{other:?}"),
    }
}
