//! sprig's defaults and logic helpers: `default`, `empty`, `coalesce`, `all`, `any`, `ternary`.

use super::{
    bool_of, sprig_empty,
    Arity::{AtLeast, Exact},
    Func,
};
use crate::template::value::TValue;

pub(super) static FUNCS: &[Func] = &[
    Func::new("default", AtLeast(1), |c| {
        Ok(match c.args.get(1) {
            Some(v) if !sprig_empty(v) => v.clone(),
            _ => c.args[0].clone(),
        })
    }),
    Func::new("empty", Exact(1), |c| bool_of(sprig_empty(&c.args[0]))),
    Func::new("coalesce", AtLeast(0), |c| {
        Ok(c.args.iter().find(|v| !sprig_empty(v)).cloned().unwrap_or_else(TValue::null))
    }),
    Func::new("all", AtLeast(0), |c| bool_of(c.args.iter().all(|v| !sprig_empty(v)))),
    Func::new("any", AtLeast(0), |c| bool_of(c.args.iter().any(|v| !sprig_empty(v)))),
    Func::new("ternary", Exact(3), |c| Ok(if c.bool(2)? { c.value(0) } else { c.value(1) })),
    Func::new("deepEqual", Exact(2), |c| bool_of(c.args[0].to_value() == c.args[1].to_value())).whole(),
];
