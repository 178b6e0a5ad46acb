/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Duration and size parsing/formatting. */
#include "../compat.h"
#include "units.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "../banned.h"

struct unit {
	const char *name;
	double ns;
};

static const struct unit duration_units[] = {
	{ "ns", 1 },       { "us", 1e3 },    { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
	{ "ms", 1e6 },     { "s", 1e9 },     { "m", 60e9 },        { "h", 3600e9 },
};

static const struct unit day_units[] = { { "d", 86400e9 }, { "w", 7 * 86400e9 } };

int units_parse_duration(const char *s, int64_t *ns, int flags, char *err)
{
	if (!s)
		return seterr(err, "empty duration");
	while (*s == ' ' || *s == '\t')
		s++;
	const char *orig = s;
	if (!*s)
		return seterr(err, "empty duration");
	int neg = 0;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (!*s)
		return seterr(err, "invalid duration '%s'", orig);

	/* A bare number: seconds. */
	char *end;
	double bare = strtod(s, &end);
	if (end != s && *end == '\0' && s[0] != '.' && strspn(s, "0123456789.") == strlen(s)) {
		if ((flags & UNITS_REQUIRE_UNIT) && bare != 0)
			return seterr(err, "time: missing unit in duration \"%s\"", orig);
		double v = bare * 1e9;
		if (v > 9.2e18)
			return seterr(err, "duration '%s' out of range", orig);
		if (neg && bare != 0) {
			if (!(flags & UNITS_NEG_FOREVER))
				return seterr(err, "negative duration '%s' not allowed here", orig);
			*ns = DURATION_FOREVER;
			return 0;
		}
		*ns = (int64_t)llround(v);
		return 0;
	}

	double total = 0;
	const char *p = s;
	while (*p) {
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return seterr(err, "invalid duration '%s'", orig);
		double v = strtod(p, &end);
		if (end == p)
			return seterr(err, "invalid duration '%s'", orig);
		p = end;
		const struct unit *u = NULL;
		size_t ul = 0;
		for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++) {
			size_t l = strlen(duration_units[i].name);
			if (strncmp(p, duration_units[i].name, l) == 0 && l > ul) {
				u = &duration_units[i];
				ul = l;
			}
		}
		if (!u && (flags & UNITS_DAYS)) {
			for (size_t i = 0; i < ARRAY_SIZE(day_units); i++)
				if (*p == day_units[i].name[0]) {
					u = &day_units[i];
					ul = 1;
				}
		}
		if (!u) {
			if (*p == '\0')
				return seterr(err, "time: missing unit in duration \"%s\"", orig);
			return seterr(err, "unknown unit in duration '%s'", orig);
		}
		p += ul;
		total += v * u->ns;
		if (total > 9.2e18)
			return seterr(err, "duration '%s' out of range", orig);
	}
	if (neg && total != 0) {
		if (!(flags & UNITS_NEG_FOREVER))
			return seterr(err, "negative duration '%s' not allowed here", orig);
		*ns = DURATION_FOREVER;
		return 0;
	}
	*ns = (int64_t)llround(total);
	return 0;
}

