#!/usr/bin/env bash
# The XKS proxy lab: edge + broker + SoftHSMv2 on one machine (see ../shared/CONTRACT.md).
#
#   scripts/lab.sh            create the state on first run, start broker and edge, supervise them
#   scripts/lab.sh --reset    wipe the state first
#   scripts/lab.sh --no-build use the Release build as it is
#
# Environment: XKS_LAB_STATE (default lab/state), XKS_LAB_PORT (default 8443),
# XKS_LAB_MTLS (1: the edge requires the lab client certificate),
# XKS_LAB_EDGE_METRICS_PORT / XKS_LAB_BROKER_METRICS_PORT (management listeners with /metrics on
# 127.0.0.1, default 9464 / 9465; 0 turns one off), XKS_LAB_WARM_UP_SECONDS (seconds of load sent
# through the lab before "ready"; 0: one call of each kind only; unset: 2, down to 1 if this start
# was slow, so that "ready" comes within 10 s of launch).
set -euo pipefail

# A shell without job control starts background commands with SIGINT ignored, and bash cannot trap a
# signal ignored at entry; start over with default dispositions so SIGINT always stops the lab.
if [[ -z ${XKS_LAB_SIGNALS_RESET:-} ]] && env --default-signal=INT true 2>/dev/null; then
    XKS_LAB_SIGNALS_RESET=1 exec env --default-signal=INT,TERM,HUP bash "${BASH_SOURCE[0]}" "$@"
fi

# Times in microseconds from the shell's own clock: no command substitution in this script runs
# after its traps are set, where a signal could meet bash 5.2's parser bug (xks_read in lib/common.sh).
launched=${EPOCHREALTIME//[!0-9]/}
XKS_LOG_TAG=lab
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/pki.sh
source "$XKS_ROOT/scripts/lib/pki.sh"
cd "$XKS_ROOT"

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

reset=0 build=1
for arg in "$@"; do
    case $arg in
        --reset) reset=1 ;;
        --no-build) build=0 ;; # for tests that have just built the solution
        -h | --help) usage; exit 0 ;;
        *) usage >&2; xks_die "unknown argument: $arg" ;;
    esac
done

