/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fetch and parse a Prometheus exposition (dcgm-exporter, node_exporter) for GPU figures. */
#include "../compat.h"
#include "metrics.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/http.h"
#include "../util/util.h"
#include "../banned.h"

#define LABEL_MAX 8

struct label {
	char name[32];
	char value[64];
};

struct sample {
	char name[128];
	struct label labels[LABEL_MAX];
	size_t nlabels;
	double value;
};

static int name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(int c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Parse `{a="x",b="y"}` starting at p ('{'); returns the position after '}' or NULL. */
static const char *parse_labels(const char *p, const char *end, struct sample *s)
{
	p++;
	for (;;) {
		p = skip_ws(p, end);
		if (p < end && *p == '}')
			return p + 1;
		if (p >= end || !name_start((unsigned char)*p))
			return NULL;
		struct label dummy, *l = s->nlabels < LABEL_MAX ? &s->labels[s->nlabels] : &dummy;
		size_t n = 0;
		while (p < end && name_char((unsigned char)*p)) {
			if (n + 1 < sizeof(l->name))
				l->name[n++] = *p;
			p++;
		}
		l->name[n] = '\0';
		p = skip_ws(p, end);
		if (p >= end || *p != '=')
			return NULL;
		p = skip_ws(p + 1, end);
		if (p >= end || *p != '"')
			return NULL;
		p++;
		n = 0;
		while (p < end && *p != '"') {
			char c = *p;
			if (c == '\\') {
				if (p + 1 >= end)
					return NULL;
				c = p[1] == 'n' ? '\n' : p[1];
				p++;
			}
			if (n + 1 < sizeof(l->value))
				l->value[n++] = c;
			p++;
		}
		if (p >= end)
			return NULL;
		l->value[n] = '\0';
		p++;
		if (l != &dummy)
			s->nlabels++;
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p++;
		else if (p < end && *p == '}')
			return p + 1;
		else
			return NULL;
	}
}

/* Parse one sample line; returns 0, or -1 when malformed. */
static int parse_line(const char *p, const char *end, struct sample *s)
{
	memset(s, 0, sizeof(*s));
	if (p >= end || !name_start((unsigned char)*p))
		return -1;
	size_t n = 0;
	while (p < end && name_char((unsigned char)*p)) {
		if (n + 1 >= sizeof(s->name))
			return -1;
		s->name[n++] = *p++;
	}
	s->name[n] = '\0';
	if (p < end && *p == '{') {
		p = parse_labels(p, end, s);
		if (!p)
			return -1;
	}
	const char *v = skip_ws(p, end);
	if (v == p && p < end)
		return -1; /* no separator between name and value */
	char num[64];
	n = 0;
	while (v < end && *v != ' ' && *v != '\t') {
		if (n + 1 >= sizeof(num))
			return -1;
		num[n++] = *v++;
	}
	num[n] = '\0';
	if (!n)
		return -1;
	/* the exposition uses '.', whatever LC_NUMERIC says */
	static locale_t c_locale;
	if (!c_locale)
		c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	char *ep;
	s->value = c_locale ? strtod_l(num, &ep, c_locale) : strtod(num, &ep);
	if (*ep)
		return -1;
	/* an optional integer timestamp, then nothing */
	v = skip_ws(v, end);
	if (v < end) {
		if (*v == '-')
			v++;
		while (v < end && *v >= '0' && *v <= '9')
			v++;
		v = skip_ws(v, end);
		if (v < end)
			return -1;
	}
	return 0;
}

static const char *label_of(const struct sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].name, name))
			return s->labels[i].value;
	return NULL;
}

static struct metrics_gpu *gpu_slot(struct metrics *m, const struct sample *s)
{
	const char *id = label_of(s, "gpu");
	char clean[16];
	text_sanitize(clean, sizeof(clean), id ? id : "0");
	for (size_t i = 0; i < m->ngpu; i++)
		if (!strcmp(m->gpu[i].id, clean))
			return &m->gpu[i];
	if (m->ngpu == METRICS_GPU_MAX)
		return NULL;
	struct metrics_gpu *g = &m->gpu[m->ngpu++];
	memset(g, 0, sizeof(*g));
	snprintf(g->id, sizeof(g->id), "%s", clean);
	const char *model = label_of(s, "modelName");
	if (model)
		text_sanitize(g->model, sizeof(g->model), model);
	return g;
}

