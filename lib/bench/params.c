/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The params document of a bench run, read back; whether two runs are alike. */
#include "../compat.h"
#include "params.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../util/buf.h"
#include "../banned.h"

static const cJSON *jget(const cJSON *o, const char *k)
{
	return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static void jstr(const cJSON *o, const char *k, char *out, size_t n)
{
	const cJSON *v = jget(o, k);
	snprintf(out, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static void goals_read(const cJSON *goals, struct bench_goals *g)
{
	const cJSON *slo = jget(goals, "slo");
	for (int k = 0; k < SLO_NKEYS; k++) {
		char key[40];
		snprintf(key, sizeof(key), "%s%s", slo_key_name(k), k == SLO_ERROR_RATE ? "" : "_ns");
		const cJSON *v = jget(slo, key);
		if (cJSON_IsNumber(v) && v->valuedouble >= 0) {
			g->slo.mask |= 1u << k;
			g->slo.limit[k] = v->valuedouble;
		}
	}
	const cJSON *mc = jget(goals, "min_capacity");
	if (cJSON_IsNumber(mc) && mc->valuedouble > 0)
		g->min_capacity = mc->valuedouble;
	const cJSON *c = jget(goals, "cost"), *h = jget(c, "hour");
	if (cJSON_IsNumber(h) && h->valuedouble >= 0) {
		g->has_cost = 1;
		g->hour = h->valuedouble;
		const cJSON *ni = jget(c, "instances"), *cl = jget(c, "cloud_per_1m_output");
		g->instances = cJSON_IsNumber(ni) ? (int)ni->valuedouble : 0;
		if (cJSON_IsNumber(cl) && cl->valuedouble > 0) {
			g->has_cloud = 1;
			g->cloud_per_1m = cl->valuedouble;
		}
	}
}

int bench_params_parse(const char *params, struct bench_params *p)
{
	memset(p, 0, sizeof(*p));
	cJSON *o = params ? cJSON_Parse(params) : NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -1;
	}
	jstr(o, "mode", p->mode, sizeof(p->mode));
	jstr(o, "api", p->api, sizeof(p->api));
	jstr(o, "endpoint", p->endpoint, sizeof(p->endpoint));
	jstr(o, "model", p->model, sizeof(p->model));
	jstr(o, "instance", p->instance, sizeof(p->instance));
	p->each = cJSON_IsTrue(jget(o, "each"));
	const cJSON *it;
	cJSON_ArrayForEach(it, jget(o, "levels"))
		if (cJSON_IsNumber(it) && p->nlevels < 64)
			p->levels[p->nlevels++] = it->valuedouble;
	const cJSON *slo = jget(o, "slo_ns");
	if (cJSON_IsNumber(slo) && fabs(slo->valuedouble) < 9e18)
		p->slo_ns = (int64_t)slo->valuedouble;
	goals_read(jget(o, "goals"), &p->goals);
	cJSON_Delete(o);
	return 0;
}

static const char *kind_of(const struct bench_params *p, char *out, size_t n)
{
	if (p->each)
		snprintf(out, n, "--each");
	else if (p->instance[0])
		snprintf(out, n, "--instance %s", p->instance);
	else
		snprintf(out, n, "the whole target");
	return out;
}

static void levels_of(const struct bench_params *p, struct buf *b)
{
	for (size_t i = 0; i < p->nlevels; i++)
		buf_addf(b, "%s%g", i ? "," : "", p->levels[i]);
}

int bench_params_mismatch(const struct bench_params *a, const char *target_a,
			  const struct bench_params *b, const char *target_b, char *why, size_t n)
{
	char ka[96], kb[96];
	why[0] = '\0';
	if (strcmp(a->api, b->api) || strcmp(a->endpoint, b->endpoint))
		snprintf(why, n, "they bench different APIs (%s%s%s vs %s%s%s)", a->api,
			 a->endpoint[0] ? " " : "", a->endpoint, b->api, b->endpoint[0] ? " " : "",
			 b->endpoint);
	else if (a->each != b->each || strcmp(a->instance, b->instance))
		snprintf(why, n, "they load different kinds of target (%s vs %s)",
			 kind_of(a, ka, sizeof(ka)), kind_of(b, kb, sizeof(kb)));
	else if (strcmp(a->mode, b->mode))
		snprintf(why, n, "one is a %s-loop run, the other a %s-loop run", a->mode, b->mode);
	else if (strcmp(target_a ? target_a : "", target_b ? target_b : ""))
		snprintf(why, n, "they ran against different targets (%s vs %s)",
			 target_a ? target_a : "-", target_b ? target_b : "-");
	else {
		int same = a->nlevels == b->nlevels;
		for (size_t i = 0; same && i < a->nlevels; i++)
			same = a->levels[i] == b->levels[i];
		if (!same) {
			struct buf la = BUF_INIT, lb = BUF_INIT;
			levels_of(a, &la);
			levels_of(b, &lb);
			snprintf(why, n, "their steps differ (%s vs %s)", buf_str(&la), buf_str(&lb));
			buf_release(&la);
			buf_release(&lb);
		}
	}
	return why[0] != '\0';
}
