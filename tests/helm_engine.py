"""Renders a chart with the real Helm engine (helm-python-sdk, Helm v4's Go engine) for the tests.

Reads one JSON request on stdin: {"chart": PATH, "values": {...}, "name": ..., "namespace": ...}
and writes {"manifests": {template path: rendered text}} on stdout. Any failure exits 1 with the
engine's message on stderr, so a test can never mistake a broken engine for an empty render.
"""

import json
import sys

import helm_python


def main() -> int:
    request = json.load(sys.stdin)
    chart = helm_python.Chart.load(request["chart"])
    manifests = chart.render(
        request.get("values") or {},
        name=request.get("name", "release"),
        namespace=request.get("namespace", "default"),
        is_install=True,
    )
    json.dump({"manifests": manifests}, sys.stdout)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # the engine's own message is what the test should show
        print(f"helm engine: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
