/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Service level objectives and the cost of output tokens: parsing, checks, capacity. */
#include "../compat.h"
#include "slo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static const char *const names[SLO_NKEYS] = {
	[SLO_TTFT_P95] = "ttft_p95", [SLO_TTFT_P99] = "ttft_p99", [SLO_ITL_P99] = "itl_p99",
	[SLO_TPOT_P95] = "tpot_p95", [SLO_E2E_P95] = "e2e_p95",   [SLO_E2E_P99] = "e2e_p99",
	[SLO_ERROR_RATE] = "error_rate",
};

const char *slo_key_name(enum slo_key k)
{
	return (unsigned)k < SLO_NKEYS ? names[k] : "?";
}

const char *slo_key_list(void)
{
	return "ttft_p95, ttft_p99, itl_p99, tpot_p95, e2e_p95, e2e_p99, error_rate";
}

int slo_key_parse(const char *s, enum slo_key *k)
{
	for (int i = 0; i < SLO_NKEYS; i++)
		if (!strcmp(s, names[i])) {
			*k = (enum slo_key)i;
			return 0;
		}
	return -1;
}

int slo_value_parse(enum slo_key k, const char *v, double *out, char *err)
{
	if (k == SLO_ERROR_RATE) {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		int pct = *end == '%';
		if (pct)
			end++;
		if (end == v || *end || errno || !isfinite(d))
			return seterr(err, "'%s' is not a fraction (0.01) or a percentage (1%%)", v);
		if (pct)
			d /= 100;
		if (d < 0 || d > 1)
			return seterr(err, "'%s' is not from 0 to 1 (0%% to 100%%)", v);
		*out = d;
		return 0;
	}
	int64_t ns;
	char e[ERR_MAX];
	if (units_parse_duration(v, &ns, 0, e) < 0)
		return seterr(err, "%s", e);
	if (ns <= 0)
		return seterr(err, "'%s' must be a duration above zero", v);
	*out = (double)ns;
	return 0;
}

int slo_set_assign(struct slo_set *s, const char *kv, char *err)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return seterr(err, "'%s' is not KEY=VALUE (KEY one of %s)", kv, slo_key_list());
	char key[32];
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	enum slo_key k;
	if ((size_t)(eq - kv) >= sizeof(key) || slo_key_parse(key, &k) < 0)
		return seterr(err, "unknown SLO '%.*s' (expected %s)", (int)(eq - kv), kv,
			      slo_key_list());
	char e[ERR_MAX];
	double v;
	if (slo_value_parse(k, eq + 1, &v, e) < 0)
		return seterr(err, "%s: %s", key, e);
	s->mask |= 1u << k;
	s->limit[k] = v;
	return 0;
}

char *slo_fmt_value(enum slo_key k, double v, char *out, size_t n)
{
	if (k == SLO_ERROR_RATE) {
		double pct = v * 100;
		snprintf(out, n, pct == floor(pct) ? "%.0f%%" : pct >= 1 ? "%.1f%%" : "%.2f%%", pct);
		return out;
	}
	return units_fmt_duration((int64_t)llround(v), out, n);
}

void slo_check(const struct slo_set *s, const struct slo_point *p, struct slo_verdict *v)
{
	memset(v, 0, sizeof(*v));
	for (int k = 0; k < SLO_NKEYS; k++) {
		if (!(s->mask & (1u << k))) {
			v->state[k] = SLO_UNSET;
			continue;
		}
		if (k == SLO_ERROR_RATE) {
			int over = p->ok + p->failed == 0 || p->value[k] > s->limit[k];
			v->state[k] = over ? SLO_BREACHED : SLO_HOLDS;
		} else if (!p->ok) {
			v->state[k] = SLO_BREACHED;
		} else if (!p->has[k]) {
			v->state[k] = SLO_NA;
		} else {
			v->state[k] = p->value[k] > s->limit[k] ? SLO_BREACHED : SLO_HOLDS;
		}
		if (v->state[k] == SLO_BREACHED)
			v->breached |= 1u << k;
	}
	v->all_hold = !v->breached && p->ok > 0;
}

int slo_capacity(const struct slo_set *s, const struct slo_point *p, size_t n)
{
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		struct slo_verdict v;
		slo_check(s, &p[i], &v);
		if (v.all_hold && (best < 0 || p[i].x > p[best].x))
			best = (int)i;
	}
	return best;
}

double slo_cost_per_1m(double hour_cost, double tok_s)
{
	if (!(tok_s > 0) || !isfinite(tok_s))
		return -1;
	return hour_cost / (tok_s * 3600.0) * 1e6;
}

double slo_break_even(double hour_cost, double tok_s, double cloud_per_1m)
{
	if (!(tok_s > 0) || !(cloud_per_1m > 0))
		return -1;
	return hour_cost * 1e6 / (tok_s * 3600.0 * cloud_per_1m);
}