static void fmt_short(int64_t ns, int ascii, char *out, size_t n)
{
	const char *us = ascii ? "us" : "\xc2\xb5s";
	if (ns == DURATION_FOREVER) {
		snprintf(out, n, "forever");
	} else if (ns < 0) {
		char tmp[32];
		fmt_short(ns == INT64_MIN ? INT64_MAX : -ns, ascii, tmp, sizeof(tmp));
		snprintf(out, n, "-%s", tmp);
	} else if (ns < 1000) {
		snprintf(out, n, "%" PRId64 "ns", ns);
	} else if (ns < 1000000) {
		snprintf(out, n, "%.0f%s", ns / 1e3, us);
	} else if (ns < 10000000) {
		snprintf(out, n, "%.2fms", ns / 1e6);
	} else if (ns < 1000000000) {
		snprintf(out, n, "%.1fms", ns / 1e6);
	} else if (ns < 60000000000LL) {
		snprintf(out, n, "%.2fs", ns / 1e9);
	} else if (ns < 3600000000000LL) {
		int64_t s = (ns + 500000000) / 1000000000;
		snprintf(out, n, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	} else {
		int64_t m = (ns + 30000000000LL) / 60000000000LL;
		snprintf(out, n, "%" PRId64 "h%02" PRId64 "m", m / 60, m % 60);
	}
}

static void fmt_spaced(int64_t ns, char *out, size_t n)
{
	double v = (double)ns;
	if (ns < 1000)
		snprintf(out, n, "%" PRId64 " ns", ns);
	else if (ns < 1000000)
		snprintf(out, n, "%.3g \xc2\xb5s", v / 1e3);
	else if (ns < 1000000000)
		snprintf(out, n, "%.3g ms", v / 1e6);
	else if (ns < INT64_C(1000000000000))
		snprintf(out, n, "%.3g s", v / 1e9);
	else
		snprintf(out, n, "%.0f s", v / 1e9);
}

static void fmt_age(int64_t ns, char *out, size_t n)
{
	int64_t s = ns < 0 ? 0 : ns / 1000000000LL;
	if (s < 60)
		snprintf(out, n, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, n, "%" PRId64 "m", s / 60);
	else if (s < 86400)
		snprintf(out, n, "%" PRId64 "h", s / 3600);
	else
		snprintf(out, n, "%" PRId64 "d", s / 86400);
}

#define NS_PER_S 1000000000LL

static void fmt_human(int64_t ns, char *out, size_t n)
{
	if (ns < 0)
		ns = ns == INT64_MIN ? INT64_MAX : -ns;
	int64_t seconds = ns / NS_PER_S;
	int64_t minutes = ns / (60 * NS_PER_S);
	/* Go: int(math.Round(d.Hours())), rounding half away from zero. */
	int64_t hours = (int64_t)round((double)ns / (3600.0 * NS_PER_S));
	if (seconds < 1)
		snprintf(out, n, "Less than a second");
	else if (seconds == 1)
		snprintf(out, n, "1 second");
	else if (seconds < 60)
		snprintf(out, n, "%" PRId64 " seconds", seconds);
	else if (minutes == 1)
		snprintf(out, n, "About a minute");
	else if (minutes < 60)
		snprintf(out, n, "%" PRId64 " minutes", minutes);
	else if (hours == 1)
		snprintf(out, n, "About an hour");
	else if (hours < 48)
		snprintf(out, n, "%" PRId64 " hours", hours);
	else if (hours < 24 * 7 * 2)
		snprintf(out, n, "%" PRId64 " days", hours / 24);
	else if (hours < 24 * 30 * 2)
		snprintf(out, n, "%" PRId64 " weeks", hours / 24 / 7);
	else if (hours < 24 * 365 * 2)
		snprintf(out, n, "%" PRId64 " months", hours / 24 / 30);
	else
		snprintf(out, n, "%" PRId64 " years", hours / 24 / 365);
}

char *units_duration(int64_t ns, enum units_duration_style style, char *out, size_t n)
{
	if (style == UNITS_DUR_HUMAN)
		fmt_human(ns, out, n);
	else if (style == UNITS_DUR_SPACED)
		fmt_spaced(ns, out, n);
	else if (style == UNITS_DUR_AGE)
		fmt_age(ns, out, n);
	else
		fmt_short(ns, style == UNITS_DUR_ASCII, out, n);
	return out;
}

char *units_fmt_duration(int64_t ns, char *out, size_t n)
{
	return units_duration(ns, UNITS_DUR_SHORT, out, n);
}

char *units_go_duration(int64_t ns, char *out, size_t n)
{
	if (ns == DURATION_FOREVER || ns < 0) {
		snprintf(out, n, "-1s");
		return out;
	}
	if (ns == 0) {
		snprintf(out, n, "0s");
		return out;
	}
	int64_t h = ns / 3600000000000LL;
	int64_t rem = ns % 3600000000000LL;
	int64_t m = rem / 60000000000LL;
	rem %= 60000000000LL;
	double s = rem / 1e9;
	char sec[32];
	snprintf(sec, sizeof(sec), "%.9f", s);
	/* trim trailing zeros and dot */
	size_t l = strlen(sec);
	while (l && sec[l - 1] == '0')
		sec[--l] = '\0';
	if (l && sec[l - 1] == '.')
		sec[--l] = '\0';
	if (h)
		snprintf(out, n, "%" PRId64 "h%" PRId64 "m%ss", h, m, sec);
	else if (m)
		snprintf(out, n, "%" PRId64 "m%ss", m, sec);
	else
		snprintf(out, n, "%ss", sec);
	return out;
}

char *units_fmt_bytes(uint64_t bytes, char *out, size_t n)
{
	/* The ollama CLI uses decimal units: 4.7 GB, 986 MB. */
	const char *u[] = { "B", "KB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	size_t i = 0;
	while (v >= 1000 && i + 1 < ARRAY_SIZE(u)) {
		v /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(out, n, "%" PRIu64 " B", bytes);
	else if (v < 10)
		snprintf(out, n, "%.1f %s", v, u[i]);
	else
		snprintf(out, n, "%.0f %s", v, u[i]);
	return out;
}

int units_parse_size(const char *s, uint64_t *bytes, char *err)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v >= 0)) /* also NaN */
		return seterr(err, "invalid size '%s'", s);
	double mul = 1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1024.0; end++; break;
	case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	default: return seterr(err, "invalid size '%s' (use k, M or G)", s);
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return seterr(err, "invalid size '%s'", s);
	if (!(v * mul < 9.2e18)) /* found by fuzzing: 4e99 overflowed the cast */
		return seterr(err, "size '%s' is too large", s);
	*bytes = (uint64_t)(v * mul);
	return 0;
}
