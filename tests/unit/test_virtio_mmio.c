/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio version 2 transport (device-worker/virtio/virtio_mmio.c) and the
 * device-state region validator (device-worker/virtio/virtio_state.h): the Linux
 * probe sequence, every register policy, hostile-state validation, and a
 * randomized register fuzz that must keep the state valid.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "device-worker/virtio/virtio_mmio.h"
#include "device-worker/virtio/virtio_state.h"

#define RAM_SIZE (1ull << 20)
#define DEV_ID 2u /* block */
#define DEV_FEATURES ((1ull << 6) | (1ull << 9) | VIRTIO_FEAT_INDIRECT_DESC | VIRTIO_FEAT_EVENT_IDX)
#define OFFERED (DEV_FEATURES | VIRTIO_FEAT_VERSION_1)
#define NQUEUES 2u
#define NUM_MAX 128u
#define CONFIG_LEN 60u

#define ACK VIRTIO_STATUS_ACKNOWLEDGE
#define DRV VIRTIO_STATUS_DRIVER
#define FOK VIRTIO_STATUS_FEATURES_OK
#define DOK VIRTIO_STATUS_DRIVER_OK

/* Queue q's rings: desc, driver, device. */
static const uint64_t ring_addr[NQUEUES][3] = {
	{ 0x10000, 0x11000, 0x12000 },
	{ 0x20000, 0x21000, 0x22000 },
};

static void dev_init(struct virtio_state *st)
{
	virtio_mmio_init(st, DEV_ID, DEV_FEATURES, NQUEUES, NUM_MAX, CONFIG_LEN);
	virtio_mmio_set_ram_size(st, RAM_SIZE);
	for (unsigned i = 0; i < CONFIG_LEN; i++)
		st->config[i] = (uint8_t)(i + 1);
}

/* A 32-bit register write that must be well-formed; returns its effects. */
static struct virtio_mmio_effects wr(struct virtio_state *st, uint64_t off, uint32_t value)
{
	struct virtio_mmio_effects fx;

	cr_assert_eq(virtio_mmio_write(st, off, 4, value, &fx), 0, "write 0x%llx", (unsigned long long)off);
	return fx;
}

static uint32_t rd(const struct virtio_state *st, uint64_t off)
{
	return virtio_mmio_read(st, off, 4);
}

/* Linux's add_status(): read-modify-write. */
static struct virtio_mmio_effects add_status(struct virtio_state *st, uint32_t bits)
{
	return wr(st, VIRTIO_MMIO_REG_STATUS, rd(st, VIRTIO_MMIO_REG_STATUS) | bits);
}

static void write_driver_features(struct virtio_state *st, uint64_t f)
{
	wr(st, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	wr(st, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(st, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	wr(st, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)f);
}

static void write_addr(struct virtio_state *st, uint32_t low_reg, uint64_t addr)
{
	wr(st, low_reg, (uint32_t)addr);
	wr(st, low_reg + 4, (uint32_t)(addr >> 32));
}

/* vm_setup_vq() without QueueReady. */
static void setup_queue(struct virtio_state *st, unsigned q, uint32_t num, uint64_t desc, uint64_t driver,
			uint64_t device)
{
	wr(st, VIRTIO_MMIO_REG_QUEUE_SEL, q);
	wr(st, VIRTIO_MMIO_REG_QUEUE_NUM, num);
	write_addr(st, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, desc);
	write_addr(st, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, driver);
	write_addr(st, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, device);
}

/* Up to FEATURES_OK with the given driver features; returns the Status write's effects. */
static struct virtio_mmio_effects negotiate(struct virtio_state *st, uint64_t features)
{
	wr(st, VIRTIO_MMIO_REG_STATUS, 0);
	add_status(st, ACK);
	add_status(st, DRV);
	write_driver_features(st, features);
	return add_status(st, FOK);
}

/* The whole probe: FEATURES_OK, both queues ready, DRIVER_OK. */
static void full_probe(struct virtio_state *st)
{
	struct virtio_mmio_effects fx;

	fx = negotiate(st, OFFERED);
	cr_assert_eq(fx.flags, 0);
	for (unsigned q = 0; q < NQUEUES; q++) {
		setup_queue(st, q, NUM_MAX, ring_addr[q][0], ring_addr[q][1], ring_addr[q][2]);
		fx = wr(st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_QUEUE_READY, "queue %u flags 0x%x", q, fx.flags);
	}
	fx = add_status(st, DOK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_DRIVER_OK);
}

static void assert_valid(const struct virtio_state *st)
{
	const char *why = NULL;
	int rc = virtio_state_validate(st, RAM_SIZE, &why);

	cr_assert_eq(rc, 0, "validate: %s", why ? why : "(null)");
	cr_assert_null(why);
}

/* ---- the probe sequence ---------------------------------------------------- */

Test(virtio_mmio, linux_probe_sequence)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;
	uint64_t features;

	dev_init(&st);
	assert_valid(&st);

	/* vm_probe() */
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_MAGIC), 0x74726976);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_VERSION), 2);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DEVICE_ID), DEV_ID);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_VENDOR_ID), 0x53515542);

	/* register_virtio_device(): reset, ACKNOWLEDGE */
	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_RESET);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), 0);
	fx = add_status(&st, ACK);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK);

	/* virtio_dev_probe(): DRIVER, features */
	fx = add_status(&st, DRV);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV);
	wr(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	features = (uint64_t)rd(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES) << 32;
	wr(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	features |= rd(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES);
	cr_assert_eq(features, OFFERED, "offered 0x%llx", (unsigned long long)features);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES), (uint32_t)OFFERED);

	write_driver_features(&st, features & ~(1ull << 6));
	cr_assert_eq(st.driver_features, OFFERED & ~(1ull << 6));
	fx = add_status(&st, FOK);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK, "FEATURES_OK reads back");

	/* vm_find_vqs() */
	for (unsigned q = 0; q < NQUEUES; q++) {
		wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, q);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), 0);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_NUM_MAX), NUM_MAX);
		setup_queue(&st, q, NUM_MAX, ring_addr[q][0], ring_addr[q][1], ring_addr[q][2]);
		fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_QUEUE_READY);
		cr_assert_eq(fx.queue, q);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), 1);
		cr_assert_eq(st.queues[q].num, NUM_MAX);
		cr_assert_eq(st.queues[q].desc_addr, ring_addr[q][0]);
		cr_assert_eq(st.queues[q].driver_addr, ring_addr[q][1]);
		cr_assert_eq(st.queues[q].device_addr, ring_addr[q][2]);
		cr_assert_not(virtio_mmio_queue_live(&st, q), "not live before DRIVER_OK");
	}

	fx = add_status(&st, DOK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_DRIVER_OK);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK | DOK);
	cr_assert(virtio_mmio_queue_live(&st, 0));
	cr_assert(virtio_mmio_queue_live(&st, 1));
	cr_assert_not(virtio_mmio_queue_live(&st, 2));
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	assert_valid(&st);
}

/* ---- features ---------------------------------------------------------------- */

Test(virtio_mmio, features_ok_refused_for_unknown_feature)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	fx = negotiate(&st, OFFERED | (1ull << 3));
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_FEATURES_REFUSED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV, "FEATURES_OK stays clear");
	assert_valid(&st);

	/* A feature the transport strips, even if the model asked for it. */
	virtio_mmio_init(&st, DEV_ID, DEV_FEATURES | VIRTIO_FEAT_RING_PACKED, NQUEUES, NUM_MAX, CONFIG_LEN);
	virtio_mmio_set_ram_size(&st, RAM_SIZE);
	cr_assert_eq(st.device_features, OFFERED);
	fx = negotiate(&st, OFFERED | VIRTIO_FEAT_RING_PACKED);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_FEATURES_REFUSED);

	/* The driver may retry with an acceptable set (FEATURES_OK was never set). */
	write_driver_features(&st, OFFERED);
	fx = add_status(&st, FOK);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK);
}

