/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (device-worker/models/virtio_blk.c) and its I/O engine (blk_io.c),
 * driven by the fake virtio driver against a temporary image file: data
 * round trips checked against the file itself, flush, GET_ID, discard and
 * write zeroes, every refusal (range, read-only, unknown type, bad segment
 * lists), malformed chains and recovery, multi-descriptor and indirect
 * chains, several requests in flight, cache=none with unaligned guest
 * buffers and the restricted ring. The engines' speed is measured by
 * `make bench` (tests/bench/blk_engine.c), not here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "device-worker/host_io/blk_io.h"
#include "device-worker/models/virtio_blk.h"
#include "device-worker/virtio/virtio_mmio.h"
#include "tests/unit/virtio_fake_driver.h"

#define IMG_SECTORS 2048u /* 1 MiB */
#define IMG_BYTES (IMG_SECTORS * 512u)

static struct fake_virtio f;
static struct virtio_blk *blk;
static bool opened;
static int img_fd = -1;
static char img_path[256];

/* ---- the image and the device --------------------------------------------- */

/* Byte i of the image's initial contents. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 9) * 13 + 1);
}

/* A temporary image of bytes bytes in dir (filled with pattern), opened with oflags. */
static int make_image(const char *dir, uint64_t bytes, int oflags)
{
	static uint8_t chunk[65536];
	int fd;

	snprintf(img_path, sizeof(img_path), "%s/squib-blk-test-XXXXXX", dir);
	fd = mkstemp(img_path);
	cr_assert(fd >= 0, "mkstemp in %s: %s", dir, strerror(errno));
	for (uint64_t off = 0; off < bytes; off += sizeof(chunk)) {
		uint64_t n = bytes - off < sizeof(chunk) ? bytes - off : sizeof(chunk);

		for (uint64_t i = 0; i < n; i++)
			chunk[i] = pattern(off + i);
		cr_assert_eq(pwrite(fd, chunk, n, (off_t)off), (ssize_t)n);
	}
	close(fd);
	fd = open(img_path, oflags | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", img_path, strerror(errno));
	img_fd = fd;
	return fd;
}

/* Sets the device up on the image; init's result (the device is usable when 0). */
static int open_disk_in(const char *dir, uint64_t bytes, int oflags, const char *const *params)
{
	int r;

	make_image(dir, bytes, oflags);
	r = fake_virtio_setup(&f, &virtio_blk_device_model, 1, img_fd, params);
	opened = true;
	blk = f.vd.ms;
	return r;
}

static void open_disk(const char *const *params)
{
	cr_assert_eq(open_disk_in("/tmp", IMG_BYTES, O_RDWR, params), 0);
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES));
}

static void teardown(void)
{
	if (opened) {
		/* The model has no destructor (a worker just exits): release the engine here. */
		if (blk && blk->vd == &f.vd)
			blk_io_destroy(&blk->io);
		fake_virtio_teardown(&f);
	}
	if (img_fd >= 0) {
		close(img_fd);
		unlink(img_path);
	}
	opened = false;
	blk = NULL;
	img_fd = -1;
}

TestSuite(virtio_blk, .fini = teardown);

static uint32_t status_reg(void)
{
	return fake_mmio_read(&f, VIRTIO_MMIO_REG_STATUS, 4);
}

static uint64_t config64(uint32_t off)
{
	return fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + off, 4) |
	       (uint64_t)fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + off + 4, 4) << 32;
}

static uint64_t offered_features(void)
{
	uint64_t v;

	fake_mmio_write(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 0);
	v = fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 1);
	return v | (uint64_t)fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4) << 32;
}

/* ---- requests --------------------------------------------------------------- */

struct req {
	uint16_t head;
	uint64_t hdr, status; /* guest addresses */
};

/* One buffer of len bytes in guest RAM. */
static uint64_t gbuf(uint64_t len)
{
	cr_assert(opened, "allocate guest buffers after the device is set up");
	return fake_alloc(&f, len);
}

static uint64_t put_header(uint32_t type, uint64_t sector)
{
	struct virtio_blk_req_hdr h = { .type = type, .sector = sector };
	uint64_t gpa = gbuf(sizeof(h));

	memcpy(fake_ptr(&f, gpa), &h, sizeof(h));
	return gpa;
}

static uint64_t put_status(void)
{
	uint64_t gpa = gbuf(1);

	*(uint8_t *)fake_ptr(&f, gpa) = 0xee; /* the device must overwrite it */
	return gpa;
}

/*
 * Posts header, then n data buffers (readable for OUT-like types, writable
 * otherwise), then the status byte, without kicking.
 */
static struct req post(uint32_t type, uint64_t sector, const struct fake_buf *data, unsigned n)
{
	struct fake_buf bufs[16];
	struct req r;
	unsigned k = 0;

