// SPDX-License-Identifier: MIT
/*
 * Unit tests for proto/wire.c and proto/wire_encode.c, the msgpack wire
 * format of VmExit (schema: proto/SCHEMA.md). The reply record has its own:
 * test_reply.c.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto/wire.h"

static struct vm_wire_decoder dec;

static void wire_setup(void)
{
	cr_assert_eq(vm_wire_decoder_init(&dec), 0);
}

static void wire_teardown(void)
{
	vm_wire_decoder_fini(&dec);
}

TestSuite(wire, .init = wire_setup, .fini = wire_teardown);

/* ---- helpers ------------------------------------------------------------ */

/* xorshift64*: deterministic, so a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/*
 * Input placed right against PROT_NONE guard pages, so a decoder read
 * outside [buf, buf + len) faults even without ASan: at_end puts the input
 * flush against the guard page after it, otherwise against the one before.
 */
static uint8_t *guard_area;
static size_t guard_page;

static const uint8_t *guarded(const uint8_t *src, size_t len, bool at_end)
{
	uint8_t *dst;

	if (!guard_area) {
		guard_page = (size_t)sysconf(_SC_PAGESIZE);
		guard_area = mmap(NULL, 3 * guard_page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		cr_assert_neq(guard_area, MAP_FAILED);
		cr_assert_eq(mprotect(guard_area, guard_page, PROT_NONE), 0);
		cr_assert_eq(mprotect(guard_area + 2 * guard_page, guard_page, PROT_NONE), 0);
	}
	cr_assert_leq(len, guard_page);
	dst = at_end ? guard_area + 2 * guard_page - len : guard_area + guard_page;
	if (len)
		memcpy(dst, src, len);
	return dst;
}

static bool all_bytes(const void *p, size_t n, uint8_t v)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* Field-wise equality; data bytes past len must be zero in both. */
static bool exit_equal(const struct vm_exit *a, const struct vm_exit *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case VM_EXIT_MMIO:
		return a->u.mmio.addr == b->u.mmio.addr && a->u.mmio.write == b->u.mmio.write &&
		       a->u.mmio.len == b->u.mmio.len &&
		       memcmp(a->u.mmio.data, b->u.mmio.data, sizeof(a->u.mmio.data)) == 0;
	case VM_EXIT_PIO:
		return a->u.pio.port == b->u.pio.port && a->u.pio.write == b->u.pio.write &&
		       a->u.pio.len == b->u.pio.len &&
		       memcmp(a->u.pio.data, b->u.pio.data, sizeof(a->u.pio.data)) == 0;
	case VM_EXIT_HYPERCALL:
		return a->u.hypercall.func == b->u.hypercall.func &&
		       memcmp(a->u.hypercall.args, b->u.hypercall.args, sizeof(a->u.hypercall.args)) == 0;
	case VM_EXIT_DEBUG:
		return a->u.debug.pc == b->u.debug.pc && a->u.debug.syndrome == b->u.debug.syndrome;
	case VM_EXIT_INTERNAL_ERROR:
		return memcmp(a->u.internal_error.message, b->u.internal_error.message,
			      sizeof(a->u.internal_error.message)) == 0;
	default:
		return true;
	}
}

/* What decoding e's encoding must give: reads carry zero data, bytes past len are zero. */
static struct vm_exit normalized(const struct vm_exit *e)
{
	struct vm_exit n;

	memset(&n, 0, sizeof(n));
	n.kind = e->kind;
	switch (e->kind) {
	case VM_EXIT_MMIO:
		n.u.mmio.addr = e->u.mmio.addr;
		n.u.mmio.write = e->u.mmio.write;
		n.u.mmio.len = e->u.mmio.len;
		if (e->u.mmio.write)
			memcpy(n.u.mmio.data, e->u.mmio.data, e->u.mmio.len);
		break;
	case VM_EXIT_PIO:
		n.u.pio.port = e->u.pio.port;
		n.u.pio.write = e->u.pio.write;
		n.u.pio.len = e->u.pio.len;
		if (e->u.pio.write)
			memcpy(n.u.pio.data, e->u.pio.data, e->u.pio.len);
		break;
	case VM_EXIT_INTERNAL_ERROR:
		strcpy(n.u.internal_error.message, e->u.internal_error.message);
		break;
	default:
		n.u = e->u;
		break;
	}
	return n;
}

/*
 * Encodes e, checks the size limits and that every smaller cap gives
 * -EMSGSIZE, decodes it (from guarded memory) and compares. Returns the
 * encoded length.
 */
static size_t roundtrip_exit(const struct vm_exit *e)
{
	uint8_t buf[VM_WIRE_MAX + 8], small[VM_WIRE_MAX];
	struct vm_exit got, want = normalized(e);
	size_t len = 0, l2 = 99;

	cr_assert_eq(vm_exit_encode(e, buf, sizeof(buf), &len), 0, "encode %s", vm_exit_kind_name(e->kind));
	cr_assert(len >= 2 && len <= VM_WIRE_MAX, "%s encodes to %zu bytes", vm_exit_kind_name(e->kind), len);
	cr_assert_eq(vm_exit_encode(e, small, len, &l2), 0, "cap == len suffices");
	cr_assert_eq(l2, len);
	cr_assert_eq(memcmp(small, buf, len), 0, "encoding is deterministic");
	for (size_t cap = 0; cap < len; cap++) {
		cr_assert_eq(vm_exit_encode(e, small, cap, &l2), -EMSGSIZE, "cap %zu < %zu", cap, len);
		cr_assert_eq(l2, 0);
	}
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(vm_exit_decode(&dec, guarded(buf, len, true), len, &got), 0, "decode %s",
		     vm_exit_kind_name(e->kind));
	cr_assert(exit_equal(&got, &want), "%s round-trips", vm_exit_kind_name(e->kind));
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(vm_exit_decode(&dec, guarded(buf, len, false), len, &got), 0);
	cr_assert(exit_equal(&got, &want));
	return len;
}

static const uint64_t u64_edges[] = {
	0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffULL, 0x100000000ULL,
	0xfe000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL, UINT64_MAX - 1, UINT64_MAX,
};

static struct vm_exit mk_mmio(uint64_t addr, bool write, uint8_t len, uint64_t seed)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_MMIO;
	e.u.mmio.addr = addr;
	e.u.mmio.write = write;
	e.u.mmio.len = len;
	for (int i = 0; i < len; i++)
		e.u.mmio.data[i] = (uint8_t)(seed >> (8 * i));
	return e;
}

static struct vm_exit mk_pio(uint16_t port, bool write, uint8_t len, uint32_t val)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_PIO;
	e.u.pio.port = port;
	e.u.pio.write = write;
	e.u.pio.len = len;
	for (int i = 0; i < len; i++)
		e.u.pio.data[i] = (uint8_t)(val >> (8 * i));
	return e;
}

