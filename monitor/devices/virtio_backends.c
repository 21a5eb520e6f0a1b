/* SPDX-License-Identifier: MIT */
#include "monitor/devices/virtio_backends.h"

#include "monitor/devices/device_args.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DIO_ALIGN_FALLBACK 4096u

__attribute__((format(printf, 4, 5))) static int fail(int r, char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return r;
}

static void close_keep_errno(int fd)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	errno = e;
}

/* ---- disks ---------------------------------------------------------------- */

/* The name of a filesystem type for a message; NULL when unknown. */
static const char *fs_name(unsigned long type)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
		{ TMPFS_MAGIC, "tmpfs" },
		{ RAMFS_MAGIC, "ramfs" },
		{ EXT4_SUPER_MAGIC, "ext2/3/4" },
		{ XFS_SUPER_MAGIC, "xfs" },
		{ BTRFS_SUPER_MAGIC, "btrfs" },
		{ F2FS_SUPER_MAGIC, "f2fs" },
		{ OVERLAYFS_SUPER_MAGIC, "overlayfs" },
		{ NFS_SUPER_MAGIC, "nfs" },
		{ FUSE_SUPER_MAGIC, "fuse" },
		{ V9FS_MAGIC, "9p" },
		{ CIFS_SUPER_MAGIC, "cifs" },
		{ SMB2_SUPER_MAGIC, "smb2" },
		{ 0x2fc12fc1UL, "zfs" }, /* not in linux/magic.h */
		{ SQUASHFS_MAGIC, "squashfs" },
		{ PROC_SUPER_MAGIC, "procfs" },
		{ SYSFS_MAGIC, "sysfs" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].magic == type)
			return names[i].name;
	return NULL;
}

/* Refuses what is not a regular file or a block device (st_mode of stat or fstat). */
static int check_type(mode_t mode, const char *qpath, char *err, size_t err_len)
{
	const char *what;

	if (S_ISREG(mode) || S_ISBLK(mode))
		return 0;
	if (S_ISDIR(mode))
		return fail(-EISDIR, err, err_len, "disk %s is a directory, not an image file or block device", qpath);
	if (S_ISCHR(mode))
		what = "a character device";
	else if (S_ISFIFO(mode))
		what = "a FIFO";
	else if (S_ISSOCK(mode))
		what = "a socket";
	else
		what = "of an unknown file type";
	return fail(-EINVAL, err, err_len, "disk %s is %s, not an image file or block device", qpath, what);
}

/* The message for a failed open/stat of the image. */
static int open_error(int e, const struct disk_config *cfg, const char *qpath, char *err, size_t err_len)
{
	switch (e) {
	case ENOENT:
		return fail(-e, err, err_len, "disk %s does not exist", qpath);
	case EACCES:
	case EPERM:
		return fail(-e, err, err_len, "disk %s: permission denied%s", qpath,
			    cfg->read_only ? "" : " opening it read-write (add ,ro for read-only)");
	case EROFS:
		return fail(-e, err, err_len, "disk %s is on a read-only filesystem or device: add ,ro", qpath);
	case EBUSY:
		return fail(-e, err, err_len,
			    "disk %s: the block device is in use (mounted, or held open exclusively by another "
			    "process)",
			    qpath);
	case ETXTBSY:
		return fail(-e, err, err_len, "disk %s is being executed, refusing to write it", qpath);
	default:
		return fail(-e, err, err_len, "disk %s: cannot open: %s", qpath, strerror(e));
	}
}

/*
 * open() refused O_DIRECT with EINVAL: if the image opens without it, the
 * filesystem lacks O_DIRECT. Returns the message's error, or 0 when
 * O_DIRECT was not the reason.
 */
static int direct_refused(const struct disk_config *cfg, int flags, const char *qpath, char *err, size_t err_len)
{
	int fd = open(cfg->path, flags & ~O_DIRECT);
	struct statfs sfs;
	const char *name = NULL;
	char unknown[48];

	if (fd < 0)
		return 0;
	if (!fstatfs(fd, &sfs)) {
		name = fs_name((unsigned long)sfs.f_type);
		if (!name) {
			snprintf(unknown, sizeof(unknown), "its filesystem (type 0x%lx)", (unsigned long)sfs.f_type);
			name = unknown;
		}
	} else {
		name = "its filesystem";
	}
	close(fd);
	return fail(-EINVAL, err, err_len, "disk %s: cache=none: %s does not support O_DIRECT, use cache=writeback",
		    qpath, name);
}

