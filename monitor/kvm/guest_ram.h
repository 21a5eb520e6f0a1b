/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one sealed memfd. The monitor maps it to load the guest, the VM
 * process (monitor/vm_process.h) inherits that mapping and gives it to KVM,
 * so every vCPU worker shares it; the monitor then unmaps it, and device
 * workers get the fd (through the spawner). Sealed against growing
 * and shrinking so no worker can make another fault by truncating it.
 */
#ifndef SQUIB_MONITOR_GUEST_RAM_H
#define SQUIB_MONITOR_GUEST_RAM_H

#include <stdint.h>

#include "common/compiler.h"
#include "common/guest_mem.h"

struct guest_ram {
	int fd;
	struct guest_mem mem;
};

/* Creates and maps size bytes (a multiple of 4 KiB). 0 or -errno. */
int guest_ram_create(struct guest_ram *ram, uint64_t size) MUST_USE;
void guest_ram_destroy(struct guest_ram *ram);

/* A sealed, shared memfd of size bytes for a ring or status page, mapped into *map. */
int shared_memfd_create(const char *name, uint64_t size, int *fd, void **map) MUST_USE;

#endif
