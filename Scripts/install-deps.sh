#!/usr/bin/env bash
# Installs the Debian packages Agora needs to build, test and run, if any are missing.
# Usage: Scripts/install-deps.sh [extra-package ...]
set -euo pipefail

packages=(
  libzmq3-dev        # ZeroMQ, the transport (CZeroMQ target)
  pkg-config         # how SwiftPM finds libzmq
  protobuf-compiler  # protoc, for Scripts/generate-protos.sh
  protobuf-c-compiler libprotobuf-c-dev  # protoc-c, for the C example framework
  libsqlite3-dev     # SQLite, for the registries
  gcc make           # the C benchmark peer and the C example framework
  iproute2           # ip netns, for the partition tests
  curl               # make run shows a task's output over the agent's HTTP API
  python3-venv       # the tests install the Python marathon and kubernetes clients into venvs
  "$@"
)
# kubectl, the judge of the Kubernetes adapter; Debian's kubernetes-client unless a
# kubectl (for instance from Kubernetes' own apt repository) is already installed.
command -v kubectl >/dev/null || packages+=(kubernetes-client)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
run apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
