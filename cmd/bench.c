/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge bench: concurrency sweeps and rate runs against the fleet, stored and reported. */
#include "../lib/compat.h"
#include "cmd.h"

#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../lib/bench/bench.h"
#include "../lib/bench/goals.h"
#include "../lib/bench/job.h"
#include "../lib/bench/report.h"
#include "../lib/render/benchview.h"
#include "../lib/render/progress.h"
#include "../lib/bench/sweep.h"
#include "../lib/fleet/fleet.h"
#include "../lib/http/http.h"
#include "../lib/render/goalsview.h"
#include "../lib/ollama/ollama.h"
#include "../lib/stats/hist.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge bench [-m MODEL] [-c LIST | --rate LIST] [-d D | -n N] [options]",
	"",
	"Load the fleet's balancer (or --instance NAME, --each instance, or -H URL) with a",
	"closed-loop concurrency sweep or an open-loop rate sweep, measure TTFT, per-token",
	"ITL, TPOT, end-to-end latency, throughput and errors by class, find the knee, and",
	"record the run (see obridge show, compare, export).",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 done, 1 some requests failed or interrupted, or the SLOs were missed (one",
	"step: an SLO breached; a sweep: no step meets them, or the capacity at SLO is below",
	"--min-capacity), 2 no request succeeded, 3 usage or configuration error.",
	NULL,
};

enum {
	O_RATE = 256, O_ARRIVAL, O_WARMUP, O_PTOK, O_PFILE, O_MAXTOK, O_SEED, O_UNIQUE, O_API,
	O_ENDPOINT, O_INSTANCE, O_EACH, O_MAXP95, O_KNEE, O_TIMEOUT, O_STALL, O_COLD, O_MAXIF,
	O_SAMPLES, O_NOCHART, O_CSV, O_SLO, O_MINCAP, O_COLDCONN,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("model", 'm', 'm', CK_MODEL, "M",
		"model (default: the fleet's first model, else the first installed)"),
	OPT_VAL("concurrency", 'c', 'c', CK_TEXT, "LIST",
		"streams per step: 1,2,4,8 or 1..64 or 1..64x2 or 1..20+5\n(default 1..16x2)"),
	OPT_VAL("rate", 0, O_RATE, CK_TEXT, "LIST",
		"open loop: requests per second per step, same forms"),
	OPT_CHOICE("arrival", 0, O_ARRIVAL, "fixed poisson gamma:1", "KIND",
		   "fixed, poisson or gamma:B (open loop; default poisson)"),
	OPT_VAL("duration", 'd', 'd', CK_TEXT, "D", "length of each step (default 10s)"),
	OPT_VAL("requests", 'n', 'n', CK_TEXT, "N", "requests per step instead of a duration"),
	OPT_VAL("warmup", 0, O_WARMUP, CK_TEXT, "N",
		"unmeasured requests before the first step (default 2)"),
	OPT_VAL("prompt-tokens", 0, O_PTOK, CK_TEXT, "N",
		"synthetic prompts of about N tokens (calibrated per model)"),
	OPT_VAL("prompt-file", 0, O_PFILE, CK_FILE, "F",
		"prompts, one per line: text, or JSON with prompt/messages"),
	OPT_VAL("max-tokens", 0, O_MAXTOK, CK_TEXT, "N",
		"num_predict of each request (default 128)"),
	OPT_VAL("seed", 0, O_SEED, CK_TEXT, "S", "seed for prompts, schedules and options.seed"),
	OPT_FLAG("unique-prefix", 0, O_UNIQUE,
		 "give every prompt a unique prefix (defeats prompt caching)"),
	OPT_CHOICE("api", 0, O_API, "generate chat openai", "API",
		   "generate (default), chat or openai (/v1/chat/completions)"),
	OPT_CHOICE("endpoint", 0, O_ENDPOINT, "root version tags ps", "E",
		   "bench a plain GET instead: root, version, tags or ps"),
	OPT_VAL("instance", 0, O_INSTANCE, CK_INSTANCE, "NAME",
		"one instance of the fleet instead of the balancer"),
	OPT_FLAG("each", 0, O_EACH, "every instance directly and in parallel"),
	OPT_VAL("max-p95", 0, O_MAXP95, CK_TEXT, "D",
		"stop the sweep once p95 (TTFT, or E2E) exceeds D"),
	OPT_FLAG("stop-on-knee", 0, O_KNEE, "stop the sweep once the knee is found"),
	OPT_VAL("slo", 0, O_SLO, CK_TEXT, "KEY=D",
		"an SLO, over the fleet file's [slo] (repeatable): ttft_p95,\n"
		"ttft_p99, itl_p99, tpot_p95, e2e_p95, e2e_p99 or error_rate"),
	OPT_VAL("min-capacity", 0, O_MINCAP, CK_TEXT, "N",
		"exit 1 when the capacity at SLO is below N streams (req/s)"),
	OPT_VAL("timeout", 0, O_TIMEOUT, CK_TEXT, "D", "per request (default 5m)"),
	OPT_VAL("stall", 0, O_STALL, CK_TEXT, "D",
		"a token gap this long fails the request as a stall (30s)"),
	OPT_VAL("cold-threshold", 0, O_COLD, CK_TEXT, "D",
		"load_duration that marks a cold load (500ms)"),
	OPT_VAL("max-in-flight", 0, O_MAXIF, CK_TEXT, "N",
		"open loop: requests in flight per target at most (10000)"),
	OPT_FLAG("cold-connections", 0, O_COLDCONN,
		 "open each step's connections inside it (set-up then\nshows as connect), "
		 "not before it"),
	OPT_FLAG("samples", 0, O_SAMPLES, "also store every request's figures"),
	OPT_FLAG("no-chart", 0, O_NOCHART, "no charts after the table"),
	OPT_FLAG("csv", 0, O_CSV, "one CSV row per step"),
	OPT_END,
};

