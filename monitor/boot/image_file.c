/* SPDX-License-Identifier: MIT */
#include "monitor/boot/image_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int image_file_map(const char *path, const char *what, uint64_t max_len, const char *max_len_what,
		   struct image_file *out, char *err, size_t err_len)
{
	struct stat st;
	void *p;
	int fd, r;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_len, "cannot open %s %s: %s", what, path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, err_len, "cannot stat %s %s: %s", what, path, strerror(errno));
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s %s is not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		snprintf(err, err_len, "%s %s is empty", what, path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max_len || (uint64_t)st.st_size > SIZE_MAX) {
		snprintf(err, err_len, "%s %s (%lld bytes) is larger than %s", what, path, (long long)st.st_size,
			 max_len_what);
		close(fd);
		return -EFBIG;
	}
	/*
	 * Read, not mmap: a file truncated by someone else while mapped would
	 * turn into SIGBUS in the monitor; a short read is just an error.
	 */
	p = malloc((size_t)st.st_size);
	if (!p) {
		snprintf(err, err_len, "out of memory reading %s %s", what, path);
		close(fd);
		return -ENOMEM;
	}
	for (size_t off = 0; off < (size_t)st.st_size;) {
		ssize_t n = read(fd, (uint8_t *)p + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			snprintf(err, err_len, "cannot read %s %s: %s", what, path,
				 n < 0 ? strerror(errno) : "it shrank while being read");
			free(p);
			close(fd);
			return r;
		}
		off += (size_t)n;
	}
	close(fd);
	out->data = p;
	out->len = (size_t)st.st_size;
	out->owned = true;
	return 0;
}

void image_file_release(struct image_file *img)
{
	if (img->owned)
		free((void *)img->data);
	memset(img, 0, sizeof(*img));
}
