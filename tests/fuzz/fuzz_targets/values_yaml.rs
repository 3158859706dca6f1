//! The values YAML reader: any bytes give a tree or an error (never a panic or a crash), key
//! lines never panic, and a tree printed back reads as the same tree.
#![no_main]

use helm_retarget::{source, yaml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = source::utf8(data, "values.yaml") else { return };
    let _ = yaml::key_lines(text);
    if let Ok(values) = yaml::parse_values(text, "values.yaml") {
        let printed = yaml::to_string(&values);
        let again = yaml::parse_values(&printed, "printed.yaml")
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not read back: {e}"));
        assert_eq!(again, values, "{text:?} printed as {printed:?}");
    }
});
