#!/usr/bin/env bash
# Make a development certificate authority and a server certificate for Mosquitto's optional
# TLS listener (mosquitto/conf.d/tls.conf.example), with openssl.
#
# Usage: scripts/make-dev-ca.sh [--force] [OUTPUT_DIR]
#
#   OUTPUT_DIR  where to write (default: mosquitto/certs, git-ignored)
#   --force     make a new CA too; by default an existing CA is kept and only the server
#               certificate is issued again, so clients that trust ca.crt keep working
#
# Files: ca.crt (give it to clients: IOC_MQTT_CA_FILE=mosquitto/certs/ca.crt), ca.key,
# server.crt, server.key. The server certificate names the hosts clients use: mosquitto (the
# compose service), localhost and 127.0.0.1, plus any in MQTT_TLS_EXTRA_NAMES, a space
# separated list such as "DNS:ioc.example.lan IP:10.0.0.5".
#
# For development only: the CA key is unencrypted on disk. server.key is readable by all
# (0644) because Mosquitto reads it after dropping root privileges to its own user (uid 1883
# in the eclipse-mosquitto image), which does not own the bind-mounted file. Never use these
# files in production.
set -euo pipefail

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
out="$(dirname -- "$here")/mosquitto/certs"
force=no
while [[ $# -gt 0 ]]; do
    case "$1" in
        --force) force=yes; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "make-dev-ca: unknown option $1" >&2; exit 2 ;;
        *) out=$1; shift ;;
    esac
done

command -v openssl >/dev/null || { echo "make-dev-ca: openssl is not installed" >&2; exit 1; }
mkdir -p -- "$out"
cd -- "$out"
umask 077

ca_days=3650
server_days=825   # the longest validity that macOS/iOS clients accept for a server cert

if [[ $force == yes || ! -s ca.key || ! -s ca.crt ]]; then
    openssl req -x509 -new -nodes -newkey rsa:3072 -sha256 -days "$ca_days" \
        -keyout ca.key -out ca.crt \
        -subj "/O=IOC development/CN=IOC development CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    echo "make-dev-ca: new CA in $out/ca.crt"
else
    echo "make-dev-ca: keeping the CA in $out/ca.crt (--force makes a new one)"
fi

names="DNS:mosquitto,DNS:localhost,IP:127.0.0.1"
for extra in ${MQTT_TLS_EXTRA_NAMES:-}; do
    names="$names,$extra"
done

ext=$(mktemp)
csr=$(mktemp)
trap 'rm -f -- "$ext" "$csr"' EXIT
cat > "$ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $names
EXT

openssl req -new -nodes -newkey rsa:2048 -sha256 \
    -keyout server.key -out "$csr" -subj "/O=IOC development/CN=mosquitto" 2>/dev/null
openssl x509 -req -in "$csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days "$server_days" -sha256 -extfile "$ext" -out server.crt 2>/dev/null
rm -f ca.srl

chmod 0600 ca.key
chmod 0644 ca.crt server.crt server.key
openssl verify -CAfile ca.crt server.crt >/dev/null
echo "make-dev-ca: server certificate for $names in $out/server.crt (valid $server_days days)"