const struct cmd_spec spec_bench = {
	.usage = usage,
	.opts = opts,
	.json = "the whole result as JSON",
};

/* What the options choose besides the job: the output. */
struct out_opts {
	int charts, csv;
};

/* Progress on stderr and the --samples queue, fed by the engine's callbacks. */
struct run {
	int progress;
	int nsteps;
	int step_no;
	int samples;
	struct bench_sample_queue q;
};

static void warn_samples(struct run *r, int failures_before)
{
	if (r->q.failures && !failures_before)
		cmd_warn("bench", "samples not stored: %s", r->q.err);
}

static void on_sample(void *ud, const struct bench_sample *s)
{
	struct run *r = ud;
	if (!r->samples)
		return;
	int before = r->q.failures;
	bench_samples_add(&r->q, s);
	warn_samples(r, before);
}

/* Samples of a level go with its first step (the whole target). */
static void on_level_begin(void *ud, int level_no, size_t nlevels, int first_step_index)
{
	struct run *r = ud;
	r->step_no = level_no;
	r->nsteps = (int)nlevels;
	r->q.step_idx = first_step_index;
}

static void on_level_end(void *ud)
{
	struct run *r = ud;
	if (r->progress)
		progress_done(stderr);
	int before = r->q.failures;
	bench_samples_flush(&r->q);
	warn_samples(r, before);
}

static void on_progress(void *ud, const struct bench_progress *p)
{
	struct run *r = ud;
	if (r->progress)
		bench_progress_step(stderr, r->step_no, r->nsteps, p);
}

static int term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col > 120 ? 120 : ws.ws_col;
	return 80;
}

/* A whole number in [lo, hi] into *v; the option's name for the message. */
static int opt_long(const char *opt, const char *s, long lo, long hi, long *v)
{
	char *end;
	*v = strtol(s, &end, 10);
	if (*s && !*end && *v >= lo && *v <= hi)
		return 0;
	cmd_usage_error("bench", "%s must be a whole number from %ld to %ld, not '%s'", opt, lo,
			hi, s);
	return -1;
}

/* A positive duration into *ns. */
static int opt_dur(const char *opt, const char *s, int64_t *ns)
{
	char err[ERR_MAX];
	if (units_parse_duration(s, ns, 0, err) == 0 && *ns > 0)
		return 0;
	cmd_usage_error("bench", "%s: bad duration '%s'", opt, s);
	return -1;
}

static int opt_levels(struct bench_job *j, enum bench_mode mode, const char *s)
{
	if (j->levels_s && j->cfg.mode != mode)
		return cmd_usage_error("bench", "-c and --rate exclude each other"), -1;
	j->levels_s = s;
	j->cfg.mode = mode;
	return 0;
}

