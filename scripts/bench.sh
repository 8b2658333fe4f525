#!/usr/bin/env bash
# The standard benchmark (issue 6) against a running lab (scripts/lab.sh in another shell):
# the bare-HTTPS baseline, Encrypt as KMS's GenerateDataKey sends it, Decrypt, GetKeyMetadata
# (closed loop, 32 keep-alive HTTP/1.1 connections), then latency at the KMS default quota
# (open loop, 1800 requests/s). Samples edge and broker working set. Prints a markdown table.
#
# Environment (all optional):
#   XKS_LAB_STATE, XKS_LAB_PORT, XKS_LAB_MTLS   as for the lab (../shared/CONTRACT.md)
#   BENCH_SECONDS          one duration for every run (e.g. 5 for a quick check); otherwise
#   BENCH_BASELINE_SECONDS (10)  BENCH_THROUGHPUT_SECONDS (15)  BENCH_METADATA_SECONDS (10)
#   BENCH_LATENCY_SECONDS  (60)
#   BENCH_CONNECTIONS (32) BENCH_RATE (1800)  BENCH_LATENCY_SCENARIO (encrypt-cdiv)  BENCH_WARMUP (2)
#   BENCH_LAB_WARMUP (20)  seconds of unmeasured mixed load first: a freshly started lab runs at half
#                          speed until .NET's tiered compilation has optimised the hot paths
#   BENCH_JSON             also write the results as JSON to this file
#   BENCH_ARGS             extra arguments for XksGrpc.Bench (e.g. --http2)
set -euo pipefail
cd "$(dirname "$0")/.."

state=${XKS_LAB_STATE:-lab/state}
port=${XKS_LAB_PORT:-8443}
conns=${BENCH_CONNECTIONS:-32}
rate=${BENCH_RATE:-1800}
warmup=${BENCH_WARMUP:-2}
lab_warmup=${BENCH_LAB_WARMUP:-20}
latency_scenario=${BENCH_LATENCY_SCENARIO:-encrypt-cdiv}
baseline_s=${BENCH_SECONDS:-${BENCH_BASELINE_SECONDS:-10}}
throughput_s=${BENCH_SECONDS:-${BENCH_THROUGHPUT_SECONDS:-15}}
metadata_s=${BENCH_SECONDS:-${BENCH_METADATA_SECONDS:-10}}
latency_s=${BENCH_SECONDS:-${BENCH_LATENCY_SECONDS:-60}}

fail() { echo "bench.sh: $*" >&2; exit 1; }

command -v dotnet >/dev/null || fail "dotnet is not installed (scripts/lab.sh installs what the lab needs)"
[[ -f "$state/tls/ca.pem" ]] || fail "no lab state in '$state' (start the lab first: scripts/lab.sh)"

curl_tls=(--cacert "$state/tls/ca.pem")
if [[ "${XKS_LAB_MTLS:-0}" == 1 ]]; then
  curl_tls+=(--cert "$state/tls/client.pem" --key "$state/tls/client.key")
fi
if ! curl -fsS -o /dev/null --max-time 3 "${curl_tls[@]}" "https://localhost:$port/ping"; then
  fail "the lab is not up: GET https://localhost:$port/ping failed (start it with scripts/lab.sh and wait for 'ready')"
fi

echo "bench.sh: building the load generator" >&2
dotnet build -c Release -nologo -v q bench/XksGrpc.Bench/XksGrpc.Bench.csproj >&2 \
  || fail "building bench/XksGrpc.Bench failed"
bin=bench/XksGrpc.Bench/bin/Release/net10.0/XksGrpc.Bench

args=(
  --state "$state"
  --endpoint "https://localhost:$port"
  --warmup "$warmup"
  --baseline --baseline-scenario encrypt-cdiv --baseline-duration "$baseline_s"
  --run "encrypt-cdiv:c$conns:${throughput_s}s"
  --run "decrypt:c$conns:${throughput_s}s"
  --run "metadata:c$conns:${metadata_s}s"
  --run "$latency_scenario:r$rate:${latency_s}s"
  --connections "$conns"
  --rss "edge=$state/edge.pid" --rss "broker=$state/broker.pid"
  --markdown
)
[[ -n "${BENCH_JSON:-}" ]] && args+=(--json "$BENCH_JSON")
# shellcheck disable=SC2206
[[ -n "${BENCH_ARGS:-}" ]] && args+=(${BENCH_ARGS})

if ((lab_warmup > 0)); then
  echo "bench.sh: warming the lab up for ${lab_warmup}s (mixed load, not measured)" >&2
  "$bin" --state "$state" --endpoint "https://localhost:$port" --scenario mix --connections "$conns" \
    --duration "${lab_warmup}s" --warmup 0 --quiet >/dev/null \
    || fail "the warm-up load failed: is the lab healthy?"
fi

echo "### Benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
exec "$bin" "${args[@]}"
