/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge history: list the recorded runs, newest first, as a table or as JSON. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/render/historyview.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

/* Runs shown when --limit is not given; --limit 0 shows all. */
#define HISTORY_DEFAULT_LIMIT 50

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

static int print_json(const struct store_run *runs, size_t n)
{
	struct buf b = BUF_INIT;
	int rc = history_json(runs, n, &b);
	if (rc == 0)
		fputs(buf_str(&b), stdout);
	buf_release(&b);
	if (rc < 0) {
		cmd_error("history", "cannot format JSON");
		return EXIT_UNKNOWN;
	}
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
		struct buf b = BUF_INIT;
		history_prune_json(&c, before, o->kind, o->dry_run, rc == 0, &b);
		fputs(buf_str(&b), stdout);
		buf_release(&b);
	} else if (!ctx->quiet || rc < 0) {
		char when[64], nr[32], ns[32], nm[32], np[32];
		history_fmt_local(before, when, sizeof(when));
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
	int parsed = parse_options(argc, argv, &o);
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
		history_table(stdout, runs, n, ctx->color);
	}
	store_runs_free(runs, n);
	return rc;
}