	cr_assert(n + 2 <= 16);
	r.hdr = put_header(type, sector);
	r.status = put_status();
	bufs[k++] = (struct fake_buf){ r.hdr, 16, false };
	for (unsigned i = 0; i < n; i++)
		bufs[k++] = data[i];
	bufs[k++] = (struct fake_buf){ r.status, 1, true };
	r.head = fake_post(&f, 0, bufs, k);
	return r;
}

/* Waits (5 s at most) for the next used element; it must be head's. Returns the status byte. */
static uint8_t wait_req(const struct req *r, uint32_t *used_len)
{
	uint32_t id = 0, len = 0;

	for (int i = 0; i < 500; i++) {
		if (fake_used(&f, 0, &id, &len)) {
			cr_assert_eq(id, r->head, "completed head %u, expected %u", id, r->head);
			if (used_len)
				*used_len = len;
			return *(uint8_t *)fake_ptr(&f, r->status);
		}
		fake_poll(&f, 10);
	}
	cr_assert_fail("request %u never completed", r->head);
	return 0xff;
}

static uint8_t run(uint32_t type, uint64_t sector, const struct fake_buf *data, unsigned n, uint32_t *used_len)
{
	struct req r = post(type, sector, data, n);

	fake_kick(&f, 0);
	return wait_req(&r, used_len);
}

static uint8_t rw(uint32_t type, uint64_t sector, uint64_t gpa, uint32_t len, uint32_t *used_len)
{
	struct fake_buf d = { gpa, len, type == VIRTIO_BLK_T_IN };

	return run(type, sector, &d, 1, used_len);
}

/* Through a fresh fd: the device's may have O_DIRECT (cache=none). */
static void file_read(uint64_t off, void *dst, size_t len)
{
	int fd = open(img_path, O_RDONLY | O_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, dst, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static bool image_matches_pattern(uint64_t off, size_t len)
{
	static uint8_t buf[IMG_BYTES];

	file_read(off, buf, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(off + i))
			return false;
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint64_t image_checksum(void)
{
	static uint8_t buf[IMG_BYTES];
	uint64_t h = 1469598103934665603ull;
	struct stat st;

	cr_assert_eq(fstat(img_fd, &st), 0);
	cr_assert_eq(st.st_size, IMG_BYTES);
	file_read(0, buf, IMG_BYTES);
	for (size_t i = 0; i < IMG_BYTES; i++)
		h = (h ^ buf[i]) * 1099511628211ull;
	return h;
}

/* ---- identity, configuration, parameters ------------------------------------ */

Test(virtio_blk, identity_features_and_config)
{
	uint64_t feat;

	cr_assert_eq(open_disk_in("/tmp", IMG_BYTES, O_RDWR, NULL), 0);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_ID, 4), 2);
	feat = offered_features();
	cr_assert(feat & (1ull << VIRTIO_BLK_F_SIZE_MAX));
	cr_assert(feat & (1ull << VIRTIO_BLK_F_SEG_MAX));
	cr_assert(feat & (1ull << VIRTIO_BLK_F_BLK_SIZE));
	cr_assert(feat & (1ull << VIRTIO_BLK_F_FLUSH));
	cr_assert(feat & (1ull << VIRTIO_BLK_F_DISCARD));
	cr_assert(feat & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	cr_assert_eq(feat & (1ull << VIRTIO_BLK_F_RO), 0);
	cr_assert(feat & VIRTIO_FEAT_VERSION_1);
	cr_assert_eq(config64(0x00), IMG_SECTORS, "capacity");
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x08, 4), VIRTIO_BLK_SIZE_MAX);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x0c, 4), 254, "seg_max");
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x14, 4), 512, "blk_size");
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x24, 4), VIRTIO_BLK_DWZ_SECTORS_MAX);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x28, 4), VIRTIO_BLK_DWZ_SEG_MAX);
	cr_assert_geq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x2c, 4), 1, "discard_sector_alignment");
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x30, 4), VIRTIO_BLK_DWZ_SECTORS_MAX);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x34, 4), VIRTIO_BLK_DWZ_SEG_MAX);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x38, 1), 1, "write_zeroes_may_unmap");
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_CONFIG + 0x3c, 4), 0, "past config_len reads 0");
	/* Config is read-only. */
	fake_mmio_write(&f, VIRTIO_MMIO_REG_CONFIG + 0x00, 4, 7);
	cr_assert_eq(config64(0x00), IMG_SECTORS);
	cr_assert_eq(blk->io.engine, BLK_IO_ENGINE_URING, "io_uring is available on this kernel");
}

