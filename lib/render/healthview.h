/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The health view (healthview.c): a finished check as a Nagios plugin line with perfdata,
 * as a text table, as JSON (also the run's stored summary) and as Prometheus text; and
 * the availability and incidents of --history from stored probes.
 */
#ifndef OBRIDGE_RENDER_HEALTHVIEW_H
#define OBRIDGE_RENDER_HEALTHVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct probe_result;
struct nagios_range;
struct store_probe;

/* "OBRIDGE STATE - n/m up, ... | perfdata", then one line per instance and its problems. */
void healthview_nagios(FILE *out, const struct probe_result *r, const struct nagios_range *warn,
		       const struct nagios_range *crit);
/* "fleet NAME: STATE, n/m up ..." and a table of the instances. */
void healthview_text(FILE *out, const struct probe_result *r, const char *fleet_name, int color);
/* {"fleet","state","exit","level","up","total","resident","required","elapsed_s",
 * "instances":[...]}; the caller frees it. */
char *healthview_json(const struct probe_result *r, const char *fleet_name);
/* The Prometheus text exposition of the check; the caller frees it. */
char *healthview_prom(const struct probe_result *r);
/*
 * Availability per instance and incidents (runs of crit/down probes) over the probes
 * since since_ns ago (all: newest first, as the store lists them), as a table and lines
 * on out, or JSON with json; with no probes in the window a note on errout unless quiet.
 */
void healthview_history(FILE *out, FILE *errout, const struct store_probe *all, size_t nall,
			int64_t since_ns, int json, int quiet, int color);

#endif
