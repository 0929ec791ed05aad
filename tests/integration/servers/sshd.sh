# shellcheck shell=bash
# sshd.sh - a real OpenSSH server for integration cases, on a free 127.0.0.1 port with its own
# host key, authorized_keys, config and pid file under $SCRATCH/sshd; the system's own ssh
# configuration is never read (sshd -f, ssh -F /dev/null). Facts in
# ../shared/notes/test-servers.md. Source it after lib.sh:
#
#   . "$OFS_SOURCE_DIR/tests/integration/servers/sshd.sh"
#   sshd_start                     skips the case (exit 77) if sshd, ssh or ssh-keygen is missing
#
# Afterwards: SSHD_PORT, SSHD_USER (this user: sshd lets it in with the generated key),
# SSH_KEY (the client's identity), SSH_KNOWN_HOSTS (holding the server's host key),
# SSH_COMMAND (an ssh_command for offsite: port, identity, known hosts, strict checking) and
# SSH_UNKNOWN_COMMAND (the same with an empty known_hosts file: the host key is unknown).
# lib.sh's trap stops sshd even when the case fails. add_rsync_target is in rsyncd.sh (sourcing
# it starts nothing).

_sshd_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sshd_start() {
    local sshd=/usr/sbin/sshd b
    [ -x "$sshd" ] || skip "sshd is not installed (scripts/install-deps.sh installs openssh-server)"
    for b in ssh ssh-keygen; do
        command -v "$b" > /dev/null || skip "$b is not installed (openssh-client)"
    done
    SSHD_DIR=$SCRATCH/sshd
    mkdir -p "$SSHD_DIR"
    chmod 700 "$SSHD_DIR"
    # as root, sshd wants its privilege separation directory (Debian creates it at boot)
    if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
        mkdir -p /run/sshd && chmod 755 /run/sshd
    fi
    ssh-keygen -q -t ed25519 -N '' -C offsite-test-host -f "$SSHD_DIR/host_key"
    ssh-keygen -q -t ed25519 -N '' -C offsite-test-user -f "$SSHD_DIR/user_key"
    cp "$SSHD_DIR/user_key.pub" "$SSHD_DIR/authorized_keys"
    : > "$SSHD_DIR/empty_known_hosts"
    SSHD_USER=$(id -un)
    SSH_KEY=$SSHD_DIR/user_key
    SSH_KNOWN_HOSTS=$SSHD_DIR/known_hosts
    local attempt pid i up
    for attempt in 1 2 3; do
        SSHD_PORT=$(_sshd_free_port)
        cat > "$SSHD_DIR/sshd_config" << EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_key
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PidFile $SSHD_DIR/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
MaxStartups 100
LogLevel ERROR
# root's ~/.bashrc may be slow (pyenv here, anything on CI): Debian's bash reads it for
# commands run by sshd unless it starts nested, which SHLVL=1 makes it believe
SetEnv SHLVL=1
EOF
        echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_DIR/host_key.pub")" > "$SSH_KNOWN_HOSTS"
        "$sshd" -D -e -f "$SSHD_DIR/sshd_config" >> "$SSHD_DIR/sshd.log" 2>&1 &
        pid=$!
        up=0
        for ((i = 0; i < 50; i++)); do
            if (exec 3<> "/dev/tcp/127.0.0.1/$SSHD_PORT") 2> /dev/null; then up=1; break; fi
            kill -0 "$pid" 2> /dev/null || break
            sleep 0.1
        done
        if [ "$up" = 1 ]; then
            register_pid "$pid"
            break
        fi
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
        if [ "$attempt" = 3 ]; then
            echo "sshd.sh: sshd did not come up" >&2
            tail -n 20 "$SSHD_DIR/sshd.log" >&2
            return 1
        fi
    done
    SSH_COMMAND="ssh -F /dev/null -p $SSHD_PORT -i $SSH_KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=$SSH_KNOWN_HOSTS -o StrictHostKeyChecking=yes"
    SSH_UNKNOWN_COMMAND="ssh -F /dev/null -p $SSHD_PORT -i $SSH_KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=$SSHD_DIR/empty_known_hosts -o StrictHostKeyChecking=yes"
    # the client works before any case relies on it
    if ! $SSH_COMMAND -o BatchMode=yes "$SSHD_USER@127.0.0.1" true < /dev/null > "$SSHD_DIR/check.out" 2>&1; then
        echo "sshd.sh: cannot log in to the test sshd:" >&2
        cat "$SSHD_DIR/check.out" "$SSHD_DIR/sshd.log" >&2
        return 1
    fi
    note "sshd on port $SSHD_PORT for user $SSHD_USER"
}
