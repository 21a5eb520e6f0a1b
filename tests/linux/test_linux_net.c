/* SPDX-License-Identifier: MIT */
/*
 * Linux's virtio_net driver against squib's virtio-net, through a tap in a
 * private network namespace of the test host: ping both ways, then 16 MiB
 * over TCP from the guest to the host (compared byte for byte) and 16 MiB
 * back (compared by md5sum on both ends).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/tap_netns.h"
#include "tests/linux/linux_guest.h"

TestSuite(linux_net, .fini = squib_teardown);

#define TAP "sqltap0"
#define HOST_IP "10.0.2.1"
#define GUEST_IP "10.0.2.2"
#define TO_HOST_PORT 5000
#define TO_GUEST_PORT 5001
#define SEQ_N 2300000UL /* `seq 1 2300000`: 17,288,896 bytes, just over 16 MiB */

static void set_host_address(void)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	cr_assert(s >= 0, "socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, HOST_IP, &sin->sin_addr);
	cr_assert(ioctl(s, SIOCSIFADDR, &ifr) == 0, "SIOCSIFADDR: %s", strerror(errno));
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	cr_assert(ioctl(s, SIOCSIFNETMASK, &ifr) == 0, "SIOCSIFNETMASK: %s", strerror(errno));
	close(s);
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(s >= 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, HOST_IP, &a.sin_addr);
	cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
	cr_assert(listen(s, 1) == 0);
	return s;
}

/* Waits for fd to be readable (POLLIN) up to timeout_s; false on timeout. */
static bool wait_in(int fd, double timeout_s)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, (int)(timeout_s * 1000)) > 0;
}

/*
 * Reads exactly len bytes from the guest's connection on port TO_HOST_PORT,
 * SIGKILLing the net0 worker kills times on the way (at evenly spaced byte
 * counts). A stall ends the test with the VM r's state dump, or returns
 * NULL when the VM ended in a triple fault that linux_retry_emulator_fault
 * retries.
 */
static char *receive_from_guest(struct squib_run *r, const struct linux_boot *b, int attempt, int ls, size_t len,
				double timeout_s, unsigned kills)
{
	char *buf = malloc(len + 1);
	size_t got = 0;
	unsigned killed = 0;
	pid_t victim = 0;
	int c;

	cr_assert_not_null(buf);
	if (!wait_in(ls, timeout_s)) {
		squib_dump_state(r);
		if (linux_retry_emulator_fault(r, b, attempt)) {
			free(buf);
			return NULL;
		}
		cr_assert_fail("the guest never connected to port %d\n%s", TO_HOST_PORT, linux_describe(r));
	}
	c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(c >= 0, "accept: %s", strerror(errno));
	while (got < len) {
		ssize_t n;

		if (!wait_in(c, timeout_s)) {
			squib_dump_state(r);
			if (linux_retry_emulator_fault(r, b, attempt)) {
				close(c);
				free(buf);
				return NULL;
			}
			cr_assert_fail("the guest stopped sending after %zu of %zu bytes\n%s", got, len, linux_describe(r));
		}
		n = read(c, buf + got, len - got);
		cr_assert(n > 0, "the connection ended after %zu of %zu bytes", got, len);
		got += (size_t)n;
		if (killed < kills && got >= len / (kills + 1) * (killed + 1)) {
			victim = squib_wait_device_worker(r, "net0", victim, 60.0);
			cr_assert_gt(victim, 0, "no net0 worker to kill after %zu bytes\n%s", got, linux_describe(r));
			cr_assert_eq(kill(victim, SIGKILL), 0);
			killed++;
		}
	}
	close(c);
	buf[len] = '\0';
	return buf;
}

/* Connects to the guest's listener (retrying while it starts) and sends data. */
static void send_to_guest(const char *data, size_t len, double timeout_s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TO_GUEST_PORT) };
	double deadline = now_s() + timeout_s;
	size_t off = 0;
	int s = -1;

	inet_pton(AF_INET, GUEST_IP, &a.sin_addr);
	while (now_s() < deadline) {
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(s >= 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(s);
		s = -1;
		sleep_s(0.5);
	}
	cr_assert(s >= 0, "cannot connect to the guest's port %d", TO_GUEST_PORT);
	while (off < len) {
		ssize_t n = write(s, data + off, len - off);

		cr_assert(n > 0, "send to the guest failed after %zu bytes: %s", off, strerror(errno));
		off += (size_t)n;
	}
	close(s);
}

