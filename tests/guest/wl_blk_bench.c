/* SPDX-License-Identifier: MIT */
/*
 * blk-bench [disk=0] [mode=seqread|seqwrite|randread] [bs=4096] [qd=8]
 *           [bytes=8388608] [seed=1]
 * Throughput of virtio-blk device `disk`, up to qd requests of bs bytes in
 * flight, bytes / bs operations over the whole disk (sequential ones wrap
 * around; randread picks bs-aligned blocks with xorshift64 from seed).
 * seqwrite overwrites the disk (with zeroes). Timed with hypercall 2 from
 * the first submission to the last completion, then one line
 *   bench blk-<mode> bytes=<B> ns=<T> MBps=<x.xxx> iops=<y> ops=<n>
 *   blk-bench: irqs=<interrupts> kicks=<QueueNotify writes> kicks_skipped=<suppressed>
 * (MB = 10^6 bytes, integer arithmetic) and exit 0; a request that fails
 * prints `FAIL blk-bench: ...` and exits 1 (FAILED). Driver parameters:
 * virtio.h (event_idx, indirect, poll, qsize, timeout).
 */
#include "bench_rate.h"
#include "blk_pipeline.h"
#include "check.h"
#include "cmdline.h"
#include "guest.h"
#include "testdev.h"
#include "virtio_blk.h"
#include "workloads.h"
#include "xorshift.h"

#define BENCH_BYTES_MAX 1000000000000ull /* keeps the rate arithmetic in 64 bits */

enum bench_mode { SEQREAD, SEQWRITE, RANDREAD };

struct bench {
	enum bench_mode mode;
	uint64_t blocks;      /* bs-sized blocks on the disk */
	uint64_t rng;
	uint64_t errors;
};

static void prepare(struct blk_pipeline *p, uint64_t op, struct blk_op *o, uint8_t *buf)
{
	struct bench *bn = p->ctx;
	uint64_t block = bn->mode == RANDREAD ? xorshift64(&bn->rng) % bn->blocks : op % bn->blocks;

	(void)buf;
	o->type = bn->mode == SEQWRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	o->sector = block * (p->bs / BLK_SECTOR_SIZE);
	o->len = p->bs;
}

static void complete(struct blk_pipeline *p, const struct blk_op *o, const struct blk_req *r,
		     const uint8_t *buf)
{
	struct bench *bn = p->ctx;

	(void)buf;
	if (r->status != VIRTIO_BLK_S_OK && bn->errors++ == 0)
		kprintf("FAIL blk-bench: sector %lu: status %u\n", o->sector, r->status);
}

void wl_blk_bench(unsigned cpu)
{
	static struct blk_dev b;
	static struct blk_pipeline p;
	static const char *const names[] = { "seqread", "seqwrite", "randread" };
	struct virtio_opts o;
	struct bench bn = { 0 };
	const char *mode, *err;
	uint64_t bs, qd, bytes, ops, t0, t1, ns, total;

	if (cpu != 0)
		return;
	mode = cmdline_get("mode");
	if (!mode || !strcmp(mode, "seqread"))
		bn.mode = SEQREAD;
	else if (!strcmp(mode, "seqwrite"))
		bn.mode = SEQWRITE;
	else if (!strcmp(mode, "randread"))
		bn.mode = RANDREAD;
	else {
		check_fail("mode", "not seqread, seqwrite or randread");
		finish();
	}
	bs = cmdline_get_u64("bs", 4096);
	qd = cmdline_get_u64("qd", 8);
	bytes = cmdline_get_u64("bytes", 8u << 20);
	bn.rng = cmdline_get_u64("seed", 1);
	if (bn.rng == 0)
		bn.rng = 1; /* xorshift64 would stay at 0 */
	if (bytes > BENCH_BYTES_MAX)
		bytes = BENCH_BYTES_MAX;
	virtio_opts_from_cmdline(&o);
	virtio_cpu_init();

	err = blk_open(&b, (unsigned)cmdline_get_u64("disk", 0), &o);
	if (!err && bs > 0xffffffffull)
		err = "bs too large";
	if (!err)
		err = blk_pipeline_init(&p, &b, (unsigned)qd, (uint32_t)bs);
	if (!err && b.capacity * BLK_SECTOR_SIZE < bs)
		err = "disk smaller than one block";
	if (!err && bn.mode == SEQWRITE && b.ro)
		err = "seqwrite on a read-only disk";
	if (err) {
		check_fail("blk-bench", err);
		finish();
	}
	p.ctx = &bn;
	bn.blocks = b.capacity * BLK_SECTOR_SIZE / bs;
	ops = bytes / bs ? bytes / bs : 1;

	t0 = testdev_clock_ns();
	blk_pipeline_run(&p, ops, prepare, complete);
	t1 = testdev_clock_ns();
	if (bn.errors) {
		kprintf("FAIL blk-bench: %lu of %lu requests failed\n", bn.errors, ops);
		check_fail("blk-bench", "requests failed");
		finish();
	}
	ns = t1 - t0;
	total = ops * bs;
	kprintf("bench blk-%s bytes=%lu ns=%lu MBps=%lu.%03lu iops=%lu ops=%lu\n", names[bn.mode], total, ns,
		mbps_milli(total, ns) / 1000, mbps_milli(total, ns) % 1000, rate_per_s(ops, ns), ops);
	kprintf("blk-bench: irqs=%u kicks=%lu kicks_skipped=%lu\n", b.vd->irqs, b.vq->kicks, b.vq->kicks_skipped);
	testdev_exit(0);
}
