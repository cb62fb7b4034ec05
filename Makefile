# The OE agent. `make` builds build/bin/{oe-agent,ipsec}; see README.md.
#   make deps          install the Debian packages the build and tests need
#   make check         format and layering, unit tests, sanitizer run, fuzz corpora, kernel
#                      tests in netns, IKE interop and OE end to end in a QEMU guest
#   make format        rewrite the sources as clang-format (.clang-format) has them
#   make check-asan    unit tests under ASan+UBSan (part of check)
#   make check-e2e     every end-to-end suite in one QEMU guest boot (tests/e2e/run.sh; part of check)
#   make check-cat     the NAT suites alone (cat.sh, natremap.sh, nat.sh; part of check-e2e)
#   make check-rollover  the key rollover alone (tests/e2e/rollover.sh, knotd; part of check-e2e)
#   make bench         benchmarks (bench/)
#   make bench-storm   acquire storm in a QEMU guest: K = 8 and 32 new peers at once, ours beside
#                      libreswan's pluto, NULL auth and (K = 32) RSA keys from signed reverse DNS;
#                      ours alone against one server with N = 32 and 256 addresses
#                      (bench/storm.sh; bench/results/storm.txt)
#   make bench-flood   IKE_SA_INIT flood at our agent and at pluto in the QEMU guest (tests/flood/run.sh,
#                      bench/results/flood.txt); not part of check
#   make bench-hs      responder handshakes/s on one core, RSS per tunnel, the crypto bound, ours beside
#                      pluto's in the QEMU guest (bench/handshakes.sh, bench/results/handshakes.txt)
#   make bench-mem     responder VmRSS per tunnel at 1,000 tunnels, ours beside pluto's, in the guest
#                      (bench/memory.sh, bench/results/memory.txt)
#   make fuzz          each libFuzzer target tests/fuzz/fuzz_*.c for FUZZ_SECONDS (60),
#                      finds kept in build-fuzz/corpus-NAME (clang)
#   make install       PREFIX=/usr/local DESTDIR=
CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
PKGS := nss ldns libunbound jansson cmocka
OPT ?= -O2 -g
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -I. $(OPT)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs nss ldns libunbound jansson 2>/dev/null) -lgmp
CFLAGS_ALL = $(CFLAGS_BASE) $(PKG_CFLAGS) $(SAN) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)

