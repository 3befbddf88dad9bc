#!/usr/bin/env bash
# Installs the Debian packages Inferneo needs to build and test, if any are missing.
# Run as root on Debian 12; as another user it only reports what is missing.
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config libpcre2-dev libutf8proc-dev libcmocka-dev
          libjansson-dev libmicrohttpd-dev nettle-dev
          libcurl4-openssl-dev)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node.js runs the server tests with the official `openai` SDK; any Node >= 20 already on the
# machine will do, else Debian's.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "deps.sh: Node.js $(node --version) is too old for the server tests (20 or newer)" >&2
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
