//! The one integration test binary: every module below is a group of end-to-end tests.

mod cli; // a builder that runs the binary and asserts exact output and exit status
mod engine; // the real Helm engine, through helm-python-sdk
mod helm_bin; // real Helm v3 and v4 binaries, installed by tests/run
mod fixtures; // every fixture chart renders; the independent image walker the other tests trust
mod overlay_e2e; // overlays rendered by the real engine: images on the mirror, nothing else changed
mod post_render_e2e; // post-render of real renders: every image moved, only reference text changed
mod rewrite; // post-render on hand-written streams: exact bytes out, only references changed
mod snapshots; // reviewed snapshots of scan tables and overlays for every fixture
mod cli_contract; // exact messages and exit codes: bad input, stdin, -o, --check, fail-closed post-render
mod mirror; // mirror and diff: snapshots of every format, shellcheck, the plan against the engine, upgrades
mod hostile; // hostile input under prlimit and a timeout: escapes, bombs, deep nesting, bad UTF-8, broken pipes
