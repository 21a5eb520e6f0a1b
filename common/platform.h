/* SPDX-License-Identifier: MIT */
/*
 * The x86 platform squib presents to guests: fixed ports and addresses.
 * The monitor builds its routing table from these, device models decode
 * offsets against them, and the test guest (tests/guest/) uses them too.
 * README.md ("Guest ABI") documents them for guest authors.
 */
#ifndef SQUIB_COMMON_PLATFORM_H
#define SQUIB_COMMON_PLATFORM_H

/* Raw guest layout (README: "Raw guest ABI"). */
#define RAW_GUEST_LOAD_ADDR 0x100000ULL
#define RAW_GUEST_STACK_SIZE 0x4000ULL   /* 16 KiB per vCPU */

/* 16550A UART, COM1. */
#define COM1_PORT_BASE 0x3f8
#define COM1_PORT_COUNT 8
#define COM1_IRQ 4

/* testdev (--testdev). */
#define TESTDEV_EXIT_PORT 0x501         /* 1-byte write of v: VM ends, status v */
#define TESTDEV_HYPERCALL_PORT 0xf5     /* 1-byte write: hypercall doorbell */
#define TESTDEV_MMIO_BASE 0xfe000000ULL
#define TESTDEV_MMIO_SIZE 0x1000ULL
#define TESTDEV_SLOT_COUNT 512          /* 8-byte scratch slots */
#define TESTDEV_COUNTER_OFFSET 0x800    /* read-only read counter slot */
#define TESTDEV_HC_SIGNATURE 0          /* returns TESTDEV_SIGNATURE */
#define TESTDEV_HC_SUM 1                /* returns the sum of the six args */
#define TESTDEV_HC_CLOCK 2              /* returns host CLOCK_MONOTONIC in ns (benchmarks) */
#define TESTDEV_HC_UNKNOWN_RESULT (~0ULL) /* any other func */
/* A 4-byte PIO scratch register (ports 0x510-0x513) for PIO width tests. */
#define TESTDEV_PIO_SCRATCH_PORT 0x510
#define TESTDEV_PIO_SCRATCH_SIZE 4
#define TESTDEV_SIGNATURE 0x5351554942ULL /* "SQUIB" */

/*
 * Platform power control, handled inside the vCPU worker (no device worker):
 * a 16-bit write to the ACPI PM1a control port with SLP_EN (bit 13) set is a
 * Shutdown; a write of 0xfe to the i8042 command port is a Reset.
 */
#define PM1A_CNT_PORT 0x604
/* The PM1a event block (status + enable, 2 bytes each) reads as zeros. */
#define PM1A_EVT_PORT 0x600
#define PM1A_EVT_LEN 4
#define PM1A_SLP_EN (1u << 13)
#define I8042_COMMAND_PORT 0x64
#define I8042_CMD_RESET 0xfe

/*
 * virtio-mmio device windows (virtio 1.2 section 4.2, version 2 registers).
 * Slot i is the window [VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE, + 0x200)
 * with its own IOAPIC pin VIRTIO_MMIO_GSI_BASE + i, level-triggered, active
 * high. The monitor fills slots in this order: every --disk in command-line
 * order, then every --net, then --rng. An empty slot reads all ones (no
 * virtio magic). This is the one table; the ACPI DSDT for Linux guests will
 * describe the same windows. Pins 16..23 are IOAPIC-only (no 8259 twin), so
 * level semantics through KVM's resample irqfd are clean.
 */
#define VIRTIO_MMIO_BASE 0xd0000000ULL
#define VIRTIO_MMIO_STRIDE 0x1000ULL
#define VIRTIO_MMIO_WINDOW 0x200ULL
#define VIRTIO_MMIO_SLOTS 8
#define VIRTIO_MMIO_GSI_BASE 16
#define VIRTIO_MMIO_SLOT_BASE(i) (VIRTIO_MMIO_BASE + (unsigned long long)(i) * VIRTIO_MMIO_STRIDE)
#define VIRTIO_MMIO_SLOT_GSI(i) (VIRTIO_MMIO_GSI_BASE + (i))

/* In-kernel irqchip addresses. */
#define LAPIC_BASE 0xfee00000ULL
#define IOAPIC_BASE 0xfec00000ULL

#endif
