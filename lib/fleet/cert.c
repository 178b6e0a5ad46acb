/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Certificate expiry of https instances, as check_http -C does it: days left against W,C. */
#include "../compat.h"
#include "probe.h"
#include "fleet.h"

#include <inttypes.h>
#include <stdio.h>
#include "../http/http.h"

#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../banned.h"

static int rank(enum probe_state s)
{
	return s == PROBE_CRIT ? 3 : s == PROBE_WARN ? 2 : s == PROBE_UNKNOWN ? 1 : 0;
}

static void add_problem(struct probe_instance *pi, enum probe_state s, char *line)
{
	pi->problems = xrealloc(pi->problems, (pi->nproblems + 2) * sizeof(char *));
	pi->problems[pi->nproblems++] = line;
	pi->problems[pi->nproblems] = NULL;
	if (rank(s) > rank(pi->state))
		pi->state = s;
}

void probe_cert_check(struct probe_result *r, int warn_days, int crit_days, int64_t now_s)
{
	for (size_t i = 0; i < r->n; i++) {
		struct probe_instance *pi = &r->inst[i];
		if (!pi->up || strncmp(pi->in->url, "https:", 6))
			continue;
		/* the protocol and the days left go on the instance's line */
		char *sum = xasprintf("%s, %s", pi->summary ? pi->summary : "",
				      pi->tls_version[0] ? pi->tls_version : "TLS version unknown");
		free(pi->summary);
		pi->summary = sum;
		if (!strcmp(pi->tls_version, "TLSv1") || !strcmp(pi->tls_version, "TLSv1.1") ||
		    !strncmp(pi->tls_version, "SSL", 3))
			add_problem(pi, PROBE_WARN,
				    xasprintf("%s is obsolete (TLS 1.2 or later)", pi->tls_version));
		if (!pi->cert_expiry_s) {
			add_problem(pi, PROBE_UNKNOWN,
				    xstrdup("certificate: its expiry date could not be read"));
		} else {
			int64_t left = pi->cert_expiry_s - now_s;
			int64_t days = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
			char *s2 = xasprintf("%s, certificate %" PRId64 " days", pi->summary, days);
			free(pi->summary);
			pi->summary = s2;
			enum probe_state s = left <= 0 || days < crit_days ? PROBE_CRIT :
					     days < warn_days ? PROBE_WARN : PROBE_OK;
			if (s != PROBE_OK)
				add_problem(pi, s, left <= 0 ?
					    xasprintf("certificate expired %" PRId64 " days ago", -days) :
					    xasprintf("certificate expires in %" PRId64 " days", days));
		}
		if (rank(pi->state) > rank(r->state))
			r->state = pi->state;
	}
}

struct bal_req {
	int done;
	enum http_err err;
	char errmsg[256];
	int64_t expiry_s;
	char tls[16];
};

static void bal_done(void *ud, const struct http_response *resp)
{
	struct bal_req *b = ud;
	b->done = 1;
	b->err = resp->err;
	snprintf(b->errmsg, sizeof(b->errmsg), "%.200s", resp->errmsg);
	b->expiry_s = resp->cert_expiry_s;
	snprintf(b->tls, sizeof(b->tls), "%s", resp->tls_version);
}

void probe_balancer_cert(struct http_engine *e, const char *url, int64_t timeout_ns,
			 int warn_days, int crit_days, int64_t now_s, struct probe_result *r)
{
	struct probe_balancer *pb = &r->balancer;
	struct bal_req b = { 0 };
	char err[ERR_MAX];
	memset(pb, 0, sizeof(*pb));
	pb->checked = 1;
	snprintf(pb->url, sizeof(pb->url), "%s", url);
	struct http_req q = {
		.url = url, .timeout_ns = timeout_ns, .max_body = 65536, .certinfo = 1,
		.on_done = bal_done, .ud = &b,
	};
	if (http_submit(e, &q, err) < 0) {
		pb->state = PROBE_UNKNOWN;
		snprintf(pb->problem, sizeof(pb->problem), "%.200s", err);
	} else {
		http_run(e, mono_ns() + timeout_ns + 1000000000LL);
		snprintf(pb->tls_version, sizeof(pb->tls_version), "%s", b.tls);
		if (!b.done || b.err == HTTP_E_TLS || (b.err != HTTP_OK && !b.expiry_s)) {
			/* no handshake, or no certificate read: the balancer's TLS is not checked */
			pb->state = b.err == HTTP_E_TLS ? PROBE_CRIT : PROBE_UNKNOWN;
			snprintf(pb->problem, sizeof(pb->problem), "certificate not checked: %s",
				 b.done ? text_sanitize(b.errmsg, sizeof(b.errmsg), b.errmsg) :
					  "no answer");
		} else if (!b.expiry_s) {
			pb->state = PROBE_UNKNOWN;
			snprintf(pb->problem, sizeof(pb->problem),
				 "certificate: its expiry date could not be read");
		} else {
			int64_t left = b.expiry_s - now_s;
			pb->days = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
			pb->has_days = 1;
			pb->state = left <= 0 || pb->days < crit_days ? PROBE_CRIT :
				    pb->days < warn_days ? PROBE_WARN : PROBE_OK;
			if (left <= 0)
				snprintf(pb->problem, sizeof(pb->problem),
					 "certificate expired %" PRId64 " days ago", -pb->days);
			else if (pb->state != PROBE_OK)
				snprintf(pb->problem, sizeof(pb->problem),
					 "certificate expires in %" PRId64 " days", pb->days);
			if (pb->state == PROBE_OK &&
			    (!strcmp(b.tls, "TLSv1") || !strcmp(b.tls, "TLSv1.1") || !strncmp(b.tls, "SSL", 3))) {
				pb->state = PROBE_WARN;
				snprintf(pb->problem, sizeof(pb->problem), "%s is obsolete (TLS 1.2 or later)",
					 b.tls);
			}
		}
	}
	if (rank(pb->state) > rank(r->state))
		r->state = pb->state;
}
