/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Route tests: check the real balancer in front of the fleet from outside. Each request
 * is traced to an instance by a response header the balancer adds (X-Upstream,
 * X-Server, X-Olla-Endpoint, x-litellm-model-api-base or one the user names) or, without
 * one, by the instances' own clocks (/api/ps expires_at moves on the instance that served
 * a request). The checks: attribution, weights (chi-square against the fleet's weights),
 * backup (only on outage), failover (time and lost requests under steady open-loop load),
 * length (long-prompt routing by body size), stream (tokens arrive incrementally) and cold
 * (a cold load is not cut by a proxy read timeout). Instances are taken down and up with
 * user commands or, for an `obridge sim` fleet, through its control endpoint.
 *
 * Nothing here prints; route_test fills a report that lib/render shows and whose JSON
 * (route_report_json, the one writer of a route run's document) the store keeps.
 * Ownership: route_report_release frees what route_test put in the report.
 */
#ifndef OBRIDGE_ROUTE_ROUTE_H
#define OBRIDGE_ROUTE_ROUTE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

struct fleet;
struct http_engine;

enum route_check {
	ROUTE_ATTRIBUTION,
	ROUTE_WEIGHTS,
	ROUTE_BACKUP,
	ROUTE_FAILOVER,
	ROUTE_LENGTH,
	ROUTE_STREAM,
	ROUTE_COLD,
	ROUTE__N,
};

enum route_outcome { ROUTE_PASS, ROUTE_FAIL, ROUTE_SKIP };

enum route_method { ROUTE_BY_HEADER, ROUTE_BY_EXPIRY, ROUTE_BY_NONE };

/* Expected and observed share of one instance, for the weights chart. */
struct route_bar {
	char name[64];
	double expected, observed; /* shares, 0..1 */
	uint64_t count;
};

struct route_result {
	enum route_outcome outcome;
	char summary[320];       /* one line of evidence */
	struct buf detail;       /* more lines, each ending in '\n' (sanitized) */
	struct buf json;         /* the check's own members, as a JSON object */
	struct route_bar *bars;  /* weights: one per primary */
	size_t nbars;
};

struct route_cfg {
	const struct fleet *fleet;
	const char *balancer;     /* base URL */
	int n;                    /* requests of the weights check (200) */
	unsigned checks;          /* 1 << enum route_check */
	const char *header;       /* an extra attribution header, or NULL */
	const char *down_cmd;     /* both or neither; run with /bin/sh -c and */
	const char *up_cmd;       /* OBRIDGE_INSTANCE, OBRIDGE_URL, OBRIDGE_HOST set */
	int64_t slo_failover_ns;  /* failover passes at or below this (15 s) */
	double alpha;             /* significance of the weights test (0.01) */
	const char *model;        /* for stream, cold, length and expiry attribution */
	int64_t timeout_ns;       /* per request (cold loads get at least 10 minutes) */
	void (*progress)(void *ud, const char *msg);
	void *ud;
	const volatile sig_atomic_t *stop;
};

struct route_report {
	enum route_method method;
	char header[64];          /* the attribution header found ("" with expiry) */
	uint64_t attributed, unattributed;
	char down_how[64];        /* "sim control", "--down-cmd/--up-cmd" or "none" */
	char model[256];
	int ran[ROUTE__N];
	struct route_result r[ROUTE__N];
	int interrupted;
};

#define ROUTE_ALL ((1u << ROUTE__N) - 1)

const char *route_check_name(enum route_check c);
/* "weights,backup" or "all" into a bit set; returns 0 or -1 with err naming the word. */
int route_checks_parse(const char *list, unsigned *out, char *err);

/*
 * Run the checks. Returns 0 when they ran (outcomes in out), -1 with err when the
 * balancer does not answer at all (nothing else is tried).
 */
int route_test(struct http_engine *e, const struct route_cfg *c, struct route_report *out,
	       char *err);
void route_report_release(struct route_report *r);
/* The run's document: method, header, counts and every check that ran. */
void route_report_json(const struct route_report *r, const struct route_cfg *c,
		       struct buf *out);
/* Counts of the checks by outcome. */
void route_report_counts(const struct route_report *r, int *pass, int *fail, int *skip);

#endif
