#!/usr/bin/env bash
# Set up a Debian machine for sscard-issuer: system packages, then the package itself (editable,
# with test extras). Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# pcscd + vpcd: the real PC/SC stack and the virtual reader the simulator plugs into;
# libpcsclite-dev + gcc: pyscard compiles against them; softhsm2: the PKCS#11 token of the tests;
# postgresql: the production registry, which the tests start as a throw-away cluster;
# cups + cups-pdf: face-only printing, tested against a throw-away cupsd with a PDF queue
# (libcups2-dev: pycups compiles against it); fonts-noto-cjk: the CJK font of the card face;
# chromium: the real browser the console's end-to-end tests drive (Playwright, never a downloaded one);
# wrk: the HTTP load generator of tools/bench_ecard.py (C, so the load costs the servers little).
PACKAGES=(pcscd libpcsclite-dev vsmartcard-vpcd softhsm2 gcc postgresql
          cups printer-driver-cups-pdf libcups2-dev fonts-noto-cjk chromium wrk)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]'
echo "setup: ready ($("$PYTHON" --version), sscard at $(command -v sscard || echo '?'))" >&2
