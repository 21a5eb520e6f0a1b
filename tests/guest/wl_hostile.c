/* SPDX-License-Identifier: MIT */
/*
 * hostile [dev=blk|rng|net] [wait=5]: malformed virtqueue requests must make
 * the device report DEVICE_NEEDS_RESET, and a reset must bring it back.
 * For every virtio device found (or only those of type dev), first
 *   ok hostile-<dev>-baseline   a well-formed request completes
 * then for each case below: reset and initialise the device (interrupts
 * on, EVENT_IDX and INDIRECT_DESC negotiated when offered), post the
 * malformed request on queue 0 (net: queue 1, transmit), notify, and poll
 * Status for DEVICE_NEEDS_RESET (0x40) for up to `wait` seconds; then
 * reset, initialise again and check that a well-formed request completes:
 *   ok hostile-<dev>-<case>
 * Cases (the "data" descriptor is blk's data buffer, rng's only buffer,
 * net's frame):
 *   loop             the chain's last descriptor links back to its head
 *   long             a chain through every descriptor of the queue whose last
 *                    links back to the head (longer than the queue only by
 *                    revisiting: a direct chain cannot be longer otherwise)
 *   indirect-long    an indirect table of 32769 chained descriptors, more
 *                    than any queue may have (virtio 1.2 2.7.5.3.1: no chain
 *                    longer than the queue size; a device may tolerate
 *                    tables longer than its own queue, as Linux builds them)
 *   addr-past-ram    data at the first address past guest RAM (rdx at boot)
 *   addr-wrap        data at 0xfffffffffffff000, length 0x2000
 *   zero-len         data length 0
 *   huge-len         data length 0xffffffff
 *   indirect-len     indirect table length not a multiple of 16
 *   indirect-oob     indirect table past guest RAM
 *   indirect-nested  an indirect table holding an INDIRECT descriptor
 *   avail-ahead      avail->idx queue size + 1 ahead of the device
 *   head-oob         an avail ring entry >= queue size
 *   next-oob         a next index >= queue size
 * The indirect cases print `ok hostile-<dev>-<case> # skipped: no
 * INDIRECT_DESC` when the device does not offer it. Finally
 *   ok hostile-<dev>-config-irq  every DEVICE_NEEDS_RESET came with a
 *                                configuration change interrupt
 *                                (InterruptStatus bit 1) within 1 s
 * then PASS/FAILED.
 */
#include "check.h"
#include "cmdline.h"
#include "dma.h"
#include "guest.h"
#include "net_frame.h"
#include "testdev.h"
#include "virtio_blk.h"
#include "virtio_net.h"
#include "workloads.h"

#define CONFIG_IRQ_WAIT_NS 1000000000ull
#define RNG_LEN 64
#define FRAME_LEN 60
#define HUGE_TABLE 32769u /* one more than the largest queue size (32768) */

enum hostile_case {
	C_LOOP,
	C_LONG,
	C_IND_LONG,
	C_ADDR_PAST_RAM,
	C_ADDR_WRAP,
	C_ZERO_LEN,
	C_HUGE_LEN,
	C_IND_LEN,
	C_IND_OOB,
	C_IND_NESTED,
	C_AVAIL_AHEAD,
	C_HEAD_OOB,
	C_NEXT_OOB,
	C_COUNT
};

static const struct {
	const char *name;
	bool indirect;
} cases[C_COUNT] = {
	[C_LOOP] = { "loop", false },
	[C_LONG] = { "long", false },
	[C_IND_LONG] = { "indirect-long", true },
	[C_ADDR_PAST_RAM] = { "addr-past-ram", false },
	[C_ADDR_WRAP] = { "addr-wrap", false },
	[C_ZERO_LEN] = { "zero-len", false },
	[C_HUGE_LEN] = { "huge-len", false },
	[C_IND_LEN] = { "indirect-len", true },
	[C_IND_OOB] = { "indirect-oob", true },
	[C_IND_NESTED] = { "indirect-nested", true },
	[C_AVAIL_AHEAD] = { "avail-ahead", false },
	[C_HEAD_OOB] = { "head-oob", false },
	[C_NEXT_OOB] = { "next-oob", false },
};

/* DMA memory shared by all devices (one device at a time). */
struct hostile_mem {
	struct virtio_blk_req_hdr *hdr;
	uint8_t *status;
	uint8_t *data;               /* 512 bytes: blk data, rng buffer, net header + frame */
	struct virtq_desc *table;    /* VIRTQ_MAX_SIZE entries */
	struct virtq_desc *huge;     /* HUGE_TABLE entries */
	struct virtq_desc *table2;   /* the nested table */
};