Test(virtio_mmio, features_ok_refused_without_version_1)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	fx = negotiate(&st, DEV_FEATURES);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_FEATURES_REFUSED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS) & FOK, 0);
	/* Nothing at all is also refused. */
	fx = negotiate(&st, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_FEATURES_REFUSED);
	/* VERSION_1 alone is fine. */
	fx = negotiate(&st, VIRTIO_FEAT_VERSION_1);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK);
	assert_valid(&st);
}

Test(virtio_mmio, features_ok_needs_acknowledge_and_driver)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	write_driver_features(&st, OFFERED);
	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, FOK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_FEATURES_REFUSED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), 0);
	/* All three in one write is in order. */
	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, ACK | DRV | FOK);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK);
}

Test(virtio_mmio, driver_ok_needs_features_ok)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	wr(&st, VIRTIO_MMIO_REG_STATUS, ACK | DRV);
	fx = add_status(&st, DOK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV);
	/* Refused FEATURES_OK in the same write takes DRIVER_OK down with it. */
	write_driver_features(&st, DEV_FEATURES);
	fx = add_status(&st, FOK | DOK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_FEATURES_REFUSED | VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV);
	/* Accepted FEATURES_OK and DRIVER_OK in one write. */
	write_driver_features(&st, OFFERED);
	fx = add_status(&st, FOK | DOK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_DRIVER_OK);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK | DOK);
	/* Setting it again reports nothing new. */
	fx = add_status(&st, DOK);
	cr_assert_eq(fx.flags, 0);
	assert_valid(&st);
}

Test(virtio_mmio, driver_features_selectors_and_freeze)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES, 0xdeadbeef);
	cr_assert_eq(st.driver_features, 0xdeadbeefull);
	wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES, 0x12345678);
	cr_assert_eq(st.driver_features, 0x12345678deadbeefull);
	wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 2);
	fx = wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES, 0xffffffff);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(st.driver_features, 0x12345678deadbeefull);
	/* DriverFeatures is write-only. */
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES), 0);

	/* DeviceFeatures for selectors past 1 reads 0. */
	wr(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES), 1);
	wr(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES), 0);
	wr(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0xffffffff);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES), 0);

	/* After FEATURES_OK the accepted set is frozen. */
	negotiate(&st, OFFERED);
	wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	fx = wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES, 0xffffffff);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(st.driver_features, OFFERED);
	assert_valid(&st);
}

/* ---- status ------------------------------------------------------------------ */

Test(virtio_mmio, status_bits_are_sticky_and_device_bits_not_writable)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	negotiate(&st, OFFERED);
	/* Clearing a bit other than by reset is ignored. */
	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, ACK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK);
	/* DEVICE_NEEDS_RESET and undefined bits cannot be set by the driver. */
	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, ACK | DRV | FOK | VIRTIO_STATUS_NEEDS_RESET | 0x30 | 0x100);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK);
	/* FAILED can be set. */
	fx = add_status(&st, VIRTIO_STATUS_FAILED);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK | VIRTIO_STATUS_FAILED);
	assert_valid(&st);
}

Test(virtio_mmio, reset_clears_everything_the_spec_says)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;
	uint32_t gen;

	dev_init(&st);
	full_probe(&st);
	virtio_mmio_config_changed(&st, NULL);
	gen = rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION);
	virtio_mmio_interrupt(&st, VIRTIO_MMIO_IRQ_USED, NULL);
	st.queues[0].last_avail_idx = 5;
	st.queues[0].used_idx = 3;
	cr_assert(virtio_state_inflight_set(&st, 0, 9));
	cr_assert(virtio_state_inflight_set(&st, 0, 10));
	wr(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	wr(&st, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, 1);
	assert_valid(&st);

	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_RESET | VIRTIO_MMIO_FX_LOWER_IRQ);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	cr_assert_eq(st.driver_features, 0);
	cr_assert_eq(st.device_features_sel, 0);
	cr_assert_eq(st.driver_features_sel, 0);
	cr_assert_eq(st.queue_sel, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DEVICE_FEATURES), (uint32_t)OFFERED, "selector back to 0");
	for (unsigned q = 0; q < NQUEUES; q++) {
		const struct virtio_queue_state *vq = &st.queues[q];

		wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, q);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), 0);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_NUM_MAX), NUM_MAX, "identity kept");
		cr_assert_eq(vq->num, 0);
		cr_assert_eq(vq->desc_addr, 0);
		cr_assert_eq(vq->driver_addr, 0);
		cr_assert_eq(vq->device_addr, 0);
		cr_assert_eq(vq->last_avail_idx, 0);
		cr_assert_eq(vq->used_idx, 0);
		for (unsigned h = 0; h < VIRTIO_STATE_QUEUE_SIZE_MAX; h++)
			cr_assert_not(virtio_state_inflight_test(&st, q, h));
		cr_assert_not(virtio_mmio_queue_live(&st, q));
	}
	/* Identity, config space and generation survive. */
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_DEVICE_ID), DEV_ID);
	cr_assert_eq(st.device_features, OFFERED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION), gen);
	cr_assert_eq(virtio_mmio_read(&st, VIRTIO_MMIO_REG_CONFIG, 1), 1);
	assert_valid(&st);

	/* A reset with no interrupt pending does not ask for the line to drop. */
	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_RESET);

	/* And the device probes again from scratch. */
	full_probe(&st);
	assert_valid(&st);
}

/* ---- queues ------------------------------------------------------------------- */

Test(virtio_mmio, queue_registers_ignored_while_ready)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;
	static const uint32_t regs[] = {
		VIRTIO_MMIO_REG_QUEUE_NUM,         VIRTIO_MMIO_REG_QUEUE_DESC_LOW,
		VIRTIO_MMIO_REG_QUEUE_DESC_HIGH,   VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW,
		VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW,
		VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH,
	};

	dev_init(&st);
	full_probe(&st);
	wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, 1);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		fx = wr(&st, regs[i], 0x40);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED, "reg 0x%x", regs[i]);
	}
	cr_assert_eq(st.queues[1].num, NUM_MAX);
	cr_assert_eq(st.queues[1].desc_addr, ring_addr[1][0]);
	cr_assert_eq(st.queues[1].driver_addr, ring_addr[1][1]);
	cr_assert_eq(st.queues[1].device_addr, ring_addr[1][2]);
	/* QueueReady = 1 again on a ready queue changes nothing, not even indices. */
	st.queues[1].last_avail_idx = 4;
	st.queues[1].used_idx = 2;
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(st.queues[1].last_avail_idx, 4);
	cr_assert_eq(st.queues[1].used_idx, 2);
	/* Queue 0 was untouched by all of it. */
	cr_assert_eq(st.queues[0].desc_addr, ring_addr[0][0]);
	assert_valid(&st);
}

Test(virtio_mmio, queue_num_max_zero_for_missing_queue)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;
	static const uint32_t sels[] = { NQUEUES, 7, 8, 9, 0xffff, 0xffffffff };

	dev_init(&st);
	negotiate(&st, OFFERED);
	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, sels[i]);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_NUM_MAX), 0, "QueueSel %u", sels[i]);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), 0);
		fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NUM, 8);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
		fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 0x1000);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
		fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
		assert_valid(&st); /* entries past nqueues stay zero */
	}
	/* Every queue that exists offers NUM_MAX. */
	for (unsigned q = 0; q < NQUEUES; q++) {
		wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, q);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_NUM_MAX), NUM_MAX);
	}
}

