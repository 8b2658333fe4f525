# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this file
# Helpers shared by scripts/lab.sh and scripts/test.sh. Sourced, never run.

# Repository root (scripts/lib/ is two levels below it).
XKS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

xks_log() { printf '[%s] %s\n' "${XKS_LOG_TAG:-xks}" "$*" >&2; }
xks_die() { xks_log "error: $*"; exit 1; }

# xks_read VAR FILE: FILE's first line into VAR (a last line without a newline included), by the
# read builtin. Scripts with signal traps use it instead of $(<FILE): after $(<FILE), bash 5.2 (Debian
# 12's 5.2.15) can run a trap with its parser still inside that command substitution, so the trap's
# own text fails to parse ("trap: line 2: unexpected EOF while looking for matching `)'") and a
# SIGTERM ends the script with status 2 (a script without set -e goes on running). A five-line script
# looping on $(<FILE) showed it in 34 of 150 signals; on the read builtin in none.
xks_read() { IFS= read -r "$1" <"$2" || [[ -n ${!1-} ]]; }

# Runs a command as root: directly when we are root, through sudo otherwise.
xks_as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# xks_ensure_packages PKG... installs the Debian packages that are not installed yet.
# apt-get update runs at most once per process, and only when something is missing.
XKS_APT_UPDATED=0
xks_ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || xks_die "missing packages (${missing[*]}) and no apt-get to install them"
    if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
        xks_die "missing packages (${missing[*]}): run as root or install sudo"
    fi
    xks_log "installing ${missing[*]}"
    if ((XKS_APT_UPDATED == 0)); then
        xks_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        XKS_APT_UPDATED=1
    fi
    xks_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages the lab and the end-to-end tests need at run time.
XKS_RUNTIME_PACKAGES=(softhsm2 openssl curl procps ca-certificates util-linux coreutils)

xks_require_dotnet() {
    command -v dotnet >/dev/null || xks_die "the .NET SDK (dotnet) is not on PATH; install the .NET 10 SDK first"
}

# The PKCS#11 module that Debian's softhsm2 package installs.
xks_softhsm_module() {
    local m
    for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
        [[ -e $m ]] && { printf '%s\n' "$m"; return 0; }
    done
    return 1
}
