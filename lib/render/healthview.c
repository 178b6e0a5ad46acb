/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The health view: Nagios, text, JSON and Prometheus forms of a check, and --history. */
#include "../compat.h"
#include "healthview.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nagios.h"
#include "prom.h"
#include "render.h"
#include "../fleet/fleet.h"
#include "../fleet/probe.h"
#include "../stats/threshold.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static const char *state_name(enum probe_state s)
{
	return nagios_state_name((enum nagios_state)s);
}

/* The Nagios exit status of a state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
static int exit_for(enum probe_state s)
{
	return s == PROBE_OK ? 0 : s == PROBE_WARN ? 1 : s == PROBE_CRIT ? 2 : 3;
}

static size_t count_up(const struct probe_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->inst[i].up;
	return n;
}

static void count_resident(const struct probe_result *r, size_t *res, size_t *req)
{
	*res = *req = 0;
	for (size_t i = 0; i < r->n; i++)
		for (size_t m = 0; m < r->inst[i].nmodels; m++) {
			const struct probe_model *pm = &r->inst[i].models[m];
			if (!pm->required)
				continue;
			(*req)++;
			*res += pm->resident;
		}
}

/* "balancer https://...: WARNING - TLSv1.3, certificate 9 days" (health --cert-days). */
static void balancer_line(FILE *out, const struct probe_result *r)
{
	const struct probe_balancer *b = &r->balancer;
	if (!b->checked)
		return;
	char *url = text_sanitize_dup(b->url), *pr = text_sanitize_dup(b->problem);
	fprintf(out, "balancer %s: %s - %s", url, state_name(b->state),
		b->tls_version[0] ? b->tls_version : "TLS version unknown");
	if (b->has_days)
		fprintf(out, ", certificate %" PRId64 " days", b->days);
	fprintf(out, "%s%s\n", pr[0] ? "; " : "", pr);
	free(url);
	free(pr);
}

void healthview_nagios(FILE *out, const struct probe_result *r, const struct nagios_range *warn,
		       const struct nagios_range *crit)
{
	struct buf line = BUF_INIT, perf = BUF_INIT;
	size_t up = count_up(r), res, req;
	count_resident(r, &res, &req);
	buf_addf(&line, "OBRIDGE %s - %zu/%zu up", state_name(r->state), up, r->n);
	if (r->level >= 2)
		buf_addf(&line, ", %zu/%zu models resident", res, req);
	int shown = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct probe_instance *pi = &r->inst[i];
		if (pi->state == PROBE_OK || !pi->nproblems)
			continue;
		if (shown++ == 3) {
			buf_adds(&line, "; ...");
			break;
		}
		buf_addf(&line, "; %s: %s", pi->in->name, pi->problems[0]);
	}
	if (r->balancer.checked && r->balancer.problem[0])
		buf_addf(&line, "; balancer: %s", r->balancer.problem);
	char total[16];
	snprintf(total, sizeof(total), "%zu", r->n);
	nagios_perfdata(&perf, "up", (double)up, NULL, NULL, NULL, "0", total);
	if (r->level >= 2) {
		snprintf(total, sizeof(total), "%zu", req);
		nagios_perfdata(&perf, "resident", (double)res, NULL, NULL, NULL, "0", total);
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct probe_instance *pi = &r->inst[i];
		if (!pi->up)
			continue;
		nagios_perfdata(&perf, pi->in->name, pi->latency_ns / 1e9, "s",
				warn->set ? warn->text : NULL, crit->set ? crit->text : NULL,
				"0", NULL);
	}
	char *first = text_sanitize_dup(buf_str(&line));
	/* '|' separates perfdata: keep it out of the text part */
	for (char *p = first; *p; p++)
		if (*p == '|')
			*p = '/';
	fprintf(out, "%s | %s\n", first, buf_str(&perf));
	free(first);
	for (size_t i = 0; i < r->n; i++) {
		const struct probe_instance *pi = &r->inst[i];
		char *s = text_sanitize_dup(pi->summary);
		fprintf(out, "%s: %s - %s\n", pi->in->name, state_name(pi->state), s);
		free(s);
		for (size_t k = 0; k < pi->nproblems; k++) {
			char *pl = text_sanitize_dup(pi->problems[k]);
			fprintf(out, "  %s\n", pl);
			free(pl);
		}
	}
	balancer_line(out, r);
	buf_release(&line);
	buf_release(&perf);
}

