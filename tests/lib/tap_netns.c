/* SPDX-License-Identifier: MIT */
#include "tests/lib/tap_netns.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/harness.h"

#define TEST_ETHERTYPE 0x88b5

static void write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return; /* no IPv6 in this kernel: nothing to silence */
	if (write(fd, value, strlen(value)) < 0)
		cr_log_warn("%s: %s", path, strerror(errno));
	close(fd);
}

bool tap_netns_setup(const char *name, char *why, size_t why_len)
{
	struct ifreq ifr;
	int fd, s;

	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(why, why_len, "unshare(CLONE_NEWNET): %s (needs root)", strerror(errno));
		return false;
	}
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "/dev/net/tun: %s", strerror(errno));
		return false;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	cr_assert(ioctl(fd, TUNSETIFF, &ifr) == 0, "TUNSETIFF %s: %s", name, strerror(errno));
	cr_assert(ioctl(fd, TUNSETPERSIST, 1) == 0, "TUNSETPERSIST: %s", strerror(errno));
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(s >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert(ioctl(s, SIOCGIFFLAGS, &ifr) == 0, "SIOCGIFFLAGS: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	cr_assert(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "SIOCSIFFLAGS up: %s", strerror(errno));
	close(s);
	return true;
}

int tap_packet_socket(const char *name)
{
	struct sockaddr_ll sll;
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct ifreq ifr;

	cr_assert(s >= 0, "AF_PACKET socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert(ioctl(s, SIOCGIFINDEX, &ifr) == 0, "SIOCGIFINDEX %s: %s", name, strerror(errno));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifr.ifr_ifindex;
	cr_assert(bind(s, (struct sockaddr *)&sll, sizeof(sll)) == 0, "bind AF_PACKET: %s", strerror(errno));
	return s;
}

void tap_send(int sock, const void *frame, size_t len)
{
	cr_assert_eq(send(sock, frame, len, 0), (ssize_t)len, "send on the tap: %s", strerror(errno));
}

ssize_t tap_recv(int sock, void *buf, size_t len, double timeout_s)
{
	double deadline = now_s() + timeout_s;

	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		double left = deadline - now_s();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = recvfrom(sock, buf, len, 0, (struct sockaddr *)&from, &fromlen);
		cr_assert(n >= 0, "recv on the tap: %s", strerror(errno));
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue; /* our own frames towards the guest */
		if (n >= 14 && ((const uint8_t *)buf)[12] == (TEST_ETHERTYPE >> 8) &&
		    ((const uint8_t *)buf)[13] == (TEST_ETHERTYPE & 0xff))
			return n;
	}
}

/* A test frame: broadcast, from a made-up host MAC, ethertype 0x88b5, payload by index. */
size_t tap_make_frame(uint8_t *f, unsigned index, size_t size)
{
	static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };

	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < size; i++)
		f[i] = (uint8_t)(i * 31 + index * 7);
	return size;
}
