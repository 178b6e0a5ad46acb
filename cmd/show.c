/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge show: re-render a stored bench run, or plot its curves with gnuplot. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/bench/goals.h"
#include "../lib/bench/params.h"
#include "../lib/bench/report.h"
#include "../lib/render/benchview.h"
#include "../lib/bench/run.h"
#include "../lib/deploy/deploy.h"
#include "../lib/render/deployview.h"
#include "../lib/render/goalsview.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge show RUN [--plot FILE.svg|FILE.png] [--no-chart] [--json]",
	"",
	"Re-render a stored bench run: the per-step table, the knee and the charts, as",
	"obridge bench printed them. --plot draws latency and throughput curves into an",
	"SVG or PNG file with gnuplot (Debian package gnuplot-nox). A deploy run shows",
	"each action with its outcome and duration, and the verify result.",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 shown, 2 the plot failed, 3 no such bench or deploy run or usage error.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("plot", 0, 'p', CK_FILE, "FILE",
		"write the curves to FILE (.svg or .png) with gnuplot"),
	OPT_FLAG("no-chart", 0, 'C', "no terminal charts after the table"),
	OPT_ARG(1, CK_RUN, NULL, "run id"),
	OPT_END,
};

const struct cmd_spec spec_show = {
	.usage = usage,
	.opts = opts,
	.json = "JSON output",
};

