#!/usr/bin/env bash
# Soak (issue 6): a lab of its own (scripts/lab.sh on a temporary state and a free port) under the
# bench load generator at a fixed request rate, then a report of errors and of the edge's and the
# broker's working set, threads and open file descriptors at the start and the end.
# Not part of scripts/test.sh (it runs for 10 minutes by default).
#
# Environment: SOAK_SECONDS (600), SOAK_RATE (1800), SOAK_SCENARIO (encrypt-cdiv),
#   SOAK_MAX_RSS_GROWTH_MB (64), SOAK_MAX_THREAD_GROWTH (16), SOAK_MAX_FD_GROWTH (32)
# Exit status: non-zero on any error answer, or growth beyond a bound.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SOAK_SECONDS:-600} rate=${SOAK_RATE:-1800} scenario=${SOAK_SCENARIO:-encrypt-cdiv}
max_rss=${SOAK_MAX_RSS_GROWTH_MB:-64} max_threads=${SOAK_MAX_THREAD_GROWTH:-16} max_fds=${SOAK_MAX_FD_GROWTH:-32}
work=$(mktemp -d /tmp/xks-soak-XXXXXX)
state=$work/state
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
lab_pid=0
cleanup() { ((lab_pid > 0)) && kill -TERM "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

dotnet build -c Release -nologo -v q bench/XksGrpc.Bench/XksGrpc.Bench.csproj >&2
XKS_LAB_STATE=$state XKS_LAB_PORT=$port scripts/lab.sh >"$work/lab.log" 2>&1 &
lab_pid=$!
for _ in $(seq 600); do grep -q ready "$work/lab.log" && break; kill -0 "$lab_pid" 2>/dev/null || { cat "$work/lab.log" >&2; exit 1; }; sleep 0.5; done
grep -q ready "$work/lab.log" || { echo "soak.sh: the lab did not become ready" >&2; exit 1; }

# sample NAME: "rss_kb threads fds" of the program whose pid file is NAME.pid
sample() { local pid; pid=$(<"$state/$1.pid"); printf '%s %s %s\n' "$(awk '/VmRSS/{print $2}' "/proc/$pid/status")" "$(awk '/Threads/{print $2}' "/proc/$pid/status")" "$(ls "/proc/$pid/fd" | wc -l)"; }

bin=bench/XksGrpc.Bench/bin/Release/net10.0/XksGrpc.Bench
# A short warm-up at the same rate first, so the start sample is of a warm process.
"$bin" --state "$state" --endpoint "https://localhost:$port" --run "$scenario:r$rate:20s" --quiet >/dev/null
read -r edge_rss0 edge_thr0 edge_fd0 < <(sample edge)
read -r broker_rss0 broker_thr0 broker_fd0 < <(sample broker)
"$bin" --state "$state" --endpoint "https://localhost:$port" --warmup 0 --run "$scenario:r$rate:${seconds}s" \
    --rss "edge=$state/edge.pid" --rss "broker=$state/broker.pid" --markdown --json "$work/soak.json" | tee "$work/bench.md"
read -r edge_rss1 edge_thr1 edge_fd1 < <(sample edge)
read -r broker_rss1 broker_thr1 broker_fd1 < <(sample broker)

errors=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); runs=d.get("runs", d if isinstance(d,list) else []); print(sum(sum(r.get("errors", {}).values()) for r in runs))' "$work/soak.json")
status=0
echo
echo "| program | working set start → end (MB) | threads start → end | fds start → end |"
echo "| --- | --- | --- | --- |"
for p in edge broker; do
    eval "r0=\$${p}_rss0 r1=\$${p}_rss1 t0=\$${p}_thr0 t1=\$${p}_thr1 f0=\$${p}_fd0 f1=\$${p}_fd1"
    echo "| $p | $((r0 / 1024)) → $((r1 / 1024)) | $t0 → $t1 | $f0 → $f1 |"
    if (((r1 - r0) / 1024 > max_rss || t1 - t0 > max_threads || f1 - f0 > max_fds)); then
        echo "soak.sh: $p grew beyond the bounds (+$max_rss MB, +$max_threads threads, +$max_fds fds)" >&2; status=1
    fi
done
echo "errors: $errors (rate $rate/s, $seconds s, $scenario)"
((errors == 0)) || status=1
exit "$status"