static struct vm_exit mk_message(const char *s)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_INTERNAL_ERROR;
	cr_assert_leq(strlen(s), VM_EXIT_MESSAGE_MAX);
	strcpy(e.u.internal_error.message, s);
	return e;
}

/* ---- round trips -------------------------------------------------------- */

Test(wire, mmio_roundtrip)
{
	unsigned n = 0;

	for (size_t a = 0; a < ARRAY_SIZE(u64_edges); a++)
		for (uint8_t len = 1; len <= VM_MMIO_DATA_MAX; len++)
			for (int w = 0; w < 2; w++) {
				struct vm_exit e = mk_mmio(u64_edges[a], w, len, 0x8877665544332211ULL ^ a);

				roundtrip_exit(&e);
				n++;
			}
	/* A read's data bytes are not sent: stale bytes in the struct do not leak. */
	struct vm_exit e = mk_mmio(0x1000, false, 4, UINT64_MAX);
	struct vm_exit got;
	uint8_t buf[VM_WIRE_MAX];
	size_t len;

	cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);
	cr_assert_eq(vm_exit_decode(&dec, buf, len, &got), 0);
	cr_assert_eq(got.u.mmio.len, 4);
	cr_assert(all_bytes(got.u.mmio.data, sizeof(got.u.mmio.data), 0));
	cr_assert_eq(n, ARRAY_SIZE(u64_edges) * 16);
}

Test(wire, pio_roundtrip)
{
	static const uint16_t ports[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0x3f8, 0x501, 0x604, 0x7fff, 0xffff };
	static const uint8_t widths[] = { 1, 2, 4 };

	for (size_t p = 0; p < ARRAY_SIZE(ports); p++)
		for (size_t w = 0; w < ARRAY_SIZE(widths); w++)
			for (int wr = 0; wr < 2; wr++) {
				struct vm_exit e = mk_pio(ports[p], wr, widths[w], 0xdeadbeefu + (uint32_t)p);

				roundtrip_exit(&e);
			}
	struct vm_exit e = mk_pio(0x3f8, true, 1, 0);
	roundtrip_exit(&e); /* a zero byte written */
	e = mk_pio(0x3f8, true, 4, 0xffffffffu);
	roundtrip_exit(&e);
}

Test(wire, hypercall_roundtrip)
{
	for (size_t i = 0; i < ARRAY_SIZE(u64_edges); i++) {
		struct vm_exit e;

		memset(&e, 0, sizeof(e));
		e.kind = VM_EXIT_HYPERCALL;
		e.u.hypercall.func = u64_edges[i];
		for (int a = 0; a < VM_HYPERCALL_ARGS; a++)
			e.u.hypercall.args[a] = u64_edges[(i + (size_t)a * 3) % ARRAY_SIZE(u64_edges)];
		roundtrip_exit(&e);
	}
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_HYPERCALL;
	roundtrip_exit(&e); /* all zero */
	e.u.hypercall.func = UINT64_MAX;
	for (int a = 0; a < VM_HYPERCALL_ARGS; a++)
		e.u.hypercall.args[a] = UINT64_MAX;
	cr_assert_eq(roundtrip_exit(&e), 67, "the worst-case hypercall is 67 bytes");
}

Test(wire, argumentless_roundtrip)
{
	static const enum vm_exit_kind kinds[] = { VM_EXIT_WFI, VM_EXIT_WFE, VM_EXIT_HLT, VM_EXIT_RESET,
						   VM_EXIT_SHUTDOWN, VM_EXIT_TRIPLE_FAULT };

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct vm_exit e;

		memset(&e, 0, sizeof(e));
		e.kind = kinds[i];
		cr_assert_eq(roundtrip_exit(&e), 3);
		/* Garbage in the unused union does not matter. */
		memset(&e.u, 0x5a, sizeof(e.u));
		cr_assert_eq(roundtrip_exit(&e), 3);
	}
}

Test(wire, debug_roundtrip)
{
	for (size_t i = 0; i < ARRAY_SIZE(u64_edges); i++)
		for (size_t j = 0; j < ARRAY_SIZE(u64_edges); j += 3) {
			struct vm_exit e;

			memset(&e, 0, sizeof(e));
			e.kind = VM_EXIT_DEBUG;
			e.u.debug.pc = u64_edges[i];
			e.u.debug.syndrome = u64_edges[j];
			roundtrip_exit(&e);
		}
}

Test(wire, internal_error_roundtrip)
{
	char m[VM_EXIT_MESSAGE_MAX + 1];
	static const size_t lens[] = { 0, 1, 30, 31, 32, 33, 94, 95 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		for (size_t j = 0; j < lens[i]; j++)
			m[j] = (char)('a' + j % 26);
		m[lens[i]] = '\0';
		struct vm_exit e = mk_message(m);
		size_t len = roundtrip_exit(&e);

		cr_assert_eq(len, 3 + (lens[i] <= 31 ? 1 : 2) + lens[i]);
	}
	/* Any non-NUL byte is carried verbatim (the schema does not require UTF-8). */
	struct vm_exit e = mk_message("KVM_RUN: \xff\x01\x7f\n\"quoted\"");
	roundtrip_exit(&e);
	/* Bytes after the NUL are not sent. */
	e = mk_message("short");
	memset(e.u.internal_error.message + 6, 'x', VM_EXIT_MESSAGE_MAX - 6);
	roundtrip_exit(&e);
}

