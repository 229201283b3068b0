#!/usr/bin/env bash
# Installs everything Morsel needs on a fresh Debian/Ubuntu machine, then builds it.
# Debian packages: the Fashion-MNIST dataset, the embedded engines the tests run on (Duktape, Lua 5.1/5.3,
# LuaJIT), socat for the emulated serial link, valgrind for bench:instructions, Mosquitto (the fleet tests' MQTT broker) and
# Chromium (the fleet dashboard test); g++, make and python3 build better-sqlite3. npm packages install without
# lifecycle scripts (prebuilt binaries ship inside the packages).
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(dataset-fashion-mnist duktape duktape-dev gcc g++ make python3 libc6-dev lua5.3 lua5.1 luajit socat valgrind mosquitto chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm ci --ignore-scripts --no-audit --no-fund
# better-sqlite3 (the fleet database) ships no binary for every Node ABI: build it from source with node-gyp (~80 s).
npm rebuild better-sqlite3
npm run build