/* gnuplot on $PATH? */
static int have_gnuplot(void)
{
	const char *path = getenv("PATH");
	if (!path)
		return 0;
	char *p = xstrdup(path), *save = NULL;
	int found = 0;
	for (char *d = strtok_r(p, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char f[4096];
		snprintf(f, sizeof(f), "%s/gnuplot", *d ? d : ".");
		found = access(f, X_OK) == 0;
	}
	free(p);
	return found;
}

/* Write the data and a script next to each other in a temp dir and run gnuplot. */
static int plot(const struct bench_run *r, const char *file)
{
	const char *dot = strrchr(file, '.');
	int svg = dot && !strcasecmp(dot, ".svg"), png = dot && !strcasecmp(dot, ".png");
	if (!svg && !png)
		return cmd_usage_error("show", "--plot: '%s' must end in .svg or .png", file);
	if (!have_gnuplot()) {
		cmd_error("show", "--plot needs gnuplot, which is not installed "
			  "(Debian/Ubuntu: apt-get install gnuplot-nox)");
		return EXIT_CRIT;
	}
	char dir[] = "/tmp/obridge-plot.XXXXXX";
	if (!mkdtemp(dir)) {
		cmd_error("show", "cannot create a temporary directory: %s", strerror(errno));
		return EXIT_CRIT;
	}
	char data[64], script[64];
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(script, sizeof(script), "%s/plot.gp", dir);
	int ep = r->flags & BENCH_VIEW_ENDPOINT, rate = r->flags & BENCH_VIEW_RATE;
	FILE *f = fopen(data, "w");
	size_t n = 0;
	if (f) {
		for (size_t i = 0; i < r->nsteps; i++) {
			const struct bench_row *w = &r->rows[i];
			if (w->instance[0] || !w->ok)
				continue;
			int64_t p50 = ep || !w->has_ttft ? w->e2e_p50 : w->ttft_p50;
			int64_t p95 = ep || !w->has_ttft ? w->e2e_p95 : w->ttft_p95;
			int64_t p99 = ep || !w->has_ttft ? w->e2e_p99 : w->ttft_p99;
			fprintf(f, "%g %.6f %.6f %.6f %.3f %.3f %.6f\n", w->x, p50 / 1e6, p95 / 1e6,
				p99 / 1e6, ep ? w->req_s : w->tok_s, w->req_s, w->itl_p50 / 1e6);
			n++;
		}
		fclose(f);
	}
	int rc = EXIT_CRIT;
	if (!n) {
		cmd_error("show", "run %" PRId64 " has no step to plot", r->run.id);
		goto cleanup;
	}
	f = fopen(script, "w");
	if (!f) {
		cmd_error("show", "cannot write '%s': %s", script, strerror(errno));
		goto cleanup;
	}
	const char *metric = ep ? "E2E" : "TTFT";
	fprintf(f, "set terminal %s size 1000,800%s\n", svg ? "svg" : "pngcairo",
		svg ? " dynamic background rgb 'white'" : "");
	fprintf(f, "set output '");
	for (const char *s = file; *s; s++)
		fprintf(f, *s == '\'' ? "''" : "%c", *s);
	fprintf(f, "'\nset multiplot layout 2,1 title 'obridge bench run %" PRId64 "'\n",
		r->run.id);
	fprintf(f, "set grid\nset key top left\nset xlabel '%s'\n",
		rate ? "offered rate (req/s)" : "concurrent streams");
	/* From zero: a flat line must look flat (concurrency keeps its log axis). */
	if (!rate)
		fprintf(f, "set logscale x 2\n");
	else
		fprintf(f, "set xrange [0:*]\n");
	fprintf(f, "set yrange [0:*]\n");
	fprintf(f, "set ylabel '%s (ms)'\n", metric);
	fprintf(f, "plot '%s' using 1:2 with linespoints title '%s p50', "
		"'' using 1:3 with linespoints title '%s p95', "
		"'' using 1:4 with linespoints title '%s p99'\n", data, metric, metric, metric);
	fprintf(f, "set yrange [0:*]\n");
	fprintf(f, "set ylabel '%s'\n", ep ? "requests/s" : "output tokens/s");
	fprintf(f, "plot '%s' using 1:5 with linespoints title '%s'\n", data,
		ep ? "requests/s" : "output tok/s (all streams)");
	fprintf(f, "unset multiplot\n");
	fclose(f);
	pid_t pid = fork();
	if (pid < 0) {
		cmd_error("show", "cannot start gnuplot: %s", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && access(file, F_OK) == 0) {
		rc = EXIT_OK;
		fprintf(stderr, "obridge show: wrote %s\n", file);
	} else {
		cmd_error("show", "gnuplot failed to write '%s'", file);
	}
cleanup:
	unlink(data);
	unlink(script);
	rmdir(dir);
	return rc;
}

int cmd_show(int argc, char **argv, struct ctx *ctx)
{
	const char *plotfile = NULL;
	int charts = 1, c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'p':
			plotfile = g.arg;
			break;
		case 'C':
			charts = 0;
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind + 1 != argc)
		return cmd_usage_error("show", g.optind == argc ? "which run? (see obridge history)" :
				       "one run at a time");
	int64_t id;
	if (bench_run_id_parse(argv[g.optind], &id) < 0)
		return cmd_usage_error("show", "bad run id '%s'", argv[g.optind]);
	char err[ERR_MAX];
	struct deploy_run dr;
	int dl = deploy_run_load(ctx->store, id, &dr, err);
	if (dl < 0) {
		cmd_error("show", "%s", err);
		return EXIT_UNKNOWN;
	}
	if (dl == 0) {
		struct buf o = BUF_INIT;
		int rc = EXIT_OK;
		if (plotfile) {
			rc = cmd_usage_error("show", "--plot: run %" PRId64 " is a deploy run; only "
					     "bench runs have curves", id);
		} else if (ctx->json) {
			deploy_run_json(&o, &dr);
			puts(buf_str(&o));
		} else {
			char when[64];
			time_rfc3339nano(dr.started_ns, 0, when, sizeof(when));
			when[19] = '\0';
			deployview_run(stdout, (long long)dr.id, dr.status, dr.target, when, &dr.plan,
				       ctx->color);
		}
		buf_release(&o);
		deploy_run_release(&dr);
		return rc;
	}
	struct bench_run r;
	int lr = bench_run_load(ctx->store, id, &r, err);
	if (lr) {
		cmd_error("show", "%s", err);
		return EXIT_UNKNOWN;
	}
	int rc = EXIT_OK;
	struct buf o = BUF_INIT;
	if (plotfile) {
		rc = plot(&r, plotfile);
	} else if (ctx->json) {
		const char **steps = xcalloc(r.nsteps + 1, sizeof(char *));
		for (size_t i = 0; i < r.nsteps; i++)
			steps[i] = r.steps[i].summary;
		bench_doc_json(&o, r.run.id, r.run.status, r.run.started_ns, r.run.finished_ns,
			       r.run.params, r.run.fingerprint, r.run.summary, steps, r.nsteps);
		buf_adds(&o, "\n");
		free(steps);
	} else {
		const char *cs = nl_langinfo(CODESET);
		int ascii = !cs || strcmp(cs, "UTF-8");
		struct winsize ws;
		int width = 80;
		if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
			width = ws.ws_col > 120 ? 120 : ws.ws_col;
		char when[64];
		time_rfc3339nano(r.run.started_ns, 0, when, sizeof(when));
		when[19] = '\0';
		char clean[512];
		buf_addf(&o, "run %" PRId64 ": bench against %s, %s, %s\n\n", r.run.id,
			 text_sanitize(clean, sizeof(clean), r.run.target), when, r.run.status);
		bench_render(r.rows, r.nsteps, r.flags | (ascii ? BENCH_VIEW_ASCII : 0), r.slo_ns,
			     width, charts, &o);
		struct bench_params p;
		struct bench_goals_eval ev;
		bench_params_parse(r.run.params, &p);
		bench_goals_evaluate(&p.goals, r.rows, r.nsteps, r.flags, &ev);
		tpot_render(r.rows, r.nsteps, ascii ? BENCH_VIEW_ASCII : 0, &o);
		goals_render(&p.goals, &ev, r.flags | (ascii ? BENCH_VIEW_ASCII : 0), &o);
	}
	fwrite(o.data ? o.data : "", 1, o.len, stdout);
	buf_release(&o);
	bench_run_release(&r);
	return rc;
}
