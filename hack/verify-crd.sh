#!/usr/bin/env bash
# Fails when regenerating the CRDs (hack/gencrd.sh) would change what is
# committed in deploy/kubernetes/10-crds.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=deploy/kubernetes/10-crds
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
./hack/gencrd.sh "$tmp/crds"
if ! diff -r "$dir" "$tmp/crds" >/dev/null 2>&1; then
  diff -ruN "$dir" "$tmp/crds" | head -40 >&2
  echo "verify-crd: the CRDs in $dir are stale: run 'make crd' and commit" >&2
  exit 1
fi
echo "verify-crd: the CRDs are fresh"
