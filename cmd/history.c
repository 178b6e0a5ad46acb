/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge history: list the recorded runs, newest first, as a table or as JSON. */
#include "../lib/compat.h"
#include "cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/render/render.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

/* Runs shown when --limit is not given; --limit 0 shows all. */
#define HISTORY_DEFAULT_LIMIT 50
/* Longest SUMMARY cell, in bytes. */
#define SUMMARY_MAX 64

static const char *const usage[] = {
	"usage: obridge history [--kind KIND] [--limit N] [--json]",
	"       obridge history --prune AGE [--kind KIND] [--dry-run] [--json]",
	"",
	"List the recorded runs (bench, health, warmup, ...), newest first, or delete",
	"the runs older than AGE with their steps, samples and probes.",
	"",
	CMD_OPTIONS,
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("kind", 'k', 'k', CK_RUNKIND, "KIND", "only runs of this kind"),
	OPT_VAL("limit", 'n', 'n', CK_TEXT, "N", "show at most N runs (default 50, 0 for all)"),
	OPT_VAL("prune", 0, 'P', CK_TEXT, "AGE",
		"delete runs that started more than AGE ago (30d, 2w, 12h)"),
	OPT_FLAG("dry-run", 0, 'D',
		"with --prune: count what would be deleted, delete nothing"),
	OPT_END,
};

const struct cmd_spec spec_history = {
	.usage = usage,
	.opts = opts,
	.json = "print a JSON array of runs with all their fields",
	.in_order = 1,
};

static enum render_color status_color(const char *status)
{
	if (!strcmp(status, "ok"))
		return COLOR_OK;
	if (!strcmp(status, "warn"))
		return COLOR_WARN;
	if (!strcmp(status, "failed") || !strcmp(status, "crit") || !strcmp(status, "error"))
		return COLOR_CRIT;
	if (!strcmp(status, "running"))
		return COLOR_BOLD;
	if (!strcmp(status, "aborted"))
		return COLOR_DIM;
	return COLOR_NONE;
}

/* Local wall time "2026-11-23 18:40:12". */
static void fmt_local(int64_t ns, char *out, size_t n)
{
	time_t secs = (time_t)(ns / 1000000000LL);
	struct tm tm;
	if (ns <= 0 || !localtime_r(&secs, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, n, "-");
}

/* Shorten s to at most max bytes, on a UTF-8 boundary, ending in "..." when cut. */
static void utf8_trunc(char *s, size_t max)
{
	if (max < 4 || strlen(s) <= max)
		return;
	size_t cut = max - 3;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(s + cut, "...", 4);
}

/* Does key end with suffix? */
static int ends_with(const char *key, const char *suffix)
{
	size_t k = strlen(key), s = strlen(suffix);
	return k >= s && !strcmp(key + k - s, suffix);
}

/* A number at "a" or "a.b" in obj, or NULL. */
static const cJSON *json_path(const cJSON *obj, const char *path)
{
	char head[64];
	const char *dot = strchr(path, '.');
	if (!dot)
		return cJSON_GetObjectItemCaseSensitive(obj, path);
	snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
	const cJSON *sub = cJSON_GetObjectItemCaseSensitive(obj, head);
	return cJSON_IsObject(sub) ? cJSON_GetObjectItemCaseSensitive(sub, dot + 1) : NULL;
}

/* The first of paths holding a number, in *v; "_ms" and "_us" values are turned into ns. */
static int find_number(const cJSON *obj, const char *const *paths, double *v)
{
	for (size_t i = 0; paths[i]; i++) {
		const cJSON *it = json_path(obj, paths[i]);
		if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
			double scale = 1;
			if (ends_with(paths[i], "_ms"))
				scale = 1e6;
			else if (ends_with(paths[i], "_us"))
				scale = 1e3;
			*v = it->valuedouble * scale;
			return 1;
		}
	}
	return 0;
}

static void fmt_number(double v, char *out, size_t n)
{
	if (fabs(v) < 1e15 && (v == floor(v) || fabs(v) >= 100))
		snprintf(out, n, "%.0f", v);
	else
		snprintf(out, n, "%.3g", v);
}

/* A duration in ns from JSON, guarding against values no int64 holds. */
static void fmt_ns(double v, char *out, size_t n)
{
	if (fabs(v) < 9e18)
		units_fmt_duration((int64_t)v, out, n);
	else
		snprintf(out, n, "%.3gs", v / 1e9);
}

