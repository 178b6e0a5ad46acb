/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge compare: two stored bench runs step by step, with confidence intervals; CI exit code. */
#include "../lib/compat.h"
#include "cmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/bench/bench.h"
#include "../lib/bench/goals.h"
#include "../lib/bench/params.h"
#include "../lib/bench/report.h"
#include "../lib/render/benchview.h"
#include "../lib/bench/run.h"
#include "../lib/stats/compare.h"
#include "../lib/stats/hist.h"
#include "../lib/stats/summary.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge compare A B [--threshold PCT] [--quantile Q] [--force] [--json]",
	"",
	"Compare bench run B (the candidate) with run A (the baseline): steps are aligned by",
	"concurrency or rate (and instance), and for TTFT, ITL, TPOT and E2E the change of",
	"the quantile (the median by default) is given with a 95% bootstrap confidence",
	"interval and a Mann-Whitney p-value, from the stored histograms; throughput gets",
	"a Poisson interval. A regression is a change whose whole interval lies beyond",
	"PCT in the worse direction, or a share of failed requests that grew beyond doubt.",
	"Differences in the runs' fingerprints (Ollama version, model digest, options,",
	"prompts) are warned about; runs of another kind (API, --each, --instance), shape",
	"(mode, steps) or target are refused unless --force. With SLOs or a price, the",
	"capacity at SLO of both runs (under A's SLOs) and its cost are shown.",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 no regression, 1 a regression, 3 a run is missing or unfinished, the runs",
	"are not alike (without --force), or usage error.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("threshold", 0, 't', CK_TEXT, "PCT",
		"smallest change that counts (default 10)"),
	OPT_VAL("quantile", 0, 'q', CK_TEXT, "Q",
		"compare this percentile instead of the median (0 < Q < 100)"),
	OPT_FLAG("force", 0, 'f',
		 "compare runs of another kind, shape or target, or that did\nnot finish (interrupted, failed, running), with a warning"),
	OPT_ARG(0, CK_RUN, NULL, "run id"),
	OPT_END,
};

const struct cmd_spec spec_compare = {
	.usage = usage,
	.opts = opts,
	.json = "JSON output",
};

static const enum bench_hist metrics[] = { BH_TTFT, BH_ITL, BH_TPOT, BH_E2E };

static int same_step(const struct bench_row *a, const struct bench_row *b)
{
	return fabs(a->x - b->x) < 1e-9 && !strcmp(a->instance, b->instance);
}

static void pct(char *out, size_t n, double v)
{
	if (!isfinite(v))
		snprintf(out, n, "n/a");
	else
		snprintf(out, n, "%+.1f%%", v);
}

/* One compared figure with an interval: its table row, and its "diff_pct", "ci_lo_pct"
 * and "ci_hi_pct" members appended to the JSON object being written. */
static void add_change(struct buf *txt, struct buf *js, const char *label, const char *metric,
		       const char *sa, const char *sb, const struct compare_result *cr,
		       enum compare_verdict v)
{
	char d[16], lo[16], hi[16], ci[40];
	pct(d, sizeof(d), cr->diff_pct);
	pct(lo, sizeof(lo), cr->ci_lo_pct);
	pct(hi, sizeof(hi), cr->ci_hi_pct);
	snprintf(ci, sizeof(ci), "[%s, %s]", lo, hi);
	buf_addf(txt, "%-12s %-9s %9s %9s %8s  %-19s %s\n", label, metric, sa, sb, d, ci,
		 compare_verdict_name(v));
	buf_adds(js, ",\"diff_pct\":");
	summary_json_number(js, cr->diff_pct, 3);
	buf_adds(js, ",\"ci_lo_pct\":");
	summary_json_number(js, cr->ci_lo_pct, 3);
	buf_adds(js, ",\"ci_hi_pct\":");
	summary_json_number(js, cr->ci_hi_pct, 3);
}

/* What the comparison of two runs accumulates, step by step. */
struct cmp {
	struct compare_opts o;
	double threshold;
	char qname[16];
	struct buf txt, js;
	int regressions, improvements, aligned, first, force;
	struct hist *ha, *hb;
};

static void count(struct cmp *st, enum compare_verdict v)
{
	st->regressions += v == COMPARE_REGRESSION;
	st->improvements += v == COMPARE_IMPROVEMENT;
}

