/* SPDX-License-Identifier: MIT */
/* Writing a kernel control file (control_file.h). */
#include "common/control_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int control_file_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(text);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n != (ssize_t)len)
		r = n < 0 ? -errno : -EIO;
	close(fd);
	return r;
}
