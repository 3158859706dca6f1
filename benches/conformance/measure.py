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

With `--overlay-timing`, instead: for every chart prepared the same way, times whole processes
side by side, alternating, `--runs` times each (default 5): `helm-retarget overlay CHART --registry
registry.example.org -o FILE` against `helm template release CHART --kube-version 1.36.0`, and
reports the medians of wall time and of CPU time (user+sys of the child and what it waited for,
from wait4). One line per chart, a summary, and `timing.tsv` under --out. Charts whose overlay
exits non-zero are listed with the first error line of its stderr (exit 3 with HR070, images in
ConfigMap text, counted apart).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import io
import statistics
import time

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


def chart_lines(path):
    for line in open(path):
        line = line.split("#")[0].strip()
        if line:
            yield line.split()


def prepared(a, repo, path):
    """(label, scratch directory, chart directory or None when its dependencies are missing)."""
    label = f"{repo} {path}"
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", label)
    mirror = os.path.join(a.mirrors, repo.replace("/", "+"), "repo")
    scratch = os.path.join(a.out, "work", safe)
    shutil.rmtree(scratch, ignore_errors=True)
    chart = extract(mirror, path, scratch)
    return label, scratch, chart if vendor(mirror, chart, scratch) else None


def timed(cmd, stdout, stderr):
    """(exit status, wall s, CPU s) of one whole process: user+sys of it and of what it waited for."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime


def first_error(path):
    lines = [l.strip() for l in open(path, errors="replace").read().splitlines() if l.strip()]
    for l in lines:
        if "panicked" in l or re.search(r"\berror\b", l, re.I):
            return l
    return lines[0] if lines else "(no stderr)"


def overlay_timing(a):
    rows = []  # (label, overlay cpu, helm cpu, overlay wall, helm wall, overlay exit, helm exit, error line)
    skipped = []
    tsv = open(os.path.join(a.out, "timing.tsv"), "w")
    tsv.write("chart\toverlay_cpu_ms\thelm_cpu_ms\toverlay_wall_ms\thelm_wall_ms\toverlay_exit\thelm_exit\n")
    for repo, path in chart_lines(a.charts):
        label, scratch, chart = prepared(a, repo, path)
        if chart is None:
            skipped.append(label)
            print(f"{label}: deps-missing, not timed", file=sys.stderr, flush=True)
            continue
        overlay_out = os.path.join(scratch, "overlay.yaml")
        overlay_err = os.path.join(scratch, "overlay.stderr")
        ours = [a.ours, "overlay", chart, "--registry", a.registry, "-o", overlay_out]
        helm = [a.helm, "template", "release", chart, "--kube-version", "1.36.0"]
        o_cpu, o_wall, h_cpu, h_wall, o_exits, h_exits = [], [], [], [], set(), set()
        for _ in range(a.runs):
            with open(overlay_err, "w") as err:
                code, wall, cpu = timed(ours, subprocess.DEVNULL, err)
            o_exits.add(code)
            o_cpu.append(cpu)
            o_wall.append(wall)
            code, wall, cpu = timed(helm, subprocess.DEVNULL, subprocess.DEVNULL)
            h_exits.add(code)
            h_cpu.append(cpu)
            h_wall.append(wall)
        o_exit = o_exits.pop() if len(o_exits) == 1 else "/".join(map(str, sorted(o_exits)))
        h_exit = h_exits.pop() if len(h_exits) == 1 else "/".join(map(str, sorted(h_exits)))
        error = first_error(overlay_err) if o_exit != 0 else ""
        oc, hc = statistics.median(o_cpu), statistics.median(h_cpu)
        ow, hw = statistics.median(o_wall), statistics.median(h_wall)
        rows.append((label, oc, hc, ow, hw, o_exit, h_exit, error))
        tsv.write(f"{label}\t{oc*1000:.0f}\t{hc*1000:.0f}\t{ow*1000:.0f}\t{hw*1000:.0f}\t{o_exit}\t{h_exit}\n")
        tsv.flush()
        line = (f"{label}: overlay {oc*1000:.0f} ms CPU, helm {hc*1000:.0f} ms CPU, "
                f"CPU ratio {oc/hc:.2f}, wall ratio {ow/hw:.2f}, overlay exit {o_exit}")
        if h_exit != 0:
            line += f", helm exit {h_exit}"
        print(line, flush=True)

    timed_rows = [r for r in rows if r[6] == 0]  # a chart Helm cannot render has no reference
    ok = [r for r in timed_rows if r[5] == 0]
    print()
    print(f"charts measured: {len(rows)} (deps-missing, not timed: {len(skipped)}; "
          f"helm template fails: {len(rows) - len(timed_rows)})")
    for what, subset in (("all charts Helm renders", timed_rows), ("overlay exit 0", ok)):
        if not subset:
            continue
        o_sum, h_sum = sum(r[1] for r in subset), sum(r[2] for r in subset)
        print(f"{what} ({len(subset)}): CPU overlay {o_sum:.2f} s, helm {h_sum:.2f} s, sum ratio {o_sum/h_sum:.2f}; "
              f"median CPU ratio {statistics.median(r[1]/r[2] for r in subset):.2f}, "
              f"median wall ratio {statistics.median(r[3]/r[4] for r in subset):.2f}")
    for what, key in (("CPU", lambda r: r[1] / r[2]), ("wall", lambda r: r[3] / r[4])):
        worst = sorted(timed_rows, key=key, reverse=True)[:5]
        print(f"5 worst {what} ratios: " + "; ".join(
            f"{r[0]} {key(r):.2f} ({(r[1] if what == 'CPU' else r[3])*1000:.0f} vs "
            f"{(r[2] if what == 'CPU' else r[4])*1000:.0f} ms, exit {r[5]})" for r in worst))
    failed = [r for r in rows if r[5] != 0]
    expected = [r for r in failed if r[5] == 3 and "HR070" in open(
        os.path.join(a.out, "work", re.sub(r"[^A-Za-z0-9.-]+", "_", r[0]), "overlay.stderr"), errors="replace").read()]
    others = [r for r in failed if r not in expected]
    print(f"overlay exit 3 with HR070 (images in ConfigMap text): {len(expected)}")
    for r in expected:
        print(f"  {r[0]}: {r[7]}")
    print(f"overlay exit other than 0 otherwise: {len(others)}")
    for r in others:
        helm_fails = f"; helm template fails too, exit {r[6]}" if r[6] != 0 else ""
        print(f"  {r[0]} (exit {r[5]}{helm_fails}): {r[7]}")
    if skipped:
        print(f"deps-missing, not timed: {len(skipped)}")
        for label in skipped:
            print(f"  {label}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--helm", required=True)
    p.add_argument("--ours", required=True)
    p.add_argument("--mirrors", required=True)
    p.add_argument("--charts", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--overlay-timing", action="store_true",
                   help="time `helm-retarget overlay` against `helm template` instead of comparing output")
    p.add_argument("--runs", type=int, default=5, help="runs of each command per chart (--overlay-timing)")
    p.add_argument("--registry", default="registry.example.org", help="target registry (--overlay-timing)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ)
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = os.path.join(a.out, "helm-home")
    os.environ.update(env)
    if a.overlay_timing:
        return overlay_timing(a)
    results = {"identical": [], "differs": [], "ours-incomplete": [], "helm-fails": [], "deps-missing": []}
    for repo, path in chart_lines(a.charts):
        label, scratch, chart = prepared(a, repo, path)
        safe = os.path.basename(scratch)
        if chart is None:
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