/* Golden encodings: pin the schema byte for byte (proto/SCHEMA.md examples). */
Test(wire, golden_bytes)
{
	static const uint8_t mmio_w[] = { 0x95, 0x01, 0x01, 0xce, 0xfe, 0x00, 0x00, 0x10, 0xc3,
					  0xc4, 0x04, 0x78, 0x56, 0x34, 0x12 };
	static const uint8_t mmio_r[] = { 0x95, 0x01, 0x01, 0x00, 0xc2, 0xc4, 0x02, 0x00, 0x00 };
	static const uint8_t pio_w[] = { 0x95, 0x01, 0x02, 0xcd, 0x03, 0xf8, 0xc3, 0xc4, 0x01, 0x41 };
	static const uint8_t hc[] = { 0x94, 0x01, 0x03, 0x01, 0x96, 0x01, 0x02, 0x03, 0x04, 0x05, 0xcc, 0xff };
	static const uint8_t hlt[] = { 0x92, 0x01, 0x06 };
	static const uint8_t dbg[] = { 0x94, 0x01, 0x09, 0xcd, 0x10, 0x00, 0xce, 0xff, 0xff, 0x0f, 0xf0 };
	static const uint8_t err[] = { 0x93, 0x01, 0x0a, 0xa3, 'b', 'a', 'd' };
	uint8_t buf[VM_WIRE_MAX];
	size_t len;
	struct vm_exit e;

#define GOLDEN(want)                                                             \
	do {                                                                     \
		cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);     \
		cr_assert_eq(len, sizeof(want));                                 \
		cr_assert_arr_eq(buf, want, sizeof(want), #want);                \
		cr_assert_eq(vm_exit_decode(&dec, want, sizeof(want), &e), 0);   \
	} while (0)

	e = mk_mmio(0xfe000010ULL, true, 4, 0x12345678);
	GOLDEN(mmio_w);
	e = mk_mmio(0, false, 2, 0);
	GOLDEN(mmio_r);
	e = mk_pio(0x3f8, true, 1, 'A');
	GOLDEN(pio_w);
	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_HYPERCALL;
	e.u.hypercall.func = 1;
	for (int i = 0; i < 5; i++)
		e.u.hypercall.args[i] = (uint64_t)i + 1;
	e.u.hypercall.args[5] = 0xff;
	GOLDEN(hc);
	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_HLT;
	GOLDEN(hlt);
	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_DEBUG;
	e.u.debug.pc = 0x1000;
	e.u.debug.syndrome = 0xffff0ff0;
	GOLDEN(dbg);
	e = mk_message("bad");
	GOLDEN(err);
#undef GOLDEN
}

/* Every variant's worst case fits VM_WIRE_MAX (wire.c also asserts it statically). */
Test(wire, worst_case_sizes)
{
	struct vm_exit e;
	uint8_t buf[256];
	size_t len, max = 0;
	char m[VM_EXIT_MESSAGE_MAX + 1];

	e = mk_mmio(UINT64_MAX, true, VM_MMIO_DATA_MAX, UINT64_MAX);
	cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 23);
	max = len > max ? len : max;
	e = mk_pio(UINT16_MAX, true, VM_PIO_DATA_MAX, UINT32_MAX);
	cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 13);
	max = len > max ? len : max;
	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_HYPERCALL;
	e.u.hypercall.func = UINT64_MAX;
	for (int i = 0; i < VM_HYPERCALL_ARGS; i++)
		e.u.hypercall.args[i] = UINT64_MAX;
	cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 67);
	max = len > max ? len : max;
	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_DEBUG;
	e.u.debug.pc = e.u.debug.syndrome = UINT64_MAX;
	cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 21);
	max = len > max ? len : max;
	memset(m, 'z', VM_EXIT_MESSAGE_MAX);
	m[VM_EXIT_MESSAGE_MAX] = '\0';
	e = mk_message(m);
	cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 100);
	max = len > max ? len : max;
	for (int k = VM_EXIT_WFI; k <= VM_EXIT_SHUTDOWN; k++) {
		memset(&e, 0, sizeof(e));
		e.kind = (enum vm_exit_kind)k;
		cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), 0);
		cr_assert_eq(len, 3);
	}
	cr_assert_leq(max, VM_WIRE_MAX);
	cr_assert_leq(VM_WIRE_MAX, 112, "ring slots hold 112 bytes");
}

/* ---- encoder rejections ------------------------------------------------- */

Test(wire, encode_rejects_invalid)
{
	uint8_t buf[VM_WIRE_MAX];
	size_t len;
	struct vm_exit e;
	static const int bad_kinds[] = { 0, VM_EXIT_KIND_MAX + 1, 200, -1 };
	static const uint8_t bad_mmio[] = { 0, 9, 16, 255 };
	static const uint8_t bad_pio[] = { 0, 3, 5, 8, 255 };

	for (size_t i = 0; i < ARRAY_SIZE(bad_kinds); i++) {
		memset(&e, 0, sizeof(e));
		e.kind = (enum vm_exit_kind)bad_kinds[i];
		len = 77;
		cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), -EINVAL, "kind %d", bad_kinds[i]);
		cr_assert_eq(len, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_mmio); i++) {
		e = mk_mmio(0, true, 1, 0);
		e.u.mmio.len = bad_mmio[i];
		cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), -EINVAL, "mmio len %u", bad_mmio[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_pio); i++) {
		e = mk_pio(0, true, 1, 0);
		e.u.pio.len = bad_pio[i];
		cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), -EINVAL, "pio len %u", bad_pio[i]);
	}
	/* No NUL within the 96-byte message. */
	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_INTERNAL_ERROR;
	memset(e.u.internal_error.message, 'x', sizeof(e.u.internal_error.message));
	cr_assert_eq(vm_exit_encode(&e, buf, sizeof(buf), &len), -EINVAL);
	/* Invalid beats too small: validation comes first. */
	cr_assert_eq(vm_exit_encode(&e, NULL, 0, &len), -EINVAL);

}

Test(wire, encode_too_small)
{
	struct vm_exit e;
	size_t len = 5;

	memset(&e, 0, sizeof(e));
	e.kind = VM_EXIT_HLT;
	cr_assert_eq(vm_exit_encode(&e, NULL, 0, &len), -EMSGSIZE);
	cr_assert_eq(len, 0);
	/* roundtrip_exit() checks every cap below the length of every sample. */
}

/* ---- decoder rejections ------------------------------------------------- */

struct bad_case {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	int rc;
};

#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define BAD(name, rc, ...) { name, BYTES(__VA_ARGS__), rc }
#define X8(b) b, b, b, b, b, b, b, b
#define X16(b) X8(b), X8(b)
#define X32(b) X16(b), X16(b)
#define X96(b) X32(b), X32(b), X32(b)
#define X40(b) X32(b), X8(b)

/* A valid mmio write for reference: [1, 1, 0x1000, true, bin(aa bb cc dd)]. */
#define MMIO_OK 0x95, 0x01, 0x01, 0xcd, 0x10, 0x00, 0xc3, 0xc4, 0x04, 0xaa, 0xbb, 0xcc, 0xdd

