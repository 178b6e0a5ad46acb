/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge compare: two stored bench runs step by step, with confidence intervals; CI exit code. */
#include "../lib/compat.h"
#include "cmd.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/bench/bench.h"
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
	"usage: obridge compare A B [--threshold PCT] [--quantile Q] [--json]",
	"",
	"Compare bench run B (the candidate) with run A (the baseline): steps are aligned by",
	"concurrency or rate (and instance), and for TTFT, ITL, TPOT and E2E the change of",
	"the quantile (the median by default) is given with a 95% bootstrap confidence",
	"interval and a Mann-Whitney p-value, from the stored histograms; throughput gets",
	"a Poisson interval. A regression is a change whose whole interval lies beyond",
	"PCT in the worse direction, or a share of failed requests that grew beyond doubt.",
	"Differences in the runs' fingerprints (Ollama version, model digest, options,",
	"prompts) are warned about.",
	"",
	"      --threshold PCT  smallest change that counts (default 10)",
	"      --quantile Q     compare this percentile instead of the median (0 < Q < 100)",
	"      --json           JSON output",
	"",
	"Exit: 0 no regression, 1 a regression, 3 a run is missing or usage error.",
	NULL,
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

int cmd_compare(int argc, char **argv, struct ctx *ctx)
{
	static const struct option longopts[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "quantile", required_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double threshold = 10, quantile = 50;
	int c;
	char *end;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			threshold = strtod(optarg, &end);
			if (*end == '%')
				end++;
			if (!*optarg || *end || !(threshold >= 0) || !isfinite(threshold))
				return cmd_usage_error("compare", "--threshold must be a percentage >= 0, "
						       "not '%s'", optarg);
			break;
		case 'q':
			quantile = strtod(optarg, &end);
			if (!*optarg || *end || !(quantile > 0 && quantile < 100))
				return cmd_usage_error("compare", "--quantile must be between 0 and 100, "
						       "not '%s'", optarg);
			break;
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			cmd_print_usage(stdout, usage);
			return EXIT_OK;
		default:
			return cmd_usage_error("compare", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return cmd_usage_error("compare", "two runs needed: A (baseline) and B (candidate)");
	int64_t ida, idb;
	if (bench_run_id_parse(argv[optind], &ida) < 0)
		return cmd_usage_error("compare", "bad run id '%s'", argv[optind]);
	if (bench_run_id_parse(argv[optind + 1], &idb) < 0)
		return cmd_usage_error("compare", "bad run id '%s'", argv[optind + 1]);
	struct bench_run ra, rb;
	char err[ERR_MAX];
	if (bench_run_load(ctx->store, ida, &ra, err)) {
		cmd_error("compare", "%s", err);
		return EXIT_UNKNOWN;
	}
	if (bench_run_load(ctx->store, idb, &rb, err)) {
		cmd_error("compare", "%s", err);
		bench_run_release(&ra);
		return EXIT_UNKNOWN;
	}
	struct buf diffs = BUF_INIT;
	int ndiff = bench_fingerprint_diff(ra.run.fingerprint, rb.run.fingerprint, &diffs);
	if (ndiff && !ctx->quiet)
		fprintf(stderr, "obridge compare: warning: the runs' fingerprints differ in %d "
			"place%s:\n%s", ndiff, ndiff == 1 ? "" : "s", buf_str(&diffs));

	struct hist *ha = xmalloc(BH_N * sizeof(struct hist));
	struct hist *hb = xmalloc(BH_N * sizeof(struct hist));
	struct compare_opts o = COMPARE_OPTS_INIT;
	o.quantile = quantile;
	struct buf txt = BUF_INIT, js = BUF_INIT;
	int regressions = 0, improvements = 0, aligned = 0, first = 1;
	char qname[16];
	if (quantile == floor(quantile))
		snprintf(qname, sizeof(qname), "p%.0f", quantile);
	else
		snprintf(qname, sizeof(qname), "p%g", quantile);
	buf_addf(&txt, "%-12s %-9s %9s %9s %8s  %-19s %s\n", "STEP", "METRIC", "A", "B", "CHANGE",
		 "95% CI", "VERDICT");
	buf_addf(&js, "{\"a\":%" PRId64 ",\"b\":%" PRId64 ",\"threshold_pct\":", ida, idb);
	summary_json_number(&js, threshold, 3);
	buf_adds(&js, ",\"quantile\":");
	summary_json_number(&js, quantile, 3);
	buf_addf(&js, ",\"fingerprint_differences\":%d,\"steps\":[", ndiff);
	for (size_t i = 0; i < ra.nsteps; i++) {
		const struct bench_row *a = &ra.rows[i];
		size_t j;
		for (j = 0; j < rb.nsteps; j++)
			if (same_step(a, &rb.rows[j]))
				break;
		char label[96];
		snprintf(label, sizeof(label), "%s%g%s%s", ra.flags & BENCH_VIEW_RATE ? "rate=" : "c=",
			 a->x, a->instance[0] ? " " : "", a->instance);
		if (j == rb.nsteps) {
			buf_addf(&txt, "%-12s only in run %" PRId64 "\n", label, ida);
			continue;
		}
		const struct bench_row *b = &rb.rows[j];
		if (bench_hists_parse(ra.steps[i].hist, ra.steps[i].hist_len, ha, err) < 0 ||
		    bench_hists_parse(rb.steps[j].hist, rb.steps[j].hist_len, hb, err) < 0) {
			cmd_warn("compare", "step %s: %s", label, err);
			continue;
		}
		aligned++;
		buf_addf(&js, "%s{\"label\":", first ? "" : ",");
		first = 0;
		buf_add_json_str(&js, label);
		buf_adds(&js, ",\"x\":");
		summary_json_number(&js, a->x, 3);
		buf_adds(&js, ",\"instance\":");
		if (a->instance[0])
			buf_add_json_str(&js, a->instance);
		else
			buf_adds(&js, "null");
		buf_adds(&js, ",\"metrics\":[");
		int mfirst = 1;
		for (size_t k = 0; k < ARRAY_SIZE(metrics); k++) {
			enum bench_hist m = metrics[k];
			if (!hist_count(&ha[m]) || !hist_count(&hb[m]))
				continue;
			struct compare_result cr;
			if (compare_hists(&ha[m], &hb[m], &o, &cr, err) < 0)
				continue;
			enum compare_verdict v = compare_verdict(&cr, threshold, 0);
			regressions += v == COMPARE_REGRESSION;
			improvements += v == COMPARE_IMPROVEMENT;
			char sa[32], sb[32], mn[24];
			units_fmt_duration((int64_t)cr.stat_a, sa, sizeof(sa));
			units_fmt_duration((int64_t)cr.stat_b, sb, sizeof(sb));
			snprintf(mn, sizeof(mn), "%s %s", bench_hist_name(m), qname);
			buf_addf(&js, "%s{\"metric\":\"%s\",\"a_ns\":%.0f,\"b_ns\":%.0f",
				 mfirst ? "" : ",", bench_hist_name(m), cr.stat_a, cr.stat_b);
			mfirst = 0;
			add_change(&txt, &js, label, mn, sa, sb, &cr, v);
			buf_adds(&js, ",\"p_value\":");
			summary_json_number(&js, cr.p_value, 6);
			buf_addf(&js, ",\"na\":%" PRIu64 ",\"nb\":%" PRIu64 ",\"verdict\":\"%s\"}", cr.na,
				 cr.nb, compare_verdict_name(v));
		}
		int ep = ra.flags & BENCH_VIEW_ENDPOINT;
		double ta = ep ? a->req_s : a->tok_s, tb = ep ? b->req_s : b->tok_s;
		const char *tname = ep ? "req/s" : "tok/s";
		char va[32], vb[32];
		bench_fmt_rate(ta, va, sizeof(va));
		bench_fmt_rate(tb, vb, sizeof(vb));
		buf_adds(&js, "],\"throughput\":{\"metric\":");
		buf_add_json_str(&js, tname);
		buf_adds(&js, ",\"a\":");
		summary_json_number(&js, ta, 3);
		buf_adds(&js, ",\"b\":");
		summary_json_number(&js, tb, 3);
		struct compare_result tr;
		if (compare_rates(a->ok, ta, b->ok, tb, o.confidence, &tr, err) == 0) {
			/* higher is better: a drop whose whole interval is past the threshold */
			enum compare_verdict v = compare_verdict(&tr, threshold, 1);
			regressions += v == COMPARE_REGRESSION;
			improvements += v == COMPARE_IMPROVEMENT;
			add_change(&txt, &js, label, tname, va, vb, &tr, v);
			buf_addf(&js, ",\"verdict\":\"%s\"}", compare_verdict_name(v));
		} else {
			/* nothing completed on one side: no rate to compare */
			double tp = ta > 0 ? 100 * (tb / ta - 1) : NAN;
			char d[16];
			pct(d, sizeof(d), tp);
			buf_addf(&txt, "%-12s %-9s %9s %9s %8s  (no interval: nothing completed)\n",
				 label, tname, va, vb, d);
			buf_adds(&js, ",\"diff_pct\":");
			summary_json_number(&js, tp, 3);
			buf_adds(&js, ",\"ci_lo_pct\":null,\"ci_hi_pct\":null,\"verdict\":null}");
		}
		/* Failed requests (shed included): fast failures leave latency and even
		 * throughput looking fine, so their share is compared on its own. Any
		 * increase whose interval excludes zero is a regression, whatever
		 * --threshold says. */
		struct compare_prop ep_;
		uint64_t na_ = a->ok + a->failed, nb_ = b->ok + b->failed;
		buf_addf(&js, ",\"errors\":{\"a_failed\":%" PRIu64 ",\"a_total\":%" PRIu64
			 ",\"b_failed\":%" PRIu64 ",\"b_total\":%" PRIu64, a->failed, na_,
			 b->failed, nb_);
		if (compare_proportions(a->failed, na_, b->failed, nb_, o.confidence, &ep_, err) == 0) {
			enum compare_verdict v = ep_.lo > 0   ? COMPARE_REGRESSION
						 : ep_.hi < 0 ? COMPARE_IMPROVEMENT
							      : COMPARE_NO_CHANGE;
			regressions += v == COMPARE_REGRESSION;
			improvements += v == COMPARE_IMPROVEMENT;
			if (a->failed || b->failed) {
				char fa[32], fb[32], d[24], ci[48];
				snprintf(fa, sizeof(fa), "%.1f%%", 100 * ep_.pa);
				snprintf(fb, sizeof(fb), "%.1f%%", 100 * ep_.pb);
				snprintf(d, sizeof(d), "%+.1fpp", 100 * ep_.diff);
				snprintf(ci, sizeof(ci), "[%+.1fpp, %+.1fpp]", 100 * ep_.lo,
					 100 * ep_.hi);
				buf_addf(&txt, "%-12s %-9s %9s %9s %8s  %-19s %s\n", label, "errors",
					 fa, fb, d, ci, compare_verdict_name(v));
			}
			buf_adds(&js, ",\"diff_pp\":");
			summary_json_number(&js, 100 * ep_.diff, 3);
			buf_adds(&js, ",\"ci_lo_pp\":");
			summary_json_number(&js, 100 * ep_.lo, 3);
			buf_adds(&js, ",\"ci_hi_pp\":");
			summary_json_number(&js, 100 * ep_.hi, 3);
			buf_addf(&js, ",\"verdict\":\"%s\"}}", compare_verdict_name(v));
		} else {
			buf_adds(&js, ",\"diff_pp\":null,\"ci_lo_pp\":null,\"ci_hi_pp\":null,"
				      "\"verdict\":null}}");
		}
	}
	for (size_t j = 0; j < rb.nsteps; j++) {
		size_t i;
		for (i = 0; i < ra.nsteps; i++)
			if (same_step(&ra.rows[i], &rb.rows[j]))
				break;
		if (i == ra.nsteps) {
			char label[96];
			snprintf(label, sizeof(label), "%s%g%s%s",
				 rb.flags & BENCH_VIEW_RATE ? "rate=" : "c=", rb.rows[j].x,
				 rb.rows[j].instance[0] ? " " : "", rb.rows[j].instance);
			buf_addf(&txt, "%-12s only in run %" PRId64 "\n", label, idb);
		}
	}
	const char *verdict = regressions ? "regression" : improvements ? "improvement" : "no change";
	buf_addf(&js, "],\"regressions\":%d,\"improvements\":%d,\"verdict\":\"%s\"}\n", regressions,
		 improvements, verdict);
	int rc = regressions ? EXIT_WARN : EXIT_OK;
	if (!aligned) {
		cmd_error("compare", "runs %" PRId64 " and %" PRId64 " have no step in common", ida,
			  idb);
		rc = EXIT_UNKNOWN;
	} else if (ctx->json) {
		fwrite(js.data, 1, js.len, stdout);
	} else {
		fwrite(txt.data, 1, txt.len, stdout);
		if (!ctx->quiet)
			printf("\n%s: %d regression%s, %d improvement%s beyond %g%% (%s, 95%% CI)%s\n",
			       verdict, regressions, regressions == 1 ? "" : "s", improvements,
			       improvements == 1 ? "" : "s", threshold, qname,
			       ndiff ? "; fingerprints differ" : "");
	}
	buf_release(&txt);
	buf_release(&js);
	buf_release(&diffs);
	free(ha);
	free(hb);
	bench_run_release(&ra);
	bench_run_release(&rb);
	return rc;
}
