/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The attribution, weights, backup and length checks. */
#include "../compat.h"
#include "route-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fleet/fleet.h"
#include "../stats/chi2.h"
#include "../util/util.h"
#include "../banned.h"

#define SEC 1000000000LL

static int is_primary(const struct rt *t, size_t i)
{
	return !t->f->instances[i].backup;
}

static size_t count_primaries(const struct rt *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->f->ninstances; i++)
		n += is_primary(t, i);
	return n;
}

/* "gpu-1 150, gpu-2 50" from per-instance counts. */
static void counts_line(const struct rt *t, const uint64_t *obs, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < t->f->ninstances && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s %" PRIu64, len ? ", " : "",
					t->f->instances[i].name, obs[i]);
}

void rt_check_attribution(struct rt *t)
{
	const enum route_check C = ROUTE_ATTRIBUTION;
	size_t n = t->c->n < 20 ? (size_t)t->c->n : 20;
	if (t->rep->method == ROUTE_BY_EXPIRY && n > 10)
		n = 10;
	uint64_t *obs = xcalloc(t->f->ninstances + 1, sizeof(uint64_t));
	uint64_t ok = 0, unattr = 0, failed = 0;
	char last_value[256] = "", cls[64] = "";
	struct rt_reply p;
	rt_reply_init(&p);
	for (size_t k = 0; k < n && !rt_stopped(t); k++) {
		int i = rt_probe(t, &p);
		if (i == -2) {
			failed++;
			rt_error_class(&p, cls, sizeof(cls));
			continue;
		}
		ok++;
		if (i >= 0)
			obs[i]++;
		else
			unattr++, snprintf(last_value, sizeof(last_value), "%s", p.hval);
	}
	rt_reply_release(&p);
	char counts[512];
	counts_line(t, obs, counts, sizeof(counts));
	if (t->rep->method == ROUTE_BY_HEADER)
		rt_detail(t, C, "method: response header %s", t->rep->header);
	else
		rt_detail(t, C, "method: /api/ps expires_at of %s (no X-Upstream, X-Server, "
			  "X-Olla-Endpoint or x-litellm-model-api-base header; one request at a time)",
			  t->model);
	rt_detail(t, C, "%" PRIu64 " requests: %s; %" PRIu64 " unattributed, %" PRIu64 " failed",
		  ok + failed, counts, unattr, failed);
	buf_addf(&t->rep->r[C].json, "{\"requests\":%zu,\"ok\":%" PRIu64 ",\"unattributed\":%" PRIu64
		 ",\"failed\":%" PRIu64 "}", n, ok, unattr, failed);
	if (!ok)
		rt_result(t, C, ROUTE_FAIL, "no request through the balancer succeeded (%s)", cls);
	else if (unattr)
		rt_result(t, C, ROUTE_FAIL, "%" PRIu64 " of %" PRIu64 " requests could not be traced "
			  "to an instance%s%s%s", unattr, ok, last_value[0] ? " (header value '" : "",
			  last_value, last_value[0] ? "' names none)" : "");
	else
		rt_result(t, C, ROUTE_PASS, "every request traced to an instance by %s",
			  t->rep->method == ROUTE_BY_HEADER ? t->rep->header : "expires_at");
	free(obs);
}

