//! Image references: parsing never panics, and a parsed reference prints to text that parses
//! back to the same image (registry, repository, tag, digest; a familiar name may print in full).
#![no_main]

use helm_retarget::reference::Reference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(reference) = Reference::parse(text) {
        let printed = reference.to_string();
        let again = Reference::parse(&printed).unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
        let image = |r: &Reference| (r.registry.clone(), r.repository.clone(), r.tag.clone(), r.digest.clone());
        assert_eq!(image(&again), image(&reference), "{text:?} printed as {printed:?}");
        assert_eq!(again.to_string(), printed, "{text:?}: printing is not stable");
    }
});
