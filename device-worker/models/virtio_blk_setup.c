/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk's set-up, before the sandbox (virtio_blk.h): its parameters,
 * the backend checked against them (size, access mode, direct I/O
 * alignment), the I/O engine, the offered features and the config space.
 * Requests are virtio_blk.c.
 */
#include "device-worker/models/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A boolean parameter: absent -> dflt; "", 1, on, yes, true -> true; 0, off, no, false -> false. */
static int param_bool(const struct virtio_dev *vd, const char *key, bool dflt, bool *out)
{
	const char *v = virtio_dev_param(vd, key);

	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!*v || !strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return 0;
	}
	device_log(vd->host, "virtio-blk: param %s=%s: expected 0 or 1", key, v);
	return -EINVAL;
}

struct blk_params {
	bool ro, direct, want_uring;
	const char *id;
	uint32_t dio_align; /* the monitor's dio-align=N, 0 when absent */
};

static int parse_params(const struct virtio_dev *vd, struct blk_params *p)
{
	const char *cache = virtio_dev_param(vd, "cache");
	const char *io = virtio_dev_param(vd, "io");
	bool direct;
	int r;

	r = param_bool(vd, "ro", false, &p->ro);
	if (r == 0)
		r = param_bool(vd, "direct", false, &direct);
	if (r < 0)
		return r;
	p->direct = direct;
	if (cache && !strcmp(cache, "none")) {
		p->direct = true;
	} else if (cache && strcmp(cache, "writeback") != 0) {
		device_log(vd->host, "virtio-blk: param cache=%s: expected none or writeback", cache);
		return -EINVAL;
	}
	p->want_uring = true;
	if (io && !strcmp(io, "sync")) {
		p->want_uring = false;
	} else if (io && strcmp(io, "uring") != 0) {
		device_log(vd->host, "virtio-blk: param io=%s: expected uring or sync", io);
		return -EINVAL;
	}
	p->id = virtio_dev_param(vd, "id");
	if (!p->id)
		p->id = "squib-disk";
	if (strlen(p->id) > VIRTIO_BLK_ID_BYTES) {
		device_log(vd->host, "virtio-blk: param id=%s: longer than %u bytes", p->id, VIRTIO_BLK_ID_BYTES);
		return -EINVAL;
	}
	p->dio_align = 0;
	if (virtio_dev_param(vd, "dio-align")) {
		const char *v = virtio_dev_param(vd, "dio-align");
		char *end = NULL;
		unsigned long a = strtoul(v, &end, 10);

		if (!*v || *end || a == 0 || a > 4096 || (a & (a - 1))) {
			device_log(vd->host, "virtio-blk: param dio-align=%s: expected a power of two up to 4096", v);
			return -EINVAL;
		}
		p->dio_align = (uint32_t)a;
	}
	return 0;
}

/*
 * The backend against the parameters: a size that is a positive multiple
 * of 512, the access mode the disk needs (O_RDONLY for ro, O_RDWR
 * otherwise), and for direct I/O an alignment 512-byte sectors can meet.
 * Sets capacity, blkdev, direct, dio_align and *discard_align (sectors).
 */
