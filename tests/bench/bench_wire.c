// SPDX-License-Identifier: MIT
/*
 * bench-wire: nanoseconds per exit to encode and decode the wire messages of
 * a representative mix (proto/wire.h). Figures are printed, never asserted.
 *
 *   bench-wire [iterations]     (per case, default 4,000,000, in 5 rounds)
 *
 * Each case encodes a struct into a buffer and decodes it back, the work a
 * vCPU worker and a device worker do between them for one exit (or, for the
 * reply, for one read's answer). A checksum of the decoded fields keeps the
 * compiler from discarding the work.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/reply.h"
#include "proto/wire.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-wire: %s failed: %s\n", what, strerror(-rc));
	exit(1);
}

/* One exit encode+decode; the struct changes each time, as real exits do. */
static uint64_t run_exit(struct vm_wire_decoder *d, struct vm_exit *e, uint64_t iters)
{
	uint8_t buf[VM_WIRE_MAX];
	struct vm_exit out;
	uint64_t sum = 0, t0 = now_ns();
	size_t len;
	int rc;

	for (uint64_t i = 0; i < iters; i++) {
		if (e->kind == VM_EXIT_MMIO) {
			e->u.mmio.addr += 4;
			e->u.mmio.data[0] = (uint8_t)i;
		} else {
			e->u.pio.data[0] = (uint8_t)i;
		}
		rc = vm_exit_encode(e, buf, sizeof(buf), &len);
		if (rc)
			die("vm_exit_encode", rc);
		rc = vm_exit_decode(d, buf, len, &out);
		if (rc)
			die("vm_exit_decode", rc);
		sum += out.kind == VM_EXIT_MMIO ? out.u.mmio.addr + out.u.mmio.data[0] : out.u.pio.data[0];
	}
	sink += sum;
	return now_ns() - t0;
}

static uint64_t run_reply(struct vm_reply *r, uint64_t iters)
{
	uint8_t buf[VM_WIRE_MAX];
	struct vm_reply out;
	uint64_t sum = 0, t0 = now_ns();
	size_t len;
	int rc;

	for (uint64_t i = 0; i < iters; i++) {
		r->data[0] = (uint8_t)i;
		rc = vm_reply_pack(r, buf, sizeof(buf), &len);
		if (rc)
			die("vm_reply_pack", rc);
		rc = vm_reply_unpack(buf, len, &out);
		if (rc)
			die("vm_reply_unpack", rc);
		sum += out.data[0] + out.len;
	}
	sink += sum;
	return now_ns() - t0;
}

#define ROUNDS 5

struct result {
	const char *name;
	size_t bytes;
	uint64_t best; /* ns of the fastest round */
	uint64_t total;
};

static void account(struct result *r, uint64_t ns)
{
	if (r->best == 0 || ns < r->best)
		r->best = ns;
	r->total += ns;
}

static void report(const struct result *r, uint64_t per_round)
{
	printf("wire: %s encode+decode %.1f ns/exit (best of %d rounds; mean %.1f; %zu-byte message)\n",
	       r->name, (double)r->best / (double)per_round, ROUNDS,
	       (double)r->total / (double)(per_round * ROUNDS), r->bytes);
}

int main(int argc, char **argv)
{
	uint64_t iters = 4000000;
	struct vm_wire_decoder d;
	struct vm_exit mmio, pio;
	struct vm_reply reply;
	uint8_t buf[VM_WIRE_MAX];
	size_t mlen, plen, rlen;
	uint64_t per_round;
	int rc;

	if (argc > 1) {
		iters = strtoull(argv[1], NULL, 0);
		if (iters == 0) {
			fprintf(stderr, "usage: %s [iterations]\n", argv[0]);
			return 2;
		}
	}
	per_round = iters / ROUNDS ? iters / ROUNDS : 1;
	rc = vm_wire_decoder_init(&d);
	if (rc)
		die("vm_wire_decoder_init", rc);

	/* A 4-byte MMIO write to a device register page. */
	memset(&mmio, 0, sizeof(mmio));
	mmio.kind = VM_EXIT_MMIO;
	mmio.u.mmio.addr = 0xfe000000ULL;
	mmio.u.mmio.write = true;
	mmio.u.mmio.len = 4;
	mmio.u.mmio.data[1] = 0x5a;
	/* A 1-byte write to the UART's data port. */
	memset(&pio, 0, sizeof(pio));
	pio.kind = VM_EXIT_PIO;
	pio.u.pio.port = 0x3f8;
	pio.u.pio.write = true;
	pio.u.pio.len = 1;
	/* The reply to a 4-byte MMIO read. */
	memset(&reply, 0, sizeof(reply));
	reply.status = VM_REPLY_OK;
	reply.len = 4;
	reply.data[1] = 0x12;

	if ((rc = vm_exit_encode(&mmio, buf, sizeof(buf), &mlen)) ||
	    (rc = vm_exit_encode(&pio, buf, sizeof(buf), &plen)) ||
	    (rc = vm_reply_pack(&reply, buf, sizeof(buf), &rlen)))
		die("encode", rc);
	struct result res[3] = {
		{ .name = "mmio-write", .bytes = mlen },
		{ .name = "pio-write", .bytes = plen },
		{ .name = "mmio-read-reply", .bytes = rlen },
	};

	/* Warm caches and branch predictors. */
	run_exit(&d, &mmio, per_round / 10 + 1);
	run_exit(&d, &pio, per_round / 10 + 1);
	run_reply(&reply, per_round / 10 + 1);

	/* Interleaved rounds: a burst of load on a shared machine hits all cases alike. */
	for (int round = 0; round < ROUNDS; round++) {
		account(&res[0], run_exit(&d, &mmio, per_round));
		account(&res[1], run_exit(&d, &pio, per_round));
		account(&res[2], run_reply(&reply, per_round));
	}
	for (int i = 0; i < 3; i++)
		report(&res[i], per_round);
	printf("wire: mix encode+decode %.1f ns/exit (mean of the three bests; %llu iterations each)\n",
	       (double)(res[0].best + res[1].best + res[2].best) / (3.0 * (double)per_round),
	       (unsigned long long)(per_round * ROUNDS));

	vm_wire_decoder_fini(&d);
	return 0;
}
