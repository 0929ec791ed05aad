# shellcheck shell=bash
# gcs.sh - the Cloud Storage emulator of npm's firebase-tools for integration cases, started
# through tools/gcs-emulator.js on a free 127.0.0.1 port with its blobs under $SCRATCH/gcs.
# Source it after lib.sh:
#
#   . "$OFS_SOURCE_DIR/tests/integration/servers/gcs.sh"
#   gcs_start                      ~1-2 s (the first time on a machine, installs the emulator:
#                                  minutes); skips the case (exit 77) if node/npm are missing
#
# Afterwards: GCS_ENDPOINT (http://127.0.0.1:PORT), GCS_BUCKET ("offsite-test"; the emulator
# makes buckets on first use), exported OFFSITE_GCS_TOKEN (the emulator takes any token and
# checks none), and helpers:
#   add_gcs_target FILE NAME [KEY=VALUE...]   append a [target NAME] type = gcs section
#   gcs_objects PREFIX             the object names under PREFIX, one a line (curl + python3)
#   gcs_size NAME                  an object's size from its metadata
# What the emulator does NOT do (so no case here claims to test it): chunked resumable uploads
# (it finishes the object at the first chunk - targets get part_size above every object),
# preconditions (ifGenerationMatch is ignored: init reports check-then-write), objects over
# ~130 MB, lifecycle, retention, auth. test_gcs_scripted covers those against a scripted server.
# lib.sh's trap stops the emulator even when the case fails.

GCS_BUCKET=${GCS_BUCKET:-offsite-test}

gcs_start() {
    local dir port i
    command -v node > /dev/null || skip "node is not installed (scripts/install-deps.sh)"
    dir=$("$TOOLS/gcs-emulator-install.sh" | tail -n 1) || skip "the Cloud Storage emulator could not be installed"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$SCRATCH/gcs"
    TMPDIR=$SCRATCH/gcs node "$TOOLS/gcs-emulator.js" "$dir" "$port" > "$SCRATCH/gcs/log" 2>&1 &
    register_pid $!
    for ((i = 0; i < 150; i++)); do
        grep -q '^ready' "$SCRATCH/gcs/log" 2> /dev/null && break
        kill -0 $! 2> /dev/null || { cat "$SCRATCH/gcs/log" >&2; fail "the GCS emulator exited"; }
        sleep 0.2
    done
    grep -q '^ready' "$SCRATCH/gcs/log" || { cat "$SCRATCH/gcs/log" >&2; fail "the GCS emulator did not start in 30s"; }
    GCS_ENDPOINT=http://127.0.0.1:$port
    export OFFSITE_GCS_TOKEN=emulator-takes-any-token
}

# add_gcs_target FILE NAME [KEY=VALUE...]: a gcs target on the emulator. part_size is above
# any object the cases make, so every upload is one request (see above).
add_gcs_target() {
    local file=$1 name=$2 kv; shift 2
    {
        echo
        echo "[target $name]"
        echo "type = gcs"
        echo "endpoint = $GCS_ENDPOINT"
        echo "bucket = $GCS_BUCKET"
        echo "part_size = 256M"
        for kv in "$@"; do
            echo "${kv%%=*} = ${kv#*=}"
        done
    } >> "$file"
}

# gcs_objects PREFIX: object names under PREFIX, sorted, one a line
gcs_objects() {
    curl -sf "$GCS_ENDPOINT/storage/v1/b/$GCS_BUCKET/o?prefix=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1")&maxResults=1000" |
        python3 -c 'import json, sys; [print(o["name"]) for o in json.load(sys.stdin).get("items", [])]' | sort
}

# gcs_size NAME: the object's size, from its metadata
gcs_size() {
    curl -sf "$GCS_ENDPOINT/storage/v1/b/$GCS_BUCKET/o/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1")" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])'
}
