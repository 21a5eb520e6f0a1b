/* SPDX-License-Identifier: MIT */
/* virtio-mmio v2 transport: probe, init, config space, interrupts, waiting. */
#include "barrier.h"
#include "check.h"
#include "cmdline.h"
#include "guest.h"
#include "idt.h"
#include "io.h"
#include "ioapic.h"
#include "lapic.h"
#include "testdev.h"
#include "virtio.h"

#define TICK_COUNT 3125000u /* 50 ms: divide 16 on KVM's 1 GHz APIC bus */
#define POLL_SPINS_PER_CLOCK 1024 /* polling: read the clock every this many idles */
#define RESET_TIMEOUT_NS 5000000000ull

static struct virtio_dev devs[VIRTIO_MMIO_SLOTS];
static unsigned ndevs;
static uint32_t probed;
static struct virtio_dev *by_slot[VIRTIO_MMIO_SLOTS];
static struct virtq_mem vq_mem[VIRTIO_MMIO_SLOTS][VIRTIO_MAX_QUEUES];
static uint32_t cpu_ticks[GUEST_MAX_CPUS];

void virtio_opts_from_cmdline(struct virtio_opts *o)
{
	uint64_t q = cmdline_get_u64("qsize", VIRTQ_MAX_SIZE);

	o->event_idx = cmdline_get_u64("event_idx", 1) != 0;
	o->indirect = cmdline_get_u64("indirect", 1) != 0;
	o->poll = cmdline_get_u64("poll", 0) != 0;
	if (q == 0 || q > VIRTQ_MAX_SIZE || (q & (q - 1))) {
		check_fail("qsize", "not a power of 2 in 1..256");
		q = VIRTQ_MAX_SIZE;
	}
	o->qsize = (uint16_t)q;
	o->timeout_ns = cmdline_get_u64("timeout", 30) * 1000000000ull;
}

uint32_t virtio_read(const struct virtio_dev *d, uint32_t reg)
{
	return mmio_read32(d->base + reg);
}

