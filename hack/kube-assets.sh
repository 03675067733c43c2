#!/usr/bin/env bash
# Builds a real kube-apiserver, kubectl and etcd from the Go module proxy into
# a cache (once per machine and version; seconds when warm) and prints the
# directory, for envtest's KUBEBUILDER_ASSETS and for tests that run kubectl.
#
#   KUBEBUILDER_ASSETS=$(hack/kube-assets.sh)
#
# No download site or registry is needed: each binary is compiled from its Go
# module (k8s.io/kubernetes with one replace per staging module; etcd's server
# module through a scratch module). Versions: KUBE_VERSION (default v1.37.2,
# falling back to v1.36.3 when the proxy refuses it) and ETCD_VERSION.
set -euo pipefail
GO="${GO:-go}"
KUBE_VERSIONS="${KUBE_VERSION:-v1.37.2 v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE="${WEFT_KUBE_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/kube-assets}"
log() { echo "kube-assets: $*" >&2; }

# build_kube VERSION DIR: kube-apiserver and kubectl of VERSION into DIR.
build_kube() {
	local v="$1" out="$2" mod minor
	minor="${v#v1.}"; minor="${minor%%.*}"
	mod="$(mktemp -d)"
	(
		cd "$mod"
		"$GO" mod init weft.local/kubeassets >/dev/null 2>&1
		local info dir
		info="$("$GO" mod download -json "k8s.io/kubernetes@$v")" || return 1
		dir="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
		[ -n "$dir" ] || return 1
		{
			echo "require k8s.io/kubernetes $v"
			echo "replace ("
			# Each staging module => its v0.X.Y tag (Kubernetes v1.X.Y).
			sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$dir/go.mod" |
				while read -r m; do echo "	$m => $m v0${v#v1}"; done
			echo ")"
		} >>go.mod
		cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
		"$GO" mod tidy >/dev/null 2>&1 || "$GO" mod tidy
		local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
		CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
		CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl
	)
	local rc=$?
	rm -rf "$mod"
	return $rc
}

# build_etcd DIR: etcd ETCD_VERSION into DIR (a scratch module: `go install`
# refuses etcd's replace directives).
build_etcd() {
	local out="$1" mod
	mod="$(mktemp -d)"
	(
		cd "$mod"
		"$GO" mod init weft.local/etcdassets >/dev/null 2>&1
		cat >tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
		"$GO" mod edit -require "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
		"$GO" mod tidy >/dev/null 2>&1 || "$GO" mod tidy
		CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
	)
	local rc=$?
	rm -rf "$mod"
	return $rc
}

# One build at a time per machine: test packages that start the API server
# run this script concurrently, and a second build replacing the first's
# directory pulled etcd away from under a running test.
mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE/.lock"
	flock 9
fi

for v in $KUBE_VERSIONS; do
	dir="$CACHE/$v-etcd-$ETCD_VERSION"
	if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kubectl" ] && [ -x "$dir/etcd" ]; then
		echo "$dir"
		exit 0
	fi
	tmp="$dir.tmp.$$"
	rm -rf "$tmp"; mkdir -p "$tmp"
	log "building kube-apiserver and kubectl $v and etcd $ETCD_VERSION into $dir (a few minutes, once per machine)"
	if build_kube "$v" "$tmp" && build_etcd "$tmp"; then
		if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kubectl" ] && [ -x "$dir/etcd" ]; then
			rm -rf "$tmp" # another build finished first: keep its binaries in place
		else
			rm -rf "$dir"; mv "$tmp" "$dir"
		fi
		echo "$dir"
		exit 0
	fi
	rm -rf "$tmp"
	log "building Kubernetes $v failed; trying the next version"
done
log "could not build kube-apiserver, kubectl and etcd (tried $KUBE_VERSIONS)"
exit 1
