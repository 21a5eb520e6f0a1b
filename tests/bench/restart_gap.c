/* SPDX-License-Identifier: MIT */
/*
 * restart_gap: how long a virtio device is gone when its worker dies, on
 * this host, with no KVM: the time from a worker's death to the first
 * request its successor completes.
 *
 *   restart_gap SQUIB_DEVICE [ROUNDS]      (make bench passes build/squib-device, 20)
 *
 * The program plays the monitor and a vCPU: it creates what the monitor
 * would (guest RAM, one ring, the device-state region, eventfds, the
 * control socket), starts a real squib-device (virtio-rng) with a
 * configuration record as the spawner does, and drives the device's
 * registers through the ring with VmExit records, as a vCPU worker would.
 * Each round: a buffer is posted on the queue, the worker is SIGKILLed and
 * reaped (the clock starts), the queue is kicked (a guest's kick during the
 * gap), a successor is started with `restart n`, and the clock stops when
 * the used ring shows the buffer completed. Prints the median and worst of
 * the rounds, and how much of it was the successor's exec-to-READY. Asserts
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "device-worker/virtio/virtio_mmio.h"
#include "proto/control.h"
#include "proto/device_config.h"
#include "proto/reply.h"
#include "proto/ring.h"
#include "proto/virtio_devices.h"
#include "proto/wire.h"

#define RAM_SIZE (16u << 20)
#define MMIO_BASE 0xd0000000ull
#define QSIZE 16u
#define DESC_GPA 0x10000u
#define AVAIL_GPA 0x11000u
#define USED_GPA 0x12000u
#define BUF_GPA 0x20000u
#define MAX_ROUNDS 200

struct rig {
	const char *binary;
	uint8_t *ram;
	int ram_fd, state_fd, status_fd, ring_fd, doorbell, notify, irq, resample, ctl[2];
	void *ring_mem;
	size_t ring_size;
	struct ring_producer prod;
	struct vm_wire_decoder dec;
	pid_t pid;
	uint16_t avail_idx;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "restart_gap: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int shared_fd(const char *name, size_t size, void **map)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die(name);
	if (map) {
		*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*map == MAP_FAILED)
			die(name);
	}
	return fd;
}

/* Starts squib-device with restart n, as the spawner does, and waits for CONTROL_READY. */
static void start_worker(struct rig *r, uint32_t restart)
{
	struct device_config c;
	uint8_t buf[DEVICE_CONFIG_MAX_BYTES];
	char err[256], arg[16];
	int fds[] = { r->ram_fd, r->state_fd, r->status_fd, r->ring_fd, r->doorbell, r->notify, r->irq, r->resample,
		      r->ctl[1] };
	struct control_msg m;
	size_t len = 0;
	int cfd;

	device_config_init(&c);
	snprintf(c.model, sizeof(c.model), "virtio-rng");
	snprintf(c.name, sizeof(c.name), "rng0");
	c.ram_fd = r->ram_fd;
	c.ram_size = RAM_SIZE;
	c.control_fd = r->ctl[1];
	c.status_fd = r->status_fd;
	c.doorbell_fd = r->doorbell;
	c.ring_fds[0] = r->ring_fd;
	c.nrings = 1;
	c.ring_size = r->ring_size;
	c.state_fd = r->state_fd;
	c.has_mmio_base = true;
	c.mmio_base = MMIO_BASE;
	c.notify_fds[0] = r->notify;
	c.nnotify = 1;
	c.irq_fd = r->irq;
	c.resample_fd = r->resample;
	c.restart = restart;
	if (device_config_encode(&c, buf, sizeof(buf), &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "restart_gap: %s\n", err);
		exit(1);
	}
	cfd = memfd_create("config", MFD_CLOEXEC);
	if (cfd < 0 || write(cfd, buf, len) != (ssize_t)len)
		die("config memfd");
	snprintf(arg, sizeof(arg), "%d", cfd);
	r->pid = fork();
	if (r->pid < 0)
		die("fork");
	if (r->pid == 0) {
		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			(void)fcntl(fds[i], F_SETFD, 0);
		(void)fcntl(cfd, F_SETFD, 0);
		execl(r->binary, r->binary, "--config-fd", arg, (char *)NULL);
		_exit(127);
	}
	close(cfd);
	/* A predecessor's CONTROL_SERVED (its first completed request) may still be queued: skipped. */
	do {
		if (recv(r->ctl[0], &m, sizeof(m), 0) != (ssize_t)sizeof(m)) {
			fprintf(stderr, "restart_gap: the worker did not get ready\n");
			exit(1);
		}
	} while (m.type == CONTROL_SERVED);
	if (m.type != CONTROL_READY) {
		fprintf(stderr, "restart_gap: the worker sent control message %u instead of READY\n", m.type);
		exit(1);
	}
}

/* One register access through the ring, as a vCPU worker makes it. */
static uint32_t mmio(struct rig *r, uint64_t off, bool write, uint32_t value)
{
	struct vm_exit e = { .kind = VM_EXIT_MMIO };
	uint8_t buf[VM_WIRE_MAX];
	struct vm_reply reply;
	uint32_t seq, len = 0, v = 0;
	size_t n;

	e.u.mmio.addr = MMIO_BASE + off;
	e.u.mmio.len = 4;
	e.u.mmio.write = write;
	memcpy(e.u.mmio.data, &value, 4);
	if (vm_exit_encode(&e, buf, sizeof(buf), &n) < 0 || ring_push(&r->prod, buf, (uint32_t)n, &seq) < 0)
		die("ring push");
	if (write)
		return 0;
	if (ring_wait_reply(&r->prod, seq, buf, sizeof(buf), &len) < 0 || vm_reply_unpack(buf, len, &reply) < 0)
		die("ring reply");
	memcpy(&v, reply.data, 4);
	return v;
}

