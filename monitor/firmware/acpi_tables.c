/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables (ACPI 6.3): RSDP, XSDT, FADT, FACS, MADT and an AML DSDT.
 * Each table is assembled in a host buffer, checksummed, and the whole image
 * is copied into guest memory in one checked write.
 */
#include "monitor/firmware/acpi.h"

#include <errno.h>
#include <string.h>

#include "common/platform.h"
#include "monitor/firmware/acpi_aml.h"
#include "monitor/cli.h"

_Static_assert(CLI_MAX_CPUS <= 254, "MADT Local APIC entries have 8-bit APIC ids and 0xff means all");

#define OEM_ID "SQUIB "     /* 6 bytes */
#define OEM_TABLE_ID "SQUIBVMM" /* 8 bytes */
#define OEM_REVISION 1
#define CREATOR_ID "SQIB"
#define CREATOR_REVISION 1

#define HDR_LEN 36
#define RSDP_LEN 36
#define FACS_LEN 64
#define FADT_LEN 276 /* revision 6: up to the Hypervisor Vendor Identity */

/* KVM's in-kernel IOAPIC has 24 pins; GSIs are pins with base 0. */
#define IOAPIC_PINS 24
#define SCI_IRQ 9
#define PM1_EVT_LEN PM1A_EVT_LEN
#define PM1_CNT_LEN 2
/* SLP_TYP for S5; squib's PM1a handler acts on SLP_EN alone, the test guest writes 5 too. */
#define SLP_TYP_S5 5

/* FADT Flags (table 5-35). */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
/* IA-PC boot architecture flags (table 5-36). */
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)
#define BOOT_ARCH_MSI_NOT_SUPPORTED (1u << 3)
#define BOOT_ARCH_CMOS_RTC_NOT_PRESENT (1u << 5)

/* Generic Address Structure. */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2

/* MADT (section 5.2.12). */
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_ENABLED 1u
#define MPS_ACTIVE_HIGH 0x1
#define MPS_LEVEL (0x3 << 2)

/* Offsets inside the image (relative to base) and the image itself. */
struct layout {
	uint64_t base;
	size_t rsdp, facs, xsdt, fadt, madt, dsdt, end;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The byte that makes p[0..n) sum to zero modulo 256, given p[at] is 0. */
static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t revision)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = revision;
	t[9] = 0; /* checksum, filled by seal() */
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put32(t + 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, CREATOR_REVISION);
}

static void seal(uint8_t *t, uint32_t len)
{
	put32(t + 4, len);
	t[9] = 0;
	t[9] = checksum(t, len);
}

static void gas(uint8_t *p, uint8_t space, uint8_t bit_width, uint8_t access, uint64_t addr)
{
	p[0] = space;
	p[1] = bit_width;
	p[2] = 0; /* bit offset */
	p[3] = access;
	put64(p + 4, addr);
}

static void build_rsdp(uint8_t *p, uint64_t xsdt_gpa)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 2;         /* revision 2: XSDT and the extended checksum */
	put32(p + 16, 0);  /* no RSDT: every pointer is 64-bit */
	put32(p + 20, RSDP_LEN);
	put64(p + 24, xsdt_gpa);
	p[8] = checksum(p, 20);  /* the ACPI 1.0 part */
	p[32] = checksum(p, RSDP_LEN);
}

static void build_facs(uint8_t *p)
{
	/* No checksum; the guest owns the global lock and waking vector fields. */
	memcpy(p, "FACS", 4);
	put32(p + 4, FACS_LEN);
	p[32] = 2; /* version */
}

static size_t build_xsdt(uint8_t *t, uint64_t fadt_gpa, uint64_t madt_gpa)
{
	uint32_t len = HDR_LEN + 2 * 8;

	header(t, "XSDT", len, 1);
	put64(t + HDR_LEN, fadt_gpa);
	put64(t + HDR_LEN + 8, madt_gpa);
	seal(t, len);
	return len;
}

/*
 * A classic (not hardware-reduced) FADT: Linux only uses the PM1a control
 * block for S5 when HW_REDUCED_ACPI is clear. SMI_CMD is 0, which tells the
 * OS the platform is always in ACPI mode (no SCI_EN handshake). No PM timer
 * (optional since ACPI 5.0A; Linux uses the TSC/kvmclock), no GPE blocks.
 */