/* Headline of a bench summary: "p95 ttft 812ms, 123 tok/s, 4.1 req/s, 2 errors". */
static int summary_bench(const cJSON *o, struct buf *b)
{
	static const char *const ttft[] = { "ttft_p95_ns", "p95_ttft_ns", "ttft.p95_ns",
					    "ttft_ns.p95", "latency.ttft_p95_ns", "ttft_p95_ms",
					    "ttft.p95_ms", NULL };
	static const char *const toks[] = { "tok_s", "tokens_per_s", "output_tok_s",
					    "output_tokens_per_s", "tok_per_s",
					    "throughput.tok_s", "throughput_tok_s", NULL };
	static const char *const reqs[] = { "req_s", "requests_per_s", "throughput.req_s", NULL };
	static const char *const errs[] = { "errors", "failed", "error_count", NULL };
	double v;
	char num[48];
	int parts = 0;
	if (find_number(o, ttft, &v)) {
		fmt_ns(v, num, sizeof(num));
		buf_addf(b, "p95 ttft %s", num);
		parts++;
	}
	if (find_number(o, toks, &v)) {
		fmt_number(v, num, sizeof(num));
		buf_addf(b, "%s%s tok/s", parts++ ? ", " : "", num);
	}
	if (find_number(o, reqs, &v)) {
		fmt_number(v, num, sizeof(num));
		buf_addf(b, "%s%s req/s", parts++ ? ", " : "", num);
	}
	if (parts && find_number(o, errs, &v) && v > 0) {
		fmt_number(v, num, sizeof(num));
		buf_addf(b, ", %s errors", num);
	}
	return parts;
}

/* Generic headline: the first few scalar members as key=value ("_ns" keys as durations). */
static void summary_generic(const cJSON *o, struct buf *b)
{
	int shown = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, o) {
		if (shown == 4 || !it->string)
			break;
		char val[64];
		char key[32];
		size_t klen = strlen(it->string);
		int is_ns = cJSON_IsNumber(it) && klen > 3 && ends_with(it->string, "_ns");
		snprintf(key, sizeof(key), "%.*s", (int)(is_ns ? klen - 3 : klen), it->string);
		utf8_trunc(key, 24);
		if (cJSON_IsNumber(it)) {
			if (is_ns) {
				fmt_ns(it->valuedouble, val, sizeof(val));
			} else {
				fmt_number(it->valuedouble, val, sizeof(val));
			}
		} else if (cJSON_IsString(it)) {
			snprintf(val, sizeof(val), "%s", it->valuestring);
			utf8_trunc(val, 24);
		} else if (cJSON_IsBool(it)) {
			snprintf(val, sizeof(val), "%s", cJSON_IsTrue(it) ? "true" : "false");
		} else {
			continue;
		}
		buf_addf(b, "%s%s=%s", shown++ ? " " : "", key, val);
	}
}

/* A short one-line summary of a run for the table (sanitized by the table). */
static char *summary_cell(const struct store_run *r)
{
	if (!r->summary || !*r->summary)
		return xstrdup("");
	struct buf b = BUF_INIT;
	cJSON *o = cJSON_ParseWithOpts(r->summary, NULL, 1);
	if (cJSON_IsObject(o)) {
		if (strcmp(r->kind, "bench") || !summary_bench(o, &b))
			summary_generic(o, &b);
	} else {
		buf_adds(&b, r->summary);
	}
	cJSON_Delete(o);
	char *s = buf_detach(&b);
	utf8_trunc(s, SUMMARY_MAX);
	return s;
}