LIBS := common policy kernel dnskeys
common_SRC := $(wildcard common/*.c)
policy_SRC := $(wildcard policy/*.c)
kernel_SRC := $(wildcard kernel/*.c)
dnskeys_SRC := $(wildcard dnskeys/*.c)
ike_SRC := $(wildcard oe-agent/ike/*.c)
agent_SRC := $(wildcard oe-agent/*.c)
tools_SRC := $(wildcard tools/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBFILES := $(BUILD)/lib/libpolicy.a $(BUILD)/lib/libkernel.a $(BUILD)/lib/libdnskeys.a $(BUILD)/lib/libcommon.a

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

all: $(BUILD)/bin/oe-agent $(BUILD)/bin/ipsec

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/lib/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/lib/libcommon.a: $(call obj,$(common_SRC))
$(BUILD)/lib/libpolicy.a: $(call obj,$(policy_SRC))
$(BUILD)/lib/libkernel.a: $(call obj,$(kernel_SRC))
$(BUILD)/lib/libdnskeys.a: $(call obj,$(dnskeys_SRC))
# the IKE core on its own: it links with common, NSS and GMP only (test_ike_replay shows it)
$(BUILD)/lib/libike.a: $(call obj,$(ike_SRC))
$(BUILD)/lib/libagent.a: $(call obj,$(filter-out oe-agent/main.c,$(agent_SRC)))

$(BUILD)/bin/oe-agent: $(call obj,oe-agent/main.c) $(BUILD)/lib/libagent.a $(BUILD)/lib/libike.a $(LIBFILES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bin/ipsec: $(call obj,$(tools_SRC)) $(LIBFILES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(BUILD)/lib/libagent.a $(BUILD)/lib/libike.a $(LIBFILES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcmocka

# the tools' pure parts, tested on their own
$(BUILD)/tests/test_verify: $(call obj,tests/unit/test_verify.c tools/nftcheck.c tools/verify.c tools/verify_local.c tools/toolconf.c) $(LIBFILES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcmocka

# libike.a alone, with common, NSS and GMP: nothing of the agent, DNS or kernel
IKE_LIBS = $(shell pkg-config --libs nss 2>/dev/null) -lgmp
$(BUILD)/tests/test_ike_replay: $(call obj,tests/unit/test_ike_replay.c) $(BUILD)/lib/libike.a $(BUILD)/lib/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(IKE_LIBS) -lcmocka

$(BUILD)/tests/ike_peer: $(call obj,tests/interop/ike_peer.c) $(BUILD)/lib/libagent.a $(BUILD)/lib/libike.a $(LIBFILES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# the flood generator: system headers only
$(BUILD)/tests/flood: tests/flood/flood.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $<

$(BUILD)/tests/ub_nodefault.so: tests/lab/ub_nodefault.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -fPIC -shared -o $@ $< -ldl -lunbound

$(BUILD)/bench/ike_bench $(BUILD)/bench/acquire_bench $(BUILD)/bench/hs_load $(BUILD)/bench/hs_bound: $(BUILD)/bench/%: $(call obj,bench/%.c) $(BUILD)/lib/libagent.a $(BUILD)/lib/libike.a $(LIBFILES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/%: $(call obj,bench/%.c) $(LIBFILES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" all unit

check-kernel: all $(BUILD)/tests/ike_peer
	bash tests/integration/run.sh

# the tree as clang-format writes it (.clang-format); check-format fails on any difference
FORMAT_SRC = $(shell find common policy kernel dnskeys oe-agent tools tests bench -name '*.[ch]' | sort)
format:
	clang-format -i $(FORMAT_SRC)

check-format:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: $(words $(FORMAT_SRC)) files as clang-format writes them"

# which directory may include which (tests/layering/check.sh holds the table)
check-layering:
	bash tests/layering/check.sh

# IKEv2 against libreswan and strongSwan with real ESP, inside a QEMU guest
check-interop: all $(BUILD)/tests/ike_peer
	bash tests/lab/vm-run --timeout 1200 -- bash tests/interop/run.sh

# opportunistic encryption end to end, in one guest boot: agents, the DNS lab, real ESP (oe.sh);
# OE through NATs, both roles and with libreswan's CAT (cat.sh, natremap.sh, nat.sh); a key
# rollover with knotd (rollover.sh). E2E_SUITES picks some of them.
E2E_SUITES ?=
check-e2e: all $(BUILD)/tests/ub_nodefault.so
	bash tests/lab/vm-run --timeout 2700 -- bash tests/e2e/run.sh $(E2E_SUITES)

check-cat: all
	bash tests/lab/vm-run --timeout 1200 -- bash tests/e2e/run.sh cat natremap nat

check-rollover: all
	bash tests/lab/vm-run --timeout 900 -- bash tests/e2e/run.sh rollover

# check and demo install their dependencies first: one command on a fresh machine
check:
	$(MAKE) deps
	$(MAKE) all
	$(MAKE) check-format check-layering unit check-asan fuzz-smoke check-kernel check-interop check-e2e

bench: all $(BUILD)/bench/policy_bench $(BUILD)/bench/dns_bench $(BUILD)/bench/ike_bench $(BUILD)/bench/acquire_bench
	$(BUILD)/bench/policy_bench
	$(BUILD)/bench/ike_bench
	$(BUILD)/bench/acquire_bench
	bash bench/dns_bench.sh

# one client, K new peers at once, each its own daemon: ours, then libreswan, in one guest
bench-storm: all $(BUILD)/tests/ub_nodefault.so
	bash tests/lab/vm-run --mem 2048 --timeout 1800 -- bash bench/storm.sh $(STORM_K)

# IKE_SA_INIT from 65,536 source address:port pairs at ten times what each responder answers,
# our agent and pluto in one guest run (issue 11); minutes, so not in check
bench-flood: all $(BUILD)/tests/flood $(BUILD)/tests/ub_nodefault.so
	bash tests/lab/vm-run --mem 2048 --timeout 1200 -- bash tests/flood/run.sh

# responder handshakes per second on one core and RSS per tunnel, ours beside pluto's, and the
# crypto bound, in one guest run (issue 14; bench/handshakes.sh, bench/results/handshakes.txt)
bench-hs: all $(BUILD)/bench/hs_load $(BUILD)/bench/hs_bound $(BUILD)/tests/ub_nodefault.so
	bash tests/lab/vm-run --mem 2048 --timeout 900 -- bash bench/handshakes.sh

# the responder's VmRSS per established tunnel at 1,000 NULL-auth tunnels over IPv6, ours beside
# pluto's, in one guest run (issue 14; bench/memory.sh, bench/results/memory.txt); takes the lab lock
bench-mem: all $(BUILD)/bench/hs_load $(BUILD)/tests/ub_nodefault.so
	flock /tmp/oe-lab.lock bash tests/lab/vm-run --mem 3072 --timeout 1200 -- bash bench/memory.sh

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRC := tools/nftcheck.c $(common_SRC) $(policy_SRC) $(dnskeys_SRC) $(filter-out oe-agent/main.c,$(agent_SRC)) $(ike_SRC) $(kernel_SRC)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC)
	@mkdir -p build-fuzz
	clang $(CFLAGS_BASE) $(PKG_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

# every target replays its seed corpus once: a crash or a sanitizer report on any
# input fails check (the target's exit status, not that of a pipe to tail)
fuzz-smoke: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do n=$$(basename $$t); \
	  if $$t -runs=0 tests/fuzz/corpus/$$n > build-fuzz/$$n.log 2>&1; then tail -1 build-fuzz/$$n.log; \
	  else tail -30 build-fuzz/$$n.log; echo "fuzz-smoke: $$n failed on its corpus"; exit 1; fi; done

fuzz: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do n=$$(basename $$t); \
	  mkdir -p build-fuzz/corpus-$$n; \
	  $$t -max_total_time=$${FUZZ_SECONDS:-60} build-fuzz/corpus-$$n tests/fuzz/corpus/$$n; done

deps:
	bash contrib/install-deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BUILD)/bin/oe-agent $(BUILD)/bin/ipsec $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 doc/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 doc/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PREFIX)/share/oe
	install -m 0644 contrib/oe-unbound.py $(DESTDIR)$(PREFIX)/share/oe/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/oe/policies
	test -e $(DESTDIR)$(SYSCONFDIR)/oe/oe.conf || install -m 0644 contrib/oe.conf $(DESTDIR)$(SYSCONFDIR)/oe/oe.conf
	for g in clear clear-or-private private-or-clear private block; do \
	  test -e $(DESTDIR)$(SYSCONFDIR)/oe/policies/$$g || install -m 0644 contrib/policies/$$g $(DESTDIR)$(SYSCONFDIR)/oe/policies/$$g; done

demo:
	$(MAKE) deps
	$(MAKE) all $(BUILD)/tests/ub_nodefault.so
	bash tests/lab/vm-run --timeout 900 -- bash tests/e2e/demo.sh

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all unit check check-format format check-layering check-asan check-kernel check-interop check-e2e check-cat check-rollover bench bench-storm bench-flood bench-hs bench-mem fuzz fuzz-smoke deps install demo clean
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.SECONDARY:
