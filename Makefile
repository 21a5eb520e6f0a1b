# squib — one build for everything. `make help` lists the targets.
#
#   make            build/squib-monitor, build/squib-device, the test guest
#   make SAN=1      the same with ASan+UBSan, under build/san/
#   make test       deps, build, unit tests, KVM integration tests, Linux tests
#   make test-linux the Linux tests alone (Debian's kernel on squib)
#   make bench      benchmarks (figures printed, never asserted)
#   make fuzz       libFuzzer targets for the cross-process parsers, FUZZ_SECONDS each
#   make run        boot the default Linux guest with 2 vCPUs, interactively
#   make guest      the default Linux guest (Debian kernel + busybox initramfs) in build/linux-guest
#   make test-guest the freestanding test guest, build/test-guest.bin
#   make deps       apt-get install whatever is missing
#   make install    PREFIX=/usr/local DESTDIR=

SAN ?= 0
PREFIX ?= /usr/local
DESTDIR ?=
V ?= 0

ifeq ($(SAN),1)
OUT := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -DSQUIB_SANITIZED=1
else
OUT := build
SANFLAGS :=
endif

CC ?= gcc
PKGS := libevent msgpack libseccomp liburing
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wmissing-prototypes -Wstrict-prototypes
BASE_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE -I. $(WARN) -fno-strict-aliasing
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL = $(BASE_CFLAGS) $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
# Code that runs inside vCPU workers (clone(CLONE_VM) tasks without their own
# TLS) is never instrumented and has no stack protector: see docs/DESIGN.md, "vCPU workers are freestanding".
CFLAGS_FREESTANDING = $(BASE_CFLAGS) $(PKG_CFLAGS) -fno-sanitize=all -fno-stack-protector -fno-builtin $(CFLAGS)
# -z now: every PLT slot is bound at start-up, so a vCPU worker never enters
# the dynamic linker's lazy resolver.
LDFLAGS_ALL = -Wl,-z,now -Wl,-z,relro $(SANFLAGS) $(LDFLAGS)