void rt_check_weights(struct rt *t)
{
	const enum route_check C = ROUTE_WEIGHTS;
	const struct fleet *f = t->f;
	size_t np = count_primaries(t);
	uint64_t *obs = xcalloc(f->ninstances + 1, sizeof(uint64_t));
	uint64_t failed = 0, unattr = 0, backup = 0, ok = 0;
	struct rt_reply p;
	rt_reply_init(&p);
	for (int k = 0; k < t->c->n && !rt_stopped(t); k++) {
		if (k % 20 == 0)
			rt_progress(t, "weights: %d/%d", k, t->c->n);
		int i = rt_probe(t, &p);
		if (i == -2) {
			failed++;
			continue;
		}
		ok++;
		if (i < 0) {
			unattr++;
			continue;
		}
		obs[i]++;
		backup += !is_primary(t, (size_t)i);
	}
	rt_reply_release(&p);
	t->have_sample = 1;
	t->sample_backup = backup;
	t->sample_total = ok;

	/* the primaries' counts against their weights */
	uint64_t *po = xcalloc(np + 1, sizeof(uint64_t));
	double *pw = xcalloc(np + 1, sizeof(double));
	struct route_result *r = &t->rep->r[C];
	r->bars = xcalloc(np + 1, sizeof(*r->bars));
	double wsum = 0;
	uint64_t psum = 0;
	for (size_t i = 0, k = 0; i < f->ninstances; i++)
		if (is_primary(t, i)) {
			po[k] = obs[i];
			pw[k] = f->instances[i].weight;
			wsum += pw[k];
			psum += po[k];
			snprintf(r->bars[k].name, sizeof(r->bars[k].name), "%s", f->instances[i].name);
			r->bars[k++].count = obs[i];
		}
	r->nbars = np;
	for (size_t k = 0; k < np; k++) {
		r->bars[k].expected = pw[k] / wsum;
		r->bars[k].observed = psum ? (double)po[k] / (double)psum : 0;
		rt_detail(t, C, "%-16s weight %4.0f  expected %5.1f%%  observed %5.1f%% (%" PRIu64 ")",
			  r->bars[k].name, pw[k], 100 * r->bars[k].expected,
			  100 * r->bars[k].observed, po[k]);
	}
	rt_detail(t, C, "%" PRIu64 " requests: %" PRIu64 " to primaries, %" PRIu64 " to backups, %"
		  PRIu64 " unattributed, %" PRIu64 " failed", ok + failed, psum, backup, unattr,
		  failed);
	struct chi2_result cr;
	buf_addf(&r->json, "{\"requests\":%d,\"primaries\":%" PRIu64 ",\"backups\":%" PRIu64
		 ",\"unattributed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"alpha\":%g", t->c->n, psum,
		 backup, unattr, failed, t->c->alpha);
	if (np < 2) {
		rt_result(t, C, ROUTE_SKIP, "%zu primary instance: no shares to compare", np);
	} else if (chi2_gof(po, pw, np, &cr) < 0) {
		rt_result(t, C, ROUTE_FAIL, "no request reached a primary (%" PRIu64 " failed, %"
			  PRIu64 " unattributed)", failed, unattr);
	} else {
		buf_addf(&r->json, ",\"chi2\":%.4f,\"df\":%d,\"p_value\":%.6g", cr.stat, cr.df,
			 cr.p_value);
		enum route_outcome o = cr.p_value >= t->c->alpha ? ROUTE_PASS : ROUTE_FAIL;
		rt_result(t, C, o, "chi-square %.2f, df %d, p = %.3g %s %g: shares %s the weights",
			  cr.stat, cr.df, cr.p_value, o == ROUTE_PASS ? ">=" : "<", t->c->alpha,
			  o == ROUTE_PASS ? "follow" : "do not follow");
	}
	buf_adds(&r->json, "}");
	free(po);
	free(pw);
	free(obs);
}

/* Probe until `want` consecutive successes land where pred says, or until the deadline. */
static int probe_until(struct rt *t, int (*pred)(const struct rt *, int), int want,
		       int64_t deadline, int64_t *first_ok_ns, char *last_err, size_t n)
{
	struct rt_reply p;
	rt_reply_init(&p);
	int streak = 0;
	*first_ok_ns = 0;
	while (streak < want && mono_ns() < deadline && !rt_stopped(t)) {
		int i = rt_probe(t, &p);
		if (i >= 0 && pred(t, i)) {
			if (!*first_ok_ns)
				*first_ok_ns = mono_ns();
			streak++;
		} else {
			streak = 0;
			if (i == -2)
				rt_error_class(&p, last_err, n);
			else
				snprintf(last_err, n, "answered by %s",
					 i >= 0 ? t->f->instances[i].name : "an unknown instance");
			http_poll(t->e, 100000000LL, -1, NULL);
		}
	}
	rt_reply_release(&p);
	return streak >= want ? 0 : -1;
}

static int lands_on_backup(const struct rt *t, int i)
{
	return !is_primary(t, (size_t)i);
}

static int lands_on_primary(const struct rt *t, int i)
{
	return is_primary(t, (size_t)i);
}