Test(virtio_blk, init_refuses_bad_backends_and_params)
{
	const char *const bad_cache[] = { "cache=sometimes", NULL };
	const char *const long_id[] = { "id=123456789012345678901", NULL };
	const char *const bad_ro[] = { "ro=maybe", NULL };
	const char *const bad_align[] = { "cache=none", "dio-align=3000", NULL };
	const char *const ro[] = { "ro", NULL };

	cr_assert_lt(open_disk_in("/tmp", 1000, O_RDWR, NULL), 0, "size not a multiple of 512");
	teardown();
	cr_assert_lt(open_disk_in("/tmp", 0, O_RDWR, NULL), 0, "empty image");
	teardown();
	cr_assert_lt(open_disk_in("/tmp", IMG_BYTES, O_RDWR, bad_cache), 0);
	teardown();
	cr_assert_lt(open_disk_in("/tmp", IMG_BYTES, O_RDWR, long_id), 0);
	teardown();
	cr_assert_lt(open_disk_in("/tmp", IMG_BYTES, O_RDWR, bad_ro), 0);
	teardown();
	cr_assert_lt(open_disk_in("/tmp", IMG_BYTES, O_RDWR, bad_align), 0);
	teardown();
	cr_assert_lt(open_disk_in("/tmp", IMG_BYTES, O_RDWR, ro), 0, "ro with a writable fd");
	teardown();
	cr_assert_lt(open_disk_in("/tmp", IMG_BYTES, O_RDONLY, NULL), 0, "rw with a read-only fd");
	teardown();
	cr_assert_lt(open_disk_in("/tmp", IMG_BYTES, O_WRONLY, NULL), 0, "rw with a write-only fd");
}

/* ---- data ------------------------------------------------------------------- */

static void round_trip(void)
{
	uint64_t w = gbuf(4096), r = gbuf(4096);
	uint8_t file[4096];
	uint32_t used;

	for (unsigned i = 0; i < 4096; i++)
		((uint8_t *)fake_ptr(&f, w))[i] = (uint8_t)(i ^ 0x5a);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 10, w, 4096, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1, "an OUT writes only the status byte");
	file_read(10 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, fake_ptr(&f, w), 4096, "the image holds what the guest wrote");
	cr_assert(image_matches_pattern(0, 10 * 512), "nothing before it changed");
	cr_assert(image_matches_pattern(18 * 512, IMG_BYTES - 18 * 512), "nothing after it changed");
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 10, r, 4096, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 4097, "data + status");
	cr_assert_arr_eq(fake_ptr(&f, r), fake_ptr(&f, w), 4096);
	/* The last sector of the disk, read straight from the initial pattern. */
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, IMG_SECTORS - 1, r, 512, NULL), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 512; i++)
		cr_assert_eq(((uint8_t *)fake_ptr(&f, r))[i], pattern((IMG_SECTORS - 1) * 512ull + i));
}

Test(virtio_blk, read_write_round_trip_io_uring)
{
	open_disk(NULL);
	cr_assert_eq(blk->io.engine, BLK_IO_ENGINE_URING);
	round_trip();
	cr_assert_eq(blk->stats.reads, 2);
	cr_assert_eq(blk->stats.writes, 1);
}

Test(virtio_blk, read_write_round_trip_sync_engine)
{
	const char *const params[] = { "io=sync", NULL };

	open_disk(params);
	cr_assert_eq(blk->io.engine, BLK_IO_ENGINE_SYNC);
	cr_assert_eq(blk_io_pollfd(&blk->io), -1);
	round_trip();
}

Test(virtio_blk, flush_is_an_fdatasync)
{
	uint64_t started;

	open_disk(NULL);
	started = blk->io.stats.started;
	cr_assert_eq(run(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(blk->io.stats.started, started + 1, "one engine operation");
	cr_assert_eq(blk->stats.flushes, 1);
}

Test(virtio_blk, without_flush_negotiated_writes_are_write_through)
{
	uint64_t w, started;

	cr_assert_eq(open_disk_in("/tmp", IMG_BYTES, O_RDWR, NULL), 0);
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES & ~(1ull << VIRTIO_BLK_F_FLUSH)));
	w = gbuf(512);
	started = blk->io.stats.started;
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 3, w, 512, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(blk->io.stats.started, started + 2, "the write, then an fdatasync");
}

