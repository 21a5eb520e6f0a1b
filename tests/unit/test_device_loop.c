/* SPDX-License-Identifier: MIT */
/*
 * The device worker loop (device-worker/worker_loop.c) over real rings in
 * heap memory, a real eventfd doorbell and a SOCK_SEQPACKET control pair.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/platform.h"
#include "device-worker/models/testdev_model.h"
#include "device-worker/models/uart_model.h"
#include "tests/unit/console_peer.h"
#include "device-worker/worker_loop.h"
#include <stdatomic.h>
#include "proto/reply.h"
#include "proto/wire.h"

#define NRINGS 2
#define NSLOTS 16u

struct fixture {
	void *mem[NRINGS];
	size_t size;
	struct ring_producer prod[NRINGS];
	int doorbell;
	int ctl_monitor; /* the monitor's end */
	int ctl_device;
	struct console_peer console; /* the uart's console rings */
	struct device_host host;
	void *state;
	const struct device_model *model;
	struct worker_loop wl;
	struct vm_wire_decoder dec;
	struct worker_status status;
};

static struct fixture fx;

static void setup_model(const struct device_model *model)
{
	int sv[2];

	memset(&fx, 0, sizeof(fx));
	fx.size = ring_region_size(NSLOTS);
	fx.doorbell = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(fx.doorbell, 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	fx.ctl_monitor = sv[0];
	fx.ctl_device = sv[1];
	console_peer_init(&fx.console);
	cr_assert_eq(vm_wire_decoder_init(&fx.dec), 0);

	device_host_init(&fx.host, "loop-test", fx.ctl_device, STDERR_FILENO);
	fx.host.console = fx.console.ring;
	fx.host.console_kick_fd = fx.console.kick;
	fx.model = model;
	fx.state = calloc(1, model->state_size);
	cr_assert_not_null(fx.state);
	cr_assert_eq(model->init(fx.state, &fx.host), 0);
	cr_assert_eq(worker_loop_init(&fx.wl, model, fx.state, &fx.host, fx.doorbell), 0);
	fx.wl.status = &fx.status;
	fx.wl.spin_iters = 10;
	for (unsigned i = 0; i < NRINGS; i++) {
		fx.mem[i] = aligned_alloc(4096, (fx.size + 4095) & ~(size_t)4095);
		cr_assert_not_null(fx.mem[i]);
		memset(fx.mem[i], 0, fx.size);
		cr_assert_eq(ring_region_init(fx.mem[i], fx.size, NSLOTS), 0);
		cr_assert_eq(ring_producer_attach(&fx.prod[i], fx.mem[i], fx.size, fx.doorbell, 10), 0);
		cr_assert_eq(worker_loop_add_ring(&fx.wl, fx.mem[i], fx.size), 0);
	}
}

static void setup_testdev(void)
{
	setup_model(&testdev_device_model);
}

static void setup_uart(void)
{
	setup_model(&uart_device_model);
}

static void teardown(void)
{
	worker_loop_fini(&fx.wl);
	vm_wire_decoder_fini(&fx.dec);
	for (unsigned i = 0; i < NRINGS; i++)
		free(fx.mem[i]);
	free(fx.state);
	close(fx.doorbell);
	if (fx.ctl_monitor >= 0)
		close(fx.ctl_monitor);
	close(fx.ctl_device);
	console_peer_fini(&fx.console);
}

static uint32_t push_exit(unsigned ring, const struct vm_exit *e)
{
	uint8_t buf[VM_WIRE_MAX];
	size_t len;
	uint32_t seq;

	cr_assert_eq(vm_exit_encode(e, buf, sizeof(buf), &len), 0);
	cr_assert_eq(ring_push(&fx.prod[ring], buf, (uint32_t)len, &seq), 0);
	return seq;
}

static uint32_t push_mmio(unsigned ring, uint64_t addr, bool write, uint8_t len, uint64_t v)
{
	struct vm_exit e = { .kind = VM_EXIT_MMIO };

	e.u.mmio.addr = addr;
	e.u.mmio.write = write;
	e.u.mmio.len = len;
	for (unsigned i = 0; write && i < len; i++)
		e.u.mmio.data[i] = (uint8_t)(v >> (8 * i));
	return push_exit(ring, &e);
}

static uint32_t push_pio(unsigned ring, uint16_t port, bool write, uint8_t len, uint32_t v)
{
	struct vm_exit e = { .kind = VM_EXIT_PIO };

	e.u.pio.port = port;
	e.u.pio.write = write;
	e.u.pio.len = len;
	for (unsigned i = 0; write && i < len; i++)
		e.u.pio.data[i] = (uint8_t)(v >> (8 * i));
	return push_exit(ring, &e);
}

static struct vm_reply get_reply(unsigned ring, uint32_t seq)
{
	uint8_t buf[RING_RECORD_MAX];
	struct vm_reply r;
	uint32_t len;

	cr_assert_eq(ring_wait_reply(&fx.prod[ring], seq, buf, sizeof(buf), &len), 0);
	cr_assert_eq(vm_reply_unpack(buf, len, &r), 0);
	return r;
}

static uint64_t reply_value(const struct vm_reply *r)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < r->len; i++)
		v |= (uint64_t)r->data[i] << (8 * i);
	return v;
}

