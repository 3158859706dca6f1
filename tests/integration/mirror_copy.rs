//! `mirror --platform`, `--with-referrers`, `--chart-archive`, `--format oras` and the air-gap
//! `--format bundle` (issue 13): the generated scripts pass shellcheck and run offline against
//! stand-in `crane`, `skopeo`, `docker`, `oras` and `helm` on PATH that record their arguments,
//! so each test asserts the exact commands a script runs; the bundle's save and load scripts
//! move every image of a fixture, through one archive, to the destination the plan names.

use std::path::{Path, PathBuf};

use crate::cli::{fixture, helm_retarget, Output, Run};
use crate::fixtures::fixture_charts;
use crate::mirror::shellcheck_as;
use crate::overlay_e2e::MIRROR;

/// The fixture of the exact-command tests: a source pinned by digest alone
/// (`bitnami/apache-exporter@sha256:…`), tagged sources, and a disabled subchart's images.
const CHART: &str = "bitnami-style-library";
const EXPORTER_DIGEST: &str = "sha256:779d6031a2d46499089d4d13522acdd089c1cade48dc7c7424d852553e142bad";

/// A stand-in tool: appends its name and arguments, one line a call, to `$TOOL_LOG`
/// (`crane digest` also answers a digest: the sha256 of the reference's text).
const RECORDER: &str = r#"#!/bin/sh
printf '%s' "$(basename "$0")" >> "$TOOL_LOG"
for argument in "$@"; do printf ' %s' "$argument" >> "$TOOL_LOG"; done
printf '\n' >> "$TOOL_LOG"
if [ "$(basename "$0")" = crane ] && [ "$1" = digest ]; then
  printf 'sha256:%s\n' "$(printf %s "$2" | sha256sum | cut -d ' ' -f 1)"
fi
"#;

/// A stand-in oras that keeps what it copies: `cp --to-oci-layout SRC DIR:TAG` writes SRC into
/// DIR/TAG (DIR stands for the layout), `cp --from-oci-layout DIR:TAG DST` appends
/// `SRC -> DST FLAGS` to `$MOVED`, SRC read back from the layout. `$FAIL_ON` names a source it
/// refuses, as a registry that is down would.
const ORAS: &str = r#"#!/bin/sh
[ "$1" = cp ] || { echo "oras stand-in: only cp" >&2; exit 2; }
shift
flags="" mode=""
while [ "$#" -gt 2 ]; do
  case "$1" in
    -r) flags="$flags -r" ;;
    --platform) flags="$flags --platform $2"; shift ;;
    --to-oci-layout) mode=to ;;
    --from-oci-layout) mode=from ;;
    *) echo "oras stand-in: unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$#" -eq 2 ] || { echo "oras stand-in: want SRC DST" >&2; exit 2; }
src=$1 dst=$2
case "$mode" in
  to)
    [ "$src" != "${FAIL_ON:-}" ] || { echo "oras stand-in: $src: not found" >&2; exit 1; }
    mkdir -p "${dst%:*}" && printf '%s\n' "$src" > "${dst%:*}/${dst##*:}" ;;
  from) printf '%s -> %s%s\n' "$(cat "${src%:*}/${src##*:}")" "$dst" "$flags" >> "$MOVED" ;;
  *) echo "oras stand-in: a layout on one side" >&2; exit 2 ;;
esac
"#;

/// A stand-in helm: `helm push FILE DEST` keeps a copy of FILE as `$PUSHED` and records DEST.
const HELM: &str = r#"#!/bin/sh
[ "$1" = push ] || exit 2
cp "$2" "$PUSHED" && printf 'helm push %s\n' "$3" >> "$TOOL_LOG"
"#;

/// A directory of stand-in tools, a log they write, and a PATH with them first.
struct StandIns {
    dir: tempfile::TempDir,
}