static void dio_alignment(int fd, struct disk_backend *b)
{
	struct statx stx;

	b->dio_mem_align = DIO_ALIGN_FALLBACK;
	b->dio_offset_align = DIO_ALIGN_FALLBACK;
	memset(&stx, 0, sizeof(stx));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) || !(stx.stx_mask & STATX_DIOALIGN))
		return;
	if (stx.stx_dio_mem_align)
		b->dio_mem_align = stx.stx_dio_mem_align;
	if (stx.stx_dio_offset_align)
		b->dio_offset_align = stx.stx_dio_offset_align;
}

int disk_backend_open(const struct disk_config *cfg, struct disk_backend *out, char *err, size_t err_len)
{
	char qpath[ARG_QUOTE_MAX];
	struct disk_backend b = { .fd = -1 };
	struct stat st;
	struct flock lock;
	int flags, fl, r;
	uint64_t size;

	*out = b;
	if (err_len)
		err[0] = '\0';
	if (!cfg->path || !*cfg->path)
		return fail(-EINVAL, err, err_len, "disk: empty path");
	arg_escape(qpath, sizeof(qpath), cfg->path, strlen(cfg->path));
	b.read_only = cfg->read_only;
	b.direct = cfg->cache == DISK_CACHE_NONE;

	/*
	 * Look before opening: opening a FIFO blocks, and opening some
	 * character devices has side effects (a watchdog starts ticking).
	 */
	if (stat(cfg->path, &st))
		return open_error(errno, cfg, qpath, err, err_len);
	r = check_type(st.st_mode, qpath, err, err_len);
	if (r)
		return r;

	/*
	 * O_NONBLOCK guards against a swap to a FIFO after the stat; it is
	 * cleared again below. O_EXCL on a read-write block device makes the
	 * kernel refuse one that is mounted or claimed by someone else.
	 */
	flags = (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (b.direct)
		flags |= O_DIRECT;
	if (!cfg->read_only && S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	b.fd = open(cfg->path, flags);
	if (b.fd < 0) {
		int e = errno;

		if (e == EINVAL && b.direct) {
			r = direct_refused(cfg, flags, qpath, err, err_len);
			if (r)
				return r;
		}
		return open_error(e, cfg, qpath, err, err_len);
	}

	if (fstat(b.fd, &st)) {
		r = fail(-errno, err, err_len, "disk %s: fstat: %s", qpath, strerror(errno));
		goto out_close;
	}
	r = check_type(st.st_mode, qpath, err, err_len);
	if (r)
		goto out_close;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b.fd, BLKGETSIZE64, &size)) {
			r = fail(-errno, err, err_len, "disk %s: cannot read the block device's size: %s", qpath,
				 strerror(errno));
			goto out_close;
		}
	} else {
		size = (uint64_t)st.st_size;
	}
	if (size == 0) {
		r = fail(-EINVAL, err, err_len, "disk %s is empty (0 bytes)", qpath);
		goto out_close;
	}
	if (size % DISK_SECTOR_SIZE) {
		r = fail(-EINVAL, err, err_len,
			 "disk %s: size %llu bytes is not a multiple of 512 (the guest sees whole 512-byte sectors "
			 "only); pad it to %llu bytes",
			 qpath, (unsigned long long)size,
			 (unsigned long long)(size + DISK_SECTOR_SIZE - size % DISK_SECTOR_SIZE));
		goto out_close;
	}

	fl = fcntl(b.fd, F_GETFL);
	if (fl < 0 || fcntl(b.fd, F_SETFL, fl & ~O_NONBLOCK)) {
		r = fail(-errno, err, err_len, "disk %s: fcntl(F_SETFL): %s", qpath, strerror(errno));
		goto out_close;
	}

	/* An OFD lock belongs to the open file description: the worker's copy of the fd keeps it. */
	memset(&lock, 0, sizeof(lock));
	lock.l_type = cfg->read_only ? F_RDLCK : F_WRLCK;
	lock.l_whence = SEEK_SET;
	lock.l_start = 0;
	lock.l_len = 0; /* the whole file, however it grows */
	if (fcntl(b.fd, F_OFD_SETLK, &lock)) {
		int e = errno;

		if (e == EAGAIN || e == EACCES)
			r = fail(-EBUSY, err, err_len, "disk %s is in use by another process (locked)", qpath);
		else
			r = fail(-e, err, err_len, "disk %s: cannot lock the image: %s", qpath, strerror(e));
		goto out_close;
	}

	if (b.direct)
		dio_alignment(b.fd, &b);
	b.size_bytes = size;
	b.sectors = size / DISK_SECTOR_SIZE;
	*out = b;
	return 0;

