#!/bin/sh
# run.sh: start the whole system under supervisord (devbroker, dnsr, authd, the example zone's
# import) and wait until authd answers from it. `make stop` stops everything.
set -eu
cd "$(dirname "$0")/.."
CONF=etc/supervisord.conf
mkdir -p build/run

if [ -S build/run/supervisor.sock ] && supervisorctl -c "$CONF" status >/dev/null 2>&1; then
	echo "run: already running (make stop first); status:" >&2
	supervisorctl -c "$CONF" status
	exit 0
fi
supervisord -c "$CONF"

# authd answers once it has read the topic and the import has landed.
i=0
until [ "$(dig +short +time=1 +tries=1 -p 5353 @127.0.0.1 www.example.com A 2>/dev/null)" = "192.0.2.10" ]; do
	i=$((i + 1))
	if [ $i -gt 60 ]; then
		echo "run: authd did not answer within 60 s; see build/run/*.log" >&2
		supervisorctl -c "$CONF" status >&2 || true
		exit 1
	fi
	sleep 1
done
supervisorctl -c "$CONF" status || true   # exits 3: the import is done (EXITED)
cat <<TXT

Stream-DNS is running (logs in build/run/). Try:
  dig @127.0.0.1 -p 5353 www.example.com           # authoritative, from the topic
  dig @127.0.0.1 -p 5353 example.org               # recursive, through dnsr (needs the internet)
  build/streamdns-ctl set www.example.com. A 300 192.0.2.11
  curl -s 127.0.0.1:8053/zones
Stop it with: make stop
TXT
