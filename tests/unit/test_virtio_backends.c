// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/devices/virtio_backends.c: disk images and taps opened by
 * the monitor. Disk tests use a fresh temporary directory; tap tests run in
 * a forked child inside its own network namespace, so no tap ever appears
 * in the host's.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/devices/virtio_backends.h"

static char test_dir[256]; /* "" until a test makes one */
static void backends_teardown(void);

TestSuite(virtio_backends, .fini = backends_teardown, .timeout = 60);

/* ---- helpers ------------------------------------------------------------ */

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[512];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) && errno == EISDIR)
			remove_tree(p);
	}
	closedir(d);
	rmdir(dir);
}

static void backends_teardown(void)
{
	if (test_dir[0])
		remove_tree(test_dir);
	test_dir[0] = '\0';
}

/* A fresh directory under base (made once per test). */
static const char *make_test_dir_in(const char *base)
{
	cr_assert_eq(test_dir[0], '\0', "one test directory per test");
	snprintf(test_dir, sizeof(test_dir), "%s/squib-backends-XXXXXX", base);
	cr_assert_not_null(mkdtemp(test_dir), "mkdtemp in %s: %s", base, strerror(errno));
	return test_dir;
}

static const char *make_test_dir(void)
{
	const char *base = getenv("TMPDIR");

	return make_test_dir_in(base && *base ? base : "/tmp");
}

/* Creates dir/name with size bytes (sparse) and returns its path (static storage per slot). */
static const char *make_image_in(const char *dir, const char *name, uint64_t size)
{
	static char paths[8][512];
	static unsigned next;
	char *p = paths[next++ % 8];
	int fd;

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "create %s: %s", p, strerror(errno));
	cr_assert_eq(ftruncate(fd, (off_t)size), 0, "ftruncate %s: %s", p, strerror(errno));
	close(fd);
	return p;
}

