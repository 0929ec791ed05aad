#!/usr/bin/env bash
# deb: the Debian package as an operator gets it. Builds the .deb with `cpack -G DEB` from the
# normal build, installs it with dpkg -i, and checks: lintian finds nothing (errors or
# warnings); systemd-analyze verify accepts every installed unit; /etc/offsite/offsite.ini is a
# conffile; the installed binary's --version; the man page and the bash completion (which
# completes set and target names from the configuration); the packaged timer fires on the
# default configuration's schedule (offsite schedule check); a backup with the installed
# default configuration pointed at a temp dir. Then dpkg --purge leaves nothing behind.
# Needs root and the Debian tools (CI runs as root); skipped otherwise, and in the ASan build
# (the package ships the normal build).
. "$(dirname "$0")/../../lib.sh"

[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
for tool in cpack dpkg dpkg-deb lintian systemd-analyze; do
    command -v "$tool" > /dev/null || skip "$tool is not installed (scripts/install-deps.sh installs it)"
done
grep -q '^OFFSITE_SANITIZE:BOOL=ON' "$OFS_BUILD_DIR/CMakeCache.txt" 2> /dev/null &&
    skip "the ASan build: the package is built from the normal build"
if dpkg-query -W -f='${Status}' offsite 2> /dev/null | grep -q installed; then
    skip "a package 'offsite' is installed already; not replacing it"
fi

# purge whatever this case installed, however it ends
trap 'rc=$?; dpkg --purge offsite > /dev/null 2>&1 || true; (exit $rc); _ofs_cleanup' EXIT

(cd "$SCRATCH" && cpack -G DEB -B "$SCRATCH/pkg" --config "$OFS_BUILD_DIR/CPackConfig.cmake") \
    > "$SCRATCH/cpack.log" 2>&1 || { cat "$SCRATCH/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$SCRATCH"/pkg/offsite_*.deb)
dpkg-deb -c "$deb" > "$SCRATCH/contents"
grep -q ' ./etc/offsite/offsite.ini$' "$SCRATCH/contents" ||
    fail "the package has no /etc/offsite/offsite.ini (configure with the default prefix /usr): $(cat "$SCRATCH/contents")"

run_ok lintian --fail-on error,warning --tag-display-limit 0 "$deb"
grep -v 'running with root privileges' "$LAST_OUT" "$LAST_ERR" | grep -E '^(E|W):' &&
    fail "lintian: $(cat "$LAST_OUT")"

run_ok dpkg -i "$deb"
[ "$(dpkg-query -W -f='${Conffiles}' offsite | awk '{print $1}')" = /etc/offsite/offsite.ini ] ||
    fail "conffiles: $(dpkg-query -W -f='${Conffiles}' offsite)"
units=(/usr/lib/systemd/system/offsite-*.service /usr/lib/systemd/system/offsite-*.timer)
[ "${#units[@]}" -eq 9 ] || fail "installed units: ${units[*]}"
run_ok systemd-analyze verify --man=no "${units[@]}"
[ ! -s "$LAST_ERR" ] || fail "systemd-analyze verify: $(cat "$LAST_ERR")"

run_ok /usr/bin/offsite --version
expect_glob "$LAST_OUT" "offsite [0-9]*.[0-9]*.[0-9]*" "the installed binary's --version"
[ -s /usr/share/man/man1/offsite.1.gz ] && zcat /usr/share/man/man1/offsite.1.gz | grep -q '^.SH EXIT STATUS' ||
    fail "the man page is missing"
[ -s /usr/share/doc/offsite/operator-guide.md ] && [ -s /usr/share/doc/offsite/copyright ] ||
    fail "the docs are missing"

# the packaged timer and the default configuration agree on one schedule
run_ok /usr/bin/offsite -c /etc/offsite/offsite.ini schedule check /usr/lib/systemd/system/offsite-backup.timer
expect_glob "$LAST_OUT" "*fires on the configured schedule*" "schedule check"

# a backup with the installed default configuration, its state in a temp dir
sed "s|^state_dir = .*|state_dir = $SCRATCH/state|" /etc/offsite/offsite.ini > "$SCRATCH/offsite.ini"
printf '\n[target nas]\ntype = file\npath = %s/nas\n' "$SCRATCH" >> "$SCRATCH/offsite.ini"
run_ok /usr/bin/offsite -c "$SCRATCH/offsite.ini" init
LAST_RC=0
/usr/bin/offsite -c "$SCRATCH/offsite.ini" backup > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
# 13: a file of /etc changed while read is committed with a warning, still a backup
[ "$LAST_RC" -eq 0 ] || [ "$LAST_RC" -eq 13 ] || { _show_last; fail "backup with the default config exited $LAST_RC"; }
[ "$(count_records "$SCRATCH/state/staging")" -eq 1 ] || fail "no backup in the temp staging"
[ "$(count_records "$SCRATCH/nas")" -eq 1 ] || fail "the backup was not pushed"
run_ok /usr/bin/offsite -c "$SCRATCH/offsite.ini" status
expect_glob "$LAST_OUT" "ok etc staging newest etc_*ok etc nas newest etc_*" "status of the installed agent"

# bash completion: commands, and set and target names from the configuration
completion=$(bash -c '. /usr/share/bash-completion/completions/offsite
    COMP_WORDS=(offsite -c "$1" backup --set ""); COMP_CWORD=5; _offsite; echo "sets: ${COMPREPLY[*]}"
    COMP_WORDS=(offsite -c "$1" push --target ""); COMP_CWORD=5; _offsite; echo "targets: ${COMPREPLY[*]}"
    COMP_WORDS=(offsite sch); COMP_CWORD=1; _offsite; echo "commands: ${COMPREPLY[*]}"' _ "$SCRATCH/offsite.ini")
[ "$completion" = $'sets: etc\ntargets: nas\ncommands: schedule' ] || fail "completion: $completion"

run_ok dpkg --purge offsite
[ ! -e /usr/bin/offsite ] && [ ! -e /etc/offsite/offsite.ini ] && [ ! -e /usr/lib/systemd/system/offsite-backup.timer ] ||
    fail "dpkg --purge left files behind"
echo "PASS: $CASE_NAME"
