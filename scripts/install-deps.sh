#!/usr/bin/env bash
# install-deps.sh — installs what netcache needs to build, test and run on Debian 12 (as root).
# Quick when everything is already there: apt is only called for missing packages.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config ccache python3 attr
          libfuse3-dev fuse3 libcli11-dev libxxhash-dev libgtest-dev libgmock-dev spin
          libcurl4-openssl-dev nlohmann-json3-dev nginx-light libtomlplusplus-dev
          e2fsprogs util-linux systemd tar)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start services (nginx on port 80): the tests start their own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -e /dev/fuse ]; then
  modprobe fuse 2>/dev/null || true
fi