void virtio_write(const struct virtio_dev *d, uint32_t reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

uint32_t virtio_status(const struct virtio_dev *d)
{
	return virtio_read(d, VIRTIO_MMIO_STATUS);
}

const char *virtio_name(uint32_t device_id)
{
	static char other[VIRTIO_MMIO_SLOTS][16];

	switch (device_id) {
	case VIRTIO_ID_NET:
		return "net";
	case VIRTIO_ID_BLOCK:
		return "blk";
	case VIRTIO_ID_RNG:
		return "rng";
	}
	ksnprintf(other[device_id % VIRTIO_MMIO_SLOTS], sizeof(other[0]), "id%u", device_id);
	return other[device_id % VIRTIO_MMIO_SLOTS];
}

unsigned virtio_probe(void)
{
	if (probed)
		return ndevs;
	for (unsigned slot = 0; slot < VIRTIO_MMIO_SLOTS; slot++) {
		uint64_t base = VIRTIO_MMIO_SLOT_BASE(slot);
		uint32_t magic = mmio_read32(base + VIRTIO_MMIO_MAGIC);
		uint32_t version, id;
		struct virtio_dev *d;

		if (magic != VIRTIO_MMIO_MAGIC_VALUE) {
			if (magic != 0xffffffffu)
				kprintf("virtio: slot %u: magic 0x%x, neither virtio nor empty\n", slot, magic);
			continue;
		}
		version = mmio_read32(base + VIRTIO_MMIO_VERSION);
		id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
		if (version != VIRTIO_MMIO_VERSION_MODERN) {
			kprintf("virtio: slot %u: version %u, not 2: ignored\n", slot, version);
			continue;
		}
		if (id == 0)
			continue; /* a placeholder window */
		d = &devs[ndevs++];
		d->slot = slot;
		d->base = base;
		d->device_id = id;
		d->vendor_id = mmio_read32(base + VIRTIO_MMIO_VENDOR_ID);
		d->vector = (uint8_t)(VIRTIO_VECTOR_BASE + slot);
		by_slot[slot] = d;
	}
	atomic_store32(&probed, 1);
	return ndevs;
}

struct virtio_dev *virtio_find(uint32_t device_id, unsigned nth)
{
	virtio_probe();
	for (unsigned i = 0; i < ndevs; i++) {
		if (devs[i].device_id == device_id && nth-- == 0)
			return &devs[i];
	}
	return 0;
}

struct virtio_dev *virtio_device(unsigned i)
{
	return i < virtio_probe() ? &devs[i] : 0;
}

bool virtio_has(const struct virtio_dev *d, unsigned bit)
{
	return (d->features >> bit) & 1;
}

/* ---- interrupts ------------------------------------------------------------ */

static void virtio_isr(struct isr_frame *frame)
{
	unsigned slot = (unsigned)frame->vector - VIRTIO_VECTOR_BASE;
	struct virtio_dev *d = slot < VIRTIO_MMIO_SLOTS ? by_slot[slot] : 0;
	uint32_t st;

	if (d) {
		st = virtio_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
		if (st)
			virtio_write(d, VIRTIO_MMIO_INTERRUPT_ACK, st);
		__atomic_add_fetch(&d->irqs, 1, __ATOMIC_RELAXED);
		if (st & VIRTIO_MMIO_INT_VRING)
			__atomic_add_fetch(&d->vring_irqs, 1, __ATOMIC_RELAXED);
		if (st & VIRTIO_MMIO_INT_CONFIG)
			__atomic_add_fetch(&d->config_irqs, 1, __ATOMIC_RELAXED);
		if (!st)
			__atomic_add_fetch(&d->empty_irqs, 1, __ATOMIC_RELAXED);
	}
	/* Level-triggered: with the line still high, this EOI re-delivers. */
	lapic_eoi();
}

static void tick_isr(struct isr_frame *frame)
{
	(void)frame;
	__atomic_add_fetch(&cpu_ticks[this_cpu()], 1, __ATOMIC_RELAXED);
	lapic_eoi();
}

void virtio_cpu_init(void)
{
	idt_set_handler(VECTOR_TIMER, tick_isr);
	lapic_enable();
	lapic_timer_periodic(VECTOR_TIMER, TICK_COUNT);
}

static void route_irq(struct virtio_dev *d, bool poll)
{
	unsigned pin = VIRTIO_MMIO_SLOT_GSI(d->slot);

	if (poll) {
		ioapic_mask(pin);
		return;
	}
	idt_set_handler(d->vector, virtio_isr);
	d->irq_cpu = this_cpu();
	ioapic_route_level(pin, d->vector, (uint8_t)(lapic_read(LAPIC_REG_ID) >> 24));
}

/* ---- waiting --------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	return testdev_clock_ns();
}

/*
 * The deadline is set at the first clock look (first tick or 1024th spin),
 * not here: no hypercall per request on the fast path, and the timeout is
 * at most one tick late.
 */
void virtio_wait_begin(struct virtio_wait *w, const struct virtio_dev *d)
{
	(void)d;
	w->deadline_ns = 0;
	w->ticks = __atomic_load_n(&cpu_ticks[this_cpu()], __ATOMIC_RELAXED);
	w->spins = 0;
}

bool virtio_wait_idle(struct virtio_wait *w, const struct virtio_dev *d)
{
	unsigned cpu = this_cpu();
	uint64_t now;
	uint32_t t;

	if (!d->poll && !d->shared && d->irq_cpu == cpu) {
		/* sti's shadow: a pending interrupt is taken in hlt, not before it. */
		__asm__ __volatile__("sti\n\thlt\n\tcli" ::: "memory");
		t = __atomic_load_n(&cpu_ticks[cpu], __ATOMIC_RELAXED);
		if (t == w->ticks)
			return true; /* woken by the device: no clock read needed */
		w->ticks = t;
	} else {
		__asm__ __volatile__("sti\n\tnop\n\tcli" ::: "memory");
		cpu_relax();
		if (++w->spins % POLL_SPINS_PER_CLOCK)
			return true;
	}
	now = now_ns();
	if (!w->deadline_ns) {
		w->deadline_ns = now + d->timeout_ns;
		return true;
	}
	return now < w->deadline_ns;
}

/* ---- initialisation -------------------------------------------------------- */

bool virtio_reset(struct virtio_dev *d)
{
	uint64_t deadline;

	virtio_write(d, VIRTIO_MMIO_STATUS, 0);
	if (virtio_status(d) == 0)
		return true;
	deadline = now_ns() + RESET_TIMEOUT_NS;
	while (virtio_status(d) != 0) {
		if (now_ns() > deadline)
			return false;
		cpu_relax();
	}
	return true;
}

static void add_status(struct virtio_dev *d, uint32_t bits)
{
	virtio_write(d, VIRTIO_MMIO_STATUS, virtio_status(d) | bits);
}

static const char *fail(struct virtio_dev *d, const char *why)
{
	add_status(d, VIRTIO_STATUS_FAILED);
	return why;
}

static const char *setup_queue(struct virtio_dev *d, unsigned q, const struct virtio_opts *o)
{
	struct virtq *vq = &d->vq[q];
	uint32_t max;
	uint16_t size = o->qsize;

	virtio_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	if (virtio_read(d, VIRTIO_MMIO_QUEUE_READY) != 0)
		return "QueueReady is not 0 after reset";
	max = virtio_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0)
		return "QueueNumMax is 0: queue not available";
	while (size > max)
		size /= 2;
	virtq_init(vq, &vq_mem[d->slot][q], (uint16_t)q, size, virtio_has(d, VIRTIO_F_EVENT_IDX),
		   virtio_has(d, VIRTIO_F_INDIRECT_DESC), !o->poll, d->base + VIRTIO_MMIO_QUEUE_NOTIFY);
	virtio_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	virtio_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)virtq_desc_addr(vq));
	virtio_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(virtq_desc_addr(vq) >> 32));
	virtio_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)virtq_driver_addr(vq));
	virtio_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(virtq_driver_addr(vq) >> 32));
	virtio_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)virtq_device_addr(vq));
	virtio_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(virtq_device_addr(vq) >> 32));
	virtio_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	if (virtio_read(d, VIRTIO_MMIO_QUEUE_READY) != 1)
		return "QueueReady does not read back 1";
	return 0;
}