/* The latency metrics of one aligned step, from the two histograms. */
static void cmp_latency(struct cmp *st, const char *label)
{
	char err[ERR_MAX];
	int mfirst = 1;
	for (size_t k = 0; k < ARRAY_SIZE(metrics); k++) {
		enum bench_hist m = metrics[k];
		if (!hist_count(&st->ha[m]) || !hist_count(&st->hb[m]))
			continue;
		struct compare_result cr;
		if (compare_hists(&st->ha[m], &st->hb[m], &st->o, &cr, err) < 0)
			continue;
		enum compare_verdict v = compare_verdict(&cr, st->threshold, 0);
		count(st, v);
		char sa[32], sb[32], mn[24];
		units_fmt_duration((int64_t)cr.stat_a, sa, sizeof(sa));
		units_fmt_duration((int64_t)cr.stat_b, sb, sizeof(sb));
		snprintf(mn, sizeof(mn), "%s %s", bench_hist_name(m), st->qname);
		buf_addf(&st->js, "%s{\"metric\":\"%s\",\"a_ns\":%.0f,\"b_ns\":%.0f",
			 mfirst ? "" : ",", bench_hist_name(m), cr.stat_a, cr.stat_b);
		mfirst = 0;
		add_change(&st->txt, &st->js, label, mn, sa, sb, &cr, v);
		buf_adds(&st->js, ",\"p_value\":");
		summary_json_number(&st->js, cr.p_value, 6);
		buf_addf(&st->js, ",\"na\":%" PRIu64 ",\"nb\":%" PRIu64 ",\"verdict\":\"%s\"}", cr.na,
			 cr.nb, compare_verdict_name(v));
	}
}

/* Token (or request) throughput: a Poisson interval of the ratio. */
static void cmp_throughput(struct cmp *st, const char *label, const struct bench_row *a,
			   const struct bench_row *b, int endpoint)
{
	char err[ERR_MAX];
	double ta = endpoint ? a->req_s : a->tok_s, tb = endpoint ? b->req_s : b->tok_s;
	const char *tname = endpoint ? "req/s" : "tok/s";
	char va[32], vb[32];
	bench_fmt_rate(ta, va, sizeof(va));
	bench_fmt_rate(tb, vb, sizeof(vb));
	buf_adds(&st->js, "],\"throughput\":{\"metric\":");
	buf_add_json_str(&st->js, tname);
	buf_adds(&st->js, ",\"a\":");
	summary_json_number(&st->js, ta, 3);
	buf_adds(&st->js, ",\"b\":");
	summary_json_number(&st->js, tb, 3);
	struct compare_result tr;
	if (compare_rates(a->ok, ta, b->ok, tb, st->o.confidence, &tr, err) == 0) {
		/* higher is better: a drop whose whole interval is past the threshold */
		enum compare_verdict v = compare_verdict(&tr, st->threshold, 1);
		count(st, v);
		add_change(&st->txt, &st->js, label, tname, va, vb, &tr, v);
		buf_addf(&st->js, ",\"verdict\":\"%s\"}", compare_verdict_name(v));
	} else {
		/* nothing completed on one side: no rate to compare */
		double tp = ta > 0 ? 100 * (tb / ta - 1) : NAN;
		char d[16];
		pct(d, sizeof(d), tp);
		buf_addf(&st->txt, "%-12s %-9s %9s %9s %8s  (no interval: nothing completed)\n",
			 label, tname, va, vb, d);
		buf_adds(&st->js, ",\"diff_pct\":");
		summary_json_number(&st->js, tp, 3);
		buf_adds(&st->js, ",\"ci_lo_pct\":null,\"ci_hi_pct\":null,\"verdict\":null}");
	}
}

/*
 * Failed requests (shed included): fast failures leave latency and even throughput
 * looking fine, so their share is compared on its own. Any increase whose interval
 * excludes zero is a regression, whatever --threshold says.
 */
