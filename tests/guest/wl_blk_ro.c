/* SPDX-License-Identifier: MIT */
/*
 * blk-ro [disk=0]: virtio-blk device `disk` must be read-only. Checks
 *   ok blk-ro-open          the device initialised
 *   ok blk-ro-feature       VIRTIO_BLK_F_RO was offered (and negotiated)
 *   ok blk-ro-read          IN of sector 0 (512 bytes): status OK (0)
 *   ok blk-ro-out           OUT of sector 0: status IOERR (1)
 *   ok blk-ro-write-zeroes  WRITE_ZEROES of sector 0: status IOERR
 *   ok blk-ro-discard       DISCARD of sector 0: status IOERR
 *   ok blk-ro-unchanged     sector 0 reads back as before
 * then PASS/FAILED. The OUT data is the bitwise inverse of what was read,
 * so an accepted write would show. WRITE_ZEROES and DISCARD are sent even
 * when not negotiated (a read-only device need not offer them): a read-only
 * disk must refuse every write.
 */
#include "check.h"
#include "cmdline.h"
#include "dma.h"
#include "guest.h"
#include "virtio_blk.h"
#include "workloads.h"

void wl_blk_ro(unsigned cpu)
{
	static struct blk_dev b;
	static uint8_t before[BLK_SECTOR_SIZE];
	struct virtio_opts o;
	struct blk_req *r;
	struct virtio_blk_range *range;
	uint8_t *buf;
	const char *err;

	if (cpu != 0)
		return;
	virtio_opts_from_cmdline(&o);
	virtio_cpu_init();
	err = blk_open(&b, (unsigned)cmdline_get_u64("disk", 0), &o);
	if (err) {
		check_fail("blk-ro-open", err);
		finish();
	}
	check_eq("blk-ro-open", 0, 0);
	check_eq("blk-ro-feature", 1, b.ro);
	r = blk_reqs_alloc(1);
	buf = dma_alloc(BLK_SECTOR_SIZE);
	range = dma_alloc(sizeof(*range));
	if (!r || !buf || !range) {
		check_fail("blk-ro-dma", "DMA arena too small");
		finish();
	}

	check_eq("blk-ro-read", VIRTIO_BLK_S_OK, blk_do(&b, r, VIRTIO_BLK_T_IN, 0, buf, BLK_SECTOR_SIZE));
	memcpy(before, buf, BLK_SECTOR_SIZE);

	for (unsigned i = 0; i < BLK_SECTOR_SIZE; i++)
		buf[i] = (uint8_t)~before[i];
	check_eq("blk-ro-out", VIRTIO_BLK_S_IOERR, blk_do(&b, r, VIRTIO_BLK_T_OUT, 0, buf, BLK_SECTOR_SIZE));

	*range = (struct virtio_blk_range){ .sector = 0, .num_sectors = 1, .flags = 0 };
	check_eq("blk-ro-write-zeroes", VIRTIO_BLK_S_IOERR,
		 blk_do(&b, r, VIRTIO_BLK_T_WRITE_ZEROES, 0, range, sizeof(*range)));
	*range = (struct virtio_blk_range){ .sector = 0, .num_sectors = 1, .flags = 0 };
	check_eq("blk-ro-discard", VIRTIO_BLK_S_IOERR,
		 blk_do(&b, r, VIRTIO_BLK_T_DISCARD, 0, range, sizeof(*range)));

	memset(buf, 0, BLK_SECTOR_SIZE);
	blk_do(&b, r, VIRTIO_BLK_T_IN, 0, buf, BLK_SECTOR_SIZE);
	check_eq("blk-ro-unchanged", 0, memcmp(before, buf, BLK_SECTOR_SIZE) != 0);
	finish();
}