/* Sets queue 0 up with the given values and tries QueueReady = 1; returns the effects. */
static struct virtio_mmio_effects try_ready(struct virtio_state *st, uint32_t num, uint64_t desc,
					    uint64_t driver, uint64_t device)
{
	wr(st, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	wr(st, VIRTIO_MMIO_REG_QUEUE_READY, 0);
	setup_queue(st, 0, num, desc, driver, device);
	return wr(st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
}

Test(virtio_mmio, queue_ready_policy)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;
	const uint64_t top = RAM_SIZE;
	struct {
		const char *what;
		uint32_t num;
		uint64_t desc, driver, device;
		bool ok;
	} cases[] = {
		{ "good", 128, 0x1000, 0x2000, 0x3000, true },
		{ "num 1", 1, 0x1000, 0x2000, 0x3000, true },
		{ "num 0", 0, 0x1000, 0x2000, 0x3000, false },
		{ "num not a power of two", 100, 0x1000, 0x2000, 0x3000, false },
		{ "num above max", 256, 0x1000, 0x2000, 0x3000, false },
		{ "num huge", 0x10000, 0x1000, 0x2000, 0x3000, false },
		{ "desc misaligned", 128, 0x1008, 0x2000, 0x3000, false },
		{ "driver misaligned", 128, 0x1000, 0x2001, 0x3000, false },
		{ "device misaligned", 128, 0x1000, 0x2000, 0x3002, false },
		{ "driver ring 2-aligned is fine", 128, 0x1000, 0x2002, 0x3004, true },
		{ "desc at the very end", 128, top - 16 * 128, 0x2000, 0x3000, true },
		{ "desc one entry past", 128, top - 16 * 128 + 16, 0x2000, 0x3000, false },
		{ "driver at the very end", 128, 0x1000, top - (6 + 2 * 128), 0x3000, true },
		{ "driver past", 128, 0x1000, top - (6 + 2 * 128) + 2, 0x3000, false },
		{ "device as near the end as 4-alignment allows", 128, 0x1000, 0x2000, top - (6 + 8 * 128) - 2, true },
		{ "device past", 128, 0x1000, 0x2000, top - (6 + 8 * 128) + 2, false },
		{ "desc above 4G", 128, 0x100000000ull, 0x2000, 0x3000, false },
		{ "device wraps", 128, 0x1000, 0x2000, 0xfffffffffffffff0ull, false },
	};

	dev_init(&st);
	negotiate(&st, OFFERED);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx = try_ready(&st, cases[i].num, cases[i].desc, cases[i].driver, cases[i].device);
		cr_assert_eq(fx.flags, cases[i].ok ? VIRTIO_MMIO_FX_QUEUE_READY : VIRTIO_MMIO_FX_QUEUE_REFUSED,
			     "%s: flags 0x%x", cases[i].what, fx.flags);
		cr_assert_eq(fx.queue, 0);
		cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), cases[i].ok, "%s", cases[i].what);
		/* The value was remembered either way. */
		cr_assert_eq(st.queues[0].num, cases[i].num, "%s", cases[i].what);
		assert_valid(&st);
	}

	/* Not before FEATURES_OK. */
	wr(&st, VIRTIO_MMIO_REG_STATUS, 0);
	add_status(&st, ACK | DRV);
	fx = try_ready(&st, 128, 0x1000, 0x2000, 0x3000);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_QUEUE_REFUSED);
	/* Not before the model told the transport where RAM ends. */
	virtio_mmio_init(&st, DEV_ID, DEV_FEATURES, NQUEUES, NUM_MAX, CONFIG_LEN);
	negotiate(&st, OFFERED);
	fx = try_ready(&st, 128, 0x1000, 0x2000, 0x3000);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_QUEUE_REFUSED);
	/* Other values than 0 and 1 are ignored. */
	virtio_mmio_set_ram_size(&st, RAM_SIZE);
	setup_queue(&st, 0, 128, 0x1000, 0x2000, 0x3000);
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 3);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_ready_zero_stops_and_restarts_clean)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	full_probe(&st);
	st.queues[1].last_avail_idx = 7;
	st.queues[1].used_idx = 5;
	cr_assert(virtio_state_inflight_set(&st, 1, 3));
	cr_assert(virtio_state_inflight_set(&st, 1, 4));
	assert_valid(&st);

	wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, 1);
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_QUEUE_STOP);
	cr_assert_eq(fx.queue, 1);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), 0, "Linux's vm_del_vq reads 0 back");
	cr_assert_eq(st.queues[1].last_avail_idx, 0);
	cr_assert_eq(st.queues[1].used_idx, 0);
	cr_assert_not(virtio_state_inflight_test(&st, 1, 3));
	cr_assert_not(virtio_mmio_queue_live(&st, 1));
	cr_assert(virtio_mmio_queue_live(&st, 0));
	assert_valid(&st);
	/* Stopping a stopped queue is a no-op. */
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 0);
	cr_assert_eq(fx.flags, 0);
	/* Now its registers are writable again, and it can come back. */
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NUM, 64);
	cr_assert_eq(fx.flags, 0);
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_QUEUE_READY);
	cr_assert_eq(st.queues[1].num, 64);
	cr_assert(virtio_mmio_queue_live(&st, 1));
	assert_valid(&st);
}

Test(virtio_mmio, queue_notify)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;

	dev_init(&st);
	negotiate(&st, OFFERED);
	setup_queue(&st, 0, NUM_MAX, ring_addr[0][0], ring_addr[0][1], ring_addr[0][2]);
	wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
	/* Ready but no DRIVER_OK yet: dropped (the model scans at DRIVER_OK). */
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	add_status(&st, DOK);
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_NOTIFY);
	cr_assert_eq(fx.queue, 0);
	/* Queue 1 exists but is not ready; 2 and beyond do not exist. */
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 2);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0x10000);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	/* QueueNotify is write-only; the notify changed no state. */
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_NOTIFY), 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	assert_valid(&st);
}

/* ---- interrupts, config ------------------------------------------------------ */

Test(virtio_mmio, interrupt_status_and_ack)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx = { 0 };

	dev_init(&st);
	full_probe(&st);
	virtio_mmio_interrupt(&st, VIRTIO_MMIO_IRQ_USED, &fx);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_RAISE_IRQ);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_IRQ_USED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_IRQ_USED, "reading does not clear");
	virtio_mmio_interrupt(&st, VIRTIO_MMIO_IRQ_CONFIG | 0xfc, NULL);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_IRQ_MASK, "undefined bits dropped");
	fx.flags = 0;
	virtio_mmio_interrupt(&st, 0x100, &fx);
	cr_assert_eq(fx.flags, 0, "no defined bit, no interrupt");

	/* Ack one bit: the other keeps the line up. */
	fx = wr(&st, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_IRQ_USED);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_IRQ_CONFIG);
	/* Acking a bit that is not pending changes nothing. */
	fx = wr(&st, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_IRQ_USED);
	cr_assert_eq(fx.flags, 0);
	/* The last one: the line may drop. */
	fx = wr(&st, VIRTIO_MMIO_REG_INTERRUPT_ACK, 0xffffffff);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_LOWER_IRQ);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	fx = wr(&st, VIRTIO_MMIO_REG_INTERRUPT_ACK, 0xffffffff);
	cr_assert_eq(fx.flags, 0, "nothing was pending");
	/* InterruptACK is write-only, InterruptStatus read-only. */
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_ACK), 0);
	fx = wr(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 3);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	assert_valid(&st);
}

