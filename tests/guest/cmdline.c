/* SPDX-License-Identifier: MIT */
/* Command line copy and key=value lookup. */
#include "check.h"
#include "cmdline.h"
#include "guest.h"

static char buf[CMDLINE_MAX];
static const char *words[CMDLINE_MAX_WORDS];
static unsigned nwords;

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void cmdline_init(uint64_t gpa)
{
	const volatile char *src = (const volatile char *)(uintptr_t)gpa;
	size_t n = 0;

	nwords = 0;
	while (gpa && n < sizeof(buf) - 1) {
		char c = src[n];

		if (!c)
			break;
		buf[n++] = is_blank(c) ? '\0' : c;
	}
	buf[n] = '\0';
	/* Words start at a non-NUL byte preceded by NUL (or the start). */
	for (size_t i = 0; i < n && nwords < CMDLINE_MAX_WORDS; i++) {
		if (buf[i] && (i == 0 || !buf[i - 1]))
			words[nwords++] = &buf[i];
	}
}

const char *cmdline_workload(void)
{
	return nwords ? words[0] : "";
}

const char *cmdline_get(const char *key)
{
	size_t klen = strlen(key);

	for (unsigned i = 1; i < nwords; i++) {
		if (strncmp(words[i], key, klen))
			continue;
		if (words[i][klen] == '=')
			return words[i] + klen + 1;
		if (words[i][klen] == '\0')
			return words[i] + klen;
	}
	return 0;
}

bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

uint64_t cmdline_get_u64(const char *key, uint64_t def)
{
	const char *s = cmdline_get(key);
	uint64_t v;

	if (!s)
		return def;
	if (!parse_u64(s, &v)) {
		check_fail(key, "not a number");
		return def;
	}
	return v;
}
