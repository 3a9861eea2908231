#!/usr/bin/env bash
# Installs the Debian 12 packages reco builds, tests and benchmarks with.
# Idempotent: when every package is already installed it touches nothing
# (and needs no network); otherwise one apt-get update + install.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  libeigen3-dev libopenblas-dev
  libboost1.81-dev libboost-system1.81-dev
  liblmdb-dev lmdb-utils libhiredis-dev redis-server redis-tools
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libxxhash-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  openmpi-bin libopenmpi-dev yamllint
  python3 curl wrk nginx-light time bc
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts redis-server and nginx as services on install; reco's tests and
# benchmarks start their own instances on private ports, so stop the system ones.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now redis-server nginx >/dev/null 2>&1 || true
else
  $SUDO service redis-server stop >/dev/null 2>&1 || true
  $SUDO service nginx stop >/dev/null 2>&1 || true
fi