Test(virtio_mmio, config_generation)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx = { 0 };

	dev_init(&st);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION), 0);
	/* Before DRIVER_OK: the generation moves, no interrupt. */
	virtio_mmio_config_changed(&st, &fx);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION), 1);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	full_probe(&st);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION), 1, "reset keeps the generation");
	virtio_mmio_config_changed(&st, &fx);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_RAISE_IRQ);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION), 2);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_IRQ_CONFIG);
	/* Read-only. */
	fx = wr(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION), 2);
	/* Wraps like any 32-bit counter. */
	st.config_generation = 0xffffffff;
	virtio_mmio_config_changed(&st, NULL);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_CONFIG_GENERATION), 0);
	assert_valid(&st);
}

Test(virtio_mmio, config_space_reads)
{
	struct virtio_state st;
	uint32_t diag;

	dev_init(&st); /* config[i] = i + 1 for i < 60 */
	cr_assert_eq(virtio_mmio_read(&st, 0x100, 1), 0x01);
	cr_assert_eq(virtio_mmio_read(&st, 0x100, 2), 0x0201);
	cr_assert_eq(virtio_mmio_read(&st, 0x100, 4), 0x04030201);
	cr_assert_eq(virtio_mmio_read(&st, 0x105, 1), 0x06);
	cr_assert_eq(virtio_mmio_read(&st, 0x106, 2), 0x0807);
	cr_assert_eq(virtio_mmio_read(&st, 0x108, 4), 0x0c0b0a09);
	/* The last byte, halfword and word inside config_len. */
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x100 + CONFIG_LEN - 1, 1, &diag), CONFIG_LEN);
	cr_assert_eq(diag, 0);
	cr_assert_eq(virtio_mmio_read(&st, 0x100 + CONFIG_LEN - 2, 2), ((CONFIG_LEN) << 8) | (CONFIG_LEN - 1));
	cr_assert_eq(virtio_mmio_read(&st, 0x100 + CONFIG_LEN - 4, 4), 0x3c3b3a39);
	/* Past config_len, wholly or partly: 0. */
	st.config[CONFIG_LEN] = 0xee; /* the model scribbled past the end: still invisible */
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x100 + CONFIG_LEN, 1, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_OUT_OF_RANGE);
	cr_assert_eq(virtio_mmio_read(&st, 0x1fc, 4), 0);
	cr_assert_eq(virtio_mmio_read(&st, 0x1ff, 1), 0);
	/* Misaligned or odd widths: 0, flagged. */
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x101, 2, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_BAD_WIDTH);
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x102, 4, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_BAD_WIDTH);
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x100, 8, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_BAD_WIDTH);
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x100, 3, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_BAD_WIDTH);
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x100, 0, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_BAD_WIDTH);
	/* An aligned access straddling the end of a 6-byte config space. */
	virtio_mmio_init(&st, DEV_ID, 0, 1, 8, 6);
	memset(st.config, 0x77, sizeof(st.config));
	cr_assert_eq(virtio_mmio_read(&st, 0x104, 2), 0x7777);
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x104, 4, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_OUT_OF_RANGE);
	/* A device with no config space at all. */
	virtio_mmio_init(&st, DEV_ID, 0, 1, 8, 0);
	cr_assert_eq(virtio_mmio_read_diag(&st, 0x100, 1, &diag), 0);
	cr_assert_eq(diag, VIRTIO_MMIO_FX_OUT_OF_RANGE);
}

Test(virtio_mmio, config_space_writes)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;
	uint8_t before[sizeof(st.config)];

	dev_init(&st);
	memcpy(before, st.config, sizeof(before));
	cr_assert_eq(virtio_mmio_write(&st, 0x104, 1, 0xabcdef12, &fx), 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_CONFIG_WRITE);
	cr_assert_eq(fx.config_offset, 4);
	cr_assert_eq(fx.config_size, 1);
	cr_assert_eq(fx.config_value, 0x12, "masked to the width");
	cr_assert_eq(virtio_mmio_write(&st, 0x10a, 2, 0xabcdef12, &fx), 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_CONFIG_WRITE);
	cr_assert_eq(fx.config_offset, 0xa);
	cr_assert_eq(fx.config_size, 2);
	cr_assert_eq(fx.config_value, 0xef12);
	cr_assert_eq(virtio_mmio_write(&st, 0x100 + CONFIG_LEN - 4, 4, 0xabcdef12, &fx), 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_CONFIG_WRITE);
	cr_assert_eq(fx.config_offset, CONFIG_LEN - 4);
	cr_assert_eq(fx.config_size, 4);
	cr_assert_eq(fx.config_value, 0xabcdef12);
	/* The transport stores nothing: the model decides. */
	cr_assert_eq(memcmp(before, st.config, sizeof(before)), 0);
	/* Past config_len: ignored. */
	cr_assert_eq(virtio_mmio_write(&st, 0x100 + CONFIG_LEN, 1, 1, &fx), -ERANGE);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_OUT_OF_RANGE);
	cr_assert_eq(virtio_mmio_write(&st, 0x1fc, 4, 1, &fx), -ERANGE);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_OUT_OF_RANGE);
	/* Bad widths. */
	cr_assert_eq(virtio_mmio_write(&st, 0x101, 4, 1, &fx), -EINVAL);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_BAD_WIDTH);
	cr_assert_eq(virtio_mmio_write(&st, 0x100, 8, 1, &fx), -EINVAL);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_BAD_WIDTH);
	cr_assert_eq(memcmp(before, st.config, sizeof(before)), 0);
	/* An aligned write straddling the end of a 6-byte config space. */
	virtio_mmio_init(&st, DEV_ID, 0, 1, 8, 6);
	cr_assert_eq(virtio_mmio_write(&st, 0x104, 4, 1, &fx), -ERANGE);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_OUT_OF_RANGE);
	cr_assert_eq(virtio_mmio_write(&st, 0x104, 2, 1, &fx), 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_CONFIG_WRITE);
}

/* ---- malformed accesses ------------------------------------------------------- */

Test(virtio_mmio, bad_widths_in_register_area)
{
	struct virtio_state st;
	struct virtio_state snapshot;
	struct virtio_mmio_effects fx;
	static const unsigned widths[] = { 0, 1, 2, 3, 8, 16 };
	uint32_t diag;

	dev_init(&st);
	full_probe(&st);
	virtio_mmio_interrupt(&st, VIRTIO_MMIO_IRQ_USED, NULL);
	memcpy(&snapshot, &st, sizeof(st));
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		for (uint32_t off = 0; off < 0x100; off += 4) {
			cr_assert_eq(virtio_mmio_read_diag(&st, off, widths[i], &diag), 0);
			cr_assert_eq(diag, VIRTIO_MMIO_FX_BAD_WIDTH);
			/* A Status write of 0 (reset) or an InterruptACK would change state if accepted. */
			cr_assert_eq(virtio_mmio_write(&st, off, widths[i], 0, &fx), -EINVAL);
			cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_BAD_WIDTH);
			cr_assert_eq(virtio_mmio_write(&st, off, widths[i], 0xffffffff, &fx), -EINVAL);
		}
	}
	/* Misaligned 32-bit accesses. */
	for (uint32_t off = 1; off < 4; off++) {
		cr_assert_eq(virtio_mmio_read_diag(&st, VIRTIO_MMIO_REG_MAGIC + off, 4, &diag), 0);
		cr_assert_eq(diag, VIRTIO_MMIO_FX_BAD_WIDTH);
		cr_assert_eq(virtio_mmio_write(&st, VIRTIO_MMIO_REG_STATUS + off, 4, 0, &fx), -EINVAL);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_BAD_WIDTH);
	}
	cr_assert_eq(memcmp(&snapshot, &st, sizeof(st)), 0, "no malformed access changed state");
	/* A byte read of the magic is not the magic. */
	cr_assert_eq(virtio_mmio_read(&st, VIRTIO_MMIO_REG_MAGIC, 1), 0);
}