static const struct bad_case bad_cases[] = {
	/* Not a message at all. */
	BAD("top-level positive int", -EBADMSG, 0x01),
	BAD("top-level negative int", -EBADMSG, 0xff),
	BAD("top-level nil", -EBADMSG, 0xc0),
	BAD("top-level bool", -EBADMSG, 0xc3),
	BAD("top-level float64", -EBADMSG, 0xcb, X8(0x00)),
	BAD("top-level str", -EBADMSG, 0xa3, 'a', 'b', 'c'),
	BAD("top-level bin", -EBADMSG, 0xc4, 0x02, 0x01, 0x06),
	BAD("top-level map", -EBADMSG, 0x82, 0x00, 0x01, 0x01, 0x06),
	BAD("top-level empty map", -EBADMSG, 0x80),
	BAD("top-level ext", -EBADMSG, 0xd5, 0x01, 0x01, 0x06),
	BAD("reserved byte 0xc1", -EBADMSG, 0xc1),
	BAD("reserved byte inside array", -EBADMSG, 0x92, 0x01, 0xc1),
	BAD("empty array", -EBADMSG, 0x90),
	BAD("array of version only", -EBADMSG, 0x91, 0x01),
	/* Version. */
	BAD("version str", -EBADMSG, 0x92, 0xa1, '1', 0x06),
	BAD("version negative fixint", -EBADMSG, 0x92, 0xff, 0x06),
	BAD("version negative int8", -EBADMSG, 0x92, 0xd0, 0x80, 0x06),
	BAD("version float32 1.0", -EBADMSG, 0x92, 0xca, 0x3f, 0x80, 0x00, 0x00, 0x06),
	BAD("version float64 1.0", -EBADMSG, 0x92, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x06),
	BAD("version nil", -EBADMSG, 0x92, 0xc0, 0x06),
	BAD("version bool", -EBADMSG, 0x92, 0xc3, 0x06),
	BAD("version 0", -EPROTONOSUPPORT, 0x92, 0x00, 0x06),
	BAD("version 2", -EPROTONOSUPPORT, 0x92, 0x02, 0x06),
	BAD("version 2^32+1", -EPROTONOSUPPORT, 0x92, 0xcf, 0, 0, 0, 1, 0, 0, 0, 1, 0x06),
	BAD("version 2, rest off-schema", -EPROTONOSUPPORT, 0x93, 0x02, 0xc0, 0x80),
	BAD("version 2, alone", -EPROTONOSUPPORT, 0x91, 0x02),
	/* Tag. */
	BAD("tag 0", -ENOMSG, 0x92, 0x01, 0x00),
	BAD("tag 12", -ENOMSG, 0x92, 0x01, 0x0c),
	BAD("tag 200", -ENOMSG, 0x92, 0x01, 0xcc, 0xc8),
	BAD("tag 2^32+1", -ENOMSG, 0x92, 0x01, 0xcf, 0, 0, 0, 1, 0, 0, 0, 1),
	BAD("tag UINT64_MAX", -ENOMSG, 0x92, 0x01, 0xcf, X8(0xff)),
	BAD("tag 200 with extra fields", -ENOMSG, 0x94, 0x01, 0xcc, 0xc8, 0xc0, 0xc0),
	BAD("tag negative", -EBADMSG, 0x92, 0x01, 0xff),
	BAD("tag str", -EBADMSG, 0x92, 0x01, 0xa1, '6'),
	BAD("tag bool", -EBADMSG, 0x92, 0x01, 0xc3),
	BAD("tag nil", -EBADMSG, 0x92, 0x01, 0xc0),
	BAD("tag float32 6.0", -EBADMSG, 0x92, 0x01, 0xca, 0x40, 0xc0, 0x00, 0x00),
	/* Array length per variant. */
	BAD("hlt with an extra element", -EBADMSG, 0x93, 0x01, 0x06, 0x00),
	BAD("wfi with an extra nil", -EBADMSG, 0x93, 0x01, 0x04, 0xc0),
	BAD("shutdown with an extra array", -EBADMSG, 0x93, 0x01, 0x08, 0x90),
	BAD("mmio too short", -EBADMSG, 0x94, 0x01, 0x01, 0x00, 0xc3),
	BAD("mmio tag only", -EBADMSG, 0x92, 0x01, 0x01),
	BAD("mmio too long", -EBADMSG, 0x96, 0x01, 0x01, 0x00, 0xc3, 0xc4, 0x01, 0x07, 0x00),
	BAD("pio too short", -EBADMSG, 0x94, 0x01, 0x02, 0x00, 0xc3),
	BAD("pio too long", -EBADMSG, 0x96, 0x01, 0x02, 0x00, 0xc3, 0xc4, 0x01, 0x07, 0xc0),
	BAD("hypercall too short", -EBADMSG, 0x93, 0x01, 0x03, 0x00),
	BAD("hypercall too long", -EBADMSG, 0x95, 0x01, 0x03, 0x00, 0x96, X8(0x00)),
	BAD("debug too short", -EBADMSG, 0x93, 0x01, 0x09, 0x00),
	BAD("debug too long", -EBADMSG, 0x95, 0x01, 0x09, 0x00, 0x00, 0x00),
	BAD("internal error without message", -EBADMSG, 0x92, 0x01, 0x0a),
	BAD("internal error with two messages", -EBADMSG, 0x94, 0x01, 0x0a, 0xa0, 0xa0),
	BAD("triple fault with a field", -EBADMSG, 0x93, 0x01, 0x0b, 0x00),
	/* mmio fields. */
	BAD("mmio addr negative fixint", -EBADMSG, 0x95, 0x01, 0x01, 0xff, 0xc3, 0xc4, 0x01, 0x07),
	BAD("mmio addr negative int64", -EBADMSG, 0x95, 0x01, 0x01, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xc3, 0xc4,
	    0x01, 0x07),
	BAD("mmio addr float64", -EBADMSG, 0x95, 0x01, 0x01, 0xcb, X8(0x00), 0xc3, 0xc4, 0x01, 0x07),
	BAD("mmio addr nil", -EBADMSG, 0x95, 0x01, 0x01, 0xc0, 0xc3, 0xc4, 0x01, 0x07),
	BAD("mmio addr str", -EBADMSG, 0x95, 0x01, 0x01, 0xa1, '0', 0xc3, 0xc4, 0x01, 0x07),
	BAD("mmio addr bool", -EBADMSG, 0x95, 0x01, 0x01, 0xc2, 0xc3, 0xc4, 0x01, 0x07),
	BAD("mmio write as int 1", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0x01, 0xc4, 0x01, 0x07),
	BAD("mmio write as nil", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc0, 0xc4, 0x01, 0x07),
	BAD("mmio write as str", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xa1, 'w', 0xc4, 0x01, 0x07),
	BAD("mmio data width 0", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xc4, 0x00),
	BAD("mmio data 9 bytes", -EMSGSIZE, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xc4, 0x09, X8(0x11), 0x11),
	BAD("mmio data 16 bytes as bin16", -EMSGSIZE, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xc5, 0x00, 0x10,
	    X16(0x22)),
	BAD("mmio data str instead of bin", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xa1, 0x07),
	BAD("mmio data str of 9 bytes", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xa9, X8('a'), 'a'),
	BAD("mmio data array", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0x91, 0x07),
	BAD("mmio data int", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0x07),
	BAD("mmio data nil", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xc0),
	BAD("mmio data ext", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xd4, 0x01, 0x07),
	BAD("mmio read with nonzero data", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc2, 0xc4, 0x02, 0x00, 0x07),
	/* pio fields. */
	BAD("pio port 70000", -EBADMSG, 0x95, 0x01, 0x02, 0xce, 0x00, 0x01, 0x11, 0x70, 0xc3, 0xc4, 0x01,
	    0x07),
	BAD("pio port 65536", -EBADMSG, 0x95, 0x01, 0x02, 0xce, 0x00, 0x01, 0x00, 0x00, 0xc3, 0xc4, 0x01,
	    0x07),
	BAD("pio port UINT64_MAX", -EBADMSG, 0x95, 0x01, 0x02, 0xcf, X8(0xff), 0xc3, 0xc4, 0x01, 0x07),
	BAD("pio port negative", -EBADMSG, 0x95, 0x01, 0x02, 0xd1, 0xff, 0x00, 0xc3, 0xc4, 0x01, 0x07),
	BAD("pio port float", -EBADMSG, 0x95, 0x01, 0x02, 0xca, 0x44, 0x7e, 0x00, 0x00, 0xc3, 0xc4, 0x01,
	    0x07),
	BAD("pio write as int 0", -EBADMSG, 0x95, 0x01, 0x02, 0x60, 0x00, 0xc4, 0x01, 0x07),
	BAD("pio width 3", -EBADMSG, 0x95, 0x01, 0x02, 0x60, 0xc3, 0xc4, 0x03, 0x01, 0x02, 0x03),
	BAD("pio width 0", -EBADMSG, 0x95, 0x01, 0x02, 0x60, 0xc3, 0xc4, 0x00),
	BAD("pio width 5", -EMSGSIZE, 0x95, 0x01, 0x02, 0x60, 0xc3, 0xc4, 0x05, 1, 2, 3, 4, 5),
	BAD("pio width 8", -EMSGSIZE, 0x95, 0x01, 0x02, 0x60, 0xc3, 0xc4, 0x08, X8(0x01)),
	BAD("pio data str", -EBADMSG, 0x95, 0x01, 0x02, 0x60, 0xc3, 0xa1, 0x41),
	BAD("pio read with nonzero data", -EBADMSG, 0x95, 0x01, 0x02, 0x60, 0xc2, 0xc4, 0x01, 0x01),
	/* hypercall fields. */
	BAD("hypercall args of 5", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x95, 1, 2, 3, 4, 5),
	BAD("hypercall args of 7", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x97, 1, 2, 3, 4, 5, 6, 7),
	BAD("hypercall args of 0", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x90),
	BAD("hypercall args containing a str", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x96, 1, 2, 0xa1, 'x', 4, 5,
	    6),
	BAD("hypercall args containing a negative", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x96, 1, 2, 3, 4, 5,
	    0xe0),
	BAD("hypercall args containing nil", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x96, 0xc0, 2, 3, 4, 5, 6),
	BAD("hypercall args containing a float", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x96, 1, 2, 3, 4, 5,
	    0xca, 0, 0, 0, 0),
	BAD("hypercall args containing an array", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x96, 1, 2, 3, 4, 5,
	    0x91, 6),
	BAD("hypercall args as map", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x86, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
	    6),
	BAD("hypercall args as bin", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0xc4, 0x06, 1, 2, 3, 4, 5, 6),
	BAD("hypercall args as int", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0x06),
	BAD("hypercall func negative", -EBADMSG, 0x94, 0x01, 0x03, 0xff, 0x96, 1, 2, 3, 4, 5, 6),
	BAD("hypercall func float", -EBADMSG, 0x94, 0x01, 0x03, 0xcb, X8(0), 0x96, 1, 2, 3, 4, 5, 6),
	BAD("hypercall func str", -EBADMSG, 0x94, 0x01, 0x03, 0xa0, 0x96, 1, 2, 3, 4, 5, 6),
	/* debug fields. */
	BAD("debug pc str", -EBADMSG, 0x94, 0x01, 0x09, 0xa1, 'p', 0x00),
	BAD("debug syndrome negative", -EBADMSG, 0x94, 0x01, 0x09, 0x00, 0xd2, 0xff, 0xff, 0xff, 0xff),
	BAD("debug syndrome nil", -EBADMSG, 0x94, 0x01, 0x09, 0x00, 0xc0),
	/* internal error message. */
	BAD("message 96 bytes", -EMSGSIZE, 0x93, 0x01, 0x0a, 0xd9, 96, X96('m')),
	BAD("message 96 bytes as str16", -EMSGSIZE, 0x93, 0x01, 0x0a, 0xda, 0, 96, X96('m')),
	BAD("message with NUL inside", -EBADMSG, 0x93, 0x01, 0x0a, 0xa3, 'a', 0x00, 'b'),
	BAD("message with trailing NUL", -EBADMSG, 0x93, 0x01, 0x0a, 0xa2, 'a', 0x00),
	BAD("message as bin", -EBADMSG, 0x93, 0x01, 0x0a, 0xc4, 0x01, 'a'),
	BAD("message as int", -EBADMSG, 0x93, 0x01, 0x0a, 0x00),
	BAD("message nil", -EBADMSG, 0x93, 0x01, 0x0a, 0xc0),
	/* Framing. */
	BAD("trailing byte", -EBADMSG, MMIO_OK, 0x00),
	BAD("trailing nil", -EBADMSG, 0x92, 0x01, 0x06, 0xc0),
	BAD("two messages", -EBADMSG, 0x92, 0x01, 0x06, 0x92, 0x01, 0x06),
	BAD("truncated str8 header", -EBADMSG, 0x93, 0x01, 0x0a, 0xd9),
	BAD("truncated uint64", -EBADMSG, 0x94, 0x01, 0x09, 0xcf, 0x00, 0x00),
	/* Hostile sizes: refused without allocating (see test no_malloc_steady_state). */
	BAD("array32 of 2^32-1 elements", -EBADMSG, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x06),
	BAD("array16 of 65535 elements", -EBADMSG, 0xdc, 0xff, 0xff, 0x01, 0x06),
	BAD("map32 of 2^32-1 entries", -EBADMSG, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x06),
	BAD("nested array32 args", -EBADMSG, 0x94, 0x01, 0x03, 0x00, 0xdd, 0x7f, 0xff, 0xff, 0xff, 1, 2),
	BAD("str32 of 4 GiB", -EBADMSG, 0x93, 0x01, 0x0a, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'),
	BAD("bin32 of 4 GiB", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x07),
	BAD("ext32 of 4 GiB", -EBADMSG, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01),
	BAD("40 nested arrays", -EBADMSG, X40(0x91), 0x01),
	BAD("9 nested arrays", -EBADMSG, 0x92, 0x01, X8(0x91), 0x01),
};

/* Non-canonical but valid msgpack: accepted (SCHEMA.md, "Integers"). */
static const struct bad_case good_cases[] = {
	BAD("version as uint8", 0, 0x92, 0xcc, 0x01, 0x06),
	BAD("version as uint64", 0, 0x92, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0x06),
	BAD("version as non-negative int8", 0, 0x92, 0xd0, 0x01, 0x06),
	BAD("tag as uint16", 0, 0x92, 0x01, 0xcd, 0x00, 0x06),
	BAD("top as array16", 0, 0xdc, 0x00, 0x02, 0x01, 0x06),
	BAD("top as array32", 0, 0xdd, 0x00, 0x00, 0x00, 0x02, 0x01, 0x06),
	BAD("mmio data as bin32", 0, 0x95, 0x01, 0x01, 0x00, 0xc3, 0xc6, 0, 0, 0, 1, 0x07),
	BAD("pio port as int32", 0, 0x95, 0x01, 0x02, 0xd2, 0, 0, 0x03, 0xf8, 0xc3, 0xc4, 0x01, 0x07),
	BAD("message as str32", 0, 0x93, 0x01, 0x0a, 0xdb, 0, 0, 0, 2, 'h', 'i'),
	BAD("message 95 bytes", 0, 0x93, 0x01, 0x0a, 0xd9, 95, X32('m'), X32('m'), X16('m'), X8('m'), 'm', 'm',
	    'm', 'm', 'm', 'm', 'm'),
	BAD("debug pc 2^64-1", 0, 0x94, 0x01, 0x09, 0xcf, X8(0xff), 0x00),
	BAD("mmio valid", 0, MMIO_OK),
};

Test(wire, decode_rejects_malformed)
{
	unsigned exits = 0;

	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct vm_exit out;

		cr_assert_leq(c->len, VM_WIRE_MAX, "%s: test input too long", c->name);
		for (int end = 0; end < 2; end++) {
			memset(&out, 0xa5, sizeof(out));
			int rc = vm_exit_decode(&dec, guarded(c->bytes, c->len, end), c->len, &out);

			cr_expect_eq(rc, c->rc, "%s: got %d (%s), want %d (%s)", c->name, rc, strerror(-rc), c->rc,
				     strerror(-c->rc));
			cr_expect(all_bytes(&out, sizeof(out), 0), "%s: output not zeroed", c->name);
		}
		exits++;
	}
	cr_assert_geq(exits, 35);
	cr_log_info("wire: %u malformed exits rejected", exits);
}