struct hostile_dev {
	struct virtio_dev *d;
	const char *name;
	unsigned q;                  /* queue under attack */
	unsigned nqueues;
	uint64_t wanted;
	struct virtq_buf tmpl[3];    /* the well-formed request */
	unsigned ntmpl;
	unsigned data_idx;           /* index of the data buffer in tmpl */
	uint32_t resets_seen;        /* cases that reached DEVICE_NEEDS_RESET */
	uint32_t config_irqs_seen;   /* ... with a configuration change interrupt */
};

static struct hostile_mem mem;
static struct virtio_opts opts;
static uint64_t wait_ns;

static bool alloc_mem(void)
{
	mem.hdr = dma_alloc(sizeof(*mem.hdr));
	mem.status = dma_alloc(1);
	mem.data = dma_alloc(BLK_SECTOR_SIZE);
	mem.table = dma_alloc(VIRTQ_MAX_SIZE * sizeof(struct virtq_desc));
	mem.huge = dma_alloc(HUGE_TABLE * sizeof(struct virtq_desc));
	mem.table2 = dma_alloc(4 * sizeof(struct virtq_desc));
	return mem.hdr && mem.status && mem.data && mem.table && mem.table2 && mem.huge;
}

/* The well-formed request of each device type. */
static void make_template(struct hostile_dev *h)
{
	h->ntmpl = 0;
	switch (h->d->device_id) {
	case VIRTIO_ID_BLOCK:
		*mem.hdr = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
		*mem.status = BLK_STATUS_UNSET;
		h->tmpl[h->ntmpl++] = (struct virtq_buf){ dma_addr(mem.hdr), sizeof(*mem.hdr), false };
		h->data_idx = h->ntmpl;
		h->tmpl[h->ntmpl++] = (struct virtq_buf){ dma_addr(mem.data), BLK_SECTOR_SIZE, true };
		h->tmpl[h->ntmpl++] = (struct virtq_buf){ dma_addr(mem.status), 1, true };
		break;
	case VIRTIO_ID_NET:
		memset(mem.data, 0, NET_HDR_LEN);
		net_frame_build(mem.data + NET_HDR_LEN, FRAME_LEN, (const uint8_t *)"\x02\x00\x00\x00\x00\x02", 0);
		h->tmpl[h->ntmpl++] = (struct virtq_buf){ dma_addr(mem.data), NET_HDR_LEN, false };
		h->data_idx = h->ntmpl;
		h->tmpl[h->ntmpl++] = (struct virtq_buf){ dma_addr(mem.data + NET_HDR_LEN), FRAME_LEN, false };
		break;
	default: /* rng, or anything taking device-writable buffers */
		h->data_idx = h->ntmpl;
		h->tmpl[h->ntmpl++] = (struct virtq_buf){ dma_addr(mem.data), RNG_LEN, true };
		break;
	}
}

static bool start(struct hostile_dev *h, char *why, size_t n)
{
	const char *err = virtio_start(h->d, h->wanted, h->nqueues, &opts);

	if (err) {
		ksnprintf(why, n, "initialisation: %s", err);
		return false;
	}
	virtio_driver_ok(h->d);
	return true;
}