static bool reply_ready(unsigned ring, uint32_t seq)
{
	const struct ring_header *h = fx.mem[ring];

	return atomic_load(&h->reply_seq) == seq + 1;
}

static void send_control(uint32_t type, size_t size)
{
	struct control_msg m = { .type = type };
	uint8_t buf[32] = { 0 };

	memcpy(buf, &m, sizeof(m));
	cr_assert_eq(send(fx.ctl_monitor, buf, size, 0), (ssize_t)size);
}

/* The next control message from the device, or type 0 if none within ms. */
static struct control_msg recv_control(int ms)
{
	struct control_msg m = { 0 };
	struct pollfd p = { .fd = fx.ctl_monitor, .events = POLLIN };

	if (poll(&p, 1, ms) == 1)
		cr_assert_eq(recv(fx.ctl_monitor, &m, sizeof(m), 0), (ssize_t)sizeof(m));
	return m;
}

static int run_once(void)
{
	return worker_loop_run_once(&fx.wl, 0);
}

Test(device_loop, read_gets_reply_after_posted_write, .init = setup_testdev, .fini = teardown)
{
	uint32_t seq;
	struct vm_reply r;

	push_mmio(0, TESTDEV_MMIO_BASE + 0x18, true, 8, 0x1122334455667788ull);
	seq = push_mmio(0, TESTDEV_MMIO_BASE + 0x18, false, 8, 0);
	cr_assert_not(reply_ready(0, seq));
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r = get_reply(0, seq);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_eq(r.len, 8);
	cr_assert_eq(reply_value(&r), 0x1122334455667788ull);
	cr_assert_eq(fx.wl.records, 2);
	cr_assert_eq(atomic_load(&fx.status.records), 2);
	cr_assert_eq(ring_pending(&fx.wl.rings[0].c), 0);
}

