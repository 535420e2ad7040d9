# sanitize.mk: the unit and integration suites again, on an ASan + UBSan build (make test runs it).
# Any report fails the run: UBSan does not recover, ASan aborts, LeakSanitizer fails the exit
# status, and the test harness asserts that every daemon it stops exits with status 0.

SAN_BUILD  ?= build-san
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined

.PHONY: check-sanitize
check-sanitize:
	$(MAKE) BUILD=$(SAN_BUILD) CC=clang CFLAGS="$(SAN_CFLAGS)" all
	STREAMDNS_SANITIZED=1 SOAK_SECONDS=10 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) BUILD=$(SAN_BUILD) CC=clang CFLAGS="$(SAN_CFLAGS)" unit integration