Test(virtio_blk, get_id_default_custom_and_truncated)
{
	const char *const params[] = { "id=disk-7", NULL };
	uint8_t want[20] = "disk-7";
	uint32_t used;
	uint64_t id;
	struct fake_buf d;

	open_disk(params);
	id = gbuf(20);
	d = (struct fake_buf){ id, 20, true };
	memset(fake_ptr(&f, id), 0xcc, 20);
	cr_assert_eq(run(VIRTIO_BLK_T_GET_ID, 0, &d, 1, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 21);
	cr_assert_arr_eq(fake_ptr(&f, id), want, 20, "NUL-padded to 20 bytes");
	d.len = 4;
	memset(fake_ptr(&f, id), 0xcc, 20);
	cr_assert_eq(run(VIRTIO_BLK_T_GET_ID, 0, &d, 1, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 5);
	cr_assert_arr_eq(fake_ptr(&f, id), "disk", 4);
	cr_assert_eq(((uint8_t *)fake_ptr(&f, id))[4], 0xcc, "nothing past the buffer");
}

Test(virtio_blk, get_id_default)
{
	uint8_t want[20] = "squib-disk";
	uint64_t id;
	struct fake_buf d;

	open_disk(NULL);
	id = gbuf(20);
	d = (struct fake_buf){ id, 20, true };
	cr_assert_eq(run(VIRTIO_BLK_T_GET_ID, 0, &d, 1, NULL), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(fake_ptr(&f, id), want, 20);
}

/* ---- discard and write zeroes ------------------------------------------------ */

static uint8_t dwz(uint32_t type, const struct virtio_blk_dwz_seg *segs, unsigned n)
{
	uint64_t gpa = gbuf(16ull * n);
	struct fake_buf d = { gpa, 16 * n, false };

	memcpy(fake_ptr(&f, gpa), segs, 16ull * n);
	return run(type, 0, &d, 1, NULL);
}

static void expect_zero_range(uint64_t sector, uint32_t nsect)
{
	static uint8_t buf[IMG_BYTES];

	file_read(sector * 512, buf, nsect * 512ull);
	cr_assert(all_zero(buf, nsect * 512ull), "sectors %llu+%u read back as zeroes", (unsigned long long)sector,
		  nsect);
}

Test(virtio_blk, discard_punches_holes)
{
	const struct virtio_blk_dwz_seg segs[2] = { { 8, 8, 0 }, { 100, 16, 0 } };
	struct stat st;

	open_disk(NULL);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, segs, 2), VIRTIO_BLK_S_OK);
	expect_zero_range(8, 8); /* ext4 / tmpfs: a punched hole reads as zeroes */
	expect_zero_range(100, 16);
	cr_assert(image_matches_pattern(0, 8 * 512));
	cr_assert(image_matches_pattern(16 * 512, 84 * 512));
	cr_assert(image_matches_pattern(116 * 512, IMG_BYTES - 116 * 512));
	cr_assert_eq(fstat(img_fd, &st), 0);
	cr_assert_eq(st.st_size, IMG_BYTES, "KEEP_SIZE");
}

Test(virtio_blk, discard_and_write_zeroes_refusals)
{
	const struct virtio_blk_dwz_seg unmap = { 8, 8, VIRTIO_BLK_WZ_F_UNMAP };
	const struct virtio_blk_dwz_seg unknown_flag = { 8, 8, 2 };
	const struct virtio_blk_dwz_seg past_end = { IMG_SECTORS - 4, 8, 0 };
	const struct virtio_blk_dwz_seg wraps = { UINT64_MAX - 2, 8, 0 };
	const struct virtio_blk_dwz_seg empty = { 8, 0, 0 };
	struct virtio_blk_dwz_seg many[VIRTIO_BLK_DWZ_SEG_MAX + 1];
	uint64_t sum;

	open_disk(NULL);
	sum = image_checksum();
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &unmap, 1), VIRTIO_BLK_S_UNSUPP, "UNMAP on a discard");
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &unknown_flag, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &past_end, 1), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &wraps, 1), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &empty, 1), VIRTIO_BLK_S_IOERR);
	for (unsigned i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct virtio_blk_dwz_seg){ i * 8, 8, 0 };
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, many, ARRAY_SIZE(many)), VIRTIO_BLK_S_IOERR, "too many segments");
	{
		/* A segment list that is not a whole number of segments. */
		uint64_t gpa = gbuf(24);
		struct fake_buf d = { gpa, 24, false };

		memset(fake_ptr(&f, gpa), 0, 24);
		cr_assert_eq(run(VIRTIO_BLK_T_WRITE_ZEROES, 0, &d, 1, NULL), VIRTIO_BLK_S_IOERR);
		cr_assert_eq(run(VIRTIO_BLK_T_DISCARD, 0, NULL, 0, NULL), VIRTIO_BLK_S_IOERR, "no segment");
	}
	cr_assert_eq(image_checksum(), sum, "nothing changed");
}

Test(virtio_blk, write_zeroes_with_and_without_unmap)
{
	const struct virtio_blk_dwz_seg segs[3] = {
		{ 1, 3, 0 }, { 40, 24, VIRTIO_BLK_WZ_F_UNMAP }, { IMG_SECTORS - 2, 2, 0 }
	};
	struct stat st;

	open_disk(NULL);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, segs, 3), VIRTIO_BLK_S_OK);
	expect_zero_range(1, 3);
	expect_zero_range(40, 24);
	expect_zero_range(IMG_SECTORS - 2, 2);
	cr_assert(image_matches_pattern(0, 512));
	cr_assert(image_matches_pattern(4 * 512, 36 * 512));
	cr_assert(image_matches_pattern(64 * 512, (IMG_SECTORS - 66) * 512));
	cr_assert_eq(fstat(img_fd, &st), 0);
	cr_assert_eq(st.st_size, IMG_BYTES);
}