state=${XKS_LAB_STATE:-lab/state}
[[ $state == /* ]] || state="$XKS_ROOT/$state"
port=${XKS_LAB_PORT:-8443}
mtls=${XKS_LAB_MTLS:-0}
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then xks_die "XKS_LAB_PORT must be a TCP port number, got '$port'"; fi
[[ $mtls == 0 || $mtls == 1 ]] || xks_die "XKS_LAB_MTLS must be 0 or 1, got '$mtls'"
edge_metrics_port=${XKS_LAB_EDGE_METRICS_PORT:-9464}
broker_metrics_port=${XKS_LAB_BROKER_METRICS_PORT:-9465}
for metrics_setting in XKS_LAB_EDGE_METRICS_PORT:$edge_metrics_port XKS_LAB_BROKER_METRICS_PORT:$broker_metrics_port; do
    if ! [[ ${metrics_setting#*:} =~ ^[0-9]{1,5}$ ]] || ((10#${metrics_setting#*:} > 65535)); then
        xks_die "${metrics_setting%%:*} must be a TCP port number or 0 (off), got '${metrics_setting#*:}'"
    fi
done
edge_metrics_port=$((10#$edge_metrics_port)) broker_metrics_port=$((10#$broker_metrics_port))
warm_up_seconds=${XKS_LAB_WARM_UP_SECONDS:-auto}
if [[ $warm_up_seconds != auto ]]; then
    [[ $warm_up_seconds =~ ^[0-9]{1,2}$ ]] || xks_die "XKS_LAB_WARM_UP_SECONDS must be 0-99, got '$warm_up_seconds'"
    warm_up_seconds=$((10#$warm_up_seconds))
fi

kms_client_cn=cks.kms.us-east-1.amazonaws.com
token_label=xks-lab
health_key=xks-health
keystores=(ks1 ks2)
demo_keys=(foo encrypt_only_key decrypt_only_key impotent_key disabled_key)

# ---------------------------------------------------------------------------------------------
# Prerequisites and build
# ---------------------------------------------------------------------------------------------
xks_require_dotnet
xks_ensure_packages "${XKS_RUNTIME_PACKAGES[@]}"
softhsm_module=$(xks_softhsm_module) || xks_die "libsofthsm2.so not found although softhsm2 is installed"

broker_dll="$XKS_ROOT/src/Broker/bin/Release/net10.0/XksGrpc.Broker.dll"
edge_dll="$XKS_ROOT/src/Edge/bin/Release/net10.0/XksGrpc.Edge.dll"
# The load generator sends the warm-up load before "ready" (warm_up below).
bench_dll="$XKS_ROOT/bench/XksGrpc.Bench/bin/Release/net10.0/XksGrpc.Bench.dll"

# stale DLL [DIR...]: true when a program's DLL is older than some source it is built from.
stale() {
    local dll=$1
    [[ -f $dll ]] || return 0
    [[ -n $(find src proto "${@:2}" Directory.Build.props Directory.Packages.props -type f \
        -not -path '*/bin/*' -not -path '*/obj/*' -newer "$dll" -print -quit) ]]
}

if ((build)) && { stale "$broker_dll" || stale "$edge_dll" || stale "$bench_dll" bench; }; then
    xks_log "building broker, edge and load generator (Release)"
    build_log=$(mktemp)
    for project in src/Broker/XksGrpc.Broker.csproj src/Edge/XksGrpc.Edge.csproj bench/XksGrpc.Bench/XksGrpc.Bench.csproj; do
        if ! dotnet build "$project" -c Release -nodeReuse:false -v quiet -nologo >>"$build_log" 2>&1; then
            cat "$build_log" >&2
            rm -f "$build_log"
            xks_die "build of $project failed"
        fi
    done
    rm -f "$build_log"
    # Keep no compiler server around: it would hold this terminal's output open.
    dotnet build-server shutdown >/dev/null 2>&1 || true
    # Up to date now, even when a touched file was no build input (so the next start skips the build).
    touch "$broker_dll" "$edge_dll" "$bench_dll"
fi
[[ -f $broker_dll && -f $edge_dll ]] || xks_die "build output missing: $broker_dll / $edge_dll"

# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------
mkdir -p "$state"
# One lab per state directory. Children get the lock fd closed (9>&-), so a lab killed
# with SIGKILL frees it at once.
exec 9>"$state/.lock"
flock -n 9 || xks_die "another scripts/lab.sh is running on $state"

tls="$state/tls" secrets="$state/secrets" kms="$state/kms" logs="$state/logs" run="$state/run"
broker_json="$state/broker.json" edge_json="$state/edge.json"
export SOFTHSM2_CONF="$state/softhsm/softhsm2.conf"
# As in the systemd units and images: hot methods are promoted to optimised code as soon as they
# are hot, not once start-up activity has quieted down (README, Benchmark: a fresh lab under load).
export DOTNET_TC_CallCountingDelayMs=${DOTNET_TC_CallCountingDelayMs:-0}

# A Unix socket path must fit in sun_path (108 bytes); a deep state directory gets a short one.
socket="$run/broker.sock"
if ((${#socket} > 100)); then
    socket="/tmp/xksgrpc-lab-$(printf '%s' "$state" | cksum | cut -d' ' -f1)/broker.sock"
fi

# Ends a process left over by an earlier lab on this state (a lab.sh killed with SIGKILL),
# after checking from its command line that it is one of ours.
stop_leftover() {
    local pidfile=$1 dll=$2 pid i
    [[ -f $pidfile ]] || return 0
    xks_read pid "$pidfile" || pid=
    if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dll" \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$state/"; then
        xks_log "stopping leftover $(basename "$dll" .dll) (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}
stop_leftover "$state/edge.pid" "$edge_dll"
stop_leftover "$state/broker.pid" "$broker_dll"

if ((reset)); then
    xks_log "--reset: wiping $state"
    find "$state" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
fi
if [[ -d $state/softhsm && ! -f $state/.complete ]]; then
    xks_log "state in $state is incomplete (an earlier first run was interrupted): recreating it"
    find "$state" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
fi

rand_akid() { local b; b=$(openssl rand 20 | base32); printf '%s' "${b:0:26}"; } # 26 of A-Z2-7
rand_secret() { openssl rand -base64 32; }                                         # 44 chars, 256 bits
rand_pin() { openssl rand -hex 16; }

write_secret() { (umask 077 && printf '%s' "$2" >"$1"); }

make_tls() {
    xks_pki_ca "$tls" ca "/O=XksGrpc lab/CN=XksGrpc lab server CA"
    xks_pki_leaf "$tls" server "/O=XksGrpc lab/CN=localhost" ca server "DNS:localhost,IP:127.0.0.1"
    xks_pki_ca "$tls" client-ca "/O=XksGrpc lab/CN=XksGrpc lab client CA"
    xks_pki_leaf "$tls" client "/CN=$kms_client_cn" client-ca client
}

json_string_array() { local a=("${@/#/\"}"); a=("${a[@]/%/\"}"); printf '[%s]' "$(join , "${a[@]}")"; }

write_broker_json() {
    local keys ks entries=()
    keys=$(json_string_array "${demo_keys[@]}")
    for ks in "${keystores[@]}"; do entries+=("{ \"Name\": \"$ks\", \"Keys\": $keys }"); done
    cat >"$broker_json" <<JSON
{
  "Broker": {
    "Listen": {
      "UnixSocket": "$socket",
      "SocketMode": "0660",
      "AllowedPeerUids": [],
      "AllowedPeerGids": [],
      "Tcp": null
    },
    "Pkcs11": {
      "ModulePath": "$softhsm_module",
      "Tokens": [ { "Id": "hsm-1", "Label": "$token_label", "Serial": null, "PinFile": "$secrets/pin", "PinEnv": null } ],
      "SessionPoolSize": 8,
      "HealthKeyLabel": "$health_key",
      "HealthCheckInterval": "00:00:15"
    },
    "Keystores": [ $(join , "${entries[@]}") ],
    "Limits": { "MaxPlaintextBytes": 8192, "MaxAadBytes": 16384 },
    "Management": { "Address": "127.0.0.1", "Port": $broker_metrics_port }
  }
}
JSON
}

# ks1 has two credentials (rotation), ks2 one. Names: <keystore>-<n>.
credentials=(ks1-1 ks1-2 ks2-1)

join() { local IFS=$1; shift; printf '%s' "$*"; }

write_credentials() {
    local c akid secret
    for c in "${credentials[@]}"; do
        akid=$(rand_akid) secret=$(rand_secret)
        printf '%s\n' "$akid" >"$secrets/$c.akid"
        write_secret "$secrets/$c.secret" "$secret"
        (umask 077 && cat >"$kms/$c.json" <<JSON
{
  "XksProxyUriPath": "/${c%-*}/kms/xks/v1",
  "XksProxyAuthenticationCredential": {
    "AccessKeyId": "$akid",
    "RawSecretAccessKey": "$secret"
  }
}
JSON
        )
    done
}

# The edge configuration is written at every start so XKS_LAB_PORT and XKS_LAB_MTLS take effect.
write_edge_json() {
    local ks c akid creds entries=() required=false
    ((mtls)) && required=true
    for ks in "${keystores[@]}"; do
        creds=()
        for c in "${credentials[@]}"; do
            [[ ${c%-*} == "$ks" ]] || continue
            xks_read akid "$secrets/$c.akid"
            creds+=("{ \"AccessKeyId\": \"$akid\", \"SecretFile\": \"$secrets/$c.secret\" }")
        done
        entries+=("
      { \"Name\": \"$ks\", \"PathPrefix\": \"/$ks\",
        \"Credentials\": [ $(join , "${creds[@]}") ],
        \"PolicyFile\": null, \"RateLimit\": { \"PermitsPerSecond\": 0, \"Burst\": 0 } }")
    done
    cat >"$edge_json.tmp" <<JSON
{
  "Edge": {
    "Listen": { "Address": "127.0.0.1", "Port": $port },
    "Tls": {
      "CertificateFile": "$tls/server.pem",
      "KeyFile": "$tls/server.key",
      "ClientCertificate": { "Required": $required, "CaFile": "$tls/client-ca.pem", "AllowedSubjects": ["$kms_client_cn"] }
    },
    "Proxy": { "Vendor": "XksGrpc", "Model": "XksGrpc 1.0", "FleetSize": 1 },
    "Keystores": [$(join , "${entries[@]}")
    ],
    "Brokers": {
      "Destinations": [ { "Name": "broker-1", "Address": "unix:$socket" } ],
      "Deadline": "00:00:00.200",
      "Tls": { "CaFile": null, "CertificateFile": null, "KeyFile": null, "ServerName": null },
      "MaxConcurrentRequestsPerBroker": 256
    },
    "Limits": { "MaxRequestBodyBytes": 65536, "MaxPlaintextBytes": 8192, "MaxAadBytes": 16384 },
    "Audit": { "File": "$logs/audit.log" },
    "Management": { "Address": "127.0.0.1", "Port": $edge_metrics_port }
  }
}
JSON
    mv "$edge_json.tmp" "$edge_json"
}

# A token that does not answer must not hang the first run: each admin command gets two minutes.
# Standard input is the caller's (keys batch reads its commands from it).
broker_admin() {
    timeout 120 dotnet "$broker_dll" "$@" --config "$broker_json" >>"$logs/broker-admin.log" 2>&1 9>&- \
        || { tail -n 20 "$logs/broker-admin.log" >&2; xks_die "broker admin command failed: $*"; }
}

create_state() {
    xks_log "creating lab state in $state"
    mkdir -p "$state/softhsm/tokens" "$tls" "$secrets" "$kms" "$logs"
    chmod 700 "$state" "$secrets" "$kms" "$state/softhsm"
    cat >"$SOFTHSM2_CONF" <<CONF
# SoftHSMv2 configuration of the XKS proxy lab
directories.tokendir = $state/softhsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
    local so_pin user_pin
    so_pin=$(rand_pin) user_pin=$(rand_pin)
    write_secret "$secrets/so-pin" "$so_pin"
    write_secret "$secrets/pin" "$user_pin"
    softhsm2-util --init-token --free --label "$token_label" \
        --so-pin "$so_pin" --pin "$user_pin" >"$logs/softhsm-init.log"

    make_tls
    write_credentials
    write_broker_json

    xks_log "creating the demo keys with the broker's admin command"
    # One process and one login for all of them (seven processes took 2 s of the first run's start);
    # the file also makes the health check's key, $health_key.
    broker_admin keys batch <"$XKS_ROOT/deploy/demo-keys.batch"
    date -u +%Y-%m-%dT%H:%M:%SZ >"$state/.complete"
}

[[ -f $state/.complete ]] || create_state
mkdir -p "$logs" "$(dirname "$socket")"
chmod 700 "$(dirname "$socket")"
# The supervision loop's clock: read -t on a pipe that never delivers is a sleep without a fork, and
# a signal's trap runs at once. Opened here, before the traps are set (a process substitution).
exec {tick}<> <(:)
# The socket path may differ from the one the state was made with (the state moved): keep broker.json current.
write_broker_json
write_edge_json

# ---------------------------------------------------------------------------------------------
# Processes and supervision
# ---------------------------------------------------------------------------------------------
broker_pid=0 edge_pid=0 stopping=0 warm_load_pid=0

# alive PID: the process exists and is not a zombie.
# Uses only builtins: the supervision loop calls it four times a second and must not cost CPU.
alive() {
    local s
    (($1 > 0)) || return 1
    read -r s 2>/dev/null <"/proc/$1/stat" || return 1
    s=${s##*) }
    [[ ${s:0:1} != Z ]]
}

# Children run in their own session: a Ctrl-C in the terminal reaches lab.sh alone, which
# then stops them in order instead of racing their restart.
start_broker() {
    rm -f "$socket"
    setsid dotnet "$broker_dll" serve --config "$broker_json" </dev/null >>"$logs/broker.log" 2>&1 9>&- {tick}>&- &
    broker_pid=$!
    printf '%s\n' "$broker_pid" >"$state/broker.pid"
}

start_edge() {
    setsid dotnet "$edge_dll" serve --config "$edge_json" </dev/null >>"$logs/edge.log" 2>&1 9>&- {tick}>&- &
    edge_pid=$!
    printf '%s\n' "$edge_pid" >"$state/edge.pid"
}

curl_tls=(--cacert "$tls/ca.pem")
((mtls)) && curl_tls+=(--cert "$tls/client.pem" --key "$tls/client.key")

# The broker is up once its socket answers HTTP/2 (GET /healthz is 200 while it serves).
broker_ready() {
    [[ -S $socket ]] || return 1
    curl -s -o /dev/null --max-time 2 --unix-socket "$socket" --http2-prior-knowledge -w '%{http_code}' http://broker/healthz | grep -q '^[1-5]'
}
edge_ready() { curl -s -o /dev/null --max-time 2 "${curl_tls[@]}" -w '%{http_code}' "https://localhost:$port/ping" | grep -q '^200$'; }

# wait_for NAME PID CHECK LOG: waits until CHECK succeeds, failing if the process dies or 60 s pass.
wait_for() {
    local name=$1 pid=$2 check=$3 log=$4 i
    for ((i = 0; i < 600; i++)); do
        "$check" && return 0
        if ! alive "$pid"; then
            tail -n 30 "$log" >&2 || true
            xks_die "$name exited during start-up (log: $log)"
        fi
        sleep 0.1
    done
    tail -n 30 "$log" >&2 || true
    xks_die "$name did not come up within 60 s (log: $log)"
}

stop_all() {
    local pid i
    # The edge first, so it drains in-flight requests while the broker still answers.
    for pid in "$edge_pid" "$broker_pid"; do
        alive "$pid" || continue
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            xks_log "pid $pid ignored SIGTERM for 10 s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    rm -f "$state/broker.pid" "$state/edge.pid" "$socket"
}

# Whatever ends the script (a signal, a failed start) stops both programs; nothing restarts them.
on_exit() {
    ((stopping)) && return
    stopping=1
    if ((warm_load_pid)); then kill "$warm_load_pid" 2>/dev/null || true; fi
    if alive "$edge_pid" || alive "$broker_pid"; then
        xks_log "stopping edge and broker"
        stop_all
        xks_log "stopped"
    fi
}
trap on_exit EXIT
trap 'exit 0' INT TERM HUP

start=${EPOCHREALTIME//[!0-9]/}
start_broker
wait_for broker "$broker_pid" broker_ready "$logs/broker.log"
start_edge
wait_for edge "$edge_pid" edge_ready "$logs/edge.log"

# One call of each kind through edge, broker and token before "ready", so the first outside request
# finds JIT, TLS, SigV4 key and PKCS#11 session paths warm: the successful calls of all four APIs and
# every error path (edge-only refusals, a broker error detail, HSM failures). A first error reply once
# took longer than the edge's 200 ms broker deadline (503). Results are ignored.
warm_up() {
    local url="https://localhost:$port/ks1/kms/xks/v1" md enc="" ct="" iv="" tag="" ctmd="" step path body
    local reply="${socket%/*}/warm-up-reply.json"
    # Alongside, XKS_LAB_WARM_UP_SECONDS of mixed load (32 keep-alive connections) from the project's
    # load generator, so the hot paths are optimised code before "ready": sent KMS's full 1800
    # requests/s at once, a fresh lab still running tier-0 code queued requests for seconds (README,
    # Benchmark). Its requests carry the principal arn:aws:iam::123456789012:user/bench.
    # By default it lasts 2 s, down to 1 s if this start has been slow (a first run creates the state):
    # the generator needs about a second more to start and connect, and "ready" should come within
    # 10 s of launch.
    local load_ms
    if [[ $warm_up_seconds == auto ]]; then
        load_ms=$((7500 - (${EPOCHREALTIME//[!0-9]/} - launched) / 1000))
        ((load_ms <= 2000)) || load_ms=2000
        ((load_ms >= 1000)) || load_ms=1000
    else
        load_ms=$((warm_up_seconds * 1000))
    fi
    if ((load_ms > 0)) && [[ -f $bench_dll ]]; then
        local bench_tls=()
        ((mtls)) && bench_tls=(--client-cert "$tls/client.pem" --client-key "$tls/client.key")
        dotnet "$bench_dll" --state "$state" --endpoint "https://localhost:$port" --scenario mix --connections 32 --pool 64 \
            --duration "${load_ms}ms" --warmup 0 --quiet "${bench_tls[@]}" </dev/null >/dev/null 2>&1 9>&- &
        warm_load_pid=$!
    elif ((load_ms > 0)); then
        xks_log "no warm-up load: $bench_dll is not built"
    fi
    md='"awsPrincipalArn":"arn:aws:iam::123456789012:user/lab","kmsKeyArn":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab","kmsRequestId":"lab-warm-up"'
    # warm_call PATH BODY [CURL ARGS]: prints the response body.
    warm_call() {
        curl -s --max-time 5 "${curl_tls[@]}" --aws-sigv4 "aws:amz:us-east-1:kms-xks-proxy" --user "$akid:$secret" \
            -X POST -H 'Content-Type: application/json' --data "$2" "${@:3}" "$url/$1" || true
    }
    warm_call health '{"requestMetadata":{"kmsOperation":"KmsHealthCheck","kmsRequestId":"lab-warm-up"}}' >/dev/null
    warm_call keys/foo/metadata "{\"requestMetadata\":{$md,\"kmsOperation\":\"DescribeKey\"}}" >/dev/null
    warm_call keys/foo/encrypt "{\"requestMetadata\":{$md,\"kmsOperation\":\"Encrypt\"},\"plaintext\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"encryptionAlgorithm\":\"AES_GCM\",\"ciphertextDataIntegrityValueAlgorithm\":\"SHA_256\"}" >"$reply"
    xks_read enc "$reply" || true
    rm -f "$reply"
    [[ $enc =~ \"ciphertext\":\"([^\"]*)\" ]] && ct=${BASH_REMATCH[1]}
    [[ $enc =~ \"initializationVector\":\"([^\"]*)\" ]] && iv=${BASH_REMATCH[1]}
    [[ $enc =~ \"authenticationTag\":\"([^\"]*)\" ]] && tag=${BASH_REMATCH[1]}
    [[ $enc =~ \"ciphertextMetadata\":\"([^\"]*)\" ]] && ctmd=${BASH_REMATCH[1]}
    for step in decrypt bad-tag; do
        [[ $step == bad-tag ]] && tag=AAAAAAAAAAAAAAAAAAAAAA==
        warm_call keys/foo/decrypt "{\"requestMetadata\":{$md,\"kmsOperation\":\"Decrypt\"},\"ciphertext\":\"$ct\",\"ciphertextMetadata\":\"$ctmd\",\"initializationVector\":\"$iv\",\"authenticationTag\":\"$tag\",\"encryptionAlgorithm\":\"AES_GCM\"}" >/dev/null
    done
    # Error replies: from the broker (no such key, key usage, disabled key) and from the edge alone
    # (validation, unknown path, wrong method, failed signature).
    for path in keys/non_existing_key/metadata keys/decrypt_only_key/encrypt keys/disabled_key/encrypt keys/foo/encrypt; do
        body="{\"requestMetadata\":{$md,\"kmsOperation\":\"Encrypt\"},\"plaintext\":\"AAAA\",\"encryptionAlgorithm\":\"AES_GCM\"}"
        [[ $path == keys/foo/encrypt ]] && body='{"requestMetadata":{}}'
        warm_call "$path" "$body" >/dev/null
    done
    warm_call keys/foo/unknown '{}' >/dev/null
    warm_call keys/foo/encrypt '' -X GET >/dev/null
    curl -s -o /dev/null --max-time 5 "${curl_tls[@]}" -X POST -H 'Content-Type: application/json' --data '{}' "$url/health" || true
    if ((warm_load_pid)) && ! wait "$warm_load_pid"; then xks_log "warm-up load failed (ignored)"; fi
    warm_load_pid=0
}
# The first credential of ks1: the warm-up's calls and the ready-to-paste examples below.
xks_read akid "$secrets/ks1-1.akid"
xks_read secret "$secrets/ks1-1.secret"
warm_up
elapsed_ms=$(((${EPOCHREALTIME//[!0-9]/} - start) / 1000))

# Ready-to-paste examples with the first credential of ks1.
curl_extra="--cacert $tls/ca.pem" client_cert=no edge_metrics="edge off" broker_metrics="broker off"
((mtls)) && curl_extra+=" --cert $tls/client.pem --key $tls/client.key" client_cert=yes
((edge_metrics_port)) && edge_metrics="edge http://127.0.0.1:$edge_metrics_port/metrics"
((broker_metrics_port)) && broker_metrics="broker http://127.0.0.1:$broker_metrics_port/metrics"
cat <<INFO

XKS proxy lab (state: $state)
  endpoint      https://localhost:$port   (client certificate required: $client_cert)
  keystores     /ks1/kms/xks/v1 (2 credentials), /ks2/kms/xks/v1 (1 credential)
  KMS console   $kms/*.json
  keys          ${demo_keys[*]}
  logs          $logs/
  metrics       $edge_metrics, $broker_metrics
  pids          broker $broker_pid, edge $edge_pid

Encrypt with foo:
curl --aws-sigv4 "aws:amz:us-east-1:kms-xks-proxy" --user '$akid:$secret' $curl_extra -X POST -H 'Content-Type: application/json' --data '{"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::123456789012:user/Alice","kmsKeyArn":"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab","kmsOperation":"Encrypt","kmsRequestId":"4112f4d6-db54-4af4-ae30-c55a22a8dfae"},"plaintext":"SGVsbG8gV29ybGQh","encryptionAlgorithm":"AES_GCM"}' https://localhost:$port/ks1/kms/xks/v1/keys/foo/encrypt

Health:
curl --aws-sigv4 "aws:amz:us-east-1:kms-xks-proxy" --user '$akid:$secret' $curl_extra -X POST -H 'Content-Type: application/json' --data '{"requestMetadata":{"kmsOperation":"KmsHealthCheck","kmsRequestId":"1124f4d6-db54-4af4-ae30-c55a22a8abcd"}}' https://localhost:$port/ks1/kms/xks/v1/health

INFO
echo "ready: XKS proxy lab on https://localhost:$port (broker and edge up in ${elapsed_ms} ms; Ctrl-C stops both)"

# Supervision: a dead broker or edge is restarted within 2 s, like systemd's Restart=always.
# A program that dies within 5 s of its start waits 1 s more before the next try, so a broken
# configuration does not spin.
restart() {
    local name=$1 pid=$2 started=$3 rc=0
    wait "$pid" 2>/dev/null || rc=$?
    xks_log "$name (pid $pid) exited with status $rc: restarting"
    if ((EPOCHSECONDS - started < 5)); then sleep 1; fi
}
broker_started=$EPOCHSECONDS edge_started=$EPOCHSECONDS
while :; do
    if ! alive "$broker_pid"; then
        restart broker "$broker_pid" "$broker_started"
        start_broker
        broker_started=$EPOCHSECONDS
        xks_log "broker restarted (pid $broker_pid)"
    fi
    if ! alive "$edge_pid"; then
        restart edge "$edge_pid" "$edge_started"
        start_edge
        edge_started=$EPOCHSECONDS
        xks_log "edge restarted (pid $edge_pid)"
    fi
    read -r -t 0.25 -u "$tick" _ || true
done
