/* SPDX-License-Identifier: MIT */
/*
 * netns_tap TAP -- COMMAND [ARGS...]: runs COMMAND in a new network
 * namespace holding a persistent tap named TAP, up, with IPv6 off (so the
 * kernel sends nothing of its own on it). For the virtio-net benchmark:
 * the guest's frames leave through the tap into an empty namespace.
 * Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void sysctl_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, value, strlen(value)) < 0)
			fprintf(stderr, "netns_tap: %s: %s\n", path, strerror(errno));
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct ifreq ifr;
	int fd, s;

	if (argc < 4 || strcmp(argv[2], "--") != 0 || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: netns_tap TAP -- COMMAND [ARGS...]\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "netns_tap: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	sysctl_write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	sysctl_write("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "netns_tap: /dev/net/tun: %s\n", strerror(errno));
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		fprintf(stderr, "netns_tap: creating tap %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		fprintf(stderr, "netns_tap: %s flags: %s\n", argv[1], strerror(errno));
		return 1;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		fprintf(stderr, "netns_tap: bringing %s up: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(s);
	execv(argv[3], argv + 3);
	fprintf(stderr, "netns_tap: exec %s: %s\n", argv[3], strerror(errno));
	return 127;
}