Test(virtio_blk, write_zeroes_falls_back_to_writing_zeroes)
{
	/* tmpfs has PUNCH_HOLE but not ZERO_RANGE: without UNMAP the device must write zeroes. */
	const struct virtio_blk_dwz_seg seg = { 16, 300, 0 };

	if (access("/dev/shm", W_OK) != 0)
		cr_skip_test("no writable /dev/shm");
	cr_assert_eq(open_disk_in("/dev/shm", IMG_BYTES, O_RDWR, NULL), 0);
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES));
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_OK);
	expect_zero_range(16, 300);
	cr_assert(image_matches_pattern(0, 16 * 512));
	cr_assert(image_matches_pattern(316 * 512, IMG_BYTES - 316 * 512));
	cr_assert_eq(blk->stats.zero_writes, 1, "zeroed by writes");
	cr_assert(blk->no_zero_range, "EOPNOTSUPP remembered");
	/* Again: straight to the writes this time. */
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_OK);
	cr_assert_eq(blk->stats.zero_writes, 2);
}

/* ---- refusals ---------------------------------------------------------------- */

Test(virtio_blk, out_of_range_and_bad_lengths_are_ioerr)
{
	uint64_t buf, sum;
	uint32_t used;

	open_disk(NULL);
	buf = gbuf(1024);
	sum = image_checksum();
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, IMG_SECTORS - 1, buf, 1024, &used), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used, 1, "only the status byte on failure");
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, IMG_SECTORS, buf, 512, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, UINT64_MAX, buf, 512, NULL), VIRTIO_BLK_S_IOERR, "no wrap-around");
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, buf, 512, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 0, buf, 1000, NULL), VIRTIO_BLK_S_IOERR, "not a multiple of 512");
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, buf, 513, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, IMG_SECTORS - 2, buf, 1024, NULL), VIRTIO_BLK_S_OK, "the last sectors");
	cr_assert_eq(run(VIRTIO_BLK_T_IN, IMG_SECTORS, NULL, 0, NULL), VIRTIO_BLK_S_OK, "empty at the end");
	cr_assert_eq(image_checksum(), sum);
	cr_assert_eq(status_reg() & VIRTIO_STATUS_NEEDS_RESET, 0, "request errors are not device errors");
}

Test(virtio_blk, unknown_type_is_unsupp)
{
	struct fake_buf d;

	open_disk(NULL);
	d = (struct fake_buf){ gbuf(512), 512, true };
	cr_assert_eq(run(2, 0, &d, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(run(0xffffffffu, 0, &d, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(run(VIRTIO_BLK_T_GET_ID + 1, 0, &d, 1, NULL), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(blk->stats.unsupp, 3);
}

Test(virtio_blk, read_only_refuses_writes_and_leaves_the_image_alone)
{
	const char *const params[] = { "ro", NULL };
	const struct virtio_blk_dwz_seg seg = { 0, 8, 0 };
	uint64_t buf, sum;

	cr_assert_eq(open_disk_in("/tmp", IMG_BYTES, O_RDONLY, params), 0);
	buf = gbuf(4096);
	cr_assert(offered_features() & (1ull << VIRTIO_BLK_F_RO));
	cr_assert_eq(offered_features() & (1ull << VIRTIO_BLK_F_DISCARD), 0);
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES));
	sum = image_checksum();
	memset(fake_ptr(&f, buf), 0x77, 4096);
	cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, buf, 4096, NULL), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(run(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 0, buf, 4096, NULL), VIRTIO_BLK_S_OK, "reads work");
	cr_assert_eq(((uint8_t *)fake_ptr(&f, buf))[5], pattern(5));
	cr_assert_eq(image_checksum(), sum, "byte-identical");
}

/* ---- malformed chains ----------------------------------------------------------- */

static void expect_needs_reset_then_recover(void)
{
	uint64_t buf = gbuf(512);

	cr_assert(status_reg() & VIRTIO_STATUS_NEEDS_RESET, "status %#x", status_reg());
	cr_assert_eq(blk_io_busy(&blk->io), 0);
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES), "a reset brings it back");
	cr_assert_eq(status_reg() & VIRTIO_STATUS_NEEDS_RESET, 0);
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 1, buf, 512, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(((uint8_t *)fake_ptr(&f, buf))[0], pattern(512));
}

Test(virtio_blk, no_status_byte_needs_reset)
{
	uint64_t hdr, data;
	struct fake_buf bufs[2];

	open_disk(NULL);
	data = gbuf(512);
	hdr = put_header(VIRTIO_BLK_T_OUT, 0);
	bufs[0] = (struct fake_buf){ hdr, 16, false };
	bufs[1] = (struct fake_buf){ data, 512, false };
	fake_post(&f, 0, bufs, 2);
	fake_kick(&f, 0);
	cr_assert(image_matches_pattern(0, 512), "nothing written");
	expect_needs_reset_then_recover();
}

Test(virtio_blk, short_header_needs_reset)
{
	uint64_t hdr, st;
	struct fake_buf bufs[2];

	open_disk(NULL);
	hdr = put_header(VIRTIO_BLK_T_IN, 0);
	st = put_status();
	bufs[0] = (struct fake_buf){ hdr, 8, false };
	bufs[1] = (struct fake_buf){ st, 1, true };
	fake_post(&f, 0, bufs, 2);
	fake_kick(&f, 0);
	cr_assert_eq(*(uint8_t *)fake_ptr(&f, st), 0xee, "no status written");
	expect_needs_reset_then_recover();
}

