/* SPDX-License-Identifier: MIT */
/*
 * virtio-smp [disk=0] [sectors=64] [iters=4] [seed=1]: every vCPU (up to
 * GUEST_MAX_CPUS) does I/O at once on the same devices, each virtqueue
 * shared under its spin lock. vCPU 0 starts virtio-blk device `disk` and
 * the first virtio-rng device if there is one (their interrupts go to
 * vCPU 0; nobody waits with hlt, since another vCPU may take one's
 * completion from the ring); then each vCPU c, iters times (iteration it):
 *   - writes its own region, sectors [c * sectors, (c + 1) * sectors), in
 *     4096-byte requests with the blk_pattern.h pattern (pass it, seed),
 *   - reads 256 bytes from the rng (when present),
 *   - reads its region back and compares it with the pattern.
 * Each vCPU prints `vcpu <c> ok` (or FAIL lines); vCPU 0 waits for all and
 * prints
 *   ok virtio-smp-blk     no request failed, every sector matched
 *   ok virtio-smp-rng     every vCPU got nonzero rng bytes (only with a rng)
 *   virtio-smp: <n> vCPUs, <b> blk requests, <r> rng requests
 * then PASS/FAILED. The disk needs n * sectors sectors. Driver parameters:
 * virtio.h.
 */
#include "blk_pattern.h"
#include "check.h"
#include "cmdline.h"
#include "dma.h"
#include "guest.h"
#include "virtio_blk.h"
#include "virtio_rng.h"
#include "workloads.h"

#define SMP_BLOCK 4096u
#define SMP_RNG_BYTES 256u

static struct blk_dev blk;
static struct rng_dev rng;
static bool have_rng;
static uint64_t sectors, iters, seed;
static uint32_t ready, done;
static uint32_t blk_failures, rng_failures;

struct smp_cpu {
	struct blk_req *req;
	uint8_t *data;    /* SMP_BLOCK bytes */
	uint8_t *entropy; /* SMP_RNG_BYTES bytes */
};
static struct smp_cpu per[GUEST_MAX_CPUS];

static bool setup(void)
{
	struct virtio_opts o;
	const char *err;
	uint64_t need;

	sectors = cmdline_get_u64("sectors", 64);
	iters = cmdline_get_u64("iters", 4);
	seed = cmdline_get_u64("seed", 1);
	virtio_opts_from_cmdline(&o);
	virtio_cpu_init();
	err = blk_open(&blk, (unsigned)cmdline_get_u64("disk", 0), &o);
	if (err) {
		check_fail("virtio-smp-open", err);
		return false;
	}
	blk.vd->shared = true;
	if (virtio_find(VIRTIO_ID_RNG, 0)) {
		err = rng_open(&rng, 0, &o);
		if (err) {
			check_fail("virtio-smp-rng-open", err);
			return false;
		}
		rng.vd->shared = true;
		have_rng = true;
	}
	need = boot.ncpus_used * sectors;
	if (sectors == 0 || need > blk.capacity) {
		check_fail("virtio-smp-sectors", "n vCPUs * sectors must be 1..capacity");
		return false;
	}
	for (unsigned c = 0; c < boot.ncpus_used; c++) {
		per[c].req = blk_reqs_alloc(1);
		per[c].data = dma_alloc(SMP_BLOCK);
		per[c].entropy = dma_alloc(SMP_RNG_BYTES);
		if (!per[c].req || !per[c].data || !per[c].entropy) {
			check_fail("virtio-smp-dma", "DMA arena too small");
			return false;
		}
	}
	return true;
}

/* Writes or reads-and-checks the region of cpu in pass it; returns failures. */
static uint64_t region_pass(unsigned cpu, uint64_t it, bool write)
{
	struct smp_cpu *me = &per[cpu];
	uint64_t first = cpu * sectors, end = first + sectors, bad = 0;

	for (uint64_t s = first; s < end; s += SMP_BLOCK / BLK_SECTOR_SIZE) {
		uint64_t n = end - s < SMP_BLOCK / BLK_SECTOR_SIZE ? end - s : SMP_BLOCK / BLK_SECTOR_SIZE;
		uint32_t len = (uint32_t)(n * BLK_SECTOR_SIZE);
		uint8_t st;

		if (write) {
			for (uint64_t i = 0; i < n; i++)
				blk_pattern_fill(me->data + i * BLK_SECTOR_SIZE, s + i, it, seed);
		} else {
			memset(me->data, 0xa5, len);
		}
		st = blk_do(&blk, me->req, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, s, me->data, len);
		if (st != VIRTIO_BLK_S_OK) {
			kprintf("FAIL virtio-smp-status: vcpu %u %s sector %lu: status %u\n", cpu,
				write ? "write" : "read", s, st);
			bad++;
			continue;
		}
		for (uint64_t i = 0; !write && i < n; i++) {
			int at = blk_pattern_check(me->data + i * BLK_SECTOR_SIZE, s + i, it, seed);

			if (at >= 0 && bad++ < 4)
				kprintf("FAIL virtio-smp-data: vcpu %u sector %lu pass %lu byte %d\n", cpu, s + i, it,
					at);
		}
	}
	return bad;
}

void wl_virtio_smp(unsigned cpu)
{
	const uint32_t n = (uint32_t)boot.ncpus_used;
	uint64_t blk_bad = 0;
	bool rng_nonzero = false;

	if (cpu == 0) {
		if (!setup())
			finish();
		atomic_store32(&ready, 1);
	} else {
		wait_until_at_least(&ready, 1);
	}

	for (uint64_t it = 0; it < iters; it++) {
		blk_bad += region_pass(cpu, it, true);
		if (have_rng) {
			uint32_t got = rng_request(&rng, per[cpu].entropy, SMP_RNG_BYTES);

			for (uint32_t i = 0; i < got; i++)
				rng_nonzero |= per[cpu].entropy[i] != 0;
		}
		blk_bad += region_pass(cpu, it, false);
	}
	if (blk_bad)
		atomic_inc32(&blk_failures);
	if (have_rng && iters && !rng_nonzero) {
		kprintf("FAIL virtio-smp-rng: vcpu %u got only zero bytes\n", cpu);
		atomic_inc32(&rng_failures);
	}
	if (!blk_bad && (!have_rng || !iters || rng_nonzero))
		kprintf("vcpu %u ok\n", cpu);
	atomic_inc32(&done);
	if (cpu != 0)
		return;
	wait_until_at_least(&done, n);
	check_eq("virtio-smp-blk", 0, atomic_load32(&blk_failures));
	if (have_rng)
		check_eq("virtio-smp-rng", 0, atomic_load32(&rng_failures));
	kprintf("virtio-smp: %u vCPUs, %lu blk requests, %lu rng requests\n", n, blk.requests,
		have_rng ? rng.requests : 0);
	finish();
}
