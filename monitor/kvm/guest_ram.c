/* SPDX-License-Identifier: MIT */
#include "monitor/kvm/guest_ram.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int shared_memfd_create(const char *name, uint64_t size, int *fd_out, void **map_out)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *map;
	int r;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	*fd_out = fd;
	*map_out = map;
	return 0;
}

int guest_ram_create(struct guest_ram *ram, uint64_t size)
{
	void *map = NULL;
	int r;

	ram->fd = -1;
	ram->mem.host_base = NULL;
	ram->mem.size = 0;
	if (size == 0 || size % 4096)
		return -EINVAL;
	r = shared_memfd_create("squib-guest-ram", size, &ram->fd, &map);
	if (r < 0)
		return r;
	/* Never dump guest memory into a core file of the monitor. */
	(void)madvise(map, size, MADV_DONTDUMP);
	ram->mem.host_base = map;
	ram->mem.size = size;
	return 0;
}

void guest_ram_destroy(struct guest_ram *ram)
{
	if (ram->mem.host_base)
		munmap(ram->mem.host_base, ram->mem.size);
	if (ram->fd >= 0)
		close(ram->fd);
	ram->fd = -1;
	ram->mem.host_base = NULL;
}