Test(virtio_mmio, offsets_beyond_window)
{
	struct virtio_state st;
	struct virtio_state snapshot;
	struct virtio_mmio_effects fx;
	static const uint64_t offs[] = {
		0x200, 0x204, 0x270, 0x1000, 0xffffffffull, 0x100000000ull + VIRTIO_MMIO_REG_STATUS,
		0xfffffffffffffffcull, 0xffffffffffffffffull,
	};
	uint32_t diag;

	dev_init(&st);
	full_probe(&st);
	memcpy(&snapshot, &st, sizeof(st));
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (unsigned size = 1; size <= 4; size *= 2) {
			cr_assert_eq(virtio_mmio_read_diag(&st, offs[i], size, &diag), 0);
			cr_assert_eq(diag, VIRTIO_MMIO_FX_OUT_OF_RANGE);
			cr_assert_eq(virtio_mmio_write(&st, offs[i], size, 0, &fx), -ERANGE);
			cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_OUT_OF_RANGE);
		}
	}
	cr_assert_eq(memcmp(&snapshot, &st, sizeof(st)), 0);
}

Test(virtio_mmio, read_only_write_only_and_reserved_registers)
{
	struct virtio_state st;
	struct virtio_state snapshot;
	struct virtio_mmio_effects fx;
	static const uint32_t write_only[] = {
		VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL,
		VIRTIO_MMIO_REG_QUEUE_SEL,           VIRTIO_MMIO_REG_QUEUE_NUM,
		VIRTIO_MMIO_REG_QUEUE_DESC_LOW,      VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH,
		VIRTIO_MMIO_REG_SHM_SEL,
	};
	static const uint32_t read_only[] = {
		VIRTIO_MMIO_REG_MAGIC,         VIRTIO_MMIO_REG_VERSION,       VIRTIO_MMIO_REG_DEVICE_ID,
		VIRTIO_MMIO_REG_VENDOR_ID,     VIRTIO_MMIO_REG_DEVICE_FEATURES, VIRTIO_MMIO_REG_QUEUE_NUM_MAX,
		VIRTIO_MMIO_REG_SHM_LEN_LOW,   VIRTIO_MMIO_REG_SHM_BASE_HIGH, VIRTIO_MMIO_REG_CONFIG_GENERATION,
	};
	/* Legacy (version 1) GuestPageSize, QueueAlign, QueuePFN; QueueReset; holes. */
	static const uint32_t reserved[] = { 0x018, 0x028, 0x03c, 0x040, 0x0a8, 0x0c0, 0x0c4, 0x0f8 };
	uint32_t diag;

	dev_init(&st);
	full_probe(&st);
	wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	for (size_t i = 0; i < sizeof(write_only) / sizeof(write_only[0]); i++) {
		cr_assert_eq(virtio_mmio_read_diag(&st, write_only[i], 4, &diag), 0, "0x%x", write_only[i]);
		cr_assert_eq(diag, VIRTIO_MMIO_FX_IGNORED);
	}
	memcpy(&snapshot, &st, sizeof(st));
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		fx = wr(&st, read_only[i], 0x5a5a5a5a);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED, "0x%x", read_only[i]);
	}
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		cr_assert_eq(virtio_mmio_read_diag(&st, reserved[i], 4, &diag), 0, "0x%x", reserved[i]);
		cr_assert_eq(diag, VIRTIO_MMIO_FX_IGNORED);
		fx = wr(&st, reserved[i], 0x5a5a5a5a);
		cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED, "0x%x", reserved[i]);
	}
	cr_assert_eq(memcmp(&snapshot, &st, sizeof(st)), 0);
	/* No shared memory regions: length -1 whatever SHMSel says. */
	fx = wr(&st, VIRTIO_MMIO_REG_SHM_SEL, 0);
	cr_assert_eq(fx.flags, 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_SHM_LEN_LOW), 0xffffffff);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_SHM_LEN_HIGH), 0xffffffff);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_SHM_BASE_LOW), 0xffffffff);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_SHM_BASE_HIGH), 0xffffffff);
}

Test(virtio_mmio, write_with_null_effects)
{
	struct virtio_state st;

	dev_init(&st);
	cr_assert_eq(virtio_mmio_write(&st, VIRTIO_MMIO_REG_STATUS, 4, ACK, NULL), 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK);
	cr_assert_eq(virtio_mmio_write(&st, VIRTIO_MMIO_REG_STATUS, 2, 0, NULL), -EINVAL);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK);
}

/* ---- DEVICE_NEEDS_RESET --------------------------------------------------------- */

Test(virtio_mmio, needs_reset_sets_bit_and_raises_config_interrupt)
{
	struct virtio_state st;
	struct virtio_state before;
	struct virtio_mmio_effects fx = { 0 };

	dev_init(&st);
	full_probe(&st);
	memcpy(&before, &st, sizeof(st));
	virtio_mmio_needs_reset(&st, &fx);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_NEEDS_RESET | VIRTIO_MMIO_FX_RAISE_IRQ);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK | DOK | 0x40);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), VIRTIO_MMIO_IRQ_CONFIG);
	/* Nothing else moved: not the generation, not the queues. */
	before.status |= VIRTIO_STATUS_NEEDS_RESET;
	before.interrupt_status |= VIRTIO_MMIO_IRQ_CONFIG;
	cr_assert_eq(memcmp(&before, &st, sizeof(st)), 0);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_READY), 1, "queues stay ready ...");
	cr_assert_not(virtio_mmio_queue_live(&st, 0), "... but are not live");
	assert_valid(&st);

	/* Idempotent. */
	fx.flags = 0;
	virtio_mmio_needs_reset(&st, &fx);
	cr_assert_eq(fx.flags, 0);

	/* The device is stopped: notifies, status writes and new queues are ignored. */
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	fx = add_status(&st, VIRTIO_STATUS_FAILED);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK | DOK | 0x40);
	wr(&st, VIRTIO_MMIO_REG_QUEUE_SEL, 1);
	wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 0);
	fx = wr(&st, VIRTIO_MMIO_REG_QUEUE_READY, 1);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_QUEUE_REFUSED);
	/* The driver acks the interrupt, then resets: all clear. */
	fx = wr(&st, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_IRQ_CONFIG);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_LOWER_IRQ);
	fx = wr(&st, VIRTIO_MMIO_REG_STATUS, 0);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_RESET);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), 0);
	full_probe(&st);
	assert_valid(&st);
}

Test(virtio_mmio, needs_reset_before_driver_ok_sends_no_interrupt)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx = { 0 };

	dev_init(&st);
	negotiate(&st, OFFERED);
	virtio_mmio_needs_reset(&st, &fx);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_NEEDS_RESET);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_STATUS), ACK | DRV | FOK | 0x40);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_INTERRUPT_STATUS), 0);
	fx = add_status(&st, DOK);
	cr_assert_eq(fx.flags, VIRTIO_MMIO_FX_IGNORED, "no DRIVER_OK on a broken device");
	assert_valid(&st);
}

/* ---- init and helpers ------------------------------------------------------------- */