out_close:
	close_keep_errno(b.fd);
	return r;
}

void disk_backend_close(struct disk_backend *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* ---- taps ----------------------------------------------------------------- */

int tap_backend_open(const struct net_config *cfg, struct tap_backend *out, char *err, size_t err_len)
{
	struct ifreq ifr;
	int fd, hdr_size = TAP_VNET_HDR_SIZE, r;
	const char *name = cfg->tap;
	char qname[ARG_QUOTE_MAX];

	out->fd = -1;
	memset(out->ifname, 0, sizeof(out->ifname));
	if (err_len)
		err[0] = '\0';
	if (!memchr(name, '\0', sizeof(cfg->tap)) || !tap_name_valid(name))
		return fail(-EINVAL, err, err_len, "tap '%s': not a valid interface name",
			    arg_escape(qname, sizeof(qname), name, strnlen(name, sizeof(cfg->tap))));

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return fail(-e, err, err_len, "tap %s: /dev/net/tun does not exist (load the tun module: modprobe tun)",
				    name);
		if (e == ENODEV || e == ENXIO)
			return fail(-e, err, err_len, "tap %s: /dev/net/tun has no driver (load the tun module: modprobe tun)",
				    name);
		if (e == EACCES || e == EPERM)
			return fail(-e, err, err_len, "tap %s: cannot open /dev/net/tun: permission denied", name);
		return fail(-e, err, err_len, "tap %s: cannot open /dev/net/tun: %s", name, strerror(e));
	}

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name)); /* validated: at most 15 bytes, NUL from the memset */
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int e = errno;

		if (e == EPERM)
			r = fail(-e, err, err_len, "tap %s: not permitted (needs CAP_NET_ADMIN or a tap owned by this user)",
				 name);
		else if (e == EBUSY)
			r = fail(-e, err, err_len, "tap %s is in use (another process has it open)", name);
		else if (e == EINVAL)
			r = fail(-e, err, err_len, "tap %s: an interface of that name exists and is not a single-queue tap",
				 name);
		else
			r = fail(-e, err, err_len, "tap %s: TUNSETIFF: %s", name, strerror(e));
		goto out_close;
	}

	/*
	 * Check what the kernel did: a tap with vnet headers and the name asked
	 * for. IFF_NO_PI cannot be read back: TUNGETIFF reports IFF_NOFILTER in
	 * the same bit (0x1000) whenever no filter is attached, so NO_PI rests
	 * on TUNSETIFF above having succeeded with it.
	 */
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr)) {
		r = fail(-errno, err, err_len, "tap %s: TUNGETIFF: %s", name, strerror(errno));
		goto out_close;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN | IFF_VNET_HDR)) != (IFF_TAP | IFF_VNET_HDR) ||
	    strncmp(ifr.ifr_name, name, IFNAMSIZ)) {
		r = fail(-EPROTO, err, err_len, "tap %s: the kernel attached '%.*s' with flags 0x%x, not a vnet-header tap",
			 name, IFNAMSIZ, ifr.ifr_name, (unsigned)(unsigned short)ifr.ifr_flags);
		goto out_close;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_size)) {
		r = fail(-errno, err, err_len, "tap %s: TUNSETVNETHDRSZ %d: %s", name, hdr_size, strerror(errno));
		goto out_close;
	}
	/* No offloads until the device negotiates them with the guest. */
	if (ioctl(fd, TUNSETOFFLOAD, 0UL)) {
		r = fail(-errno, err, err_len, "tap %s: TUNSETOFFLOAD 0: %s", name, strerror(errno));
		goto out_close;
	}
	out->fd = fd;
	memcpy(out->ifname, name, strlen(name) + 1);
	return 0;

out_close:
	close_keep_errno(fd);
	return r;
}

void tap_backend_close(struct tap_backend *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
