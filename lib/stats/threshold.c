/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Nagios states and threshold ranges: which value alerts, and how states combine. */
#include "../compat.h"
#include "threshold.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

const char *nagios_state_name(enum nagios_state s)
{
	switch (s) {
	case NAGIOS_OK: return "OK";
	case NAGIOS_WARNING: return "WARNING";
	case NAGIOS_CRITICAL: return "CRITICAL";
	default: return "UNKNOWN";
	}
}

static int severity(enum nagios_state s)
{
	switch (s) {
	case NAGIOS_OK: return 0;
	case NAGIOS_UNKNOWN: return 1;
	case NAGIOS_WARNING: return 2;
	default: return 3;
	}
}

enum nagios_state nagios_worst(enum nagios_state a, enum nagios_state b)
{
	return severity(a) >= severity(b) ? a : b;
}

static int parse_bound(const char *s, double *out, char *err)
{
	int64_t ns;
	/* Allow negative numbers as plain values (not keep_alive semantics). */
	int neg = *s == '-';
	if (units_parse_duration(neg ? s + 1 : s, &ns, 0, err) < 0)
		return -1;
	*out = (neg ? -1.0 : 1.0) * (double)ns / 1e9;
	return 0;
}

int nagios_range_parse(struct nagios_range *r, const char *s, char *err)
{
	memset(r, 0, sizeof(*r));
	if (!s || !*s)
		return seterr(err, "empty threshold range");
	snprintf(r->text, sizeof(r->text), "%s", s);
	const char *p = s;
	if (*p == '@') {
		r->inside = 1;
		p++;
	}
	const char *colon = strchr(p, ':');
	char e[ERR_MAX];
	if (!colon) {
		/* "10" = 0:10 */
		if (parse_bound(p, &r->end, e) < 0)
			return seterr(err, "invalid threshold range '%s': %s", s, e);
		r->start = 0;
	} else {
		char start[64];
		snprintf(start, sizeof(start), "%.*s", (int)(colon - p), p);
		if (!strcmp(start, "~"))
			r->no_start = 1;
		else if (!*start)
			r->start = 0;
		else if (parse_bound(start, &r->start, e) < 0)
			return seterr(err, "invalid threshold range '%s': %s", s, e);
		const char *end = colon + 1;
		if (!*end)
			r->no_end = 1;
		else if (parse_bound(end, &r->end, e) < 0)
			return seterr(err, "invalid threshold range '%s': %s", s, e);
	}
	if (!r->no_start && !r->no_end && r->start > r->end)
		return seterr(err, "invalid threshold range '%s': start is greater than end", s);
	r->set = 1;
	return 0;
}

int nagios_range_alert(const struct nagios_range *r, double v)
{
	if (!r || !r->set)
		return 0;
	int in = (r->no_start || v >= r->start) && (r->no_end || v <= r->end);
	return r->inside ? in : !in;
}

enum nagios_state nagios_check(const struct nagios_range *warn, const struct nagios_range *crit,
			       double v)
{
	if (nagios_range_alert(crit, v))
		return NAGIOS_CRITICAL;
	if (nagios_range_alert(warn, v))
		return NAGIOS_WARNING;
	return NAGIOS_OK;
}
