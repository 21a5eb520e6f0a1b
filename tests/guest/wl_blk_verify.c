/* SPDX-License-Identifier: MIT */
/*
 * blk-verify [disk=0] [bs=4096] [qd=8] [passes=2] [seed=1] [sectors=N]:
 * [stalls=MS]
 * (passes=0: pass after pass until a byte is typed on the console, at least one;
 * stalls=MS: print each gap of at least MS ms between completions, needs --testdev)
 * on virtio-blk device `disk` (0-based among the blk devices), for each
 * pass p: write sectors [0, N) in bs-byte requests with the pattern of
 * blk_pattern.h (pass p, seed), keeping up to qd requests in flight; FLUSH
 * (when negotiated); read everything back the same way and compare every
 * sector with the pattern. N defaults to the whole disk, capped at 16384
 * sectors (8 MiB). Afterwards sectors [0, N) of the image hold the pattern
 * of the last pass (p = passes - 1). Prints
 *   ok blk-verify-open, ok blk-verify-capacity, ok blk-verify-get-id
 *   blk-verify: id=<GET_ID string, up to 20 bytes, non-printable as '?'>
 *   blk-verify: capacity=<sectors> sectors=<N> bs=<bs> qd=<qd> passes=<passes> seed=<seed>
 *   ok blk-verify-write-p<p>, ok blk-verify-flush-p<p>, ok blk-verify-read-p<p>  (each pass)
 *   ok blk-verify-used-len   every used length == bytes the device wrote
 *                            (read: data + 1 status byte; write: 1)
 *   blk-verify: <N> sectors verified in <passes> passes
 *   blk-verify: longest gap between completions <us> us, <n> stalls   (stalls=MS)
 * then PASS/FAILED. A wrong sector prints (for the first 8)
 *   FAIL blk-verify-data: sector <s> pass <p> byte <i>: expected 0x<e> got 0x<g>
 * and fails blk-verify-read-p<p>. flush is `ok` without FLUSH negotiated.
 */
#include "blk_pattern.h"
#include "blk_pipeline.h"
#include "check.h"
#include "cmdline.h"
#include "dma.h"
#include "guest.h"
#include "virtio_blk.h"
#include "workloads.h"

#define DEFAULT_SECTORS_CAP 16384 /* 8 MiB: quick even in a slow nested emulator */
#define MISMATCH_REPORTS 8

struct verify {
	uint64_t sectors;
	uint64_t pass;
	uint64_t seed;
	uint32_t type;
	uint64_t bad_status;
	uint64_t bad_sectors;
	uint64_t bad_used_len; /* used length != bytes written (data for IN, + 1 status byte) */
};

static void prepare(struct blk_pipeline *p, uint64_t op, struct blk_op *o, uint8_t *buf)
{
	struct verify *v = p->ctx;
	uint64_t first = op * (p->bs / BLK_SECTOR_SIZE);
	uint64_t count = v->sectors - first;

	if (count > p->bs / BLK_SECTOR_SIZE)
		count = p->bs / BLK_SECTOR_SIZE;
	o->type = v->type;
	o->sector = first;
	o->len = (uint32_t)(count * BLK_SECTOR_SIZE);
	if (v->type == VIRTIO_BLK_T_OUT) {
		for (uint64_t i = 0; i < count; i++)
			blk_pattern_fill(buf + i * BLK_SECTOR_SIZE, first + i, v->pass, v->seed);
	} else {
		memset(buf, 0xa5, o->len); /* stale data must not pass for read data */
	}
}

static void complete(struct blk_pipeline *p, const struct blk_op *o, const struct blk_req *r,
		     const uint8_t *buf)
{
	struct verify *v = p->ctx;
	uint8_t status = r->status;
	uint32_t written = (o->type == VIRTIO_BLK_T_IN ? o->len : 0) + 1;

	if (r->used_len != written && v->bad_used_len++ < MISMATCH_REPORTS)
		kprintf("FAIL blk-verify-used-len: %s sector %lu: used length %u, expected %u\n",
			o->type == VIRTIO_BLK_T_OUT ? "write" : "read", o->sector, r->used_len, written);
	if (status != VIRTIO_BLK_S_OK) {
		if (v->bad_status++ < MISMATCH_REPORTS)
			kprintf("FAIL blk-verify-status: %s sector %lu len %u: status %u\n",
				o->type == VIRTIO_BLK_T_OUT ? "write" : "read", o->sector, o->len, status);
		return;
	}
	if (o->type != VIRTIO_BLK_T_IN)
		return;
	for (uint64_t i = 0; i < o->len / BLK_SECTOR_SIZE; i++) {
		const uint8_t *sec = buf + i * BLK_SECTOR_SIZE;
		uint8_t want[BLK_PATTERN_SECTOR];
		int at = blk_pattern_check(sec, o->sector + i, v->pass, v->seed);

		if (at < 0)
			continue;
		if (v->bad_sectors++ < MISMATCH_REPORTS) {
			blk_pattern_fill(want, o->sector + i, v->pass, v->seed);
			kprintf("FAIL blk-verify-data: sector %lu pass %lu byte %d: expected 0x%x got 0x%x\n",
				o->sector + i, v->pass, at, want[at], sec[at]);
		}
	}
}

