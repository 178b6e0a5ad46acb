/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Certificate expiry of https instances, as check_http -C does it: days left against W,C. */
#include "../compat.h"
#include "probe.h"
#include "fleet.h"

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
