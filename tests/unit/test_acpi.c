// SPDX-License-Identifier: MIT
/*
 * Unit tests for monitor/firmware/acpi_tables.c and monitor/firmware/acpi_aml.c: the tables
 * are built into a heap "guest RAM", walked from the RSDP like a guest
 * would, and disassembled with iasl (acpica-tools) to catch malformed AML
 * and table layouts that a byte-level check would miss.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/platform.h"
#include "monitor/firmware/acpi.h"
#include "monitor/firmware/acpi_aml.h"

#define RAM_SIZE (1024ULL * 1024ULL)

static struct guest_mem mem;
static struct acpi_virtio_dev vdevs[VIRTIO_MMIO_SLOTS];

static void acpi_setup(void)
{
	mem.host_base = calloc(1, RAM_SIZE);
	cr_assert_not_null(mem.host_base);
	mem.size = RAM_SIZE;
	for (unsigned i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
		vdevs[i].base = VIRTIO_MMIO_SLOT_BASE(i);
		vdevs[i].size = VIRTIO_MMIO_WINDOW;
		vdevs[i].gsi = VIRTIO_MMIO_SLOT_GSI(i);
	}
}

static void acpi_teardown(void)
{
	free(mem.host_base);
	mem.host_base = NULL;
}

TestSuite(acpi, .init = acpi_setup, .fini = acpi_teardown);

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* A table at gpa, checked: signature, in RAM, checksum, OEM fields. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = guest_mem_ptr(&mem, gpa, 36);
	uint32_t len;

	cr_assert_not_null(t, "%s at 0x%llx is outside RAM", sig, (unsigned long long)gpa);
	cr_assert(memcmp(t, sig, 4) == 0, "expected %s at 0x%llx, found %.4s", sig, (unsigned long long)gpa, t);
	len = rd32(t + 4);
	cr_assert(guest_mem_range_ok(&mem, gpa, len));
	cr_assert_eq(sum(t, len), 0, "%s checksum", sig);
	cr_assert(memcmp(t + 10, "SQUIB ", 6) == 0);
	cr_assert(memcmp(t + 16, "SQUIBVMM", 8) == 0);
	cr_assert_neq(t[8], 0, "%s revision", sig);
	return t;
}

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *facs, *madt, *dsdt;
};

static struct tables build_ok(unsigned ncpus, unsigned nvirtio, bool com1)
{
	struct acpi_config cfg = { .ncpus = ncpus, .virtio = vdevs, .nvirtio = nvirtio, .com1 = com1 };
	uint64_t rsdp = 0;
	struct tables t;
	int r = acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_DEFAULT_LEN, &cfg, &rsdp);

	cr_assert_eq(r, 0, "acpi_build: %d", r);
	cr_assert_eq(rsdp, ACPI_DEFAULT_BASE);
	t.rsdp = guest_mem_ptr(&mem, rsdp, 36);
	cr_assert(memcmp(t.rsdp, "RSD PTR ", 8) == 0);
	cr_assert_eq(sum(t.rsdp, 20), 0, "RSDP 1.0 checksum");
	cr_assert_eq(sum(t.rsdp, 36), 0, "RSDP extended checksum");
	cr_assert_eq(t.rsdp[15], 2);
	cr_assert_eq(rd32(t.rsdp + 16), 0, "no RSDT");
	cr_assert_eq(rd32(t.rsdp + 20), 36);
	t.xsdt = table(rd64(t.rsdp + 24), "XSDT");
	cr_assert_eq(rd32(t.xsdt + 4), 36 + 16);
	t.fadt = table(rd64(t.xsdt + 36), "FACP");
	t.madt = table(rd64(t.xsdt + 44), "APIC");
	cr_assert_eq(rd32(t.fadt + 4), 276);
	t.dsdt = table(rd64(t.fadt + 140), "DSDT");
	t.facs = guest_mem_ptr(&mem, rd64(t.fadt + 132), 64);
	cr_assert_not_null(t.facs);
	cr_assert(memcmp(t.facs, "FACS", 4) == 0);
	cr_assert_eq(rd64(t.fadt + 132) % 64, 0, "FACS alignment");
	return t;
}

Test(acpi, chain_and_checksums)
{
	struct tables t = build_ok(2, 3, true);
	const uint8_t *f = t.fadt;

	/* Classic FADT: SCI 9, PM1a event/control blocks, reset register, not hardware-reduced. */
	cr_assert_eq(f[46], 9);
	cr_assert_eq(rd32(f + 56), 0x600);
	cr_assert_eq(rd32(f + 64), PM1A_CNT_PORT);
	cr_assert_eq(f[88], 4);
	cr_assert_eq(f[89], 2);
	cr_assert_eq(rd32(f + 112) & (1u << 20), 0, "HW_REDUCED_ACPI must be clear");
	cr_assert_neq(rd32(f + 112) & (1u << 10), 0, "RESET_REG_SUP");
	cr_assert_eq(f[116], 1);
	cr_assert_eq(rd64(f + 120), I8042_COMMAND_PORT);
	cr_assert_eq(f[128], I8042_CMD_RESET);
	cr_assert_eq(rd64(f + 148 + 4), 0x600);
	cr_assert_eq(f[148 + 1], 32);
	cr_assert_eq(rd64(f + 172 + 4), PM1A_CNT_PORT);
	cr_assert_eq(f[172 + 1], 16);
}