static size_t build_fadt(uint8_t *t, uint64_t facs_gpa, uint64_t dsdt_gpa)
{
	header(t, "FACP", FADT_LEN, 6);
	/* The 32-bit pointers stay 0: X_FIRMWARE_CTRL/X_DSDT say it all, and ACPICA warns if both differ. */
	t[45] = 0; /* preferred PM profile: unspecified */
	put16(t + 46, SCI_IRQ);
	put32(t + 56, PM1A_EVT_PORT);
	put32(t + 64, PM1A_CNT_PORT);
	t[88] = PM1_EVT_LEN;
	t[89] = PM1_CNT_LEN;
	/* C2/C3 latencies above 100/1000 us mean "not supported". */
	put16(t + 96, 101);
	put16(t + 98, 1001);
	/*
	 * No VGA; no PCI so no MSI; no CMOS RTC (Linux then skips the rtc_cmos
	 * platform device). The 8042 flag is clear on purpose: squib decodes
	 * only the i8042 reset command, and with the flag clear Linux does not
	 * spend a second probing for a keyboard controller that never answers.
	 * Linux's reboot path writes 0xfe to port 0x64 regardless of this flag.
	 */
	put16(t + 109, BOOT_ARCH_VGA_NOT_PRESENT | BOOT_ARCH_MSI_NOT_SUPPORTED | BOOT_ARCH_CMOS_RTC_NOT_PRESENT);
	put32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
	/* Reset: the i8042 "pulse reset line" command, which squib already treats as a reset (0xcf9 is not decoded). */
	gas(t + 116, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE, I8042_COMMAND_PORT);
	t[128] = I8042_CMD_RESET;
	t[131] = 3; /* FADT minor version: ACPI 6.3 */
	put64(t + 132, facs_gpa);
	put64(t + 140, dsdt_gpa);
	/* The X_ blocks repeat the legacy ones: ACPICA cross-checks address and width. */
	gas(t + 148, GAS_SYSTEM_IO, PM1_EVT_LEN * 8, GAS_ACCESS_WORD, PM1A_EVT_PORT);
	gas(t + 172, GAS_SYSTEM_IO, PM1_CNT_LEN * 8, GAS_ACCESS_WORD, PM1A_CNT_PORT);
	memcpy(t + 268, "SQUIBKVM", 8); /* hypervisor vendor identity */
	seal(t, FADT_LEN);
	return FADT_LEN;
}

static size_t build_madt(uint8_t *t, const struct acpi_config *cfg)
{
	uint8_t *p = t + HDR_LEN + 8;
	/* IRQ0 -> GSI 2: KVM wires the PIT to IOAPIC pin 2, as on every PC. */
	static const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } isos[] = {
		{ 0, 2, 0 },
		/* The SCI is never raised by squib; active-high keeps an idle line deasserted. */
		{ SCI_IRQ, SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL },
	};
	size_t len;

	header(t, "APIC", 0, 5);
	put32(t + HDR_LEN, (uint32_t)LAPIC_BASE);
	put32(t + HDR_LEN + 4, MADT_PCAT_COMPAT); /* dual 8259s present: Linux masks them */
	for (unsigned i = 0; i < cfg->ncpus; i++, p += 8) {
		p[0] = MADT_LAPIC;
		p[1] = 8;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = (uint8_t)i; /* APIC id: KVM gives vCPU i APIC id i */
		put32(p + 4, MADT_ENABLED);
	}
	/*
	 * The IOAPIC id is ncpus, distinct from every APIC id. 64-bit Linux
	 * takes the MADT's id as is (it does not compare it with the IOAPIC's
	 * 4-bit ID register, which KVM leaves at 0).
	 */
	p[0] = MADT_IOAPIC;
	p[1] = 12;
	p[2] = (uint8_t)cfg->ncpus;
	p[3] = 0;
	put32(p + 4, (uint32_t)IOAPIC_BASE);
	put32(p + 8, 0); /* GSI base */
	p += 12;
	for (size_t i = 0; i < ARRAY_SIZE(isos); i++, p += 10) {
		p[0] = MADT_ISO;
		p[1] = 10;
		p[2] = 0; /* ISA bus */
		p[3] = isos[i].irq;
		put32(p + 4, isos[i].gsi);
		put16(p + 8, isos[i].flags);
	}
	/* LINT1 is NMI on every processor (UID 0xff = all), as the BIOS wires it. */
	p[0] = MADT_LAPIC_NMI;
	p[1] = 6;
	p[2] = 0xff;
	put16(p + 3, 0); /* conforms to the bus */
	p[5] = 1;        /* LINT1 */
	p += 6;
	len = (size_t)(p - t);
	seal(t, (uint32_t)len);
	return len;
}

