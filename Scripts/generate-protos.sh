#!/usr/bin/env bash
# Regenerates Sources/AgoraProto/*.pb.swift from proto/agora/v1/*.proto.
#
# Uses protoc from Debian's protobuf-compiler (installed when missing) and a
# protoc-gen-swift built from the swift-protobuf version that Package.swift
# resolves, so the generated code always matches the runtime library.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v protoc >/dev/null 2>&1; then
  echo "generate-protos: installing protobuf-compiler" >&2
  sudo_if_needed apt-get update
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y protobuf-compiler
fi

swift package resolve
plugin_src="$root/.build/checkouts/swift-protobuf"
plugin_build="$root/.build-protoc-gen-swift"
if [ ! -d "$plugin_src" ]; then
  echo "generate-protos: swift-protobuf checkout not found at $plugin_src" >&2
  exit 1
fi
swift build -c release --package-path "$plugin_src" --scratch-path "$plugin_build" --product protoc-gen-swift
plugin="$plugin_build/release/protoc-gen-swift"

out="$root/Sources/AgoraProto"
rm -f "$out"/*.pb.swift
protoc \
  --plugin=protoc-gen-swift="$plugin" \
  --swift_out="$out" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=DropPath \
  -I "$root/proto" \
  "$root"/proto/agora/v1/*.proto
echo "generate-protos: wrote $(ls "$out"/*.pb.swift | wc -l) files to Sources/AgoraProto" >&2
