/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The failover check: steady open-loop load through the balancer (requests keep their
 * schedule while an instance is down, so no coordinated omission), one primary taken
 * down, the time until the balancer serves again and the requests lost meanwhile, then
 * traffic back on the instance after it returns.
 */
#include "../compat.h"
#include "route-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fleet/fleet.h"
#include "../util/util.h"
#include "../banned.h"

#define SEC 1000000000LL
#define RATE 20                   /* requests per second */
#define MAX_REQS 4096
#define REQ_TIMEOUT (5 * SEC)
#define QUIET_AFTER (2 * SEC)     /* no failure for this long: the balancer has failed over */

struct ol_req {
	int64_t sched, end;
	int done, ok;
	char cls[32];
};

struct ol {
	struct rt *t;
	struct ol_req *v;
	size_t n, active;
};

static void ol_done(void *ud, const struct http_response *r)
{
	struct ol_req *q = ud;
	q->done = 1;
	q->end = r->t.end ? r->t.end : mono_ns();
	q->ok = r->err == HTTP_OK && r->status >= 200 && r->status < 300;
	if (r->err != HTTP_OK)
		snprintf(q->cls, sizeof(q->cls), "%s", http_err_name(r->err));
	else if (!q->ok)
		snprintf(q->cls, sizeof(q->cls), "HTTP %ld", r->status);
}

/* Send what is due; returns -1 when the request table is full. */
static int ol_send_due(struct ol *o, int64_t *next, const char *url)
{
	int64_t now = mono_ns();
	while (*next <= now) {
		if (o->n == MAX_REQS)
			return -1;
		struct ol_req *q = &o->v[o->n];
		memset(q, 0, sizeof(*q));
		q->sched = *next;
		struct http_req r = {
			.url = url, .timeout_ns = REQ_TIMEOUT, .on_done = ol_done, .ud = q,
			.start_at = *next, .max_body = 65536,
		};
		char err[ERR_MAX];
		if (http_submit(o->t->e, &r, err) < 0) {
			q->done = 1;
			snprintf(q->cls, sizeof(q->cls), "local");
		}
		o->n++;
		*next += SEC / RATE;
	}
	return 0;
}

/* Run the load until `until` (mono ns) or until done(o, arg) says so. */
static void ol_run(struct ol *o, int64_t *next, const char *url, int64_t until,
		   int (*done)(const struct ol *, int64_t), int64_t arg)
{
	while (mono_ns() < until && !rt_stopped(o->t)) {
		if (ol_send_due(o, next, url) < 0)
			break;
		if (done && done(o, arg))
			break;
		int64_t wait = *next - mono_ns();
		http_poll(o->t->e, wait > 0 ? wait : 0, -1, NULL);
	}
}

/* Failed over: since the last failure after t0, QUIET_AFTER passed with successes. */
static int failed_over(const struct ol *o, int64_t t0)
{
	int64_t last_fail = t0, last_ok = 0;
	for (size_t k = 0; k < o->n; k++) {
		const struct ol_req *q = &o->v[k];
		if (!q->done || q->sched < t0)
			continue;
		if (q->ok)
			last_ok = q->sched > last_ok ? q->sched : last_ok;
		else if (q->sched > last_fail)
			last_fail = q->sched;
	}
	return last_ok > last_fail && mono_ns() - last_fail >= QUIET_AFTER;
}

static size_t pick_victim(const struct rt *t)
{
	size_t best = 0;
	int w = -1;
	for (size_t i = 0; i < t->f->ninstances; i++)
		if (!t->f->instances[i].backup && t->f->instances[i].weight > w) {
			w = t->f->instances[i].weight;
			best = i;
		}
	return best;
}

