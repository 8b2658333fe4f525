#!/usr/bin/env bash
# XKS Proxy API conformance run against the lab (see ../shared/CONTRACT.md and the spec).
#
#   scripts/conformance.sh
#
# Re-creates every case of the AWS KMS XKS proxy test client (aws-kms-xksproxy-test-client,
# `test-xks-proxy -a` and `test_negative_mtls`) with curl --aws-sigv4, for every KMS console file
# in $XKS_LAB_STATE/kms/, and adds the spec's other edges (signature tampering, clock skew, paths,
# methods, malformed bodies, limits, ciphertext tampering, IV/tag sizes, mTLS refusals).
# Each case prints one line (PASS/FAIL, name, status, errorName); the last line is
# "Conformance: N passed, N failed"; the exit status is non-zero if any case failed.
#
# Environment: XKS_LAB_STATE (default lab/state), XKS_LAB_PORT (default 8443),
# XKS_LAB_MTLS (1: present tls/client.pem and run the negative mTLS cases), XKS_LAB_HOST
# (default localhost), CONFORMANCE_VERBOSE=1 (print the response body of failed cases).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${XKS_LAB_STATE:-lab/state}
[[ $state == /* ]] || state="$root/$state"
port=${XKS_LAB_PORT:-8443}
mtls=${XKS_LAB_MTLS:-0}
host=${XKS_LAB_HOST:-localhost}
verbose=${CONFORMANCE_VERBOSE:-0}
base="https://$host:$port"

for tool in curl openssl base64 sha256sum od sed; do
    command -v "$tool" >/dev/null || { echo "conformance: $tool is required" >&2; exit 2; }
done
[[ -f $state/tls/ca.pem ]] || { echo "conformance: no lab state at $state (tls/ca.pem missing)" >&2; exit 2; }
shopt -s nullglob
consoles=("$state"/kms/*.json)
shopt -u nullglob
((${#consoles[@]})) || { echo "conformance: no KMS console files in $state/kms" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

tls_args=(--cacert "$state/tls/ca.pem")
((mtls)) && tls_args+=(--cert "$state/tls/client.pem" --key "$state/tls/client.key")

passed=0 failed=0

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
# A random version-4 UUID, made without a fork (the script makes a few hundred calls).
uuid() { printf '%08x-%04x-4%03x-%04x-%04x%08x' "$SRANDOM" $((SRANDOM & 0xffff)) $((SRANDOM & 0xfff)) $(((SRANDOM & 0x3fff) | 0x8000)) $((SRANDOM & 0xffff)) "$SRANDOM"; }
b64() { base64 -w0; }
rand_b64() { head -c "$1" /dev/urandom | b64; }
repeat() { local s; s=$(printf "%${2}s" ""); printf '%s' "${s// /$1}"; }

# json_field NAME: the string value of a top-level field of $body ("" when absent).
json_field() { local re="\"$1\" *: *\"([^\"]*)\""; [[ $body =~ $re ]] && printf '%s' "${BASH_REMATCH[1]}"; return 0; }
# json_has NAME: $body has the field.
json_has() { [[ $body == *"\"$1\""* ]]; }

console_value() { sed -n "s/.*\"$2\" *: *\"\\([^\"]*\\)\".*/\\1/p" "$1"; }

# Results of the last call: status (HTTP code, 000 when no HTTP answer), body, curl_rc, trace.
status='' body='' curl_rc=0

# call PATH BODY [CURL ARGS...]: a POST signed with the current $akid/$secret (curl --aws-sigv4,
# as the official client does), to $base/PATH.
call() {
    local path=$1 data=$2
    shift 2
    printf '%s' "$data" >"$tmp/request"
    status=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 15 "${tls_args[@]}" \
        -H 'Content-Type:application/json' --aws-sigv4 "aws:amz:${region:-us-east-1}:kms-xks-proxy" \
        --user "$akid:$secret" --data-binary "@$tmp/request" "$@" "$base/$path")
    curl_rc=$?
    body=''
    [[ -f $tmp/body ]] && { IFS= read -r -d '' body <"$tmp/body" || true; }
    rm -f "$tmp/body"
}

# raw PATH BODY [CURL ARGS...]: an unsigned request (the caller adds headers and the method).
raw() {
    local path=$1 data=$2
    shift 2
    printf '%s' "$data" >"$tmp/request"
    status=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 15 "${tls_args[@]}" \
        --data-binary "@$tmp/request" "$@" "$base/$path")
    curl_rc=$?
    body=''
    [[ -f $tmp/body ]] && { IFS= read -r -d '' body <"$tmp/body" || true; }
    rm -f "$tmp/body"
}

result() {
    local ok=$1 name=$2 detail=$3
    if ((ok)); then
        passed=$((passed + 1))
        printf 'PASS  %s  (%s)\n' "$name" "$detail"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s  (%s)\n' "$name" "$detail"
        ((verbose)) && printf '      body: %.600s\n' "$body"
    fi
}

# expect_error NAME STATUS ERRORNAME: the last call answered STATUS with that errorName.
expect_error() {
    local name=$1 want_status=$2 want_error=$3 got
    got=$(json_field errorName)
    local ok=0
    [[ $status == "$want_status" && $got == "$want_error" ]] && ok=1
    result "$ok" "$name" "want $want_status $want_error, got $status ${got:-no errorName} curl=$curl_rc"
}