static void print_table(const struct store_run *runs, size_t n, struct ctx *ctx)
{
	static const char *const headers[] = { "ID",       "KIND",   "STATUS", "STARTED",
					       "DURATION", "TARGET", "SUMMARY" };
	struct table t;
	table_init(&t, ARRAY_SIZE(headers), headers);
	table_set_align(&t, 0, TABLE_RIGHT);
	table_set_align(&t, 4, TABLE_RIGHT);
	for (size_t i = 0; i < n; i++) {
		const struct store_run *r = &runs[i];
		size_t row = table_add_row(&t);
		char started[64], dur[48];
		fmt_local(r->started_ns, started, sizeof(started));
		if (r->finished_ns <= 0)
			snprintf(dur, sizeof(dur), "running");
		else if (r->started_ns >= 0 && r->finished_ns >= r->started_ns)
			units_fmt_duration(r->finished_ns - r->started_ns, dur, sizeof(dur));
		else
			snprintf(dur, sizeof(dur), "-");
		char *summary = summary_cell(r);
		table_set(&t, row, 0, "%" PRId64, r->id);
		table_set(&t, row, 1, "%s", r->kind);
		table_set(&t, row, 2, "%s", r->status);
		table_set_color(&t, row, 2, status_color(r->status));
		table_set(&t, row, 3, "%s", started);
		table_set(&t, row, 4, "%s", dur);
		table_set(&t, row, 5, "%s", r->target);
		table_set(&t, row, 6, "%s", summary);
		free(summary);
	}
	table_print(&t, stdout, ctx->color);
	table_release(&t);
}

/* A JSON column embedded as JSON; malformed text as a string; NULL as null. */
static cJSON *json_column(const char *text)
{
	if (!text)
		return cJSON_CreateNull();
	cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
	return v ? v : cJSON_CreateString(text);
}

/* An int64 without the precision loss of a double (ns since the epoch exceed 2^53). */
static void add_int64(cJSON *obj, const char *key, int64_t v)
{
	char num[32];
	snprintf(num, sizeof(num), "%" PRId64, v);
	cJSON_AddRawToObject(obj, key, num);
}

static int print_json(const struct store_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_run *r = &runs[i];
		cJSON *o = cJSON_CreateObject();
		char ts[64];
		add_int64(o, "id", r->id);
		cJSON_AddStringToObject(o, "kind", r->kind);
		cJSON_AddStringToObject(o, "status", r->status);
		time_rfc3339nano(r->started_ns, 1, ts, sizeof(ts));
		cJSON_AddStringToObject(o, "started", ts);
		add_int64(o, "started_ns", r->started_ns);
		if (r->finished_ns > 0) {
			time_rfc3339nano(r->finished_ns, 1, ts, sizeof(ts));
			cJSON_AddStringToObject(o, "finished", ts);
			add_int64(o, "finished_ns", r->finished_ns);
			if (r->started_ns >= 0 && r->finished_ns >= r->started_ns)
				add_int64(o, "duration_ns", r->finished_ns - r->started_ns);
			else
				cJSON_AddNullToObject(o, "duration_ns");
		} else {
			cJSON_AddNullToObject(o, "finished");
			cJSON_AddNullToObject(o, "finished_ns");
			cJSON_AddNullToObject(o, "duration_ns");
		}
		cJSON_AddStringToObject(o, "target", r->target);
		cJSON_AddItemToObject(o, "fingerprint", json_column(r->fingerprint));
		cJSON_AddItemToObject(o, "params", json_column(r->params));
		cJSON_AddItemToObject(o, "summary", json_column(r->summary));
		char *text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!text) {
			cmd_error("history", "cannot format JSON");
			return EXIT_UNKNOWN;
		}
		/* One run per line: easy to read, to grep and to diff. */
		printf("%s%s", i ? ",\n" : "[\n", text);
		cJSON_free(text);
	}
	printf(n ? "\n]\n" : "[]\n");
	return EXIT_OK;
}

struct history_opts {
	const char *kind;
	long limit;
	int limit_given;
	int64_t prune_ns;  /* 0 = list */
	const char *prune_arg;
	int dry_run;
};