void rt_check_failover(struct rt *t)
{
	const enum route_check C = ROUTE_FAILOVER;
	const struct fleet *f = t->f;
	char err[ERR_MAX], url[1200];
	if (t->down_how == RT_DOWN_NONE) {
		rt_result(t, C, ROUTE_SKIP, "needs --down-cmd/--up-cmd (or an obridge sim fleet) to "
			  "take an instance down");
		return;
	}
	if (f->ninstances < 2) {
		rt_result(t, C, ROUTE_SKIP, "one instance: nowhere to fail over to");
		return;
	}
	size_t v = pick_victim(t);
	const char *vname = f->instances[v].name;
	snprintf(url, sizeof(url), "%s/api/version", t->c->balancer);
	struct ol o = { .t = t, .v = xcalloc(MAX_REQS, sizeof(struct ol_req)) };
	int64_t slo = t->c->slo_failover_ns;
	int64_t window = 2 * slo < 5 * SEC ? 5 * SEC : 2 * slo > 120 * SEC ? 120 * SEC : 2 * slo;
	int64_t next = mono_ns();
	ol_run(&o, &next, url, mono_ns() + SEC, NULL, 0); /* steady state first */
	size_t before = o.n;
	int64_t t0 = mono_ns();
	if (rt_set_up(t, v, 0, err) < 0) {
		rt_result(t, C, ROUTE_FAIL, "could not take %s down: %s", vname, err);
		http_run(t->e, mono_ns() + REQ_TIMEOUT);
		free(o.v);
		return;
	}
	ol_run(&o, &next, url, t0 + window, failed_over, t0);
	http_run(t->e, mono_ns() + REQ_TIMEOUT + SEC); /* the stragglers */

	/* failover time: the first success sent after the last failure (or after the fault) */
	int64_t last_fail = t0, first_ok_after = 0;
	uint64_t lost = 0, pre_fail = 0, sent = 0;
	struct { char cls[32]; uint64_t n; } classes[8];
	size_t ncls = 0;
	for (size_t k = 0; k < o.n; k++) {
		const struct ol_req *q = &o.v[k];
		if (k < before || q->sched < t0) {
			pre_fail += !q->ok;
			continue;
		}
		sent++;
		if (q->ok)
			continue;
		lost++;
		if (q->sched > last_fail)
			last_fail = q->sched;
		size_t c;
		for (c = 0; c < ncls && strcmp(classes[c].cls, q->cls); c++)
			;
		if (c == ncls && ncls < ARRAY_SIZE(classes))
			snprintf(classes[ncls++].cls, sizeof(classes[0].cls), "%s",
				 q->cls[0] ? q->cls : "unfinished");
		if (c < ncls)
			classes[c].n++;
	}
	for (size_t k = before; k < o.n; k++)
		if (o.v[k].ok && o.v[k].sched >= last_fail) {
			first_ok_after = o.v[k].sched;
			break;
		}
	char byclass[256] = "";
	for (size_t c = 0, len = 0; c < ncls && len < sizeof(byclass); c++)
		len += (size_t)snprintf(byclass + len, sizeof(byclass) - len, "%s%" PRIu64 " %s",
					c ? ", " : "", classes[c].n, classes[c].cls);
	double fo = first_ok_after ? (first_ok_after - t0) / 1e9 : -1;
	rt_detail(t, C, "%d req/s of GET /api/version; %s taken down at t=0", RATE, vname);
	if (pre_fail)
		rt_detail(t, C, "%" PRIu64 " requests failed before the fault", pre_fail);
	if (t->down_how == RT_DOWN_CMD)
		rt_detail(t, C, "requests due while --down-cmd ran were sent when it returned, "
			  "timed from when they were due");
	rt_detail(t, C, "after the fault: %" PRIu64 " requests sent, %" PRIu64 " lost%s%s%s; "
		  "the first success after the last loss was sent %.2fs after the fault", sent, lost,
		  lost ? " (" : "", byclass, lost ? ")" : "",
		  first_ok_after ? (first_ok_after - t0) / 1e9 : -1.0);

	/* back up: traffic must reach it again */
	int64_t t1 = 0, back = 0;
	if (rt_set_up(t, v, 1, err) < 0) {
		rt_detail(t, C, "could not bring %s back: %s", vname, err);
	} else {
		struct rt_reply p;
		rt_reply_init(&p);
		t1 = mono_ns();
		while (!back && mono_ns() < t1 + 60 * SEC && !rt_stopped(t)) {
			if (rt_probe(t, &p) == (int)v)
				back = mono_ns();
			else
				http_poll(t->e, 100000000LL, -1, NULL);
		}
		rt_reply_release(&p);
		if (back)
			rt_detail(t, C, "%s back up: it served again after %.2fs", vname,
				  (back - t1) / 1e9);
	}
	buf_addf(&t->rep->r[C].json, "{\"instance\":\"%s\",\"rate\":%d,\"failover_s\":%.3f,"
		 "\"slo_s\":%.3f,\"sent\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"back_after_s\":%.3f}",
		 vname, RATE, fo, slo / 1e9, sent, lost, back ? (back - t1) / 1e9 : -1.0);
	if (fo < 0)
		rt_result(t, C, ROUTE_FAIL, "no request succeeded after the last loss, %.0fs after %s "
			  "went down (%" PRIu64 " lost: %s)", (mono_ns() - t0) / 1e9, vname, lost,
			  byclass);
	else if (fo * 1e9 > slo)
		rt_result(t, C, ROUTE_FAIL, "failover took %.2fs, over the %.0fs objective; %" PRIu64
			  " requests lost (%s)", fo, slo / 1e9, lost, byclass);
	else if (!back)
		rt_result(t, C, ROUTE_FAIL, "failover %.2fs, %" PRIu64 " lost, but %s got no traffic "
			  "within 60s of its return", fo, lost, vname);
	else
		rt_result(t, C, ROUTE_PASS, "failover %.2fs (objective %.0fs), %" PRIu64
			  " requests lost%s%s%s, %s served again %.2fs after its return", fo, slo / 1e9,
			  lost, lost ? " (" : "", byclass, lost ? ")" : "", vname, (back - t1) / 1e9);
	free(o.v);
}
