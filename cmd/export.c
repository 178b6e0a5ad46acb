/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge export: a stored bench run as JSON (the bench --json document) or CSV. */
#include "../lib/compat.h"
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/bench/report.h"
#include "../lib/bench/run.h"
#include "../lib/deploy/deploy.h"
#include "../lib/util/buf.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge export RUN [--json | --csv]",
	"",
	"Print a stored bench run: --json the whole document (the shape obridge bench --json",
	"prints, see obridge-bench(1)), --csv one row per step. A deploy run: --json the run",
	"and its document (as obridge deploy --json prints it), --csv one row per action.",
	"",
	"      --json   JSON (the default)",
	"      --csv    CSV, one row per step, with a header line",
	"",
	"Exit: 0 printed, 3 no such bench or deploy run or usage error.",
	NULL,
};

int cmd_export(int argc, char **argv, struct ctx *ctx)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int csv = 0, json = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'c':
			csv = 1;
			break;
		case 'h':
			cmd_print_usage(stdout, usage);
			return EXIT_OK;
		default:
			return cmd_usage_error("export", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (json && csv)
		return cmd_usage_error("export", "--json and --csv exclude each other");
	if (optind + 1 != argc)
		return cmd_usage_error("export", optind == argc ? "which run? (see obridge history)" :
				       "one run at a time");
	int64_t id;
	if (bench_run_id_parse(argv[optind], &id) < 0)
		return cmd_usage_error("export", "bad run id '%s'", argv[optind]);
	char err[ERR_MAX];
	struct deploy_run dr;
	int dl = deploy_run_load(ctx->store, id, &dr, err);
	if (dl < 0) {
		cmd_error("export", "%s", err);
		return EXIT_UNKNOWN;
	}
	if (dl == 0) {
		struct buf o = BUF_INIT;
		if (csv)
			deploy_actions_csv(&o, &dr.plan);
		else
			deploy_run_json(&o, &dr);
		if (!csv)
			buf_adds(&o, "\n");
		fwrite(o.data ? o.data : "", 1, o.len, stdout);
		buf_release(&o);
		deploy_run_release(&dr);
		return EXIT_OK;
	}
	struct bench_run r;
	if (bench_run_load(ctx->store, id, &r, err)) {
		cmd_error("export", "%s", err);
		return EXIT_UNKNOWN;
	}
	struct buf o = BUF_INIT;
	if (csv) {
		bench_csv_header(&o);
		for (size_t i = 0; i < r.nsteps; i++)
			bench_csv_row(&r.rows[i], &o);
	} else {
		const char **steps = xcalloc(r.nsteps + 1, sizeof(char *));
		for (size_t i = 0; i < r.nsteps; i++)
			steps[i] = r.steps[i].summary;
		bench_doc_json(&o, r.run.id, r.run.status, r.run.started_ns, r.run.finished_ns,
			       r.run.params, r.run.fingerprint, r.run.summary, steps, r.nsteps);
		buf_adds(&o, "\n");
		free(steps);
	}
	fwrite(o.data ? o.data : "", 1, o.len, stdout);
	buf_release(&o);
	bench_run_release(&r);
	return EXIT_OK;
}