/* Counts MADT entries of one type; checks every entry's length on the way. */
static unsigned madt_count(const uint8_t *madt, uint8_t type, const uint8_t **last)
{
	uint32_t len = rd32(madt + 4);
	unsigned n = 0;

	cr_assert_eq(rd32(madt + 36), LAPIC_BASE);
	cr_assert_eq(rd32(madt + 40), 1u, "PCAT_COMPAT");
	for (uint32_t off = 44; off < len;) {
		cr_assert(off + 2 <= len && madt[off + 1] >= 2 && off + madt[off + 1] <= len, "MADT entry at %u", off);
		if (madt[off] == type) {
			n++;
			if (last)
				*last = madt + off;
		}
		off += madt[off + 1];
	}
	return n;
}

static void check_madt(unsigned ncpus)
{
	struct tables t = build_ok(ncpus, 0, false);
	const uint8_t *e = NULL;

	cr_assert_eq(madt_count(t.madt, 0, &e), ncpus);
	cr_assert_eq(e[3], ncpus - 1, "last APIC id");
	cr_assert_eq(rd32(e + 4), 1u, "enabled");
	cr_assert_eq(madt_count(t.madt, 1, &e), 1);
	cr_assert_eq(e[2], ncpus, "IOAPIC id above every APIC id");
	cr_assert_eq(rd32(e + 4), IOAPIC_BASE);
	cr_assert_eq(rd32(e + 8), 0);
	cr_assert_eq(madt_count(t.madt, 2, NULL), 2);
	cr_assert_eq(madt_count(t.madt, 4, &e), 1);
	cr_assert_eq(e[2], 0xff);
	cr_assert_eq(e[5], 1, "LINT1");
}

Test(acpi, madt_one_cpu) { check_madt(1); }
Test(acpi, madt_two_cpus) { check_madt(2); }
Test(acpi, madt_max_cpus) { check_madt(48); }

Test(acpi, madt_overrides)
{
	struct tables t = build_ok(4, 0, false);
	uint32_t len = rd32(t.madt + 4);
	bool irq0 = false, sci = false;

	for (uint32_t off = 44; off < len; off += t.madt[off + 1]) {
		const uint8_t *e = t.madt + off;

		if (e[0] != 2)
			continue;
		if (e[3] == 0 && rd32(e + 4) == 2)
			irq0 = true;
		if (e[3] == 9 && rd32(e + 4) == 9 && (e[8] | e[9] << 8) == 0xd)
			sci = true;
	}
	cr_assert(irq0, "IRQ0 -> GSI2");
	cr_assert(sci, "SCI level, active high");
}

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

