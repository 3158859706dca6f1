//! sprig's arithmetic: integer math through spf13/cast's ToInt64, float math through decimals,
//! conversions.

use super::{
    Arity::{AtLeast, Exact},
    Call, Func, Res,
};
use crate::template::value::TValue;

pub(super) static FUNCS: &[Func] = &[
    Func::new("add", AtLeast(0), |c| Ok(TValue::int64((0..c.len()).map(|i| c.int(i)).fold(0i64, i64::wrapping_add)))),
    Func::new("add1", Exact(1), |c| Ok(TValue::int64(c.int(0).wrapping_add(1)))),
    Func::new("sub", Exact(2), |c| Ok(TValue::int64(c.int(0).wrapping_sub(c.int(1))))),
    Func::new("mul", AtLeast(1), |c| Ok(TValue::int64((0..c.len()).map(|i| c.int(i)).fold(1i64, i64::wrapping_mul)))),
    Func::new("div", Exact(2), |c| {
        let d = c.int(1);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(TValue::int64(c.int(0).wrapping_div(d)))
    }),
    Func::new("mod", Exact(2), |c| {
        let d = c.int(1);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(TValue::int64(c.int(0).wrapping_rem(d)))
    }),
    Func::new("max", AtLeast(1), |c| Ok(TValue::int64((0..c.len()).map(|i| c.int(i)).max().unwrap_or(0)))),
    Func::new("biggest", AtLeast(1), |c| Ok(TValue::int64((0..c.len()).map(|i| c.int(i)).max().unwrap_or(0)))),
    Func::new("min", AtLeast(1), |c| Ok(TValue::int64((0..c.len()).map(|i| c.int(i)).min().unwrap_or(0)))),
    Func::new("addf", AtLeast(0), |c| Ok(TValue::float(decimal(floats(c).iter().sum())))),
    Func::new("add1f", Exact(1), |c| Ok(TValue::float(decimal(c.float(0) + 1.0)))),
    Func::new("subf", AtLeast(1), |c| fold(c, |a, b| a - b)),
    Func::new("mulf", AtLeast(1), |c| fold(c, |a, b| a * b)),
    Func::new("divf", AtLeast(1), |c| {
        if floats(c)[1..].contains(&0.0) {
            return Err("decimal division by 0".into());
        }
        fold(c, |a, b| a / b)
    }),
    Func::new("maxf", AtLeast(1), |c| Ok(TValue::float(floats(c).into_iter().fold(f64::MIN, f64::max)))),
    Func::new("minf", AtLeast(1), |c| Ok(TValue::float(floats(c).into_iter().fold(f64::MAX, f64::min)))),
    Func::new("floor", Exact(1), |c| Ok(TValue::float(c.float(0).floor()))),
    Func::new("ceil", Exact(1), |c| Ok(TValue::float(c.float(0).ceil()))),
    Func::new("round", AtLeast(2), round),
    Func::new("int", Exact(1), |c| Ok(TValue::int(c.int(0)))),
    Func::new("int64", Exact(1), |c| Ok(TValue::int64(c.int(0)))),
    Func::new("atoi", Exact(1), |c| Ok(TValue::int(c.str(0).parse::<i64>().unwrap_or(0)))),
    Func::new("float64", Exact(1), |c| Ok(TValue::float(c.float(0)))),
    Func::new("toDecimal", Exact(1), |c| Ok(TValue::int64(i64::from_str_radix(&c.str(0), 8).unwrap_or(0)))),
    Func::new("randInt", Exact(2), |c| {
        let (min, max) = (c.int(0), c.int(1));
        if max <= min {
            return Err("invalid argument to Intn".into());
        }
        Ok(TValue::int(min + (super::crypto::random_u64() % (max - min) as u64) as i64))
    }),
];

fn floats(c: &Call) -> Vec<f64> {
    (0..c.len()).map(|i| c.float(i)).collect()
}

fn fold(c: &Call, op: fn(f64, f64) -> f64) -> Res {
    let all = floats(c);
    Ok(TValue::float(decimal(all[1..].iter().fold(all[0], |a, &b| op(a, b)))))
}

/// sprig computes float math with shopspring/decimal, then takes the nearest float64: in
/// practice the shortest decimal of the result, so 0.1 + 0.2 is 0.3, not 0.30000000000000004.
fn decimal(f: f64) -> f64 {
    if !f.is_finite() {
        return f;
    }
    let rounded: f64 = format!("{f:.15e}").parse().unwrap_or(f);
    let short: f64 = format!("{rounded}").parse().unwrap_or(f);
    short
}

/// sprig's round: half away from zero at `places`, or at the given threshold.
fn round(c: &mut Call) -> Res {
    let (value, places) = (c.float(0), c.int(1));
    let threshold = if c.len() > 2 { c.float(2) } else { 0.5 };
    let pow = 10f64.powi(places.clamp(-308, 308) as i32);
    let digits = value * pow;
    let int = digits.trunc();
    let rounded = if (digits - int).abs() >= threshold { int + digits.signum() } else { int };
    Ok(TValue::float(rounded / pow))
}
