/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the route checks share: the run's state, attributed requests, instance control. */
#ifndef OBRIDGE_ROUTE_INTERNAL_H
#define OBRIDGE_ROUTE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../http/http.h"
#include "../util/buf.h"
#include "route.h"

struct fleet;

enum rt_down { RT_DOWN_NONE, RT_DOWN_CMD, RT_DOWN_SIM };

struct rt {
	struct http_engine *e;
	const struct route_cfg *c;
	const struct fleet *f;
	struct route_report *rep;
	char capture[512];
	char model[256];
	int64_t keep_alive_ns;   /* finite: the expiry method needs expires_at to move */
	int num_ctx;
	/* instance control */
	enum rt_down down_how;
	char **sim_names;        /* per instance: its name in the sim, or NULL */
	int *is_down;            /* per instance: taken down by us */
	/* the weights sample, for the backup check */
	int have_sample;
	uint64_t sample_backup;  /* requests that reached a backup while every primary was up */
	uint64_t sample_total;
};

/* One finished request. */
struct rt_reply {
	long status;
	enum http_err err;
	char errmsg[512];
	char hname[64], hval[256];  /* the attribution header */
	int inst;                   /* attributed instance, -1 when unknown */
	int64_t t_start, t_end;
	struct buf body;            /* first 64 KiB */
	int done;
};

void rt_reply_init(struct rt_reply *p);
void rt_reply_release(struct rt_reply *p);
int rt_stopped(const struct rt *t);
void rt_wait(struct rt *t, long id, const int *done);
/* A request, run to its end; returns 0 on a 2xx answer, else -1 (see out). */
int rt_request(struct rt *t, const char *method, const char *url, const char *body,
	       size_t blen, int64_t timeout_ns, struct rt_reply *out);
/* "refused", "timeout", "HTTP 502", ... */
void rt_error_class(const struct rt_reply *p, char *out, size_t n);
/* The instance a header value names, or -1. */
int rt_attribute(const struct rt *t, const char *value);
/* Through the balancer, attributed: instance, -1 unattributed success, -2 failure. */
int rt_probe(struct rt *t, struct rt_reply *out);
int rt_probe_body(struct rt *t, const char *path, const char *body, size_t blen,
		  struct rt_reply *out);
void rt_generate_body(const struct rt *t, struct buf *b, const char *prompt, int stream,
		      int num_predict);

void rt_result(struct rt *t, enum route_check c, enum route_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rt_detail(struct rt *t, enum route_check c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rt_progress(struct rt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Instance control (control.c): sim endpoint or the user's commands. */
void rt_control_init(struct rt *t);
void rt_control_release(struct rt *t);
/* Take instance i down (up = 0) or bring it back; waits until it refuses or answers.
 * Returns 0, or -1 with err. */
int rt_set_up(struct rt *t, size_t i, int up, char *err);
/* Bring back every instance this run took down. */
void rt_control_restore(struct rt *t);
/* Whether instance i answers GET /api/version directly. */
int rt_instance_answers(struct rt *t, size_t i);

/* The checks (checks.c, failover.c, stream.c). */
void rt_check_attribution(struct rt *t);
void rt_check_weights(struct rt *t);
void rt_check_backup(struct rt *t);
void rt_check_failover(struct rt *t);
void rt_check_length(struct rt *t);
void rt_check_stream(struct rt *t);
void rt_check_cold(struct rt *t);

#endif
