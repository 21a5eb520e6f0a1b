/* SPDX-License-Identifier: MIT */
/*
 * The virtio glue (device-worker/virtio/virtio_device.c) driven through virtio-rng:
 * kicks through ioeventfds, interrupts through the irqfd with resample
 * (level semantics), EVENT_IDX suppression, DEVICE_NEEDS_RESET on malformed
 * chains and recovery by reset, and the sandbox rules the glue reports.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/syscall.h>

#include "device-worker/virtio/virtio_mmio.h"
#include "tests/unit/virtio_fake_driver.h"

static struct fake_virtio f;

static void setup(void)
{
	cr_assert_eq(fake_virtio_setup(&f, &virtio_rng_device_model, 1, -1, NULL), 0);
}

static void teardown(void)
{
	fake_virtio_teardown(&f);
}

TestSuite(virtio_device, .init = setup, .fini = teardown);

static bool all_equal(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

static uint32_t status(void)
{
	return fake_mmio_read(&f, VIRTIO_MMIO_REG_STATUS, 4);
}

Test(virtio_device, identity_registers)
{
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_MAGIC, 4), VIRTIO_MMIO_MAGIC);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_VERSION, 4), 2);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_ID, 4), 4);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 1);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4) & 1, 1, "VERSION_1 offered");
	fake_mmio_write(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 4, 0);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_DEVICE_FEATURES, 4), (1u << 28) | (1u << 29),
		     "INDIRECT_DESC and EVENT_IDX offered");
}

Test(virtio_device, rng_fills_buffers_and_interrupts)
{
	uint64_t a = fake_alloc(&f, 512), b = fake_alloc(&f, 512);
	struct fake_buf bufs[2] = { { a, 100, true }, { b, 412, true } };
	uint32_t id, len;
	uint16_t head;

	cr_assert(fake_virtio_start(&f, 0));
	head = fake_post(&f, 0, bufs, 2);
	fake_kick(&f, 0);
	cr_assert(fake_used(&f, 0, &id, &len));
	cr_assert_eq(id, head);
	cr_assert_eq(len, 512);
	cr_assert(!all_equal(fake_ptr(&f, a), 100) && !all_equal(fake_ptr(&f, b), 412));
	cr_assert_eq(fake_irqs(&f), 1);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4), VIRTIO_MMIO_IRQ_USED);
	cr_assert_eq(f.vd.st->queues[0].used_idx, 1, "progress mirrored in the state region");
	cr_assert_eq(f.vd.st->queues[0].last_avail_idx, 1);
	cr_assert_eq(f.vd.st->queues[0].inflight[0], 0, "nothing left in flight");
}

Test(virtio_device, level_semantics_through_resample)
{
	uint64_t a = fake_alloc(&f, 64);
	struct fake_buf buf = { a, 64, true };
	uint32_t id, len;

	cr_assert(fake_virtio_start(&f, 0));
	(void)fake_post(&f, 0, &buf, 1);
	fake_kick(&f, 0);
	cr_assert(fake_used(&f, 0, &id, &len));
	cr_assert_eq(fake_irqs(&f), 1);
	/* EOI without acknowledging: the line must come back. */
	fake_eoi(&f);
	cr_assert_eq(fake_irqs(&f), 1, "unacknowledged interrupt re-asserted after EOI");
	/* Read the status and acknowledge it, as a driver does, then EOI: the line stays down. */
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4), VIRTIO_MMIO_IRQ_USED);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_INTERRUPT_ACK, 4, VIRTIO_MMIO_IRQ_USED);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4), 0);
	fake_eoi(&f);
	cr_assert_eq(fake_irqs(&f), 0, "acknowledged interrupt not re-delivered");
	cr_assert_eq(f.vd.stats.resamples, 2);
}

/*
 * Register writes are posted: the driver reads InterruptStatus, scans its
 * rings and writes InterruptACK, but the ACK may reach the device after it
 * completed another request. That completion must not be acknowledged
 * away: the used-buffer bit stays set and the line up.
 */
