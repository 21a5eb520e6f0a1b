/* SPDX-License-Identifier: MIT */
/*
 * The device worker's configuration record (proto/device_config.h): what
 * the monitor encodes round-trips, and whatever else arrives is refused
 * with a message naming what was wrong. Also the worker's side of it
 * (device-worker/acquire.c): reading it from a memfd, and whether it gives
 * a model exactly what the model uses.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/spin.h"
#include "device-worker/acquire.h"
#include "device-worker/device.h"
#include "proto/device_config.h"

/* A virtio-blk worker's record for 2 vCPUs, as the monitor fills it. */
static struct device_config sample(void)
{
	struct device_config c;

	device_config_init(&c);
	strcpy(c.model, "virtio-blk");
	strcpy(c.name, "disk0");
	c.ram_fd = 5;
	c.ram_size = 128u << 20;
	c.control_fd = 15;
	c.status_fd = 16;
	c.doorbell_fd = 13;
	c.ring_fds[0] = 17;
	c.ring_fds[1] = 18;
	c.nrings = 2;
	c.ring_size = 36864;
	c.poll_us = 50;
	c.state_fd = 9;
	c.has_mmio_base = true;
	c.mmio_base = 0xd0000000;
	c.notify_fds[0] = 10;
	c.nnotify = 1;
	c.irq_fd = 11;
	c.resample_fd = 12;
	c.backend_fd = 8;
	strcpy(c.params[0], "serial=abc def");
	strcpy(c.params[1], "ro");
	c.nparams = 2;
	return c;
}

static size_t encode(const struct device_config *c, uint8_t *buf, size_t cap)
{
	char err[256] = "";
	size_t len = 0;
	int r = device_config_encode(c, buf, cap, &len, err, sizeof(err));

	cr_assert_eq(r, 0, "encode: %d (%s)", r, err);
	return len;
}

static int decode(const uint8_t *buf, size_t len, struct device_config *out, char *err, size_t err_len)
{
	err[0] = '\0';
	return device_config_decode(buf, len, out, err, err_len);
}