Test(virtio_blk, only_writable_buffers_needs_reset)
{
	struct fake_buf b;

	open_disk(NULL);
	b = (struct fake_buf){ put_status(), 1, true };
	fake_post(&f, 0, &b, 1);
	fake_kick(&f, 0);
	expect_needs_reset_then_recover();
}

/* ---- chain shapes ----------------------------------------------------------------- */

Test(virtio_blk, multi_descriptor_requests)
{
	struct virtio_blk_req_hdr h = { .type = VIRTIO_BLK_T_OUT, .sector = 20 };
	uint64_t hdr, d1, d2, d3, st, in;
	uint8_t want[4096], file[4096];
	struct req r;
	uint32_t used;

	open_disk(NULL);
	hdr = gbuf(16);
	d1 = gbuf(1000);
	d2 = gbuf(2072);
	d3 = gbuf(1024);
	st = put_status();
	in = gbuf(4097);
	struct fake_buf bufs[6] = {
		{ hdr, 4, false }, { hdr + 4, 12, false }, { d1, 1000, false },
		{ d2, 2072, false }, { d3, 1024, false }, { st, 1, true },
	};
	memcpy(fake_ptr(&f, hdr), &h, sizeof(h));
	for (unsigned i = 0; i < 4096; i++)
		want[i] = (uint8_t)(i * 31 + 3);
	memcpy(fake_ptr(&f, d1), want, 1000);
	memcpy(fake_ptr(&f, d2), want + 1000, 2072);
	memcpy(fake_ptr(&f, d3), want + 3072, 1024);
	/* Header split in two descriptors, data in three of odd sizes. */
	r.head = fake_post(&f, 0, bufs, 6);
	r.status = st;
	fake_kick(&f, 0);
	cr_assert_eq(wait_req(&r, NULL), VIRTIO_BLK_S_OK);
	file_read(20 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, want, 4096);
	/* Data and status in one writable buffer: the status is its last byte. */
	{
		struct fake_buf b2[2] = { { put_header(VIRTIO_BLK_T_IN, 20), 16, false }, { in, 4097, true } };

		r.head = fake_post(&f, 0, b2, 2);
		r.status = in + 4096;
		fake_kick(&f, 0);
		cr_assert_eq(wait_req(&r, &used), VIRTIO_BLK_S_OK);
		cr_assert_eq(used, 4097);
		cr_assert_arr_eq(fake_ptr(&f, in), want, 4096);
	}
	/* Header and data in one readable buffer. */
	{
		uint64_t both = gbuf(16 + 512);
		struct virtio_blk_req_hdr h2 = { .type = VIRTIO_BLK_T_OUT, .sector = 30 };
		struct fake_buf b3[2] = { { both, 16 + 512, false }, { put_status(), 1, true } };

		memcpy(fake_ptr(&f, both), &h2, 16);
		memset(fake_ptr(&f, both + 16), 0x42, 512);
		r.head = fake_post(&f, 0, b3, 2);
		r.status = b3[1].gpa;
		fake_kick(&f, 0);
		cr_assert_eq(wait_req(&r, NULL), VIRTIO_BLK_S_OK);
		file_read(30 * 512, file, 512);
		for (unsigned i = 0; i < 512; i++)
			cr_assert_eq(file[i], 0x42);
	}
}

Test(virtio_blk, indirect_descriptors)
{
	uint64_t table, hdr, a, b, st;

	open_disk(NULL);
	table = gbuf(4 * 16);
	hdr = put_header(VIRTIO_BLK_T_IN, 7);
	a = gbuf(512);
	b = gbuf(1024);
	st = put_status();
	struct virtq_desc ind[4] = {
		{ hdr, 16, VIRTQ_DESC_F_NEXT, 1 },
		{ a, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 },
		{ b, 1024, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 },
		{ st, 1, VIRTQ_DESC_F_WRITE, 0 },
	};
	struct req r = { .status = st };
	uint32_t used;

	memcpy(fake_ptr(&f, table), ind, sizeof(ind));
	r.head = f.q[0].next_desc++;
	fake_desc(&f, 0, r.head, table, sizeof(ind), VIRTQ_DESC_F_INDIRECT, 0);
	fake_make_available(&f, 0, r.head);
	fake_kick(&f, 0);
	cr_assert_eq(wait_req(&r, &used), VIRTIO_BLK_S_OK);
	cr_assert_eq(used, 1537);
	for (unsigned i = 0; i < 512; i++)
		cr_assert_eq(((uint8_t *)fake_ptr(&f, a))[i], pattern(7 * 512 + i));
	for (unsigned i = 0; i < 1024; i++)
		cr_assert_eq(((uint8_t *)fake_ptr(&f, b))[i], pattern(8 * 512 + i));
}