Test(virtio_device, late_ack_does_not_swallow_a_newer_completion)
{
	uint64_t a = fake_alloc(&f, 64), b = fake_alloc(&f, 64);
	struct fake_buf b1 = { a, 64, true }, b2 = { b, 64, true };
	uint32_t id, len;

	cr_assert(fake_virtio_start(&f, 0));
	(void)fake_post(&f, 0, &b1, 1);
	fake_kick(&f, 0);
	cr_assert(fake_used(&f, 0, &id, &len));
	cr_assert_eq(fake_irqs(&f), 1);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4), VIRTIO_MMIO_IRQ_USED);
	/* The driver scanned its ring (one entry) and re-enabled notifications; a second request completes... */
	(void)fake_post(&f, 0, &b2, 1);
	fake_kick(&f, 0);
	/* ...before the driver's ACK, written after that status read, arrives. */
	(void)fake_irqs(&f); /* the line is up anyway (level): extra asserts are harmless */
	fake_mmio_write(&f, VIRTIO_MMIO_REG_INTERRUPT_ACK, 4, VIRTIO_MMIO_IRQ_USED);
	cr_assert_eq(fake_irqs(&f), 1, "the late ACK must raise the line again for the newer completion");
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4), VIRTIO_MMIO_IRQ_USED,
		     "the newer completion's notification was acknowledged away");
	fake_eoi(&f);
	cr_assert_eq(fake_irqs(&f), 1, "unacknowledged: re-asserted after EOI");
	cr_assert(fake_used(&f, 0, &id, &len), "the second request completed");
	/* Once the driver has read the status again, an ACK clears it for good. */
	fake_mmio_write(&f, VIRTIO_MMIO_REG_INTERRUPT_ACK, 4, VIRTIO_MMIO_IRQ_USED);
	cr_assert_eq(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4), 0);
}

Test(virtio_device, kick_before_driver_ok_is_served_at_driver_ok)
{
	uint64_t a = fake_alloc(&f, 64);
	struct fake_buf buf = { a, 64, true };
	uint32_t id, len;

	cr_assert(fake_virtio_start(&f, 0));
	/* Back to FEATURES_OK-only is impossible (status bits are sticky): use a fresh start without DRIVER_OK. */
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, 0);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 4, 1);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_DRIVER_FEATURES, 4, 1);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, 0xb);
	f.q[0].avail_idx = 0;
	f.q[0].used_seen = 0;
	memset(fake_ptr(&f, f.q[0].avail), 0, 6 + 2 * FAKE_QSIZE);
	memset(fake_ptr(&f, f.q[0].used), 0, 6 + 8 * FAKE_QSIZE);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_SEL, 4, 0);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_NUM, 4, FAKE_QSIZE);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 4, (uint32_t)f.q[0].desc);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, 4, (uint32_t)f.q[0].avail);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, 4, (uint32_t)f.q[0].used);
	fake_mmio_write(&f, VIRTIO_MMIO_REG_QUEUE_READY, 4, 1);
	(void)fake_post(&f, 0, &buf, 1);
	fake_kick(&f, 0);
	cr_assert(!fake_used(&f, 0, &id, &len), "served before DRIVER_OK");
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, 0xf);
	cr_assert(fake_used(&f, 0, &id, &len), "not served at DRIVER_OK");
}

