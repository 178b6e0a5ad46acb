/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge warmup: preload, then a few timed requests per instance and model; cold vs warm. */
#include "../lib/compat.h"
#include "cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fleet/fleet.h"
#include "../lib/fleet/load.h"
#include "../lib/http/http.h"
#include "../lib/render/loadview.h"
#include "../lib/render/progress.h"
#include "../lib/render/render.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge warmup [-n N] [-m MODEL]... [--max-tokens N] [--timeout D] [--json]",
	"",
	"After a restart: preload every fleet model (or -m MODEL) with the fleet's",
	"keep_alive and num_ctx, then send N short streamed requests per instance and",
	"model. Reports the cold load time, the first request's latency, the warm TTFT",
	"and tokens/s, flags instances whose warm latency is an outlier, and records the",
	"run.",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 all warm, 1 some failed or an outlier, 2 none warm, 3 usage error.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("requests", 'n', 'n', CK_TEXT, "N",
		"warm requests per instance and model (default 3, at most 64)"),
	OPT_VAL("model", 'm', 'm', CK_MODEL, "M",
		"warm this model (repeatable; default: the fleet's models)"),
	OPT_VAL("max-tokens", 0, 'T', CK_TEXT, "N",
		"num_predict of each warm request (default 16)"),
	OPT_VAL("timeout", 0, 't', CK_TEXT, "D",
		"deadline for the loads and for the requests (default 10m)"),
	OPT_END,
};

const struct cmd_spec spec_warmup = {
	.usage = usage,
	.opts = opts,
	.json = "JSON output",
};

