/* SPDX-License-Identifier: MIT */
/* Closing all fds but a keep list (close_fds.h). */
#include "monitor/supervise/close_fds.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monitor/log.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int close_fds_except(int *keep, int n)
{
	unsigned lo = 0;

	qsort(keep, (size_t)n, sizeof(keep[0]), cmp_int);
	for (int i = 0; i <= n; i++) {
		unsigned hi;

		if (i < n && (keep[i] < 0 || (unsigned)keep[i] < lo))
			continue;
		hi = i < n ? (unsigned)keep[i] : ~0u;
		/* SAFETY: close_range(2) (Linux 5.9): closes fds in [lo, hi - 1] of this process's own table; flags 0. */
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0)
			return -errno;
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
	return 0;
}

void forked_helper_start(const char *who, const char *comm, pid_t parent, int *keep, int n, int status)
{
	int r;

	mlog_set_who(who);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
		mlog("cannot tie itself to the monitor");
		_exit(status);
	}
	(void)prctl(PR_SET_NAME, comm);
	r = close_fds_except(keep, n);
	if (r < 0) {
		mlog("cannot close the monitor's other fds: %s", strerror(-r));
		_exit(status);
	}
}
