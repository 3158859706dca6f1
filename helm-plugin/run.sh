#!/bin/sh
# The one launcher of both Helm plugins (plugin.yaml at the top of the checkout or archive, and
# helm-plugin/retarget-cli/plugin.yaml). It runs helm-retarget: $HELM_RETARGET_BIN when set, else
# the binary shipped in the plugin (bin/, as in a release archive), one built in a source checkout
# (target/release/), or the one on PATH, in that order.
set -eu
dir=${HELM_PLUGIN_DIR:-$(dirname "$0")/..}
if [ -n "${HELM_RETARGET_BIN:-}" ]; then exec "$HELM_RETARGET_BIN" "$@"; fi
for candidate in "$dir/bin/helm-retarget" "$dir/target/release/helm-retarget" \
                 "$dir/../../bin/helm-retarget" "$dir/../../target/release/helm-retarget"; do
  if [ -x "$candidate" ]; then exec "$candidate" "$@"; fi
done
if command -v helm-retarget >/dev/null 2>&1; then exec helm-retarget "$@"; fi
echo "helm-retarget: binary not found in $dir/bin, $dir/target/release or PATH;" \
     "run 'cargo build --release' in the plugin directory or install helm-retarget" >&2
exit 127