Test(acpi, dsdt_virtio_devices)
{
	for (unsigned nv = 0; nv <= VIRTIO_MMIO_SLOTS; nv++) {
		struct tables t = build_ok(1, nv, nv % 2);
		uint32_t len = rd32(t.dsdt + 4);
		const uint8_t *p = t.dsdt;
		unsigned count = 0;

		while ((p = find(p, (size_t)(t.dsdt + len - p), "LNRO0005", 9))) {
			count++;
			p++;
		}
		cr_assert_eq(count, nv, "%u LNRO0005 devices, expected %u", count, nv);
		for (unsigned i = 0; i < nv; i++) {
			/* Memory32Fixed (read/write, base, size) then Extended Interrupt (level, high, one GSI). */
			uint8_t crs[12 + 9];
			uint32_t b = (uint32_t)vdevs[i].base, s = vdevs[i].size, g = vdevs[i].gsi;
			const uint8_t want[sizeof(crs)] = {
				0x86, 9, 0, 1, (uint8_t)b, (uint8_t)(b >> 8), (uint8_t)(b >> 16), (uint8_t)(b >> 24),
				(uint8_t)s, (uint8_t)(s >> 8), (uint8_t)(s >> 16), (uint8_t)(s >> 24),
				0x89, 6, 0, 0x01, 1, (uint8_t)g, (uint8_t)(g >> 8), (uint8_t)(g >> 16), (uint8_t)(g >> 24),
			};

			memcpy(crs, want, sizeof(crs));
			cr_assert_not_null(find(t.dsdt, len, crs, sizeof(crs)), "_CRS of device %u", i);
		}
		cr_assert(find(t.dsdt, len, "_S5_", 4), "\\_S5");
		cr_assert_eq(find(t.dsdt, len, "COM1", 4) != NULL, nv % 2 == 1);
	}
}

Test(acpi, too_small_region)
{
	struct acpi_config cfg = { .ncpus = 48, .virtio = vdevs, .nvirtio = 8, .com1 = true };
	uint64_t rsdp = 0x1234;

	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, 0, &cfg, &rsdp), -ENOSPC);
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, 512, &cfg, &rsdp), -ENOSPC);
	cr_assert_eq(rsdp, 0x1234, "no RSDP reported on failure");
	/* The largest config fits the documented worst case. */
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_MAX_SIZE, &cfg, &rsdp), 0);
}

Test(acpi, outside_ram)
{
	struct acpi_config cfg = { .ncpus = 1 };
	uint64_t rsdp;

	cr_assert_eq(acpi_build(&mem, RAM_SIZE - 256, 0x1000, &cfg, &rsdp), -EFAULT);
	cr_assert_eq(acpi_build(&mem, 0xfffffffffffff000ULL, 0x1000, &cfg, &rsdp), -EINVAL);
}

Test(acpi, hostile_configs)
{
	struct acpi_virtio_dev bad = vdevs[0];
	struct acpi_config cfg = { .ncpus = 1, .virtio = vdevs, .nvirtio = 1 };
	uint64_t rsdp;

	cfg.ncpus = 0;
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_DEFAULT_LEN, &cfg, &rsdp), -EINVAL);
	cfg.ncpus = 49;
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_DEFAULT_LEN, &cfg, &rsdp), -EINVAL);
	cfg.ncpus = 1;
	cfg.nvirtio = 9;
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_DEFAULT_LEN, &cfg, &rsdp), -EINVAL);
	cfg.virtio = NULL;
	cfg.nvirtio = 1;
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_DEFAULT_LEN, &cfg, &rsdp), -EINVAL);
	cfg.virtio = &bad;
	bad.base = 0xfffff000ULL;
	bad.size = 0x2000;
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_DEFAULT_LEN, &cfg, &rsdp), -EINVAL);
	bad = vdevs[0];
	bad.gsi = 24;
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE, ACPI_DEFAULT_LEN, &cfg, &rsdp), -EINVAL);
	cr_assert_eq(acpi_build(&mem, ACPI_DEFAULT_BASE + 8, ACPI_DEFAULT_LEN, &cfg, &rsdp), -EINVAL,
		     "RSDP must be 16-byte aligned");
}

Test(acpi, aml_pkglength_encodings)
{
	/* 1-byte PkgLength up to 63, 2 bytes up to 4095, 3 bytes beyond. */
	static uint8_t buf[70000];
	const struct { size_t body; uint8_t first; size_t nbytes; } cases[] = {
		{ 62, 63, 1 }, { 63, 0x40 | 1, 2 }, { 4093, 0x40 | 0xf, 2 }, { 4094, 0x80 | 1, 3 },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct aml a;
		size_t mark, total;

		aml_init(&a, buf, sizeof(buf));
		aml_byte(&a, 0x10);
		mark = a.len;
		for (size_t i = 0; i < cases[c].body; i++)
			aml_byte(&a, 0xaa);
		aml_close(&a, mark);
		cr_assert(!a.overflow);
		cr_assert_eq(a.len, 1 + cases[c].nbytes + cases[c].body);
		cr_assert_eq(buf[1], cases[c].first, "case %zu", c);
		total = cases[c].nbytes == 1 ? buf[1] : (buf[1] & 0xf) | (size_t)buf[2] << 4 |
				(cases[c].nbytes == 3 ? (size_t)buf[3] << 12 : 0);
		cr_assert_eq(total, cases[c].body + cases[c].nbytes);
	}
}