# Every .c file under a part's folder, subfolders included (sorted: stable link order).
sources = $(sort $(shell find $(1) -name '*.c'))
COMMON_SRC  := $(call sources,common)
PROTO_SRC   := $(call sources,proto)
SANDBOX_SRC := $(call sources,sandbox)
VCPU_SRC    := $(call sources,vcpu-worker)
MONITOR_SRC := $(call sources,monitor)
DEVICE_SRC  := $(call sources,device-worker)
DEVICE_LIB_SRC := $(filter-out device-worker/main.c,$(DEVICE_SRC))
MONITOR_LIB_SRC := $(filter-out monitor/main.c,$(MONITOR_SRC))
UNIT_SRC    := $(wildcard tests/unit/*.c)
# tests/lib/: what the KVM suites share (running squib, reading its output, a tap in a netns).
TEST_LIB_SRC := $(wildcard tests/lib/*.c)
INTEG_SRC   := $(wildcard tests/integration/*.c) $(TEST_LIB_SRC)
LINUX_TEST_SRC := $(wildcard tests/linux/*.c) $(TEST_LIB_SRC)
GUEST_SRC   := $(wildcard tests/guest/*.c) $(wildcard tests/guest/*.S)

# Objects built freestanding (shared with vCPU workers) and hosted (instrumented).
# proto/ code that allocates (the device config codec) is hosted only.
PROTO_HOSTED_SRC := proto/device_config.c proto/wire.c proto/msgpack_prescan.c
FS_SRC := $(COMMON_SRC) $(filter-out $(PROTO_HOSTED_SRC),$(PROTO_SRC)) $(VCPU_SRC)
fs_obj = $(patsubst %.c,$(OUT)/obj-fs/%.o,$(1))
obj = $(patsubst %.c,$(OUT)/obj/%.o,$(1))

MONITOR_BIN := $(OUT)/squib-monitor
DEVICE_BIN  := $(OUT)/squib-device
UNIT_BIN    := $(OUT)/tests/unit-tests
INTEG_BIN   := $(OUT)/tests/integration-tests
LINUX_TEST_BIN := $(OUT)/tests/linux-tests
GUEST_BIN   := build/test-guest.bin

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: fuzz all test layout-test unit-test integration-test linux-test test-linux bench run deps clean install help guest \
	guest-linux test-guest check-deps
all: $(MONITOR_BIN) $(DEVICE_BIN) $(GUEST_BIN)

help:
	@sed -n '1,13p' Makefile

# ---- dependencies ---------------------------------------------------------
DEB_PKGS := libevent-dev libmsgpack-dev libseccomp-dev liburing-dev libcriterion-dev pkg-config binutils gcc make acpica-tools \
	e2fsprogs
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root to apt-get install$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

# ---- compile rules --------------------------------------------------------
$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(OUT)/obj-fs/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_FREESTANDING) -MMD -MP -c $< -o $@

# The demo guest is embedded in the monitor: `start` with no --kernel boots it.
$(OUT)/obj/embedded_guest.o: $(GUEST_BIN)
	@mkdir -p $(dir $@)
	$(Q)printf '\t.section .rodata\n\t.balign 4096\n\t.globl squib_embedded_guest\nsquib_embedded_guest:\n\t.incbin "%s"\n\t.globl squib_embedded_guest_end\nsquib_embedded_guest_end:\n\t.section .note.GNU-stack,"",@progbits\n' "$(GUEST_BIN)" > $(OUT)/obj/embedded_guest.S
	$(Q)$(CC) -c $(OUT)/obj/embedded_guest.S -o $@

MONITOR_OBJS = $(call obj,$(MONITOR_LIB_SRC) $(SANDBOX_SRC) $(PROTO_HOSTED_SRC)) $(call fs_obj,$(FS_SRC)) \
	$(OUT)/obj/embedded_guest.o
DEVICE_OBJS = $(call obj,$(DEVICE_LIB_SRC) $(SANDBOX_SRC) $(COMMON_SRC) $(PROTO_SRC))

$(MONITOR_BIN): $(call obj,monitor/main.c) $(MONITOR_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
	@echo "  LD  $@"

# squib-device is exec'd into an empty root (sandbox/jail.h): no dynamic loader
# or library to find there, so release builds link it static-pie (ASLR kept).
# ASan cannot link statically: the sanitized build stays dynamic and its
# jail keeps the host's root (monitor/supervise/device_workers.c).
ifeq ($(SAN),1)
STATIC_LDFLAGS :=
else
STATIC_LDFLAGS := -static-pie
endif
STATIC_PKG_LIBS = $(shell pkg-config --static --libs $(PKGS) 2>/dev/null)

$(DEVICE_BIN): $(call obj,device-worker/main.c) $(DEVICE_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) $(STATIC_LDFLAGS) -o $@ $^ $(STATIC_PKG_LIBS)
	@echo "  LD  $@"

# Unit tests link the hosted (instrumented) objects of every library part.
UNIT_LINK_OBJS = $(call obj,$(COMMON_SRC) $(PROTO_SRC) $(SANDBOX_SRC) $(VCPU_SRC) $(DEVICE_LIB_SRC) $(MONITOR_LIB_SRC))
$(UNIT_BIN): $(call obj,$(UNIT_SRC)) $(UNIT_LINK_OBJS) $(OUT)/obj/embedded_guest.o
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcriterion
	@echo "  LD  $@"

$(INTEG_BIN): $(call obj,$(INTEG_SRC))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcriterion
	@echo "  LD  $@"

# Debian's kernel on squib (tests/linux/), run in the SVM test host like the integration tests.
$(LINUX_TEST_BIN): $(call obj,$(LINUX_TEST_SRC))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcriterion
	@echo "  LD  $@"

# Benchmarks: one standalone program per tests/bench/*.c, linked with the library objects.
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUT)/bench/%,$(BENCH_SRC))
$(OUT)/bench/%: $(OUT)/obj/tests/bench/%.o $(call obj,$(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
# virtio-blk's engines, device side only, through the unit tests' fake driver (criterion).
$(OUT)/bench/blk_engine: $(call obj,tests/bench/blk_engine.c tests/unit/virtio_fake_driver.c $(DEVICE_LIB_SRC) \
		$(SANDBOX_SRC) $(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcriterion

# A device worker that violates its sandbox on purpose (integration tests).
FAKE_DEVICE_BIN := $(OUT)/tests/fake-device
$(FAKE_DEVICE_BIN): $(call obj,$(wildcard tests/fake-device/*.c) device-worker/acquire.c $(SANDBOX_SRC) $(COMMON_SRC) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) $(STATIC_LDFLAGS) -o $@ $^ $(STATIC_PKG_LIBS)

# ---- the test guest (freestanding, never sanitized) -----------------------
GUEST_CFLAGS := -std=gnu11 -O2 -g -I. -Itests/guest -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie \
	-mno-red-zone -mcmodel=small -fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib -fno-builtin \
	-mgeneral-regs-only -fcf-protection=none
GUEST_OBJS := $(patsubst %,build/guest-obj/%.o,$(GUEST_SRC))
build/guest-obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@
build/guest-obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@
build/test-guest.elf: $(GUEST_OBJS) tests/guest/guest.ld
	$(Q)$(CC) $(GUEST_CFLAGS) -static -no-pie -Wl,--build-id=none -T tests/guest/guest.ld -o $@ $(GUEST_OBJS)
$(GUEST_BIN): build/test-guest.elf
	$(Q)objcopy -O binary $< $@
	@echo "  GUEST $@ ($$(stat -c %s $@) bytes)"
test-guest: $(GUEST_BIN)

# The default Linux guest, from Debian's packages (guest/linux/README.md).
guest guest-linux:
	$(Q)guest/linux/build.sh build/linux-guest

# ---- top-level targets ----------------------------------------------------
# Every suite runs even after one fails; the summary table (times, retries) comes last.
test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BIN) $(INTEG_BIN) $(FAKE_DEVICE_BIN) $(LINUX_TEST_BIN)
	$(Q)SQUIB_SUITE_LOG_DIR=$(OUT)/test-logs tests/suites.sh layout-test unit-test integration-test linux-test

# The Linux tests alone (Debian's kernel on squib; minutes in the nested test host).
test-linux: deps
	$(Q)$(MAKE) --no-print-directory all $(LINUX_TEST_BIN)
	$(Q)$(MAKE) --no-print-directory linux-test

# The layout's rules: dependencies point down (a sideways #include fails) and
# every path the project's text names exists (tests/check-*.sh).
# And no msgpack symbol in the objects vCPU workers run (tests/check-vcpu-objects.sh).
layout-test: $(call fs_obj,$(FS_SRC))
	$(Q)tests/check-layers.sh --self-test
	$(Q)tests/check-references.sh --self-test
	$(Q)tests/check-vcpu-objects.sh --self-test
	$(Q)tests/check-layers.sh && tests/check-references.sh && tests/check-vcpu-objects.sh $(call fs_obj,$(FS_SRC))

# Leaks inside criterion itself are suppressed (tests/lsan-suppressions.txt).
LSAN_ENV := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan-suppressions.txt:print_suppressions=0
unit-test: $(UNIT_BIN)
	$(Q)$(LSAN_ENV) $(UNIT_BIN) --jobs=2

# The suite's budget in the nested host: 1200 s. The ASan build's suite took
# 600 s and then some on one host CPU shared with a busy loop (its 1 MiB
# console test alone 434 s), and the budget must not be what fails under load.
# --ignore-warnings: a printed SQUIB-RETRY (cr_log_warn) must not fail a suite
# whose tests all passed; criterion otherwise exits non-zero on any warning.
integration-test: $(MONITOR_BIN) $(DEVICE_BIN) $(GUEST_BIN) $(INTEG_BIN) $(FAKE_DEVICE_BIN)
	$(Q)SQUIB_SVM_TIMEOUT=$${SQUIB_SVM_TIMEOUT:-1200} tests/run-kvm.sh $(OUT) $(INTEG_BIN) --jobs=1 --verbose --ignore-warnings

# The guest image, e2fsck and debugfs (host-side checks) go into the test host too.
LINUX_GUEST_DIR := $(CURDIR)/build/linux-guest
linux-test: $(MONITOR_BIN) $(DEVICE_BIN) $(LINUX_TEST_BIN)
	$(Q)guest/linux/build.sh $(LINUX_GUEST_DIR)
	$(Q)SQUIB_SVM_TIMEOUT=$${SQUIB_SVM_TIMEOUT:-2400} SQUIB_LINUX_GUEST=$(LINUX_GUEST_DIR) \
	  SQUIB_EXTRA_PAYLOAD="$(LINUX_GUEST_DIR):$$(command -v e2fsck):$$(command -v debugfs)" \
	  tests/run-kvm.sh $(OUT) $(LINUX_TEST_BIN) --jobs=1 --verbose --ignore-warnings

# libFuzzer targets (tests/fuzz/): the parsers of bytes another process wrote,
# each run for FUZZ_SECONDS with ASan+UBSan. clang comes from Debian.
FUZZ_DEB_PKGS := clang libclang-rt-dev
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=gnu11 -O1 -g -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS := $(OUT)/fuzz/fuzz_reply $(OUT)/fuzz/fuzz_exit
$(OUT)/fuzz/fuzz_reply: tests/fuzz/fuzz_reply.c proto/reply.c proto/reply.h
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_reply.c proto/reply.c
$(OUT)/fuzz/fuzz_exit: tests/fuzz/fuzz_exit.c proto/wire.c proto/wire_encode.c proto/msgpack_prescan.c proto/wire.h
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ tests/fuzz/fuzz_exit.c proto/wire.c proto/wire_encode.c \
	  proto/msgpack_prescan.c $(PKG_LIBS)
fuzz: deps
	$(Q)$(MAKE) --no-print-directory DEB_PKGS="$(FUZZ_DEB_PKGS)" deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_TARGETS)
	$(Q)for t in $(FUZZ_TARGETS); do \
	  mkdir -p $$t.corpus && echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  if ! $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$t.corpus >$$t.log 2>&1; then \
	    tail -40 $$t.log; echo "fuzz: $$t found a failing input (above; the input is in $$(pwd))"; exit 1; \
	  fi; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' $$t.log; \
	done

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)tests/bench/run.sh $(OUT)

# The default Linux guest, interactively (guest/run.sh says which KVM it found).
run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)guest/run.sh $(OUT)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/squib
	install -m 0755 $(MONITOR_BIN) $(DESTDIR)$(PREFIX)/bin/squib-monitor
	install -m 0755 $(DEVICE_BIN) $(DESTDIR)$(PREFIX)/libexec/squib/squib-device

clean:
	rm -rf build/obj build/obj-fs build/san build/guest-obj build/tests build/bench build/test-guest.* build/squib-*

-include $(shell find $(OUT)/obj $(OUT)/obj-fs build/guest-obj -name '*.d' 2>/dev/null)