Test(virtio_blk, several_requests_in_flight)
{
	enum { N = 16 };
	struct req reqs[N];
	uint64_t bufs[N];
	bool seen[N] = { false };

	open_disk(NULL);
	for (unsigned i = 0; i < N; i++) {
		struct fake_buf d = { bufs[i] = gbuf(4096), 4096, true };

		reqs[i] = post(VIRTIO_BLK_T_IN, 8ull * i * 3, &d, 1);
	}
	fake_kick(&f, 0);
	for (unsigned done = 0, spins = 0; done < N; spins++) {
		uint32_t id, len;

		cr_assert_lt(spins, 500, "requests never completed");
		if (!fake_used(&f, 0, &id, &len)) {
			fake_poll(&f, 10);
			continue;
		}
		for (unsigned i = 0; i < N; i++) {
			if (reqs[i].head != id)
				continue;
			cr_assert(!seen[i]);
			seen[i] = true;
			cr_assert_eq(len, 4097);
			cr_assert_eq(*(uint8_t *)fake_ptr(&f, reqs[i].status), VIRTIO_BLK_S_OK);
			for (unsigned k = 0; k < 4096; k += 511)
				cr_assert_eq(((uint8_t *)fake_ptr(&f, bufs[i]))[k], pattern(8ull * i * 3 * 512 + k));
		}
		done++;
	}
	cr_assert_geq(blk->io.stats.max_inflight, N, "all %d submitted together (saw %u)", N,
		      blk->io.stats.max_inflight);
	cr_assert_eq(blk->io.stats.submits, 1, "in one io_uring_enter");
}

Test(virtio_blk, reset_waits_for_requests_in_flight)
{
	enum { N = 12 };
	/* Direct reads reach the disk, so they are still in flight when the reset comes. */
	const char *const params[] = { "cache=none", NULL };
	unsigned busy;

	if (!fake_dir_takes_direct_io("/tmp"))
		cr_skip_test("/tmp does not support O_DIRECT");
	cr_assert_eq(open_disk_in("/tmp", IMG_BYTES, O_RDWR, params), 0);
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES));
	for (unsigned i = 0; i < N; i++) {
		struct fake_buf d = { (gbuf(8192 + 4096) + 4095) & ~4095ull, 8192, true };

		(void)post(VIRTIO_BLK_T_IN, 16ull * i, &d, 1);
	}
	/* Notify by MMIO: the requests are submitted; nothing reaps them before the reset. */
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 4, 0);
	busy = blk_io_busy(&blk->io);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, 0);
	cr_log_info("%u of %d requests were in flight at the reset", busy, N);
	cr_assert_eq(blk_io_busy(&blk->io), 0, "the reset drained the engine");
	for (unsigned h = 0; h < VIRTIO_BLK_QUEUE_SIZE; h++)
		cr_assert_eq(blk->req[h].state, BLK_REQ_FREE);
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES));
	{
		uint64_t buf = gbuf(512);

		cr_assert_eq(rw(VIRTIO_BLK_T_IN, 2, buf, 512, NULL), VIRTIO_BLK_S_OK);
	}
}

/* ---- cache=none ------------------------------------------------------------------- */

