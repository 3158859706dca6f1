//! The template lexer and parser: any text parses or gives a parse error, never a panic.
#![no_main]

use helm_retarget::template::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Engine::new().add("templates/fuzz.yaml", text);
});