Test(virtio_device, event_idx_suppresses_and_rearms)
{
	uint64_t a = fake_alloc(&f, 64);
	struct fake_buf buf = { a, 64, true };
	uint16_t used_event = 5, avail_event;
	uint32_t id, len;

	cr_assert(fake_virtio_start(&f, VIRTIO_FEAT_EVENT_IDX));
	/* The driver asks for an interrupt only after the 6th completion. */
	memcpy((uint8_t *)fake_ptr(&f, f.q[0].avail) + 4 + 2 * FAKE_QSIZE, &used_event, 2);
	(void)fake_post(&f, 0, &buf, 1);
	fake_kick(&f, 0);
	cr_assert(fake_used(&f, 0, &id, &len));
	cr_assert_eq(fake_irqs(&f), 0, "interrupt not suppressed by used_event");
	memcpy(&avail_event, (uint8_t *)fake_ptr(&f, f.q[0].used) + 4 + 8 * FAKE_QSIZE, 2);
	cr_assert_eq(avail_event, 1, "avail_event re-armed at last_avail_idx");
	for (int i = 0; i < 5; i++)
		(void)fake_post(&f, 0, &buf, 1);
	fake_kick(&f, 0);
	cr_assert_eq(fake_irqs(&f), 1, "the 6th completion interrupts");
}

static void expect_needs_reset_then_recover(void)
{
	uint64_t a = fake_alloc(&f, 64);
	struct fake_buf buf = { a, 64, true };
	uint32_t id, len;

	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET, "status %#x", status());
	cr_assert(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4) & VIRTIO_MMIO_IRQ_CONFIG);
	cr_assert_geq(fake_irqs(&f), 1, "configuration change interrupt");
	memset(fake_ptr(&f, f.q[0].avail), 0, 6 + 2 * FAKE_QSIZE);
	memset(fake_ptr(&f, f.q[0].used), 0, 6 + 8 * FAKE_QSIZE);
	cr_assert(fake_virtio_start(&f, 0), "re-initialisation after reset");
	cr_assert_eq(status() & VIRTIO_STATUS_NEEDS_RESET, 0);
	(void)fake_post(&f, 0, &buf, 1);
	fake_kick(&f, 0);
	cr_assert(fake_used(&f, 0, &id, &len), "device works again after reset");
	cr_assert_eq(len, 64);
}

Test(virtio_device, readable_buffer_needs_reset)
{
	uint64_t a = fake_alloc(&f, 64);
	struct fake_buf buf = { a, 64, false };
	uint32_t id, len;

	cr_assert(fake_virtio_start(&f, 0));
	(void)fake_post(&f, 0, &buf, 1);
	fake_kick(&f, 0);
	cr_assert(!fake_used(&f, 0, &id, &len));
	expect_needs_reset_then_recover();
}