static void cmp_errors(struct cmp *st, const char *label, const struct bench_row *a,
		       const struct bench_row *b)
{
	char err[ERR_MAX];
	struct compare_prop ep;
	uint64_t na = a->ok + a->failed, nb = b->ok + b->failed;
	buf_addf(&st->js, ",\"errors\":{\"a_failed\":%" PRIu64 ",\"a_total\":%" PRIu64
		 ",\"b_failed\":%" PRIu64 ",\"b_total\":%" PRIu64, a->failed, na, b->failed, nb);
	if (compare_proportions(a->failed, na, b->failed, nb, st->o.confidence, &ep, err) < 0) {
		buf_adds(&st->js, ",\"diff_pp\":null,\"ci_lo_pp\":null,\"ci_hi_pp\":null,"
				  "\"verdict\":null}}");
		return;
	}
	enum compare_verdict v = ep.lo > 0 ? COMPARE_REGRESSION
				 : ep.hi < 0 ? COMPARE_IMPROVEMENT
					     : COMPARE_NO_CHANGE;
	count(st, v);
	if (a->failed || b->failed) {
		char fa[32], fb[32], d[24], ci[48];
		snprintf(fa, sizeof(fa), "%.1f%%", 100 * ep.pa);
		snprintf(fb, sizeof(fb), "%.1f%%", 100 * ep.pb);
		snprintf(d, sizeof(d), "%+.1fpp", 100 * ep.diff);
		snprintf(ci, sizeof(ci), "[%+.1fpp, %+.1fpp]", 100 * ep.lo, 100 * ep.hi);
		buf_addf(&st->txt, "%-12s %-9s %9s %9s %8s  %-19s %s\n", label, "errors", fa, fb, d,
			 ci, compare_verdict_name(v));
	}
	buf_adds(&st->js, ",\"diff_pp\":");
	summary_json_number(&st->js, 100 * ep.diff, 3);
	buf_adds(&st->js, ",\"ci_lo_pp\":");
	summary_json_number(&st->js, 100 * ep.lo, 3);
	buf_adds(&st->js, ",\"ci_hi_pp\":");
	summary_json_number(&st->js, 100 * ep.hi, 3);
	buf_addf(&st->js, ",\"verdict\":\"%s\"}}", compare_verdict_name(v));
}

static void step_label(const struct bench_run *r, const struct bench_row *row, char *out,
		       size_t n)
{
	snprintf(out, n, "%s%g%s%s", r->flags & BENCH_VIEW_RATE ? "rate=" : "c=", row->x,
		 row->instance[0] ? " " : "", row->instance);
}

/* Step i of A against its match in B (if any). */
static void cmp_step(struct cmp *st, const struct bench_run *ra, size_t i,
		     const struct bench_run *rb)
{
	const struct bench_row *a = &ra->rows[i];
	char label[96], err[ERR_MAX];
	size_t j;
	for (j = 0; j < rb->nsteps; j++)
		if (same_step(a, &rb->rows[j]))
			break;
	step_label(ra, a, label, sizeof(label));
	if (j == rb->nsteps) {
		buf_addf(&st->txt, "%-12s only in run %" PRId64 "\n", label, ra->run.id);
		return;
	}
	if (bench_hists_parse(ra->steps[i].hist, ra->steps[i].hist_len, st->ha, err) < 0 ||
	    bench_hists_parse(rb->steps[j].hist, rb->steps[j].hist_len, st->hb, err) < 0) {
		cmd_warn("compare", "step %s: %s", label, err);
		return;
	}
	st->aligned++;
	buf_addf(&st->js, "%s{\"label\":", st->first ? "" : ",");
	st->first = 0;
	buf_add_json_str(&st->js, label);
	buf_adds(&st->js, ",\"x\":");
	summary_json_number(&st->js, a->x, 3);
	buf_adds(&st->js, ",\"instance\":");
	if (a->instance[0])
		buf_add_json_str(&st->js, a->instance);
	else
		buf_adds(&st->js, "null");
	buf_adds(&st->js, ",\"metrics\":[");
	cmp_latency(st, label);
	cmp_throughput(st, label, a, &rb->rows[j], ra->flags & BENCH_VIEW_ENDPOINT);
	cmp_errors(st, label, a, &rb->rows[j]);
}

