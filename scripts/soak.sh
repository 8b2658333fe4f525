#!/usr/bin/env bash
# Soak (issue 6): a lab of its own (scripts/lab.sh on a temporary state and a free port) under the
# bench load generator at a fixed request rate, then a report of errors and of the edge's and the
# broker's working set, threads and open file descriptors at the start and the end.
# Not part of scripts/test.sh (it runs for 10 minutes by default).
#
# Environment: SOAK_SECONDS (600), SOAK_RATE (1800, the KMS default quota), SOAK_SCENARIO (encrypt-cdiv),
#   SOAK_MAX_RSS_GROWTH_MB (64), SOAK_MAX_THREAD_GROWTH (16), SOAK_MAX_FD_GROWTH (32),
#   SOAK_KEEP (1: keep the lab's state and logs; they are kept anyway when the soak fails)
# The rate is one the machine sustains: a soak looks for leaks and for errors under steady load, not
# for the ceiling (scripts/bench.sh measures that). An overloaded lab only shows client timeouts.
# Exit status: non-zero on any error answer, a restarted edge or broker, or growth beyond a bound.
set -euo pipefail
XKS_LOG_TAG=soak
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$XKS_ROOT"
xks_require_dotnet
xks_ensure_packages python3

seconds=${SOAK_SECONDS:-600} rate=${SOAK_RATE:-1800} scenario=${SOAK_SCENARIO:-encrypt-cdiv}
max_rss=${SOAK_MAX_RSS_GROWTH_MB:-64} max_threads=${SOAK_MAX_THREAD_GROWTH:-16} max_fds=${SOAK_MAX_FD_GROWTH:-32}
keep=${SOAK_KEEP:-0}
work=$(mktemp -d /tmp/xks-soak-XXXXXX)
state=$work/state
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
lab_pid=0 status=0
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local rc=$?
    if ((lab_pid > 0)) && kill -0 "$lab_pid" 2>/dev/null; then
        kill -TERM "$lab_pid" 2>/dev/null || true
        wait "$lab_pid" 2>/dev/null || true
    fi
    if ((rc == 0 && keep != 1)); then
        rm -rf "$work"
    else
        echo "soak.sh: lab state and logs kept in $work" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dotnet build -c Release -nologo -v q bench/XksGrpc.Bench/XksGrpc.Bench.csproj >&2
# The metrics listeners are off: their fixed default ports may belong to another lab on this machine.
XKS_LAB_STATE=$state XKS_LAB_PORT=$port XKS_LAB_EDGE_METRICS_PORT=0 XKS_LAB_BROKER_METRICS_PORT=0 \
    scripts/lab.sh >"$work/lab.log" 2>&1 &
lab_pid=$!
ready() { grep -q '^ready:' "$work/lab.log"; }
for _ in $(seq 600); do
    ready && break
    kill -0 "$lab_pid" 2>/dev/null || { cat "$work/lab.log" >&2; exit 1; }
    sleep 0.5
done
ready || { echo "soak.sh: the lab did not become ready" >&2; exit 1; }

# sample NAME: "pid rss_kb threads fds" of the program whose pid file is NAME.pid
sample() {
    local pid
    xks_read pid "$state/$1.pid"
    printf '%s %s %s %s\n' "$pid" "$(awk '/^VmRSS/{print $2}' "/proc/$pid/status")" "$(awk '/^Threads/{print $2}' "/proc/$pid/status")" "$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)"
}

bin=bench/XksGrpc.Bench/bin/Release/net10.0/XksGrpc.Bench
target=(--state "$state" --endpoint "https://localhost:$port")
# A short warm-up at the same rate first, so the start sample is of a warm process; its errors count too.
# The measured run has 5 s of its own warm-up (its errors count too): the load generator is a new
# process whose first second (its JIT, 32 new TLS connections) is not the proxy's latency.
# Before both, 20 s of closed-loop mixed load (as scripts/bench.sh does; errors do not count): a lab
# fresh from start runs tier-0 JIT code at about half speed, and 1800/s open loop at once can then
# pile up requests until the client's timeouts and reconnections swamp it (seen on 2026-11-29).
bench_rc=0
"$bin" "${target[@]}" --warmup 0 --scenario mix --connections 32 --duration 20s --quiet >/dev/null || true
"$bin" "${target[@]}" --warmup 0 --run "$scenario:r$rate:20s" --quiet --json "$work/warmup.json" >/dev/null || bench_rc=$?
declare -A start end
for p in edge broker; do start[$p]=$(sample "$p"); done
"$bin" "${target[@]}" --warmup 5 --run "$scenario:r$rate:${seconds}s" \
    --rss "edge=$state/edge.pid" --rss "broker=$state/broker.pid" --markdown --json "$work/soak.json" | tee "$work/bench.md" || bench_rc=$?
for p in edge broker; do end[$p]=$(sample "$p"); done

# errors FILE: the error answers of every run in a bench JSON report (missing report: -1)
errors() {
    python3 -c '
import json, os, sys
if not os.path.exists(sys.argv[1]):
    print(-1); sys.exit()
print(sum(sum(r.get("errors", {}).values()) for r in json.load(open(sys.argv[1]))["runs"]))' "$1"
}
warmup_errors=$(errors "$work/warmup.json") soak_errors=$(errors "$work/soak.json")

echo
echo "| program | working set start → end (MB) | threads start → end | fds start → end |"
echo "| --- | --- | --- | --- |"
for p in edge broker; do
    read -r pid0 r0 t0 f0 <<<"${start[$p]}"
    read -r pid1 r1 t1 f1 <<<"${end[$p]}"
    echo "| $p | $((r0 / 1024)) → $((r1 / 1024)) | $t0 → $t1 | $f0 → $f1 |"
    if ((pid0 != pid1)); then
        echo "soak.sh: the $p was restarted during the soak (pid $pid0 → $pid1)" >&2; status=1
    elif (((r1 - r0) / 1024 > max_rss || t1 - t0 > max_threads || f1 - f0 > max_fds)); then
        echo "soak.sh: $p grew beyond the bounds (+$max_rss MB, +$max_threads threads, +$max_fds fds)" >&2; status=1
    fi
done
if grep -q 'exited with status' "$work/lab.log"; then
    echo "soak.sh: the lab restarted a program:" >&2; grep 'exited with status' "$work/lab.log" >&2; status=1
fi
echo "errors: $soak_errors in the soak, $warmup_errors in the warm-up (rate $rate/s, $seconds s, $scenario)"
((soak_errors == 0 && warmup_errors == 0)) || status=1
((bench_rc == 0)) || { echo "soak.sh: the load generator exited with status $bench_rc" >&2; status=1; }
exit "$status"