const char *virtio_start(struct virtio_dev *d, uint64_t wanted, unsigned nqueues,
			 const struct virtio_opts *o)
{
	uint64_t want = wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	const char *err;

	if (nqueues > VIRTIO_MAX_QUEUES)
		return "too many queues";
	d->poll = o->poll;
	d->timeout_ns = o->timeout_ns;
	d->nqueues = 0;
	if (!virtio_reset(d))
		return "Status does not read 0 after reset";
	route_irq(d, o->poll);
	add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(d, VIRTIO_STATUS_DRIVER);

	virtio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	d->offered = virtio_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	d->offered |= (uint64_t)virtio_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	if (!(d->offered & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		return fail(d, "VERSION_1 not offered");
	if (o->event_idx)
		want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (o->indirect)
		want |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	d->features = d->offered & want;
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	add_status(d, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_status(d) & VIRTIO_STATUS_FEATURES_OK))
		return fail(d, "FEATURES_OK did not stick: features refused");

	for (unsigned q = 0; q < nqueues; q++) {
		err = setup_queue(d, q, o);
		if (err)
			return fail(d, err);
		d->nqueues = q + 1;
	}
	if (d->starts == 0)
		kprintf("virtio: slot %u %s offered=0x%lx negotiated=0x%lx queues=%u size=%u %s\n", d->slot,
			virtio_name(d->device_id), d->offered, d->features, nqueues,
			nqueues ? d->vq[0].size : 0, o->poll ? "poll" : "irq");
	return 0;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	add_status(d, VIRTIO_STATUS_DRIVER_OK);
	d->starts++;
}

/* ---- configuration space --------------------------------------------------- */

static uint32_t generation(const struct virtio_dev *d)
{
	return virtio_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
}

uint8_t virtio_cfg8(const struct virtio_dev *d, uint32_t off)
{
	return mmio_read8(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint16_t virtio_cfg16(const struct virtio_dev *d, uint32_t off)
{
	return mmio_read16(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint32_t virtio_cfg32(const struct virtio_dev *d, uint32_t off)
{
	return mmio_read32(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint64_t virtio_cfg64(const struct virtio_dev *d, uint32_t off)
{
	uint32_t gen, lo, hi;

	do {
		gen = generation(d);
		lo = virtio_cfg32(d, off);
		hi = virtio_cfg32(d, off + 4);
	} while (generation(d) != gen);
	return (uint64_t)hi << 32 | lo;
}

void virtio_cfg_bytes(const struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t *p = buf;
	uint32_t gen;

	do {
		gen = generation(d);
		for (uint32_t i = 0; i < len; i++)
			p[i] = virtio_cfg8(d, off + i);
	} while (generation(d) != gen);
}

void virtio_fatal(const struct virtio_dev *d, const char *what)
{
	char why[160];

	ksnprintf(why, sizeof(why), "virtio slot %u %s: status 0x%x, in flight %u/%u, irqs %u%s", d->slot,
		  virtio_name(d->device_id), virtio_status(d), d->nqueues ? virtq_in_flight(&d->vq[0]) : 0,
		  d->nqueues > 1 ? virtq_in_flight(&d->vq[1]) : 0, d->irqs,
		  (d->nqueues && d->vq[0].broken) || (d->nqueues > 1 && d->vq[1].broken) ? ", bad used id" : "");
	check_fail(what, why);
	finish();
}

bool virtio_needs_reset(struct virtio_dev *d, uint32_t *config_seen, bool timed_out)
{
	uint32_t seen = __atomic_load_n(&d->config_irqs, __ATOMIC_RELAXED);

	if (!timed_out && seen == *config_seen)
		return false;
	*config_seen = seen;
	return (virtio_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0;
}