static void progress(void *ud, size_t done, size_t total)
{
	progress_line(stderr, 0, "warmup: %s %zu/%zu", (const char *)ud, done, total);
	if (done == total)
		progress_done(stderr);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median of the warm requests: the first one is the "first request" and left out. */
static int64_t warm_median(const struct load_pair *p, const int64_t *v)
{
	int skip = p->nwarm_ok > 1;
	int n = p->nwarm_ok - skip;
	if (n <= 0)
		return 0;
	int64_t c[LOAD_WARM_MAX];
	memcpy(c, v + skip, (size_t)n * sizeof(int64_t));
	qsort(c, (size_t)n, sizeof(int64_t), cmp_i64);
	return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

static double tps_median(const struct load_pair *p)
{
	double c[LOAD_WARM_MAX];
	int n = p->nwarm_ok;
	for (int i = 0; i < n; i++)
		c[i] = p->warm_tps[i];
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && c[j - 1] > c[j]; j--) {
			double t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	return n ? (n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2) : 0;
}

/*
 * An outlier: warm TTFT more than twice the median of the other instances serving the
 * same model, and at least 5 ms above it.
 */
static int is_outlier(const struct load_set *s, size_t i)
{
	const struct load_pair *p = &s->p[i];
	int64_t mine = warm_median(p, p->warm_ttft_ns);
	if (!p->nwarm_ok || !mine)
		return 0;
	int64_t others[256];
	size_t n = 0;
	for (size_t j = 0; j < s->n && n < ARRAY_SIZE(others); j++)
		if (j != i && !strcmp(s->p[j].model, p->model) && s->p[j].nwarm_ok)
			others[n++] = warm_median(&s->p[j], s->p[j].warm_ttft_ns);
	if (!n)
		return 0;
	qsort(others, n, sizeof(int64_t), cmp_i64);
	int64_t med = n % 2 ? others[n / 2] : (others[n / 2 - 1] + others[n / 2]) / 2;
	return mine > 2 * med && mine - med > 5000000;
}

/* What the options choose. */
struct wopts {
	int n, max_tokens;
	int64_t timeout;
	const char **models;
	size_t nmodels;
};

/* Parse into *o (o->models has room for argc); returns -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct wopts *o)
{
	char err[ERR_MAX], *end;
	int c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'n':
			o->n = (int)strtol(g.arg, &end, 10);
			if (*end || o->n < 1 || o->n > LOAD_WARM_MAX)
				return cmd_usage_error("warmup", "-n must be 1 to %d, not '%s'",
						       LOAD_WARM_MAX, g.arg);
			break;
		case 'm':
			o->models[o->nmodels++] = g.arg;
			break;
		case 'T':
			o->max_tokens = (int)strtol(g.arg, &end, 10);
			if (*end || o->max_tokens < 1)
				return cmd_usage_error("warmup", "--max-tokens must be positive, not '%s'",
						       g.arg);
			break;
		case 't':
			if (units_parse_duration(g.arg, &o->timeout, 0, err) < 0 || o->timeout <= 0)
				return cmd_usage_error("warmup", "--timeout: %s",
						       o->timeout <= 0 ? "must be positive" : err);
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("warmup", "unexpected argument '%s' (models go with -m)",
				       argv[g.optind]);
	return -1;
}

/* The results so far: the table, the steps' JSON and the counts. */
struct wres {
	struct table t;
	struct buf steps;
	size_t warm, outliers;
};

/* Pair i into the table, the JSON and the store (a step of run id). */
static void add_pair(struct wres *w, const struct load_set *s, size_t i, int was, struct ctx *ctx,
		     int64_t id)
{
	const struct load_pair *p = &s->p[i];
	char b1[32], err[ERR_MAX];
	int out = is_outlier(s, i);
	int ok = p->ok && (p->embed || (p->nwarm_ok == p->nwarm && p->nwarm_ok > 0));
	w->warm += ok && !out;
	w->outliers += out;
	struct table *t = &w->t;
	size_t r = table_add_row(t);
	table_set(t, r, 0, "%s", p->in->name);
	table_set(t, r, 1, "%s", p->model);
	if (p->ok)
		table_set(t, r, 2, "%s%s", units_fmt_duration(p->latency_ns, b1, sizeof(b1)),
			  was ? " (hot)" : "");
	if (p->nwarm_ok) {
		table_set(t, r, 3, "%s", units_fmt_duration(p->warm_total_ns[0], b1, sizeof(b1)));
		table_set(t, r, 4, "%s", units_fmt_duration(warm_median(p, p->warm_ttft_ns),
							       b1, sizeof(b1)));
		table_set(t, r, 5, "%s", units_fmt_duration(warm_median(p, p->warm_total_ns),
							       b1, sizeof(b1)));
		table_set(t, r, 6, "%.1f", tps_median(p));
	}
	const char *note = !p->ok ? p->err : p->embed ? "embedding model: loaded only" :
			   p->warm_err[0] ? p->warm_err : out ? "outlier: warm TTFT over 2x the others" :
			   was ? "already resident" : "cold load";
	table_set(t, r, 7, "%s", note);
	table_set_color(t, r, 7, !p->ok || p->warm_err[0] ? COLOR_CRIT :
				 out ? COLOR_WARN : COLOR_NONE);
	struct buf *b = &w->steps;
	buf_addf(b, "%s{\"instance\":", i ? "," : "");
	buf_add_json_str(b, p->in->name);
	buf_adds(b, ",\"model\":");
	buf_add_json_str(b, p->model);
	buf_addf(b, ",\"cold\":%s,\"load_s\":%.6f,\"first_s\":%.6f,\"warm_ttft_p50_s\":%.6f,"
		    "\"warm_e2e_p50_s\":%.6f,\"tokens_per_s\":%.2f,\"outlier\":%s,\"ok\":%s}",
		 was ? "false" : "true", p->latency_ns / 1e9,
		 p->nwarm_ok ? p->warm_total_ns[0] / 1e9 : 0,
		 warm_median(p, p->warm_ttft_ns) / 1e9, warm_median(p, p->warm_total_ns) / 1e9,
		 tps_median(p), out ? "true" : "false", ok ? "true" : "false");
	char label[300];
	snprintf(label, sizeof(label), "%s %s", p->in->name, p->model);
	char *one = xasprintf("{\"instance\":\"%s\",\"model\":\"%s\",\"load_s\":%.6f}",
			      p->in->name, p->model, p->latency_ns / 1e9);
	if (store_step_add(ctx->store, id, (int)i, label, one, NULL, 0, err) < 0)
		cmd_warn("warmup", "step not recorded: %s", err);
	free(one);
}

/* Load, warm and read back; *was[i] tells which pairs were resident before. */
static void warm_all(struct http_engine *e, struct load_set *s, const struct wopts *o,
		     int tty, int **was)
{
	cmd_trap_interrupt(1);
	struct cmd_deadline dl;
	cmd_deadline_init(&dl, "--timeout", o->timeout);
	/* Which pairs were already resident: their "load" is not a cold load. */
	load_readback(e, s, cmd_deadline_left(&dl, 0, 10000000000LL), 0);
	*was = xcalloc(s->n + 1, sizeof(int));
	for (size_t i = 0; i < s->n; i++)
		(*was)[i] = s->p[i].resident;
	if (!cmd_deadline_check(&dl, "warmup", "reading /api/ps")) {
		load_run(e, s, 0, cmd_deadline_left(&dl, 0, 0), tty ? progress : NULL, "loading",
			 (const volatile int *)&cmd_interrupted);
		cmd_deadline_check(&dl, "warmup", "loading");
	} else {
		for (size_t i = 0; i < s->n; i++)
			if (!s->p[i].done) {
				s->p[i].done = 1;
				snprintf(s->p[i].err, sizeof(s->p[i].err), "not sent: the --timeout ran out");
			}
	}
	/* past the deadline these send nothing and mark the pairs as not sent */
	load_warm(e, s, o->n, o->max_tokens, cmd_deadline_left(&dl, 0, 0),
		  tty ? progress : NULL, "requests", (const volatile int *)&cmd_interrupted);
	cmd_deadline_check(&dl, "warmup", "the warm-up requests");
	load_readback(e, s, cmd_deadline_left(&dl, 500000000LL, 10000000000LL), 0);
	cmd_deadline_check(&dl, "warmup", "reading /api/ps back");
	cmd_trap_interrupt(0);
}

int cmd_warmup(int argc, char **argv, struct ctx *ctx)
{
	struct wopts o = { .n = 3, .max_tokens = 16, .timeout = 600000000000LL };
	o.models = xcalloc((size_t)argc + 1, sizeof(char *));
	char err[ERR_MAX];
	int rc = parse_options(argc, argv, &o);
	struct load_set s;
	if (rc < 0 && load_plan(ctx->fleet, o.models, o.nmodels, 0, 0, &s, err) < 0) {
		cmd_error("warmup", "%s", err);
		rc = EXIT_UNKNOWN;
	}
	free(o.models);
	if (rc >= 0)
		return rc;
	rc = EXIT_UNKNOWN;
	struct http_engine *e = NULL;
	if (ctx_open_store(ctx, "warmup") < 0 || !(e = ctx_http_engine(ctx, "warmup"))) {
		load_set_release(&s);
		return EXIT_UNKNOWN;
	}
	int64_t id;
	char *params = xasprintf("{\"requests\":%d,\"max_tokens\":%d}", o.n, o.max_tokens);
	int begun = store_run_begin(ctx->store, "warmup", ctx->fleet->name,
				    "{\"obridge\":\"" OBRIDGE_VERSION_STRING "\"}", params, &id, err);
	free(params);
	if (begun < 0) {
		cmd_error("warmup", "%s", err);
		goto out;
	}
	int *was;
	warm_all(e, &s, &o, isatty(STDERR_FILENO) && !ctx->quiet, &was);

	static const char *const h[] = { "INSTANCE", "MODEL", "LOAD", "FIRST", "WARM TTFT",
					 "WARM E2E", "TOK/S", "NOTE" };
	struct wres w = { .steps = BUF_INIT };
	table_init(&w.t, ARRAY_SIZE(h), h);
	for (size_t k = 2; k <= 6; k++)
		table_set_align(&w.t, k, TABLE_RIGHT);
	for (size_t i = 0; i < s.n; i++)
		add_pair(&w, &s, i, was[i], ctx, id);
	rc = cmd_interrupted ? EXIT_CRIT : w.warm == s.n ? EXIT_OK : w.warm ? EXIT_WARN : EXIT_CRIT;
	char *summary = xasprintf("{\"warm\":%zu,\"pairs\":%zu,\"outliers\":%zu,\"results\":[%s]}",
				  w.warm, s.n, w.outliers, buf_str(&w.steps));
	if (store_run_finish(ctx->store, id, cmd_interrupted ? "aborted" : rc == EXIT_OK ? "ok" :
			     rc == EXIT_WARN ? "warn" : "failed", summary, err) < 0) {
		cmd_error("warmup", "the run could not be saved: %s", err);
		rc = EXIT_UNKNOWN;
	}
	if (ctx->json) {
		struct buf b = BUF_INIT;
		loadview_json(&b, &s, 1);
		printf("{\"run\":%" PRId64 ",\"warm\":%zu,\"pairs\":%zu,\"outliers\":%zu,\"steps\":[%s],"
		       "\"results\":%s}\n", id, w.warm, s.n, w.outliers, buf_str(&w.steps),
		       buf_str(&b));
		buf_release(&b);
	} else {
		table_print(&w.t, stdout, ctx->color);
		if (!ctx->quiet)
			printf("\n%zu/%zu warm%s (run %" PRId64 ")\n", w.warm, s.n,
			       w.outliers ? ", outliers flagged" : "", id);
	}
	free(summary);
	table_release(&w.t);
	buf_release(&w.steps);
	free(was);
out:
	http_engine_free(e);
	load_set_release(&s);
	return rc;
}
