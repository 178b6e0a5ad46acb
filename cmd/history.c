/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge history: list the recorded runs, newest first, as a table or as JSON. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
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
	"  -k, --kind KIND   only runs of this kind",
	"  -n, --limit N     show at most N runs (default 50, 0 for all)",
	"      --prune AGE   delete runs that started more than AGE ago (30d, 2w, 12h)",
	"      --dry-run     with --prune: count what would be deleted, delete nothing",
	"      --json        print a JSON array of runs with all their fields",
	"  -h, --help        show this help",
	NULL,
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

/* The option getopt_long just refused, as the user wrote it ("--limit", "-x"). */
static const char *bad_option(char **argv, int opt)
{
	static char name[64];
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	if (arg && !strncmp(arg, "--", 2)) {
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
		return name;
	}
	snprintf(name, sizeof(name), "-%c", opt ? opt : '?');
	return name;
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
static int parse_options(int argc, char **argv, struct ctx *ctx, struct history_opts *o)
{
	static const struct option longopts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "limit", required_argument, NULL, 'n' },
		{ "prune", required_argument, NULL, 'P' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:hk:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kind = optarg;
			break;
		case 'n': {
			char *end;
			errno = 0;
			o->limit = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || o->limit < 0 || o->limit > INT_MAX)
				return cmd_usage_error("history",
						       "invalid value '%s' for --limit: expected a "
						       "whole number >= 0",
						       optarg);
			o->limit_given = 1;
			break;
		}
		case 'P': {
			char err[ERR_MAX];
			o->prune_arg = optarg;
			if (units_parse_duration(optarg, &o->prune_ns, UNITS_DAYS, err) < 0)
				return cmd_usage_error("history", "--prune: %s", err);
			if (o->prune_ns <= 0)
				return cmd_usage_error("history",
						       "--prune: the age must be positive, not '%s' "
						       "(it would delete every run)",
						       optarg);
			break;
		}
		case 'D':
			o->dry_run = 1;
			break;
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			cmd_print_usage(stdout, usage);
			return EXIT_OK;
		case ':':
			return cmd_usage_error("history", "option '%s' needs a value",
					       bad_option(argv, optopt));
		default:
			return cmd_usage_error("history", "unknown option '%s'",
					       bad_option(argv, optopt));
		}
	}
	if (optind < argc)
		return cmd_usage_error("history", "unexpected argument '%s'", argv[optind]);
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
	/* Our own messages instead of getopt's; restored for the next command of the shell. */
	int saved_opterr = opterr;
	opterr = 0;
	int parsed = parse_options(argc, argv, ctx, &o);
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
		history_table(stdout, runs, n, ctx->color);
	}
	store_runs_free(runs, n);
	return rc;
}