Test(device_loop, hypercall_and_pio_replies, .init = setup_testdev, .fini = teardown)
{
	struct vm_exit e = { .kind = VM_EXIT_HYPERCALL };
	struct vm_reply r;
	uint32_t seq;

	e.u.hypercall.func = TESTDEV_HC_SIGNATURE;
	seq = push_exit(1, &e);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r = get_reply(1, seq);
	cr_assert_eq(r.len, 8);
	cr_assert_eq(reply_value(&r), TESTDEV_SIGNATURE);

	push_pio(1, TESTDEV_PIO_SCRATCH_PORT, true, 4, 0xcafef00d);
	seq = push_pio(1, TESTDEV_PIO_SCRATCH_PORT, false, 2, 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r = get_reply(1, seq);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_eq(r.len, 2);
	cr_assert_eq(reply_value(&r), 0xf00d);
}

Test(device_loop, every_ring_is_served, .init = setup_testdev, .fini = teardown)
{
	struct vm_reply r0, r1;
	uint32_t s0, s1;

	push_mmio(0, TESTDEV_MMIO_BASE + 0x0, true, 4, 0xaaaa);
	push_mmio(1, TESTDEV_MMIO_BASE + 0x8, true, 4, 0xbbbb);
	/* No order across rings (vCPUs): let both writes land first. */
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	s0 = push_mmio(0, TESTDEV_MMIO_BASE + 0x8, false, 4, 0);
	s1 = push_mmio(1, TESTDEV_MMIO_BASE + 0x0, false, 4, 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r0 = get_reply(0, s0);
	r1 = get_reply(1, s1);
	cr_assert_eq(reply_value(&r0), 0xbbbb);
	cr_assert_eq(reply_value(&r1), 0xaaaa);
}

Test(device_loop, unowned_read_gets_error_reply, .init = setup_testdev, .fini = teardown)
{
	uint32_t seq = push_pio(0, COM1_PORT_BASE, false, 1, 0);
	struct vm_reply r;

	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r = get_reply(0, seq);
	cr_assert_eq(r.status, VM_REPLY_ERROR);
	cr_assert_eq(r.len, 1);
	cr_assert_eq(r.data[0], 0xff);
}

Test(device_loop, undecodable_record_abandons_the_ring, .init = setup_testdev, .fini = teardown)
{
	static const uint8_t junk[] = { 0xc1, 0xc1, 0xc1 }; /* 0xc1 is never valid msgpack */
	struct control_msg m;
	uint32_t seq, s0;

	cr_assert_eq(ring_push(&fx.prod[1], junk, sizeof(junk), &seq), 0);
	seq = push_mmio(1, TESTDEV_MMIO_BASE, false, 1, 0);
	s0 = push_mmio(0, TESTDEV_MMIO_BASE, false, 1, 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);

	m = recv_control(1000);
	cr_assert_eq(m.type, CONTROL_RING_ERROR);
	cr_assert_eq(m.arg, 1);
	cr_assert_lt(m.value, 0);
	cr_assert(fx.wl.rings[1].dead);
	cr_assert_eq(ring_pending(&fx.wl.rings[1].c), 2, "the junk and the read after it are never consumed");
	cr_assert_not(reply_ready(1, seq), "and gets no reply");
	cr_assert_eq(get_reply(0, s0).status, VM_REPLY_OK, "other vCPUs are still served");

	/* Later records on the dead ring stay untouched, and no second error is sent. */
	push_mmio(1, TESTDEV_MMIO_BASE, true, 1, 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(ring_pending(&fx.wl.rings[1].c), 3);
	m = recv_control(50);
	cr_assert_eq(m.type, 0);
}

Test(device_loop, impossible_tail_is_a_ring_error, .init = setup_testdev, .fini = teardown)
{
	struct ring_header *h = fx.mem[0];
	struct control_msg m;

	atomic_store(&h->tail, NSLOTS + 5); /* more records than slots */
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	m = recv_control(1000);
	cr_assert_eq(m.type, CONTROL_RING_ERROR);
	cr_assert_eq(m.arg, 0);
	cr_assert_eq(m.value, -EPROTO);
	cr_assert(fx.wl.rings[0].dead);
	cr_assert_not(fx.wl.rings[1].dead);
	/* The loop goes on sleeping and serving with the broken ring ignored. */
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
}

Test(device_loop, exit_port_sends_vm_exit, .init = setup_testdev, .fini = teardown)
{
	struct control_msg m;

	push_pio(0, TESTDEV_EXIT_PORT, true, 1, 77);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	m = recv_control(1000);
	cr_assert_eq(m.type, CONTROL_VM_EXIT);
	cr_assert_eq(m.arg, 77);
	cr_assert_eq(m.value, 0);
	push_pio(1, TESTDEV_EXIT_PORT, true, 1, 1);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(recv_control(50).type, 0, "the VM exit is requested once");
}

Test(device_loop, stop_drains_pending_records_and_flushes, .init = setup_uart, .fini = teardown)
{
	const char *msg = "bye!\n";
	char buf[16];

	/* Handle two records, then look at the control socket while five are still queued. */
	fx.wl.drain_budget = 2;
	for (const char *p = msg; *p; p++)
		push_pio((unsigned)(p - msg) % NRINGS, COM1_PORT_BASE, true, 1, (uint8_t)*p);
	push_pio(0, COM1_PORT_BASE + UART_SCR, true, 1, 0x42);
	push_pio(0, COM1_PORT_BASE + UART_SCR, true, 1, 0x43);
	send_control(CONTROL_STOP, sizeof(struct control_msg));
	cr_assert_eq(worker_loop_run_once(&fx.wl, 1000), WORKER_LOOP_STOP);
	cr_assert_eq(fx.wl.records, 7);
	cr_assert_eq(ring_pending(&fx.wl.rings[0].c), 0);
	cr_assert_eq(ring_pending(&fx.wl.rings[1].c), 0);
	cr_assert_eq(((struct uart_model *)fx.state)->uart.scr, 0x43);
	cr_assert_eq(console_peer_take(&fx.console, buf, sizeof(buf)), 5, "all of it was published");
	cr_assert_geq(console_peer_kicks(&fx.console), 1, "and the monitor woken");
	/* Order across rings is round-robin per pass; each ring's own order holds. */
	cr_assert_eq(buf[0], 'b');
	cr_assert_eq(worker_loop_run_once(&fx.wl, 0), WORKER_LOOP_STOP, "stopped stays stopped");
}

Test(device_loop, stop_while_idle, .init = setup_testdev, .fini = teardown)
{
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	send_control(CONTROL_STOP, sizeof(struct control_msg));
	cr_assert_eq(worker_loop_run_once(&fx.wl, 1000), WORKER_LOOP_STOP);
	cr_assert_eq(worker_loop_run(&fx.wl), 0);
}

Test(device_loop, bad_control_messages_are_ignored, .init = setup_testdev, .fini = teardown)
{
	uint32_t seq;

	send_control(CONTROL_STOP, sizeof(struct control_msg) - 1);
	send_control(CONTROL_STOP, sizeof(struct control_msg) + 4);
	send_control(CONTROL_READY, sizeof(struct control_msg));
	send_control(999, sizeof(struct control_msg));
	cr_assert_eq(worker_loop_run_once(&fx.wl, 1000), WORKER_LOOP_CONTINUE);
	cr_assert_not(fx.wl.stopped);
	seq = push_mmio(0, TESTDEV_MMIO_BASE, false, 1, 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(get_reply(0, seq).status, VM_REPLY_OK);
}

Test(device_loop, closed_control_socket_is_fatal, .init = setup_testdev, .fini = teardown)
{
	close(fx.ctl_monitor);
	fx.ctl_monitor = -1;
	cr_assert_eq(worker_loop_run_once(&fx.wl, 1000), -EPIPE);
}

Test(device_loop, busy_loop_still_sees_stop, .init = setup_testdev, .fini = teardown)
{
	/* More records than one drain budget: the loop looks at the control socket without sleeping. */
	fx.wl.drain_budget = 4;
	for (unsigned i = 0; i < 10; i++)
		push_mmio(i % NRINGS, TESTDEV_MMIO_BASE, true, 1, i);
	send_control(CONTROL_STOP, sizeof(struct control_msg));
	cr_assert_eq(worker_loop_run_once(&fx.wl, 0), WORKER_LOOP_STOP);
	cr_assert_eq(fx.wl.sleeps, 0);
	cr_assert_eq(fx.wl.records, 10, "and still drains everything before stopping");
}

Test(device_loop, busy_loop_flushes_the_console, .init = setup_uart, .fini = teardown)
{
	char buf[16];

	fx.wl.drain_budget = 4;
	for (unsigned i = 0; i < 6; i++)
		push_pio(0, COM1_PORT_BASE, true, 1, 'a' + i);
	cr_assert_eq(worker_loop_run_once(&fx.wl, 0), WORKER_LOOP_CONTINUE);
	cr_assert_eq(fx.wl.sleeps, 0, "it never went idle");
	cr_assert_eq(console_peer_kicks(&fx.console), 1, "but the monitor was woken for the first batch");
	cr_assert_eq(console_peer_take(&fx.console, buf, sizeof(buf)), 4);
	cr_assert_arr_eq(buf, "abcd", 4);
	cr_assert_eq(worker_loop_run_once(&fx.wl, 0), WORKER_LOOP_CONTINUE);
	cr_assert_eq(console_peer_take(&fx.console, buf, sizeof(buf)), 2);
	cr_assert_arr_eq(buf, "ef", 2);
}

struct late_push {
	unsigned ring;
	uint32_t seq;
};

static void *late_pusher(void *arg)
{
	struct late_push *lp = arg;

	const struct ring_header *h = fx.mem[lp->ring];

	/* Push only once the loop announced its sleep: the push must ring. */
	while (!atomic_load(&h->consumer_sleeping))
		usleep(100);
	usleep(10 * 1000); /* most likely in poll() by now; either way the doorbell is rung */
	lp->seq = push_mmio(lp->ring, TESTDEV_MMIO_BASE + 0x10, false, 2, 0);
	return NULL;
}

Test(device_loop, doorbell_wakes_a_sleeping_loop, .init = setup_testdev, .fini = teardown)
{
	struct late_push lp = { .ring = 1 };
	pthread_t t;
	uint64_t count;
	struct vm_reply r;
	int rc = WORKER_LOOP_CONTINUE;

	cr_assert_eq(pthread_create(&t, NULL, late_pusher, &lp), 0);
	/* Sleeps until the doorbell; bounded so a lost wake-up fails rather than hangs. */
	rc = worker_loop_run_once(&fx.wl, 5000);
	cr_assert_eq(rc, WORKER_LOOP_CONTINUE);
	cr_assert_eq(fx.wl.doorbells, 1, "woken by the doorbell, not the timeout");
	pthread_join(t, NULL);
	cr_assert_eq(fx.prod[1].doorbells, 1);
	fcntl(fx.doorbell, F_SETFL, O_NONBLOCK);
	cr_assert_eq(read(fx.doorbell, &count, sizeof(count)), -1, "the eventfd was reset");
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(ring_pending(&fx.wl.rings[1].c), 1);
	cr_assert_eq(atomic_load(&((struct ring_header *)fx.mem[1])->consumer_sleeping), 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r = get_reply(1, lp.seq);
	cr_assert_eq(r.status, VM_REPLY_OK);
	cr_assert_eq(r.len, 2);
}

Test(device_loop, busy_producer_never_rings, .init = setup_testdev, .fini = teardown)
{
	for (unsigned i = 0; i < 40; i++) {
		uint32_t seq = push_mmio(i % NRINGS, TESTDEV_MMIO_BASE + 8 * i, false, 8, 0);

		cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
		cr_assert_eq(get_reply(i % NRINGS, seq).status, VM_REPLY_OK);
	}
	cr_assert_eq(fx.prod[0].doorbells + fx.prod[1].doorbells, 0,
		     "records pushed while the loop is awake need no doorbell");
}

/*
 * Two vCPUs write one console: vCPU 1 posts "ab", then (after a guest lock
 * hand-over, say) vCPU 0 posts "cd", then vCPU 1 "e". With one order counter
 * per device, the device serves them in push order across rings, as
 * hardware would, not ring by ring.
 */
Test(device_loop, records_are_served_in_push_order_across_rings, .init = setup_uart, .fini = teardown)
{
	static _Atomic uint32_t order;
	const unsigned ring_of[] = { 1, 1, 0, 0, 1 };
	const char *msg = "abcde";
	char buf[16] = { 0 };

	atomic_store(&order, 0xfffffffeu); /* stamps wrap around in the middle */
	for (unsigned i = 0; i < NRINGS; i++)
		fx.prod[i].order_counter = &order;
	for (unsigned i = 0; i < 5; i++)
		push_pio(ring_of[i], COM1_PORT_BASE, true, 1, (uint8_t)msg[i]);
	send_control(CONTROL_STOP, sizeof(struct control_msg));
	cr_assert_eq(worker_loop_run_once(&fx.wl, 1000), WORKER_LOOP_STOP);
	cr_assert_eq(console_peer_take(&fx.console, buf, sizeof(buf) - 1), 5);
	cr_assert_str_eq(buf, "abcde", "console shows the push order, got '%s'", buf);
}

/*
 * testdev with its state region (device-worker/persist.h): a counter read
 * applied by a worker that died before moving head is undone by its
 * successor and applied again, so the guest's read sees the counter move
 * by exactly one.
 */
Test(device_loop, a_read_applied_by_a_dead_worker_counts_once, .init = setup_testdev, .fini = teardown)
{
	static _Alignas(4096) uint8_t region_mem[DEVICE_PERSIST_REGION_SIZE];
	struct persist_region *region = (struct persist_region *)region_mem;
	struct ring_consumer rings[NRINGS];
	const struct vm_exit *e;
	struct vm_exit decoded;
	uint8_t rec[RING_RECORD_MAX];
	uint32_t seq, len, rseq;
	const char *why = NULL;
	bool fresh = false;
	struct vm_reply r;

	for (unsigned i = 0; i < NRINGS; i++)
		rings[i] = fx.wl.rings[i].c;
	cr_assert_eq(persist_open(region, sizeof(region_mem), "testdev", testdev_device_model.persist_size, 0, rings,
				  NRINGS, &fresh, &why), 0);
	fx.host.persist = region->data;
	fx.host.persist_fresh = fresh;
	cr_assert_eq(testdev_device_model.init(fx.state, &fx.host), 0);
	fx.wl.persist = region;

	seq = push_mmio(0, TESTDEV_MMIO_BASE + TESTDEV_COUNTER_OFFSET, false, 8, 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r = get_reply(0, seq);
	cr_assert_eq(r.data[0], 1, "first read");
	cr_assert_eq(region->journal, 0, "closed once head moved");

	/* The next read is applied and answered, and the worker dies before head moves. */
	seq = push_mmio(0, TESTDEV_MMIO_BASE + TESTDEV_COUNTER_OFFSET, false, 8, 0);
	cr_assert_eq(ring_peek(&fx.wl.rings[0].c, rec, sizeof(rec), &len, &rseq), 0);
	cr_assert_eq(vm_exit_decode(&fx.wl.decoder, rec, len, &decoded), 0);
	e = &decoded;
	{
		size_t off = 0, n = 0;

		testdev_device_model.journal_range(fx.state, e, &off, &n);
		persist_begin(region, 0, rseq, off, n);
		memset(&r, 0, sizeof(r));
		testdev_device_model.handle(fx.state, e, &r);
		cr_assert_eq(r.data[0], 2);
	}
	/* The successor: the journal undoes the read, the loop applies it again. */
	cr_assert_eq(persist_open(region, sizeof(region_mem), "testdev", testdev_device_model.persist_size, 1, rings,
				  NRINGS, &fresh, &why), 0);
	cr_assert_not(fresh, "%s", why ? why : "");
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	r = get_reply(0, seq);
	cr_assert_eq(r.data[0], 2, "the guest sees 2: the dead worker's apply did not count");
	seq = push_mmio(0, TESTDEV_MMIO_BASE + TESTDEV_COUNTER_OFFSET, false, 8, 0);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(get_reply(0, seq).data[0], 3);
}

/* A successor reports its first completed request once (CONTROL_SERVED); a first worker never does. */
Test(device_loop, a_successor_reports_its_first_request_once, .init = setup_testdev, .fini = teardown)
{
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(recv_control(20).type, 0, "nothing served yet");
	fx.host.restart = 1;
	push_mmio(0, TESTDEV_MMIO_BASE + 0x18, true, 8, 1);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(recv_control(50).type, CONTROL_SERVED);
	push_mmio(0, TESTDEV_MMIO_BASE + 0x18, true, 8, 2);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(recv_control(20).type, 0, "once");
}

Test(device_loop, a_first_worker_never_reports_served, .init = setup_testdev, .fini = teardown)
{
	push_mmio(0, TESTDEV_MMIO_BASE + 0x18, true, 8, 1);
	cr_assert_eq(run_once(), WORKER_LOOP_CONTINUE);
	cr_assert_eq(recv_control(20).type, 0);
}
