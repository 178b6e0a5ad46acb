/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Parsing and formatting of durations ("5m", "1h30m", "250ms", bare seconds) and sizes. */
#ifndef OBRIDGE_UTIL_UNITS_H
#define OBRIDGE_UTIL_UNITS_H

#include <stdint.h>
#include <stddef.h>

/* The value Ollama stores for a negative keep_alive: forever. */
#define DURATION_FOREVER INT64_MAX

enum units_flags {
	/* A negative value is accepted and returned as DURATION_FOREVER (keep_alive semantics). */
	UNITS_NEG_FOREVER = 1 << 0,
	/* A bare number without a unit is rejected (Go's time.ParseDuration; "0" stays valid). */
	UNITS_REQUIRE_UNIT = 1 << 1,
	/* Also accept days and weeks ("7d", "2w", "1d12h"): for look-back ages, never for
	 * values sent to Ollama (Go's durations have no such units). */
	UNITS_DAYS = 1 << 2,
};

/*
 * Parse a duration in Ollama's accepted forms: Go durations (ns us µs ms s m h, combinable,
 * fractional, signed: "1h30m", "1.5s", "-1m") and bare numbers meaning seconds ("30", "-1",
 * "2.5"). Returns 0 with *ns set, or -1 with a message in err (ERR_MAX bytes).
 * Negative values are rejected unless UNITS_NEG_FOREVER is given.
 */
int units_parse_duration(const char *s, int64_t *ns, int flags, char *err);

/* The styles of the one duration formatter. */
enum units_duration_style {
	UNITS_DUR_SHORT, /* for tables: "850µs", "12.3ms", "1.25s", "4m12s", "2h05m", "forever" */
	UNITS_DUR_ASCII, /* the same with "us" for "µs" */
	UNITS_DUR_SPACED, /* for sentences, 3 digits and a space: "850 µs", "12.3 ms", "1.52 s",
			   * "7200 s" */
	UNITS_DUR_AGE,   /* whole units for narrow columns: "5s", "12m", "3h", "2d" (negative
			  * as "0s") */
	UNITS_DUR_HUMAN, /* Ollama's HumanDuration: "Less than a second", "1 second",
			  * "59 seconds", "About a minute", "4 minutes", "About an hour",
			  * "5 hours", "3 days", "2 weeks", "3 months", "292 years"; a negative
			  * duration is taken as its absolute value */
};

/* Format a duration in ns into out (n bytes); returns out. */
char *units_duration(int64_t ns, enum units_duration_style style, char *out, size_t n);
/* units_duration(ns, UNITS_DUR_SHORT, out, n), the common case. */
char *units_fmt_duration(int64_t ns, char *out, size_t n);

/* Go-style duration string that Ollama accepts for keep_alive ("5m0s", "24h0m0s", "-1s" for forever). */
char *units_go_duration(int64_t ns, char *out, size_t n);

/* Human size in binary units as the ollama CLI prints them ("4.7 GB" uses 1000s; we follow it). */
char *units_fmt_bytes(uint64_t bytes, char *out, size_t n);

/* Parse a size such as "8M", "512k", "1G", "1048576" (binary multiples). */
int units_parse_size(const char *s, uint64_t *bytes, char *err);

#endif
