#!/usr/bin/env bash
# Regenerates the Go code beside proto/weft/v1/*.proto with the plugin versions pinned in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
go build -o "$tmp/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
protoc --plugin=protoc-gen-go="$tmp/protoc-gen-go" --plugin=protoc-gen-go-grpc="$tmp/protoc-gen-go-grpc" \
  -I proto --go_out=paths=source_relative:proto --go-grpc_out=paths=source_relative:proto \
  proto/weft/v1/*.proto