static int opt_arrival(struct bench_cfg *cfg, const char *s)
{
	char kind[32], err[ERR_MAX];
	const char *colon = strchr(s, ':');
	snprintf(kind, sizeof(kind), "%.*s", (int)(colon ? (size_t)(colon - s) : strlen(s)), s);
	if (arrival_kind_parse(kind, &cfg->arrival, err) < 0)
		return cmd_usage_error("bench", "--arrival: %s", err), -1;
	if (colon) {
		char *end;
		cfg->burst = strtod(colon + 1, &end);
		if (*end || !(cfg->burst > 0) || cfg->arrival != ARRIVAL_GAMMA)
			return cmd_usage_error("bench", "--arrival: bad '%s' (gamma:B with B > 0)",
					       s), -1;
	} else if (cfg->arrival == ARRIVAL_GAMMA) {
		return cmd_usage_error("bench", "--arrival gamma needs a shape: gamma:B"), -1;
	}
	return 0;
}

/* One option into the job; returns 0 or -1 after a usage message. */
static int take_option(int c, const char *arg, struct bench_job *j, struct out_opts *oo)
{
	struct bench_cfg *cfg = &j->cfg;
	long v;
	char *end;
	switch (c) {
	case 'm': j->model = arg; return 0;
	case 'c': return opt_levels(j, BENCH_CLOSED, arg);
	case O_RATE: return opt_levels(j, BENCH_OPEN, arg);
	case O_ARRIVAL: return opt_arrival(cfg, arg);
	case 'd': return opt_dur("--duration", arg, &cfg->duration_ns);
	case 'n':
		if (opt_long("--requests", arg, 1, 100000000, &v))
			return -1;
		cfg->requests = (uint64_t)v;
		return 0;
	case O_WARMUP: return opt_long("--warmup", arg, 0, 100000, &j->warmup);
	case O_PTOK: return opt_long("--prompt-tokens", arg, 1, 10000000, &j->ptokens);
	case O_PFILE: j->prompt_file = arg; return 0;
	case O_MAXTOK:
		if (opt_long("--max-tokens", arg, 1, 10000000, &v))
			return -1;
		cfg->max_tokens = (int)v;
		return 0;
	case O_SEED:
		cfg->seed = strtoull(arg, &end, 10);
		if (!*arg || *end)
			return cmd_usage_error("bench", "--seed must be a number, not '%s'", arg), -1;
		cfg->has_seed = 1;
		return 0;
	case O_UNIQUE: cfg->unique_prefix = 1; return 0;
	case O_API:
		if (bench_api_parse(arg, &cfg->api) < 0)
			return cmd_usage_error("bench", "--api must be generate, chat or openai, "
					       "not '%s'", arg), -1;
		return 0;
	case O_ENDPOINT:
		if (bench_endpoint_parse(arg, &cfg->endpoint) < 0)
			return cmd_usage_error("bench", "--endpoint must be root, version, tags "
					       "or ps, not '%s'", arg), -1;
		cfg->api = BENCH_API_ENDPOINT;
		return 0;
	case O_INSTANCE: j->instance = arg; return 0;
	case O_EACH: j->each = 1; return 0;
	case O_MAXP95: return opt_dur("--max-p95", arg, &j->max_p95_ns);
	case O_KNEE: j->stop_knee = 1; return 0;
	case O_SLO: {
		char err[ERR_MAX];
		if (slo_set_assign(&j->slo_cli, arg, err) < 0)
			return cmd_usage_error("bench", "--slo: %s", err), -1;
		return 0;
	}
	case O_MINCAP:
		j->min_capacity = strtod(arg, &end);
		if (!*arg || *end || !(j->min_capacity > 0) || j->min_capacity > 1e9)
			return cmd_usage_error("bench", "--min-capacity must be a number above 0, "
					       "not '%s'", arg), -1;
		return 0;
	case O_TIMEOUT: return opt_dur("--timeout", arg, &cfg->timeout_ns);
	case O_STALL: return opt_dur("--stall", arg, &cfg->stall_ns);
	case O_COLD: return opt_dur("--cold-threshold", arg, &cfg->cold_ns);
	case O_MAXIF:
		if (opt_long("--max-in-flight", arg, 1, 1000000, &v))
			return -1;
		cfg->max_in_flight = (size_t)v;
		return 0;
	case O_COLDCONN: cfg->cold_conns = 1; return 0;
	case O_SAMPLES: j->samples = 1; return 0;
	case O_NOCHART: oo->charts = 0; return 0;
	case O_CSV: oo->csv = 1; return 0;
	}
	return 0;
}