Test(wire, decode_accepts_noncanonical)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
		const struct bad_case *c = &good_cases[i];
		struct vm_exit out;
		int rc = vm_exit_decode(&dec, guarded(c->bytes, c->len, true), c->len, &out);

		cr_expect_eq(rc, 0, "%s: got %d", c->name, rc);
	}
}

Test(wire, decode_empty_and_oversized)
{
	uint8_t big[512];
	struct vm_exit e;
	char m[VM_EXIT_MESSAGE_MAX + 1];

	memset(&e, 0xa5, sizeof(e));
	cr_assert_eq(vm_exit_decode(&dec, guarded(NULL, 0, true), 0, &e), -EBADMSG);
	cr_assert(all_bytes(&e, sizeof(e), 0));
	cr_assert_eq(vm_exit_decode(&dec, NULL, 0, &e), -EBADMSG);

	/* 121 bytes: refused before parsing, whatever they hold. */
	memset(big, 0xff, sizeof(big));
	cr_assert_eq(vm_exit_decode(&dec, big, VM_WIRE_MAX + 1, &e), -EMSGSIZE);
	/* A well-formed 121-byte message (a 116-byte str) is refused the same way. */
	big[0] = 0x93, big[1] = 0x01, big[2] = 0x0a, big[3] = 0xd9, big[4] = 116;
	memset(big + 5, 'q', 116);
	cr_assert_eq(vm_exit_decode(&dec, guarded(big, 121, true), 121, &e), -EMSGSIZE);
	cr_assert(all_bytes(&e, sizeof(e), 0));
	/* 120 bytes (a 115-byte str): over VM_WIRE_MAX, refused as too long. */
	big[4] = 115;
	cr_assert_eq(vm_exit_decode(&dec, guarded(big, 120, true), 120, &e), -EMSGSIZE);
	/* A length the buffer does not have is never read. */
	cr_assert_eq(vm_exit_decode(&dec, big, SIZE_MAX, &e), -EMSGSIZE);

	/* The largest valid exit, at the limit of the buffer. */
	memset(m, '~', VM_EXIT_MESSAGE_MAX);
	m[VM_EXIT_MESSAGE_MAX] = '\0';
	e = mk_message(m);
	cr_assert_eq(roundtrip_exit(&e), 100);
}

