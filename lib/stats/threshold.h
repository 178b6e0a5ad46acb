/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Nagios/Monitoring Plugins conventions as policy: states and threshold ranges (pure). */
#ifndef OBRIDGE_STATS_THRESHOLD_H
#define OBRIDGE_STATS_THRESHOLD_H

#include <stddef.h>

enum nagios_state {
	NAGIOS_OK = 0,
	NAGIOS_WARNING = 1,
	NAGIOS_CRITICAL = 2,
	NAGIOS_UNKNOWN = 3,
};

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *nagios_state_name(enum nagios_state s);
/* The worse of two states (CRITICAL > WARNING > UNKNOWN > OK for combining results). */
enum nagios_state nagios_worst(enum nagios_state a, enum nagios_state b);

/*
 * A threshold range "[@]start:end": start defaults to 0, "~" is minus infinity, an empty
 * end is plus infinity. The alert fires when the value is outside [start, end], or inside
 * when inverted ("@"). Bounds are durations (bare numbers are seconds; "500ms" works);
 * values are seconds.
 */
struct nagios_range {
	int set;
	int inside;        /* '@' */
	int no_start;      /* '~' */
	int no_end;
	double start, end; /* seconds */
	char text[64];     /* as given, for perfdata */
};

int nagios_range_parse(struct nagios_range *r, const char *s, char *err);
/* True when the value (seconds) should alert. An unset range never alerts. */
int nagios_range_alert(const struct nagios_range *r, double v);
/* Critical first, then warning (Monitoring::Plugin::Threshold order). */
enum nagios_state nagios_check(const struct nagios_range *warn, const struct nagios_range *crit,
			       double v);

#endif