Test(virtio_blk, cache_none_bounces_unaligned_buffers)
{
	const char *const params[] = { "cache=none", "dio-align=4096", NULL };
	uint64_t w, r, aligned;
	uint8_t file[4096];

	if (!fake_dir_takes_direct_io("/tmp"))
		cr_skip_test("/tmp does not support O_DIRECT");
	cr_assert_eq(open_disk_in("/tmp", IMG_BYTES, O_RDWR, params), 0);
	/* Odd guest addresses and lengths: every segment breaks the alignment. */
	w = gbuf(8192 + 1) + 1;
	r = gbuf(8192 + 3) + 3;
	struct fake_buf wd[2] = { { w, 1000, false }, { w + 1000, 3096, false } };
	struct fake_buf rd[2] = { { r, 3000, true }, { r + 3000, 1096, true } };
	cr_assert(fake_virtio_start(&f, FAKE_BLK_FEATURES));
	cr_assert(fcntl(img_fd, F_GETFL) & O_DIRECT, "O_DIRECT set on the backend");
	cr_assert(blk->direct);
	cr_assert_eq(blk->dio_align, 4096, "the monitor's dio-align is honoured");
	for (unsigned i = 0; i < 4096; i++)
		((uint8_t *)fake_ptr(&f, w))[i] = (uint8_t)(i * 5 + 1);
	cr_assert_eq(run(VIRTIO_BLK_T_OUT, 64, wd, 2, NULL), VIRTIO_BLK_S_OK);
	cr_assert_eq(run(VIRTIO_BLK_T_IN, 64, rd, 2, NULL), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(fake_ptr(&f, r), fake_ptr(&f, w), 4096);
	file_read(64 * 512, file, sizeof(file));
	cr_assert_arr_eq(file, fake_ptr(&f, w), 4096);
	cr_assert_eq(blk->stats.bounced, 2);
	cr_assert_eq(blk->io.bounce_free, blk->io.bounce_chunks, "bounce buffers returned");
	/* Aligned buffers go straight through. */
	aligned = (gbuf(4096 + 4096) + 4095) & ~4095ull;
	cr_assert_eq(rw(VIRTIO_BLK_T_IN, 64, aligned, 4096, NULL), VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(fake_ptr(&f, aligned), fake_ptr(&f, w), 4096);
	cr_assert_eq(blk->stats.bounced, 2);
	/* FLUSH is still a real fdatasync. */
	cr_assert_eq(run(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
}

/* ---- the engine ---------------------------------------------------------------------- */

Test(virtio_blk, ring_refuses_unlisted_opcodes_and_unregistered_files)
{
	struct io_uring *ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	open_disk(NULL);
	cr_assert_eq(blk->io.engine, BLK_IO_ENGINE_URING);
	ring = &blk->io.ring;
	/* An opcode not on the list, even on the fixed file. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	cr_assert_eq(io_uring_submit(ring), 1);
	cr_assert_eq(io_uring_wait_cqe(ring, &cqe), 0);
	cr_assert_eq(cqe->res, -EACCES, "openat through the ring: %d", cqe->res);
	io_uring_cqe_seen(ring, cqe);
	/* A listed opcode on a plain fd (not the fixed backend). */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_fsync(sqe, 1, 0);
	cr_assert_eq(io_uring_submit(ring), 1);
	cr_assert_eq(io_uring_wait_cqe(ring, &cqe), 0);
	cr_assert_eq(cqe->res, -EACCES, "fsync on a plain fd: %d", cqe->res);
	io_uring_cqe_seen(ring, cqe);
	/* Nothing can be registered any more. */
	cr_assert_lt(io_uring_register_files(ring, &img_fd, 1), 0);
}

Test(virtio_blk, sandbox_rules_name_only_the_ring_or_the_backend)
{
	const char *const sync[] = { "io=sync", NULL };
	struct sandbox_fd_rule rules[8];
	unsigned n;

	open_disk(NULL);
	n = virtio_blk_model.sandbox_rules(blk, rules, 8);
	cr_assert_eq(n, 2);
	cr_assert_eq(rules[0].nr, SYS_io_uring_enter);
	cr_assert_eq(rules[0].fd, blk->io.ring.ring_fd);
	cr_assert_not_null(rules[0].why);
	/* Discard and write-zeroes: fallocate on the backend, never through the ring (its mode is checked). */
	cr_assert_eq(rules[1].nr, SYS_fallocate);
	cr_assert_eq(rules[1].fd, img_fd);
	teardown();
	cr_assert_eq(open_disk_in("/tmp", IMG_BYTES, O_RDWR, sync), 0);
	n = virtio_blk_model.sandbox_rules(blk, rules, 8);
	cr_assert_eq(n, 4);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(rules[i].fd, img_fd, "rule %u on the backend fd", i);
	cr_assert_eq(rules[0].nr, SYS_preadv);
	cr_assert_eq(rules[1].nr, SYS_pwritev);
	cr_assert_eq(rules[2].nr, SYS_fdatasync);
	cr_assert_eq(rules[3].nr, SYS_fallocate);
}

Test(virtio_blk, engine_continues_short_transfers)
{
	/* A read that crosses the end of the file comes back short, then hits EOF: -EIO. */
	struct blk_io io;
	int err = 0, fd;
	const char *step = NULL;
	uint8_t a[1000], b[3000];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct blk_io_op op = { .kind = BLK_IO_READV, .iov = iov, .niov = 2, .offset = IMG_BYTES - 3500 };
	struct blk_io_done d;

	fd = make_image("/tmp", IMG_BYTES, O_RDWR);
	for (int engine = 0; engine < 2; engine++) {
		cr_assert_eq(blk_io_init(&io, fd, 4, engine == 0, 0, &err, &step), 0);
		cr_assert_eq(blk_io_start(&io, 3, &op), 0);
		cr_assert_eq(blk_io_start(&io, 3, &op), -EBUSY, "one operation per tag");
		cr_assert_eq(blk_io_start(&io, 4, &op), -EINVAL, "tag past the depth");
		memset(&d, 0xff, sizeof(d));
		for (int i = 0; i < 500; i++) {
			cr_assert_eq(blk_io_submit(&io), 0); /* also what a short read left to do */
			if (blk_io_reap(&io, &d, 1) == 1)
				break;
			usleep(1000);
		}
		cr_assert_eq(d.tag, 3);
		cr_assert_eq(d.res, -EIO, "engine %d: %d", engine, d.res);
		for (unsigned i = 0; i < sizeof(a); i++)
			cr_assert_eq(a[i], pattern(IMG_BYTES - 3500 + i));
		for (unsigned i = 0; i < 2500; i++)
			cr_assert_eq(b[i], pattern(IMG_BYTES - 2500 + i));
		cr_assert_geq(io.stats.resubmits, 1, "continued after the short read");
		cr_assert_eq(blk_io_busy(&io), 0);
		blk_io_destroy(&io);
	}
}
