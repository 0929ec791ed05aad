#!/usr/bin/env bash
# tls: radosgw serving HTTPS with a certificate from a CA of the case's own. Verification is on:
# without ca_file the push fails at once with a TLS message naming the host and a hint (no
# retries); with ca_file = the CA it pushes, and a clean machine lists and restores. Then the
# proxy variables: with HTTPS_PROXY set and NO_PROXY empty every connection is tunnelled
# through a CONNECT proxy (its log names the gateway), with NO_PROXY=localhost none is.
. "$(dirname "$0")/../../lib.sh"

command -v openssl > /dev/null || skip "openssl is not installed"
tls=$SCRATCH/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 2 \
    -subj /CN=offsite-test-ca 2> /dev/null || fail "cannot make the CA"
openssl req -newkey rsa:2048 -nodes -keyout "$tls/server.key" -out "$tls/server.csr" \
    -subj /CN=localhost 2> /dev/null || fail "cannot make the server key"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -out "$tls/server.pem" -days 2 -extfile "$tls/ext" 2> /dev/null ||
    fail "cannot sign the server certificate"

export RGW_TLS_CERT=$tls/server.pem RGW_TLS_KEY=$tls/server.key
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"
radosgw_start offsite-test || fail "radosgw did not start"
[ -n "${S3_TLS_ENDPOINT:-}" ] || fail "radosgw.sh gave no TLS endpoint"
note "HTTPS at $S3_TLS_ENDPOINT"

src=$SCRATCH/src
mkdir -p "$src"
head -c 300000 /dev/urandom > "$src/positions.bin"
make_config "$CONFIG" "$src"
S3_ENDPOINT=$S3_TLS_ENDPOINT add_s3_target "$CONFIG" cloud prefix=tls "ca_file=$tls/ca.pem"
run_ok ofs init
run_ok ofs backup --no-push
id=$(latest_id "$SCRATCH/staging")
S3_ENDPOINT=$S3_TLS_ENDPOINT add_s3_target "$CONFIG" untrusted prefix=tls

# the system does not trust the case's CA: refused at once, saying what to do
run_fails 2 "*TLS with localhost*HINT: is the certificate signed by a CA the system trusts? Otherwise set 'ca_file'*" \
    ofs -v push --target untrusted
if grep -q retrying "$LAST_ERR"; then fail "a TLS verification failure was retried"; fi

# through a CONNECT proxy: HTTPS_PROXY honoured, NO_PROXY empty
python3 "$TOOLS/connectproxy.py" --log "$SCRATCH/proxy.log" > "$SCRATCH/proxy.port" &
register_pid $!
for _ in $(seq 50); do [ -s "$SCRATCH/proxy.port" ] && break; sleep 0.1; done
proxy=http://127.0.0.1:$(cat "$SCRATCH/proxy.port")
HTTPS_PROXY=$proxy https_proxy=$proxy NO_PROXY= no_proxy= run_ok ofs push --target cloud
grep -q "^CONNECT localhost:${S3_TLS_ENDPOINT##*:}\$" "$SCRATCH/proxy.log" ||
    fail "the push did not go through HTTPS_PROXY: $(cat "$SCRATCH/proxy.log")"
tunnels=$(wc -l < "$SCRATCH/proxy.log")

# the clean machine, the proxy set but the gateway listed in NO_PROXY: nothing tunnelled
rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
HTTPS_PROXY=$proxy https_proxy=$proxy NO_PROXY=localhost no_proxy=localhost \
    run_ok ofs list --from cloud
expect_glob "$LAST_OUT" "*$id*" "list --from cloud output"
HTTPS_PROXY=$proxy https_proxy=$proxy NO_PROXY=localhost no_proxy=localhost \
    run_ok ofs restore --latest --from cloud --target "$SCRATCH/restore"
cmp "$src/positions.bin" "$SCRATCH/restore$src/positions.bin" || fail "restored file differs"
[ "$(wc -l < "$SCRATCH/proxy.log")" = "$tunnels" ] ||
    fail "NO_PROXY=localhost was not honoured: $(cat "$SCRATCH/proxy.log")"
echo "PASS: $CASE_NAME"
