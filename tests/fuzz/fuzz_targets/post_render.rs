//! The post-render stream rewriter: any bytes give a stream or an error, never a panic; with no
//! image moved, the output is the input byte for byte; and the fast block-YAML reader changes
//! nothing: every document it reads gives libyaml's very tree, and the rewrite, its report and
//! its notes are those of the full reader (libyaml alone).
#![no_main]

use helm_retarget::reference::Reference;
use helm_retarget::rewrite;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let unchanged = rewrite::rewrite(data, &|_| None);
    if let Ok(out) = &unchanged {
        assert_eq!(out.output, data, "nothing retargeted, yet the stream changed");
    }
    let retarget = |r: &Reference| Some(r.with_location("mirror.example.com", "moved"));
    let moved = rewrite::rewrite(data, &retarget);
    // Moving images changes only references: a stream that reads unchanged reads moved too.
    assert_eq!(unchanged.is_ok(), moved.is_ok(), "moving images changed whether the stream reads");
    // The fast reader vouches only for documents it reads exactly as libyaml does ...
    if let Err(e) = rewrite::fast_reader_coverage(data) {
        panic!("{e}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = rewrite::fast_reader_agrees(text) {
            panic!("{e}");
        }
    }
    // ... so the outcome is the full reader's, error or not, byte for byte.
    let full = rewrite::with_full_reader(|| rewrite::rewrite(data, &retarget));
    assert_eq!(moved, full, "the fast reader changed the rewrite");
    let notes = rewrite::notes_for(data);
    assert_eq!(notes, rewrite::with_full_reader(|| rewrite::notes_for(data)), "the fast reader changed the notes");
});