void healthview_text(FILE *out, const struct probe_result *r, const char *fleet_name, int color)
{
	size_t up = count_up(r), res, req;
	char t[32];
	count_resident(r, &res, &req);
	fprintf(out, "fleet %s: ", fleet_name);
	static const enum render_color colors[] = { COLOR_OK, COLOR_WARN, COLOR_CRIT, COLOR_WARN };
	render_colored(out, color, colors[r->state], state_name(r->state));
	fprintf(out, ", %zu/%zu up", up, r->n);
	if (r->level >= 2)
		fprintf(out, ", %zu/%zu models resident", res, req);
	fprintf(out, " (level %d, %s)\n\n", r->level, units_fmt_duration(r->elapsed_ns, t, sizeof(t)));
	static const char *const h[] = { "INSTANCE", "STATE", "LATENCY", "VERSION", "MODELS",
					 "PROBLEMS" };
	struct table tb;
	table_init(&tb, ARRAY_SIZE(h), h);
	table_set_align(&tb, 2, TABLE_RIGHT);
	for (size_t i = 0; i < r->n; i++) {
		const struct probe_instance *pi = &r->inst[i];
		size_t row = table_add_row(&tb);
		table_set(&tb, row, 0, "%s", pi->in->name);
		table_set(&tb, row, 1, "%s", pi->up ? state_name(pi->state) : "DOWN");
		table_set_color(&tb, row, 1, colors[pi->state]);
		table_set(&tb, row, 2, "%s", pi->up ? units_fmt_duration(pi->latency_ns, t, sizeof(t)) : "-");
		table_set(&tb, row, 3, "%s", pi->version[0] ? pi->version : "-");
		size_t r1 = 0, q1 = 0;
		for (size_t m = 0; m < pi->nmodels; m++)
			if (pi->models[m].required) {
				q1++;
				r1 += pi->models[m].resident;
			}
		if (r->level >= 2 && pi->up)
			table_set(&tb, row, 4, "%zu/%zu", r1, q1);
		else
			table_set(&tb, row, 4, "-");
		table_set(&tb, row, 5, "%s", pi->nproblems ? pi->problems[0] : "");
		for (size_t k = 1; k < pi->nproblems; k++) {
			size_t r2 = table_add_row(&tb);
			table_set(&tb, r2, 5, "%s", pi->problems[k]);
		}
	}
	table_print(&tb, out, color);
	table_release(&tb);
	if (r->balancer.checked) {
		fputc('\n', out);
		balancer_line(out, r);
	}
}

static void json_str(struct buf *b, const char *k, const char *v)
{
	buf_addf(b, "\"%s\":", k);
	if (v)
		buf_add_json_str(b, v);
	else
		buf_adds(b, "null");
}