Test(virtio_mmio, init_clamps_model_arguments)
{
	struct virtio_state st;
	static const struct {
		uint16_t asked, got;
	} sizes[] = { { 0, 1 }, { 1, 1 }, { 3, 2 }, { 100, 64 }, { 256, 256 }, { 257, 256 }, { 0xffff, 256 } };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		virtio_mmio_init(&st, 1, 0, 1, sizes[i].asked, 0);
		cr_assert_eq(st.queues[0].num_max, sizes[i].got, "asked %u", sizes[i].asked);
	}
	virtio_mmio_init(&st, 1, ~0ull, 100, 8, 1000);
	virtio_mmio_set_ram_size(&st, RAM_SIZE);
	cr_assert_eq(st.nqueues, VIRTIO_STATE_MAX_QUEUES);
	cr_assert_eq(st.config_len, VIRTIO_STATE_CONFIG_SIZE);
	cr_assert_eq(st.device_features, ~VIRTIO_FEAT_TRANSPORT_UNSUPPORTED);
	cr_assert_eq(st.magic, VIRTIO_STATE_MAGIC);
	cr_assert_eq(st.layout_version, VIRTIO_STATE_LAYOUT_VERSION);
	assert_valid(&st);
	/* Zero queues, zero config: a valid (if useless) device. */
	virtio_mmio_init(&st, 1, 0, 0, 8, 0);
	virtio_mmio_set_ram_size(&st, RAM_SIZE);
	cr_assert_eq(rd(&st, VIRTIO_MMIO_REG_QUEUE_NUM_MAX), 0);
	assert_valid(&st);
}

Test(virtio_mmio, inflight_helpers)
{
	struct virtio_state st;

	dev_init(&st);
	cr_assert(virtio_state_inflight_set(&st, 0, 0));
	cr_assert_not(virtio_state_inflight_set(&st, 0, 0), "already in flight");
	cr_assert(virtio_state_inflight_set(&st, 0, 255));
	cr_assert(virtio_state_inflight_test(&st, 0, 255));
	cr_assert_not(virtio_state_inflight_test(&st, 1, 255));
	cr_assert_not(virtio_state_inflight_set(&st, 0, 256));
	cr_assert_not(virtio_state_inflight_set(&st, 8, 0));
	cr_assert_not(virtio_state_inflight_set(&st, 0xffffffffu, 0xffffffffu));
	cr_assert_not(virtio_state_inflight_test(&st, 0, 256));
	cr_assert(virtio_state_inflight_clear(&st, 0, 255));
	cr_assert_not(virtio_state_inflight_clear(&st, 0, 255));
	cr_assert_not(virtio_state_inflight_clear(&st, 0, 1000));
	cr_assert_eq(st.queues[0].inflight[0], 1);
	cr_assert_eq(st.queues[0].inflight[3], 0);
}

/* ---- validation of a hostile region --------------------------------------------- */

/* A state in use: probed, queue 0 with two chains in flight. */
static void busy_state(struct virtio_state *st)
{
	dev_init(st);
	full_probe(st);
	cr_assert(virtio_state_inflight_set(st, 0, 5));
	st->queues[0].last_avail_idx++;
	cr_assert(virtio_state_inflight_set(st, 0, 7));
	st->queues[0].last_avail_idx++;
	st->queues[0].last_avail_idx++; /* one more, completed: */
	st->queues[0].used_idx++;
	virtio_mmio_interrupt(st, VIRTIO_MMIO_IRQ_USED, NULL);
}

Test(virtio_mmio, validate_accepts_reachable_states)
{
	struct virtio_state st;
	const char *why = "unset";

	dev_init(&st);
	assert_valid(&st);
	full_probe(&st);
	assert_valid(&st);
	busy_state(&st);
	assert_valid(&st);
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, NULL), 0, "why may be NULL");
	/* Indices that wrapped around 2^16 are fine. */
	st.queues[0].last_avail_idx = 1;
	st.queues[0].used_idx = 0xffff;
	assert_valid(&st);
	/* Exactly num chains taken. */
	st.queues[0].last_avail_idx = NUM_MAX;
	st.queues[0].used_idx = 0;
	assert_valid(&st);
	/* A crash between "set bit" and "last_avail_idx++" leaves one more bit than taken chains. */
	st.queues[0].last_avail_idx = st.queues[0].used_idx;
	assert_valid(&st);
	/* Any selector values, any config bytes, any generation. */
	st.queue_sel = 0xffffffff;
	st.device_features_sel = 77;
	st.driver_features_sel = 0x80000000;
	st.config_generation = 0xdeadbeef;
	memset(st.config, 0xa5, sizeof(st.config));
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), 0);
	cr_assert_null(why);
}

#define N_CORRUPTIONS 31

/* Applies corruption i to a busy state; returns its name and the reason validate must give. */
static const char *corrupt(struct virtio_state *st, unsigned i, const char **expect)
{
	struct virtio_queue_state *q0 = &st->queues[0];

	switch (i) {
	case 0:
		st->magic ^= 1;
		*expect = "bad magic";
		return "bad magic";
	case 1:
		st->layout_version = VIRTIO_STATE_LAYOUT_VERSION + 1;
		*expect = "unknown layout version";
		return "unknown layout version";
	case 2:
		st->nqueues = 9;
		*expect = "too many queues";
		return "nqueues 9";
	case 3:
		st->nqueues = 0xffffffff;
		*expect = "too many queues";
		return "nqueues huge";
	case 4:
		st->config_len = 257;
		*expect = "config space too large";
		return "config_len 257";
	case 5:
		q0->num = 100;
		*expect = "queue size is not a power of two";
		return "num not a power of two";
	case 6:
		q0->num = 256;
		*expect = "queue size exceeds QueueNumMax";
		return "num above num_max";
	case 7:
		q0->num = 0;
		*expect = "queue size is not a power of two";
		return "num 0 on a ready queue";
	case 8:
		q0->desc_addr = RAM_SIZE - 16;
		*expect = "descriptor table outside guest RAM";
		return "descriptor table outside RAM";
	case 9:
		q0->device_addr = 0xfffffffffffff000ull;
		*expect = "device ring outside guest RAM";
		return "device ring wraps around";
	case 10:
		q0->driver_addr = RAM_SIZE - 8;
		*expect = "driver ring outside guest RAM";
		return "driver ring straddles the end of RAM";
	case 11:
		q0->desc_addr += 8;
		*expect = "descriptor table not 16-byte aligned";
		return "misaligned descriptor table";
	case 12:
		q0->device_addr += 2;
		*expect = "device ring not 4-byte aligned";
		return "misaligned device ring";
	case 13:
		q0->driver_addr += 1;
		*expect = "driver ring not 2-byte aligned";
		return "misaligned driver ring";
	case 14:
		st->driver_features |= 1ull << 3;
		*expect = "accepted features not offered or without VERSION_1";
		return "driver feature not offered";
	case 15:
		st->driver_features &= ~VIRTIO_FEAT_VERSION_1;
		*expect = "accepted features not offered or without VERSION_1";
		return "accepted features without VERSION_1";
	case 16:
		st->status &= ~VIRTIO_STATUS_FEATURES_OK;
		*expect = "DRIVER_OK without FEATURES_OK";
		return "DRIVER_OK without FEATURES_OK";
	case 17:
		st->status = FOK;
		*expect = "FEATURES_OK without ACKNOWLEDGE and DRIVER";
		return "FEATURES_OK without ACKNOWLEDGE/DRIVER";
	case 18:
		st->status |= 0x10;
		*expect = "undefined status bits";
		return "undefined status bit";
	case 19:
		q0->ready = 2;
		*expect = "QueueReady neither 0 nor 1";
		return "QueueReady 2";
	case 20:
		q0->inflight[3] |= 1ull << 63;
		*expect = "in-flight head not below the queue size";
		return "in-flight head 255 >= num 128";
	case 21:
		q0->last_avail_idx = (uint16_t)(q0->used_idx + NUM_MAX + 1);
		*expect = "more chains taken than the queue holds (last_avail_idx - used_idx > num)";
		return "taken > num";
	case 22:
		st->ram_size = RAM_SIZE * 2;
		*expect = "state is for a different guest RAM size";
		return "state for another RAM size";
	case 23:
		st->interrupt_status |= 4;
		*expect = "undefined interrupt status bits";
		return "undefined interrupt bit";
	case 24:
		st->queues[1].ready = 0;
		st->queues[1].used_idx = 3;
		*expect = "queue not ready but has ring indices";
		return "indices on a queue that is not ready";
	case 25:
		st->queues[5].num_max = 128;
		*expect = "queue past nqueues not zero";
		return "queue past nqueues not zero";
	case 26:
		st->device_features |= VIRTIO_FEAT_RING_PACKED;
		*expect = "device offers a feature the transport cannot honour";
		return "offers packed rings";
	case 27:
		st->reserved1[7] = 1;
		*expect = "reserved field not zero";
		return "reserved byte set";
	case 28:
		st->queues[0].take_journal = virtio_journal_make(st->queues[0].num, 3);
		*expect = "queue journal entry malformed or for a head not below the queue size";
		return "take journal for a head past the queue";
	case 29:
		st->queues[0].push_journal = 0x40000001u;
		*expect = "queue journal entry malformed or for a head not below the queue size";
		return "push journal with stray bits and no valid bit";
	case 30:
		st->queues[0].reserved2 = 1;
		*expect = "queue reserved field not zero";
		return "queue reserved word set";
	default:
		cr_assert_fail("no corruption %u", i);
		return NULL;
	}
}