impl StandIns {
    fn new() -> StandIns {
        let stand_ins = StandIns { dir: tempfile::tempdir().unwrap() };
        std::fs::create_dir(stand_ins.bin()).unwrap();
        for tool in ["crane", "skopeo", "docker", "regctl", "cosign"] {
            stand_ins.install(tool, RECORDER);
        }
        stand_ins.install("oras", ORAS);
        stand_ins.install("helm", HELM);
        stand_ins
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn install(&self, tool: &str, script: &str) {
        let path = self.bin().join(tool);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `bash SCRIPT ARGS` in `cwd` with the stand-ins first on PATH; `env` adds variables.
    fn run(&self, script: &Path, args: &[&Path], cwd: &Path, env: &[(&str, &str)]) -> std::process::Output {
        let mut command = std::process::Command::new("bash");
        command
            .arg(script)
            .args(args)
            .current_dir(cwd)
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin().display()))
            .env("TOOL_LOG", self.file("log"))
            .env("MOVED", self.file("moved"))
            .env("PUSHED", self.file("pushed.tgz"));
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    }

    /// Runs a script held in text, and checks it succeeded.
    fn run_text(&self, script: &str) {
        let path = self.file("script.sh");
        std::fs::write(&path, script).unwrap();
        let out = self.run(&path, &[], self.dir.path(), &[]);
        assert!(out.status.success(), "{}\n--- script ---\n{script}", String::from_utf8_lossy(&out.stderr));
    }

    /// The recorded calls, one a line.
    fn log(&self) -> Vec<String> {
        read_lines(&self.file("log"))
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|text| text.lines().map(str::to_string).collect()).unwrap_or_default()
}

/// `mirror --registry MIRROR ARGS CHART`, its summary expected on stderr.
fn mirror(args: &[&str], chart: &Path) -> Run {
    helm_retarget(&["mirror", "--registry", MIRROR]).args(args).arg(chart).stderr_notes()
}

/// A plan `mirror ARGS` prints, after checking it exits 0 warning only, under --platform, that
/// the copies' digests are not the chart's (HR015).
fn copied(args: &[&str], chart: &Path) -> Output {
    let run = mirror(args, chart);
    if args.contains(&"--platform") { run.diagnostic("HR015") } else { run }.run()
}

/// A script `mirror ARGS` prints, after checking it exits 0 and passes shellcheck.
fn script(args: &[&str], chart: &Path) -> Output {
    let out = copied(args, chart);
    shellcheck_as("bash", &out.stdout, "mirror.sh").unwrap();
    out
}

/// The chart archive of a fixture, packed as `helm package` packs it (one top directory).
fn chart_archive(dir: &Path, name: &str) -> PathBuf {
    let archive = dir.join(format!("{name}.tgz"));
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(fixture(name).parent().unwrap())
        .arg(name)
        .status()
        .unwrap();
    assert!(status.success());
    archive
}

