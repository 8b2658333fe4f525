# shellcheck shell=bash
# Minimal X.509 helpers (openssl) shared by scripts/lab.sh and deploy/compose/init.sh. Sourced, never run.
# Keys are EC P-256 in PKCS#8 PEM, mode 0600; certificates are PEM, SHA-256, 10 years (lab and test use).

_xks_pki_cnf() {
    cat <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${ENV::XKS_PKI_SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
}

_xks_pki_key() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"); }

# xks_pki_ca DIR NAME SUBJECT: a self-signed CA, DIR/NAME.pem and DIR/NAME.key.
xks_pki_ca() {
    local dir=$1 name=$2 subject=$3
    _xks_pki_key "$dir/$name.key"
    XKS_PKI_SAN=DNS:unused openssl req -new -x509 -key "$dir/$name.key" -subj "$subject" -days 3650 -sha256 \
        -config <(_xks_pki_cnf) -extensions ca -out "$dir/$name.pem"
}

# xks_pki_leaf DIR NAME SUBJECT CA server|client [SAN]: DIR/NAME.pem and DIR/NAME.key issued by DIR/CA.pem.
xks_pki_leaf() {
    local dir=$1 name=$2 subject=$3 ca=$4 kind=$5 san=${6:-DNS:unused}
    _xks_pki_key "$dir/$name.key"
    XKS_PKI_SAN=$san openssl req -new -key "$dir/$name.key" -subj "$subject" -config <(_xks_pki_cnf) -out "$dir/$name.csr"
    XKS_PKI_SAN=$san openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
        -CAcreateserial -days 3650 -sha256 -extfile <(_xks_pki_cnf) -extensions "$kind" -out "$dir/$name.pem" 2>/dev/null
    rm -f "$dir/$name.csr" "$dir/$ca.srl"
}
