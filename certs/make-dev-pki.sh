#!/usr/bin/env bash
# make-dev-pki.sh: a throwaway PKI for developing and testing Cairn.
#
# Usage: certs/make-dev-pki.sh [--force] OUTDIR
#
# Makes, with the openssl CLI only (ECDSA P-256 everywhere):
#   ca.crt ca.key                  development root CA
#   server.crt server.key          hub certificate: SAN DNS:localhost,
#                                  IP:127.0.0.1, IP:::1; EKU serverAuth
#   alpha beta compliance operator client certificates (EKU clientAuth),
#                                  <name>.crt + <name>.key
# and the negative fixtures the hub's TLS tests need:
#   expired                        clientAuth, validity ended in 2021
#   not-yet-valid                  clientAuth, validity starts in 20 years
#   other-ca-client                clientAuth, signed by other-ca.crt, a CA
#                                  the hub does not trust
#   server-auth-only               signed by ca.crt but EKU serverAuth only
#
# Prints "name fingerprint" for every client certificate, where fingerprint
# is the SHA-256 of the certificate's DER encoding in 64 lowercase hex (the
# hub registers members by it), and writes the same lines to
# OUTDIR/fingerprints.txt.
#
# Private keys are created mode 0600. NEVER use this PKI in production: the
# CA key sits next to everything else. See docs/operator-guide.md for how to
# run a real PKI (offline CA, CSRs).
set -euo pipefail
umask 077

usage() {
  echo "usage: $0 [--force] OUTDIR" >&2
  echo "  makes a development CA, hub and client certificates in OUTDIR;" >&2
  echo "  --force overwrites an existing PKI in OUTDIR" >&2
  exit 2
}

force=0
outdir=""
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help) usage ;;
    -*) echo "error: unknown option '$arg'" >&2; usage ;;
    *)
      [[ -z "$outdir" ]] || { echo "error: more than one OUTDIR given" >&2; usage; }
      outdir="$arg"
      ;;
  esac
done
[[ -n "$outdir" ]] || usage
command -v openssl >/dev/null || {
  echo "error: openssl not found; install it (Debian: apt-get install openssl)" >&2
  exit 1
}

mkdir -p "$outdir"
cd "$outdir"
if [[ -e ca.key && $force -eq 0 ]]; then
  echo "error: $outdir/ca.key already exists; refusing to replace a CA that" \
    "may have issued certificates in use. Re-run with --force to overwrite." >&2
  exit 1
fi

# Scratch space for `openssl ca` (database, config); removed on exit.
work="$(mktemp -d .pki-work.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cat >"$work/ca.cnf" <<'EOF'
[ ca ]
default_ca = dev_ca

[ dev_ca ]
database        = $ENV::PKI_WORK/index.txt
new_certs_dir   = $ENV::PKI_WORK
serial          = $ENV::PKI_WORK/serial
default_md      = sha256
default_days    = 825
policy          = policy_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no

[ policy_any ]
commonName             = supplied
organizationName       = optional

[ server_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ client_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ server_only_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF
export PKI_WORK="$work"

new_key() { # name
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1.key" 2>/dev/null
  chmod 0600 "$1.key"
}

new_ca() { # name common-name
  new_key "$1"
  openssl req -new -x509 -key "$1.key" -out "$1.crt" -days 3650 -sha256 \
    -subj "/O=Cairn Dev/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
  chmod 0644 "$1.crt"
  : >"$work/index.txt"
}

# issue NAME CA EXTENSIONS [extra `openssl ca` flags: dates]
issue() {
  local name="$1" ca="$2" ext="$3"
  shift 3
  new_key "$name"
  openssl req -new -key "$name.key" -subj "/O=Cairn Dev/CN=$name" \
    -out "$work/$name.csr"
  openssl ca -batch -notext -config "$work/ca.cnf" -rand_serial \
    -cert "$ca.crt" -keyfile "$ca.key" -extensions "$ext" \
    -in "$work/$name.csr" -out "$name.crt" "$@" 2>/dev/null
  chmod 0644 "$name.crt"
}

fingerprint() { # cert file -> 64 lowercase hex of SHA-256(DER)
  openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

# The fixtures outside the normal validity window. openssl ca takes explicit
# dates (GeneralizedTime for years >= 2050 is handled by openssl).
next_year=$(($(date -u +%Y) + 20))

new_ca other-ca "Cairn Dev Other CA (not trusted by the hub)"
issue other-ca-client other-ca client_ext

new_ca ca "Cairn Dev Root CA"
issue server ca server_ext
for member in alpha beta compliance operator; do
  issue "$member" ca client_ext
done
issue expired ca client_ext -startdate 20200101000000Z -enddate 20210101000000Z
issue not-yet-valid ca client_ext \
  -startdate "${next_year}0101000000Z" -enddate "$((next_year + 1))0101000000Z"
issue server-auth-only ca server_only_ext

: >fingerprints.txt.tmp
for name in alpha beta compliance operator expired not-yet-valid \
  other-ca-client server-auth-only; do
  echo "$name $(fingerprint "$name.crt")" >>fingerprints.txt.tmp
done
chmod 0644 fingerprints.txt.tmp
mv fingerprints.txt.tmp fingerprints.txt
cat fingerprints.txt