/* The options into j and oo; returns -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, const struct ctx *ctx, struct bench_job *j,
			 struct out_opts *oo)
{
	struct cmd_getopt g;
	int c, have_d = 0, have_n = 0;
	char err[ERR_MAX];
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		have_d |= c == 'd';
		have_n |= c == 'n';
		if (take_option(c, g.arg, j, oo) < 0)
			return EXIT_UNKNOWN;
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("bench", "unexpected argument '%s'", argv[g.optind]);
	if (have_d && have_n)
		return cmd_usage_error("bench", "--duration and --requests exclude each other");
	if (have_n)
		j->cfg.duration_ns = 0;
	if (ctx->json && oo->csv)
		return cmd_usage_error("bench", "--json and --csv exclude each other");
	if (j->each && j->instance)
		return cmd_usage_error("bench", "--each and --instance exclude each other");
	if (j->ptokens && j->prompt_file)
		return cmd_usage_error("bench", "--prompt-tokens and --prompt-file exclude each other");
	if (bench_job_levels(j, err) < 0)
		return cmd_usage_error("bench", "%s: %s", j->cfg.mode == BENCH_OPEN ? "--rate" : "-c",
				       err);
	return -1;
}

/*
 * The unmeasured warm-up. Returns -1 to go on, or the exit code after recording the run
 * as failed: a warm-up that can only fail the same way would repeat for minutes.
 */
static int warm_up(struct bench *b, struct bench_job *j, struct ctx *ctx, struct run *run,
		   int64_t run_id)
{
	char err[ERR_MAX];
	if (j->warmup <= 0 || cmd_interrupted)
		return -1;
	int wc = (int)j->levels[0] < 1 ? 1 : (int)j->levels[0];
	if (wc > j->warmup)
		wc = (int)j->warmup;
	if (run->progress)
		bench_progress_warmup(stderr, j->warmup);
	int wr = bench_warmup(b, (int)j->warmup, wc, err);
	if (wr == -2 && !cmd_interrupted) {
		if (run->progress)
			progress_done(stderr);
		cmd_error("bench", "%s; nothing benched (--warmup 0 runs the sweep anyway)", err);
		char *js = bench_job_failed_summary(err);
		if (store_run_finish(ctx->store, run_id, "failed", js, err) < 0)
			cmd_error("bench", "the run could not be saved: %s", err);
		if (ctx->json) /* a document for scripts too, shaped like the head of a full one */
			printf("{\"run\":%" PRId64 ",\"kind\":\"bench\",\"status\":\"failed\","
			       "\"summary\":%s,\"steps\":[]}\n", run_id, js);
		free(js);
		return EXIT_CRIT;
	}
	if (wr < 0 && !cmd_interrupted)
		cmd_warn("bench", "%s", err);
	return -1;
}

/* The result as the options chose: JSON, CSV or the table with the knee and charts. */
static void print_result(const struct ctx *ctx, const struct bench_job *j,
			 const struct out_opts *oo, const struct bench_sweep *sw, int64_t run_id,
			 const char *params, const char *fp, const char *summ,
			 const struct bench_goals_eval *ev)
{
	struct buf o = BUF_INIT;
	char err[ERR_MAX];
	if (ctx->json) {
		/* The store's own times, so that export prints the same document. */
		struct store_run sr;
		int64_t started = 0, finished = 0;
		if (store_run_get(ctx->store, run_id, &sr, err) == 1) {
			started = sr.started_ns;
			finished = sr.finished_ns;
			store_run_clear(&sr);
		}
		bench_doc_json(&o, run_id, bench_sweep_status(sw), started, finished, params, fp,
			       summ, (const char *const *)sw->steps, sw->nsteps);
		buf_adds(&o, "\n");
	} else if (oo->csv) {
		bench_csv_header(&o);
		for (size_t i = 0; i < sw->nrows; i++)
			bench_csv_row(&sw->rows[i], &o);
	} else {
		const char *cs = nl_langinfo(CODESET);
		int ascii = !cs || strcmp(cs, "UTF-8");
		bench_render(sw->rows, sw->nrows, sw->flags | (ascii ? BENCH_VIEW_ASCII : 0),
			     j->slo_ns, term_width(), oo->charts, &o);
		tpot_render(sw->rows, sw->nrows, ascii ? BENCH_VIEW_ASCII : 0, &o);
		goals_render(&j->goals, ev, sw->flags | (ascii ? BENCH_VIEW_ASCII : 0), &o);
		if (!ctx->quiet) {
			const struct bench_cfg *c = &j->cfg;
			if (sw->stopped[0])
				buf_addf(&o, "\nstopped early: %s\n", sw->stopped);
			char mclean[256];
			text_sanitize(mclean, sizeof(mclean), c->model ? c->model : "-");
			buf_addf(&o, "\n%s%s %s, model %s (run %" PRId64 "%s)\n",
				 sw->interrupted ? "interrupted: " : "", bench_mode_name(c->mode),
				 c->api == BENCH_API_ENDPOINT ? bench_endpoint_name(c->endpoint) :
				 bench_api_name(c->api), mclean, run_id,
				 sw->interrupted ? ", stored as interrupted" : "");
		}
	}
	fwrite(o.data ? o.data : "", 1, o.len, stdout);
	buf_release(&o);
}