/* The capacity at SLO and its cost in both runs, for the table's end. */
static void goals_cmp_text(const struct bench_goals_cmp *c, struct buf *out)
{
	char a[32], b[32];
	if (!c->any)
		return;
	if (c->slo.mask) {
		snprintf(a, sizeof(a), c->a_capacity >= 0 ? "%g" : "none", c->a_capacity);
		snprintf(b, sizeof(b), c->b_capacity >= 0 ? "%g" : "none", c->b_capacity);
		buf_addf(out, "\ncapacity at SLO: %s -> %s\n", a, b);
	}
	if (c->a_per_1m >= 0 || c->b_per_1m >= 0) {
		snprintf(a, sizeof(a), c->a_per_1m >= 0 ? "%.2f" : "-", c->a_per_1m);
		snprintf(b, sizeof(b), c->b_per_1m >= 0 ? "%.2f" : "-", c->b_per_1m);
		buf_addf(out, "%scost per 1M output tokens at %s: %s -> %s\n",
			 c->slo.mask ? "" : "\n", c->slo.mask ? "that capacity" : "the highest step",
			 a, b);
	}
}

/* --threshold and --quantile; returns -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct cmp *st, int *optind_out)
{
	int c;
	char *end;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 't':
			st->threshold = strtod(g.arg, &end);
			if (*end == '%')
				end++;
			if (!*g.arg || *end || !(st->threshold >= 0) || !isfinite(st->threshold))
				return cmd_usage_error("compare", "--threshold must be a percentage >= 0, "
						       "not '%s'", g.arg);
			break;
		case 'f':
			st->force = 1;
			break;
		case 'q':
			st->o.quantile = strtod(g.arg, &end);
			if (!*g.arg || *end || !(st->o.quantile > 0 && st->o.quantile < 100))
				return cmd_usage_error("compare", "--quantile must be between 0 and 100, "
						       "not '%s'", g.arg);
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (argc - g.optind != 2)
		return cmd_usage_error("compare", "two runs needed: A (baseline) and B (candidate)");
	*optind_out = g.optind;
	return -1;
}

/* A run that did not finish has partial figures: no verdict on it without --force.
 * Returns 0 to go on, -1 to stop (said). */
static int check_finished(const struct bench_run *r, int force)
{
	const char *s = r->run.status;
	if (!strcmp(s, "ok") || !strcmp(s, "warn"))
		return 0;
	if (force) {
		cmd_warn("compare", "run %" PRId64 " is %s: its figures are partial", r->run.id, s);
		return 0;
	}
	cmd_error("compare", "run %" PRId64 " is %s, not finished: its figures are partial "
			     "(--force compares it anyway)", r->run.id, s);
	return -1;
}

/* Load the runs named by argv[0] and argv[1]; returns -1 to go on, else the exit code. */
static int load_runs(struct ctx *ctx, char **argv, struct bench_run *ra, struct bench_run *rb,
		     int force)
{
	int64_t ida, idb;
	char err[ERR_MAX];
	if (bench_run_id_parse(argv[0], &ida) < 0)
		return cmd_usage_error("compare", "bad run id '%s'", argv[0]);
	if (bench_run_id_parse(argv[1], &idb) < 0)
		return cmd_usage_error("compare", "bad run id '%s'", argv[1]);
	if (bench_run_load(ctx->store, ida, ra, err)) {
		cmd_error("compare", "%s", err);
		return EXIT_UNKNOWN;
	}
	if (bench_run_load(ctx->store, idb, rb, err)) {
		cmd_error("compare", "%s", err);
		bench_run_release(ra);
		return EXIT_UNKNOWN;
	}
	if (check_finished(ra, force) < 0 || check_finished(rb, force) < 0) {
		bench_run_release(ra);
		bench_run_release(rb);
		return EXIT_UNKNOWN;
	}
	return -1;
}

