#!/usr/bin/env bash
# `make run`: shows what this host would contribute to an Agora cluster.
# Usage: Scripts/run-local.sh PATH-TO-agora
#
# The master and agent daemons arrive with the Core cluster issue; until then this
# runs the pieces that exist: the executable and its host check, which detects the
# resources an agent would offer and proves the messaging layer with a loopback
# round trip.
set -euo pipefail
agora=${1:-.build/debug/agora}
[ -x "$agora" ] || { echo "run-local: $agora is missing; run 'make build' first" >&2; exit 1; }

work_dir=$(mktemp -d -t agora-run.XXXXXX)
trap 'rm -rf "$work_dir"' EXIT

"$agora" doctor --work-dir "$work_dir"
echo
echo "Not started: 'agora master' and 'agora agent' are not available yet (Core cluster issue)."