Test(acpi, aml_names_and_overflow)
{
	uint8_t buf[16];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	cr_assert(aml_name_string(&a, "\\_SB.PCI0"));
	cr_assert_eq(a.len, 10);
	cr_assert(memcmp(buf, "\\\x2e_SB_PCI0", 10) == 0);
	cr_assert(!aml_name_string(&a, "TOOLONG"));
	cr_assert(a.overflow);
	aml_init(&a, buf, 4);
	aml_string(&a, "LNRO0005");
	cr_assert(a.overflow, "writes past the buffer are refused");
	aml_init(&a, buf, sizeof(buf));
	cr_assert(aml_eisaid(&a, "PNP0501"));
	cr_assert(memcmp(buf, "\x0c\x41\xd0\x05\x01", 5) == 0);
}

/* ---- iasl ------------------------------------------------------------------ */

static void require_iasl(void)
{
	int st = system("iasl -v >/dev/null 2>&1");

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127)
		cr_assert_fail("iasl not found: `make deps` installs it (Debian package acpica-tools)");
}

/* Writes the table at p to dir/name.dat, disassembles it, returns the .dsl text (malloc'd). */
static char *disassemble(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[512], cmd[1536];
	FILE *f;
	char *text;
	long n;
	int st;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d '%s.dat' >'%s.log' 2>&1", dir, name, name);
	st = system(cmd);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "iasl -d %s failed (status %d); see %s/%s.log",
		  name, st, dir, name);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "no %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_gt(n, 0);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	cr_assert_not_null(text);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static unsigned count_str(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void remove_dir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(acpi, iasl_disassembles_every_table)
{
	char dir[] = "/tmp/squib-acpi-XXXXXX";
	struct tables t;
	char *dsl;

	require_iasl();
	t = build_ok(4, 3, true);
	cr_assert_not_null(mkdtemp(dir));

	dsl = disassemble(dir, "dsdt", t.dsdt, rd32(t.dsdt + 4));
	cr_assert_eq(count_str(dsl, "\"LNRO0005\""), 3, "%s", dsl);
	cr_assert(strstr(dsl, "Name (\\_S5, Package (0x04)"), "%s", dsl);
	cr_assert(strstr(dsl, "0xD0002000,         // Address Base"), "%s", dsl);
	cr_assert(strstr(dsl, "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )"), "%s", dsl);
	cr_assert(strstr(dsl, "EisaId (\"PNP0501\")"), "%s", dsl);
	cr_assert(strstr(dsl, "IRQNoFlags ()") && strstr(dsl, "{4}"), "%s", dsl);
	free(dsl);

	dsl = disassemble(dir, "apic", t.madt, rd32(t.madt + 4));
	cr_assert_eq(count_str(dsl, "Subtable Type : 00 [Processor Local APIC]"), 4, "%s", dsl);
	cr_assert_eq(count_str(dsl, "[I/O APIC]"), 1, "%s", dsl);
	cr_assert_eq(count_str(dsl, "[Interrupt Source Override]"), 2, "%s", dsl);
	cr_assert_eq(count_str(dsl, "[Local APIC NMI]"), 1, "%s", dsl);
	free(dsl);

	dsl = disassemble(dir, "facp", t.fadt, rd32(t.fadt + 4));
	cr_assert(strstr(dsl, "Hardware Reduced (V5) : 0"), "%s", dsl);
	cr_assert(strstr(dsl, "Reset Register Supported (V2) : 1"), "%s", dsl);
	free(dsl);

	dsl = disassemble(dir, "xsdt", t.xsdt, rd32(t.xsdt + 4));
	free(dsl);
	dsl = disassemble(dir, "facs", t.facs, 64);
	free(dsl);
	remove_dir(dir);
}