/* Parse the options into *o; returns -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct history_opts *o)
{
	int c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'k':
			o->kind = g.arg;
			break;
		case 'n': {
			char *end;
			errno = 0;
			o->limit = strtol(g.arg, &end, 10);
			if (errno || end == g.arg || *end || o->limit < 0 || o->limit > INT_MAX)
				return cmd_usage_error("history",
						       "invalid value '%s' for --limit: expected a "
						       "whole number >= 0",
						       g.arg);
			o->limit_given = 1;
			break;
		}
		case 'P': {
			char err[ERR_MAX];
			o->prune_arg = g.arg;
			if (units_parse_duration(g.arg, &o->prune_ns, UNITS_DAYS, err) < 0)
				return cmd_usage_error("history", "--prune: %s", err);
			if (o->prune_ns <= 0)
				return cmd_usage_error("history",
						       "--prune: the age must be positive, not '%s' "
						       "(it would delete every run)",
						       g.arg);
			break;
		}
		case 'D':
			o->dry_run = 1;
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("history", "unexpected argument '%s'", argv[g.optind]);
	if (o->dry_run && !o->prune_ns)
		return cmd_usage_error("history", "--dry-run goes with --prune");
	if (o->limit_given && o->prune_ns)
		return cmd_usage_error("history", "--limit and --prune exclude each other");
	return -1;
}

static void group_digits(int64_t v, char *out, size_t n)
{
	char raw[32];
	snprintf(raw, sizeof(raw), "%" PRId64, v);
	size_t len = strlen(raw), j = 0;
	for (size_t i = 0; i < len && j + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			out[j++] = ',';
		out[j++] = raw[i];
	}
	out[j] = '\0';
}

static int prune(struct ctx *ctx, const struct history_opts *o)
{
	char err[ERR_MAX];
	struct store_prune_counts c;
	int64_t before = wall_ns() - o->prune_ns;
	int rc = store_prune(ctx->store, before, o->kind, o->dry_run, &c, err);
	if (rc < 0)
		cmd_error("history", "%s", err);
	if (ctx->json) {
		char ts[64];
		time_rfc3339nano(before, 1, ts, sizeof(ts));
		cJSON *j = cJSON_CreateObject();
		cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
		cJSON_AddStringToObject(j, "before", ts);
		if (o->kind)
			cJSON_AddStringToObject(j, "kind", o->kind);
		else
			cJSON_AddNullToObject(j, "kind");
		add_int64(j, "runs", c.runs);
		add_int64(j, "steps", c.steps);
		add_int64(j, "samples", c.samples);
		add_int64(j, "probes", c.probes);
		cJSON_AddBoolToObject(j, "complete", rc == 0);
		char *text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		if (text)
			printf("%s\n", text);
		cJSON_free(text);
	} else if (!ctx->quiet || rc < 0) {
		char when[64], nr[32], ns[32], nm[32], np[32];
		fmt_local(before, when, sizeof(when));
		char *age = text_sanitize_dup(o->prune_arg);
		group_digits(c.runs, nr, sizeof(nr));
		group_digits(c.steps, ns, sizeof(ns));
		group_digits(c.samples, nm, sizeof(nm));
		group_digits(c.probes, np, sizeof(np));
		char *k = o->kind ? text_sanitize_dup(o->kind) : NULL;
		printf("%s%s %s%s%s run%s that started before %s (%s ago): %s steps, %s samples, "
		       "%s probes\n",
		       rc < 0 ? "before the error, " : "", o->dry_run ? "would prune" : "pruned",
		       nr, k ? " " : "", k ? k : "", c.runs == 1 ? "" : "s", when, age, ns, nm, np);
		free(k);
		free(age);
	}
	return rc < 0 ? EXIT_UNKNOWN : EXIT_OK;
}

int cmd_history(int argc, char **argv, struct ctx *ctx)
{
	struct history_opts o = { .limit = HISTORY_DEFAULT_LIMIT };
	/* Our own messages instead of getopt's; restored for the next command of the shell. */
	int saved_opterr = opterr;
	opterr = 0;
	int parsed = parse_options(argc, argv, &o);
	opterr = saved_opterr;
	if (parsed >= 0)
		return parsed;
	if (!ctx->store && ctx_open_store(ctx, "history") < 0)
		return EXIT_UNKNOWN;
	if (o.prune_ns)
		return prune(ctx, &o);
	const char *kind = o.kind;
	long limit = o.limit;

	struct store_run *runs;
	size_t n;
	char err[ERR_MAX];
	if (store_runs_list(ctx->store, kind, (int)limit, &runs, &n, err) < 0) {
		cmd_error("history", "%s", err);
		return EXIT_UNKNOWN;
	}
	int rc = EXIT_OK;
	if (ctx->json) {
		rc = print_json(runs, n);
	} else if (n == 0) {
		if (!ctx->quiet) {
			char *where = text_sanitize_dup(store_path(ctx->store));
			if (kind) {
				char *k = text_sanitize_dup(kind);
				fprintf(stderr, "no runs of kind '%s' recorded in %s\n", k, where);
				free(k);
			} else {
				fprintf(stderr, "no runs recorded yet in %s\n", where);
			}
			free(where);
		}
	} else {
		print_table(runs, n, ctx);
	}
	store_runs_free(runs, n);
	return rc;
}