char *healthview_json(const struct probe_result *r, const char *fleet_name)
{
	struct buf b = BUF_INIT;
	size_t up = count_up(r), res, req;
	count_resident(r, &res, &req);
	buf_adds(&b, "{");
	json_str(&b, "fleet", fleet_name);
	buf_addf(&b, ",\"state\":\"%s\",\"exit\":%d,\"level\":%d,\"up\":%zu,\"total\":%zu,"
		     "\"resident\":%zu,\"required\":%zu,\"elapsed_s\":%.6f,\"instances\":[",
		 state_name(r->state), exit_for(r->state), r->level, up, r->n, res, req,
		 r->elapsed_ns / 1e9);
	for (size_t i = 0; i < r->n; i++) {
		const struct probe_instance *pi = &r->inst[i];
		buf_adds(&b, i ? ",{" : "{");
		json_str(&b, "name", pi->in->name);
		buf_adds(&b, ",");
		json_str(&b, "url", pi->in->url);
		buf_addf(&b, ",\"state\":\"%s\",\"up\":%s,\"latency_s\":%.6f,", state_name(pi->state),
			 pi->up ? "true" : "false", pi->latency_ns / 1e9);
		json_str(&b, "version", pi->version[0] ? pi->version : NULL);
		buf_adds(&b, ",");
		json_str(&b, "error", pi->up ? NULL : pi->errmsg);
		buf_adds(&b, ",\"problems\":[");
		for (size_t k = 0; k < pi->nproblems; k++) {
			if (k)
				buf_adds(&b, ",");
			buf_add_json_str(&b, pi->problems[k]);
		}
		buf_adds(&b, "],\"models\":[");
		for (size_t m = 0; m < pi->nmodels; m++) {
			const struct probe_model *pm = &pi->models[m];
			buf_adds(&b, m ? ",{" : "{");
			json_str(&b, "name", pm->name);
			buf_addf(&b, ",\"required\":%s,\"installed\":%s,\"resident\":%s,",
				 pm->required ? "true" : "false", pm->installed ? "true" : "false",
				 pm->resident ? "true" : "false");
			json_str(&b, "digest", pm->digest[0] ? pm->digest : NULL);
			buf_addf(&b, ",\"digest_drift\":%s,\"digest_split\":%s,\"context_length\":%"
				     PRId64 ",\"size\":%" PRIu64 ",\"size_vram\":%" PRIu64,
				 pm->drift ? "true" : "false", pm->split ? "true" : "false",
				 pm->context_length, pm->size, pm->size_vram);
			if (pm->skipped)
				buf_adds(&b, ",\"probe\":{\"skipped\":true,\"reason\":\"not resident\"}");
			if (pm->probed) {
				buf_addf(&b, ",\"probe\":{\"ok\":%s,\"latency_s\":%.6f,"
					     "\"load_duration_s\":%.6f,\"cold\":%s,",
					 pm->gen_ok ? "true" : "false", pm->gen_ns / 1e9,
					 pm->load_ns / 1e9, pm->cold ? "true" : "false");
				json_str(&b, "error", pm->gen_ok ? NULL : pm->gen_err);
				buf_adds(&b, "}");
			}
			buf_adds(&b, "}");
		}
		buf_adds(&b, "]}");
	}
	buf_adds(&b, "]");
	if (r->balancer.checked) {
		const struct probe_balancer *pb = &r->balancer;
		buf_adds(&b, ",\"balancer\":{");
		json_str(&b, "url", pb->url);
		buf_addf(&b, ",\"state\":\"%s\",", state_name(pb->state));
		json_str(&b, "tls_version", pb->tls_version[0] ? pb->tls_version : NULL);
		if (pb->has_days)
			buf_addf(&b, ",\"cert_days_left\":%" PRId64, pb->days);
		buf_adds(&b, ",");
		json_str(&b, "problem", pb->problem[0] ? pb->problem : NULL);
		buf_adds(&b, "}");
	}
	buf_adds(&b, "}");
	return buf_detach(&b);
}

