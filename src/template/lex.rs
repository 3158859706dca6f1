//! Splits template source into literal text and the tokens inside `{{ }}` actions, applying
//! `{{-`/`-}}` trim markers and dropping comments, as Go's text/template lexer does.

use super::TemplateError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Literal text: a byte range of the source (already trimmed).
    Text(usize, usize),
    LeftDelim,
    RightDelim,
    Space,
    Ident(String),
    /// `.name` (the name without the dot).
    Field(String),
    /// `$` or `$name` (with the dollar).
    Var(String),
    Dot,
    Str(String),
    Char(i64),
    Number(String),
    Bool(bool),
    Nil,
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Keyword(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) tok: Tok,
    pub(crate) line: usize,
    /// Byte offset of the token in its line, from 0, as Go's `ErrorContext` counts it (exact for
    /// identifiers, the tokens an execution error points at).
    pub(crate) col: usize,
}

const KEYWORDS: &[&str] = &["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"];

pub(crate) fn lex(name: &str, src: &str) -> Result<Vec<Item>, TemplateError> {
    Lexer { name, src, pos: 0, line: 1, line_start: 0, items: Vec::new() }.run()
}

struct Lexer<'a> {
    name: &'a str,
    src: &'a str,
    pos: usize,
    line: usize,
    /// Byte offset where the current line starts.
    line_start: usize,
    items: Vec<Item>,
}