Test(virtio_device, descriptor_loop_needs_reset)
{
	uint64_t a = fake_alloc(&f, 64);

	cr_assert(fake_virtio_start(&f, 0));
	fake_desc(&f, 0, 0, a, 32, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fake_desc(&f, 0, 1, a + 32, 32, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	fake_make_available(&f, 0, 0);
	fake_kick(&f, 0);
	cr_assert_eq(f.vd.stats.needs_reset, 1);
	expect_needs_reset_then_recover();
}

Test(virtio_device, address_past_ram_needs_reset)
{
	cr_assert(fake_virtio_start(&f, 0));
	fake_desc(&f, 0, 0, FAKE_RAM_SIZE - 16, 32, VIRTQ_DESC_F_WRITE, 0);
	fake_make_available(&f, 0, 0);
	fake_kick(&f, 0);
	expect_needs_reset_then_recover();
}

Test(virtio_device, hostile_avail_index_needs_reset)
{
	uint16_t idx = FAKE_QSIZE + 3;

	cr_assert(fake_virtio_start(&f, 0));
	memcpy((uint8_t *)fake_ptr(&f, f.q[0].avail) + 2, &idx, 2);
	fake_kick(&f, 0);
	expect_needs_reset_then_recover();
}

Test(virtio_device, accesses_outside_the_window_are_unowned)
{
	struct vm_exit e = { .kind = VM_EXIT_MMIO };
	struct vm_reply reply = { .status = VM_REPLY_OK };

	e.u.mmio.addr = FAKE_MMIO_BASE + VIRTIO_MMIO_WINDOW_SIZE;
	e.u.mmio.len = 4;
	virtio_dev_handle(&f.vd, &e, &reply);
	cr_assert_eq(reply.status, VM_REPLY_ERROR);
	e.kind = VM_EXIT_PIO;
	virtio_dev_handle(&f.vd, &e, &reply);
	cr_assert_eq(reply.status, VM_REPLY_ERROR);
}

Test(virtio_device, sandbox_rules_are_bound_to_the_devices_fds)
{
	struct sandbox_fd_rule rules[8];
	unsigned n = virtio_dev_sandbox_rules(&f.vd, rules, 8);
	bool notify = false, resample = false, irq = false, getrandom = false;

	for (unsigned i = 0; i < n; i++) {
		notify |= rules[i].nr == SYS_read && rules[i].fd == f.notify_fds[0];
		resample |= rules[i].nr == SYS_read && rules[i].fd == f.resample_fd;
		irq |= rules[i].nr == SYS_write && rules[i].fd == f.irq_fd;
		getrandom |= rules[i].nr == SYS_getrandom;
		cr_assert(rules[i].why && *rules[i].why);
	}
	cr_assert(notify && resample && irq && getrandom, "rules: %u", n);
}

Test(virtio_device, params)
{
	const char *params[] = { "ro", "id=disk one", "cache=none", NULL };

	fake_virtio_teardown(&f);
	cr_assert_eq(fake_virtio_setup(&f, &virtio_rng_device_model, 1, -1, params), 0);
	cr_assert_str_eq(virtio_dev_param(&f.vd, "ro"), "");
	cr_assert_str_eq(virtio_dev_param(&f.vd, "id"), "disk one");
	cr_assert_str_eq(virtio_dev_param(&f.vd, "cache"), "none");
	cr_assert_null(virtio_dev_param(&f.vd, "c"));
	cr_assert_null(virtio_dev_param(&f.vd, "mac"));
}

/* ---- a successor worker resuming (virtio_state.h, "In-flight tracking") ---- */

/* Takes the next chain of queue 0 as a model would, and "dies" before completing it. */
static uint16_t take_and_die(void)
{
	static struct virtq_chain chain;

	cr_assert_eq(virtio_dev_pop(&f.vd, 0, &chain), 1);
	return chain.head;
}

/* The driver starts queue 0 and posts one 64-byte buffer: its head. */
static uint16_t start_and_post(void)
{
	struct fake_buf buf = { fake_alloc(&f, 64), 64, true };

	cr_assert(fake_virtio_start(&f, 0));
	return fake_post(&f, 0, &buf, 1);
}

static unsigned used_count(void)
{
	uint32_t id, len;
	unsigned n = 0;

	while (fake_used(&f, 0, &id, &len))
		n++;
	return n;
}

Test(virtio_device, restart_resubmits_a_chain_left_in_flight)
{
	uint32_t id, len;
	uint16_t head = start_and_post();

	cr_assert_eq(take_and_die(), head);
	cr_assert(virtio_state_inflight_test(f.vd.st, 0, head));
	cr_assert_eq(fake_virtio_restart(&f, &virtio_rng_device_model), 0);
	cr_assert(fake_used(&f, 0, &id, &len), "the successor completed the chain");
	cr_assert_eq(id, head);
	cr_assert_eq(len, 64);
	cr_assert_not(fake_used(&f, 0, &id, &len), "exactly once");
	cr_assert_not(virtio_state_inflight_test(f.vd.st, 0, head));
	cr_assert_eq(f.vd.stats.replayed, 1);
	cr_assert(status() & VIRTIO_STATUS_DRIVER_OK, "no reset: the driver never notices");
	cr_assert_geq(fake_irqs(&f), 1, "the driver is interrupted");
}

Test(virtio_device, restart_after_a_take_that_did_not_finish)
{
	struct virtio_queue_state *qs = &f.vd.st->queues[0];
	uint16_t head = start_and_post();

	cr_assert_eq(take_and_die(), head);
	/* The crash came after the bit, before the index: journal open, index not advanced. */
	qs->last_avail_idx--;
	qs->take_journal = virtio_journal_make(head, qs->last_avail_idx);
	cr_assert_eq(fake_virtio_restart(&f, &virtio_rng_device_model), 0);
	cr_assert_eq(used_count(), 1, "taken again from the available ring, once");
	cr_assert_eq(f.vd.stats.replayed, 0, "not also resubmitted");
	cr_assert_eq(qs->take_journal, 0);
	cr_assert_eq(qs->inflight[0], 0);
}

Test(virtio_device, restart_after_a_completion_that_did_not_finish)
{
	struct virtio_queue_state *qs = &f.vd.st->queues[0];
	uint16_t head = start_and_post();

	fake_kick(&f, 0);
	cr_assert_eq(used_count(), 1);
	/* The crash came after used->idx reached the guest, before the state caught up. */
	qs->used_idx--;
	cr_assert(virtio_state_inflight_set(f.vd.st, 0, head));
	qs->push_journal = virtio_journal_make(head, (uint16_t)(qs->used_idx + 1));
	cr_assert_eq(fake_virtio_restart(&f, &virtio_rng_device_model), 0);
	cr_assert_eq(used_count(), 0, "published once: not completed a second time");
	cr_assert_eq(f.vd.stats.replayed, 0);
	cr_assert_eq(qs->used_idx, 1);
	cr_assert_eq(qs->inflight[0], 0);
	cr_assert_eq(qs->push_journal, 0);
}

Test(virtio_device, restart_after_a_completion_that_never_reached_the_guest)
{
	struct virtio_queue_state *qs = &f.vd.st->queues[0];
	uint16_t head = start_and_post();

	cr_assert_eq(take_and_die(), head);
	/* Journal opened, nothing published: the chain is still in flight. */
	qs->push_journal = virtio_journal_make(head, (uint16_t)(qs->used_idx + 1));
	cr_assert_eq(fake_virtio_restart(&f, &virtio_rng_device_model), 0);
	cr_assert_eq(used_count(), 1, "resubmitted and completed once");
	cr_assert_eq(f.vd.stats.replayed, 1);
}

Test(virtio_device, restart_on_a_scribbled_state_needs_reset_then_recovers)
{
	uint64_t a = fake_alloc(&f, 64);
	struct fake_buf buf = { a, 64, true };
	uint32_t id, len;

	cr_assert(fake_virtio_start(&f, 0));
	memset(f.state, 0x5a, VIRTIO_DEVICE_STATE_SIZE); /* a compromised worker's last act */
	cr_assert_eq(fake_virtio_restart(&f, &virtio_rng_device_model), 0);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET, "status %#x", status());
	cr_assert(fake_mmio_read(&f, VIRTIO_MMIO_REG_INTERRUPT_STATUS, 4) & VIRTIO_MMIO_IRQ_CONFIG,
		  "a configuration change interrupt tells the driver");
	cr_assert_geq(fake_irqs(&f), 1);
	/* The driver's reset brings the device back. */
	fake_mmio_write(&f, VIRTIO_MMIO_REG_STATUS, 4, 0);
	cr_assert(fake_virtio_start(&f, 0));
	(void)fake_post(&f, 0, &buf, 1);
	fake_kick(&f, 0);
	cr_assert(fake_used(&f, 0, &id, &len));
	cr_assert_eq(len, 64);
}

Test(virtio_device, restart_of_a_device_the_driver_never_set_up)
{
	cr_assert_eq(fake_virtio_restart(&f, &virtio_rng_device_model), 0);
	cr_assert_eq(status(), 0, "resumed as it was: untouched");
	cr_assert(fake_virtio_start(&f, 0));
}
