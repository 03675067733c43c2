#!/usr/bin/env bash
# Installs protoc from Debian's packages (the version the committed code was generated with).
set -euo pipefail
if command -v protoc >/dev/null 2>&1; then exit 0; fi
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
$sudo apt-get install -y -qq protobuf-compiler >/dev/null