static int check_backend(struct virtio_blk *b, const struct blk_params *p, uint32_t *discard_align)
{
	static const char *const mode[] = { "read-only", "write-only", "read-write", "?" };
	struct blk_backend be;
	const char *why = "?";
	int r = blk_io_probe(b->fd, p->direct, &be, &why);

	if (r < 0) {
		device_log(b->host, "virtio-blk: backend fd %d: %s: %s", b->fd, why, strerrordesc_np(-r));
		return r;
	}
	if (be.size == 0 || be.size % VIRTIO_BLK_SECTOR || be.size > INT64_MAX) {
		device_log(b->host, "virtio-blk: image size %llu is not a positive multiple of 512",
			   (unsigned long long)be.size);
		return -EINVAL;
	}
	if (be.accmode != (p->ro ? O_RDONLY : O_RDWR)) {
		device_log(b->host, "virtio-blk: the backend fd is %s but the disk is %s", mode[be.accmode & 3],
			   p->ro ? "read-only (ro): it must be O_RDONLY" : "read-write: it must be O_RDWR");
		return -EINVAL;
	}
	b->capacity = be.size / VIRTIO_BLK_SECTOR;
	b->blkdev = be.blkdev;
	b->direct = be.direct;
	if (be.direct_set_here)
		device_log(b->host, "virtio-blk: cache=none: O_DIRECT set on the backend fd");
	if (b->direct) {
		/* Guest buffers are bounced unless address and length are multiples of dio_align. */
		uint32_t mem = be.dio_mem_align > VIRTIO_BLK_SECTOR ? be.dio_mem_align : VIRTIO_BLK_SECTOR;
		uint32_t off = be.dio_offset_align > be.lbs ? be.dio_offset_align : be.lbs;

		if (be.dio_reported && be.dio_offset_align == 0) {
			device_log(b->host, "virtio-blk: cache=none: the backend does not support direct I/O");
			return -EINVAL;
		}
		if (off > VIRTIO_BLK_SECTOR || mem > 4096 || (mem & (mem - 1))) {
			device_log(b->host, "virtio-blk: cache=none: the backend needs %u-byte offsets and %u-byte buffers",
				   off, mem);
			return -EINVAL;
		}
		/* The monitor's figure (dio-align) too: the larger rule is the safe one. */
		b->dio_align = p->dio_align > mem ? p->dio_align : mem;
	}
	/* Discards aligned to the file system block (files) or the logical block (devices). */
	*discard_align = (be.fs_block >= VIRTIO_BLK_SECTOR ? be.fs_block : be.lbs) / VIRTIO_BLK_SECTOR;
	if (*discard_align == 0)
		*discard_align = 1;
	return 0;
}

static void fill_config(struct virtio_blk *b, uint32_t discard_align)
{
	struct virtio_blk_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = b->capacity;
	cfg.size_max = VIRTIO_BLK_SIZE_MAX;
	cfg.seg_max = VIRTIO_BLK_SEG_MAX;
	cfg.blk_size = VIRTIO_BLK_SECTOR;
	if (!b->ro) {
		cfg.max_discard_sectors = VIRTIO_BLK_DWZ_SECTORS_MAX;
		cfg.max_discard_seg = VIRTIO_BLK_DWZ_SEG_MAX;
		cfg.discard_sector_alignment = discard_align;
		cfg.max_write_zeroes_sectors = VIRTIO_BLK_DWZ_SECTORS_MAX;
		cfg.max_write_zeroes_seg = VIRTIO_BLK_DWZ_SEG_MAX;
		cfg.write_zeroes_may_unmap = 1;
	}
	memcpy(b->vd->st->config, &cfg, VIRTIO_BLK_CONFIG_LEN);
}

int virtio_blk_init(struct virtio_dev *vd, void *ms, uint64_t *features)
{
	struct virtio_blk *b = ms;
	struct blk_params p;
	uint32_t discard_align = 1;
	int uring_err = 0, r;
	const char *uring_step = NULL;

	b->vd = vd;
	b->host = vd->host;
	b->fd = vd->host->backend_fd;
	if (b->fd < 0) {
		device_log(b->host, "virtio-blk needs backend_fd (a raw disk image)");
		return -EBADF;
	}
	r = parse_params(vd, &p);
	if (r < 0)
		return r;
	b->ro = p.ro;
	memset(b->id, 0, sizeof(b->id));
	memcpy(b->id, p.id, strlen(p.id));
	r = check_backend(b, &p, &discard_align);
	if (r < 0)
		return r;
	r = blk_io_init(&b->io, b->fd, VIRTIO_BLK_QUEUE_SIZE, p.want_uring, b->direct ? VIRTIO_BLK_BOUNCE_BYTES : 0,
			&uring_err, &uring_step);
	if (r < 0) {
		device_log(b->host, "virtio-blk: I/O engine: %s", strerrordesc_np(-r));
		return r;
	}
	if (p.want_uring && b->io.engine != BLK_IO_ENGINE_URING)
		device_log(b->host, "virtio-blk: io_uring unavailable (%s: %s): synchronous I/O in the queue loop",
			   uring_step ? uring_step : "?", strerrordesc_np(-uring_err));
	*features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ull << VIRTIO_BLK_F_FLUSH);
	if (b->ro)
		*features |= 1ull << VIRTIO_BLK_F_RO;
	else
		*features |= (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	fill_config(b, discard_align);
	device_log(b->host, "virtio-blk: %llu sectors, %s, %s, %s engine", (unsigned long long)b->capacity,
		   b->ro ? "read-only" : "read-write", b->direct ? "cache=none (O_DIRECT)" : "cache=writeback",
		   blk_io_engine_name(&b->io));
	return 0;
}
