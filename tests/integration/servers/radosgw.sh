# shellcheck shell=bash
# radosgw.sh - a real, strict S3 server for integration cases: Ceph's RADOS Gateway on a
# one-monitor, one-memstore-OSD cluster with cephx keys, everything under $SCRATCH/ceph and on
# free 127.0.0.1 ports (facts in ../shared/notes/test-servers.md). Source it after lib.sh:
#
#   . "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"
#   radosgw_start [BUCKET...]      ~15 s; skips the case (exit 77) if Ceph is not installed
#                                  (RGW_MEMSTORE_BYTES: the OSD's in-memory disk, default 1 GiB;
#                                  RGW_TLS_CERT and RGW_TLS_KEY, PEM files: also serve HTTPS,
#                                  at S3_TLS_ENDPOINT = https://localhost:PORT)
#
# Path-style requests go to 127.0.0.1:PORT; virtual-hosted ones to BUCKET.localhost:PORT
# (rgw_dns_name = localhost; libcurl resolves any *.localhost to loopback by itself).
# Afterwards: S3_ENDPOINT (http://127.0.0.1:PORT), S3_REGION, S3_BUCKET (the first bucket,
# default "offsite-test"), exported AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
# AWS_DEFAULT_REGION for the test user, and helpers:
#   s3cli ARGS...                  the AWS CLI against the gateway (aws --endpoint-url ...)
#   radosgw_bucket NAME [--object-lock]   create another bucket
#   add_s3_target FILE NAME [KEY=VALUE...]  append a [target NAME] type = s3 section
# lib.sh's trap stops the daemons (gateway, OSD, monitor, in that order, each waited for) even
# when the case fails; OFS_KEEP=1 keeps their logs under $SCRATCH/ceph/log.

RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-OFSTESTACCESSKEY0001}
RGW_SECRET_KEY=${RGW_SECRET_KEY:-ofs/test/secret/key/0123456789abcdefghij}

# _rgw_free_port: a TCP port on 127.0.0.1 nobody listens on right now
_rgw_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _rgw_wait WHAT SECONDS CMD...: poll CMD until it succeeds
_rgw_wait() {
    local what=$1 secs=$2 i; shift 2
    for ((i = 0; i < secs * 5; i++)); do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "radosgw.sh: $what did not come up in ${secs}s" >&2
    _rgw_show_logs
    return 1
}