Test(virtio_mmio, validate_rejects_corruptions)
{
	for (unsigned i = 0; i < N_CORRUPTIONS; i++) {
		struct virtio_state st;
		const char *why = NULL;
		const char *expect = NULL;
		const char *name;

		busy_state(&st);
		assert_valid(&st);
		name = corrupt(&st, i, &expect);
		cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), -EINVAL, "%s: accepted", name);
		cr_assert_not_null(why, "%s: no reason", name);
		cr_assert_str_eq(why, expect, "%s: rejected for another reason", name);
	}
}

Test(virtio_mmio, validate_rejects_more_corruptions)
{
	struct virtio_state st;
	const char *why = NULL;

	/* Queue num_max not a power of two / too large. */
	busy_state(&st);
	st.queues[1].num_max = 96;
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), -EINVAL);
	busy_state(&st);
	st.queues[1].num_max = 512;
	st.queues[1].num = 512;
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), -EINVAL);
	/* A ready queue before FEATURES_OK (status rolled back). */
	busy_state(&st);
	st.status = ACK | DRV;
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), -EINVAL);
	cr_assert_str_eq(why, "queue ready without FEATURES_OK");
	/* In-flight heads on a stopped queue. */
	busy_state(&st);
	st.queues[1].ready = 0;
	st.queues[1].inflight[0] = 1;
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), -EINVAL);
	/* An all-zero region (a monitor that never initialised it) and an all-ones one. */
	memset(&st, 0, sizeof(st));
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), -EINVAL);
	memset(&st, 0xff, sizeof(st));
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), -EINVAL);
	/* The same state against the wrong RAM size. */
	busy_state(&st);
	cr_assert_eq(virtio_state_validate(&st, RAM_SIZE / 2, &why), -EINVAL);
}

Test(virtio_mmio, same_device)
{
	struct virtio_state st;
	struct virtio_state expected;
	const char *why = NULL;

	dev_init(&expected);
	busy_state(&st);
	cr_assert_eq(virtio_state_same_device(&st, &expected, &why), 0);
	cr_assert_null(why);
	st.device_id = 1;
	cr_assert_eq(virtio_state_same_device(&st, &expected, &why), -EINVAL);
	cr_assert_str_eq(why, "different device id");
	busy_state(&st);
	st.device_features |= 1ull << 3;
	cr_assert_eq(virtio_state_same_device(&st, &expected, &why), -EINVAL);
	busy_state(&st);
	st.queues[1].num_max = 64;
	cr_assert_eq(virtio_state_same_device(&st, &expected, &why), -EINVAL);
	busy_state(&st);
	st.nqueues = 1;
	cr_assert_eq(virtio_state_same_device(&st, &expected, NULL), -EINVAL);
	busy_state(&st);
	st.config_len = 8;
	cr_assert_eq(virtio_state_same_device(&st, &expected, NULL), -EINVAL);
}

/* ---- randomized ------------------------------------------------------------------ */

/* Override with -DVIRTIO_FUZZ_SEED=... to explore; the suite runs one fixed seed. */
#ifndef VIRTIO_FUZZ_SEED
#define VIRTIO_FUZZ_SEED 0x5155425649524f31ull
#endif

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure replays. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static const uint32_t fuzz_regs[] = {
	0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044,
	0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0,
	0x0b4, 0x0b8, 0x0bc, 0x0c0, 0x0fc, 0x028, 0x03c, 0x040,
};

/* A value for a write to off that is often meaningful, sometimes anything. */
static uint32_t fuzz_value(const struct virtio_state *st, uint64_t off)
{
	uint64_t r = rnd();

	if (r % 8 == 0)
		return (uint32_t)rnd();
	r >>= 3;
	switch (off) {
	case VIRTIO_MMIO_REG_STATUS:
		if (r % 16 == 0)
			return 0;
		return st->status | (1u << (r / 64 % 8));
	case VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL:
	case VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL:
		return r % 3;
	case VIRTIO_MMIO_REG_DRIVER_FEATURES:
		/* The selected half of what is offered, maybe with a stray bit. */
		return (uint32_t)(st->device_features >> (st->driver_features_sel == 1 ? 32 : 0)) |
		       (r % 16 == 0 ? 1u << (r / 16 % 32) : 0);
	case VIRTIO_MMIO_REG_QUEUE_SEL:
		return r % 8 == 0 ? (uint32_t)(r >> 3) % 10 : (uint32_t)(r >> 3) % NQUEUES;
	case VIRTIO_MMIO_REG_QUEUE_NOTIFY:
		return r % 3;
	case VIRTIO_MMIO_REG_QUEUE_NUM:
		return r % 8 == 0 ? (uint32_t)(r >> 3) % 300 : 1u << (r >> 3) % 10;
	case VIRTIO_MMIO_REG_QUEUE_READY:
		return r % 16 == 0 ? 2 : r % 16 != 1;
	case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
		/* Mostly aligned and inside RAM, sometimes near the end or odd. */
		if (r % 8 == 0)
			return (uint32_t)(RAM_SIZE - (r >> 3) % 4096);
		return (uint32_t)((r >> 3) % RAM_SIZE) & (r % 16 == 1 ? ~1u : ~15u);
	case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH:
		return r % 8 == 0 ? (uint32_t)(r >> 3) : 0;
	case VIRTIO_MMIO_REG_INTERRUPT_ACK:
		return r % 4;
	default:
		return (uint32_t)r;
	}
}

static uint64_t fuzz_offset(void)
{
	uint64_t r = rnd() % 100;

	if (r < 75)
		return fuzz_regs[rnd() % (sizeof(fuzz_regs) / sizeof(fuzz_regs[0]))];
	if (r < 88)
		return 0x100 + rnd() % 0x100;
	if (r < 97)
		return rnd() % 0x200;
	return rnd();
}

static unsigned fuzz_size(void)
{
	static const unsigned odd[] = { 0, 1, 2, 3, 8, 5, 16, 0xffffffff };
	uint64_t r = rnd() % 16;

	if (r < 12)
		return 4;
	if (r < 14)
		return 1u << (rnd() % 3);
	return odd[rnd() % (sizeof(odd) / sizeof(odd[0]))];
}