static void apply(struct metrics *m, const struct sample *s)
{
	static const struct {
		const char *name;
		unsigned flag;
		size_t off;
	} dcgm[] = {
		{ "DCGM_FI_DEV_GPU_UTIL", METRICS_UTIL, offsetof(struct metrics_gpu, util) },
		{ "DCGM_FI_DEV_FB_USED", METRICS_FB_USED, offsetof(struct metrics_gpu, fb_used_mib) },
		{ "DCGM_FI_DEV_FB_FREE", METRICS_FB_FREE, offsetof(struct metrics_gpu, fb_free_mib) },
		{ "DCGM_FI_DEV_GPU_TEMP", METRICS_TEMP, offsetof(struct metrics_gpu, temp_c) },
		{ "DCGM_FI_DEV_POWER_USAGE", METRICS_POWER, offsetof(struct metrics_gpu, power_w) },
	};
	if (!isfinite(s->value))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(dcgm); i++) {
		if (strcmp(s->name, dcgm[i].name))
			continue;
		struct metrics_gpu *g = gpu_slot(m, s);
		if (!g)
			return;
		memcpy((char *)g + dcgm[i].off, &s->value, sizeof(double));
		g->has |= dcgm[i].flag;
		m->nsamples++;
		return;
	}
	if (!strcmp(s->name, "node_memory_MemTotal_bytes")) {
		m->mem_total_bytes = s->value;
		m->has_mem |= 1;
		m->nsamples++;
	} else if (!strcmp(s->name, "node_memory_MemAvailable_bytes")) {
		m->mem_avail_bytes = s->value;
		m->has_mem |= 2;
		m->nsamples++;
	}
}

int metrics_parse(const char *text, size_t len, struct metrics *out, char *err)
{
	memset(out, 0, sizeof(*out));
	const char *p = text, *end = text + len;
	size_t nlines = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *s = skip_ws(p, le);
		const char *e = le;
		while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (s < e && *s != '#') {
			struct sample smp;
			nlines++;
			if (parse_line(s, e, &smp) < 0)
				out->nmalformed++;
			else
				apply(out, &smp);
		}
		p = nl ? nl + 1 : end;
	}
	out->has_mem = out->has_mem == 3;
	if (out->nsamples == 0 && out->nmalformed > 0)
		return seterr(err, "not a Prometheus exposition (%zu malformed line%s)",
			      out->nmalformed, out->nmalformed == 1 ? "" : "s");
	(void)nlines;
	return 0;
}

double metrics_util_avg(const struct metrics *m)
{
	double sum = 0;
	int n = 0;
	for (size_t i = 0; i < m->ngpu; i++)
		if (m->gpu[i].has & METRICS_UTIL) {
			sum += m->gpu[i].util;
			n++;
		}
	return n ? sum / n : -1;
}

static double sum_of(const struct metrics *m, unsigned flag, size_t off)
{
	double sum = 0;
	int n = 0;
	for (size_t i = 0; i < m->ngpu; i++)
		if (m->gpu[i].has & flag) {
			double v;
			memcpy(&v, (const char *)&m->gpu[i] + off, sizeof(v));
			sum += v;
			n++;
		}
	return n ? sum : -1;
}

double metrics_fb_used_mib(const struct metrics *m)
{
	return sum_of(m, METRICS_FB_USED, offsetof(struct metrics_gpu, fb_used_mib));
}

double metrics_fb_total_mib(const struct metrics *m)
{
	double used = metrics_fb_used_mib(m);
	double fr = sum_of(m, METRICS_FB_FREE, offsetof(struct metrics_gpu, fb_free_mib));
	if (used < 0 || fr < 0)
		return -1;
	return used + fr;
}

double metrics_temp_max(const struct metrics *m)
{
	double mx = -1;
	for (size_t i = 0; i < m->ngpu; i++)
		if ((m->gpu[i].has & METRICS_TEMP) && m->gpu[i].temp_c > mx)
			mx = m->gpu[i].temp_c;
	return mx;
}

double metrics_power_sum(const struct metrics *m)
{
	return sum_of(m, METRICS_POWER, offsetof(struct metrics_gpu, power_w));
}

struct fetch {
	void (*cb)(void *ud, int ok, const struct metrics *m, const char *msg);
	void *ud;
};

static void on_metrics(void *ud, const struct http_response *r)
{
	struct fetch *f = ud;
	struct metrics *m = xcalloc(1, sizeof(*m));
	char msg[ERR_MAX];
	if (r->err != HTTP_OK) {
		snprintf(msg, sizeof(msg), "%s", r->errmsg[0] ? r->errmsg : http_err_name(r->err));
		f->cb(f->ud, 0, m, msg);
	} else if (r->status != 200) {
		snprintf(msg, sizeof(msg), "HTTP %ld", r->status);
		f->cb(f->ud, 0, m, msg);
	} else if (metrics_parse(r->body.data ? r->body.data : "", r->body.len, m, msg) < 0) {
		f->cb(f->ud, 0, m, msg);
	} else {
		f->cb(f->ud, 1, m, "");
	}
	free(m);
	free(f);
}

long metrics_fetch(struct http_engine *e, const char *url, int64_t timeout_ns,
		   void (*cb)(void *ud, int ok, const struct metrics *m, const char *msg),
		   void *ud, char *err)
{
	struct fetch *f = xcalloc(1, sizeof(*f));
	f->cb = cb;
	f->ud = ud;
	struct http_req hr = { 0 };
	hr.method = "GET";
	hr.url = url;
	hr.accept = "text/plain";
	hr.timeout_ns = timeout_ns;
	hr.max_body = 8u * 1024 * 1024;
	hr.on_done = on_metrics;
	hr.ud = f;
	long id = http_submit(e, &hr, err);
	if (id < 0)
		free(f);
	return id;
}
