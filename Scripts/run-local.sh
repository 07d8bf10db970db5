#!/usr/bin/env bash
# `make run`: starts a local Agora cluster (a master, two agents, the app framework
# and the Kubernetes adapter on this host), runs a demo task through it, deploys the
# example web app, shows the cluster, and keeps it running until Ctrl-C.
# Usage: Scripts/run-local.sh PATH-TO-agora
set -euo pipefail
agora=${1:-.build/debug/agora}
[ -x "$agora" ] || { echo "run-local: $agora is missing; run 'make build' first" >&2; exit 1; }
# The agents start the built-in executor from the directory agora is in.
[ -x "$(dirname "$agora")/agora-executor" ] || { echo "run-local: $(dirname "$agora")/agora-executor is missing; run 'make build' first" >&2; exit 1; }
agora=$(cd "$(dirname "$agora")" && pwd)/$(basename "$agora")

work_dir=$(mktemp -d -t agora-local.XXXXXX)
ready_file="$work_dir/ready.json"
"$agora" local --agents 2 --work-dir "$work_dir" --port "${AGORA_PORT:-5050}" --http-port "${AGORA_HTTP_PORT:-5080}" \
  >"$ready_file" 2>"$work_dir/local.log" &
local_pid=$!
stop() { kill -TERM "$local_pid" 2>/dev/null || true; wait "$local_pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

# Wait for the ready line (the cluster prints it once the master and agents are up).
for _ in $(seq 1 600); do
  grep -q '"ready":true' "$ready_file" 2>/dev/null && break
  kill -0 "$local_pid" 2>/dev/null || { echo "agora local failed:" >&2; cat "$work_dir/local.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '"ready":true' "$ready_file" || { echo "agora local did not get ready in time" >&2; exit 1; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$ready_file" | head -1; }
master=$(field master)
master_http=$(field master_http)
marathon=$(field marathon)
kube_api=$(field kube_api)
echo "== cluster ready: master $master, HTTP $master_http (work dir $work_dir)"
echo
echo "== demo: agora run --master $master -- 'echo hello from Agora on \$(hostname)'"
"$agora" run --master "$master" --cpus 0.1 --mem 32 -- 'echo hello from Agora on $(hostname)' | tee "$work_dir/demo.out"
output_url=$(grep -o 'output: [^ ]*' "$work_dir/demo.out" | head -1 | cut -d' ' -f2)
if [ -n "$output_url" ]; then
  echo "== the task's stdout ($output_url):"
  curl -fsS "$output_url" || true
fi
echo
echo "== agora app deploy Examples/apps/web.json --marathon $marathon"
examples=$(cd "$(dirname "$0")/../Examples/apps" && pwd)
"$agora" app deploy "$examples/web.json" --marathon "$marathon"
"$agora" app tasks /web --marathon "$marathon"
web_port=$("$agora" app tasks /web --marathon "$marathon" --json \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["tasks"][0]["ports"][0])' 2>/dev/null || true)
if [ -n "$web_port" ]; then
  echo "== the web app answers at http://127.0.0.1:$web_port/ :"
  curl -fsS "http://127.0.0.1:$web_port/" | head -5 || true
fi
echo
echo "== agora cluster status --master-http $master_http"
"$agora" cluster status --master-http "$master_http"
echo
echo "The cluster keeps running. Try, in another shell:"
echo "  $agora run --master $master --instances 3 -- 'sleep 5; echo done'"
echo "  $agora tasks --all --master-http $master_http"
echo "  $agora app list --marathon $marathon        # Marathon's REST API: curl $marathon/v2/apps"
echo "  $agora app scale /web 4 --marathon $marathon"
echo "  kubectl --server $kube_api get nodes"
echo "Press Ctrl-C to stop it."
wait "$local_pid"
