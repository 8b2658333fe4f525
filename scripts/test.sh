#!/usr/bin/env bash
# Builds the solution with warnings as errors and runs every test project.
# Last line: "Tests: N passed, N failed[, N skipped]". Exit status is non-zero when
# the build fails, any test fails, a test run crashes, or no test ran at all.
set -euo pipefail

XKS_LOG_TAG="test"
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$XKS_ROOT"

# Per project wall clock limit and per test hang limit, so CI always ends in bounded time.
project_timeout=${XKS_TEST_PROJECT_TIMEOUT:-1500}
hang_timeout=${XKS_TEST_HANG_TIMEOUT:-5m}

summary() {
    local passed=$1 failed=$2 skipped=$3
    if ((skipped > 0)); then
        echo "Tests: $passed passed, $failed failed, $skipped skipped"
    else
        echo "Tests: $passed passed, $failed failed"
    fi
}

xks_require_dotnet
# The end-to-end tests run SoftHSMv2, openssl and curl for real; a missing one is a failure, never a skip.
xks_ensure_packages "${XKS_RUNTIME_PACKAGES[@]}"

results="$XKS_ROOT/TestResults/ci"
rm -rf "$results"
mkdir -p "$results"

xks_log "building XksGrpc.sln (Release, warnings as errors)"
if ! dotnet build XksGrpc.sln -c Release -warnaserror -nodeReuse:false -v minimal; then
    xks_log "build failed"
    dotnet build-server shutdown >/dev/null 2>&1 || true
    summary 0 0 0
    exit 1
fi

# Every test project under tests/ (projects whose csproj says IsTestProject=true).
mapfile -t projects < <(grep -l '<IsTestProject>true</IsTestProject>' tests/*/*.csproj | sort)
((${#projects[@]} > 0)) || { xks_log "no test project found"; summary 0 0 0; exit 1; }

# Reads one attribute of the <Counters> element of a TRX file.
counter() {
    local trx=$1 name=$2 v
    v=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 | sed -n "s/.* $name=\"\\([0-9]*\\)\".*/\\1/p")
    printf '%s\n' "${v:-0}"
}

total_passed=0 total_failed=0 total_skipped=0 crashed=()
for proj in "${projects[@]}"; do
    name=$(basename "$proj" .csproj)
    xks_log "running $name"
    rc=0
    timeout --kill-after=30 "$project_timeout" \
        dotnet test "$proj" --no-build -c Release \
            --results-directory "$results/$name" \
            --logger "trx;LogFileName=$name.trx" \
            --logger "console;verbosity=normal" \
            --blame-hang-timeout "$hang_timeout" </dev/null || rc=$?
    trx="$results/$name/$name.trx"
    passed=0 failed=0 skipped=0
    if [[ -f $trx ]]; then
        passed=$(counter "$trx" passed)
        failed=$(( $(counter "$trx" failed) + $(counter "$trx" error) + $(counter "$trx" timeout) + $(counter "$trx" aborted) ))
        skipped=$(counter "$trx" notExecuted)
    fi
    # A crashed or timed-out run that reported no failing test still failed: count it once.
    if ((rc != 0 && failed == 0)); then
        failed=1
        crashed+=("$name (exit $rc)")
    fi
    xks_log "$name: $passed passed, $failed failed, $skipped skipped"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
done

# Compiler and MSBuild servers would outlive this script and keep CI's pipes open.
dotnet build-server shutdown >/dev/null 2>&1 || true

status=0
if ((${#crashed[@]} > 0)); then
    xks_log "test runs that failed without a failing test (crash, hang or timeout): ${crashed[*]}"
    status=1
fi
((total_failed == 0)) || status=1
if ((total_passed + total_failed == 0)); then
    xks_log "no test ran"
    status=1
fi
# CI shows only the tail of the output: name every failed test there.
if ((total_failed > 0)); then
    for trx in "$results"/*/*.trx; do
        [[ -f $trx ]] || continue
        grep -o '<UnitTestResult [^>]*outcome="\(Failed\|Error\|Timeout\|Aborted\)"[^>]*>' "$trx" |
            sed -n 's/.* testName="\([^"]*\)".*/\1/p' |
            while IFS= read -r t; do xks_log "FAILED $(basename "$trx" .trx): $t"; done || true
    done
fi
xks_log "TRX results: $results (whole run: ${SECONDS} s)"
summary "$total_passed" "$total_failed" "$total_skipped"
exit "$status"