/* What a device model does with a live queue: take or complete one chain. */
static void fuzz_model(struct virtio_state *st, struct virtio_mmio_effects *fx)
{
	unsigned q = (unsigned)(rnd() % NQUEUES);
	struct virtio_queue_state *vq = &st->queues[q];
	uint16_t pending;
	uint32_t head;

	if (!virtio_mmio_queue_live(st, q))
		return;
	pending = (uint16_t)(vq->last_avail_idx - vq->used_idx);
	head = (uint32_t)(rnd() % vq->num);
	if (rnd() % 2 == 0 && pending < vq->num) {
		/* Take: a guest offering a head already in flight is a malformed chain. */
		if (rnd() % 1024 != 0) {
			for (uint32_t i = 0; i < vq->num && virtio_state_inflight_test(st, q, head); i++)
				head = (head + 1) % vq->num;
		}
		if (!virtio_state_inflight_set(st, q, head)) {
			virtio_mmio_needs_reset(st, fx);
			return;
		}
		vq->last_avail_idx++;
	} else if (pending > 0) {
		/* Complete the first in-flight head at or after a random one. */
		for (uint32_t i = 0; i < vq->num; i++, head = (head + 1) % vq->num) {
			if (virtio_state_inflight_test(st, q, head)) {
				vq->used_idx++;
				cr_assert(virtio_state_inflight_clear(st, q, head));
				virtio_mmio_interrupt(st, VIRTIO_MMIO_IRQ_USED, fx);
				return;
			}
		}
		cr_assert_fail("chains taken but no head in flight");
	}
}

Test(virtio_mmio, randomized_accesses_keep_state_valid)
{
	struct virtio_state st;
	struct virtio_mmio_effects fx;
	unsigned long driver_ok = 0, ready = 0, in_flight = 0, needs_reset = 0, resets = 0, notifies = 0;
	unsigned long refused_features = 0, refused_queues = 0, config_writes = 0;
	const char *why = NULL;

	rng_state = VIRTIO_FUZZ_SEED;
	dev_init(&st);
	for (unsigned long i = 0; i < 200000; i++) {
		uint64_t op = rnd() % 100;
		uint64_t off = fuzz_offset();
		unsigned size = fuzz_size();
		uint32_t diag;

		memset(&fx, 0, sizeof(fx));
		if (op < 70) {
			int rc = virtio_mmio_write(&st, off, size, fuzz_value(&st, off), &fx);

			cr_assert(rc == 0 || rc == -EINVAL || rc == -ERANGE);
			cr_assert_eq(rc == -EINVAL, !!(fx.flags & VIRTIO_MMIO_FX_BAD_WIDTH));
			if (rc != 0)
				cr_assert_eq(fx.flags & ~VIRTIO_MMIO_FX_DIAGNOSTICS, 0, "a refused access had effects");
			if (fx.flags & (VIRTIO_MMIO_FX_NOTIFY | VIRTIO_MMIO_FX_QUEUE_READY | VIRTIO_MMIO_FX_QUEUE_STOP))
				cr_assert_lt(fx.queue, NQUEUES);
			if (fx.flags & VIRTIO_MMIO_FX_NOTIFY)
				cr_assert(virtio_mmio_queue_live(&st, fx.queue));
			if (fx.flags & VIRTIO_MMIO_FX_CONFIG_WRITE)
				cr_assert_leq(fx.config_offset + fx.config_size, CONFIG_LEN);
			resets += !!(fx.flags & VIRTIO_MMIO_FX_RESET);
			notifies += !!(fx.flags & VIRTIO_MMIO_FX_NOTIFY);
			refused_features += !!(fx.flags & VIRTIO_MMIO_FX_FEATURES_REFUSED);
			refused_queues += !!(fx.flags & VIRTIO_MMIO_FX_QUEUE_REFUSED);
			config_writes += !!(fx.flags & VIRTIO_MMIO_FX_CONFIG_WRITE);
		} else if (op < 88) {
			uint32_t v = virtio_mmio_read_diag(&st, off, size, &diag);

			if (diag & (VIRTIO_MMIO_FX_BAD_WIDTH | VIRTIO_MMIO_FX_OUT_OF_RANGE))
				cr_assert_eq(v, 0);
			if (off == VIRTIO_MMIO_REG_MAGIC && size == 4)
				cr_assert_eq(v, VIRTIO_MMIO_MAGIC);
			if (off == VIRTIO_MMIO_REG_STATUS && size == 4)
				cr_assert_eq(v, st.status);
		} else if (op < 98) {
			fuzz_model(&st, &fx);
		} else if (op < 99) {
			if (rnd() % 64 == 0)
				virtio_mmio_needs_reset(&st, &fx);
			else
				virtio_mmio_config_changed(&st, &fx);
		} else {
			virtio_mmio_interrupt(&st, (uint32_t)rnd(), &fx);
		}

		cr_assert_eq(virtio_state_validate(&st, RAM_SIZE, &why), 0, "step %lu: %s", i, why);
		driver_ok += !!(st.status & VIRTIO_STATUS_DRIVER_OK);
		needs_reset += !!(st.status & VIRTIO_STATUS_NEEDS_RESET);
		for (unsigned q = 0; q < NQUEUES; q++) {
			ready += st.queues[q].ready;
			in_flight += st.queues[q].last_avail_idx != st.queues[q].used_idx;
		}
	}
	cr_log_info("driver_ok %lu ready %lu in_flight %lu needs_reset %lu resets %lu notifies %lu "
		    "refused features %lu queues %lu config writes %lu",
		    driver_ok, ready, in_flight, needs_reset, resets, notifies, refused_features, refused_queues,
		    config_writes);
	/* The fuzz reached the deep states, not just the probe's first steps. */
	cr_assert_gt(driver_ok, 10000);
	cr_assert_gt(ready, 5000);
	cr_assert_gt(in_flight, 1000);
	cr_assert_gt(needs_reset, 1000);
	cr_assert_gt(resets, 50);
	cr_assert_gt(notifies, 10);
	cr_assert_gt(refused_features, 10);
	cr_assert_gt(refused_queues, 10);
	cr_assert_gt(config_writes, 100);
}

/* Any contents at all (a scribbled region that was never validated): no access goes out of bounds. */
Test(virtio_mmio, hostile_state_is_memory_safe)
{
	rng_state = 0x4841535459535431ull;
	for (unsigned iter = 0; iter < 2000; iter++) {
		struct virtio_state st;
		struct virtio_mmio_effects fx;
		const char *why;
		uint8_t *bytes = (uint8_t *)&st;

		for (size_t i = 0; i < sizeof(st); i++)
			bytes[i] = (uint8_t)rnd();
		if (iter % 2) {
			/* Plausible-looking, with hostile bounds. */
			st.magic = VIRTIO_STATE_MAGIC;
			st.layout_version = VIRTIO_STATE_LAYOUT_VERSION;
			st.nqueues = (uint32_t)(rnd() % 3 == 0 ? rnd() : rnd() % 12);
			st.config_len = (uint32_t)(rnd() % 3 == 0 ? rnd() : rnd() % 300);
			st.queue_sel = (uint32_t)(rnd() % 12);
		}
		(void)!virtio_state_validate(&st, RAM_SIZE, &why);
		for (unsigned k = 0; k < 64; k++) {
			uint64_t off = fuzz_offset();
			unsigned size = fuzz_size();

			if (rnd() % 2)
				(void)virtio_mmio_read(&st, off, size);
			else
				(void)!virtio_mmio_write(&st, off, size, fuzz_value(&st, off), &fx);
			(void)virtio_mmio_queue_live(&st, (unsigned)(rnd() % 12));
		}
		virtio_mmio_needs_reset(&st, NULL);
	}
}
