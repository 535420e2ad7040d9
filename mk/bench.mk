# bench.mk: benchmarks and soaks, run on purpose (never by make test). Included by the Makefile.

.PHONY: bench bench-qps bench-startup soak
bench: bench-qps bench-startup

bench-qps: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/qps.py --tcp

bench-startup: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/startup.py

soak: all
	SOAK_SECONDS=60 STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -s \
	    tests/integration/test_soak.py

.PHONY: bench-forward bench-propagation
bench: bench-forward bench-propagation

bench-forward: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/forward.py

bench-propagation: all
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/propagation.py

# The consumer's per-event work (decode + apply) without Kafka: what bounds a replay.
$(BUILD)/bench/apply: bench/apply.c $(BUILD)/libauthd.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
