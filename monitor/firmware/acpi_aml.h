/* SPDX-License-Identifier: MIT */
/*
 * A minimal AML (ACPI Machine Language, ACPI 6.3 chapter 20) writer: just
 * enough of the grammar for squib's DSDT. Writes into a caller's fixed
 * buffer; running out of room sets a sticky flag instead of failing each
 * call, so table code reads as straight-line ASL and checks once at the end.
 *
 * Nested objects (Scope, Device, Package, Buffer) carry a PkgLength that
 * counts their own body, which is not known until the body is written:
 * aml_*_open() remembers where the body starts and aml_close() (or
 * aml_buffer_close()) inserts the shortest PkgLength encoding there afterwards.
 */
#ifndef SQUIB_MONITOR_ACPI_AML_H
#define SQUIB_MONITOR_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow; /* some write did not fit: the contents are garbage */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * NameString: optional leading '\' (root), then 1..255 dot-separated
 * segments of up to 4 characters each (short ones are padded with '_').
 * Returns false (and sets overflow) for a malformed name: names are
 * compile-time constants, so this only catches programming errors.
 */
bool aml_name_string(struct aml *a, const char *path);

/* Integer with the smallest encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, uint64_t v);
/* String constant (ASCII, NUL-terminated in AML). */
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0501") as a DWordConst; false for a malformed id. */
bool aml_eisaid(struct aml *a, const char *id);

/* NameOp + name: the caller writes the value next. */
void aml_name_op(struct aml *a, const char *name);

/* Openers return a mark for aml_close(). */
size_t aml_scope_open(struct aml *a, const char *name);
size_t aml_device_open(struct aml *a, const char *name);
size_t aml_package_open(struct aml *a, uint8_t nelems);
void aml_close(struct aml *a, size_t mark);
/* Buffer whose BufferSize is the byte count written before aml_buffer_close(). */
size_t aml_buffer_open(struct aml *a);
void aml_buffer_close(struct aml *a, size_t mark);

/*
 * Resource descriptors (ACPI 6.3 section 6.4) for a _CRS buffer: write them
 * between aml_buffer_open() and aml_buffer_close(), ending with aml_res_end().
 */
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t size);
/* Extended Interrupt, one GSI, consumer, exclusive, not wake-capable. */
void aml_res_ext_irq(struct aml *a, bool edge, bool active_low, uint32_t gsi);
void aml_res_io16(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *a, uint16_t irq_mask);
void aml_res_end(struct aml *a);

#endif
