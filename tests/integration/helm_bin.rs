//! Real Helm binaries (v3.17.2 and v4.1.4) that `tests/run` installs under `.tools/`, called from
//! Rust tests. A missing binary is a loud failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The two Helm major versions the tests run inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helm {
    V3,
    V4,
}

impl Helm {
    pub const ALL: [Helm; 2] = [Helm::V3, Helm::V4];

    /// The binary: `$HELM_RETARGET_HELM3`/`$HELM_RETARGET_HELM4`, else `.tools/helm-<version>/helm`.
    pub fn binary(self) -> PathBuf {
        let (var, version) = match self {
            Helm::V3 => ("HELM_RETARGET_HELM3", "v3.17.2"),
            Helm::V4 => ("HELM_RETARGET_HELM4", "v4.1.4"),
        };
        let path = std::env::var_os(var).map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(".tools/helm-{version}/helm")),
            PathBuf::from,
        );
        assert!(
            path.exists(),
            "Helm {version} is missing at {}: run the tests with `tests/run`, which installs it \
             (or set {var})",
            path.display()
        );
        path
    }

    /// A `helm` command with its own empty config, cache and data homes under `home`, so no
    /// user's plugins or repositories leak into a test.
    pub fn command(self, home: &Path) -> Command {
        let mut command = Command::new(self.binary());
        for (var, dir) in [("HELM_CONFIG_HOME", "config"), ("HELM_CACHE_HOME", "cache"), ("HELM_DATA_HOME", "data")] {
            command.env(var, home.join(dir));
        }
        command.env_remove("HELM_PLUGINS").env_remove("KUBECONFIG");
        command
    }

    /// `helm template release CHART ARGS...`, stdout on success, stderr as the error.
    pub fn template(self, home: &Path, chart: &Path, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(home)
            .args(["template", "release"])
            .arg(chart)
            .args(["--namespace", "default"])
            .args(args)
            .output()
            .expect("helm runs");
        output_text(out)
    }
}

/// stdout of a successful run, else stderr.
fn output_text(out: Output) -> Result<String, String> {
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("helm writes UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn both_helm_binaries_run_and_report_their_pinned_versions() {
    let home = tempfile::tempdir().unwrap();
    for (helm, want) in [(Helm::V3, "v3.17.2"), (Helm::V4, "v4.1.4")] {
        let out = helm.command(home.path()).args(["version", "--short"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(want), "{helm:?}: {text}");
    }
}

#[test]
fn every_fixture_chart_renders_in_both_helm_binaries() {
    let home = tempfile::tempdir().unwrap();
    for chart in crate::fixtures::fixture_charts() {
        for helm in Helm::ALL {
            let out = helm.template(home.path(), &chart, &[]);
            let text = out.unwrap_or_else(|e| panic!("{helm:?} {}: {e}", chart.display()));
            assert!(text.contains("kind:"), "{helm:?} {}: rendered no objects", chart.display());
        }
    }
}