# expect_ok NAME FIELD...: the last call answered 200 with every FIELD present.
expect_ok() {
    local name=$1 field ok=1
    shift
    [[ $status == 200 ]] || ok=0
    for field in "$@"; do json_has "$field" || ok=0; done
    result "$ok" "$name" "want 200 with $*, got $status $(json_field errorName)"
}

metadata_json() { # OPERATION [EXTRA-METADATA-FIELDS]
    printf '"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::123456789012:user/Alice","kmsKeyArn":"arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab","kmsOperation":"%s","kmsRequestId":"%s","kmsViaService":"ebs"%s}' \
        "$1" "$(uuid)" "${2:-}"
}

# encrypt_body PLAINTEXT [AAD] [CDIV-ALGORITHM]: as the official client builds it (pretty JSON).
encrypt_body() {
    local aad='' cdiv=''
    [[ -n ${2:-} ]] && aad="\"additionalAuthenticatedData\": \"$2\","
    [[ -n ${3:-} ]] && cdiv="\"ciphertextDataIntegrityValueAlgorithm\": \"$3\","
    printf '{\n    %s,\n    %s\n    "plaintext": "%s",\n    %s\n    "encryptionAlgorithm": "AES_GCM"\n}' \
        "$(metadata_json Encrypt)" "$aad" "$1" "$cdiv"
}

encrypt_body_no_plaintext() { printf '{\n    %s,\n    "encryptionAlgorithm": "AES_GCM"\n}' "$(metadata_json Encrypt)"; }

# Encrypt response fields kept for the decrypt that follows (prepare_decrypt of the official client).
ct='' iv='' tag='' ctmd='' cdiv=''
keep_ciphertext() {
    ct=$(json_field ciphertext) iv=$(json_field initializationVector) tag=$(json_field authenticationTag)
    ctmd=$(json_field ciphertextMetadata) cdiv=$(json_field ciphertextDataIntegrityValue)
}

# decrypt_body [AAD] [CIPHERTEXT IV TAG METADATA]: defaults are the kept encrypt response.
decrypt_body() {
    local aad='' c=${2-$ct} i=${3-$iv} t=${4-$tag} m=${5-$ctmd} md=''
    [[ -n ${1:-} ]] && aad="\"additionalAuthenticatedData\": \"$1\","
    [[ -n $m ]] && md="\"ciphertextMetadata\": \"$m\","
    printf '{\n    %s,\n    %s\n    "ciphertext": "%s",\n    "initializationVector": "%s",\n    "authenticationTag": "%s",\n    %s\n    "encryptionAlgorithm": "AES_GCM"\n}' \
        "$(metadata_json Decrypt)" "$aad" "$c" "$i" "$t" "$md"
}

health_body() { printf '{\n    "requestMetadata": {\n        "kmsOperation": "KmsHealthCheck",\n        "kmsRequestId": "%s"\n    }\n}' "$(uuid)"; }
metadata_body() { printf '{\n    %s\n}' "$(metadata_json "$1")"; }
empty_metadata_body='{
    "requestMetadata": {
    }
}'

