# bench.mk: benchmarks and soaks, run on purpose (never by make test). Included by the Makefile.
# `make bench` runs every comparison of issue 7 in one invocation; each script prints its
# medians and ratios. docs/PERFORMANCE.md records the figures with the command and date.

.PHONY: bench bench-qps bench-qps-one bench-startup bench-forward bench-forward-burst \
	bench-propagation bench-dnsr bench-dnssec bench-validation bench-xfr bench-update bench-ctl \
	soak
bench: bench-qps bench-startup bench-propagation bench-forward bench-forward-burst bench-dnsr \
	bench-dnssec bench-validation bench-xfr bench-update

# authd vs knotd vs nsd, UDP and TCP, 100k and 1M names, interleaved runs.
bench-qps: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/qps.py --tcp --runs 5

# The same with one worker each (authd workers, knotd udp-/tcp-workers, nsd server-count).
# Not part of `make bench`.
# QPS_ARGS adds options, e.g. QPS_ARGS="--baseline-build ../base/build" for an older authd.
bench-qps-one: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/qps.py --tcp --runs 5 --workers 1 \
	    $(QPS_ARGS)

# 1M RRsets: full replay and snapshot to ready, and the consumer's work alone.
bench-startup: all $(BUILD)/bench/apply
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/startup.py

# produce -> visible at 1,000 events/s while dnsperf loads authd.
bench-propagation: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/propagation.py

# authd -> dnsr forwarded vs dnsr direct.
bench-forward: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/forward.py

# 10,000 UDP queries at once through authd -> dnsr: lost, dropped by the kernel, by authd.
# (test_system.py proves the 10,000 over TCP; over UDP the loss depends on the machine.)
bench-forward-burst: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/forward.py --burst 10000 --runs 5

# Cache-hit queries/s of dnsr and Unbound with the same thread count.
bench-dnsr: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/dnsr_bench.py

# Online signing (issue 15), 1M names: authd signed vs unsigned (DO, cached signatures),
# authd vs knotd mod-onlinesign on unique nonexistent names (a signature per answer), and
# the signature cache's bytes per name. DNSSEC_ARGS adds options, e.g. "--names 100000".
bench-dnssec: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/dnssec.py --runs 5 $(DNSSEC_ARGS)

# DNSSEC validation in dnsr (issue 16), on the signed mini internet with a 50,000-name
# signed zone: cache hits with validation on vs off (DO=0 and DO=1), and cold resolutions of
# secure names, dnsr vs a validating Unbound. VALIDATION_ARGS adds options, e.g.
# "--names 20000 --json out.json".
bench-validation: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/validation.py $(VALIDATION_ARGS)

# Zone transfers (issue 17), a 1M-RRset zone: AXFR RRs/s, authd vs knotd as primary, read
# by build/bench/xfrread; query latency and event propagation with and without a transfer
# going on. XFR_ARGS adds options, e.g. "--rrsets 100000 --json out.json".
bench-xfr: all $(BUILD)/bench/xfrread
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/xfr.py $(XFR_ARGS)

# Dynamic updates (issue 18): UPDATE throughput through one authd vs knotd as an update
# primary (TCP, TSIG hmac-sha256, 1 and 8 clients), 2 instances adding to one name
# (conflicts, retries, every record on both), and send -> NOERROR / -> visible on the other
# instance. UPDATE_ARGS adds options, e.g. "--updates 500 --runs 5 --json out.json".
bench-update: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/update.py $(UPDATE_ARGS)

# Imports a generated 1,000,000-RRset zone into a fresh devbroker (issue 3).
bench-ctl: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/ctl_import.py --runs 3

soak: all
	SOAK_SECONDS=60 STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -s \
	    tests/integration/test_soak.py

# The consumer's per-event work (decode + apply) without Kafka: what bounds a replay.
$(BUILD)/bench/apply: bench/apply.c $(BUILD)/libauthd.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# answer_message() over a fixed set of queries: the answer path's cost, counted by callgrind
# (`valgrind --tool=callgrind --toggle-collect=answer_message build/bench/answer`).
$(BUILD)/bench/answer: bench/answer.c $(BUILD)/libauthd.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# One AXFR read as fast as it arrives, every message parsed, RRs counted (bench/xfr.py).
$(BUILD)/bench/xfrread: bench/xfrread.c $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
