#!/usr/bin/env bash
# Installs the Debian packages that the tests and the local cluster need, only when missing.
set -euo pipefail

need=()
command -v ip >/dev/null || need+=(iproute2)
[ -x /usr/lib/cni/ptp ] || need+=(containernetworking-plugins)
command -v kubectl >/dev/null || need+=(kubernetes-client)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root or install them: apt-get install ${need[*]})" >&2
    exit 1
fi
echo "installing Debian packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
