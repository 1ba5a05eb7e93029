#!/usr/bin/env bash
# Install the Debian packages Jianguan needs that are missing; a no-op when all are present.
#
#   scripts/ensure_system.sh                 runtime packages (fonts, Pango, HarfBuzz, poppler, Node.js)
#   scripts/ensure_system.sh servers         PostgreSQL, Redis, Mosquitto (the test servers)
#   scripts/ensure_system.sh node            Node.js and npm only
#   scripts/ensure_system.sh browser         Chromium for the browser tests (tests/ui) only
#   scripts/ensure_system.sh packages P...   the named packages (e.g. python3-venv)
#
# Sourced by ensure_services.sh for its helper functions (nothing runs when sourced).
set -euo pipefail

# WeasyPrint 70 draws through Pango/HarfBuzz; without libharfbuzz-subset0 it silently falls
# back to fontTools and a Chinese PDF takes seconds instead of ~0.3 s (see STACK.md).
# fonts-noto-cjk: real bold and serif for official notices (fonts-wqy-microhei is the light one).
RUNTIME_PACKAGES=(
    fonts-noto-cjk
    fontconfig
    libpango-1.0-0
    libpangoft2-1.0-0
    libharfbuzz0b
    libharfbuzz-subset0
    poppler-utils          # pdftotext, pdffonts, pdftoppm: used by the tests on generated PDFs
)
SERVER_PACKAGES=(postgresql redis-server mosquitto)
# The browser tests (tests/ui) drive Debian's Chromium through Playwright: `playwright install`
# cannot download browsers here. JIANGUAN_NO_BROWSER=1 skips it (then tests/ui are skipped).
BROWSER=/usr/bin/chromium

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when root, else through sudo (non-interactive when possible).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (not root and no sudo)"
    fi
}

pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# Packages from "$@" that are not installed, one per line.
missing_packages() {
    local p
    for p in "$@"; do
        pkg_installed "$p" || printf '%s\n' "$p"
    done
}

# apt-get install the given packages; apt-get update only when the package lists do not know
# one of them yet, or when the install fails (stale lists after a Debian point release).
apt_install() {
    (($# > 0)) || return 0
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
    log "installing $*"
    local p need_update=0
    for p in "$@"; do
        # no `| grep -q` here: with pipefail, grep's early exit fails the pipeline (SIGPIPE)
        if [[ $(apt-cache policy "$p" 2>/dev/null) != *"Candidate: "[!\(]* ]]; then
            need_update=1
        fi
    done
    if ((need_update)); then
        log "apt-get update"
        as_root apt-get update -qq
    fi
    if ! quietly as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$@"; then
        log "install failed; apt-get update and retry"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    fi
}

# Run a command with its output kept back, shown only if it fails.
quietly() {
    local out rc=0
    out=$(mktemp)
    "$@" >"$out" 2>&1 || rc=$?
    ((rc == 0)) || cat "$out" >&2
    rm -f "$out"
    return "$rc"
}

# Install whichever of the named packages are missing.
ensure_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    apt_install "${missing[@]}"
}

# Node.js may come from NodeSource (npm bundled, Debian's npm would conflict): check commands.
ensure_node() {
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        return 0
    fi
    local want=()
    command -v node >/dev/null 2>&1 || want+=(nodejs)
    command -v npm >/dev/null 2>&1 || want+=(npm)
    apt_install "${want[@]}"
}

# Checked by path, not by package: any Chromium at that path will do.
ensure_browser() {
    [[ -x $BROWSER || ${JIANGUAN_NO_BROWSER:-} == 1 ]] && return 0
    apt_install chromium
}

ensure_runtime_packages() {
    ensure_packages "${RUNTIME_PACKAGES[@]}"
    ensure_node
    # `make test` runs this step (`system`) before the tests; the UI tests need the browser
    ensure_browser
}

ensure_server_packages() {
    ensure_packages "${SERVER_PACKAGES[@]}"
}

main() {
    case "${1:-runtime}" in
        runtime) ensure_runtime_packages ;;
        servers) ensure_server_packages ;;
        node) ensure_node ;;
        browser) ensure_browser ;;
        packages) shift; ensure_packages "$@" ;;
        *) die "usage: $0 [runtime|servers|node|browser|packages PKG...]" ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