impl Lexer<'_> {
    fn err(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::Parse { template: self.name.to_string(), line: self.line, message: message.into() }
    }

    fn emit(&mut self, tok: Tok) {
        self.items.push(Item { tok, line: self.line, col: self.pos.saturating_sub(self.line_start) });
    }

    fn run(mut self) -> Result<Vec<Item>, TemplateError> {
        let mut trim_next = false;
        loop {
            let rest = &self.src[self.pos..];
            let Some(open) = rest.find("{{") else {
                self.text(self.pos, self.src.len(), trim_next, false);
                break;
            };
            let open = self.pos + open;
            let after = &self.src[open + 2..];
            let trim_left = after.starts_with("- ")
                || after.starts_with("-\t")
                || after.starts_with("-\n")
                || after.starts_with("-\r");
            self.text(self.pos, open, trim_next, trim_left);
            self.pos = open + 2 + if trim_left { 2 } else { 0 };
            if trim_left {
                self.count_lines(open + 2, self.pos);
            }
            trim_next = self.action()?;
        }
        self.emit(Tok::Eof);
        Ok(self.items)
    }

    fn count_lines(&mut self, from: usize, to: usize) {
        let text = &self.src[from..to];
        self.line += text.matches('\n').count();
        if let Some(i) = text.rfind('\n') {
            self.line_start = from + i + 1;
        }
    }

    fn text(&mut self, mut start: usize, mut end: usize, trim_start: bool, trim_end: bool) {
        let line_at_start = self.line;
        self.count_lines(start, end);
        if trim_start {
            start += self.src[start..end].len() - self.src[start..end].trim_start_matches(is_space).len();
        }
        if trim_end {
            end = start + self.src[start..end].trim_end_matches(is_space).len();
        }
        if start < end {
            self.items.push(Item { tok: Tok::Text(start, end), line: line_at_start, col: 0 });
        }
    }

    /// Lexes one action after its `{{`; returns whether it ended with a trim marker.
    fn action(&mut self) -> Result<bool, TemplateError> {
        // Comments: `/* ... */` must fill the whole action and start right after `{{` or `{{- `
        // (Go lexes `{{ /* x */ }}` as an action, where `/` is an error).
        let rest = &self.src[self.pos..];
        if rest.starts_with("/*") {
            let Some(close) = rest.find("*/") else {
                return Err(self.err("unclosed comment"));
            };
            let after = &rest[close + 2..];
            let (trim, skip) = if after.starts_with(" -}}") || after.starts_with("\t-}}") || after.starts_with("\n-}}")
            {
                (true, 4)
            } else if after.starts_with("}}") {
                (false, 2)
            } else {
                return Err(self.err("comment ends before closing delimiter"));
            };
            let end = self.pos + close + 2 + skip;
            self.count_lines(self.pos, end);
            self.pos = end;
            return Ok(trim);
        }
        self.emit(Tok::LeftDelim);
        let mut paren_depth = 0usize;
        loop {
            let rest = &self.src[self.pos..];
            if rest.is_empty() {
                return Err(self.err("unclosed action"));
            }
            if rest.starts_with("}}") {
                self.pos += 2;
                self.emit(Tok::RightDelim);
                return Ok(false);
            }
            let c = rest.chars().next().unwrap_or(' ');
            if is_space(c) {
                let n = rest.len() - rest.trim_start_matches(is_space).len();
                if rest[n..].starts_with("-}}") {
                    self.count_lines(self.pos, self.pos + n);
                    self.pos += n + 3;
                    self.emit(Tok::RightDelim);
                    return Ok(true);
                }
                self.count_lines(self.pos, self.pos + n);
                self.pos += n;
                self.emit(Tok::Space);
                continue;
            }
            match c {
                '(' => {
                    paren_depth += 1;
                    self.pos += 1;
                    self.emit(Tok::LParen);
                }
                ')' => {
                    if paren_depth == 0 {
                        return Err(self.err("unexpected right paren"));
                    }
                    paren_depth -= 1;
                    self.pos += 1;
                    self.emit(Tok::RParen);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma);
                }
                ':' => {
                    if !rest.starts_with(":=") {
                        return Err(self.err("expected :="));
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign);
                }
                '"' => {
                    let (s, len) = self.quoted(rest)?;
                    self.pos += len;
                    self.emit(Tok::Str(s));
                }
                '`' => {
                    let Some(close) = rest[1..].find('`') else {
                        return Err(self.err("unterminated raw quoted string"));
                    };
                    let s = rest[1..=close].to_string();
                    let start = self.pos;
                    self.pos += close + 2;
                    self.count_lines(start, self.pos);
                    self.emit(Tok::Str(s));
                }
                '\'' => {
                    let (c, len) = self.char_const(rest)?;
                    self.pos += len;
                    self.emit(Tok::Char(c));
                }
                '$' => {
                    let n = 1 + ident_len(&rest[1..]);
                    self.emit(Tok::Var(rest[..n].to_string()));
                    self.pos += n;
                }
                '.' => {
                    let next = rest[1..].chars().next();
                    if next.is_some_and(|c| c.is_ascii_digit()) {
                        self.number(rest)?;
                    } else {
                        let n = ident_len(&rest[1..]);
                        if n == 0 {
                            self.emit(Tok::Dot);
                        } else {
                            self.emit(Tok::Field(rest[1..=n].to_string()));
                        }
                        self.pos += 1 + n;
                    }
                }
                '0'..='9' => self.number(rest)?,
                '+' | '-' if rest[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') => self.number(rest)?,
                c if c == '_' || c.is_alphabetic() => {
                    let n = ident_len(rest);
                    let word = &rest[..n];
                    let tok = match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => match KEYWORDS.iter().find(|k| **k == w) {
                            Some(k) => Tok::Keyword(k),
                            None => Tok::Ident(w.to_string()),
                        },
                    };
                    self.emit(tok);
                    self.pos += n;
                }
                c => return Err(self.err(format!("unexpected {:?} in command", c.to_string()))),
            }
        }
    }

    fn number(&mut self, rest: &str) -> Result<(), TemplateError> {
        let n = rest
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphanumeric()
                    || c == '.'
                    || c == '_'
                    || ((c == '+' || c == '-')
                        && (i == 0 || matches!(rest.as_bytes()[i - 1], b'e' | b'E' | b'p' | b'P'))))
            })
            .map_or(rest.len(), |(i, _)| i);
        let text = &rest[..n];
        if parse_number(text).is_none() {
            return Err(self.err(format!("bad number syntax: {text:?}")));
        }
        self.emit(Tok::Number(text.to_string()));
        self.pos += n;
        Ok(())
    }

    fn quoted(&self, rest: &str) -> Result<(String, usize), TemplateError> {
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, i + 1)),
                '\n' => break,
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'a' => out.push('\x07'),
                        'b' => out.push('\x08'),
                        'f' => out.push('\x0c'),
                        'v' => out.push('\x0b'),
                        '\\' => out.push('\\'),
                        '"' => out.push('"'),
                        '\'' => out.push('\''),
                        'x' | 'u' | 'U' => {
                            let len = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = (0..len).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                            let code =
                                u32::from_str_radix(&hex, 16).map_err(|_| self.err("invalid escape in string"))?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        '0'..='7' => {
                            let mut code = e.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                if let Some((_, d)) = chars.next() {
                                    code = code * 8 + d.to_digit(8).unwrap_or(0);
                                }
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(self.err("invalid syntax: unknown escape in string")),
                    }
                }
                c => out.push(c),
            }
        }
        Err(self.err("unterminated quoted string"))
    }

    fn char_const(&self, rest: &str) -> Result<(i64, usize), TemplateError> {
        let Some(close) = rest[1..].find('\'').map(|i| i + 1) else {
            return Err(self.err("unterminated character constant"));
        };
        // Let the string unquoter handle escapes: '\'' is the one case where the close is later.
        let close = if &rest[1..close] == "\\" {
            match rest[close + 1..].find('\'') {
                Some(later) => close + 1 + later,
                None => return Err(self.err("unterminated character constant")),
            }
        } else {
            close
        };
        let body = &rest[1..close];
        let (s, _) = self.quoted(&format!("\"{}\"", body.replace('"', "\\\"").replace("\\'", "'")))?;
        let c = s.chars().next().ok_or_else(|| self.err("empty character constant"))?;
        Ok((c as i64, close + 1))
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn ident_len(s: &str) -> usize {
    s.char_indices().find(|&(_, c)| !(c == '_' || c.is_alphanumeric())).map_or(s.len(), |(i, _)| i)
}

/// A number literal's value: an int when Go would make it an integer constant, else a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let int = if let Some(hex) = lower.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = lower.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if let Some(bin) = lower.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit()) {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Some(Number::Int(if neg { -i } else { i }));
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        // Go's hexadecimal floats: 0x1p60, 0x1.8p-3 (mantissa in hex, power of two after `p`).
        let (mantissa, exponent) = hex.split_once('p')?;
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = u64::from_str_radix(&format!("{whole}{fraction}"), 16).ok()?;
        let exponent: i32 = exponent.parse().ok()?;
        let f = digits as f64 * 2f64.powi(exponent - 4 * fraction.len() as i32);
        return Some(Number::Float(if neg { -f } else { f }));
    }
    let f: f64 = body.parse().ok()?;
    // Go makes whole float constants such as 1e3 usable as ints too; keep them floats here.
    Some(Number::Float(if neg { -f } else { f }))
}
