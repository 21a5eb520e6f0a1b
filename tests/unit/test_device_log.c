// SPDX-License-Identifier: MIT
/*
 * device_log's budget (device-worker/device.h): a guest that makes its
 * device log on every request cannot flood the host's log. A burst of
 * DEVICE_LOG_BURST lines, then DEVICE_LOG_PER_S a second; what is dropped is
 * counted and said with the next line that is written.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "device-worker/device.h"

static size_t drain_lines(int fd, char *buf, size_t cap)
{
	ssize_t n = read(fd, buf, cap - 1);
	size_t lines = 0;

	buf[n > 0 ? n : 0] = '\0';
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	return lines;
}

Test(device_log, a_flood_is_cut_to_the_budget_and_counted)
{
	static char buf[65536];
	struct device_host host;
	int p[2];

	cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
	device_host_init(&host, "flood", -1, p[1]);
	for (int i = 0; i < 100; i++)
		device_log(&host, "request refused: unknown request type (%d)", i);
	cr_assert_eq(drain_lines(p[0], buf, sizeof(buf)), DEVICE_LOG_BURST, "%s", buf);
	usleep(1000000 / DEVICE_LOG_PER_S + 50000);
	device_log(&host, "and one more");
	cr_assert_eq(drain_lines(p[0], buf, sizeof(buf)), 2, "%s", buf);
	cr_assert(strstr(buf, "80 lines not logged (more than 10 a second)"), "%s", buf);
	cr_assert(strstr(buf, "and one more"), "%s", buf);
	close(p[0]);
	close(p[1]);
}