char *healthview_prom(const struct probe_result *r)
{
	struct buf b = BUF_INIT;
	prom_family(&b, "obridge_up", "gauge", "1 when the instance answered HEAD / with 200");
	for (size_t i = 0; i < r->n; i++) {
		const char *l[] = { "instance", r->inst[i].in->name, NULL };
		prom_sample(&b, "obridge_up", l, r->inst[i].up);
	}
	prom_family(&b, "obridge_health_state", "gauge",
		    "Nagios state of the instance: 0 ok, 1 warning, 2 critical, 3 unknown");
	for (size_t i = 0; i < r->n; i++) {
		const char *l[] = { "instance", r->inst[i].in->name, NULL };
		prom_sample(&b, "obridge_health_state", l, r->inst[i].state);
	}
	if (r->level >= 2) {
		prom_family(&b, "obridge_model_installed", "gauge",
			    "1 when the fleet's model is installed on the instance");
		for (size_t i = 0; i < r->n; i++)
			for (size_t m = 0; m < r->inst[i].nmodels; m++) {
				const struct probe_model *pm = &r->inst[i].models[m];
				if (!pm->required || !r->inst[i].up)
					continue;
				const char *l[] = { "instance", r->inst[i].in->name, "model", pm->name,
						    NULL };
				prom_sample(&b, "obridge_model_installed", l, pm->installed);
			}
		prom_family(&b, "obridge_model_resident", "gauge",
			    "1 when the model is loaded in memory on the instance (/api/ps)");
		for (size_t i = 0; i < r->n; i++)
			for (size_t m = 0; m < r->inst[i].nmodels; m++) {
				const struct probe_model *pm = &r->inst[i].models[m];
				if (!pm->required)
					continue;
				const char *l[] = { "instance", r->inst[i].in->name, "model", pm->name,
						    NULL };
				prom_sample(&b, "obridge_model_resident", l, pm->resident);
			}
	}
	prom_family(&b, "obridge_probe_duration_seconds", "gauge",
		    "Latency of the health probe by check");
	for (size_t i = 0; i < r->n; i++) {
		const struct probe_instance *pi = &r->inst[i];
		if (!pi->up)
			continue;
		const char *l[] = { "instance", pi->in->name, "check", "head", NULL };
		prom_sample(&b, "obridge_probe_duration_seconds", l, pi->root_ns / 1e9);
		for (size_t m = 0; m < pi->nmodels; m++) {
			const struct probe_model *pm = &pi->models[m];
			if (!pm->probed || !pm->gen_ok)
				continue;
			const char *lg[] = { "instance", pi->in->name, "check",
					     pm->embed ? "embed" : "generate", "model", pm->name, NULL };
			prom_sample(&b, "obridge_probe_duration_seconds", lg, pm->gen_ns / 1e9);
		}
	}
	prom_family(&b, "obridge_health_run_duration_seconds", "gauge",
		    "How long the whole health check took");
	prom_sample(&b, "obridge_health_run_duration_seconds", NULL, r->elapsed_ns / 1e9);
	prom_family(&b, "obridge_last_run_timestamp_seconds", "gauge",
		    "Unix time when the last health check ran");
	prom_sample(&b, "obridge_last_run_timestamp_seconds", NULL,
		    floor(r->started_wall_ns / 1e9));
	return buf_detach(&b);
}

/* One instance's line of --history: checks, availability, incidents (JSON, text, table). */
static void instance_history(const struct store_probe *pr, size_t n, const char *name, int first,
			     struct buf *js, struct buf *incidents, struct table *tb)
{
	char t1[32], t2[32], iso[64];
	size_t checks = 0, upc = 0, ninc = 0;
	int in_inc = 0;
	int64_t inc_start = 0, last_t = 0;
	const char *inc_msg = "", *last_state = "";
	buf_addf(js, "%s{\"name\":", first ? "" : ",");
	buf_add_json_str(js, name);
	buf_adds(js, ",\"incidents\":[");
	for (size_t i = 0; i <= n; i++) {
		int mine = i < n && !strcmp(pr[i].instance, name);
		int bad = mine && (!strcmp(pr[i].state, "crit") || !strcmp(pr[i].state, "down"));
		if (mine) {
			checks++;
			upc += strcmp(pr[i].state, "down") != 0;
			last_t = pr[i].t_ns;
			last_state = pr[i].state;
		}
		if (mine && bad && !in_inc) {
			in_inc = 1;
			inc_start = pr[i].t_ns;
			inc_msg = pr[i].message ? pr[i].message : "";
		} else if ((mine && !bad && in_inc) || (i == n && in_inc)) {
			int ongoing = i == n;
			int64_t end = ongoing ? wall_ns() : pr[i].t_ns;
			time_rfc3339nano(inc_start, 0, iso, sizeof(iso));
			char when[32];
			time_t ts = (time_t)(inc_start / 1000000000LL);
			struct tm tm;
			localtime_r(&ts, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			buf_addf(incidents, "%s: failing since %s for %s%s: %s\n", name,
				 when, units_fmt_duration(end - inc_start, t1, sizeof(t1)),
				 ongoing ? " (still failing)" : "", inc_msg);
			buf_addf(js, "%s{\"since\":", ninc ? "," : "");
			buf_add_json_str(js, iso);
			buf_addf(js, ",\"duration_s\":%.3f,\"ongoing\":%s,\"message\":",
				 (end - inc_start) / 1e9, ongoing ? "true" : "false");
			buf_add_json_str(js, inc_msg);
			buf_adds(js, "}");
			ninc++;
			in_inc = 0;
		}
	}
	size_t okc = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(pr[i].instance, name) &&
		    (!strcmp(pr[i].state, "ok") || !strcmp(pr[i].state, "warn")))
			okc++;
	/* availability: checks that were OK or WARNING (up and serving) */
	double avail = checks ? 100.0 * (double)okc / (double)checks : 0;
	buf_addf(js, "],\"checks\":%zu,\"up\":%zu,\"healthy\":%zu,\"availability_pct\":%.3f,"
		      "\"last_state\":\"%s\"}", checks, upc, okc, avail, last_state);
	size_t row = table_add_row(tb);
	table_set(tb, row, 0, "%s", name);
	table_set(tb, row, 1, "%zu", checks);
	table_set(tb, row, 2, "%zu", upc);
	table_set(tb, row, 3, "%.2f%%", avail);
	table_set_color(tb, row, 3, avail >= 99.9 ? COLOR_OK : avail >= 99 ? COLOR_WARN :
							      COLOR_CRIT);
	table_set(tb, row, 4, "%zu", ninc);
	time_t ts = (time_t)(last_t / 1000000000LL);
	struct tm tm;
	localtime_r(&ts, &tm);
	strftime(t2, sizeof(t2), "%H:%M:%S", &tm);
	table_set(tb, row, 5, "%s %s", last_state, t2);
}