Test(device_config, round_trips)
{
	struct device_config in = sample(), out;
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	char err[256];
	size_t len = encode(&in, buf, sizeof(buf));

	cr_assert_eq(decode(buf, len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out.model, "virtio-blk");
	cr_assert_str_eq(out.name, "disk0");
	cr_assert_eq(out.ram_size, 128u << 20);
	cr_assert_eq(out.nrings, 2);
	cr_assert_eq(out.ring_fds[1], 18);
	cr_assert_eq(out.poll_us, 50);
	cr_assert(out.has_mmio_base);
	cr_assert_eq(out.mmio_base, 0xd0000000);
	cr_assert_eq(out.nnotify, 1);
	cr_assert_eq(out.notify_fds[0], 10);
	cr_assert_eq(out.backend_fd, 8);
	cr_assert_eq(out.console_fd, -1, "absent optional fds decode as -1");
	cr_assert_eq(out.console_kick_fd, -1);
	cr_assert_eq(out.nparams, 2);
	cr_assert_str_eq(out.params[0], "serial=abc def");
	cr_assert_str_eq(out.params[1], "ro");
	cr_assert_eq(memcmp(&in, &out, sizeof(in)), 0, "every field survives");
}

Test(device_config, a_minimal_record_gets_defaults)
{
	struct device_config in, out;
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	char err[256];
	size_t len;

	device_config_init(&in);
	strcpy(in.model, "testdev");
	strcpy(in.name, "testdev");
	in.ram_fd = 3;
	in.ram_size = 4096;
	in.control_fd = 4;
	in.status_fd = 5;
	in.doorbell_fd = 6;
	in.ring_fds[0] = 7;
	in.nrings = 1;
	in.ring_size = 4096;
	len = encode(&in, buf, sizeof(buf));
	cr_assert_eq(decode(buf, len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.poll_us, SPIN_DEFAULT_POLL_US);
	cr_assert_not(out.has_mmio_base);
	cr_assert_eq(out.state_fd, -1);
	cr_assert_eq(out.nnotify, 0);
}

/* ---- hostile records ----------------------------------------------------- */

/* A record built by hand: a map of n string keys, each value packed by the caller. */
struct hand {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void hand_begin(struct hand *h, size_t nkeys)
{
	msgpack_sbuffer_init(&h->sb);
	msgpack_packer_init(&h->pk, &h->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&h->pk, nkeys);
}

static void hand_key(struct hand *h, const char *k)
{
	msgpack_pack_str(&h->pk, strlen(k));
	msgpack_pack_str_body(&h->pk, k, strlen(k));
}

static void hand_uint(struct hand *h, const char *k, uint64_t v)
{
	hand_key(h, k);
	msgpack_pack_uint64(&h->pk, v);
}

static void hand_str(struct hand *h, const char *k, const char *v)
{
	hand_key(h, k);
	msgpack_pack_str(&h->pk, strlen(v));
	msgpack_pack_str_body(&h->pk, v, strlen(v));
}

/* The ten required keys, with ring_fds = [7]; extra keys follow. */
static void hand_required(struct hand *h, size_t extra)
{
	hand_begin(h, 10 + extra);
	hand_uint(h, "version", DEVICE_CONFIG_VERSION);
	hand_str(h, "model", "uart");
	hand_str(h, "name", "uart");
	hand_uint(h, "ram_fd", 3);
	hand_uint(h, "ram_size", 4096);
	hand_uint(h, "control_fd", 4);
	hand_uint(h, "status_fd", 5);
	hand_uint(h, "doorbell_fd", 6);
	hand_key(h, "ring_fds");
	msgpack_pack_array(&h->pk, 1);
	msgpack_pack_uint32(&h->pk, 7);
	hand_uint(h, "ring_size", 4096);
}

/* Decodes the hand-built record, expects r and a message containing what. */
static void expect(struct hand *h, int r, const char *what)
{
	struct device_config out;
	char err[256];
	int got = decode((const uint8_t *)h->sb.data, h->sb.size, &out, err, sizeof(err));

	cr_assert_eq(got, r, "expected %d (%s), got %d: %s", r, what, got, err);
	cr_assert(strstr(err, what), "message '%s' does not say '%s'", err, what);
	cr_assert(strncmp(err, "device config: ", 15) == 0, "message '%s' lacks its prefix", err);
	msgpack_sbuffer_destroy(&h->sb);
}

Test(device_config, the_hand_built_baseline_decodes)
{
	struct hand h;
	struct device_config out;
	char err[256];

	hand_required(&h, 0);
	cr_assert_eq(decode((const uint8_t *)h.sb.data, h.sb.size, &out, err, sizeof(err)), 0, "%s", err);
	msgpack_sbuffer_destroy(&h.sb);
}

Test(device_config, unknown_and_repeated_keys_are_refused)
{
	struct hand h;

	hand_required(&h, 1);
	hand_uint(&h, "root_fd", 9);
	expect(&h, -EBADMSG, "unknown key 'root_fd'");
	hand_required(&h, 1);
	hand_uint(&h, "ram_fd", 9);
	expect(&h, -EBADMSG, "key 'ram_fd' given twice");
}

Test(device_config, each_required_key_is_required)
{
	/* Not ram_fd and ram_size: guest RAM goes to virtio devices only (device-worker/acquire.c checks which). */
	static const char *const required[] = { "version", "model", "name", "control_fd", "status_fd", "doorbell_fd",
						"ring_fds", "ring_size" };
	const size_t nreq = sizeof(required) / sizeof(required[0]);

	for (size_t skip = 0; skip < nreq; skip++) {
		struct hand h;
		char what[64];

		hand_begin(&h, (uint32_t)nreq - 1);
		for (size_t k = 0; k < nreq; k++) {
			if (k == skip)
				continue;
			if (!strcmp(required[k], "model") || !strcmp(required[k], "name"))
				hand_str(&h, required[k], "uart");
			else if (!strcmp(required[k], "ring_fds")) {
				hand_key(&h, "ring_fds");
				msgpack_pack_array(&h.pk, 1);
				msgpack_pack_uint32(&h.pk, 7);
			} else if (!strcmp(required[k], "version"))
				hand_uint(&h, "version", DEVICE_CONFIG_VERSION);
			else
				hand_uint(&h, required[k], k + 3); /* distinct fds 4..12, sizes > 0 */
		}
		snprintf(what, sizeof(what), "key '%s' is missing", required[skip]);
		expect(&h, -EINVAL, what);
	}
}

Test(device_config, wrong_types_are_refused)
{
	struct hand h;

	hand_required(&h, 1);
	hand_str(&h, "console_fd", "1");
	expect(&h, -EBADMSG, "console_fd is not a file descriptor number");
	hand_required(&h, 1);
	hand_key(&h, "console_kick_fd");
	msgpack_pack_int64(&h.pk, -1);
	expect(&h, -EBADMSG, "console_kick_fd is not a file descriptor number");
	hand_required(&h, 1);
	hand_uint(&h, "irq_fd", (uint64_t)INT32_MAX + 1);
	expect(&h, -EBADMSG, "irq_fd is not a file descriptor number");
	hand_required(&h, 1);
	hand_uint(&h, "params", 3);
	expect(&h, -EBADMSG, "params is not an array");
	hand_required(&h, 1);
	hand_key(&h, "notify_fds");
	msgpack_pack_array(&h.pk, 1);
	msgpack_pack_str(&h.pk, 1);
	msgpack_pack_str_body(&h.pk, "9", 1);
	expect(&h, -EBADMSG, "notify_fds[0] is not a file descriptor number");
}

Test(device_config, values_out_of_range_are_refused)
{
	struct hand h;

	hand_required(&h, 1);
	hand_uint(&h, "poll_us", SPIN_MAX_POLL_US + 1);
	expect(&h, -EINVAL, "poll_us");
	hand_required(&h, 1);
	hand_uint(&h, "mmio_base", 0xd0000004);
	expect(&h, -EINVAL, "not 8-aligned");
	hand_required(&h, 1);
	hand_uint(&h, "console_fd", 1);
	expect(&h, -EINVAL, "console_fd 1: fds below 3 are reserved");
	hand_required(&h, 1);
	hand_uint(&h, "backend_fd", 2);
	expect(&h, -EINVAL, "backend_fd 2: fds below 3 are reserved");
	hand_required(&h, 1);
	hand_uint(&h, "backend_fd", 7);
	expect(&h, -EINVAL, "fd 7 is both ring_fds and backend_fd");
	hand_required(&h, 1);
	hand_str(&h, "params", "x");
	expect(&h, -EBADMSG, "params is not an array");
	hand_required(&h, 1);
	hand_key(&h, "params");
	msgpack_pack_array(&h.pk, 1);
	msgpack_pack_str(&h.pk, 5);
	msgpack_pack_str_body(&h.pk, "a,b=c", 5);
	expect(&h, -EINVAL, "params[0] is not KEY or KEY=VALUE");
}

Test(device_config, bad_names_and_versions_are_refused)
{
	struct device_config c = sample();
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	char err[256];
	size_t len = 0;

	strcpy(c.name, "disk/0");
	cr_assert_eq(device_config_encode(&c, buf, sizeof(buf), &len, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "name is not"), "%s", err);
	c = sample();
	strcpy(c.model, "Virtio");
	cr_assert_eq(device_config_check(&c, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "model is not"), "%s", err);
	c = sample();
	c.version = 2;
	cr_assert_eq(device_config_check(&c, err, sizeof(err)), -EPROTONOSUPPORT);
	cr_assert(strstr(err, "version 2"), "%s", err);
}

Test(device_config, too_many_rings_are_refused)
{
	struct hand h;

	hand_begin(&h, 10);
	hand_uint(&h, "version", DEVICE_CONFIG_VERSION);
	hand_str(&h, "model", "uart");
	hand_str(&h, "name", "uart");
	hand_uint(&h, "ram_fd", 3);
	hand_uint(&h, "ram_size", 4096);
	hand_uint(&h, "control_fd", 4);
	hand_uint(&h, "status_fd", 5);
	hand_uint(&h, "doorbell_fd", 6);
	hand_key(&h, "ring_fds");
	msgpack_pack_array(&h.pk, DEVICE_CONFIG_MAX_RINGS + 1);
	for (unsigned i = 0; i <= DEVICE_CONFIG_MAX_RINGS; i++)
		msgpack_pack_uint32(&h.pk, 100 + i);
	hand_uint(&h, "ring_size", 4096);
	expect(&h, -EBADMSG, "ring_fds is not an array of at most 64 fds");
}

Test(device_config, every_truncation_and_trailing_bytes_are_refused)
{
	struct device_config in = sample(), out;
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	char err[256];
	size_t len = encode(&in, buf, sizeof(buf));

	for (size_t n = 0; n < len; n++)
		cr_assert_neq(decode(buf, n, &out, err, sizeof(err)), 0, "a %zu-byte prefix of %zu decoded", n, len);
	buf[len] = 0xc0; /* nil */
	cr_assert_eq(decode(buf, len + 1, &out, err, sizeof(err)), -EBADMSG);
	cr_assert(strstr(err, "not one well-formed msgpack object"), "%s", err);
	cr_assert_eq(decode(buf, DEVICE_CONFIG_MAX_BYTES + 1, &out, err, sizeof(err)), -EBADMSG);
}

/* Includes huge declared counts (array32/map32 headers): refused before msgpack-c allocates. */
Test(device_config, random_bytes_never_decode_into_garbage)
{
	uint8_t buf[512];
	struct device_config out;
	char err[256];
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % (int)sizeof(buf));

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		if (round % 3 == 1)
			buf[0] = 0x8a; /* a fixmap of 10 entries: get past the first check */
		else if (round % 3 == 2)
			buf[0] = 0xdd; /* an array32: a count up to 4 billion */
		cr_assert_neq(decode(buf, n, &out, err, sizeof(err)), 0, "round %d decoded", round);
	}
}

Test(device_config, a_small_buffer_is_e2big)
{
	struct device_config c = sample();
	uint8_t buf[16];
	char err[256];
	size_t len = 0;

	cr_assert_eq(device_config_encode(&c, buf, sizeof(buf), &len, err, sizeof(err)), -E2BIG);
}

/* ---- the worker's side (device-worker/acquire.c) -------------------------- */

static int memfd_with(const void *data, size_t len, bool seal)
{
	int fd = memfd_create("test-config", MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0));

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

Test(device_config, acquire_reads_a_memfd_and_refuses_other_files)
{
	struct device_config in = sample(), out;
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	char err[256] = "";
	size_t len = encode(&in, buf, sizeof(buf));
	int fd = memfd_with(buf, len, true), pipefd[2];

	cr_assert_eq(acquire_config(fd, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out.name, "disk0");
	close(fd);
	cr_assert_eq(pipe(pipefd), 0);
	cr_assert_eq(acquire_config(pipefd[0], &out, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "is not a memfd"), "%s", err);
	close(pipefd[0]);
	close(pipefd[1]);
	fd = memfd_with("", 0, true);
	cr_assert_eq(acquire_config(fd, &out, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "holds 0 bytes"), "%s", err);
	close(fd);
}

Test(device_config, a_model_gets_exactly_what_it_uses)
{
	struct device_config c = sample();
	char err[256];

	cr_assert_eq(acquire_check_model(&c, &virtio_blk_device_model, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(acquire_check_model(&c, &uart_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "uart takes no virtio resources"), "%s", err);
	c.resample_fd = -1;
	cr_assert_eq(acquire_check_model(&c, &virtio_blk_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "needs state_fd, mmio_base, notify_fds, irq_fd and resample_fd"), "%s", err);

	device_config_init(&c);
	strcpy(c.model, "testdev");
	c.console_fd = 10;
	c.console_kick_fd = 11;
	cr_assert_eq(acquire_check_model(&c, &testdev_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "testdev takes no console"), "%s", err);
	c.state_fd = 12;
	cr_assert_eq(acquire_check_model(&c, &uart_device_model, err, sizeof(err)), 0, "%s", err);
	c.console_kick_fd = -1;
	cr_assert_eq(acquire_check_model(&c, &uart_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "console_fd and console_kick_fd come together"), "%s", err);
	c.console_fd = -1;
	c.state_fd = -1;
	c.irq_fd = 9;
	cr_assert_eq(acquire_check_model(&c, &testdev_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "testdev takes no irq_fd"), "%s", err);
	c.irq_fd = -1;
	cr_assert_eq(acquire_check_model(&c, &testdev_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "testdev needs state_fd"), "%s", err);
	c.state_fd = 9;
	cr_assert_eq(acquire_check_model(&c, &testdev_device_model, err, sizeof(err)), 0, "%s", err);
	/* Guest RAM: virtio devices only. */
	c.ram_fd = 5;
	c.ram_size = 1u << 20;
	cr_assert_eq(acquire_check_model(&c, &testdev_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "testdev takes no ram_fd"), "%s", err);
	c = sample();
	c.ram_fd = -1;
	c.ram_size = 0;
	cr_assert_eq(acquire_check_model(&c, &virtio_blk_device_model, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "virtio-blk needs ram_fd"), "%s", err);
}

Test(device_config, restart_and_fault_fields_round_trip_and_are_checked)
{
	struct device_config in = sample(), out;
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	char err[256];
	size_t len;

	in.restart = 3;
	in.fault_how = DEVICE_FAULT_ABORT;
	in.fault_after = 10;
	in.fault_every = 20;
	len = encode(&in, buf, sizeof(buf));
	cr_assert_eq(decode(buf, len, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out.restart, 3);
	cr_assert_eq(out.fault_how, DEVICE_FAULT_ABORT);
	cr_assert_eq(out.fault_after, 10);
	cr_assert_eq(out.fault_every, 20);
	in.fault_how = DEVICE_FAULT_COUNT;
	cr_assert_eq(device_config_check(&in, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "fault_how"), "%s", err);
	cr_assert_str_eq(device_fault_how_name(DEVICE_FAULT_GARBAGE_RING), "garbage-ring");
	cr_assert_null(device_fault_how_name(DEVICE_FAULT_COUNT));
}