/* Every proper prefix of every sample encoding is a truncated message. */
Test(wire, decode_rejects_every_truncation)
{
	struct vm_exit samples[12];
	uint8_t buf[VM_WIRE_MAX];
	size_t n = 0, len, checked = 0;
	char m[VM_EXIT_MESSAGE_MAX + 1];

	samples[n++] = mk_mmio(UINT64_MAX, true, 8, 0x0102030405060708ULL);
	samples[n++] = mk_mmio(0x1000, false, 4, 0);
	samples[n++] = mk_pio(0xffff, true, 4, 0xcafef00d);
	memset(&samples[n], 0, sizeof(samples[n]));
	samples[n].kind = VM_EXIT_HYPERCALL;
	samples[n].u.hypercall.func = 0x123456789ULL;
	for (int i = 0; i < VM_HYPERCALL_ARGS; i++)
		samples[n].u.hypercall.args[i] = UINT64_MAX >> (8 * i);
	n++;
	memset(&samples[n], 0, sizeof(samples[n]));
	samples[n].kind = VM_EXIT_DEBUG;
	samples[n].u.debug.pc = 0xffffffff80000000ULL;
	samples[n].u.debug.syndrome = 0x4ff0;
	n++;
	memset(&samples[n], 0, sizeof(samples[n]));
	samples[n++].kind = VM_EXIT_RESET;
	memset(m, 'e', VM_EXIT_MESSAGE_MAX);
	m[VM_EXIT_MESSAGE_MAX] = '\0';
	samples[n++] = mk_message(m);
	samples[n++] = mk_message("short");

	for (size_t s = 0; s < n; s++) {
		cr_assert_eq(vm_exit_encode(&samples[s], buf, sizeof(buf), &len), 0);
		for (size_t cut = 0; cut < len; cut++)
			for (int end = 0; end < 2; end++) {
				struct vm_exit e;

				memset(&e, 0xa5, sizeof(e));
				cr_assert_eq(vm_exit_decode(&dec, guarded(buf, cut, end), cut, &e), -EBADMSG,
					     "%s truncated to %zu of %zu bytes", vm_exit_kind_name(samples[s].kind),
					     cut, len);
				cr_assert(all_bytes(&e, sizeof(e), 0));
				checked++;
			}
	}
	cr_assert_gt(checked, 300);
}