_rgw_show_logs() {
    local f
    for f in "$RGW_DIR"/log/*; do
        [ -f "$f" ] || continue
        echo "--- $f (tail)" >&2
        tail -n 20 "$f" >&2
    done
}

# _rgw_register NAME: note the PID a daemon wrote to its pid file, for _rgw_stop
_rgw_register() {
    local pidfile=$RGW_DIR/run/$1.pid i pid
    for ((i = 0; i < 50; i++)); do
        if [ -s "$pidfile" ]; then
            read -r pid < "$pidfile"
            echo "$pid" >> "$RGW_DIR/pids"
            return 0
        fi
        sleep 0.1
    done
    echo "radosgw.sh: no pid file for $1" >&2
    return 1
}

# _rgw_stop: the daemons in reverse start order (gateway, OSD, monitor), each waited for, so
# the scratch directory is not removed under a daemon still writing to it
_rgw_stop() {
    local pid i
    [ -f "$RGW_DIR/pids" ] || return 0
    for pid in $(tac "$RGW_DIR/pids"); do
        kill "$pid" 2> /dev/null || continue
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2> /dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2> /dev/null || true
    done
    rm -f "$RGW_DIR/pids"
}

# _rgw_guard: a child of the case's shell, registered with register_pid: lib.sh's trap kills
# it and waits for it, and it stops the daemons (which are not the shell's children) first
_rgw_guard() {
    trap '_rgw_stop; exit 0' TERM
    while :; do
        sleep 1 &
        wait $! || true
    done
}

_rgw_ceph() { ceph -c "$RGW_DIR/ceph.conf" --connect-timeout 10 "$@"; }

radosgw_start() {
    local b
    for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
        command -v "$b" > /dev/null || skip "Ceph is not installed ($b missing; scripts/install-deps.sh installs radosgw ceph-mon ceph-osd)"
    done
    RGW_DIR=$SCRATCH/ceph
    mkdir -p "$RGW_DIR"/{mon,osd,run,log}
    _rgw_guard &
    register_pid $!
    local mon_port rgw_port tls_port tls_frontend=""
    mon_port=$(_rgw_free_port)
    rgw_port=$(_rgw_free_port)
    if [ -n "${RGW_TLS_CERT:-}" ]; then
        tls_port=$(_rgw_free_port)
        tls_frontend=" ssl_endpoint=127.0.0.1:$tls_port ssl_certificate=$RGW_TLS_CERT ssl_private_key=$RGW_TLS_KEY"
        S3_TLS_ENDPOINT=https://localhost:$tls_port
    fi
    cat > "$RGW_DIR/ceph.conf" << EOF
[global]
fsid = $(python3 -c 'import uuid; print(uuid.uuid4())')
mon host = [v2:127.0.0.1:$mon_port]
public addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $RGW_DIR/keyring
run dir = $RGW_DIR/run
admin socket = $RGW_DIR/run/\$name.asok
pid file = $RGW_DIR/run/\$name.pid
log file = $RGW_DIR/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
ms bind msgr1 = false
[mon]
mon data = $RGW_DIR/mon/\$name
[osd]
osd data = $RGW_DIR/osd/\$name
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-1073741824}
osd max object size = 134217728
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port$tls_frontend
rgw dns name = localhost
rgw enable usage log = false
rgw lc debug interval = 10
EOF
    local conf=$RGW_DIR/ceph.conf kr=$RGW_DIR/keyring
    ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *' > /dev/null
    ceph-authtool "$kr" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
        --cap mds 'allow *' --cap mgr 'allow *' > /dev/null
    ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' \
        --cap osd 'allow *' --cap mgr 'allow profile osd' > /dev/null
    ceph-authtool "$kr" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' \
        --cap mgr 'allow rw' > /dev/null
    monmaptool --create --fsid "$(awk '/^fsid/ {print $3}' "$conf")" \
        --addv a "[v2:127.0.0.1:$mon_port]" "$RGW_DIR/monmap" > /dev/null
    ceph-mon -c "$conf" -i a --mkfs --monmap "$RGW_DIR/monmap" --keyring "$kr" \
        > "$RGW_DIR/log/mkfs-mon.out" 2>&1 || { cat "$RGW_DIR/log/mkfs-mon.out" >&2; return 1; }
    ceph-mon -c "$conf" -i a 2>> "$RGW_DIR/log/daemons.err" || { _rgw_show_logs; return 1; }
    _rgw_register mon.a
    _rgw_wait "the Ceph monitor" 30 _rgw_ceph mon stat || return 1

    local osd_id
    osd_id=$(_rgw_ceph osd create) || return 1
    [ "$osd_id" = 0 ] || { echo "radosgw.sh: osd create gave '$osd_id'" >&2; return 1; }
    mkdir -p "$RGW_DIR/osd/osd.0"
    ceph-osd -c "$conf" -i 0 --mkfs > "$RGW_DIR/log/mkfs-osd.out" 2>&1 ||
        { cat "$RGW_DIR/log/mkfs-osd.out" >&2; return 1; }
    _rgw_ceph osd crush add osd.0 1.0 root=default host=localhost > /dev/null 2>&1 || return 1
    ceph-osd -c "$conf" -i 0 2>> "$RGW_DIR/log/daemons.err" || { _rgw_show_logs; return 1; }
    _rgw_register osd.0
    _rgw_wait "the Ceph OSD" 60 _rgw_osd_up || return 1

    radosgw -c "$conf" -n client.rgw 2>> "$RGW_DIR/log/daemons.err" ||
        { _rgw_show_logs; return 1; }
    _rgw_register client.rgw
    S3_ENDPOINT=http://127.0.0.1:$rgw_port
    _rgw_wait "radosgw on $S3_ENDPOINT" 90 curl -sf -o /dev/null "$S3_ENDPOINT/" || return 1

    radosgw-admin -c "$conf" -n client.admin user create --uid=offsite-test \
        --display-name="offsite test" --access-key="$RGW_ACCESS_KEY" \
        --secret-key="$RGW_SECRET_KEY" > "$RGW_DIR/log/user.json" 2>&1 ||
        { cat "$RGW_DIR/log/user.json" >&2; return 1; }
    export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
    export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    # libcurl and the AWS CLI honour proxy variables: loopback must never go through one
    export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}
    export no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy}
    # nothing from the developer's own AWS setup may leak in
    export AWS_CONFIG_FILE=$RGW_DIR/aws-config AWS_SHARED_CREDENTIALS_FILE=$RGW_DIR/aws-credentials
    unset AWS_PROFILE AWS_SESSION_TOKEN
    : > "$AWS_CONFIG_FILE"
    : > "$AWS_SHARED_CREDENTIALS_FILE"
    S3_REGION=us-east-1
    S3_BUCKET=${1:-offsite-test}
    [ $# -gt 0 ] || set -- "$S3_BUCKET"
    for b in "$@"; do
        radosgw_bucket "$b" || return 1
    done
    note "radosgw at $S3_ENDPOINT, bucket $S3_BUCKET"
}

_rgw_osd_up() { _rgw_ceph osd stat 2> /dev/null | grep -q '1 up'; }

# s3cli ARGS...: Debian's AWS CLI (v2) if present, else whatever `aws` is on PATH
s3cli() {
    local aws=aws
    [ -x /usr/bin/aws ] && aws=/usr/bin/aws
    "$aws" --endpoint-url "$S3_ENDPOINT" --no-cli-pager "$@"
}

# radosgw_bucket NAME [--object-lock]
radosgw_bucket() {
    local extra=()
    [ "${2:-}" = --object-lock ] && extra=(--object-lock-enabled-for-bucket)
    s3cli s3api create-bucket --bucket "$1" "${extra[@]+"${extra[@]}"}" > /dev/null
}

# add_s3_target FILE NAME [KEY=VALUE...]: an s3 target on the gateway, path style
add_s3_target() {
    local file=$1 name=$2 kv; shift 2
    {
        echo
        echo "[target $name]"
        echo "type = s3"
        echo "endpoint = $S3_ENDPOINT"
        echo "region = $S3_REGION"
        echo "bucket = $S3_BUCKET"
        echo "url_style = path"
        for kv in "$@"; do
            echo "${kv%%=*} = ${kv#*=}"
        done
    } >> "$file"
}
