//! sprig's list functions: building, slicing, searching, ranges of integers.

use super::{
    bool_of, check_items, sprig_empty,
    Arity::{AtLeast, Exact},
    Call, Func, Res,
};
use crate::template::format::plain_string;
use crate::template::value::TValue;

pub(super) static FUNCS: &[Func] = &[
    Func::new("list", AtLeast(0), |c| Ok(TValue::list(std::mem::take(&mut c.args)))),
    Func::new("tuple", AtLeast(0), |c| Ok(TValue::list(std::mem::take(&mut c.args)))),
    Func::new("first", Exact(1), |c| Ok(c.list(0)?.first().cloned().unwrap_or_else(TValue::null))),
    Func::new("mustFirst", Exact(1), |c| Ok(c.list(0)?.first().cloned().unwrap_or_else(TValue::null))),
    Func::new("last", Exact(1), |c| Ok(c.list(0)?.last().cloned().unwrap_or_else(TValue::null))),
    Func::new("mustLast", Exact(1), |c| Ok(c.list(0)?.last().cloned().unwrap_or_else(TValue::null))),
    Func::new("rest", Exact(1), rest),
    Func::new("mustRest", Exact(1), rest),
    Func::new("initial", Exact(1), initial),
    Func::new("mustInitial", Exact(1), initial),
    Func::new("append", Exact(2), push),
    Func::new("mustAppend", Exact(2), push),
    Func::new("push", Exact(2), push),
    Func::new("mustPush", Exact(2), push),
    Func::new("prepend", Exact(2), prepend),
    Func::new("mustPrepend", Exact(2), prepend),
    Func::new("concat", AtLeast(0), |c| {
        let mut out = Vec::new();
        for i in 0..c.len() {
            out.extend(c.list(i)?);
        }
        Ok(TValue::list(out))
    }),
    Func::new("reverse", Exact(1), reverse),
    Func::new("mustReverse", Exact(1), reverse),
    Func::new("uniq", Exact(1), uniq),
    Func::new("mustUniq", Exact(1), uniq),
    Func::new("without", AtLeast(1), without),
    Func::new("mustWithout", AtLeast(1), without),
    Func::new("has", Exact(2), has),
    Func::new("mustHas", Exact(2), has),
    Func::new("compact", Exact(1), compact),
    Func::new("mustCompact", Exact(1), compact),
    Func::new("mustSlice", AtLeast(1), must_slice),
    Func::new("until", Exact(1), |c| step_range(0, c.int(0), 1)),
    Func::new("untilStep", Exact(3), |c| step_range(c.int(0), c.int(1), c.int(2))),
    Func::new("seq", AtLeast(0), seq),
    Func::new("chunk", Exact(2), chunk),
    Func::new("mustChunk", Exact(2), chunk),
];

fn rest(c: &mut Call) -> Res {
    let l = c.list(0)?;
    Ok(TValue::list(l.get(1..).map(<[TValue]>::to_vec).unwrap_or_default()))
}

fn initial(c: &mut Call) -> Res {
    let l = c.list(0)?;
    Ok(TValue::list(l[..l.len().saturating_sub(1)].to_vec()))
}

fn push(c: &mut Call) -> Res {
    let mut l = c.list(0)?;
    l.push(c.value(1));
    Ok(TValue::list(l))
}

fn prepend(c: &mut Call) -> Res {
    let mut l = c.list(0)?;
    l.insert(0, c.value(1));
    Ok(TValue::list(l))
}

fn reverse(c: &mut Call) -> Res {
    let mut l = c.list(0)?;
    l.reverse();
    Ok(TValue::list(l))
}

fn uniq(c: &mut Call) -> Res {
    let mut out: Vec<TValue> = Vec::new();
    let mut seen = Vec::new();
    for item in c.list(0)? {
        let v = item.to_value();
        if !seen.contains(&v) {
            seen.push(v);
            out.push(item);
        }
    }
    Ok(TValue::list(out))
}

fn without(c: &mut Call) -> Res {
    let drop: Vec<_> = c.args[1..].iter().map(TValue::to_value).collect();
    let l = c.list(0)?;
    Ok(TValue::list(l.into_iter().filter(|v| !drop.contains(&v.to_value())).collect()))
}

fn has(c: &mut Call) -> Res {
    let needle = c.args[0].to_value();
    bool_of(c.list(1)?.iter().any(|v| v.to_value() == needle))
}

fn compact(c: &mut Call) -> Res {
    Ok(TValue::list(c.list(0)?.into_iter().filter(|v| !sprig_empty(v)).collect()))
}

fn must_slice(c: &mut Call) -> Res {
    if !matches!(c.args[0].kind(), crate::template::value::Kind::List(_) | crate::template::value::Kind::Null) {
        return Err(format!("list should be type of slice or array but {}", c.args[0].type_name()));
    }
    let l = c.list(0)?;
    let end = if c.len() > 2 { c.int(2).max(0) as usize } else { l.len() };
    let start = if c.len() > 1 { c.int(1).max(0) as usize } else { 0 };
    if start > end || end > l.len() {
        return Err(format!("runtime error: slice bounds out of range [{start}:{end}]"));
    }
    Ok(TValue::list(l[start..end].to_vec()))
}

fn chunk(c: &mut Call) -> Res {
    let size = c.int(0).max(1) as usize;
    let l = c.list(1)?;
    Ok(TValue::list(l.chunks(size).map(|ch| TValue::list(ch.to_vec())).collect()))
}

/// The integers from `start` towards `stop` (exclusive) by `step`, within the list limit.
fn ints(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return Ok(Vec::new());
    }
    let span = (i128::from(stop) - i128::from(start)).unsigned_abs();
    let count = span.div_ceil(i128::from(step).unsigned_abs());
    check_items(count)?;
    let mut out = Vec::with_capacity(count as usize);
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i);
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(out)
}

fn step_range(start: i64, stop: i64, step: i64) -> Res {
    Ok(TValue::list(ints(start, stop, step)?.into_iter().map(TValue::int).collect()))
}

/// sprig's `seq`, like GNU seq: the numbers joined by spaces.
fn seq(c: &mut Call) -> Res {
    let n: Vec<i64> = (0..c.len()).map(|i| c.int(i)).collect();
    let list = match n.as_slice() {
        [] => Vec::new(),
        [end] if *end >= 1 => ints(1, end.saturating_add(1), 1)?,
        [end] => ints(1, end - 1, -1)?,
        [start, end] => {
            if start <= end {
                ints(*start, end.saturating_add(1), 1)?
            } else {
                ints(*start, end - 1, -1)?
            }
        }
        [start, step, end, ..] => {
            if *step == 0 || (end > start && *step < 0) || (end < start && *step > 0) {
                Vec::new()
            } else {
                ints(*start, end.saturating_add(step.signum()), *step)?
            }
        }
    };
    Ok(TValue::str(list.iter().map(|i| plain_string(&TValue::int(*i))).collect::<Vec<_>>().join(" ")))
}