Test(linux_net, ping_and_16_mib_each_way)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	static char net[64], run[1024], md5_line[128];
	const char *extra[] = { "--net", net, NULL };
	struct linux_boot b = { .cpus = 2, .memory_mib = 384, .run = run, .extra = extra };
	const char *scratch;
	char why[256], path[PATH_MAX];
	struct squib_run *r;
	size_t len;
	char *want, *got;
	int ls;
	FILE *f;

	if (!tap_netns_setup(TAP, why, sizeof(why)))
		cr_skip_test("no tap in a private network namespace here: %s", why);
	set_host_address();
	ls = listen_on(TO_HOST_PORT);
	want = seq_text(SEQ_N, &len);
	cr_assert_geq(len, 16u << 20, "the transfer must be at least 16 MiB");
	snprintf(net, sizeof(net), "tap=%s", TAP);
	snprintf(run, sizeof(run),
		 "ip addr add %s/24 dev eth0 && ip link set eth0 up && ping -c 3 -W 10 %s && echo PING-OK && "
		 "seq 1 %lu | nc %s %d && nc -l -p %d > /tmp/in && md5sum /tmp/in",
		 GUEST_IP, HOST_IP, SEQ_N, HOST_IP, TO_HOST_PORT, TO_GUEST_PORT);
	/* linux_run would wait for the end; this test talks to the guest meanwhile. */
	for (int attempt = 0;; attempt++) {
		r = &runs[attempt];
		linux_start(r, &b);
		got = receive_from_guest(r, &b, attempt, ls, len, linux_timeout(), 0);
		if (!got)
			continue;
		cr_assert(!memcmp(got, want, len), "the bytes from the guest differ from seq's output");
		cr_assert_eq(host_sh("ping -c 3 -W 10 %s >/dev/null 2>&1", GUEST_IP), 0, "the host cannot ping the guest");
		send_to_guest(want, len, 60);
		cr_assert(squib_wait(r, linux_timeout()), "the guest did not finish\n%s", linux_describe(r));
		if (!linux_retry_emulator_fault(r, &b, attempt))
			break;
		free(got);
	}
	linux_console_strip_cr(r);
	linux_assert_ran(r, 2);
	cr_assert(strstr(r->console, "PING-OK"), "the guest cannot ping the host\n%s", linux_describe(r));

	scratch = linux_scratch_dir();
	snprintf(path, sizeof(path), "%s/sent", scratch);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(want, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(host_sh("md5sum < %s > %s/md5", path, scratch), 0, "md5sum failed in the test host");
	snprintf(path, sizeof(path), "%s/md5", scratch);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(md5_line, sizeof(md5_line), f));
	fclose(f);
	md5_line[32] = '\0';
	cr_assert(strstr(r->console, md5_line), "the guest received other bytes (host md5 %s)\n%s", md5_line,
		  linux_describe(r));
	linux_scratch_remove(scratch);
	free(want);
	free(got);
	close(ls);
}

/*
 * 16 MiB over TCP from the guest to the host while the test SIGKILLs the
 * net worker 5 times: the transfer completes, byte for byte (frames in
 * flight during a restart are lost at most, and TCP sends them again).
 */
Test(linux_net, tcp_16_mib_across_5_kills_of_the_net_worker)
{
	static struct squib_run runs[LINUX_ATTEMPTS];
	static char net[64], run[512];
	const char *extra[] = { "--net", net, "--restart-budget", "20/60", NULL };
	struct linux_boot b = { .cpus = 2, .memory_mib = 384, .run = run, .extra = extra };
	struct squib_run *r;
	char why[256];
	size_t len;
	char *want, *got;
	int ls;

	if (!tap_netns_setup(TAP, why, sizeof(why)))
		cr_skip_test("no tap in a private network namespace here: %s", why);
	set_host_address();
	ls = listen_on(TO_HOST_PORT);
	want = seq_text(SEQ_N, &len);
	snprintf(net, sizeof(net), "tap=%s", TAP);
	snprintf(run, sizeof(run), "ip addr add %s/24 dev eth0 && ip link set eth0 up && seq 1 %lu | nc %s %d", GUEST_IP,
		 SEQ_N, HOST_IP, TO_HOST_PORT);
	for (int attempt = 0;; attempt++) {
		r = &runs[attempt];
		linux_start(r, &b);
		got = receive_from_guest(r, &b, attempt, ls, len, linux_timeout(), 5);
		if (!got)
			continue;
		cr_assert(squib_wait(r, linux_timeout()), "the guest did not finish\n%s", linux_describe(r));
		if (!linux_retry_emulator_fault(r, &b, attempt))
			break;
		free(got);
	}
	linux_console_strip_cr(r);
	linux_assert_ran(r, 2);
	cr_assert(!memcmp(got, want, len), "the bytes from the guest differ from seq's output");
	cr_assert_eq(count_lines_containing(r->err, "device net0 restarted"), 5, "%s", linux_describe(r));
	squib_log_restart_gaps(r, "net0");
	free(want);
	free(got);
	close(ls);
}