static const char *make_image(const char *name, uint64_t size)
{
	if (!test_dir[0])
		make_test_dir();
	return make_image_in(test_dir, name, size);
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	cr_assert_not_null(d, "opendir /proc/self/fd: %s", strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct disk_try {
	int r;
	struct disk_backend b;
	char err[256];
};

static struct disk_try try_disk(const char *path, bool ro, enum disk_cache cache)
{
	struct disk_config cfg = { .path = path, .read_only = ro, .cache = cache };
	struct disk_try t;

	memset(&t.b, 0xa5, sizeof(t.b));
	memset(t.err, 'Z', sizeof(t.err));
	t.r = disk_backend_open(&cfg, &t.b, t.err, sizeof(t.err));
	cr_assert(memchr(t.err, '\0', sizeof(t.err)) != NULL, "err is not NUL-terminated");
	if (t.r == 0)
		cr_assert_str_eq(t.err, "", "no message on success");
	return t;
}

static struct disk_backend open_disk_ok(const char *path, bool ro, enum disk_cache cache)
{
	struct disk_try t = try_disk(path, ro, cache);

	cr_assert_eq(t.r, 0, "disk_backend_open(%s%s): %d (%s)", path, ro ? ",ro" : "", t.r, t.err);
	cr_assert_geq(t.b.fd, 0);
	return t.b;
}

static void expect_disk_error_v(const struct disk_try *t, int r, const char *const *needles)
{
	cr_assert_eq(t->r, r, "disk_backend_open: %d, expected %d (message '%s')", t->r, r, t->err);
	cr_assert_eq(t->b.fd, -1, "fd %d left in *out on failure", t->b.fd);
	cr_assert_neq(t->err[0], '\0', "an error without a message");
	cr_assert_null(strchr(t->err, '\n'), "message '%s' is not one line", t->err);
	for (; *needles; needles++)
		cr_assert_not_null(strstr(t->err, *needles), "message '%s' does not mention '%s'", t->err, *needles);
}

#define EXPECT_DISK_ERROR(t, r, ...) expect_disk_error_v((t), (r), (const char *const[]){ __VA_ARGS__, NULL })

static bool is_tmpfs(const char *path)
{
	struct statfs sfs;

	return !statfs(path, &sfs) && sfs.f_type == TMPFS_MAGIC;
}

/* Does the filesystem holding dir accept O_DIRECT opens? (Independent probe.) */
static bool fs_supports_odirect(const char *dir)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/.odirect-probe", dir);
	fd = open(p, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		unlink(p);
		return true;
	}
	cr_assert_eq(errno, EINVAL, "O_DIRECT probe in %s: %s", dir, strerror(errno));
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	unlink(p);
	return false;
}

/* Whether another open file description could take a lock of type on path right now. */
static bool lock_would_conflict(const char *path, short type)
{
	int fd = open(path, (type == F_WRLCK ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	struct flock fl;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	cr_assert_eq(fcntl(fd, F_OFD_GETLK, &fl), 0, "F_OFD_GETLK: %s", strerror(errno));
	close(fd);
	return fl.l_type != F_UNLCK;
}

/* ---- disks: successful opens -------------------------------------------- */

Test(virtio_backends, disk_read_write)
{
	const char *img = make_image("rw.img", 1 << 20);
	struct disk_backend b = open_disk_ok(img, false, DISK_CACHE_WRITEBACK);
	int fl = fcntl(b.fd, F_GETFL);

	cr_assert_eq(fl & O_ACCMODE, O_RDWR, "opened read-write");
	cr_assert_eq(fl & O_NONBLOCK, 0, "O_NONBLOCK is cleared: the worker gets a blocking fd");
	cr_assert_eq(fl & O_DIRECT, 0, "no O_DIRECT for cache=writeback");
	cr_assert(fcntl(b.fd, F_GETFD) & FD_CLOEXEC, "O_CLOEXEC");
	cr_assert_eq(b.size_bytes, 1u << 20);
	cr_assert_eq(b.sectors, 2048u);
	cr_assert_eq(b.read_only, false);
	cr_assert_eq(b.direct, false);
	cr_assert_eq(b.dio_mem_align, 0u);
	cr_assert_eq(b.dio_offset_align, 0u);
	cr_assert_eq(pwrite(b.fd, "squib", 5, 4096), 5, "the fd writes: %s", strerror(errno));
	cr_assert(lock_would_conflict(img, F_RDLCK), "a read-write disk holds a write lock");
	disk_backend_close(&b);
	cr_assert_eq(b.fd, -1);
	disk_backend_close(&b); /* harmless twice */
	cr_assert_not(lock_would_conflict(img, F_WRLCK), "closing releases the lock");
}

Test(virtio_backends, disk_read_only)
{
	const char *img = make_image("ro.img", 512 * 3);
	struct disk_backend b = open_disk_ok(img, true, DISK_CACHE_WRITEBACK);
	char c;

	cr_assert_eq(fcntl(b.fd, F_GETFL) & O_ACCMODE, O_RDONLY, "opened read-only");
	cr_assert_eq(b.size_bytes, 1536u);
	cr_assert_eq(b.sectors, 3u);
	cr_assert_eq(b.read_only, true);
	cr_assert_eq(pread(b.fd, &c, 1, 0), 1);
	cr_assert_eq(pwrite(b.fd, "x", 1, 0), -1, "a read-only fd cannot write");
	cr_assert(lock_would_conflict(img, F_WRLCK), "a read-only disk holds a read lock");
	cr_assert_not(lock_would_conflict(img, F_RDLCK), "... that other readers may share");
	disk_backend_close(&b);
}

Test(virtio_backends, disk_sizes)
{
	struct disk_backend b = open_disk_ok(make_image("one-sector.img", 512), false, DISK_CACHE_WRITEBACK);

	cr_assert_eq(b.sectors, 1u, "one sector is enough");
	disk_backend_close(&b);
	b = open_disk_ok(make_image("big.img", 8ULL << 30), true, DISK_CACHE_WRITEBACK);
	cr_assert_eq(b.size_bytes, 8ULL << 30, "a sparse 8 GiB image");
	cr_assert_eq(b.sectors, 16ULL << 20);
	disk_backend_close(&b);
}

/* Images behind symlinks work (no O_NOFOLLOW), and the lock is on the image itself. */
Test(virtio_backends, disk_symlink)
{
	const char *img = make_image("real.img", 4096);
	char link[512];
	struct disk_backend b;

	snprintf(link, sizeof(link), "%s/link.img", test_dir);
	cr_assert_eq(symlink("real.img", link), 0, "symlink: %s", strerror(errno));
	b = open_disk_ok(link, false, DISK_CACHE_WRITEBACK);
	cr_assert_eq(b.sectors, 8u);
	cr_assert(lock_would_conflict(img, F_RDLCK), "the image behind the link is locked");
	disk_backend_close(&b);
}

/* ---- disks: refusals ---------------------------------------------------- */

Test(virtio_backends, disk_missing)
{
	struct disk_try t;

	make_test_dir();
	t = try_disk("/nonexistent/squib/disk.img", false, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -ENOENT, "disk /nonexistent/squib/disk.img", "does not exist");
	t = try_disk("", false, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EINVAL, "empty path");
}

Test(virtio_backends, disk_directory)
{
	const char *dir = make_test_dir();
	struct disk_try t = try_disk(dir, false, DISK_CACHE_WRITEBACK);

	EXPECT_DISK_ERROR(&t, -EISDIR, dir, "is a directory");
	t = try_disk(dir, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EISDIR, dir, "is a directory");
}

Test(virtio_backends, disk_char_device)
{
	struct disk_try t = try_disk("/dev/null", false, DISK_CACHE_WRITEBACK);

	EXPECT_DISK_ERROR(&t, -EINVAL, "disk /dev/null is a character device", "not an image file or block device");
	t = try_disk("/dev/zero", true, DISK_CACHE_NONE);
	EXPECT_DISK_ERROR(&t, -EINVAL, "/dev/zero is a character device");
}

/* A FIFO is refused without blocking in open() (the suite's timeout catches a hang). */
Test(virtio_backends, disk_fifo)
{
	char fifo[512];
	struct disk_try t;

	snprintf(fifo, sizeof(fifo), "%s/fifo", make_test_dir());
	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
	t = try_disk(fifo, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EINVAL, fifo, "is a FIFO");
	t = try_disk(fifo, false, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EINVAL, "is a FIFO");
}

Test(virtio_backends, disk_socket)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct disk_try t;

	cr_assert_geq(s, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/sock", make_test_dir());
	cr_assert_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0, "bind %s: %s", sun.sun_path, strerror(errno));
	t = try_disk(sun.sun_path, false, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EINVAL, "is a socket");
	close(s);
}

Test(virtio_backends, disk_empty)
{
	const char *img = make_image("empty.img", 0);
	struct disk_try t = try_disk(img, false, DISK_CACHE_WRITEBACK);

	EXPECT_DISK_ERROR(&t, -EINVAL, img, "is empty (0 bytes)");
	t = try_disk(img, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EINVAL, "is empty");
}

Test(virtio_backends, disk_not_whole_sectors)
{
	const char *img = make_image("odd.img", 1000);
	struct disk_try t = try_disk(img, false, DISK_CACHE_WRITEBACK);

	EXPECT_DISK_ERROR(&t, -EINVAL, img, "size 1000 bytes is not a multiple of 512", "pad it to 1024 bytes");
	img = make_image("odd2.img", (1 << 20) + 1);
	t = try_disk(img, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EINVAL, "size 1048577 bytes", "pad it to 1049088 bytes");
	img = make_image("tiny.img", 511);
	t = try_disk(img, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EINVAL, "size 511 bytes");
}

/* A path with hostile bytes is escaped in the message. */
Test(virtio_backends, disk_message_escapes_path)
{
	const char *img = make_image("bad\nname\x1b.img", 100);
	struct disk_try t = try_disk(img, false, DISK_CACHE_WRITEBACK);

	EXPECT_DISK_ERROR(&t, -EINVAL, "bad\\x0aname\\x1b.img", "not a multiple of 512");
}

/* ---- disks: locks --------------------------------------------------------- */

/* OFD locks belong to open file descriptions: two opens in one process conflict like two VMs. */
Test(virtio_backends, disk_lock_conflicts)
{
	const char *img = make_image("shared.img", 1 << 16);
	struct disk_backend a = open_disk_ok(img, false, DISK_CACHE_WRITEBACK);
	struct disk_try t = try_disk(img, false, DISK_CACHE_WRITEBACK);

	EXPECT_DISK_ERROR(&t, -EBUSY, img, "is in use by another process (locked)");
	t = try_disk(img, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EBUSY, "is in use by another process (locked)");
	disk_backend_close(&a);

	a = open_disk_ok(img, true, DISK_CACHE_WRITEBACK);
	t = try_disk(img, false, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EBUSY, "is in use by another process (locked)");
	{
		struct disk_backend b = open_disk_ok(img, true, DISK_CACHE_WRITEBACK);
		struct disk_backend c = open_disk_ok(img, true, DISK_CACHE_WRITEBACK);

		disk_backend_close(&b);
		disk_backend_close(&c);
	}
	disk_backend_close(&a);
	a = open_disk_ok(img, false, DISK_CACHE_WRITEBACK);
	disk_backend_close(&a);
}

/*
 * The lock stays held through any copy of the fd: a worker's (here a forked
 * child's) copy keeps it after the monitor closes its own.
 */
Test(virtio_backends, disk_lock_follows_the_fd)
{
	const char *img = make_image("passed.img", 4096);
	struct disk_backend a = open_disk_ok(img, false, DISK_CACHE_WRITEBACK);
	struct disk_try t;
	int gate[2], status;
	pid_t pid;

	cr_assert_eq(pipe2(gate, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char c;

		close(gate[1]);
		(void)!read(gate[0], &c, 1); /* until the parent closes its end */
		_exit(0);
	}
	close(gate[0]);
	disk_backend_close(&a);
	t = try_disk(img, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EBUSY, "is in use by another process (locked)");
	close(gate[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	a = open_disk_ok(img, false, DISK_CACHE_WRITEBACK);
	disk_backend_close(&a);
}

/* ---- disks: cache=none ---------------------------------------------------- */

static void check_direct_open(const char *dir)
{
	const char *img = make_image_in(dir, "direct.img", 1 << 20);
	struct disk_try t = try_disk(img, false, DISK_CACHE_NONE);
	struct statfs sfs;

	cr_assert_eq(statfs(dir, &sfs), 0);
	if (fs_supports_odirect(dir)) {
		void *buf = NULL;
		uint32_t len;

		cr_assert_eq(t.r, 0, "cache=none in %s (f_type 0x%lx): %d (%s)", dir, (unsigned long)sfs.f_type, t.r,
			     t.err);
		cr_assert_eq(t.b.direct, true);
		cr_assert(fcntl(t.b.fd, F_GETFL) & O_DIRECT, "the fd is O_DIRECT");
		cr_assert_eq(fcntl(t.b.fd, F_GETFL) & O_NONBLOCK, 0);
		cr_assert_gt(t.b.dio_mem_align, 0u);
		cr_assert_gt(t.b.dio_offset_align, 0u);
		cr_assert_eq(t.b.dio_mem_align & (t.b.dio_mem_align - 1), 0u, "a power of two");
		cr_assert_eq(t.b.dio_offset_align & (t.b.dio_offset_align - 1), 0u, "a power of two");
		len = t.b.dio_offset_align;
		cr_assert_leq(len, 1u << 18);
		cr_assert_eq(posix_memalign(&buf, t.b.dio_mem_align > 4096 ? t.b.dio_mem_align : 4096, len), 0);
		cr_assert_eq(pread(t.b.fd, buf, len, len), (ssize_t)len, "an aligned O_DIRECT read: %s",
			     strerror(errno));
		free(buf);
		disk_backend_close(&t.b);
		t = try_disk(img, true, DISK_CACHE_NONE);
		cr_assert_eq(t.r, 0, "cache=none,ro: %d (%s)", t.r, t.err);
		disk_backend_close(&t.b);
	} else {
		EXPECT_DISK_ERROR(&t, -EINVAL, "cache=none: ", "does not support O_DIRECT, use cache=writeback");
		if (sfs.f_type == TMPFS_MAGIC)
			EXPECT_DISK_ERROR(&t, -EINVAL, "cache=none: tmpfs does not support O_DIRECT");
	}
}

/* The test directory's filesystem: success where it supports O_DIRECT, else the refusal. */
Test(virtio_backends, disk_cache_none)
{
	check_direct_open(make_test_dir());
}

/*
 * tmpfs (/dev/shm): it refuses O_DIRECT before Linux 6.6 and accepts it
 * since; either way the outcome must match what the kernel does.
 */
Test(virtio_backends, disk_cache_none_tmpfs)
{
	if (!is_tmpfs("/dev/shm"))
		cr_skip_test("/dev/shm is not a tmpfs here");
	check_direct_open(make_test_dir_in("/dev/shm"));
}

/* Runs fn in a forked child; the child reports through shared memory. */
struct child_report {
	int outcome; /* CHILD_PASS, CHILD_FAIL or CHILD_SKIP */
	char msg[512];
};

enum { CHILD_PASS = 0, CHILD_FAIL = 1, CHILD_SKIP = 2 };

__attribute__((format(printf, 3, 4))) static void child_report(struct child_report *rep, int outcome,
								const char *fmt, ...)
{
	va_list ap;

	rep->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(rep->msg, sizeof(rep->msg), fmt, ap);
	va_end(ap);
	_exit(outcome);
}

#define CHILD_CHECK(rep, cond, ...)                                    \
	do {                                                           \
		if (!(cond))                                           \
			child_report((rep), CHILD_FAIL, __VA_ARGS__);  \
	} while (0)

static void run_in_child(unsigned long unshare_flags, void (*fn)(struct child_report *, void *), void *arg)
{
	struct child_report *rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid, w;
	int status = 0;

	cr_assert_neq(rep, MAP_FAILED);
	rep->outcome = -1;
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (unshare_flags && unshare((int)unshare_flags))
			child_report(rep, CHILD_SKIP, "cannot unshare namespaces 0x%lx (%s): needs root", unshare_flags,
				     strerror(errno));
		if ((unshare_flags & CLONE_NEWNS) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			child_report(rep, CHILD_SKIP, "cannot make mounts private: %s", strerror(errno));
		fn(rep, arg);
		child_report(rep, CHILD_PASS, "ok");
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	cr_assert_eq(w, pid, "waitpid: %s", strerror(errno));
	cr_assert(WIFEXITED(status), "the child died (wait status 0x%x)", status);
	if (rep->outcome == CHILD_SKIP) {
		char msg[sizeof(rep->msg)];

		memcpy(msg, rep->msg, sizeof(msg));
		munmap(rep, sizeof(*rep));
		cr_skip_test("%s", msg);
	}
	cr_assert_eq(rep->outcome, CHILD_PASS, "%s", rep->msg);
	cr_assert_eq(WEXITSTATUS(status), CHILD_PASS);
	munmap(rep, sizeof(*rep));
}

static void ramfs_refuses_direct(struct child_report *rep, void *arg)
{
	const char *dir = arg;
	unsigned before;
	struct disk_config cfg = { .read_only = false, .cache = DISK_CACHE_NONE };
	struct disk_backend b;
	char img[512], err[256];
	int fd, r;

	if (mount("squib-test", dir, "ramfs", 0, NULL))
		child_report(rep, CHILD_SKIP, "cannot mount a ramfs: %s", strerror(errno));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHILD_CHECK(rep, fd >= 0 && ftruncate(fd, 4096) == 0, "create %s: %s", img, strerror(errno));
	close(fd);
	cfg.path = img;
	before = count_fds();
	r = disk_backend_open(&cfg, &b, err, sizeof(err));
	CHILD_CHECK(rep, r == -EINVAL, "cache=none on ramfs: %d (%s), expected -EINVAL", r, err);
	CHILD_CHECK(rep, strstr(err, "cache=none: ramfs does not support O_DIRECT, use cache=writeback") != NULL,
		    "message '%s'", err);
	CHILD_CHECK(rep, strstr(err, img) != NULL, "message '%s' does not name %s", err, img);
	CHILD_CHECK(rep, b.fd == -1, "fd %d on failure", b.fd);
	CHILD_CHECK(rep, count_fds() == before, "an fd leaked: %u -> %u", before, count_fds());
	cfg.cache = DISK_CACHE_WRITEBACK;
	r = disk_backend_open(&cfg, &b, err, sizeof(err));
	CHILD_CHECK(rep, r == 0, "cache=writeback on ramfs: %d (%s)", r, err);
	disk_backend_close(&b);
}

/* ramfs never supports O_DIRECT: a real refusal, in a private mount namespace. */
Test(virtio_backends, disk_cache_none_refused)
{
	run_in_child(CLONE_NEWNS, ramfs_refuses_direct, (void *)make_test_dir());
}

/* ---- disks: block devices (a loop device, detached automatically) -------- */

/* Attaches backing to a free loop device with autoclear; returns its fd, or skips. */
static int attach_loop(const char *backing, char *dev, size_t dev_len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int bfd, lfd = -1;

	if (ctl < 0)
		cr_skip_test("no loop devices here (/dev/loop-control: %s)", strerror(errno));
	bfd = open(backing, O_RDWR | O_CLOEXEC);
	cr_assert_geq(bfd, 0);
	for (int attempt = 0; attempt < 10 && lfd < 0; attempt++) {
		struct loop_config lc;
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0)
			cr_skip_test("LOOP_CTL_GET_FREE: %s", strerror(errno));
		snprintf(dev, dev_len, "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			usleep(10000);
			continue;
		}
		memset(&lc, 0, sizeof(lc));
		lc.fd = (uint32_t)bfd;
		lc.info.lo_flags = LO_FLAGS_AUTOCLEAR; /* detached at the last close */
		if (ioctl(lfd, LOOP_CONFIGURE, &lc)) {
			int e = errno;

			close(lfd);
			lfd = -1;
			if (e != EBUSY)
				cr_skip_test("LOOP_CONFIGURE %s: %s", dev, strerror(e));
		}
	}
	close(bfd);
	close(ctl);
	if (lfd < 0)
		cr_skip_test("no free loop device");
	return lfd;
}

Test(virtio_backends, disk_block_device)
{
	const char *img = make_image("backing.img", 3 << 20);
	char dev[64];
	int loop = attach_loop(img, dev, sizeof(dev));
	struct disk_backend b = open_disk_ok(dev, false, DISK_CACHE_WRITEBACK);
	struct disk_try t;

	cr_assert_eq(b.size_bytes, 3u << 20, "BLKGETSIZE64 of %s", dev);
	cr_assert_eq(b.sectors, 6144u);
	t = try_disk(dev, true, DISK_CACHE_WRITEBACK);
	EXPECT_DISK_ERROR(&t, -EBUSY, dev, "in use");
	disk_backend_close(&b);

	b = open_disk_ok(dev, true, DISK_CACHE_NONE);
	cr_assert_eq(b.sectors, 6144u);
	cr_assert_eq(b.direct, true);
	cr_assert_gt(b.dio_offset_align, 0u);
	disk_backend_close(&b);

	/* A block device held exclusively elsewhere (as a mounted one is) is refused read-write. */
	{
		int excl = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);

		cr_assert_geq(excl, 0, "O_EXCL %s: %s", dev, strerror(errno));
		t = try_disk(dev, false, DISK_CACHE_WRITEBACK);
		EXPECT_DISK_ERROR(&t, -EBUSY, dev, "block device is in use (mounted, or held open exclusively");
		b = open_disk_ok(dev, true, DISK_CACHE_WRITEBACK);
		disk_backend_close(&b);
		close(excl);
	}
	close(loop);
}

/* ---- disks: no fd leaks ---------------------------------------------------- */

Test(virtio_backends, disk_failures_leak_no_fd)
{
	const char *img = make_image("locked.img", 4096);
	const char *odd = make_image("odd.img", 700);
	const char *empty = make_image("empty.img", 0);
	struct disk_backend holder = open_disk_ok(img, false, DISK_CACHE_WRITEBACK);
	char fifo[512];
	unsigned before;

	snprintf(fifo, sizeof(fifo), "%s/fifo", test_dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	before = count_fds();
	for (int round = 0; round < 3; round++) {
		static const bool modes[] = { false, true };

		for (size_t m = 0; m < 2; m++) {
			const char *paths[] = { img, odd, empty, fifo, test_dir, "/dev/null", "/nonexistent" };

			for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
				struct disk_try t = try_disk(paths[i], modes[m], round == 1 ? DISK_CACHE_NONE
											   : DISK_CACHE_WRITEBACK);

				cr_assert_lt(t.r, 0, "%s should fail", paths[i]);
				cr_assert_eq(t.b.fd, -1);
			}
		}
	}
	cr_assert_eq(count_fds(), before, "failed opens leaked fds");
	disk_backend_close(&holder);
}

/* ---- taps: in a child in its own network namespace ------------------------ */

static bool kernel_has_tun(void)
{
	FILE *f = fopen("/proc/misc", "re");
	char line[128];
	bool found = false;
	struct utsname u;
	char path[512];

	if (f) {
		while (!found && fgets(line, sizeof(line), f)) {
			char name[64];

			found = sscanf(line, "%*d %63s", name) == 1 && !strcmp(name, "tun");
		}
		fclose(f);
	}
	if (found || !access("/sys/module/tun", F_OK))
		return true;
	if (uname(&u))
		return false;
	snprintf(path, sizeof(path), "/lib/modules/%s/kernel/drivers/net/tun.ko", u.release);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "/lib/modules/%s/kernel/drivers/net/tun.ko.xz", u.release);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "/lib/modules/%s/kernel/drivers/net/tun.ko.zst", u.release);
	return !access(path, F_OK);
}

/*
 * Tap tests need /dev/net/tun. Its absence fails the test only when the
 * kernel itself has no tun driver; an environment that merely hides it (no
 * device node, no permission) skips with the reason.
 */
static void require_tun(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	int e = errno;

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (!kernel_has_tun())
		cr_assert_fail("the kernel has no tun driver (CONFIG_TUN): /dev/net/tun: %s, and /proc/misc, "
			       "/sys/module and /lib/modules show no tun",
			       strerror(e));
	if (e == ENOENT)
		cr_skip_test("/dev/net/tun does not exist in this environment (the kernel has tun)");
	cr_skip_test("/dev/net/tun cannot be opened here: %s (the kernel has tun)", strerror(e));
}

static int child_tap_open(const char *name, struct tap_backend *b, char *err, size_t err_len)
{
	struct net_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.tap, sizeof(cfg.tap), "%s", name);
	return tap_backend_open(&cfg, b, err, err_len);
}

static void tap_opens(struct child_report *rep, void *arg)
{
	struct tap_backend b;
	struct ifreq ifr;
	char err[256];
	int r, hdr = 0, fl;
	unsigned before = count_fds();

	(void)arg;
	r = child_tap_open("squib-t0", &b, err, sizeof(err));
	CHILD_CHECK(rep, r == 0, "tap_backend_open: %d (%s)", r, err);
	CHILD_CHECK(rep, err[0] == '\0', "a message on success: '%s'", err);
	CHILD_CHECK(rep, b.fd >= 0, "fd %d", b.fd);
	CHILD_CHECK(rep, !strcmp(b.ifname, "squib-t0"), "ifname '%s'", b.ifname);
	CHILD_CHECK(rep, if_nametoindex("squib-t0") != 0, "the tap does not exist in the namespace");
	memset(&ifr, 0, sizeof(ifr));
	CHILD_CHECK(rep, ioctl(b.fd, TUNGETIFF, &ifr) == 0, "TUNGETIFF: %s", strerror(errno));
	CHILD_CHECK(rep, ifr.ifr_flags & IFF_TAP, "not a tap (flags 0x%x)", (unsigned)ifr.ifr_flags);
	CHILD_CHECK(rep, !(ifr.ifr_flags & IFF_TUN), "a tun (flags 0x%x)", (unsigned)ifr.ifr_flags);
	CHILD_CHECK(rep, ifr.ifr_flags & IFF_NO_PI, "no IFF_NO_PI (flags 0x%x)", (unsigned)ifr.ifr_flags);
	CHILD_CHECK(rep, ifr.ifr_flags & IFF_VNET_HDR, "no IFF_VNET_HDR (flags 0x%x)", (unsigned)ifr.ifr_flags);
	CHILD_CHECK(rep, !(ifr.ifr_flags & IFF_MULTI_QUEUE), "multiqueue (flags 0x%x)", (unsigned)ifr.ifr_flags);
	CHILD_CHECK(rep, ioctl(b.fd, TUNGETVNETHDRSZ, &hdr) == 0, "TUNGETVNETHDRSZ: %s", strerror(errno));
	CHILD_CHECK(rep, hdr == 12, "vnet header size %d, expected 12", hdr);
	fl = fcntl(b.fd, F_GETFL);
	CHILD_CHECK(rep, (fl & O_ACCMODE) == O_RDWR && (fl & O_NONBLOCK), "F_GETFL 0x%x: want O_RDWR|O_NONBLOCK", fl);
	CHILD_CHECK(rep, fcntl(b.fd, F_GETFD) & FD_CLOEXEC, "not O_CLOEXEC");
	tap_backend_close(&b);
	CHILD_CHECK(rep, b.fd == -1, "fd %d after close", b.fd);
	tap_backend_close(&b);
	CHILD_CHECK(rep, if_nametoindex("squib-t0") == 0, "a non-persistent tap outlived its fd");
	CHILD_CHECK(rep, count_fds() == before, "fds %u -> %u", before, count_fds());
	/* Reopening the same name works once it is closed. */
	r = child_tap_open("squib-t0", &b, err, sizeof(err));
	CHILD_CHECK(rep, r == 0, "reopen: %d (%s)", r, err);
	tap_backend_close(&b);
}

Test(virtio_backends, tap_open)
{
	require_tun();
	run_in_child(CLONE_NEWNET, tap_opens, NULL);
}

static void tap_busy(struct child_report *rep, void *arg)
{
	struct tap_backend a, b;
	char err[256];
	int r;
	unsigned before;

	(void)arg;
	r = child_tap_open("squib-busy", &a, err, sizeof(err));
	CHILD_CHECK(rep, r == 0, "first open: %d (%s)", r, err);
	before = count_fds();
	memset(&b, 0x5a, sizeof(b));
	r = child_tap_open("squib-busy", &b, err, sizeof(err));
	CHILD_CHECK(rep, r == -EBUSY, "second open: %d (%s), expected -EBUSY", r, err);
	CHILD_CHECK(rep, strstr(err, "tap squib-busy is in use") != NULL, "message '%s'", err);
	CHILD_CHECK(rep, b.fd == -1, "fd %d on failure", b.fd);
	CHILD_CHECK(rep, count_fds() == before, "an fd leaked: %u -> %u", before, count_fds());
	tap_backend_close(&a);
}

Test(virtio_backends, tap_in_use)
{
	require_tun();
	run_in_child(CLONE_NEWNET, tap_busy, NULL);
}

static void tap_not_a_tap(struct child_report *rep, void *arg)
{
	struct tap_backend b;
	char err[256];
	int r, tun, before;
	struct ifreq ifr;

	(void)arg;
	before = (int)count_fds();
	r = child_tap_open("lo", &b, err, sizeof(err));
	CHILD_CHECK(rep, r == -EINVAL, "tap lo: %d (%s), expected -EINVAL", r, err);
	CHILD_CHECK(rep, strstr(err, "tap lo: an interface of that name exists and is not a single-queue tap"),
		    "message '%s'", err);
	CHILD_CHECK(rep, (int)count_fds() == before, "an fd leaked");

	/* A tun (layer 3) device of that name is no tap either. */
	tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	CHILD_CHECK(rep, tun >= 0, "open /dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strcpy(ifr.ifr_name, "squib-tun");
	CHILD_CHECK(rep, ioctl(tun, TUNSETIFF, &ifr) == 0, "TUNSETIFF tun: %s", strerror(errno));
	r = child_tap_open("squib-tun", &b, err, sizeof(err));
	CHILD_CHECK(rep, r == -EINVAL, "tap squib-tun: %d (%s), expected -EINVAL", r, err);
	CHILD_CHECK(rep, strstr(err, "tap squib-tun: an interface of that name exists"), "message '%s'", err);
	close(tun);
}

Test(virtio_backends, tap_name_taken_by_other_device)
{
	require_tun();
	run_in_child(CLONE_NEWNET, tap_not_a_tap, NULL);
}

static void drop_cap_net_admin(struct child_report *rep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	CHILD_CHECK(rep, syscall(SYS_capget, &hdr, data) == 0, "capget: %s", strerror(errno));
	data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	data[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
	CHILD_CHECK(rep, syscall(SYS_capset, &hdr, data) == 0, "capset: %s", strerror(errno));
}

static void tap_not_permitted(struct child_report *rep, void *arg)
{
	struct tap_backend b;
	char err[256];
	int r;
	unsigned before;

	(void)arg;
	drop_cap_net_admin(rep);
	before = count_fds();
	r = child_tap_open("squib-nocap", &b, err, sizeof(err));
	CHILD_CHECK(rep, r == -EPERM, "without CAP_NET_ADMIN: %d (%s), expected -EPERM", r, err);
	CHILD_CHECK(rep, strstr(err, "tap squib-nocap: not permitted"), "message '%s'", err);
	CHILD_CHECK(rep, strstr(err, "needs CAP_NET_ADMIN or a tap owned by this user"), "message '%s'", err);
	CHILD_CHECK(rep, b.fd == -1 && count_fds() == before, "an fd leaked");
}

Test(virtio_backends, tap_needs_cap_net_admin)
{
	require_tun();
	run_in_child(CLONE_NEWNET, tap_not_permitted, NULL);
}

static void tap_without_dev_net_tun(struct child_report *rep, void *arg)
{
	struct tap_backend b;
	char err[256];
	int r;

	(void)arg;
	/* Hide /dev/net/tun in this mount namespace only. */
	if (mount("squib-test", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=4k"))
		child_report(rep, CHILD_SKIP, "cannot mount over /dev/net: %s", strerror(errno));
	r = child_tap_open("squib-t1", &b, err, sizeof(err));
	CHILD_CHECK(rep, r == -ENOENT, "without /dev/net/tun: %d (%s), expected -ENOENT", r, err);
	CHILD_CHECK(rep, strstr(err, "tap squib-t1: /dev/net/tun does not exist (load the tun module"), "message '%s'",
		    err);
	CHILD_CHECK(rep, b.fd == -1, "fd %d", b.fd);
}

Test(virtio_backends, tap_missing_dev_net_tun)
{
	require_tun();
	run_in_child(CLONE_NEWNET | CLONE_NEWNS, tap_without_dev_net_tun, NULL);
}

/* Invalid names never reach the kernel (the command line validates them too). */
Test(virtio_backends, tap_invalid_name)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "a:b", "a b", "tap%d" };
	unsigned before = count_fds();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tap_backend b;
		char err[256];
		int r;

		memset(&b, 0x5a, sizeof(b));
		r = child_tap_open(bad[i], &b, err, sizeof(err));
		cr_assert_eq(r, -EINVAL, "tap '%s': %d", bad[i], r);
		cr_assert_not_null(strstr(err, "not a valid interface name"), "message '%s'", err);
		cr_assert_eq(b.fd, -1);
	}
	{
		struct net_config cfg;
		struct tap_backend b;
		char err[256];

		memset(cfg.tap, 'a', sizeof(cfg.tap)); /* no NUL at all */
		memset(cfg.mac, 0, sizeof(cfg.mac));
		cr_assert_eq(tap_backend_open(&cfg, &b, err, sizeof(err)), -EINVAL, "an unterminated name");
		cr_assert_null(strchr(err, '\n'));
	}
	cr_assert_eq(count_fds(), before);
}
