# Stream-DNS build. `make` builds the binaries into build/, `make test` runs every suite.

CC      ?= cc
PYTHON  := /usr/bin/python3
BUILD   ?= build
VERSION := 0.1.0

PKGS    := rdkafka libevent libevent_pthreads libsodium inih libzscanner libknot libdnssec gnutls libcrypto jansson liburcu libcares
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wno-unused-parameter
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -DSTREAMDNS_VERSION=\"$(VERSION)\" $(WARN) -I. \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
override LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

COMMON_SRC := $(wildcard common/*.c) $(wildcard proto/*.c)
AUTHD_SRC  := $(filter-out authd/main.c,$(wildcard authd/*.c))
DNSR_SRC   := $(filter-out dnsr/main.c,$(wildcard dnsr/*.c))
CTL_SRC    := $(wildcard tools/ctl*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
AUTHD_OBJ  := $(AUTHD_SRC:%.c=$(BUILD)/obj/%.o)
DNSR_OBJ   := $(DNSR_SRC:%.c=$(BUILD)/obj/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)

BINS := $(BUILD)/streamdns-authd $(BUILD)/streamdns-devbroker $(BUILD)/streamdns-dnsr $(BUILD)/streamdns-ctl

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit integration run stop clean

all: $(BINS)

deps:
	@sh scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libauthd.a: $(AUTHD_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libdnsr.a: $(DNSR_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/streamdns-dnsr: $(BUILD)/obj/dnsr/main.o $(BUILD)/libdnsr.a $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/streamdns-authd: $(BUILD)/obj/authd/main.o $(BUILD)/libauthd.a $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/streamdns-devbroker: $(BUILD)/obj/tools/devbroker.o $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ctl takes authd's config loader (authd/config.c) from libauthd.a: one loader, one table.
$(BUILD)/streamdns-ctl: $(CTL_OBJ) $(BUILD)/libauthd.a $(BUILD)/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libauthd.a $(BUILD)/libdnsr.a \
    $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || rc=1; done; exit $$rc

integration: $(BINS) $(BUILD)/bench/apply
	STREAMDNS_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/integration

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) fuzz-smoke
	$(MAKE) check-sanitize

run: deps
	$(MAKE) all
	sh scripts/run.sh

stop:
	-supervisorctl -c etc/supervisord.conf shutdown


clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
include mk/fuzz.mk
include mk/sanitize.mk
include mk/bench.mk