/* Prompts, the run recorded, warm-up, the sweep, the result. Returns the exit code. */
static int run_bench(struct bench *b, struct bench_job *j, struct ctx *ctx,
		     const struct out_opts *oo, struct run *run, struct http_engine *e)
{
	char err[ERR_MAX];
	int64_t id;
	int rc = EXIT_UNKNOWN;
	char *params = NULL, *fp = NULL, *summ = NULL;
	struct bench_sweep sw;
	memset(&sw, 0, sizeof(sw));

	if (j->ptokens && run->progress && j->cfg.api != BENCH_API_ENDPOINT)
		fprintf(stderr, "bench: calibrating %ld-token prompts for %s\n", j->ptokens,
			j->cfg.model);
	if (bench_job_prompts(j, b, err) < 0) {
		cmd_error("bench", "%s", err);
		return j->ptokens && !j->prompt_file ? (cmd_interrupted ? EXIT_WARN : EXIT_CRIT) :
						      EXIT_UNKNOWN;
	}
	params = bench_job_params(j);
	int64_t fp_timeout = j->cfg.timeout_ns < 5000000000LL ? j->cfg.timeout_ns : 5000000000LL;
	fp = bench_fingerprint(e, &j->cfg, j->prompts_desc ? j->prompts_desc : "", fp_timeout,
			       &cmd_interrupted);
	if (ctx_open_store(ctx, "bench") < 0)
		goto out;
	if (store_run_begin(ctx->store, "bench", j->target_desc, fp, params, &id, err) < 0) {
		cmd_error("bench", "cannot record the run: %s", err);
		goto out;
	}
	run->q.store = ctx->store;
	run->q.run_id = id;
	if ((rc = warm_up(b, j, ctx, run, id)) >= 0)
		goto out;

	struct bench_sweep_opts so = {
		.levels = j->levels, .nlevels = (size_t)j->nlevels, .max_p95_ns = j->max_p95_ns,
		.stop_on_knee = j->stop_knee, .slo_ns = j->slo_ns, .store = ctx->store,
		.run_id = id, .level_begin = on_level_begin, .level_end = on_level_end,
		.ud = run, .stop = &cmd_interrupted,
	};
	if (bench_sweep_run(b, &j->cfg, &so, &sw, err) < 0)
		cmd_error("bench", "%s", err);
	if (run->progress)
		progress_done(stderr);
	int before = run->q.failures;
	bench_samples_flush(&run->q);
	warn_samples(run, before);
	if (sw.warning[0])
		cmd_warn("bench", "%s", sw.warning);
	rc = sw.interrupted ? EXIT_WARN : !sw.ok ? EXIT_CRIT : sw.errors ? EXIT_WARN : EXIT_OK;
	struct bench_goals_eval ev;
	struct buf gj = BUF_INIT;
	bench_goals_evaluate(&j->goals, sw.rows, sw.nrows, sw.flags, &ev);
	bench_goals_summary_json(&j->goals, &ev, &gj);
	summ = bench_sweep_summary(&sw, j->slo_ns, gj.len ? buf_str(&gj) : NULL);
	buf_release(&gj);
	int saved = store_run_finish(ctx->store, id, bench_sweep_status(&sw), summ, err) == 0;
	print_result(ctx, j, oo, &sw, id, params, fp, summ, &ev);
	char why[512];
	if (!sw.interrupted && sw.ok &&
	    bench_goals_failed(&j->goals, &ev, j->nlevels == 1, why, sizeof(why))) {
		fflush(stdout);
		cmd_error("bench", "%s", why);
		if (rc < EXIT_WARN)
			rc = EXIT_WARN;
	}
	if (!saved) {
		/* the table is printed; the store does not have it: a script must know */
		cmd_error("bench", "the run could not be saved: %s", err);
		rc = EXIT_UNKNOWN;
	}
out:
	bench_sweep_release(&sw);
	free(summ);
	free(params);
	free(fp);
	return rc;
}