void rt_check_backup(struct rt *t)
{
	const enum route_check C = ROUTE_BACKUP;
	const struct fleet *f = t->f;
	char err[ERR_MAX], last[128] = "";
	size_t nb = f->ninstances - count_primaries(t);
	if (!nb) {
		rt_result(t, C, ROUTE_SKIP, "no backup instance in the fleet file");
		return;
	}
	if (!t->have_sample) {
		struct rt_reply p;
		rt_reply_init(&p);
		for (int k = 0; k < 20 && !rt_stopped(t); k++) {
			int i = rt_probe(t, &p);
			t->sample_total += i != -2;
			t->sample_backup += i >= 0 && !is_primary(t, (size_t)i);
		}
		rt_reply_release(&p);
		t->have_sample = 1;
	}
	rt_detail(t, C, "every primary up: %" PRIu64 " of %" PRIu64 " requests reached a backup",
		  t->sample_backup, t->sample_total);
	buf_addf(&t->rep->r[C].json, "{\"backup_while_up\":%" PRIu64 ",\"sample\":%" PRIu64,
		 t->sample_backup, t->sample_total);
	if (t->sample_backup) {
		buf_adds(&t->rep->r[C].json, "}");
		rt_result(t, C, ROUTE_FAIL, "%" PRIu64 " of %" PRIu64 " requests reached a backup "
			  "while every primary was up", t->sample_backup, t->sample_total);
		return;
	}
	if (t->down_how == RT_DOWN_NONE) {
		buf_adds(&t->rep->r[C].json, "}");
		rt_result(t, C, ROUTE_SKIP, "no request reached a backup while the primaries were "
			  "up; the outage part needs --down-cmd/--up-cmd (or an obridge sim fleet)");
		return;
	}
	/* every primary down: the backups must take the traffic */
	int64_t t0 = mono_ns(), first = 0, back = 0;
	for (size_t i = 0; i < f->ninstances; i++)
		if (is_primary(t, i) && rt_set_up(t, i, 0, err) < 0) {
			buf_adds(&t->rep->r[C].json, "}");
			rt_result(t, C, ROUTE_FAIL, "could not take %s down: %s", f->instances[i].name,
				  err);
			return;
		}
	t0 = mono_ns();
	int took = probe_until(t, lands_on_backup, 5, t0 + 30 * SEC, &first, last, sizeof(last));
	if (took == 0)
		rt_detail(t, C, "every primary down: a backup answered after %.2fs",
			  (first - t0) / 1e9);
	/* back up: the primaries must get the traffic again */
	int64_t t1 = 0;
	int returned = -1;
	if (took == 0) {
		for (size_t i = 0; i < f->ninstances; i++)
			if (is_primary(t, i) && rt_set_up(t, i, 1, err) < 0)
				rt_detail(t, C, "could not bring %s back: %s", f->instances[i].name, err);
		t1 = mono_ns();
		returned = probe_until(t, lands_on_primary, 1, t1 + 60 * SEC, &back, last,
				       sizeof(last));
		if (returned == 0)
			rt_detail(t, C, "primaries back up: traffic returned to them after %.2fs",
				  (back - t1) / 1e9);
	}
	buf_addf(&t->rep->r[C].json, ",\"backup_after_s\":%.3f,\"return_after_s\":%.3f}",
		 took == 0 ? (first - t0) / 1e9 : -1.0, returned == 0 ? (back - t1) / 1e9 : -1.0);
	if (took < 0)
		rt_result(t, C, ROUTE_FAIL, "with every primary down no backup took the traffic "
			  "within 30s (last: %s)", last);
	else if (returned < 0)
		rt_result(t, C, ROUTE_FAIL, "traffic did not return to the primaries within 60s of "
			  "their return (last: %s)", last);
	else
		rt_result(t, C, ROUTE_PASS, "backups only on outage: none while the primaries were "
			  "up, after %.2fs with them down, primaries again %.2fs after their return",
			  (first - t0) / 1e9, (back - t1) / 1e9);
}

/* A body of exactly size bytes for the length check, or -1 when size is too small. */
static int sized_body(const struct rt *t, size_t size, struct buf *out)
{
	struct buf skel = BUF_INIT;
	buf_reset(out);
	if (t->rep->method == ROUTE_BY_EXPIRY)
		rt_generate_body(t, &skel, "", 0, 1);
	else {
		buf_adds(&skel, "{\"model\":");
		buf_add_json_str(&skel, t->model);
		buf_adds(&skel, ",\"system\":\"\"}");
	}
	/* the padding goes between the quotes of the empty prompt/system string */
	const char *s = buf_str(&skel);
	const char *hole = strstr(s, t->rep->method == ROUTE_BY_EXPIRY ? "\"prompt\":\"\"" :
									 "\"system\":\"\"");
	if (!hole || size < skel.len) {
		buf_release(&skel);
		return -1;
	}
	size_t at = (size_t)(hole - s) + (t->rep->method == ROUTE_BY_EXPIRY ? 10 : 10);
	buf_add(out, s, at);
	for (size_t k = 0; k < size - skel.len; k++)
		buf_add(out, "x", 1);
	buf_adds(out, s + at);
	buf_release(&skel);
	return 0;
}

