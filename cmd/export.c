/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge export: a stored bench run as JSON (the bench --json document) or CSV. */
#include "../lib/compat.h"
#include "cmd.h"

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
	CMD_OPTIONS,
	"",
	"Exit: 0 printed, 3 no such bench or deploy run or usage error.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_FLAG("csv", 0, 'c', "CSV, one row per step, with a header line"),
	OPT_ARG(1, CK_RUN, NULL, "run id"),
	OPT_END,
};

const struct cmd_spec spec_export = {
	.usage = usage,
	.opts = opts,
	.json = "JSON (the default)",
};

int cmd_export(int argc, char **argv, struct ctx *ctx)
{
	int csv = 0, c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'c':
			csv = 1;
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (ctx->json && csv)
		return cmd_usage_error("export", "--json and --csv exclude each other");
	if (g.optind + 1 != argc)
		return cmd_usage_error("export", g.optind == argc ? "which run? (see obridge history)" :
				       "one run at a time");
	int64_t id;
	if (bench_run_id_parse(argv[g.optind], &id) < 0)
		return cmd_usage_error("export", "bad run id '%s'", argv[g.optind]);
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
