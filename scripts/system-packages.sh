#!/usr/bin/env bash
# The system packages some tests need (scripts/system-packages.txt; its header gives the
# format). `make test` runs this first, so a fresh machine needs nothing but `make test`.
#
# As root on Debian a missing package is installed (`apt-get update` once, quiet,
# non-interactive). Otherwise (not root, no apt-get, or PIPECHAOS_NO_INSTALL=1) nothing is
# changed and one line is printed per missing package: the tests that need it skip, naming it.
#
#   scripts/system-packages.sh [LIST]      exit 0; 1 if an install failed; 2 on a bad line
set -euo pipefail

LIST=${1:-"$(dirname "$0")/system-packages.txt"}
UPDATED=no

present() {  # PROOF: an absolute path that exists, or a command on PATH
    case "$1" in
        /*) [ -e "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

may_install() {
    [ "${PIPECHAOS_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

install_apt() {  # PACKAGE
    if [ "$UPDATED" = no ]; then
        apt-get update -qq
        UPDATED=yes
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

n=0
status=0
while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=${line%%#*}
    read -r spec proof extra <<<"$line" || true
    [ -z "${spec:-}" ] && continue
    if [ -z "${proof:-}" ] || [ -n "${extra:-}" ]; then
        echo "$LIST:$n: expected '[INSTALLER:]PACKAGE PROOF', got '$line'" >&2
        exit 2
    fi
    installer=apt
    package=$spec
    if [[ $spec == *:* ]]; then
        installer=${spec%%:*}
        package=${spec#*:}
    fi
    if ! declare -F "install_$installer" >/dev/null; then
        echo "$LIST:$n: unknown installer '$installer' (known: apt)" >&2
        exit 2
    fi
    present "$proof" && continue
    if ! may_install; then
        echo "system-packages: missing $installer:$package (no $proof): the tests that need it skip"
        continue
    fi
    echo "system-packages: installing $installer:$package"
    if ! "install_$installer" "$package" || ! present "$proof"; then
        echo "system-packages: FAILED to install $installer:$package (still no $proof)" >&2
        status=1
    fi
done <"$LIST"
exit $status
