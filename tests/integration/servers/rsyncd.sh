# shellcheck shell=bash
# rsyncd.sh - a real rsync daemon for integration cases: Debian's `rsync --daemon` with its own
# config, secrets file and module, on a free 127.0.0.1 port, everything under $SCRATCH/rsyncd
# (facts in ../shared/notes/test-servers.md). Source it after lib.sh:
#
#   . "$OFS_SOURCE_DIR/tests/integration/servers/rsyncd.sh"
#   rsyncd_start                   skips the case (exit 77) if rsync is not installed
#
# Afterwards: RSYNCD_PORT, RSYNCD_DIR (the module's directory on disk), RSYNCD_URL
# (rsync://offsite@127.0.0.1:PORT/backup), RSYNCD_PASSWORD_FILE (mode 600, the right password),
# and helpers:
#   rsyncd_stop                    stop the daemon and every connection it is serving (its
#                                  process group), as a crash or a reboot of the box would
#   rsyncd_restart                 start it again on the same port
#   add_rsync_target FILE NAME URL [KEY=VALUE...]   append a [target NAME] type = rsync section
# lib.sh's trap stops the daemon (and its connections) even when the case fails.

# _rsyncd_free_port: a TCP port on 127.0.0.1 nobody listens on right now
_rsyncd_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _rsyncd_up PORT: 0 once something accepts connections on the port
_rsyncd_up() {
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

# _rsyncd_kill: the daemon's process group (listener and per-connection children), waited for
_rsyncd_kill() {
    local pid i
    [ -s "$RSYNCD_DIR/../daemon.pid" ] || return 0
    read -r pid < "$RSYNCD_DIR/../daemon.pid"
    rm -f "$RSYNCD_DIR/../daemon.pid"
    kill -TERM -- "-$pid" 2> /dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 -- "-$pid" 2> /dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2> /dev/null || true
}

# _rsyncd_guard: a child of the case's shell, registered with register_pid: lib.sh's trap
# kills it, and it takes the daemon's whole process group down first
_rsyncd_guard() {
    trap '_rsyncd_kill; exit 0' TERM
    while :; do
        sleep 1 &
        wait $! || true
    done
}

# _rsyncd_launch: start the daemon in a session of its own (so its connections can be stopped
# with it) and wait until it answers
_rsyncd_launch() {
    local i
    setsid rsync --daemon --no-detach --config="$RSYNCD_CONF" >> "$RSYNCD_DIR/../rsyncd.out" 2>&1 &
    echo $! > "$RSYNCD_DIR/../daemon.pid"
    for ((i = 0; i < 50; i++)); do
        _rsyncd_up "$RSYNCD_PORT" && return 0
        kill -0 "$!" 2> /dev/null || break
        sleep 0.1
    done
    echo "rsyncd.sh: the daemon did not come up on port $RSYNCD_PORT" >&2
    tail -n 20 "$RSYNCD_DIR/../rsyncd.out" "$RSYNCD_DIR/../rsyncd.log" >&2 2> /dev/null || true
    return 1
}

rsyncd_start() {
    command -v rsync > /dev/null || skip "rsync is not installed (scripts/install-deps.sh installs it)"
    command -v setsid > /dev/null || skip "setsid (util-linux) is not installed"
    local base=$SCRATCH/rsyncd
    RSYNCD_DIR=$base/module
    RSYNCD_CONF=$base/rsyncd.conf
    RSYNCD_PASSWORD_FILE=$base/password
    mkdir -p "$RSYNCD_DIR"
    echo "offsite:rsync-test-secret" > "$base/secrets"
    echo "rsync-test-secret" > "$RSYNCD_PASSWORD_FILE"
    chmod 600 "$base/secrets" "$RSYNCD_PASSWORD_FILE"
    _rsyncd_guard &
    register_pid $!
    local attempt
    for attempt in 1 2 3; do
        RSYNCD_PORT=$(_rsyncd_free_port)
        # uid/gid: a daemon started as root would otherwise switch to nobody
        cat > "$RSYNCD_CONF" << EOF
port = $RSYNCD_PORT
address = 127.0.0.1
use chroot = no
reverse lookup = no
uid = $(id -u)
gid = $(id -g)
log file = $base/rsyncd.log
[backup]
path = $RSYNCD_DIR
read only = no
auth users = offsite
secrets file = $base/secrets
EOF
        _rsyncd_launch && break
        _rsyncd_kill
        [ "$attempt" = 3 ] && return 1
    done
    RSYNCD_URL=rsync://offsite@127.0.0.1:$RSYNCD_PORT/backup
    note "rsync daemon on port $RSYNCD_PORT, module dir $RSYNCD_DIR"
}

rsyncd_stop() {
    _rsyncd_kill
}

rsyncd_restart() {
    _rsyncd_kill
    _rsyncd_launch
}

# add_rsync_target FILE NAME URL [KEY=VALUE...]
add_rsync_target() {
    local file=$1 name=$2 url=$3 kv; shift 3
    {
        echo
        echo "[target $name]"
        echo "type = rsync"
        echo "url = $url"
        for kv in "$@"; do
            echo "${kv%%=*} = ${kv#*=}"
        done
    } >> "$file"
}