/*
 * Open-loop rates against the run's length: a rate whose -n requests would take more
 * than a week is refused (returns EXIT_UNKNOWN); one below a request per --duration is
 * said (one request goes at the start, then none). Returns -1 to go on.
 */
static int check_rates(const struct bench_job *j)
{
	if (j->cfg.mode != BENCH_OPEN) {
		/* closed loop: every stream holds a connection for the whole step */
		long limit, budget = http_fd_budget(&limit);
		double most = 0;
		for (int i = 0; i < j->nlevels; i++)
			most = j->levels[i] > most ? j->levels[i] : most;
		if (most > budget)
			return cmd_usage_error("bench", "-c %.0f needs about %.0f file descriptors; "
						"the limit is %ld (ulimit -n): raise it or lower -c",
					       most, most + HTTP_FD_RESERVE, limit);
		return -1;
	}
	for (int i = 0; i < j->nlevels; i++) {
		double r = j->levels[i];
		char d[32];
		if (j->cfg.requests > 1) {
			double secs = (double)(j->cfg.requests - 1) / r;
			if (secs > 7 * 86400.0)
				return cmd_usage_error("bench", "--rate %g with -n %" PRIu64 " would take "
							"%.3g days: raise the rate or lower -n", r,
						       j->cfg.requests, secs / 86400);
		} else if (!j->cfg.requests && j->cfg.duration_ns > 0 &&
			   r * (j->cfg.duration_ns / 1e9) < 1) {
			units_fmt_duration(j->cfg.duration_ns, d, sizeof(d));
			cmd_warn("bench", "--rate %g/s is below one request per --duration %s: one "
					  "request is sent at the start of the step, no more", r, d);
		}
	}
	return -1;
}

int cmd_bench(int argc, char **argv, struct ctx *ctx)
{
	struct bench_job j;
	struct out_opts oo = { .charts = 1 };
	struct run run = { 0 };
	char err[ERR_MAX];
	bench_job_init(&j);
	int rc = parse_options(argc, argv, ctx, &j, &oo);
	if (rc < 0)
		rc = check_rates(&j);
	if (rc < 0 && bench_job_targets(&j, ctx->fleet, err) < 0) {
		cmd_error("bench", "%s", err);
		rc = EXIT_UNKNOWN;
	}
	if (rc >= 0) {
		bench_job_release(&j);
		return rc;
	}
	struct http_engine *e = ctx_http_engine(ctx, "bench");
	if (!e) {
		bench_job_release(&j);
		return EXIT_UNKNOWN;
	}
	int mr = bench_job_model(&j, e, ctx->fleet, err);
	if (mr == -1) {
		rc = cmd_usage_error("bench", "%s", err);
	} else if (mr < 0) {
		cmd_error("bench", "%s", err);
	} else {
		run.samples = j.samples;
		run.q.targets = j.targets;
		run.progress = isatty(STDERR_FILENO) && !ctx->quiet;
		j.cfg.progress = on_progress;
		j.cfg.sample = on_sample;
		j.cfg.ud = &run;
		j.cfg.stop = &cmd_interrupted;
		struct bench *b = bench_new(e, &j.cfg);
		/* Ctrl-C ends the run, which is stored as interrupted with what it measured. */
		cmd_trap_interrupt(1);
		rc = run_bench(b, &j, ctx, &oo, &run, e);
		cmd_trap_interrupt(0);
		bench_free(b);
	}
	bench_samples_release(&run.q);
	http_engine_free(e);
	bench_job_release(&j);
	return rc;
}
