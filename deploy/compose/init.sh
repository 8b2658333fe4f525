#!/usr/bin/env bash
# Generates what docker-compose.yml mounts and does not commit: certificates, the HSM PINs,
# a SigV4 credential, the edge configuration and its KMS console file. Run from anywhere:
#
#   deploy/compose/init.sh [--hostname xks.example.com] [--force]
#
# Output: deploy/compose/generated/ (git-ignored). Existing output is kept unless --force.
# Run it as root (or with sudo) so each file can be handed to the container user that reads it:
# uid 10001 (broker) and 10002 (edge), mode 0400/0444.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/pki.sh
source "$here/../../scripts/lib/pki.sh"

hostname=localhost force=0
while (($#)); do
    case $1 in
        --hostname) hostname=${2:?--hostname needs a name}; shift 2 ;;
        --force) force=1; shift ;;
        -h | --help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

out="$here/generated"
if [[ -e $out/edge.json && $force == 0 ]]; then
    echo "$out already exists; use --force to make new certificates and credentials" >&2
    exit 0
fi
rm -rf "$out"
mkdir -p "$out/tls/edge" "$out/tls/broker" "$out/secrets" "$out/kms" "$out/pki"
chmod 700 "$out/secrets" "$out/kms" "$out/pki"

# Internal PKI (edge <-> broker mutual TLS on the internal network).
xks_pki_ca "$out/pki" internal-ca "/O=XksGrpc compose/CN=XksGrpc internal CA"
xks_pki_leaf "$out/pki" broker "/CN=broker" internal-ca server "DNS:broker"
xks_pki_leaf "$out/pki" edge-client "/CN=xks-edge" internal-ca client
# Public side: the edge's server certificate (replace with one from a public CA for AWS KMS)
# and the CA that KMS client certificates chain to when mTLS is switched on (lab CA here).
xks_pki_ca "$out/pki" ca "/O=XksGrpc compose/CN=XksGrpc compose server CA"
san="DNS:localhost,IP:127.0.0.1"
[[ $hostname == localhost ]] || san="DNS:$hostname,$san"
xks_pki_leaf "$out/pki" server "/CN=$hostname" ca server "$san"
xks_pki_ca "$out/pki" client-ca "/O=XksGrpc compose/CN=XksGrpc compose client CA"
xks_pki_leaf "$out/pki" client "/CN=cks.kms.us-east-1.amazonaws.com" client-ca client

cp "$out/pki/internal-ca.pem" "$out/pki/broker.pem" "$out/pki/broker.key" "$out/tls/broker/"
cp "$out/pki/internal-ca.pem" "$out/pki/edge-client.pem" "$out/pki/edge-client.key" \
    "$out/pki/server.pem" "$out/pki/server.key" "$out/pki/ca.pem" "$out/pki/client-ca.pem" "$out/tls/edge/"

# Secrets: HSM PINs (broker only) and the SigV4 secret (edge only).
(umask 077
 openssl rand -hex 16 | tr -d '\n' >"$out/secrets/hsm_pin"
 openssl rand -hex 16 | tr -d '\n' >"$out/secrets/hsm_so_pin"
 openssl rand -base64 32 | tr -d '\n' >"$out/secrets/ks1_secret")
akid=$(openssl rand 20 | base32)
akid=${akid:0:26}
sed "s/@KS1_ACCESS_KEY_ID@/$akid/" "$here/edge.json" >"$out/edge.json"
(umask 077 && cat >"$out/kms/ks1-1.json" <<JSON
{
  "XksProxyUriPath": "/ks1/kms/xks/v1",
  "XksProxyAuthenticationCredential": {
    "AccessKeyId": "$akid",
    "RawSecretAccessKey": "$(<"$out/secrets/ks1_secret")"
  }
}
JSON
)

# Hand each file to the container user that reads it (bind-mounted files keep host owners and modes).
chmod 0444 "$out"/tls/*/*.pem "$out/edge.json"
chmod 0400 "$out"/tls/*/*.key "$out"/secrets/*
chmod 0755 "$out/tls" "$out/tls/edge" "$out/tls/broker" "$out/secrets"
if [[ $(id -u) -eq 0 ]]; then
    chown 10001:10001 "$out/tls/broker/broker.key" "$out/secrets/hsm_pin" "$out/secrets/hsm_so_pin"
    chown 10002:10002 "$out/tls/edge/server.key" "$out/tls/edge/edge-client.key" "$out/secrets/ks1_secret"
else
    echo "warning: not root, so the keys and secrets stay yours (mode 0400) and the containers cannot read them;" >&2
    echo "         re-run with sudo: sudo $0 --force" >&2
fi

cat <<INFO
Generated $out
  KMS console file:  $out/kms/ks1-1.json
  edge endpoint:     https://$hostname:8443/ks1/kms/xks/v1 (trust anchor $out/tls/edge/ca.pem)
Next (see README, "Docker Compose"):
  docker compose build
  docker compose run --rm --entrypoint sh broker -c 'softhsm2-util --init-token --free --label xks-compose --so-pin "\$(cat /run/secrets/hsm_so_pin)" --pin "\$(cat /run/secrets/hsm_pin)"'
  docker compose run --rm -T broker keys batch --config /etc/xksgrpc/broker/broker.json < deploy/demo-keys.batch
  docker compose up -d
INFO