static int in_group(const struct rt *t, size_t i, const char *g)
{
	const char *ig = t->f->instances[i].group;
	return ig && !strcmp(ig, g);
}

void rt_check_length(struct rt *t)
{
	const enum route_check C = ROUTE_LENGTH;
	const struct fleet *f = t->f;
	int64_t T = f->long_prompt_bytes;
	const char *g = f->long_group;
	if (!T || !g) {
		rt_result(t, C, ROUTE_SKIP, "no [route] long_prompt_bytes and long_group in the "
			  "fleet file");
		return;
	}
	int outside = 0; /* a primary outside the long group: short bodies can go there */
	for (size_t i = 0; i < f->ninstances; i++)
		outside |= is_primary(t, i) && !in_group(t, i, g);
	int64_t sizes[] = { T / 2, T - 1, T, T + 1, 2 * T };
	int reps = t->rep->method == ROUTE_BY_EXPIRY ? 3 : 10;
	const char *path = t->rep->method == ROUTE_BY_EXPIRY ? "/api/generate" : "/api/show";
	char bad[256] = "";
	int nbad = 0, tested = 0;
	struct buf body = BUF_INIT, *js = &t->rep->r[C].json;
	struct rt_reply p;
	rt_reply_init(&p);
	buf_addf(js, "{\"long_prompt_bytes\":%" PRId64 ",\"long_group\":", T);
	buf_add_json_str(js, g);
	buf_adds(js, ",\"sizes\":[");
	for (size_t s = 0; s < ARRAY_SIZE(sizes) && !rt_stopped(t); s++) {
		if (sizes[s] <= 0 || (s && sizes[s] == sizes[s - 1]) ||
		    sized_body(t, (size_t)sizes[s], &body) < 0)
			continue;
		int in = 0, out = 0, lost = 0;
		for (int k = 0; k < reps && !rt_stopped(t); k++) {
			int i = rt_probe_body(t, path, buf_str(&body), body.len, &p);
			/* /api/show of a model an instance lacks is a 404, still attributed */
			if (i == -2 && p.status > 0)
				i = rt_attribute(t, p.hval);
			if (i < 0)
				lost++;
			else if (in_group(t, (size_t)i, g))
				in++;
			else
				out++;
		}
		int above = sizes[s] > T;
		int wrong = above ? out > 0 || (!in && !out) : outside && !out && in > 0;
		rt_detail(t, C, "%7" PRId64 " bytes (%s): %d to %s, %d elsewhere, %d not traced%s",
			  sizes[s], above ? "above" : sizes[s] == T ? "at" : "below", in, g, out, lost,
			  wrong ? "  <- wrong" : "");
		buf_addf(js, "%s{\"bytes\":%" PRId64 ",\"long\":%d,\"other\":%d,\"untraced\":%d,"
			 "\"ok\":%s}", tested ? "," : "", sizes[s], in, out, lost,
			 wrong ? "false" : "true");
		tested++;
		if (wrong && !nbad++)
			snprintf(bad, sizeof(bad), "%" PRId64 "-byte bodies %s", sizes[s],
				 above ? (in || out ? "did not all go to the long group" :
						       "could not be traced") :
					 "all went to the long group");
	}
	buf_adds(js, "]}");
	rt_reply_release(&p);
	buf_release(&body);
	if (!tested)
		rt_result(t, C, ROUTE_SKIP, "long_prompt_bytes %" PRId64 " is below the smallest "
			  "request body", T);
	else if (nbad)
		rt_result(t, C, ROUTE_FAIL, "%s (long_prompt_bytes %" PRId64 ", group %s)", bad, T,
			  g);
	else
		rt_result(t, C, ROUTE_PASS, "bodies above %" PRId64 " bytes go to %s, the others "
			  "do not have to", T, g);
}