/* The incident lines, sanitized, keeping their newlines. */
static void print_incidents(FILE *out, const char *src)
{
	fprintf(out, "\nincidents:\n");
	char *clean = text_sanitize_dup(src);
	/* keep the newlines text_sanitize turned into '?' */
	size_t l = 0;
	for (char *p = clean; *p; p++, l++)
		if (src[l] == '\n')
			*p = '\n';
	fputs(clean, out);
	free(clean);
}

void healthview_history(FILE *out, FILE *errout, const struct store_probe *all, size_t nall,
			int64_t since_ns, int json, int quiet, int color)
{
	char t1[32];
	int64_t since = wall_ns() - since_ns;
	/* newest first from the store; keep the window, oldest first */
	size_t n = 0;
	while (n < nall && all[n].t_ns >= since)
		n++;
	struct store_probe *pr = xcalloc(n + 1, sizeof(*pr));
	for (size_t i = 0; i < n; i++)
		pr[i] = all[n - 1 - i];
	/* one pass per instance, in first-seen order; probes come oldest first */
	const char **names = xcalloc(n + 1, sizeof(char *));
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		int seen = 0;
		for (size_t k = 0; k < nn; k++)
			if (!strcmp(names[k], pr[i].instance))
				seen = 1;
		if (!seen)
			names[nn++] = pr[i].instance;
	}
	struct buf js = BUF_INIT;
	buf_adds(&js, "{\"since\":");
	char iso[64];
	time_rfc3339nano(since, 0, iso, sizeof(iso));
	buf_add_json_str(&js, iso);
	buf_adds(&js, ",\"instances\":[");
	static const char *const h[] = { "INSTANCE", "CHECKS", "UP", "AVAILABILITY", "INCIDENTS",
					 "LAST" };
	struct table tb;
	table_init(&tb, ARRAY_SIZE(h), h);
	for (size_t c = 1; c <= 4; c++)
		table_set_align(&tb, c, TABLE_RIGHT);
	struct buf incidents = BUF_INIT;
	for (size_t k = 0; k < nn; k++)
		instance_history(pr, n, names[k], k == 0, &js, &incidents, &tb);
	buf_adds(&js, "]}");
	if (json) {
		fprintf(out, "%s\n", buf_str(&js));
	} else if (!nn) {
		if (!quiet)
			fprintf(errout, "no health checks recorded in the last %s\n",
				units_fmt_duration(since_ns, t1, sizeof(t1)));
	} else {
		fprintf(out, "health since %s\n\n", units_fmt_duration(since_ns, t1, sizeof(t1)));
		table_print(&tb, out, color);
		if (incidents.len)
			print_incidents(out, buf_str(&incidents));
	}
	table_release(&tb);
	buf_release(&incidents);
	buf_release(&js);
	free(names);
	free(pr);
}
