#!/bin/sh
# deps.sh: install, idempotently, the Debian packages Stream-DNS builds and tests with.
# Only what is missing is installed; apt-get update runs first in that case, because a
# fresh machine's package lists may be empty.
set -eu

PKGS="build-essential pkg-config
librdkafka-dev libevent-dev libc-ares-dev libsodium-dev libinih-dev libknot-dev
libjansson-dev liburcu-dev libcmocka-dev libgnutls28-dev libssl-dev
python3-pytest python3-dnspython python3-cryptography python3-confluent-kafka
dnsperf knot-dnsutils bind9-dnsutils ldnsutils knot nsd unbound kcat dnsviz dns-root-data
clang libclang-rt-14-dev supervisor prometheus faketime stress-ng
python3-certbot-dns-rfc2136"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# Debian starts the reference servers' units after installing them; the tests run their
# own instances on free ports, so stop the packaged ones where an init system exists.
for svc in knot nsd unbound prometheus; do
	$SUDO systemctl stop "$svc" 2>/dev/null || true
	$SUDO systemctl disable "$svc" 2>/dev/null || true
done
