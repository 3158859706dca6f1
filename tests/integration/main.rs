//! The one integration test binary: every module below is a group of end-to-end tests.

mod cli; // a builder that runs the binary and asserts exact output and exit status
mod engine; // the real Helm engine, through helm-python-sdk
mod helm_bin; // real Helm v3 and v4 binaries, installed by tests/run
mod fixtures; // every fixture chart renders; the independent image walker the other tests trust
mod overlay_e2e; // overlays rendered by the real engine: images on the mirror, nothing else changed
mod post_render_e2e; // post-render of real renders: every image moved, only reference text changed
mod rewrite; // post-render on hand-written streams: exact bytes out, only references changed
mod fast_path; // the fast block-YAML reader against libyaml: same bytes, report and errors on every stream, mutants too
mod snapshots; // reviewed snapshots of scan tables and overlays for every fixture
mod stderr_snapshots; // reviewed snapshots of what every command prints on stderr, for every fixture (NO_COLOR)
mod cli_contract; // exact messages and exit codes: bad input, stdin, -o, --check, fail-closed post-render
mod data_images; // images handed over as data: explain, registry settings, text rules on and off
mod template_cases; // the template conformance suite: case files blessed by real Helm, run through the library
mod mirror; // mirror and diff: snapshots of every format, shellcheck, the plan against the engine, upgrades
mod yaml_cases; // YAML conformance cases: where real Helm accepts a stream, post-render does too
mod helm_e2e; // inside real Helm 3 and 4: --post-renderer, the plugins, overlays with -f, release archives
mod stream_memory; // post-render and verify stream a piped 12 MiB stream under a 40 MiB address-space limit that --report exceeds
mod incomplete; // templates that do not render are named, exit 3; values Helm refuses are exit 2
mod template_conformance; // `helm-retarget template` equals `helm template` of both real binaries
mod values_flags; // -f/--set/--set-string/--set-json/--set-file as Helm reads them, nulls deleting defaults
mod hostile; // hostile input under prlimit and a timeout: escapes, bombs, deep nesting, bad UTF-8, broken pipes
mod gitops; // issue 13: Argo CD and Flux documents merged as the controllers do, rendered by real Helm; the CMP plugin
mod mirror_copy; // issue 13: --platform, --with-referrers, --chart-archive, oras and the air-gap bundle, run against stand-in tools
mod diff_knobs; // issue 13: diff names the overlay keys an upgrade adds, drops and changes, chart by chart
mod fail_location; // fail/required errors name file:line:col as both real Helm binaries do
mod schema; // values.schema.json: Helm v4 messages on template and scan, overlay keys a schema refuses, no remote $ref
mod pinning; // issue 13: the lock script with a stand-in registry, post-render and overlay --pin-digests on real renders
mod relocate; // issue 13: relocated charts rendered by real Helm equal the original with its overlay; refusals write nothing
mod kube_version; // --kube-version and -a on every command that renders: the kubeVersion range and .Capabilities for the cluster given, checked by real Helm
mod empty_keys; // template-written images with an empty override key: the overlay sets that key, checked by the real engine
mod dotted_keys; // values keys holding a dot: moved by the overlay through the same key, printed as Helm's --set reads it
mod random_names; // objects named with randAlphaNum: one site across planner renders, the same overlay in every run
