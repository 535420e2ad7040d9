# fuzz.mk: libFuzzer targets (clang, ASan + UBSan), one per parser. Included by the Makefile.
#   make fuzz               each target for FUZZ_SECONDS (default 600) on its corpus
#   make fuzz-smoke         each target once over its corpus (part of make test)

FUZZ_CC      ?= clang
comma        := ,
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE \
                -DSTREAMDNS_VERSION=\"$(VERSION)\" -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# dnsr's validator has no I/O of its own: fuzzed as the authd code is.
FUZZ_SRC     := $(COMMON_SRC) $(AUTHD_SRC) dnsr/validate.c $(FUZZ_EXTRA_SRC)
# Seeds: the repository's corpus for each target, plus the shared DNS message seeds.
SHARED_SEEDS := $(wildcard ../shared/fuzz/dns-packets)
FUZZ_SEEDS    = seeds=tests/fuzz/corpus/$$t; \
		if [ $$t = message ]; then seeds="$$seeds $(SHARED_SEEDS)"; fi

# The code under test is compiled once, instrumented, into an archive all targets link.
FUZZ_OBJ     := $(FUZZ_SRC:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_FLAGS)) -MMD -MP -c -o $@ $<

# Header dependencies: a changed struct must rebuild every object that lays it out.
-include $(shell find $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)

$(BUILD)/fuzz/libfuzzed.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libfuzzed.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(LDLIBS)

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_BINS)

fuzz-smoke: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(FUZZ_SEEDS); \
		echo "== fuzz-smoke $$t: every input of $$seeds once"; \
		$(BUILD)/fuzz/fuzz_$$t -runs=0 $$seeds > $(BUILD)/fuzz/smoke-$$t.log 2>&1 || \
		    { tail -40 $(BUILD)/fuzz/smoke-$$t.log; exit 1; }; \
		grep -E "INITED|Done" $(BUILD)/fuzz/smoke-$$t.log | tail -1; \
	done

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$t; $(FUZZ_SEEDS); \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		    -artifact_prefix=$(BUILD)/fuzz/crash-$$t- $(BUILD)/fuzz/corpus-$$t \
		    $$seeds; \
	done