# flip_b64 VALUE: the same bytes with the first bit of the first byte flipped, re-encoded.
flip_b64() {
    local hex first
    hex=$(printf '%s' "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n')
    first=$(printf '%02x' $((0x${hex:0:2} ^ 0x01)))
    printf '%s%s' "$first" "${hex:2}" | sed 's/../\\x&/g' | xargs -0 printf '%b' | b64
}

# cdiv_matches AAD: SHA-256(AAD || ciphertextMetadata || IV || ciphertext || tag) equals the
# returned ciphertextDataIntegrityValue (the official client's verify_cdiv).
cdiv_matches() {
    local want got
    want=$({
        [[ -n $1 ]] && printf '%s' "$1" | base64 -d
        [[ -n $ctmd ]] && printf '%s' "$ctmd" | base64 -d
        printf '%s' "$iv" | base64 -d
        printf '%s' "$ct" | base64 -d
        printf '%s' "$tag" | base64 -d
    } | sha256sum | cut -d' ' -f1)
    got=$(printf '%s' "$cdiv" | base64 -d | od -An -v -tx1 | tr -d ' \n')
    [[ -n $got && $want == "$got" ]]
}

# ---------------------------------------------------------------------------------------------
# Manual SigV4 (for clock skew and tampering): sign_headers METHOD PATH BODY-FILE AMZ-DATE
# [SERVICE] [REGION] prints the Authorization header value for $akid/$secret.
# ---------------------------------------------------------------------------------------------
hmac_hex() { printf '%s' "$2" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$1" -r | cut -d' ' -f1; }
sign_authorization() {
    local method=$1 path=$2 file=$3 amzdate=$4 service=${5:-kms-xks-proxy} region=${6:-us-east-1}
    local day=${amzdate:0:8} payload canonical scope sts k
    payload=$(sha256sum "$file" | cut -d' ' -f1)
    canonical=$(printf '%s\n%s\n\ncontent-type:application/json\nhost:%s\nx-amz-date:%s\n\ncontent-type;host;x-amz-date\n%s' \
        "$method" "$path" "$host:$port" "$amzdate" "$payload")
    scope="$day/$region/$service/aws4_request"
    sts=$(printf 'AWS4-HMAC-SHA256\n%s\n%s\n%s' "$amzdate" "$scope" "$(printf '%s' "$canonical" | sha256sum | cut -d' ' -f1)")
    k=$(printf '%s' "AWS4$secret" | od -An -v -tx1 | tr -d ' \n')
    k=$(hmac_hex "$k" "$day")
    k=$(hmac_hex "$k" "$region")
    k=$(hmac_hex "$k" "$service")
    k=$(hmac_hex "$k" aws4_request)
    printf 'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host;x-amz-date, Signature=%s' \
        "$akid" "$scope" "$(hmac_hex "$k" "$sts")"
}

# signed PATH BODY AMZ-DATE [SERVICE] [REGION] [SEND-BODY]: POST with a manual signature.
signed() {
    local path=$1 data=$2 amzdate=$3 service=${4:-kms-xks-proxy} region=${5:-us-east-1} send=${6-$2} auth
    printf '%s' "$data" >"$tmp/signed"
    auth=$(sign_authorization POST "/$path" "$tmp/signed" "$amzdate" "$service" "$region")
    raw "$path" "$send" -H 'Content-Type: application/json' -H "X-Amz-Date: $amzdate" -H "Authorization: $auth"
}

amz_date() { date -u -d "${1:-now}" +%Y%m%dT%H%M%SZ; }

# ---------------------------------------------------------------------------------------------
# The official client's cases (test_get_health_status, test_get_key_metadata,
# test_encrypt_decrypt, test_encrypt_only_key, test_decrypt_only_key, test_impotent_key)
# ---------------------------------------------------------------------------------------------
# official_refusals API PREFIX SUBPATH BODY: the refusals the official client checks alike for
# GetHealthStatus and GetKeyMetadata (no or empty requestMetadata, a wrong access key id or secret, an
# unknown URI prefix), with its case names. BODY is a valid request body for PREFIX/SUBPATH.
official_refusals() {
    local api=$1 p=$2 sub=$3 body=$4
    call "$p/$sub" '{}'
    expect_error "$label $api without requestMetadata" 400 ValidationException
    call "$p/$sub" "$empty_metadata_body"
    expect_error "$label $api with empty requestMetadata" 400 ValidationException
    akid=Invalid$akid call "$p/$sub" "$body"
    expect_error "$label $api with an invalid Sigv4 access id" 401 AuthenticationFailedException
    secret=Invalid$secret call "$p/$sub" "$body"
    expect_error "$label $api with an invalid Sigv4 access key" 401 AuthenticationFailedException
    call "${p}/invalid/kms/xks/v1/$sub" "$body"
    expect_error "$label $api with an invalid URI prefix" 404 InvalidUriPathException
}

official_health() {
    local p=$1
    call "$p/health" "$(health_body)"
    expect_ok "$label GetHealthStatus" healthStatus ekmFleetDetails
    official_refusals GetHealthStatus "$p" health "$(health_body)"
}

official_metadata() {
    local p=$1 k=$2
    call "$p/keys/$k/metadata" "$(metadata_body DescribeKey)"
    expect_ok "$label GetKeyMetadata for DescribeKey" keySpec keyUsage keyStatus
    call "$p/keys/$k/metadata" "$(metadata_body CreateKey)"
    expect_ok "$label GetKeyMetadata for CreateKey" keyStatus
    call "$p/keys/non_existing_key/metadata" "$(metadata_body DescribeKey)"
    expect_error "$label GetKeyMetadata for a non-existent key" 404 KeyNotFoundException
    official_refusals GetKeyMetadata "$p" "keys/$k/metadata" "$(metadata_body DescribeKey)"
}

# encrypt_then NAME-ENCRYPT PATH PLAINTEXT AAD CDIV: encrypts, checks the ciphertext fields, keeps them.
encrypt_then() {
    local name=$1 p=$2 plaintext=$3 aad=$4 algorithm=$5
    call "$p/encrypt" "$(encrypt_body "$plaintext" "$aad" "$algorithm")"
    if [[ -n $algorithm ]]; then
        expect_ok "$name" ciphertext initializationVector authenticationTag ciphertextDataIntegrityValue
    else
        expect_ok "$name" ciphertext initializationVector authenticationTag
    fi
    [[ $status == 200 ]] && keep_ciphertext
    [[ $status == 200 ]]
}

expect_plaintext() {
    local name=$1 want=$2
    local got
    got=$(json_field plaintext)
    result "$([[ $status == 200 && $got == "$want" ]] && echo 1 || echo 0)" "$name" "want 200 and the original plaintext, got $status $(json_field errorName)"
}

official_encrypt_decrypt() {
    local p=$1 k=$2 key="$1/keys/$2"
    local plaintext=cGxhaW50ZXh0Cg== aad=cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n
    local aad2=cHJvamVjdD1ibHVlLGRlcGFydG1lbnQ9ZmluYW5jZQ== plaintext2=SGVsbG8gV29ybGQh

    call "$p/keys/non_existing_key/encrypt" "$(encrypt_body "$plaintext")"
    expect_error "$label Encrypt with a non-existing key" 404 KeyNotFoundException
    call "$key/encrypt" "$(encrypt_body_no_plaintext)"
    expect_error "$label Encrypt with missing plaintext" 400 ValidationException
    akid=Invalid$akid call "$key/encrypt" "$(encrypt_body "$plaintext")"
    expect_error "$label Encrypt with an invalid Sigv4 access id" 401 AuthenticationFailedException
    secret=Invalid$secret call "$key/encrypt" "$(encrypt_body "$plaintext")"
    expect_error "$label Encrypt with an invalid SigV4 access key" 401 AuthenticationFailedException
    call "$p/invalid/kms/xks/v1/keys/$k/encrypt" "$(encrypt_body "$plaintext")"
    expect_error "$label Encrypt with an invalid URI path" 404 InvalidUriPathException

    if encrypt_then "$label Encrypt with AAD to be followed by Decrypt without AAD" "$key" "$plaintext" "$aad" ''; then
        call "$key/decrypt" "$(decrypt_body)"
        expect_error "$label Decrypt with missing AAD" 400 InvalidCiphertextException
    fi
    if encrypt_then "$label Encrypt with AAD to be followed by Decrypt with a different AAD" "$key" "$plaintext" "$aad" ''; then
        call "$key/decrypt" "$(decrypt_body "$aad2")"
        expect_error "$label Decrypt with a different AAD than that used in Encrypt" 400 InvalidCiphertextException
    fi
    if encrypt_then "$label Encrypt without AAD to be followed by Decrypt" "$key" "$plaintext2" '' ''; then
        call "$key/decrypt" "$(decrypt_body)"
        expect_plaintext "$label Decrypt without AAD" "$plaintext2"
    fi
    if encrypt_then "$label Encrypt with AAD to be followed by Decrypt" "$key" "$plaintext2" "$aad" ''; then
        call "$key/decrypt" "$(decrypt_body "$aad")"
        expect_plaintext "$label Decrypt with the same AAD" "$plaintext2"
    fi
    if encrypt_then "$label Encrypt with AAD and CDIV to be followed by Decrypt" "$key" "$plaintext2" "$aad" SHA_256; then
        result "$(cdiv_matches "$aad" && echo 1 || echo 0)" "$label CDIV with AAD is SHA-256(AAD||metadata||IV||ciphertext||tag)" "cdiv $cdiv"
        call "$key/decrypt" "$(decrypt_body "$aad")"
        expect_plaintext "$label Decrypt with the same AAD (after CDIV)" "$plaintext2"
    fi
    if encrypt_then "$label Encrypt with CDIV but without AAD to be followed by Decrypt" "$key" "$plaintext2" '' SHA_256; then
        result "$(cdiv_matches '' && echo 1 || echo 0)" "$label CDIV without AAD is SHA-256(metadata||IV||ciphertext||tag)" "cdiv $cdiv"
        call "$key/decrypt" "$(decrypt_body)"
        expect_plaintext "$label Decrypt without AAD (after CDIV)" "$plaintext2"
    fi
    local large_aad large_plaintext
    large_aad=$(rand_b64 8192) large_plaintext=$(rand_b64 4096)
    if encrypt_then "$label Encrypt with large plaintext and large AAD to be followed by Decrypt" "$key" "$large_plaintext" "$large_aad" ''; then
        call "$key/decrypt" "$(decrypt_body "$large_aad")"
        expect_plaintext "$label Decrypt with large ciphertext and large AAD" "$large_plaintext"
    fi
}

official_encrypt_only() {
    local p=$1 key="$1/keys/encrypt_only_key"
    local plaintext=cGxhaW50ZXh0Cg== aad=cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n
    if encrypt_then "$label Encrypt without AAD to be followed by Decrypt using an encrypt-only key" "$key" "$plaintext" '' ''; then
        call "$key/decrypt" "$(decrypt_body)"
        expect_error "$label Decrypt without AAD using an encrypt-only key" 400 InvalidKeyUsageException
    fi
    if encrypt_then "$label Encrypt with AAD to be followed by Decrypt using an encrypt-only key" "$key" "$plaintext" "$aad" ''; then
        call "$key/decrypt" "$(decrypt_body "$aad")"
        expect_error "$label Decrypt with the same AAD using an encrypt-only key" 400 InvalidKeyUsageException
    fi
    # Spec Appendix C: a CDIV is verified by an HSM decrypt, which an encrypt-only key may not do.
    call "$key/encrypt" "$(encrypt_body "$plaintext" "$aad" SHA_256)"
    expect_error "$label Encrypt with AAD and CDIV using an encrypt-only key" 400 InvalidKeyUsageException
    call "$key/encrypt" "$(encrypt_body "$plaintext" '' SHA_256)"
    expect_error "$label Encrypt with CDIV but without AAD using an encrypt-only key" 400 InvalidKeyUsageException
}

# test_decrypt_only_key and test_impotent_key: four encrypts, each InvalidKeyUsageException.
official_no_encrypt() {
    local p=$1 k=$2 key="$1/keys/$2"
    local plaintext=cGxhaW50ZXh0Cg== aad=cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n
    call "$key/encrypt" "$(encrypt_body "$plaintext" "$aad")"
    expect_error "$label Encrypt with AAD using \"$k\"" 400 InvalidKeyUsageException
    call "$key/encrypt" "$(encrypt_body "$plaintext")"
    expect_error "$label Encrypt without AAD using \"$k\"" 400 InvalidKeyUsageException
    call "$key/encrypt" "$(encrypt_body "$plaintext" "$aad" SHA_256)"
    expect_error "$label Encrypt with AAD and CDIV using \"$k\"" 400 InvalidKeyUsageException
    call "$key/encrypt" "$(encrypt_body "$plaintext" '' SHA_256)"
    expect_error "$label Encrypt with CDIV but without AAD using \"$k\"" 400 InvalidKeyUsageException
}

# ---------------------------------------------------------------------------------------------
# The lab's keys (CONTRACT.md) beyond the official client: usage and status of each key,
# disabled keys, cross-key decrypts.
# ---------------------------------------------------------------------------------------------
lab_keys() {
    local p=$1 k usage
    for k in foo:ENCRYPT,DECRYPT:ENABLED encrypt_only_key:ENCRYPT:ENABLED decrypt_only_key:DECRYPT:ENABLED \
        impotent_key::ENABLED disabled_key:ENCRYPT,DECRYPT:DISABLED; do
        local id=${k%%:*} rest=${k#*:}
        local want_usage=${rest%%:*} want_status=${rest#*:} ok=1
        call "$p/keys/$id/metadata" "$(metadata_body DescribeKey)"
        usage=$(printf '%s' "$body" | sed -n 's/.*"keyUsage" *: *\[\([^]]*\)\].*/\1/p')
        [[ $status == 200 && $(json_field keySpec) == AES_256 && $(json_field keyStatus) == "$want_status" ]] || ok=0
        for u in ENCRYPT DECRYPT; do
            if [[ ,$want_usage, == *",$u,"* ]]; then [[ $usage == *"\"$u\""* ]] || ok=0; else [[ $usage != *"\"$u\""* ]] || ok=0; fi
        done
        result "$ok" "$label GetKeyMetadata of $id is AES_256 [${want_usage}] $want_status" "got $status $body"
    done

    call "$p/keys/disabled_key/encrypt" "$(encrypt_body SGVsbG8=)"
    expect_error "$label Encrypt with the disabled key" 400 InvalidStateException
    encrypt_then "$label Encrypt with foo (for cross-key decrypts)" "$p/keys/foo" SGVsbG8gV29ybGQh '' '' >/dev/null
    call "$p/keys/disabled_key/decrypt" "$(decrypt_body)"
    expect_error "$label Decrypt with the disabled key" 400 InvalidStateException
    call "$p/keys/decrypt_only_key/decrypt" "$(decrypt_body)"
    expect_error "$label Decrypt of foo's ciphertext with decrypt_only_key" 400 InvalidCiphertextException
    call "$p/keys/impotent_key/decrypt" "$(decrypt_body)"
    expect_error "$label Decrypt with impotent_key" 400 InvalidKeyUsageException
    call "$p/keys/non_existing_key/decrypt" "$(decrypt_body)"
    expect_error "$label Decrypt with a non-existing key" 404 KeyNotFoundException
    call "$p/keys/foo/decrypt" "$(decrypt_body)"
    expect_plaintext "$label Decrypt with foo" SGVsbG8gV29ybGQh
}

# ---------------------------------------------------------------------------------------------
# Authentication (spec Appendix A): unsigned, skewed, tampered, wrong service.
# ---------------------------------------------------------------------------------------------
authentication() {
    local p=$1 path="$1/keys/foo/metadata" b
    b=$(metadata_body DescribeKey)
    raw "$path" "$b" -H 'Content-Type: application/json'
    expect_error "$label Unsigned request" 401 AuthenticationFailedException
    signed "$path" "$b" "$(amz_date)"
    expect_ok "$label Independently signed request (this script's own SigV4)" keyStatus
    signed "$path" "$b" "$(amz_date '4 minutes ago')"
    expect_ok "$label Signed 4 minutes ago (within the 5 minute window)" keyStatus
    signed "$path" "$b" "$(amz_date '6 minutes ago')"
    expect_error "$label Signed 6 minutes ago" 401 AuthenticationFailedException
    signed "$path" "$b" "$(amz_date '6 minutes')"
    expect_error "$label Signed 6 minutes in the future" 401 AuthenticationFailedException
    signed "$path" "$b" "$(amz_date)" kms
    expect_error "$label Signed for service kms instead of kms-xks-proxy" 401 AuthenticationFailedException
    signed "$path" "$b" "$(amz_date)" kms-xks-proxy us-east-1 "${b/DescribeKey/CreateKey}"
    expect_error "$label Body changed after signing" 401 AuthenticationFailedException
    local d auth
    d=$(amz_date)
    printf '%s' "$b" >"$tmp/signed"
    auth=$(sign_authorization POST "/$path" "$tmp/signed" "$d")
    local sig=${auth##*Signature=} flipped
    flipped=${sig:0:63}$([[ ${sig:63:1} == 0 ]] && echo 1 || echo 0)
    raw "$path" "$b" -H 'Content-Type: application/json' -H "X-Amz-Date: $d" -H "Authorization: ${auth%Signature=*}Signature=$flipped"
    expect_error "$label Signature with one hex digit changed" 401 AuthenticationFailedException
    raw "$p/keys/encrypt_only_key/metadata" "$b" -H 'Content-Type: application/json' -H "X-Amz-Date: $d" -H "Authorization: $auth"
    expect_error "$label Signature replayed on another key's path" 401 AuthenticationFailedException
}

# ---------------------------------------------------------------------------------------------
# URI paths and methods (spec, "API operations").
# ---------------------------------------------------------------------------------------------
paths_and_methods() {
    local p=$1 b bad
    b=$(metadata_body DescribeKey)
    for bad in "$p/kms/xks/v2/health" "${p%/kms/xks/v1}/kms/xks/health" "$p/keys/foo" "$p/keys/foo/sign" \
        "$p/keys/foo/metadata/extra" "$p/health/extra" "no_such_keystore/kms/xks/v1/health" "$p"; do
        call "$bad" "$b"
        expect_error "$label POST /$bad" 404 InvalidUriPathException
    done
    local method
    for method in GET PUT DELETE PATCH; do
        call "$p/keys/foo/encrypt" '' -X "$method"
        result "$([[ $status == 405 ]] && echo 1 || echo 0)" "$label $method on an encrypt URI is 405" "got $status"
    done
    call "$p/health" '' -X GET -G
    result "$([[ $status == 405 ]] && echo 1 || echo 0)" "$label GET on the health URI is 405" "got $status"
}

# ---------------------------------------------------------------------------------------------
# Request bodies: malformed JSON, missing and wrong fields, limits, opaque and extra fields.
# ---------------------------------------------------------------------------------------------
bodies() {
    local p=$1 key="$1/keys/foo" md
    md=$(metadata_json Encrypt)
    local -a cases=(
        'not JSON|{not json'
        'a JSON array|[]'
        'an empty body|'
        'plaintext not Base64|{'"$md"',"plaintext":"not base64!","encryptionAlgorithm":"AES_GCM"}'
        'plaintext with bad padding|{'"$md"',"plaintext":"AA=A","encryptionAlgorithm":"AES_GCM"}'
        'plaintext a number|{'"$md"',"plaintext":12,"encryptionAlgorithm":"AES_GCM"}'
        'plaintext empty|{'"$md"',"plaintext":"","encryptionAlgorithm":"AES_GCM"}'
        'no encryptionAlgorithm|{'"$md"',"plaintext":"AAAA"}'
        'encryptionAlgorithm AES_CBC|{'"$md"',"plaintext":"AAAA","encryptionAlgorithm":"AES_CBC"}'
        'CDIV algorithm SHA_512|{'"$md"',"plaintext":"AAAA","encryptionAlgorithm":"AES_GCM","ciphertextDataIntegrityValueAlgorithm":"SHA_512"}'
        'AAD not Base64|{'"$md"',"plaintext":"AAAA","additionalAuthenticatedData":"%%%","encryptionAlgorithm":"AES_GCM"}'
        'no kmsRequestId|{"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::123456789012:user/Alice","kmsKeyArn":"arn:aws:kms:us-east-1:123456789012:key/k","kmsOperation":"Encrypt"},"plaintext":"AAAA","encryptionAlgorithm":"AES_GCM"}'
        'no awsPrincipalArn|{"requestMetadata":{"kmsKeyArn":"arn:aws:kms:us-east-1:123456789012:key/k","kmsOperation":"Encrypt","kmsRequestId":"r"},"plaintext":"AAAA","encryptionAlgorithm":"AES_GCM"}'
        'requestMetadata a string|{"requestMetadata":"x","plaintext":"AAAA","encryptionAlgorithm":"AES_GCM"}'
    )
    local c
    for c in "${cases[@]}"; do
        call "$key/encrypt" "${c#*|}"
        expect_error "$label Encrypt with ${c%%|*}" 400 ValidationException
    done
    local dmd
    dmd=$(metadata_json Decrypt)
    call "$key/decrypt" "{$dmd,\"initializationVector\":\"AAAAAAAAAAAAAAAA\",\"authenticationTag\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"encryptionAlgorithm\":\"AES_GCM\"}"
    expect_error "$label Decrypt without ciphertext" 400 ValidationException
    call "$key/decrypt" "{$dmd,\"ciphertext\":\"AAAA\",\"authenticationTag\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"encryptionAlgorithm\":\"AES_GCM\"}"
    expect_error "$label Decrypt without initializationVector" 400 ValidationException
    call "$key/decrypt" "{$dmd,\"ciphertext\":\"AAAA\",\"initializationVector\":\"AAAAAAAAAAAAAAAA\",\"encryptionAlgorithm\":\"AES_GCM\"}"
    expect_error "$label Decrypt without authenticationTag" 400 ValidationException

    # Sizes the spec requires (plaintext 4300 bytes, AAD 8192 bytes, ARNs 2048 characters).
    local pt4300 aad8192 arn
    pt4300=$(rand_b64 4300) aad8192=$(rand_b64 8192)
    if encrypt_then "$label Encrypt of 4300 bytes of plaintext with 8192 bytes of AAD" "$key" "$pt4300" "$aad8192" SHA_256; then
        call "$key/decrypt" "$(decrypt_body "$aad8192")"
        expect_plaintext "$label Decrypt of 4300 bytes of ciphertext with 8192 bytes of AAD" "$pt4300"
    fi
    arn="arn:aws:iam::123456789012:role/$(repeat r $((2048 - 36)))"
    call "$key/encrypt" "{\"requestMetadata\":{\"awsPrincipalArn\":\"$arn\",\"kmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/$(repeat k $((2048 - 43)))\",\"kmsOperation\":\"Encrypt\",\"kmsRequestId\":\"$(uuid)\"},\"plaintext\":\"AAAA\",\"encryptionAlgorithm\":\"AES_GCM\"}"
    expect_ok "$label Encrypt with 2048-character ARNs" ciphertext

    # Spec: kmsRequestId is opaque; kmsOperation values the proxy does not know are not rejected;
    # optional metadata and fields this version does not know are accepted.
    call "$key/encrypt" "{\"requestMetadata\":{\"awsPrincipalArn\":\"AWS Internal\",\"kmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/k\",\"kmsOperation\":\"BulkEncrypt\",\"kmsRequestId\":\"not-a-uuid \\u00e9 #1\",\"awsSourceVpc\":\"vpc-1\",\"awsSourceVpce\":\"vpce-1\",\"kmsViaService\":\"ebs\",\"futureField\":{\"a\":[1,2]}},\"plaintext\":\"AAAA\",\"encryptionAlgorithm\":\"AES_GCM\",\"futureTopLevel\":true}"
    expect_ok "$label Encrypt with an unknown kmsOperation, opaque kmsRequestId, optional and unknown fields" ciphertext
    call "$p/health" "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\",\"kmsRequestId\":\"$(uuid)\",\"extra\":1},\"extra\":null}"
    expect_ok "$label GetHealthStatus with unknown fields" healthStatus

    # Limits beyond the spec's minimums are the proxy's choice; over them is 501 (spec error table).
    call "$key/encrypt" "$(encrypt_body "$(rand_b64 70000)")"
    expect_error "$label Encrypt with a request body over the edge's limit" 501 UnsupportedOperationException

    # externalKeyId: at most 128 characters of A-Z a-z 0-9 - . _ (spec); others are no key.
    local long
    long=$(repeat a 128)
    call "$p/keys/$long/metadata" "$(metadata_body DescribeKey)"
    expect_error "$label GetKeyMetadata of an absent 128-character key id" 404 KeyNotFoundException
    call "$p/keys/${long}a/metadata" "$(metadata_body DescribeKey)"
    expect_error "$label GetKeyMetadata of a 129-character key id" 404 KeyNotFoundException
    local id
    for id in 'f%C3%A9' 'f%20o' 'f+o' 'f:o' '%D0%BA%D0%BB%D1%8E%D1%87'; do
        call "$p/keys/$id/metadata" "$(metadata_body DescribeKey)"
        expect_error "$label GetKeyMetadata of key id '$id' (outside the allowed characters)" 404 KeyNotFoundException
    done
}

# ---------------------------------------------------------------------------------------------
# Decrypt inputs changed after encrypt (spec: InvalidCiphertextException), IV and tag sizes.
# ---------------------------------------------------------------------------------------------
tampering() {
    local p=$1 key="$1/keys/foo" aad=cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n
    encrypt_then "$label Encrypt (for tampering)" "$key" SGVsbG8gV29ybGQh "$aad" '' >/dev/null || return
    call "$key/decrypt" "$(decrypt_body "$aad" "$(flip_b64 "$ct")")"
    expect_error "$label Decrypt with one ciphertext bit flipped" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$(flip_b64 "$iv")")"
    expect_error "$label Decrypt with one IV bit flipped" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$iv" "$(flip_b64 "$tag")")"
    expect_error "$label Decrypt with one tag bit flipped" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$(flip_b64 "$aad")")"
    expect_error "$label Decrypt with one AAD bit flipped" 400 InvalidCiphertextException
    if [[ -n $ctmd ]]; then
        call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$iv" "$tag" "$(flip_b64 "$ctmd")")"
        expect_error "$label Decrypt with ciphertextMetadata changed" 400 InvalidCiphertextException
        call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$iv" "$tag" '')"
        expect_error "$label Decrypt without the ciphertextMetadata" 400 InvalidCiphertextException
        call "$key/decrypt" "$(decrypt_body "$ctmd" "$ct" "$iv" "$tag" '')"
        expect_error "$label Decrypt with the ciphertextMetadata passed as AAD" 400 InvalidCiphertextException
    fi
    call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$(rand_b64 8)")"
    expect_error "$label Decrypt with an 8-byte IV" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$(rand_b64 16)")"
    expect_error "$label Decrypt with a different 16-byte IV" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$iv" "$(rand_b64 12)")"
    expect_error "$label Decrypt with a 12-byte tag" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$iv" "$(rand_b64 17)")"
    expect_error "$label Decrypt with a 17-byte tag" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$aad" "$ct" "$iv" "$tag" "$(rand_b64 21)")"
    expect_error "$label Decrypt with 21 bytes of ciphertextMetadata" 400 InvalidCiphertextException
    call "$key/decrypt" "$(decrypt_body "$aad")"
    expect_plaintext "$label Decrypt of the untouched ciphertext" SGVsbG8gV29ybGQh
}

# ---------------------------------------------------------------------------------------------
# mTLS refusals (test_negative_mtls and more): the handshake must fail, so no HTTP status.
# ---------------------------------------------------------------------------------------------
mint_client_certificates() {
    local d=$tmp/certs
    mkdir -p "$d" && chmod 700 "$d"
    cp "$state/tls/client-ca.pem" "$state/tls/client-ca.key" "$d/"
    # shellcheck source=scripts/lib/pki.sh
    source "$root/scripts/lib/pki.sh"
    xks_pki_leaf "$d" wrong_cn "/CN=cks.kms.us-west-2.amazonaws.com" client-ca client
    xks_pki_ca "$d" other-ca "/CN=Not the lab client CA"
    xks_pki_leaf "$d" other_ca "/CN=cks.kms.us-east-1.amazonaws.com" other-ca client
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/selfsigned.key" \
        -subj "/CN=cks.kms.us-east-1.amazonaws.com" -days 30 -out "$d/selfsigned.pem" 2>/dev/null
    # An expired certificate from the lab client CA (openssl ca sets past dates).
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/expired.key" \
        -subj "/CN=cks.kms.us-east-1.amazonaws.com" -out "$d/expired.csr" 2>/dev/null
    : >"$d/index.txt"
    echo 01 >"$d/serial"
    cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = lab
[lab]
database = $d/index.txt
new_certs_dir = $d
serial = $d/serial
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = client
[any]
commonName = supplied
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
    openssl ca -batch -notext -config "$d/ca.cnf" -cert "$d/client-ca.pem" -keyfile "$d/client-ca.key" \
        -startdate 20200101000000Z -enddate 20200201000000Z -in "$d/expired.csr" -out "$d/expired.pem" >/dev/null 2>&1
}

negative_mtls() {
    local p=$1 d=$tmp/certs c
    mint_client_certificates
    local saved=("${tls_args[@]}")
    for c in expired selfsigned wrong_cn other_ca none; do
        tls_args=(--cacert "$state/tls/ca.pem")
        [[ $c != none ]] && tls_args+=(--cert "$d/$c.pem" --key "$d/$c.key")
        [[ $c == none || -f $d/$c.pem ]] || { result 0 "mTLS $c client certificate" "could not mint it"; continue; }
        call "$p/health" "$(health_body)" -v 2>"$tmp/trace"
        local alert=0
        grep -q 'TLS alert, handshake failure' "$tmp/trace" && alert=1
        if [[ $c == none ]]; then
            result "$([[ $status == 000 && $curl_rc != 0 ]] && echo 1 || echo 0)" \
                "mTLS GetHealthStatus without a client certificate: handshake fails" "http $status curl=$curl_rc alert=$(grep -o 'TLS alert, [a-z ]*' "$tmp/trace" | head -1)"
        else
            result "$([[ $status == 000 && $curl_rc != 0 && $alert == 1 ]] && echo 1 || echo 0)" \
                "mTLS GetHealthStatus with a $c client certificate: TLS alert, handshake failure" "http $status curl=$curl_rc alert=$alert"
        fi
    done
    tls_args=("${saved[@]}")
    call "$p/health" "$(health_body)"
    expect_ok "mTLS GetHealthStatus with the lab client certificate" healthStatus
}

# ---------------------------------------------------------------------------------------------
# Main: the official client's cases for every KMS console file (every keystore and credential),
# the others once per keystore.
# ---------------------------------------------------------------------------------------------
seen=()
printf 'XKS conformance against %s (state %s, mTLS %s)\n' "$base" "$state" "$([[ $mtls == 1 ]] && echo on || echo off)"
for console in "${consoles[@]}"; do
    uri=$(console_value "$console" XksProxyUriPath)
    akid=$(console_value "$console" AccessKeyId)
    secret=$(console_value "$console" RawSecretAccessKey)
    label="[$(basename "$console" .json)]"
    if [[ -z $uri || -z $akid || -z $secret ]]; then
        result 0 "$label console file" "XksProxyUriPath, AccessKeyId or RawSecretAccessKey missing"
        continue
    fi
    p=${uri#/}
    official_health "$p"
    official_metadata "$p" foo
    official_encrypt_decrypt "$p" foo
    official_encrypt_only "$p"
    official_no_encrypt "$p" decrypt_only_key
    official_no_encrypt "$p" impotent_key
    # A second credential of a keystore (rotation) runs the official client's cases; the rest once per keystore.
    [[ " ${seen[*]} " == *" $uri "* ]] && continue
    seen+=("$uri")
    lab_keys "$p"
    authentication "$p"
    paths_and_methods "$p"
    bodies "$p"
    tampering "$p"
    # A credential works on its own keystore's path only.
    for other in "${consoles[@]}"; do
        other_uri=$(console_value "$other" XksProxyUriPath)
        [[ $other_uri == "$uri" ]] && continue
        call "${other_uri#/}/health" "$(health_body)"
        expect_error "$label credential on $other_uri" 401 AuthenticationFailedException
    done
done
if ((mtls)); then
    akid=$(console_value "${consoles[0]}" AccessKeyId) secret=$(console_value "${consoles[0]}" RawSecretAccessKey)
    uri=$(console_value "${consoles[0]}" XksProxyUriPath)
    negative_mtls "${uri#/}"
fi

printf 'Conformance: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0 && passed > 0))
