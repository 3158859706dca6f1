//! sprig's dict functions. Lookups on a values map are recorded as reads of that key.

use super::{
    bool_of, sprig_empty,
    Arity::{AtLeast, Exact},
    Call, Func, Res,
};
use crate::template::value::{Kind, MapCell, TMap, TValue};

pub(super) static FUNCS: &[Func] = &[
    Func::new("dict", AtLeast(0), |c| {
        let mut map = TMap::new();
        for pair in c.args.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or_else(|| TValue::str(""));
            map.insert(crate::template::format::plain_string(&pair[0]), value);
        }
        Ok(TValue::tmap(map))
    }),
    Func::new("get", Exact(2), |c| {
        let key = c.str(1);
        let found = map_or_nil(c, 0)?.and_then(|m| m.borrow().get(&key).cloned());
        let map = c.value(0);
        c.record_key(&map, &key, found.as_ref());
        Ok(found.unwrap_or_else(|| TValue::str("")))
    }),
    Func::new("set", Exact(3), |c| {
        c.map(0)?.borrow_mut().insert(c.str(1), c.value(2));
        Ok(c.value(0))
    }),
    Func::new("unset", Exact(2), |c| {
        if let Some(m) = map_or_nil(c, 0)? {
            m.borrow_mut().remove(&c.str(1));
        }
        Ok(c.value(0))
    }),
    // A nil map from a pipeline or variable has no keys: false, as in Go; a missing key read
    // directly is Go's conversion error.
    Func::new("hasKey", Exact(2), |c| {
        let key = c.str(1);
        let found = map_or_nil(c, 0)?.and_then(|m| m.borrow().get(&key).cloned());
        let map = c.value(0);
        c.record_key(&map, &key, found.as_ref());
        bool_of(found.is_some())
    }),
    Func::new("pluck", AtLeast(1), |c| {
        let key = c.str(0);
        let mut out = Vec::new();
        for i in 1..c.len() {
            let found = map_or_nil(c, i)?.and_then(|m| m.borrow().get(&key).cloned());
            let map = c.value(i);
            c.record_key(&map, &key, found.as_ref());
            out.extend(found);
        }
        Ok(TValue::list(out))
    }),
    Func::new("dig", AtLeast(0), dig),
    Func::new("keys", AtLeast(0), |c| {
        let mut out = Vec::new();
        for i in 0..c.len() {
            if let Some(m) = map_or_nil(c, i)? {
                out.extend(m.borrow().keys().map(|k| TValue::str(k.clone())));
            }
        }
        Ok(TValue::list(out))
    })
    .whole(),
    Func::new("values", Exact(1), |c| {
        Ok(TValue::list(map_or_nil(c, 0)?.map(|m| m.borrow().values().cloned().collect()).unwrap_or_default()))
    })
    .whole(),
    Func::new("pick", AtLeast(1), |c| pick(c, true)).whole(),
    Func::new("omit", AtLeast(1), |c| pick(c, false)).whole(),
    Func::new("merge", AtLeast(1), |c| merge(c, false)).whole(),
    Func::new("mustMerge", AtLeast(1), |c| merge(c, false)).whole(),
    Func::new("mergeOverwrite", AtLeast(1), |c| merge(c, true)).whole(),
    Func::new("mustMergeOverwrite", AtLeast(1), |c| merge(c, true)).whole(),
    Func::new("deepCopy", Exact(1), |c| Ok(deep_copy(&c.args[0]))).whole(),
    Func::new("mustDeepCopy", Exact(1), |c| Ok(deep_copy(&c.args[0]))).whole(),
];

fn map_or_nil<'c>(c: &'c Call, i: usize) -> Result<Option<&'c MapCell>, String> {
    c.map_or_nil(i)
}

/// sprig's dig: keys, a default, then the map; a missing key gives the default, stepping into
/// anything but a map is Go's failed type assertion.
fn dig(c: &mut Call) -> Res {
    let n = c.len();
    if n < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let mut node = c.args[n - 1].clone();
    for i in 0..n - 2 {
        let key = c.str(i);
        let next = if let Kind::Map(m) = node.kind() {
            m.borrow().get(&key).cloned()
        } else {
            let got = if node.is_null() { "nil".to_string() } else { node.type_name().to_string() };
            return Err(format!("interface conversion: interface {{}} is {got}, not map[string]interface {{}}"));
        };
        c.record_key(&node, &key, next.as_ref());
        match next {
            Some(v) => node = v,
            None => return Ok(c.args[n - 2].clone()),
        }
    }
    Ok(node)
}

fn pick(c: &mut Call, keep_listed: bool) -> Res {
    let wanted: Vec<String> = (1..c.len()).map(|i| c.str(i)).collect();
    let out: TMap = match map_or_nil(c, 0)? {
        Some(m) => m
            .borrow()
            .iter()
            .filter(|(k, _)| wanted.contains(k) == keep_listed)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        None => TMap::new(),
    };
    Ok(TValue::tmap(out))
}

fn merge(c: &mut Call, overwrite: bool) -> Res {
    let dst = c.map(0)?;
    for i in 1..c.len() {
        if let Some(src) = map_or_nil(c, i)? {
            let src = src.borrow().clone();
            merge_into(dst, &src, overwrite);
        }
    }
    Ok(c.value(0))
}

/// mergo's Merge: `src` fills what `dst` lacks or holds empty (with overwrite, replaces it even
/// with an empty value); maps deep-merge.
fn merge_into(dst: &MapCell, src: &TMap, overwrite: bool) {
    for (k, sv) in src {
        let dv = dst.borrow().get(k).cloned();
        match dv {
            Some(dv) if matches!((dv.kind(), sv.kind()), (Kind::Map(_), Kind::Map(_))) => {
                if let (Kind::Map(dm), Kind::Map(sm)) = (dv.kind(), sv.kind()) {
                    let sm = sm.borrow().clone();
                    merge_into(dm, &sm, overwrite);
                }
            }
            Some(dv) if !overwrite && !sprig_empty(&dv) => {}
            _ => {
                dst.borrow_mut().insert(k.clone(), sv.clone());
            }
        }
    }
}

fn deep_copy(v: &TValue) -> TValue {
    match v.kind() {
        Kind::Map(m) => TValue::new(
            Kind::Map(MapCell::new(m.borrow().iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect())),
            v.origin().cloned(),
        ),
        Kind::List(l) => TValue::new(Kind::List(l.iter().map(deep_copy).collect()), v.origin().cloned()),
        _ => v.clone(),
    }
}
