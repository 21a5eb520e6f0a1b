/* SPDX-License-Identifier: MIT */
#include "monitor/devices/device_args.h"
#include "proto/device_config.h"

#include "common/mac_addr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int arg_error(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static size_t escaped_len(unsigned char c)
{
	if (c == '\\')
		return 2;
	return c >= 0x20 && c <= 0x7e ? 1 : 4;
}

const char *arg_escape(char *buf, size_t buf_len, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t total = 0, room, o = 0;

	if (!buf_len)
		return buf;
	for (size_t i = 0; i < len; i++)
		total += escaped_len((unsigned char)s[i]);
	/* Everything when it fits, else as much as fits before "...". */
	room = total < buf_len ? total : (buf_len > 4 ? buf_len - 4 : 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = escaped_len(c);

		if (o + need > room)
			break;
		if (need == 1) {
			buf[o++] = (char)c;
		} else if (need == 2) {
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (total >= buf_len && buf_len > 4) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* One "key[=value]" between commas; the value is NULL when there is no '='. */
struct arg_item {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* Splits [s, s + len) at its first '='. */
static struct arg_item split_item(const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	struct arg_item it = { .key = s, .key_len = len };

	if (eq) {
		it.key_len = (size_t)(eq - s);
		it.value = eq + 1;
		it.value_len = len - it.key_len - 1;
	}
	return it;
}

static bool item_is(const struct arg_item *it, const char *key)
{
	return it->key_len == strlen(key) && !memcmp(it->key, key, it->key_len);
}

static bool value_is(const struct arg_item *it, const char *v)
{
	return it->value_len == strlen(v) && !memcmp(it->value, v, it->value_len);
}

/* The next ','-separated item of *pos; *pos becomes NULL after the last one. */
static struct arg_item next_item(const char **pos, size_t *item_len)
{
	const char *s = *pos;
	const char *comma = strchr(s, ',');
	size_t len = comma ? (size_t)(comma - s) : strlen(s);

	*item_len = len;
	*pos = comma ? comma + 1 : NULL;
	return split_item(s, len);
}

#define DISK_PATH_NOTE "PATH ends at the first ','; paths containing ',' are not supported"

int disk_arg_parse(char *arg, struct disk_config *out, char *err, size_t err_len)
{
	struct disk_config d = { .cache = DISK_CACHE_WRITEBACK };
	bool seen_ro = false, seen_id = false, seen_cache = false;
	char *comma;
	const char *pos;
	char qa[ARG_QUOTE_MAX], qv[ARG_QUOTE_MAX];

	if (err_len)
		err[0] = '\0';
	if (!arg || !*arg)
		return arg_error(err, err_len, "--disk needs a PATH");
	arg_escape(qa, sizeof(qa), arg, strlen(arg));
	comma = strchr(arg, ',');
	if (comma == arg)
		return arg_error(err, err_len, "--disk '%s': empty PATH before ','", qa);
	pos = comma ? comma + 1 : NULL;
	while (pos) {
		size_t len;
		struct arg_item it = next_item(&pos, &len);

		if (len == 0)
			return arg_error(err, err_len, "--disk '%s': empty option between ',' (%s)", qa,
					 DISK_PATH_NOTE);
		if (item_is(&it, "ro")) {
			if (it.value)
				return arg_error(err, err_len, "--disk '%s': ro takes no value", qa);
			if (seen_ro)
				return arg_error(err, err_len, "--disk '%s': ro given twice", qa);
			seen_ro = true;
			d.read_only = true;
		} else if (item_is(&it, "id")) {
			if (seen_id)
				return arg_error(err, err_len, "--disk '%s': id given twice", qa);
			seen_id = true;
			if (!it.value || !it.value_len)
				return arg_error(err, err_len, "--disk '%s': id needs a value (id=NAME)", qa);
			if (it.value_len > CLI_DISK_ID_MAX)
				return arg_error(err, err_len, "--disk '%s': id '%s' is longer than %d bytes", qa,
						 arg_escape(qv, sizeof(qv), it.value, it.value_len), CLI_DISK_ID_MAX);
			for (size_t i = 0; i < it.value_len; i++) {
				unsigned char c = (unsigned char)it.value[i];

				if (c < 0x20 || c > 0x7e)
					return arg_error(err, err_len,
							 "--disk: id has byte 0x%02x at offset %zu: only printable "
							 "ASCII is allowed",
							 c, i);
			}
			memcpy(d.id, it.value, it.value_len);
			d.id[it.value_len] = '\0';
		} else if (item_is(&it, "cache")) {
			if (seen_cache)
				return arg_error(err, err_len, "--disk '%s': cache given twice", qa);
			seen_cache = true;
			if (!it.value || !it.value_len)
				return arg_error(err, err_len, "--disk '%s': cache needs a value (none or writeback)",
						 qa);
			if (value_is(&it, "none"))
				d.cache = DISK_CACHE_NONE;
			else if (value_is(&it, "writeback"))
				d.cache = DISK_CACHE_WRITEBACK;
			else
				return arg_error(err, err_len, "--disk '%s': cache=%s: expected none or writeback",
						 qa, arg_escape(qv, sizeof(qv), it.value, it.value_len));
		} else {
			return arg_error(err, err_len, "--disk '%s': unknown option '%s' (%s)", qa,
					 arg_escape(qv, sizeof(qv), it.key, it.key_len), DISK_PATH_NOTE);
		}
	}
	if (comma)
		*comma = '\0';
	d.path = arg;
	*out = d;
	return 0;
}

bool tap_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CLI_TAP_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

int mac_parse(const char *s, uint8_t mac[6])
{
	return mac_addr_parse(s, mac);
}

void net_default_mac(unsigned index, uint8_t mac[6])
{
	static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, NET_DEFAULT_MAC_LAST_BASE };

	memcpy(mac, base, sizeof(base));
	mac[5] = (uint8_t)(NET_DEFAULT_MAC_LAST_BASE + index);
}

int net_arg_parse(const char *arg, unsigned index, struct net_config *out, char *err, size_t err_len)
{
	struct net_config n;
	bool seen_tap = false, seen_mac = false;
	const char *pos = arg;
	char qa[ARG_QUOTE_MAX], qv[ARG_QUOTE_MAX];

	memset(&n, 0, sizeof(n));
	if (err_len)
		err[0] = '\0';
	if (!arg || !*arg)
		return arg_error(err, err_len, "--net needs tap=NAME");
	arg_escape(qa, sizeof(qa), arg, strlen(arg));
	while (pos) {
		size_t len;
		struct arg_item it = next_item(&pos, &len);

		if (len == 0)
			return arg_error(err, err_len, "--net '%s': empty option between ','", qa);
		if (item_is(&it, "tap")) {
			char name[CLI_TAP_NAME_MAX + 1];

			if (seen_tap)
				return arg_error(err, err_len, "--net '%s': tap given twice", qa);
			seen_tap = true;
			if (!it.value || !it.value_len)
				return arg_error(err, err_len, "--net '%s': tap needs a value (tap=NAME)", qa);
			if (it.value_len > CLI_TAP_NAME_MAX)
				return arg_error(err, err_len, "--net '%s': tap name '%s' is longer than %d characters",
						 qa, arg_escape(qv, sizeof(qv), it.value, it.value_len), CLI_TAP_NAME_MAX);
			memcpy(name, it.value, it.value_len);
			name[it.value_len] = '\0';
			if (!tap_name_valid(name))
				return arg_error(err, err_len,
						 "--net '%s': tap name '%s' is not valid (A-Z a-z 0-9 _ . - only, "
						 "not '.' or '..')",
						 qa, arg_escape(qv, sizeof(qv), name, it.value_len));
			memcpy(n.tap, name, it.value_len + 1);
		} else if (item_is(&it, "mac")) {
			char text[18];

			if (seen_mac)
				return arg_error(err, err_len, "--net '%s': mac given twice", qa);
			seen_mac = true;
			if (!it.value || !it.value_len)
				return arg_error(err, err_len, "--net '%s': mac needs a value (mac=XX:XX:XX:XX:XX:XX)",
						 qa);
			if (it.value_len == 17) {
				memcpy(text, it.value, 17);
				text[17] = '\0';
			}
			if (it.value_len != 17 || mac_parse(text, n.mac))
				return arg_error(err, err_len,
						 "--net '%s': mac '%s' is not six two-digit hex groups "
						 "(XX:XX:XX:XX:XX:XX)",
						 qa, arg_escape(qv, sizeof(qv), it.value, it.value_len));
			if (n.mac[0] & 1)
				return arg_error(err, err_len,
						 "--net '%s': mac %s is a multicast address (low bit of the first "
						 "octet set), not a NIC's",
						 qa, text);
			if (!(n.mac[0] | n.mac[1] | n.mac[2] | n.mac[3] | n.mac[4] | n.mac[5]))
				return arg_error(err, err_len, "--net '%s': mac %s is all zero", qa, text);
		} else {
			return arg_error(err, err_len, "--net '%s': unknown option '%s' (expected tap= or mac=)", qa,
					 arg_escape(qv, sizeof(qv), it.key, it.key_len));
		}
	}
	if (!seen_tap)
		return arg_error(err, err_len, "--net '%s': tap=NAME is required", qa);
	if (!seen_mac)
		net_default_mac(index, n.mac);
	*out = n;
	return 0;
}

int arg_u64_parse(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned digit = (unsigned)(s[i] - '0');

		if (digit > 9 || v > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int fault_arg_parse(const char *arg, struct fault_config *out, char *err, size_t err_len)
{
	struct fault_config f = { .how = DEVICE_FAULT_KILL };
	const char *colon = strchr(arg, ':'), *p;
	char q[ARG_QUOTE_MAX];
	bool have_after = false;
	uint64_t v;
	size_t n;

	if (err_len)
		err[0] = '\0';
	if (!colon || colon == arg || (size_t)(colon - arg) > CLI_DEVICE_NAME_MAX)
		return arg_error(err, err_len, "--fault '%s': expected DEVICE:after=N[,every=M][,how=KIND]",
			    arg_escape(q, sizeof(q), arg, strlen(arg)));
	for (p = arg; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return arg_error(err, err_len, "--fault: device '%s' is not a device id (blk0, net0, rng0, uart, testdev)",
				    arg_escape(q, sizeof(q), arg, (size_t)(colon - arg)));
	memcpy(f.device, arg, (size_t)(colon - arg));
	for (p = colon + 1; *p; p += n + (p[n] == ',')) {
		const char *eq;

		n = strcspn(p, ",");
		eq = memchr(p, '=', n);
		if (!eq)
			return arg_error(err, err_len, "--fault %s: '%s' is not KEY=VALUE", f.device, arg_escape(q, sizeof(q), p, n));
		if ((size_t)(eq - p) == 5 && !strncmp(p, "after", 5)) {
			if (arg_u64_parse(eq + 1, n - 6, 0, UINT32_MAX, &v) < 0)
				return arg_error(err, err_len, "--fault %s: after= expects a number of requests, not '%s'", f.device,
					    arg_escape(q, sizeof(q), eq + 1, n - 6));
			f.after = (uint32_t)v;
			have_after = true;
		} else if ((size_t)(eq - p) == 5 && !strncmp(p, "every", 5)) {
			if (arg_u64_parse(eq + 1, n - 6, 0, UINT32_MAX, &v) < 0)
				return arg_error(err, err_len, "--fault %s: every= expects a number of requests, not '%s'",
					    f.device, arg_escape(q, sizeof(q), eq + 1, n - 6));
			f.every = (uint32_t)v;
			f.repeat = true;
		} else if ((size_t)(eq - p) == 3 && !strncmp(p, "how", 3)) {
			char kind[32];
			enum device_fault_how how;

			if (n - 4 >= sizeof(kind))
				return arg_error(err, err_len, "--fault %s: unknown how= '%s'", f.device,
					    arg_escape(q, sizeof(q), eq + 1, n - 4));
			memcpy(kind, eq + 1, n - 4);
			kind[n - 4] = '\0';
			if (device_fault_how_parse(kind, &how) < 0)
				return arg_error(err, err_len,
					    "--fault %s: how= expects kill, segv, abort, syscall, garbage-ring or scribble-state, not '%s'",
					    f.device, arg_escape(q, sizeof(q), kind, strlen(kind)));
			f.how = how;
		} else {
			return arg_error(err, err_len, "--fault %s: unknown key '%s' (after, every, how)", f.device,
				    arg_escape(q, sizeof(q), p, (size_t)(eq - p)));
		}
	}
	if (!have_after)
		return arg_error(err, err_len, "--fault %s: after=N is required", f.device);
	*out = f;
	return 0;
}
