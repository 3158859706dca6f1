#!/usr/bin/env python3
"""How many public charts `helm-retarget template` renders byte-identical to Helm v4's `helm template`.

Not a test, and no chart files are committed: charts are named by repository and path in
`charts.txt` (`owner/repo path/in/repo`, one per line) and read from local bare git mirrors
(`--mirrors`, one `owner+repo/repo` git directory each, as the session's fetch tool leaves them).

For each chart: extract it to a scratch directory, vendor its dependencies from charts of the same
name in the same repository (`helm dependency build` would need the network; a chart whose
dependencies are not in its repository is skipped and counted as such), render it twice with Helm
(values that differ between two Helm runs, like random passwords, are masked line by line) and
once with helm-retarget, compare. Both get `--kube-version 1.36.0` (helm-retarget's default, Helm
4.2's); Helm v4.1.4 would otherwise assume v1.35.0.

Usage: benches/conformance/measure.py --helm .tools/helm-v4.1.4/helm --ours target/release/helm-retarget \
          --mirrors /work/.mirror --charts benches/conformance/charts.txt --out /tmp/conformance
Writes a summary to stdout and one `<chart>.diff` / `<chart>.err` per differing chart under --out.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import io

MASK = "<differs between two Helm runs>"


def git(mirror, *args):
    return subprocess.run(["git", "--git-dir", mirror, *args], capture_output=True, check=True).stdout


def chart_names(mirror, cache={}):
    """name -> path of every Chart.yaml in the repository at HEAD."""
    if mirror in cache:
        return cache[mirror]
    names = {}
    for path in git(mirror, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines():
        if not path.endswith("/Chart.yaml") or "/templates/" in path:
            continue
        text = git(mirror, "show", f"HEAD:{path}").decode(errors="replace")
        m = re.search(r"^name:\s*['\"]?([^'\"\s]+)", text, re.M)
        if m:
            names.setdefault(m.group(1), os.path.dirname(path))
    cache[mirror] = names
    return names


def extract(mirror, path, dest):
    data = git(mirror, "archive", "HEAD", path)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return os.path.join(dest, path)


def dependencies(chart_dir):
    """(name, alias-free directory name) of each dependency in Chart.yaml (a light reader)."""
    text = open(os.path.join(chart_dir, "Chart.yaml")).read()
    m = re.search(r"^dependencies:\s*\n((?:[ \t-].*\n?|\s*\n)*)", text, re.M)
    if not m:
        return []
    return re.findall(r"^\s*-?\s*name:\s*['\"]?([^'\"\s]+)", m.group(1), re.M)


def vendor(mirror, chart_dir, scratch, depth=0):
    """Copies each dependency from the same repository into charts/; False if one is missing."""
    if depth > 3:
        return False
    charts = os.path.join(chart_dir, "charts")
    for name in dependencies(chart_dir):
        present = os.listdir(charts) if os.path.isdir(charts) else []
        if name in present or any(f.startswith(name + "-") and f.endswith(".tgz") for f in present):
            continue
        source = chart_names(mirror).get(name)
        if source is None:
            return False
        where = extract(mirror, source, os.path.join(scratch, f"dep-{depth}-{name}"))
        os.makedirs(charts, exist_ok=True)
        shutil.copytree(where, os.path.join(charts, name))
        if not vendor(mirror, os.path.join(charts, name), scratch, depth + 1):
            return False
    return True


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def masked_helm(helm, chart, env):
    args = [helm, "template", "release", chart, "--namespace", "default", "--kube-version", "1.36.0"]
    first, second = run(args), run(args)
    if first.returncode != 0:
        return None, first.stderr
    a, b = first.stdout.split("\n"), second.stdout.split("\n")
    if a == b:
        return first.stdout, []
    if len(a) != len(b):
        return first.stdout, None  # cannot mask
    masked = [i for i in range(len(a)) if a[i] != b[i]]
    return "\n".join(MASK if i in masked else l for i, l in enumerate(a)), masked


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--helm", required=True)
    p.add_argument("--ours", required=True)
    p.add_argument("--mirrors", required=True)
    p.add_argument("--charts", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ)
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = os.path.join(a.out, "helm-home")
    os.environ.update(env)
    results = {"identical": [], "differs": [], "ours-incomplete": [], "helm-fails": [], "deps-missing": []}
    for line in open(a.charts):
        line = line.split("#")[0].strip()
        if not line:
            continue
        repo, path = line.split()
        label = f"{repo} {path}"
        safe = re.sub(r"[^A-Za-z0-9.-]+", "_", label)
        mirror = os.path.join(a.mirrors, repo.replace("/", "+"), "repo")
        scratch = os.path.join(a.out, "work", safe)
        shutil.rmtree(scratch, ignore_errors=True)
        chart = extract(mirror, path, scratch)
        if not vendor(mirror, chart, scratch):
            results["deps-missing"].append(label)
            continue
        expected, masked = masked_helm(a.helm, chart, env)
        if expected is None:
            results["helm-fails"].append(label)
            open(os.path.join(a.out, safe + ".helm-err"), "w").write(masked)
            continue
        ours = run([a.ours, "template", chart, "--release-name", "release", "--namespace", "default"])
        actual = ours.stdout
        if masked:
            actual = "\n".join(MASK if i in masked else l for i, l in enumerate(actual.split("\n")))
        if ours.returncode not in (0, 3):
            results["ours-incomplete"].append(label)
            open(os.path.join(a.out, safe + ".err"), "w").write(ours.stderr)
        elif ours.returncode == 3:
            results["ours-incomplete"].append(label)
            open(os.path.join(a.out, safe + ".err"), "w").write(ours.stderr)
        elif actual == expected:
            results["identical"].append(label)
        else:
            results["differs"].append(label)
            with open(os.path.join(a.out, safe + ".diff"), "w") as f:
                exp = os.path.join(scratch, "helm.yaml")
                got = os.path.join(scratch, "ours.yaml")
                open(exp, "w").write(expected)
                open(got, "w").write(actual)
                f.write(run(["diff", "-u", exp, got]).stdout)
        print(f"{label}: {next(k for k, v in results.items() if label in v)}", file=sys.stderr, flush=True)
    rendered = len(results["identical"]) + len(results["differs"]) + len(results["ours-incomplete"])
    print(f"charts that render in Helm: {rendered}; byte-identical: {len(results['identical'])}")
    for key, labels in results.items():
        print(f"{key}: {len(labels)}")
        for label in labels:
            print(f"  {label}")


if __name__ == "__main__":
    main()