static void dsdt_virtio(struct aml *a, unsigned i, const struct acpi_virtio_dev *d)
{
	char name[5] = { 'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10), 0 };
	size_t dev, crs;

	dev = aml_device_open(a, name);
	aml_name_op(a, "_HID");
	aml_string(a, "LNRO0005"); /* Linux virtio_mmio's ACPI match */
	aml_name_op(a, "_UID");
	aml_integer(a, i);
	aml_name_op(a, "_CRS");
	crs = aml_buffer_open(a);
	aml_res_mem32_fixed(a, true, (uint32_t)d->base, d->size);
	aml_res_ext_irq(a, false, false, d->gsi); /* level, active high, exclusive */
	aml_res_end(a);
	aml_buffer_close(a, crs);
	aml_close(a, dev);
}

static void dsdt_com1(struct aml *a)
{
	size_t dev, crs;

	dev = aml_device_open(a, "COM1");
	aml_name_op(a, "_HID");
	aml_eisaid(a, "PNP0501"); /* 16550A-compatible */
	aml_name_op(a, "_UID");
	aml_integer(a, 1);
	aml_name_op(a, "_CRS");
	crs = aml_buffer_open(a);
	aml_res_io16(a, COM1_PORT_BASE, COM1_PORT_BASE, 1, COM1_PORT_COUNT);
	aml_res_irq_noflags(a, 1u << COM1_IRQ);
	aml_res_end(a);
	aml_buffer_close(a, crs);
	aml_close(a, dev);
}

/* Returns the DSDT's length, or 0 when it did not fit in cap bytes. */
static size_t build_dsdt(uint8_t *t, size_t cap, const struct acpi_config *cfg)
{
	struct aml a;
	size_t sb, pkg;

	if (cap < HDR_LEN)
		return 0;
	/* Revision 2: integers are 64-bit. */
	header(t, "DSDT", 0, 2);
	aml_init(&a, t + HDR_LEN, cap - HDR_LEN);
	sb = aml_scope_open(&a, "\\_SB");
	for (unsigned i = 0; i < cfg->nvirtio; i++)
		dsdt_virtio(&a, i, &cfg->virtio[i]);
	if (cfg->com1)
		dsdt_com1(&a);
	aml_close(&a, sb);
	/* \_S5: SLP_TYP for PM1a and PM1b, then two reserved elements. */
	aml_name_op(&a, "\\_S5");
	pkg = aml_package_open(&a, 4);
	aml_integer(&a, SLP_TYP_S5);
	aml_integer(&a, SLP_TYP_S5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a, pkg);
	if (a.overflow)
		return 0;
	seal(t, (uint32_t)(HDR_LEN + a.len));
	return HDR_LEN + a.len;
}

static int check_config(const struct acpi_config *cfg)
{
	if (cfg->ncpus == 0 || cfg->ncpus > CLI_MAX_CPUS)
		return -EINVAL;
	if (cfg->nvirtio > VIRTIO_MMIO_SLOTS || (cfg->nvirtio && !cfg->virtio))
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nvirtio; i++) {
		const struct acpi_virtio_dev *d = &cfg->virtio[i];

		/* Memory32Fixed: the window must end at or below 4 GiB. */
		if (d->size == 0 || d->base > 0xffffffffULL || d->size > 0x100000000ULL - d->base)
			return -EINVAL;
		if (d->gsi >= IOAPIC_PINS || d->gsi == SCI_IRQ)
			return -EINVAL;
	}
	return 0;
}

static size_t align_to(uint64_t base, size_t off, uint64_t align)
{
	uint64_t gpa = base + off;

	return off + (size_t)((align - gpa % align) % align);
}

int acpi_build(const struct guest_mem *mem, uint64_t base, uint64_t len, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	uint8_t img[ACPI_MAX_SIZE];
	struct layout l = { .base = base };
	size_t n;
	int r;

	if (!mem || !cfg || base % 16 != 0 || base + ACPI_MAX_SIZE < base)
		return -EINVAL;
	r = check_config(cfg);
	if (r < 0)
		return r;
	memset(img, 0, sizeof(img));
	/* Fixed-size tables first, so every pointer is known before the tables are written. */
	l.rsdp = 0;
	l.facs = align_to(base, l.rsdp + RSDP_LEN, 64); /* the FACS must be 64-byte aligned */
	l.xsdt = align_to(base, l.facs + FACS_LEN, 8);
	l.fadt = align_to(base, l.xsdt + HDR_LEN + 16, 8);
	l.madt = align_to(base, l.fadt + FADT_LEN, 8);
	l.dsdt = align_to(base, l.madt + build_madt(img + l.madt, cfg), 8);
	n = build_dsdt(img + l.dsdt, sizeof(img) - l.dsdt, cfg);
	if (n == 0)
		return -EOVERFLOW; /* ACPI_MAX_SIZE is too small: a squib bug, not a config error */
	l.end = l.dsdt + n;
	build_rsdp(img + l.rsdp, base + l.xsdt);
	build_facs(img + l.facs);
	build_xsdt(img + l.xsdt, base + l.fadt, base + l.madt);
	build_fadt(img + l.fadt, base + l.facs, base + l.dsdt);
	if (l.end > len)
		return -ENOSPC;
	r = guest_mem_write(mem, base, img, l.end);
	if (r < 0)
		return r;
	if (rsdp_gpa)
		*rsdp_gpa = base + l.rsdp;
	return 0;
}