static void id_string(const uint8_t *id, char *out)
{
	unsigned i;

	for (i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++)
		out[i] = id[i] >= 0x20 && id[i] < 0x7f ? (char)id[i] : '?';
	out[i] = '\0';
}

static void get_id(struct blk_dev *b, const char *check_name, const char *prefix)
{
	struct blk_req *r = blk_reqs_alloc(1);
	uint8_t *id = dma_alloc(VIRTIO_BLK_ID_BYTES);
	char s[VIRTIO_BLK_ID_BYTES + 1];
	uint8_t st;

	if (!r || !id) {
		check_fail(check_name, "DMA arena too small");
		return;
	}
	st = blk_do(b, r, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
	check_eq(check_name, VIRTIO_BLK_S_OK, st);
	id_string(id, s);
	kprintf("%s: id=%s\n", prefix, s);
}

static void flush(struct blk_dev *b, const char *name)
{
	struct blk_req *r = blk_reqs_alloc(1);

	if (!virtio_has(b->vd, VIRTIO_BLK_F_FLUSH)) {
		check_eq(name, 0, 0);
		return;
	}
	check_eq(name, VIRTIO_BLK_S_OK, blk_do(b, r, VIRTIO_BLK_T_FLUSH, 0, 0, 0));
}

void wl_blk_verify(unsigned cpu)
{
	static struct blk_dev b;
	static struct blk_pipeline p;
	struct virtio_opts o;
	struct verify v;
	const char *err;
	uint64_t disk, bs, qd, passes, nops;
	char name[48];

	if (cpu != 0)
		return;
	memset(&v, 0, sizeof(v));
	disk = cmdline_get_u64("disk", 0);
	bs = cmdline_get_u64("bs", 4096);
	qd = cmdline_get_u64("qd", 8);
	passes = cmdline_get_u64("passes", 2);
	v.seed = cmdline_get_u64("seed", 1);
	virtio_opts_from_cmdline(&o);
	virtio_cpu_init();

	err = blk_open(&b, (unsigned)disk, &o);
	if (err) {
		check_fail("blk-verify-open", err);
		finish();
	}
	check_eq("blk-verify-open", 0, 0);
	check_ge("blk-verify-capacity", 1, b.capacity);
	get_id(&b, "blk-verify-get-id", "blk-verify");

	v.sectors = b.capacity < DEFAULT_SECTORS_CAP ? b.capacity : DEFAULT_SECTORS_CAP;
	v.sectors = cmdline_get_u64("sectors", v.sectors);
	if (v.sectors == 0 || v.sectors > b.capacity) {
		check_fail("sectors", "must be 1..capacity");
		finish();
	}
	if (bs > 0xffffffffull || (bs % b.blk_size)) {
		check_fail("bs", "must be a multiple of the device's blk_size");
		finish();
	}
	err = blk_pipeline_init(&p, &b, (unsigned)qd, (uint32_t)bs);
	if (err) {
		check_fail("blk-verify-params", err);
		finish();
	}
	p.ctx = &v;
	p.stall_ns = cmdline_get_u64("stalls", 0) * 1000000ull;
	kprintf("blk-verify: capacity=%lu sectors=%lu bs=%lu qd=%lu passes=%lu seed=%lu\n", b.capacity,
		v.sectors, bs, qd, passes, v.seed);
	nops = (v.sectors * BLK_SECTOR_SIZE + bs - 1) / bs;
	for (v.pass = 0; passes ? v.pass < passes : v.pass == 0 || !console_input_waiting(); v.pass++) {
		v.bad_status = 0;
		v.type = VIRTIO_BLK_T_OUT;
		blk_pipeline_run(&p, nops, prepare, complete);
		ksnprintf(name, sizeof(name), "blk-verify-write-p%lu", v.pass);
		check_eq(name, 0, v.bad_status);

		ksnprintf(name, sizeof(name), "blk-verify-flush-p%lu", v.pass);
		flush(&b, name);

		v.bad_status = 0;
		v.bad_sectors = 0;
		v.type = VIRTIO_BLK_T_IN;
		blk_pipeline_run(&p, nops, prepare, complete);
		ksnprintf(name, sizeof(name), "blk-verify-read-p%lu", v.pass);
		check_eq(name, 0, v.bad_status + v.bad_sectors);
	}
	check_eq("blk-verify-used-len", 0, v.bad_used_len);
	kprintf("blk-verify: %lu sectors verified in %lu passes\n", v.sectors, v.pass);
	if (p.stall_ns)
		kprintf("blk-verify: longest gap between completions %lu us, %lu stalls\n", p.longest_ns / 1000,
			p.stalls);
	finish();
}