Test(wire, decoder_lifecycle)
{
	struct vm_wire_decoder d2;
	struct vm_exit e;
	static const uint8_t hlt[] = { 0x92, 0x01, 0x06 };

	memset(&d2, 0, sizeof(d2));
	memset(&e, 0xa5, sizeof(e));
	cr_assert_eq(vm_exit_decode(&d2, hlt, sizeof(hlt), &e), -EINVAL, "uninitialized decoder");
	cr_assert(all_bytes(&e, sizeof(e), 0));
	cr_assert_eq(vm_wire_decoder_init(&d2), 0);
	cr_assert_eq(vm_exit_decode(&d2, hlt, sizeof(hlt), &e), 0);
	cr_assert_eq(e.kind, VM_EXIT_HLT);
	vm_wire_decoder_fini(&d2);
	vm_wire_decoder_fini(&d2); /* idempotent */
	cr_assert_eq(vm_exit_decode(&d2, hlt, sizeof(hlt), &e), -EINVAL, "finished decoder");
}

Test(wire, kind_names)
{
	static const char *const names[] = { "unknown", "mmio", "pio", "hypercall", "wfi", "wfe", "hlt",
					     "reset", "shutdown", "debug", "internal-error", "triple-fault", "unknown" };

	for (int k = 0; k <= VM_EXIT_KIND_MAX + 1; k++)
		cr_assert_str_eq(vm_exit_kind_name((enum vm_exit_kind)k), names[k]);
	cr_assert_str_eq(vm_exit_kind_name((enum vm_exit_kind)-1), "unknown");
	cr_assert_str_eq(vm_exit_kind_name((enum vm_exit_kind)1000), "unknown");
}

/* ---- no allocation in the steady state ---------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
/*
 * Under ASan, glibc's malloc is not used (mallinfo2 sees nothing), but the
 * sanitizer runtime calls these hooks on every allocation: an exact count.
 */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));
static __thread int counting;
static __thread unsigned long mallocs, frees;

static void count_malloc(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
	if (counting)
		mallocs++;
}

static void count_free(const volatile void *p)
{
	(void)p;
	if (counting)
		frees++;
}
#endif

Test(wire, no_malloc_steady_state)
{
	enum { N = 10000, NMSG = 8 };
	uint8_t enc[NMSG][VM_WIRE_MAX];
	size_t len[NMSG];
	struct vm_exit e, samples[NMSG];
	/* Hostile inputs that would make msgpack-c allocate if they reached it. */
	static const uint8_t huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x06 };
	static const uint8_t huge_map[] = { 0xdf, 0x00, 0x10, 0x00, 0x00, 0x01, 0x06 };
	/* Zone-hungry: claims 117 elements in VM_WIRE_MAX bytes (refused by the pre-scan). */
	uint8_t wide[VM_WIRE_MAX] = { 0xdc, 0x00, 117, 0x01, 0x06 };
	char m[VM_EXIT_MESSAGE_MAX + 1];
	size_t n = 0;

	for (size_t i = 5; i < sizeof(wide); i++)
		wide[i] = 0x90;
	samples[n++] = mk_mmio(0xfe000000, true, 4, 0x11223344);
	samples[n++] = mk_mmio(0xfe000008, false, 8, 0);
	samples[n++] = mk_pio(0x3f8, true, 1, 'x');
	memset(&samples[n], 0, sizeof(samples[n]));
	samples[n].kind = VM_EXIT_HYPERCALL;
	samples[n].u.hypercall.func = UINT64_MAX;
	n++;
	memset(&samples[n], 0, sizeof(samples[n]));
	samples[n++].kind = VM_EXIT_HLT;
	memset(&samples[n], 0, sizeof(samples[n]));
	samples[n].kind = VM_EXIT_DEBUG;
	samples[n++].u.debug.pc = 0x1234;
	memset(m, 'm', VM_EXIT_MESSAGE_MAX);
	m[VM_EXIT_MESSAGE_MAX] = '\0';
	samples[n++] = mk_message(m);
	samples[n++] = mk_pio(0x510, false, 4, 0);
	cr_assert_eq(n, NMSG);
	for (size_t i = 0; i < NMSG; i++)
		cr_assert_eq(vm_exit_encode(&samples[i], enc[i], sizeof(enc[i]), &len[i]), 0);

	/* Warm-up. */
	for (size_t i = 0; i < NMSG; i++)
		cr_assert_eq(vm_exit_decode(&dec, enc[i], len[i], &e), 0);
	cr_assert_eq(vm_exit_decode(&dec, wide, sizeof(wide), &e), -EBADMSG);

	/* The zone never grows a chunk: msgpack_zone_malloc_expand (malloc) is never reached. */
	const void *head = dec.zone.chunk_list.head;
	const size_t chunk = dec.zone.chunk_size;
	bool zone_grew = false;

#if defined(__SANITIZE_ADDRESS__)
	cr_assert_eq(__sanitizer_install_malloc_and_free_hooks(count_malloc, count_free) != 0, true);
	counting = 1;
#else
	/*
	 * Without ASan: glibc's counters (all arenas). They see net growth only,
	 * not a malloc+free pair; the zone check above covers that case exactly,
	 * as zone expansion is msgpack_unpack's only path to malloc.
	 */
	struct mallinfo2 before = mallinfo2();
#endif
	for (int it = 0; it < N; it++) {
		size_t i = (size_t)it % NMSG;
		int rc = vm_exit_decode(&dec, enc[i], len[i], &e);

		if (rc != 0 || e.kind != samples[i].kind)
			cr_assert_fail("iteration %d: rc %d", it, rc);
		zone_grew |= dec.zone.chunk_list.head != head;
		if (it % 64 == 0) {
			if (vm_exit_decode(&dec, huge_array, sizeof(huge_array), &e) != -EBADMSG ||
			    vm_exit_decode(&dec, huge_map, sizeof(huge_map), &e) != -EBADMSG)
				cr_assert_fail("hostile input accepted");
			if (vm_exit_decode(&dec, wide, sizeof(wide), &e) != -EBADMSG)
				cr_assert_fail("wide input");
			zone_grew |= dec.zone.chunk_list.head != head;
		}
	}
#if defined(__SANITIZE_ADDRESS__)
	counting = 0;
	cr_assert_eq(mallocs, 0, "%lu mallocs during %d decodes", mallocs, N);
	cr_assert_eq(frees, 0, "%lu frees during %d decodes", frees, N);