int cmd_compare(int argc, char **argv, struct ctx *ctx)
{
	struct cmp st = { .o = COMPARE_OPTS_INIT, .threshold = 10, .first = 1 };
	st.o.quantile = 50;
	struct bench_run ra, rb;
	int first_operand = 0;
	int rc = parse_options(argc, argv, &st, &first_operand);
	if (rc < 0)
		rc = load_runs(ctx, argv + first_operand, &ra, &rb, st.force);
	if (rc >= 0)
		return rc;
	struct bench_params pa, pb;
	char why[512];
	bench_params_parse(ra.run.params, &pa);
	bench_params_parse(rb.run.params, &pb);
	if (bench_params_mismatch(&pa, ra.run.target, &pb, rb.run.target, why, sizeof(why))) {
		if (!st.force) {
			cmd_error("compare", "runs %" PRId64 " and %" PRId64 " are not alike: %s "
				  "(--force compares them anyway)", ra.run.id, rb.run.id, why);
			bench_run_release(&ra);
			bench_run_release(&rb);
			return EXIT_UNKNOWN;
		}
		if (!ctx->quiet)
			cmd_warn("compare", "runs %" PRId64 " and %" PRId64 " are not alike: %s",
				 ra.run.id, rb.run.id, why);
	}
	struct bench_goals_cmp gc;
	bench_goals_compare(&pa.goals, ra.rows, ra.nsteps, ra.flags, &pb.goals, rb.rows,
			    rb.nsteps, rb.flags, &gc);
	struct buf diffs = BUF_INIT;
	int ndiff = bench_fingerprint_diff(ra.run.fingerprint, rb.run.fingerprint, &diffs);
	if (ndiff && !ctx->quiet)
		fprintf(stderr, "obridge compare: warning: the runs' fingerprints differ in %d "
			"place%s:\n%s", ndiff, ndiff == 1 ? "" : "s", buf_str(&diffs));

	st.ha = xmalloc(BH_N * sizeof(struct hist));
	st.hb = xmalloc(BH_N * sizeof(struct hist));
	buf_init(&st.txt, 0);
	buf_init(&st.js, 0);
	double q = st.o.quantile;
	snprintf(st.qname, sizeof(st.qname), q == floor(q) ? "p%.0f" : "p%g", q);
	buf_addf(&st.txt, "%-12s %-9s %9s %9s %8s  %-19s %s\n", "STEP", "METRIC", "A", "B", "CHANGE",
		 "95% CI", "VERDICT");
	buf_addf(&st.js, "{\"a\":%" PRId64 ",\"b\":%" PRId64 ",\"threshold_pct\":", ra.run.id,
		 rb.run.id);
	summary_json_number(&st.js, st.threshold, 3);
	buf_adds(&st.js, ",\"quantile\":");
	summary_json_number(&st.js, q, 3);
	buf_addf(&st.js, ",\"fingerprint_differences\":%d,\"steps\":[", ndiff);
	for (size_t i = 0; i < ra.nsteps; i++)
		cmp_step(&st, &ra, i, &rb);
	for (size_t j = 0; j < rb.nsteps; j++) {
		size_t i;
		for (i = 0; i < ra.nsteps; i++)
			if (same_step(&ra.rows[i], &rb.rows[j]))
				break;
		if (i == ra.nsteps) {
			char label[96];
			step_label(&rb, &rb.rows[j], label, sizeof(label));
			buf_addf(&st.txt, "%-12s only in run %" PRId64 "\n", label, rb.run.id);
		}
	}
	const char *verdict = st.regressions ? "regression" : st.improvements ? "improvement" :
					       "no change";
	buf_adds(&st.js, "]");
	bench_goals_cmp_json(&gc, &st.js);
	buf_addf(&st.js, ",\"regressions\":%d,\"improvements\":%d,\"verdict\":\"%s\"}\n",
		 st.regressions, st.improvements, verdict);
	goals_cmp_text(&gc, &st.txt);
	rc = st.regressions ? EXIT_WARN : EXIT_OK;
	if (!st.aligned) {
		cmd_error("compare", "runs %" PRId64 " and %" PRId64 " have no step in common",
			  ra.run.id, rb.run.id);
		rc = EXIT_UNKNOWN;
	} else if (ctx->json) {
		fwrite(st.js.data, 1, st.js.len, stdout);
	} else {
		fwrite(st.txt.data, 1, st.txt.len, stdout);
		if (!ctx->quiet)
			printf("\n%s: %d regression%s, %d improvement%s beyond %g%% (%s, 95%% CI)%s\n",
			       verdict, st.regressions, st.regressions == 1 ? "" : "s",
			       st.improvements, st.improvements == 1 ? "" : "s", st.threshold,
			       st.qname, ndiff ? "; fingerprints differ" : "");
	}
	buf_release(&st.txt);
	buf_release(&st.js);
	buf_release(&diffs);
	free(st.ha);
	free(st.hb);
	bench_run_release(&ra);
	bench_run_release(&rb);
	return rc;
}
