#!/usr/bin/env bash
# Fails when regenerating proto/ would change the committed generated code.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null 2>&1; then
  ./hack/install-protoc.sh || { echo "verify-proto: protoc unavailable and could not be installed" >&2; exit 1; }
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp -r proto "$tmp/before"
./hack/genproto.sh
if ! diff -r "$tmp/before" proto >/dev/null; then
  diff -ru "$tmp/before" proto | head -40 >&2
  cp -r "$tmp/before/." proto/
  echo "verify-proto: generated code in proto/ is stale: run 'make proto' and commit" >&2
  exit 1
fi
echo "verify-proto: generated code is fresh"
