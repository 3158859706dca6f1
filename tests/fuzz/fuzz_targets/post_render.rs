//! The post-render stream rewriter: any bytes give a stream or an error, never a panic; with no
//! image moved, the output is the input byte for byte.
#![no_main]

use helm_retarget::reference::Reference;
use helm_retarget::rewrite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let unchanged = rewrite::rewrite(data, &|_| None);
    if let Ok(out) = &unchanged {
        assert_eq!(out.output, data, "nothing retargeted, yet the stream changed");
    }
    let moved = rewrite::rewrite(data, &|r: &Reference| Some(r.with_location("mirror.example.com", "moved")));
    // Moving images changes only references: a stream that reads unchanged reads moved too.
    assert_eq!(unchanged.is_ok(), moved.is_ok(), "moving images changed whether the stream reads");
});