/* Descriptors table[0..n-1] from bufs, linked in order. */
static void write_chain(struct virtq_desc *table, const struct virtq_buf *bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		table[i].addr = bufs[i].addr;
		table[i].len = bufs[i].len;
		table[i].flags = (uint16_t)((bufs[i].writable ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		table[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	}
}

/* Head 0 of the main table: an INDIRECT descriptor for table (n entries, len bytes). */
static void indirect_head(struct virtq *vq, const struct virtq_desc *table, uint32_t len)
{
	vq->desc[0] = (struct virtq_desc){ dma_addr(table), len, VIRTQ_DESC_F_INDIRECT, 0 };
}

/* Writes the malformed request of case c and makes it available. */
static void post_case(struct hostile_dev *h, enum hostile_case c)
{
	struct virtq *vq = &h->d->vq[h->q];
	struct virtq_buf b[3];
	unsigned n = h->ntmpl, last = n - 1;
	uint16_t size = vq->size;

	memcpy(b, h->tmpl, sizeof(b));
	switch (c) {
	case C_ADDR_PAST_RAM:
		b[h->data_idx].addr = boot.ram_size;
		break;
	case C_ADDR_WRAP:
		b[h->data_idx].addr = 0xfffffffffffff000ull;
		b[h->data_idx].len = 0x2000;
		break;
	case C_ZERO_LEN:
		b[h->data_idx].len = 0;
		break;
	case C_HUGE_LEN:
		b[h->data_idx].len = 0xffffffffu;
		break;
	default:
		break;
	}
	switch (c) {
	case C_LOOP:
		write_chain(vq->desc, b, n);
		vq->desc[last].flags |= VIRTQ_DESC_F_NEXT;
		vq->desc[last].next = 0;
		virtq_publish_raw(vq, 0);
		break;
	case C_LONG:
		/* Every descriptor of the queue in order, the last linking back to the first. */
		for (unsigned i = 0; i < size; i++) {
			const struct virtq_buf *src = i == 0 ? &b[0] : i == size - 1u ? &b[last] : &b[h->data_idx];

			vq->desc[i] = (struct virtq_desc){ src->addr, src->len,
				(uint16_t)((src->writable ? VIRTQ_DESC_F_WRITE : 0) | VIRTQ_DESC_F_NEXT),
				(uint16_t)((i + 1) % size) };
		}
		virtq_publish_raw(vq, 0);
		break;
	case C_IND_LONG:
		/* A table with more descriptors than the largest queue the spec allows. */
		for (unsigned i = 0; i < HUGE_TABLE; i++) {
			const struct virtq_buf *src = i == 0 ? &b[0] : i == HUGE_TABLE - 1 ? &b[last] : &b[h->data_idx];

			mem.huge[i] = (struct virtq_desc){ src->addr, src->len,
				(uint16_t)((src->writable ? VIRTQ_DESC_F_WRITE : 0) |
					   (i + 1 < HUGE_TABLE ? VIRTQ_DESC_F_NEXT : 0)),
				(uint16_t)(i + 1 < HUGE_TABLE ? i + 1 : 0) };
		}
		indirect_head(vq, mem.huge, HUGE_TABLE * (uint32_t)sizeof(struct virtq_desc));
		virtq_publish_raw(vq, 0);
		break;
	case C_IND_LEN:
		write_chain(mem.table, b, n);
		indirect_head(vq, mem.table, n * (uint32_t)sizeof(struct virtq_desc) + 8);
		virtq_publish_raw(vq, 0);
		break;
	case C_IND_OOB:
		indirect_head(vq, mem.table, n * (uint32_t)sizeof(struct virtq_desc));
		vq->desc[0].addr = boot.ram_size;
		virtq_publish_raw(vq, 0);
		break;
	case C_IND_NESTED:
		write_chain(mem.table, b, n);
		write_chain(mem.table2, &b[h->data_idx], 1);
		mem.table[h->data_idx].addr = dma_addr(mem.table2);
		mem.table[h->data_idx].len = sizeof(struct virtq_desc);
		mem.table[h->data_idx].flags = (uint16_t)((mem.table[h->data_idx].flags & VIRTQ_DESC_F_NEXT) |
							  VIRTQ_DESC_F_INDIRECT);
		indirect_head(vq, mem.table, n * (uint32_t)sizeof(struct virtq_desc));
		virtq_publish_raw(vq, 0);
		break;
	case C_AVAIL_AHEAD:
		write_chain(vq->desc, b, n);
		virtq_set_avail_idx_raw(vq, (uint16_t)(size + 1));
		break;
	case C_HEAD_OOB:
		write_chain(vq->desc, b, n);
		virtq_publish_raw(vq, size);
		break;
	case C_NEXT_OOB:
		write_chain(vq->desc, b, n);
		vq->desc[0].flags |= VIRTQ_DESC_F_NEXT;
		vq->desc[0].next = size;
		virtq_publish_raw(vq, 0);
		break;
	default: /* the address and length cases: a plain chain */
		write_chain(vq->desc, b, n);
		virtq_publish_raw(vq, 0);
		break;
	}
	virtq_notify(vq);
}

/* Polls Status (interrupts open) until mask is set or ns pass; returns the last status. */
static uint32_t wait_status(struct hostile_dev *h, uint32_t mask, uint64_t ns)
{
	uint64_t deadline = testdev_clock_ns() + ns;
	uint32_t st;

	for (unsigned i = 0;; i++) {
		st = virtio_status(h->d);
		if (st & mask)
			return st;
		__asm__ __volatile__("sti\n\tnop\n\tcli" ::: "memory");
		if (i % 64 == 63 && testdev_clock_ns() > deadline)
			return st;
	}
}

static bool wait_config_irq(struct hostile_dev *h, uint32_t before)
{
	uint64_t deadline = testdev_clock_ns() + CONFIG_IRQ_WAIT_NS;

	while (__atomic_load_n(&h->d->config_irqs, __ATOMIC_RELAXED) == before) {
		if (testdev_clock_ns() > deadline)
			return false;
		__asm__ __volatile__("sti\n\thlt\n\tcli" ::: "memory"); /* the 50 ms tick bounds it */
	}
	return true;
}

/* A well-formed request on the freshly started device; true when it completes correctly. */
static bool well_formed(struct hostile_dev *h, char *why, size_t n)
{
	struct virtq *vq = &h->d->vq[h->q];
	struct virtio_wait w;
	uint32_t len = 0;
	void *tok;
	static uint32_t token;

	make_template(h);
	if (virtq_add(vq, h->tmpl, h->ntmpl, &token) < 0) {
		ksnprintf(why, n, "could not add the request");
		return false;
	}
	virtq_kick(vq);
	virtio_wait_begin(&w, h->d);
	while (!(tok = virtq_get_used(vq, &len))) {
		if (vq->broken) {
			ksnprintf(why, n, "used id %u was not in flight", vq->bad_id);
			return false;
		}
		if (!virtio_wait_idle(&w, h->d)) {
			ksnprintf(why, n, "no completion (status 0x%x)", virtio_status(h->d));
			return false;
		}
	}
	switch (h->d->device_id) {
	case VIRTIO_ID_BLOCK:
		if (*mem.status != VIRTIO_BLK_S_OK) {
			ksnprintf(why, n, "blk status %u", *mem.status);
			return false;
		}
		break;
	case VIRTIO_ID_RNG:
		if (len == 0 || len > RNG_LEN) {
			ksnprintf(why, n, "rng used length %u", len);
			return false;
		}
		break;
	}
	return true;
}

static void run_case(struct hostile_dev *h, enum hostile_case c)
{
	char name[64], why[128];
	uint32_t before, st;

	ksnprintf(name, sizeof(name), "hostile-%s-%s", h->name, cases[c].name);
	if (!start(h, why, sizeof(why))) {
		check_fail(name, why);
		return;
	}
	if (cases[c].indirect && !virtio_has(h->d, VIRTIO_F_INDIRECT_DESC)) {
		kprintf("ok %s # skipped: no INDIRECT_DESC\n", name);
		return;
	}
	make_template(h);
	before = __atomic_load_n(&h->d->config_irqs, __ATOMIC_RELAXED);
	post_case(h, c);
	st = wait_status(h, VIRTIO_STATUS_DEVICE_NEEDS_RESET, wait_ns);
	if (!(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		ksnprintf(why, sizeof(why), "no DEVICE_NEEDS_RESET within %lu ms (status 0x%x)",
			  wait_ns / 1000000, st);
		check_fail(name, why);
		virtio_reset(h->d);
		return;
	}
	h->resets_seen++;
	if (wait_config_irq(h, before))
		h->config_irqs_seen++;
	if (!virtio_reset(h->d)) {
		check_fail(name, "Status does not read 0 after the reset");
		return;
	}
	if (!start(h, why, sizeof(why)) || !well_formed(h, why, sizeof(why))) {
		char full[160];

		ksnprintf(full, sizeof(full), "after the reset, a well-formed request: %s", why);
		check_fail(name, full);
		virtio_reset(h->d);
		return;
	}
	check_eq(name, 0, 0);
	virtio_reset(h->d);
}

static void attack(struct virtio_dev *d)
{
	struct hostile_dev h = { 0 };
	char name[64], why[128];

	h.d = d;
	h.name = virtio_name(d->device_id);
	h.q = d->device_id == VIRTIO_ID_NET ? NET_TX_QUEUE : 0;
	h.nqueues = d->device_id == VIRTIO_ID_NET ? 2 : 1;
	h.wanted = d->device_id == VIRTIO_ID_BLOCK ? BLK_WANTED_FEATURES :
		   d->device_id == VIRTIO_ID_NET   ? NET_WANTED_FEATURES : 0;

	ksnprintf(name, sizeof(name), "hostile-%s-baseline", h.name);
	if (!start(&h, why, sizeof(why)) || !well_formed(&h, why, sizeof(why)))
		check_fail(name, why);
	else
		check_eq(name, 0, 0);
	virtio_reset(d);

	for (unsigned c = 0; c < C_COUNT; c++)
		run_case(&h, (enum hostile_case)c);
	ksnprintf(name, sizeof(name), "hostile-%s-config-irq", h.name);
	check_eq(name, h.resets_seen, h.config_irqs_seen);
}

void wl_hostile(unsigned cpu)
{
	const char *only;
	unsigned found = 0;

	if (cpu != 0)
		return;
	only = cmdline_get("dev");
	wait_ns = cmdline_get_u64("wait", 5) * 1000000000ull;
	virtio_opts_from_cmdline(&opts);
	opts.poll = false;
	opts.indirect = true;
	virtio_cpu_init();
	if (!alloc_mem()) {
		check_fail("hostile", "DMA arena too small");
		finish();
	}
	for (unsigned i = 0; i < virtio_probe(); i++) {
		struct virtio_dev *d = virtio_device(i);

		if (only && strcmp(only, virtio_name(d->device_id)))
			continue;
		attack(d);
		found++;
	}
	if (!found)
		check_fail("hostile", only ? "no virtio device of that type" : "no virtio device");
	finish();
}