#else
	struct mallinfo2 after = mallinfo2();

	cr_assert_eq(after.arena, before.arena);
	cr_assert_eq(after.uordblks, before.uordblks, "in-use bytes changed by %zd",
		     (ssize_t)(after.uordblks - before.uordblks));
	cr_assert_eq(after.hblks, before.hblks);
	cr_assert_eq(after.hblkhd, before.hblkhd);
#endif
	cr_assert_not(zone_grew, "the decoder zone grew");
	cr_assert_eq(dec.zone.chunk_size, chunk);
	cr_assert_null(dec.zone.finalizer_array.array, "no finalizer was ever registered");
}

/* ---- fuzz-ish ------------------------------------------------------------ */

static struct vm_exit random_exit(void)
{
	struct vm_exit e;

	memset(&e, 0, sizeof(e));
	e.kind = (enum vm_exit_kind)(1 + rnd_below(VM_EXIT_KIND_MAX));
	switch (e.kind) {
	case VM_EXIT_MMIO:
		e = mk_mmio(u64_edges[rnd_below(ARRAY_SIZE(u64_edges))] ^ (rnd() & rnd_below(2) * UINT64_MAX),
			    rnd() & 1, (uint8_t)(1 + rnd_below(8)), rnd());
		break;
	case VM_EXIT_PIO: {
		static const uint8_t w[] = { 1, 2, 4 };

		e = mk_pio((uint16_t)rnd(), rnd() & 1, w[rnd_below(3)], (uint32_t)rnd());
		break;
	}
	case VM_EXIT_HYPERCALL:
		e.u.hypercall.func = rnd() >> rnd_below(64);
		for (int i = 0; i < VM_HYPERCALL_ARGS; i++)
			e.u.hypercall.args[i] = rnd() >> rnd_below(64);
		break;
	case VM_EXIT_DEBUG:
		e.u.debug.pc = rnd() >> rnd_below(64);
		e.u.debug.syndrome = rnd() >> rnd_below(64);
		break;
	case VM_EXIT_INTERNAL_ERROR: {
		size_t n = rnd_below(VM_EXIT_MESSAGE_MAX + 1);

		for (size_t i = 0; i < n; i++)
			e.u.internal_error.message[i] = (char)(1 + rnd_below(255));
		break;
	}
	default:
		break;
	}
	return e;
}

/* A decoded exit must re-encode, and that encoding must decode to the same exit. */
static void check_reencode(const struct vm_exit *e, const char *what, unsigned long it)
{
	uint8_t buf[VM_WIRE_MAX];
	size_t len;
	struct vm_exit again;
	int rc = vm_exit_encode(e, buf, sizeof(buf), &len);

	if (rc != 0)
		cr_assert_fail("%s %lu: decoded exit does not re-encode (%d)", what, it, rc);
	if (len > VM_WIRE_MAX)
		cr_assert_fail("%s %lu: %zu bytes", what, it, len);
	rc = vm_exit_decode(&dec, buf, len, &again);
	if (rc != 0 || !exit_equal(e, &again))
		cr_assert_fail("%s %lu: re-encoding decodes differently (%d)", what, it, rc);
}

static bool known_error(int rc)
{
	return rc == -EBADMSG || rc == -EMSGSIZE || rc == -EPROTONOSUPPORT || rc == -ENOMSG;
}

Test(wire, fuzz_random_bytes)
{
	enum { N = 200000 };
	uint8_t in[VM_WIRE_MAX + 16];
	unsigned long ok = 0;

	rng_state = 0x5eed0001;
	for (unsigned long it = 0; it < N; it++) {
		size_t len = rnd_below(sizeof(in) + 1);
		struct vm_exit e;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)rnd();
		/* Often start like a message, so the walk gets past the envelope. */
		if (len > 0 && (it & 1))
			in[0] = (uint8_t)(0x90 | rnd_below(7));
		if (len > 1 && (it & 2))
			in[1] = 0x01;
		if (len > 2 && (it & 4))
			in[2] = (uint8_t)(1 + rnd_below(VM_EXIT_KIND_MAX));

		const uint8_t *g = guarded(in, len, it & 8);
		int rc = vm_exit_decode(&dec, g, len, &e);

		if (rc == 0) {
			ok++;
			check_reencode(&e, "random", it);
		} else if (!known_error(rc) || !all_bytes(&e, sizeof(e), 0)) {
			cr_assert_fail("random %lu: rc %d", it, rc);
		}
	}
	cr_log_info("wire: %lu of %d random inputs decoded", ok, N);
}

Test(wire, fuzz_mutations)
{
	enum { N = 200000 };
	static const uint8_t interesting[] = { 0x00, 0x01, 0x7f, 0x80, 0x90, 0x9f, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4,
					       0xc6, 0xca, 0xcb, 0xcc, 0xcf, 0xd0, 0xd3, 0xd9, 0xdb, 0xdc, 0xdd,
					       0xde, 0xdf, 0xe0, 0xff };
	uint8_t in[VM_WIRE_MAX * 2];
	unsigned long ok = 0;

	rng_state = 0x5eed0002;
	for (unsigned long it = 0; it < N; it++) {
		struct vm_exit e = random_exit();
		size_t len;

		if (vm_exit_encode(&e, in, sizeof(in), &len) != 0)
			cr_assert_fail("mutation %lu: sample does not encode", it);
		for (int k = (int)rnd_below(4); k >= 0; k--) {
			size_t at = len ? rnd_below(len) : 0;

			switch (rnd_below(7)) {
			case 0: /* flip a bit */
				if (len)
					in[at] ^= (uint8_t)(1u << rnd_below(8));
				break;
			case 1: /* an interesting byte */
				if (len)
					in[at] = interesting[rnd_below(sizeof(interesting))];
				break;
			case 2: /* a random byte */
				if (len)
					in[at] = (uint8_t)rnd();
				break;
			case 3: /* insert */
				if (len < sizeof(in)) {
					memmove(in + at + 1, in + at, len - at);
					in[at] = (uint8_t)rnd();
					len++;
				}
				break;
			case 4: /* delete */
				if (len) {
					memmove(in + at, in + at + 1, len - at - 1);
					len--;
				}
				break;
			case 5: /* truncate */
				len = at;
				break;
			default: /* append */
				if (len < sizeof(in))
					in[len++] = interesting[rnd_below(sizeof(interesting))];
				break;
			}
		}

		int rc = vm_exit_decode(&dec, guarded(in, len, it & 1), len, &e);

		if (rc == 0) {
			ok++;
			check_reencode(&e, "mutation", it);
		} else if (!known_error(rc) || !all_bytes(&e, sizeof(e), 0)) {
			cr_assert_fail("mutation %lu: rc %d", it, rc);
		}
	}
	cr_log_info("wire: %lu of %d mutated inputs decoded", ok, N);
	cr_assert_gt(ok, 1000, "mutations should often stay valid");
}