/* The driver's side of virtio 1.2 3.1: features VERSION_1 only, queue 0 of QSIZE entries. */
static void driver_start(struct rig *r)
{
	mmio(r, VIRTIO_MMIO_REG_STATUS, true, 0);
	mmio(r, VIRTIO_MMIO_REG_STATUS, true, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio(r, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, true, 1);
	mmio(r, VIRTIO_MMIO_REG_DRIVER_FEATURES, true, 1); /* VERSION_1 */
	mmio(r, VIRTIO_MMIO_REG_STATUS, true,
	     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	mmio(r, VIRTIO_MMIO_REG_QUEUE_SEL, true, 0);
	mmio(r, VIRTIO_MMIO_REG_QUEUE_NUM, true, QSIZE);
	mmio(r, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, true, DESC_GPA);
	mmio(r, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, true, AVAIL_GPA);
	mmio(r, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, true, USED_GPA);
	mmio(r, VIRTIO_MMIO_REG_QUEUE_READY, true, 1);
	mmio(r, VIRTIO_MMIO_REG_STATUS, true,
	     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	if (!(mmio(r, VIRTIO_MMIO_REG_STATUS, false, 0) & VIRTIO_STATUS_DRIVER_OK)) {
		fprintf(stderr, "restart_gap: the device refused the driver\n");
		exit(1);
	}
}

/* Posts one 64-byte device-writable buffer (descriptor 0) on the available ring. */
static void post(struct rig *r)
{
	uint8_t *desc = r->ram + DESC_GPA, *avail = r->ram + AVAIL_GPA;
	uint64_t addr = BUF_GPA;
	uint32_t len = 64;
	uint16_t flags = 2, head = 0; /* VIRTQ_DESC_F_WRITE */

	memcpy(desc, &addr, 8);
	memcpy(desc + 8, &len, 4);
	memcpy(desc + 12, &flags, 2);
	memcpy(avail + 4 + 2 * (r->avail_idx % QSIZE), &head, 2);
	r->avail_idx++;
	__atomic_store_n((uint16_t *)(void *)(avail + 2), r->avail_idx, __ATOMIC_RELEASE);
}

static uint16_t used_idx(const struct rig *r)
{
	return __atomic_load_n((const uint16_t *)(const void *)(r->ram + USED_GPA + 2), __ATOMIC_ACQUIRE);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static struct rig r;
	double gap[MAX_ROUNDS], ready[MAX_ROUNDS];
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	const uint64_t one = 1;
	void *ram, *state;

	if (argc < 2 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: restart_gap SQUIB_DEVICE [ROUNDS (1..%d)]\n", MAX_ROUNDS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	r.binary = argv[1];
	r.ram_fd = shared_fd("ram", RAM_SIZE, &ram);
	r.ram = ram;
	r.state_fd = shared_fd("state", VIRTIO_DEVICE_STATE_SIZE, &state);
	r.status_fd = shared_fd("status", 4096, NULL);
	r.ring_size = ring_region_size(RING_DEFAULT_SLOTS);
	r.ring_fd = shared_fd("ring", r.ring_size, &r.ring_mem);
	r.doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r.notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r.irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r.resample = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r.doorbell < 0 || r.notify < 0 || r.irq < 0 || r.resample < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r.ctl) < 0)
		die("eventfds");
	if (ring_region_init(r.ring_mem, r.ring_size, RING_DEFAULT_SLOTS) < 0 ||
	    ring_producer_attach(&r.prod, r.ring_mem, r.ring_size, r.doorbell, 0) < 0 || vm_wire_decoder_init(&r.dec) < 0)
		die("ring");
	start_worker(&r, 0);
	driver_start(&r);
	for (int i = 0; i < rounds; i++) {
		uint16_t want = (uint16_t)(used_idx(&r) + 1);
		double t0, t_ready;

		post(&r);
		kill(r.pid, SIGKILL);
		while (waitpid(r.pid, NULL, 0) < 0 && errno == EINTR)
			;
		t0 = now_ms(); /* the death is seen: the spawner would ask for a successor now */
		if (write(r.notify, &one, sizeof(one)) != sizeof(one)) /* the guest's kick, during the gap */
			die("kick");
		start_worker(&r, (uint32_t)i + 1);
		t_ready = now_ms();
		while (used_idx(&r) != want) {
			if (now_ms() - t0 > 10000) {
				fprintf(stderr, "restart_gap: round %d: the successor completed nothing in 10 s\n", i);
				return 1;
			}
		}
		gap[i] = now_ms() - t0;
		ready[i] = t_ready - t0;
	}
	kill(r.pid, SIGKILL);
	waitpid(r.pid, NULL, 0);
	qsort(gap, (size_t)rounds, sizeof(gap[0]), cmp);
	qsort(ready, (size_t)rounds, sizeof(ready[0]), cmp);
	printf("restart gap (virtio-rng, no KVM): death to the successor's first completed request over %d rounds: "
	       "median %.2f ms, worst %.2f ms (of which exec to READY: median %.2f ms, worst %.2f ms)\n",
	       rounds, gap[rounds / 2], gap[rounds - 1], ready[rounds / 2], ready[rounds - 1]);
	return 0;
}
