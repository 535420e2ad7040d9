#!/bin/sh
# run.sh: start a development system in the foreground: devbroker, then authd with etc/authd.ini.
# Ctrl-C stops both. (Supervisord-based `make run` arrives with the dnsr issue.)
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

"$BUILD/streamdns-devbroker" --listen 127.0.0.1:9092 --topic streamdns.zones \
	--partitions 3 > /tmp/streamdns-devbroker.ready &
BROKER=$!
trap 'kill $BROKER $AUTHD 2>/dev/null; wait 2>/dev/null' INT TERM EXIT
AUTHD=""
i=0
until grep -q '^ready' /tmp/streamdns-devbroker.ready 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "run: devbroker did not start" >&2
		exit 1
	fi
	sleep 0.1
done
echo "run: devbroker ready at 127.0.0.1:9092; starting authd on 127.0.0.1:5353" >&2
"$BUILD/streamdns-authd" -c etc/authd.ini &
AUTHD=$!
wait $AUTHD