/// (copy_source, copy_destination) of every enabled image of `mirror --format json ARGS`.
fn planned_copies(args: &[&str], chart: &Path) -> Vec<(String, String)> {
    let out = copied(&[&["--format", "json"], args].concat(), chart);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    plan["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|image| image["disabled"] == false)
        .map(|image| {
            (
                image["copy_source"].as_str().unwrap().to_string(),
                image["copy_destination"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn issue_13_each_tool_gets_its_own_platform_flag() {
    let chart = fixture(CHART);
    let one = ["--platform", "linux/arm64/v8"];
    let two = ["--platform", "linux/amd64,linux/arm64"];
    let pinned = format!("docker.io/bitnami/apache-exporter@{EXPORTER_DIGEST}");
    // Filtered, the copy has a digest of its own: a source pinned by digest alone goes under a tag.
    let pinned_to = format!("{MIRROR}/bitnami/apache-exporter:{}", EXPORTER_DIGEST.replace(':', "-"));
    let mariadb = "docker.io/bitnami/mariadb:11.4.4-debian-12-r1";
    let mariadb_to = format!("{MIRROR}/bitnami/mariadb:11.4.4-debian-12-r1");

    let expect = |format: &str, platforms: &[&str], first_calls: &[String]| {
        let stand_ins = StandIns::new();
        let out = script(&[&["--format", format], platforms].concat(), &chart);
        stand_ins.run_text(&out.stdout);
        let log = stand_ins.log();
        // Four enabled images; the disabled subchart's two stay commented out.
        let calls_per_image = first_calls.len() / 2;
        assert_eq!(log.len(), 4 * calls_per_image, "{format}: {log:#?}");
        assert_eq!(&log[..first_calls.len()], first_calls, "{format}");
        out.stderr.clone()
    };

    let stderr = expect(
        "crane",
        &two,
        &[
            format!("crane index filter --platform linux/amd64 --platform linux/arm64 {pinned} -t {pinned_to}"),
            format!("crane index filter --platform linux/amd64 --platform linux/arm64 {mariadb} -t {mariadb_to}"),
        ],
    );
    assert!(
        stderr.contains(
            "warning[HR015]: --platform linux/amd64, linux/arm64: filtering an index writes a new index with a new digest"
        ),
        "{stderr}"
    );
    expect(
        "crane",
        &one,
        &[
            format!("crane copy --platform linux/arm64/v8 {pinned} {pinned_to}"),
            format!("crane copy --platform linux/arm64/v8 {mariadb} {mariadb_to}"),
        ],
    );
    let stderr = expect(
        "skopeo",
        &one,
        &[
            format!(
                "skopeo copy --override-os linux --override-arch arm64 --override-variant v8 --preserve-digests \
                 docker://{pinned} docker://{pinned_to}"
            ),
            format!(
                "skopeo copy --override-os linux --override-arch arm64 --override-variant v8 --preserve-digests \
                 docker://{mariadb} docker://{mariadb_to}"
            ),
        ],
    );
    assert!(stderr.contains("arrives as that one platform's image, under that image's digest"), "{stderr}");
    expect(
        "docker",
        &one,
        &[
            format!("docker pull --platform linux/arm64/v8 {pinned}"),
            format!("docker tag {pinned} {pinned_to}"),
            format!("docker push {pinned_to}"),
            format!("docker pull --platform linux/arm64/v8 {mariadb}"),
            format!("docker tag {mariadb} {mariadb_to}"),
            format!("docker push {mariadb_to}"),
        ],
    );
    // Without --platform nothing changes: every platform, the pinned digest kept.
    expect(
        "crane",
        &[],
        &[
            format!("crane copy {pinned} {MIRROR}/bitnami/apache-exporter@{EXPORTER_DIGEST}"),
            format!("crane copy {mariadb} {mariadb_to}"),
        ],
    );

    // regsync: a `platforms:` list on every entry, `referrers: true` with --with-referrers.
    let out = copied(&["--format", "regsync", "--platform", "linux/amd64,linux/arm64", "--with-referrers"], &chart);
    out.stderr_contains("regsync keeps each source index (and its digest)");
    let config: serde_yaml::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let entries = config["sync"].as_sequence().unwrap();
    assert_eq!(entries.len(), 4);
    for entry in entries {
        assert_eq!(
            entry["platforms"],
            serde_yaml::from_str::<serde_yaml::Value>("[linux/amd64, linux/arm64]").unwrap()
        );
        assert_eq!(entry["referrers"], serde_yaml::Value::Bool(true));
    }
}

#[test]
fn issue_13_a_tool_that_cannot_carry_the_options_refuses_them_by_name() {
    let chart = fixture(CHART);
    let refused = |args: &[&str], message: &str, hint: &str| {
        mirror(args, &chart)
            .status(2)
            .stdout("")
            .diagnostic("HR045")
            .stderr_contains(message)
            .stderr_contains(hint)
            .run();
    };
    let two = "linux/amd64,linux/arm64";
    for (format, why) in [
        (
            "skopeo",
            "skopeo copy copies one platform (--override-os/--override-arch) or every one (--all), never a list",
        ),
        ("docker", "docker pull --platform pulls one platform"),
        ("oras", "oras cp --platform copies one platform"),
        ("bundle", "oras cp --platform copies one platform"),
    ] {
        refused(
            &["--format", format, "--platform", two, "-o", "/nonexistent/never-written"],
            &format!("error[HR045]: --format {format} --platform: cannot copy only linux/amd64, linux/arm64: {why}"),
            "hint: use --format crane (`crane index filter`) or regsync (`platforms:`), which take a list, or give one --platform",
        );
    }
    refused(
        &["--format", "skopeo-sync", "--platform", "linux/amd64"],
        "error[HR045]: --format skopeo-sync --platform: cannot copy only linux/amd64: the sync file is written for `skopeo sync --all`",
        "hint: use --format crane",
    );
    for format in ["skopeo", "crane", "docker", "skopeo-sync"] {
        refused(
            &["--format", format, "--with-referrers"],
            &format!("error[HR045]: --format {format} --with-referrers: "),
            "hint: use --format oras (`oras cp -r`), regsync (`referrers: true`) or bundle",
        );
    }
    mirror(&["--platform", "linux"], &chart)
        .status(2)
        .stdout("")
        .diagnostic("HR063")
        .stderr_contains("\"linux\" is not a platform")
        .run();
}

#[test]
fn issue_13_oras_copies_referrers_with_r() {
    let chart = fixture(CHART);
    let stand_ins = StandIns::new();
    let out = script(&["--format", "oras", "--with-referrers"], &chart);
    // The stand-in oras records layout moves only; a plain registry-to-registry copy is logged
    // by replacing it with the recorder.
    stand_ins.install("oras", RECORDER);
    stand_ins.run_text(&out.stdout);
    let expected: Vec<String> = planned_copies(&[], &chart)
        .into_iter()
        .map(|(source, destination)| format!("oras cp -r {source} {destination}"))
        .collect();
    assert_eq!(stand_ins.log(), expected);
    assert!(expected[0].ends_with(&format!("{MIRROR}/bitnami/apache-exporter@{EXPORTER_DIGEST}")), "{expected:?}");

    let out = script(&["--format", "oras", "--platform", "linux/arm64"], &chart);
    let stand_ins = StandIns::new();
    stand_ins.install("oras", RECORDER);
    stand_ins.run_text(&out.stdout);
    assert_eq!(
        stand_ins.log()[1],
        format!("oras cp --platform linux/arm64 docker.io/bitnami/mariadb:11.4.4-debian-12-r1 {MIRROR}/bitnami/mariadb:11.4.4-debian-12-r1")
    );
}

#[test]
fn issue_13_a_filtered_lock_asks_the_registry_even_for_pinned_sources() {
    let chart = fixture(CHART);
    let stand_ins = StandIns::new();
    let out = script(&["--format", "lock", "--platform", "linux/amd64,linux/arm64"], &chart);
    let path = stand_ins.file("lock.sh");
    std::fs::write(&path, &out.stdout).unwrap();
    let run = stand_ins.run(&path, &[], stand_ins.dir.path(), &[]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let lock: serde_yaml::Value = serde_yaml::from_slice(&run.stdout).unwrap();
    let first = &lock["images"][0];
    let tagged = format!("{MIRROR}/bitnami/apache-exporter:{}", EXPORTER_DIGEST.replace(':', "-"));
    assert_eq!(first["destination"].as_str(), Some(tagged.as_str()));
    assert_ne!(first["digest"].as_str(), Some(EXPORTER_DIGEST), "the chart's digest names the unfiltered index");
    assert_eq!(stand_ins.log()[0], format!("crane digest {tagged}"));
    assert_eq!(stand_ins.log().len(), 4, "every enabled image is asked: {:?}", stand_ins.log());
}

#[test]
fn issue_13_the_chart_archive_is_pushed_with_the_images() {
    let chart = fixture("cert-manager-style");
    let dir = tempfile::tempdir().unwrap();
    let archive = chart_archive(dir.path(), "cert-manager-style");
    let archive_text = archive.display().to_string();
    let with_chart = ["--chart-archive", archive_text.as_str()];

    let out = script(&[&["--format", "crane"], &with_chart[..]].concat(), &chart);
    let stand_ins = StandIns::new();
    stand_ins.run_text(&out.stdout);
    let log = stand_ins.log();
    assert_eq!(log.len(), 6, "{log:#?}");
    assert_eq!(log[5], format!("helm push oci://{MIRROR}/charts"));
    assert_eq!(std::fs::read(stand_ins.file("pushed.tgz")).unwrap(), std::fs::read(&archive).unwrap());

    let list = copied(&with_chart, &chart);
    assert_eq!(list.stdout.lines().last(), Some(archive_text.as_str()));
    let json = copied(&[&["--format", "json"], &with_chart[..]].concat(), &chart);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan["chart_archive"]["reference"], format!("{MIRROR}/charts/cert-manager:1.17.2"));
    assert_eq!(plan["chart_archive"]["destination"], format!("oci://{MIRROR}/charts"));

    let elsewhere = copied(
        &[
            "--format",
            "skopeo",
            "--chart-archive",
            &archive_text,
            "--chart-destination",
            "oci://charts.example.org/helm",
        ],
        &chart,
    );
    assert!(
        elsewhere.stdout.contains(&format!("\nhelm push '{archive_text}' 'oci://charts.example.org/helm'\n")),
        "{}",
        elsewhere.stdout
    );

    let mapping = dir.path().join("mapping.yaml");
    std::fs::write(&mapping, format!("registry: {MIRROR}\n")).unwrap();
    helm_retarget(&["mirror", "--mapping"])
        .arg(&mapping)
        .args(with_chart)
        .arg(&chart)
        .status(2)
        .stdout("")
        .diagnostic("HR059")
        .stderr_contains("--mapping names no single registry")
        .stderr_contains("hint: pass --chart-destination oci://HOST/PATH")
        .run();
    mirror(&["--chart-archive", &fixture("cert-manager-style").display().to_string()], &chart)
        .status(2)
        .stdout("")
        .diagnostic("HR058")
        .stderr_contains("helm push takes a chart archive (.tgz), not a directory")
        .run();
    mirror(&["--chart-archive", &archive_text, "--chart-destination", "harbor.example.com"], &chart)
        .status(2)
        .stdout("")
        .diagnostic("HR059")
        .stderr_contains("is not an OCI registry address")
        .run();
}

/// Writes the bundle of `chart` into a fresh directory: (directory, save.sh, load.sh).
fn bundle(args: &[&str], chart: &Path) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bundle_dir = dir.path().join("bundle").display().to_string();
    copied(&[&["--format", "bundle", "-o", bundle_dir.as_str()], args].concat(), chart).stdout_is("");
    let (save, load) = (dir.path().join("bundle/save.sh"), dir.path().join("bundle/load.sh"));
    for script in [&save, &load] {
        let text = std::fs::read_to_string(script).unwrap();
        shellcheck_as("bash", &text, "bundle.sh").unwrap();
    }
    (dir, save, load)
}

#[test]
fn issue_13_the_bundle_moves_every_image_through_one_archive_to_its_destination() {
    let scratch = tempfile::tempdir().unwrap();
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let (dir, save, load) = bundle(&["--with-referrers"], &chart);
        let stand_ins = StandIns::new();
        // The connected side saves; only the archive and load.sh cross the gap.
        let connected = dir.path().join("connected");
        std::fs::create_dir(&connected).unwrap();
        let out = stand_ins.run(&save, &[Path::new("images.oci.tar")], &connected, &[]);
        assert!(out.status.success(), "{name}: save.sh: {}", String::from_utf8_lossy(&out.stderr));
        let archive = scratch.path().join(format!("{name}.oci.tar"));
        std::fs::rename(connected.join("images.oci.tar"), &archive).unwrap();
        let out = stand_ins.run(&load, &[&archive], scratch.path(), &[]);
        assert!(out.status.success(), "{name}: load.sh: {}", String::from_utf8_lossy(&out.stderr));

        let expected: Vec<String> = planned_copies(&[], &chart)
            .into_iter()
            .map(|(source, destination)| format!("{source} -> {destination} -r"))
            .collect();
        assert_eq!(read_lines(&stand_ins.file("moved")), expected, "{name}");
        assert!(expected.iter().all(|line| line.contains(&format!(" -> {MIRROR}/"))), "{name}: {expected:?}");
    }
}

#[test]
fn issue_13_the_bundle_carries_the_chart_and_one_platform_and_fails_whole() {
    let chart = fixture("cert-manager-style");
    let scratch = tempfile::tempdir().unwrap();
    let archive = chart_archive(scratch.path(), "cert-manager-style");
    let archive_text = archive.display().to_string();
    let (dir, save, load) = bundle(&["--platform", "linux/arm64", "--chart-archive", &archive_text], &chart);
    let stand_ins = StandIns::new();
    let out = stand_ins.run(&save, &[], dir.path(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let saved = dir.path().join("images.oci.tar");
    let listing = std::process::Command::new("tar").arg("-tf").arg(&saved).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert!(listing.contains("./charts/cert-manager-style.tgz\n"), "{listing}");
    assert_eq!(listing.lines().filter(|line| line.starts_with("./images/image-")).count(), 5, "{listing}");
    let out = stand_ins.run(&load, &[&saved], dir.path(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let moved = read_lines(&stand_ins.file("moved"));
    assert_eq!(moved.len(), 5);
    assert_eq!(
        moved[2],
        format!(
            "quay.io/jetstack/cert-manager-controller@sha256:54f0bd84d58d1c93c25f40fd0eccad9d17877daa5d42f6cffe0c3dc4df42f442 \
             -> {MIRROR}/jetstack/cert-manager-controller:v1.17.2"
        )
    );
    assert_eq!(stand_ins.log(), [format!("helm push oci://{MIRROR}/charts")]);
    assert_eq!(std::fs::read(stand_ins.file("pushed.tgz")).unwrap(), std::fs::read(&archive).unwrap());
    let save_text = std::fs::read_to_string(&save).unwrap();
    assert!(
        save_text.contains(
            "\noras cp --platform 'linux/arm64' --to-oci-layout 'quay.io/jetstack/cert-manager-webhook:v1.17.2' \"$layout:image-0005\"\n"
        ),
        "{save_text}"
    );

    // One image the source registry refuses: no archive, not even a partial one.
    std::fs::remove_file(&saved).unwrap();
    let out = stand_ins.run(&save, &[], dir.path(), &[("FAIL_ON", "quay.io/jetstack/cert-manager-webhook:v1.17.2")]);
    assert!(!out.status.success());
    let left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["bundle"], "nothing but the scripts' directory");

    mirror(&["--format", "bundle"], &chart)
        .status(2)
        .stdout("")
        .diagnostic("HR060")
        .stderr_contains("--format bundle writes two scripts, save.sh and load.sh")
        .stderr_contains("hint: name the directory to write them to with -o DIR")
        .run();
}

#[test]
fn issue_13_new_scripts_of_every_fixture_pass_shellcheck() {
    let dir = tempfile::tempdir().unwrap();
    let archive = chart_archive(dir.path(), "cert-manager-style");
    let archive_text = archive.display().to_string();
    for chart in fixture_charts() {
        script(&["--format", "oras", "--with-referrers", "--platform", "linux/amd64"], &chart);
        script(
            &["--format", "crane", "--platform", "linux/amd64,linux/arm64", "--chart-archive", &archive_text],
            &chart,
        );
        script(&["--format", "skopeo", "--platform", "linux/arm64/v8", "--chart-archive", &archive_text], &chart);
        bundle(&["--with-referrers", "--chart-archive", &archive_text], &chart);
    }
}
