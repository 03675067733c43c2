#!/usr/bin/env bash
# Builds one FROM-scratch image per Weft binary (weft/<bin>:<tag>) from
# static binaries built here: no base image is pulled.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${TAG:-dev}"
GO="${GO:-go}"
BINS=(controlplane ingress dispatcher weft)
CA="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
if [[ ! -r "$CA" ]]; then
	echo "images: no CA bundle at $CA (set CA_BUNDLE, or apt-get install ca-certificates)" >&2
	exit 1
fi
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
for bin in "${BINS[@]}"; do
	dir="$ctx/$bin"
	mkdir -p "$dir/bin" "$dir/data"
	cp "$CA" "$dir/ca-certificates.crt"
	CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$dir/bin/$bin" "./cmd/$bin"
	cp deploy/docker/Dockerfile "$dir/Dockerfile"
	# ENTRYPOINT and HEALTHCHECK take no build args: appended per binary.
	case "$bin" in
	weft) health='' ;; # the CLI: each compose service says what to probe
	*) health="HEALTHCHECK --interval=2s --timeout=3s --start-period=5s --retries=3 CMD [\"/$bin\", \"probe\"]" ;;
	esac
	printf '%s\nENTRYPOINT ["/%s"]\n' "$health" "$bin" >>"$dir/Dockerfile"
	# The legacy builder's deprecation notice is noise here: filtered out.
	docker build --quiet --build-arg BIN="$bin" -t "weft/$bin:$TAG" "$dir" 2>&1 >/dev/null |
		{ grep -v -e 'DEPRECATED' -e 'legacy builder' -e 'buildx' -e 'docs.docker.com' -e '^$' >&2 || true; }
	echo "weft/$bin:$TAG  $(docker image inspect -f '{{.Size}}' "weft/$bin:$TAG" | awk '{printf "%.1f MB", $1/1e6}')"
done
