#!/usr/bin/env bash
# install-deps.sh - install the Debian packages offsite needs to build, test and be used.
#
# Idempotent: packages already installed are left alone and apt-get is not run at all when
# nothing is missing. Runs apt-get through sudo when not root. Fails loudly (non-zero exit and
# the apt-get output) if anything cannot be installed.
set -euo pipefail

PACKAGES=(
    cmake make gcc pkg-config
    libcurl4-openssl-dev libssl-dev libzstd-dev libinih-dev libarchive-dev
    libjansson-dev libxml2-dev libcmocka-dev
    zstd tar python3 python3-cryptography tzdata
    attr   # setfattr/getfattr for the xattr checks in the integration tests
    # real servers the integration tests start on loopback (docs: tests/integration/README)
    rsync openssh-server openssh-client    # rsync targets: sshd and the rsync daemon
    radosgw ceph-mon ceph-osd awscli       # S3 targets: Ceph RADOS Gateway, awscli cross-checks
    openssl                                # the TLS case makes its own CA and certificate
    curl                                   # gcs cases read objects back over the JSON API
    clang-14 libclang-rt-14-dev            # libFuzzer targets (scripts/fuzz.sh, tests/fuzz)
    dpkg-dev lintian systemd               # packaging/deb: cpack's dpkg-shlibdeps, lintian,
                                           # systemd-analyze verify of the installed units
)
# gcs targets: the Cloud Storage emulator runs on Node.js (npm's firebase-tools). A machine
# that has node from elsewhere (NodeSource) keeps it; Debian's packages otherwise.
command -v npm > /dev/null || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

# the emulator itself, cached outside the tree (minutes the first time, instant after)
install_gcs_emulator() {
    "$(dirname "$0")/../tests/integration/tools/gcs-emulator-install.sh" > /dev/null
}

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    install_gcs_emulator
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null || { echo "install-deps: not root and sudo is missing" >&2; exit 1; }
    SUDO=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -q && \
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
       > "$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: FAILED to install: ${missing[*]}" >&2
    exit 1
fi
install_gcs_emulator
echo "install-deps: done"
