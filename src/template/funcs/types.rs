//! sprig's reflection helpers: `typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`.

use super::{bool_of, Arity::Exact, Func};
use crate::template::value::TValue;

pub(super) static FUNCS: &[Func] = &[
    Func::new("kindOf", Exact(1), |c| Ok(TValue::str(c.args[0].kind_name()))),
    Func::new("kindIs", Exact(2), |c| bool_of(c.str(0) == c.args[1].kind_name())),
    Func::new("typeOf", Exact(1), |c| Ok(TValue::str(c.args[0].type_name()))),
    Func::new("typeIs", Exact(2), |c| bool_of(c.str(0) == c.args[1].type_name())),
    Func::new("typeIsLike", Exact(2), |c| {
        // sprig: the target matches the value's type, or that type behind a pointer.
        let (t, actual) = (c.str(0), c.args[1].type_name());
        bool_of(t == actual || actual.strip_prefix('*') == Some(t.as_str()))
    }),
];
