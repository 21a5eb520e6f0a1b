/* SPDX-License-Identifier: MIT */
/*
 * blk_engine (make bench): virtio-blk's two I/O engines side by side, the
 * restricted io_uring against the synchronous one, device side only: the
 * unit tests' fake virtio driver (tests/unit/virtio_fake_driver.c) posts
 * 4 KiB random reads of a 1 MiB image in /tmp, one at a time and 16 at a
 * time, through the page cache and with cache=none (when /tmp takes
 * O_DIRECT). Microseconds per request, printed, never asserted.
 *
 * A criterion program because the fake driver reports its own failures
 * with criterion's assertions; `make bench` runs it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device-worker/host_io/blk_io.h"
#include "device-worker/models/virtio_blk.h"
#include "tests/unit/virtio_fake_driver.h"

#define IMG_SECTORS 2048u /* 1 MiB */
#define IMG_BYTES (IMG_SECTORS * 512u)

/* One engine on one image. */
struct bench_disk {
	struct fake_virtio f;
	char path[64];
	int fd;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void disk_open(struct bench_disk *d, const char *const *params)
{
	strcpy(d->path, "/tmp/squib-bench-blk-XXXXXX");
	d->fd = mkstemp(d->path);
	cr_assert(d->fd >= 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(ftruncate(d->fd, IMG_BYTES), 0);
	cr_assert_eq(fake_virtio_setup(&d->f, &virtio_blk_device_model, 1, d->fd, params), 0);
	cr_assert(fake_virtio_start(&d->f, FAKE_BLK_FEATURES));
}

static void disk_close(struct bench_disk *d)
{
	struct virtio_blk *blk = d->f.vd.ms;

	/* The model has no destructor (a worker just exits): release the engine here. */
	if (blk && blk->vd == &d->f.vd)
		blk_io_destroy(&blk->io);
	fake_virtio_teardown(&d->f);
	close(d->fd);
	unlink(d->path);
}

/* rounds x depth 4 KiB reads, depth at a time (one kick each); returns seconds. */
static double reads(struct bench_disk *d, unsigned rounds, unsigned depth)
{
	struct fake_virtio *f = &d->f;
	uint64_t bufs[32], slots = fake_alloc(f, 32 * 32);
	double t0;

	cr_assert(depth <= 32 && 3 * depth <= FAKE_QSIZE);
	for (unsigned i = 0; i < depth; i++)
		bufs[i] = fake_alloc(f, 4096);
	t0 = now_s();
	for (unsigned round = 0; round < rounds; round++) {
		for (unsigned i = 0; i < depth; i++) {
			struct fake_buf b3[3] = { { slots + 32ull * i, 16, false },
						  { bufs[i], 4096, true },
						  { slots + 32ull * i + 16, 1, true } };
			struct virtio_blk_req_hdr h = { .type = VIRTIO_BLK_T_IN,
							.sector = ((round * 7919u + i * 131u) % (IMG_SECTORS / 8)) * 8 };

			/* Header and status reuse fixed slots per position: no allocation per request. */
			memcpy(fake_ptr(f, b3[0].gpa), &h, sizeof(h));
			(void)fake_post(f, 0, b3, 3);
		}
		fake_kick(f, 0);
		for (unsigned done = 0, spins = 0; done < depth && spins < 100000; spins++) {
			uint32_t id, len;

			if (fake_used(f, 0, &id, &len))
				done++;
			else
				fake_poll(f, 10);
		}
	}
	return now_s() - t0;
}

/* One engine's figures: depth 1 and depth 16, microseconds per request. */
static void engine(const char *const *params, unsigned rounds, double *d1, double *d16)
{
	static struct bench_disk d; /* the fake driver's RAM and queues are large */

	memset(&d, 0, sizeof(d));
	disk_open(&d, params);
	*d1 = reads(&d, rounds * 4, 1) * 1e6 / (rounds * 4);
	*d16 = reads(&d, rounds, 16) * 1e6 / (rounds * 16);
	disk_close(&d);
}

Test(bench, blk_engine_io_uring_vs_sync, .timeout = 300)
{
	static const char *const uring[] = { "io=uring", NULL }, *const sync[] = { "io=sync", NULL };
	static const char *const uring_direct[] = { "io=uring", "cache=none", NULL };
	static const char *const sync_direct[] = { "io=sync", "cache=none", NULL };
	const unsigned rounds = 300;
	double u1, u16, s1, s16, ud1 = 0, ud16 = 0, sd1 = 0, sd16 = 0;
	const bool direct = fake_dir_takes_direct_io("/tmp");

	engine(uring, rounds, &u1, &u16);
	engine(sync, rounds, &s1, &s16);
	if (direct) {
		engine(uring_direct, rounds, &ud1, &ud16);
		engine(sync_direct, rounds, &sd1, &sd16);
	}
	printf("virtio-blk engines: 4 KiB random reads, device side only (fake driver), us/request\n"
	       "  page cache   io_uring: depth 1 %6.2f  depth 16 %6.2f | sync: depth 1 %6.2f  depth 16 %6.2f\n",
	       u1, u16, s1, s16);
	if (direct)
		printf("  cache=none   io_uring: depth 1 %6.2f  depth 16 %6.2f | sync: depth 1 %6.2f  depth 16 %6.2f\n",
		       ud1, ud16, sd1, sd16);
	else
		printf("  cache=none   not measured: /tmp does not take O_DIRECT\n");
	fflush(stdout);
}
