# SPDX-License-Identifier: GPL-3.0-or-later
# obridge: build, test, install. `make help` lists the targets.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d

PKGS = libcurl libcjson ncursesw readline sqlite3 libmicrohttpd inih
CC ?= cc
ifeq ($(SAN),1)
BUILD ?= build-san
OPT = -O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined,float-cast-overflow
else
BUILD ?= build
OPT = -O2 -g
endif

# Recursive '=' so pkg-config runs only when a compile needs it (after `make deps`).
CFLAGS_ALL = -std=c11 -Wall -Wextra -Werror -Wno-missing-field-initializers $(OPT) -MMD -MP \
	$(shell pkg-config --cflags $(PKGS)) $(CFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS)) -lm -lpthread $(LDLIBS)
LDFLAGS_ALL = $(OPT) $(LDFLAGS)

LIB_SRC = $(sort $(wildcard lib/*/*.c))
CMD_SRC = $(sort $(wildcard cmd/*.c))
UNIT_SRC = $(sort $(wildcard tests/unit/t-*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ = $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
E2E = $(sort $(wildcard tests/e2e/t[0-9]*.sh))
PROVE_JOBS ?= 2

.PHONY: all deps deps-auto check check-unit check-e2e demo install uninstall clean help bench-self \
	golden fuzz fuzz-build check-valgrind

all: $(BUILD)/obridge
ifneq ($(SAN),1)
all: obridge
obridge: $(BUILD)/obridge
	rm -f $@ && cp $< $@
endif

$(BUILD)/obridge: $(CMD_OBJ) $(BUILD)/libobridge.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(CMD_OBJ) $(BUILD)/libobridge.a $(LDLIBS_ALL)

$(BUILD)/libobridge.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/tests/t-%: tests/unit/t-%.c $(BUILD)/libobridge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libobridge.a $(shell pkg-config --libs cmocka) $(LDLIBS_ALL) $(LDFLAGS_ALL)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)

# Installs whatever Debian packages are missing (build and test dependencies).
deps:
	@sh .ci/deps

deps-auto:
	@sh .ci/deps --check >/dev/null 2>&1 || sh .ci/deps

check: deps-auto
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@$(MAKE) --no-print-directory check-run

check-run:
	OBRIDGE=$(CURDIR)/$(BUILD)/obridge OBRIDGE_SRC=$(CURDIR) CMOCKA_MESSAGE_OUTPUT=tap \
		prove -j$(PROVE_JOBS) --exec '' $(UNIT_BIN) $(addprefix ./,$(E2E))

# The valgrind pass (tests/e2e/t9800-valgrind.sh), kept out of make check for its time.
check-valgrind: all
	OBRIDGE=$(CURDIR)/$(BUILD)/obridge OBRIDGE_SRC=$(CURDIR) OBRIDGE_VALGRIND=1 \
		prove tests/e2e/t9800-valgrind.sh

check-unit: all $(UNIT_BIN)
	CMOCKA_MESSAGE_OUTPUT=tap prove --exec '' $(UNIT_BIN)

demo: deps-auto
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh ./$(BUILD)/obridge

# Regenerate the golden files of obridge emit (review the diff, then commit it).
golden: all
	rm -rf tests/emit/golden
	sh tests/emit/render.sh ./$(BUILD)/obridge tests/emit/golden

# Benchmarks, not tests: each script prints its figures and ratios against wrk, hey and h2load
# (plain GETs) and an aiohttp streaming client (tests/bench/aiostream.py, bench-streams.sh).
BENCH_SCRIPTS = tests/bench-self.sh tests/bench-engine.sh tests/bench-streams.sh tests/bench-top.sh
bench-self:
	@sh .ci/deps --bench --check >/dev/null 2>&1 || sh .ci/deps --bench
	@$(MAKE) --no-print-directory all
	@for s in $(BENCH_SCRIPTS); do \
		if [ -f "$$s" ]; then echo "==> $$s"; sh "$$s" ./$(BUILD)/obridge || exit 1; fi; \
	done

# libFuzzer targets (Debian clang): tests/fuzz/fuzz-NAME.c, seeds in tests/fuzz/corpus/NAME.
# `make fuzz FUZZ_S=60` runs each for FUZZ_S seconds (the corpus grows in build-fuzz/).
FUZZ_CC ?= clang
FUZZ_S ?= 60
FUZZ_BUILD = build-fuzz
FUZZ_SAN = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=c11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) $(shell pkg-config --cflags $(PKGS))
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libobridge.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_BUILD)/libobridge.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libobridge.a $(LDLIBS_ALL)

fuzz-build: $(FUZZ_BIN)

fuzz:
	@sh .ci/deps --fuzz --check >/dev/null 2>&1 || sh .ci/deps --fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@for b in $(FUZZ_BIN); do \
		n=$${b#$(FUZZ_BUILD)/fuzz-}; mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
		echo "==> $$n ($(FUZZ_S)s)"; \
		$$b -max_total_time=$(FUZZ_S) -print_final_stats=1 -max_len=65536 \
			-artifact_prefix=$(FUZZ_BUILD)/$$n- \
			$(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n 2>$(FUZZ_BUILD)/$$n.log || \
			{ tail -n 40 $(FUZZ_BUILD)/$$n.log; exit 1; }; \
		grep -E "^stat::number_of_executed_units" $(FUZZ_BUILD)/$$n.log; \
	done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BUILD)/obridge $(DESTDIR)$(BINDIR)/obridge
	for f in man/*.1; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man1/; done; true
	for f in man/*.5; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man5/; done; true
	if [ -e completions/obridge.bash ]; then install -d $(DESTDIR)$(BASHCOMPDIR) && \
		install -m 644 completions/obridge.bash $(DESTDIR)$(BASHCOMPDIR)/obridge; fi
	if [ -e completions/_obridge ]; then install -d $(DESTDIR)$(ZSHCOMPDIR) && \
		install -m 644 completions/_obridge $(DESTDIR)$(ZSHCOMPDIR)/_obridge; fi
	if [ -e completions/obridge.fish ]; then install -d $(DESTDIR)$(FISHCOMPDIR) && \
		install -m 644 completions/obridge.fish $(DESTDIR)$(FISHCOMPDIR)/obridge.fish; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/obridge
	for f in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$(basename $$f); done
	for f in man/*.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$$(basename $$f); done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/obridge $(DESTDIR)$(ZSHCOMPDIR)/_obridge \
		$(DESTDIR)$(FISHCOMPDIR)/obridge.fish

clean:
	rm -rf build build-san build-fuzz obridge

help:
	@echo "make            build ./obridge"
	@echo "make demo       install missing packages, build, run a bench against obridge sim"
	@echo "make check      install missing packages, build, run unit and end-to-end tests"
	@echo "make check SAN=1  the same with AddressSanitizer and UBSan (build-san/)"
	@echo "make bench-self measure obridge's own speed against wrk, hey, h2load and aiohttp"
	@echo "make fuzz FUZZ_S=60  run each libFuzzer target (tests/fuzz) for FUZZ_S seconds"
	@echo "make check-valgrind  one command per family under valgrind"
	@echo "make golden     regenerate tests/emit/golden from the emit renderers"
	@echo "make install PREFIX=/usr/local DESTDIR=   make uninstall"
