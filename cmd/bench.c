/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge bench: concurrency sweeps and rate runs against the fleet, stored and reported. */
#include "../lib/compat.h"
#include "cmd.h"

#include <getopt.h>
#include <langinfo.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../lib/bench/bench.h"
#include "../lib/bench/report.h"
#include "../lib/render/benchview.h"
#include "../lib/bench/sweep.h"
#include "../lib/fleet/fleet.h"
#include "../lib/http/http.h"
#include "../lib/ollama/ollama.h"
#include "../lib/stats/hist.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

#define MAX_LEVELS 64
#define SAMPLE_BATCH 512

static const char *const usage[] = {
	"usage: obridge bench [-m MODEL] [-c LIST | --rate LIST] [-d D | -n N] [options]",
	"",
	"Load the fleet's balancer (or --instance NAME, --each instance, or -H URL) with a",
	"closed-loop concurrency sweep or an open-loop rate sweep, measure TTFT, per-token",
	"ITL, TPOT, end-to-end latency, throughput and errors by class, find the knee, and",
	"record the run (see obridge show, compare, export).",
	"",
	"  -m, --model M          model (default: the fleet's first model, else the first installed)",
	"  -c, --concurrency LIST streams per step: 1,2,4,8 or 1..64 or 1..64x2 or 1..20+5",
	"                         (default 1..16x2)",
	"      --rate LIST        open loop: requests per second per step, same forms",
	"      --arrival KIND     fixed, poisson or gamma:B (open loop; default poisson)",
	"  -d, --duration D       length of each step (default 10s)",
	"  -n, --requests N       requests per step instead of a duration",
	"      --warmup N         unmeasured requests before the first step (default 2)",
	"      --prompt-tokens N  synthetic prompts of about N tokens (calibrated per model)",
	"      --prompt-file F    prompts, one per line: text, or JSON with prompt/messages",
	"      --max-tokens N     num_predict of each request (default 128)",
	"      --seed S           seed for prompts, schedules and options.seed",
	"      --unique-prefix    give every prompt a unique prefix (defeats prompt caching)",
	"      --api API          generate (default), chat or openai (/v1/chat/completions)",
	"      --endpoint E       bench a plain GET instead: root, version, tags or ps",
	"      --instance NAME    one instance of the fleet instead of the balancer",
	"      --each             every instance directly and in parallel",
	"      --max-p95 D        stop the sweep once p95 (TTFT, or E2E) exceeds D",
	"      --stop-on-knee     stop the sweep once the knee is found",
	"      --timeout D        per request (default 5m)",
	"      --stall D          a token gap this long fails the request as a stall (30s)",
	"      --cold-threshold D load_duration that marks a cold load (500ms)",
	"      --max-in-flight N  open loop: requests in flight per target at most (10000)",
	"      --samples          also store every request's figures",
	"      --no-chart         no charts after the table",
	"      --json             the whole result as JSON",
	"      --csv              one CSV row per step",
	"",
	"Exit: 0 done, 1 some requests failed or interrupted, 2 no request succeeded,",
	"3 usage or configuration error.",
	NULL,
};

static struct http_engine *sig_engine;

static void on_signal(int sig)
{
	(void)sig;
	if (cmd_interrupted)
		_exit(130);
	cmd_interrupted = 1;
	if (sig_engine)
		http_wakeup(sig_engine);
}

struct run {
	struct ctx *ctx;
	int64_t id;
	int step_idx;
	int progress;
	int nsteps;
	int step_no;
	/* --samples */
	int samples;
	char **pending;
	size_t npending;
	const struct bench_target *targets;
	int warned;
};

static void flush_samples(struct run *r)
{
	char err[ERR_MAX];
	if (!r->npending)
		return;
	if (store_begin(r->ctx->store, err) < 0 && !r->warned++)
		cmd_warn("bench", "samples not stored: %s", err);
	for (size_t i = 0; i < r->npending; i++) {
		const char *s = r->pending[i];
		/* "instance\tt_ns\tjson" */
		const char *tab = strchr(s, '\t'), *tab2 = tab ? strchr(tab + 1, '\t') : NULL;
		if (tab && tab2) {
			char inst[128];
			snprintf(inst, sizeof(inst), "%.*s", (int)(tab - s), s);
			int64_t t = strtoll(tab + 1, NULL, 10);
			if (store_sample_add(r->ctx->store, r->id, r->step_idx, inst, t, tab2 + 1,
					     err) < 0 && !r->warned++)
				cmd_warn("bench", "sample not stored: %s", err);
		}
		free(r->pending[i]);
	}
	r->npending = 0;
	if (store_commit(r->ctx->store, err) < 0 && !r->warned++)
		cmd_warn("bench", "samples not stored: %s", err);
}

static void on_sample(void *ud, const struct bench_sample *s)
{
	struct run *r = ud;
	if (!r->samples)
		return;
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s\t%" PRId64 "\t{\"ttft_ns\":%" PRId64 ",\"e2e_ns\":%" PRId64
		 ",\"tpot_ns\":%" PRId64 ",\"load_ns\":%" PRId64 ",\"queue_ns\":%" PRId64
		 ",\"tokens\":%" PRId64 ",\"prompt_tokens\":%" PRId64 ",\"cold\":%s,\"error\":",
		 r->targets[s->target].name, s->t_ns, s->ttft_ns, s->e2e_ns, s->tpot_ns, s->load_ns,
		 s->queue_ns, s->tokens, s->prompt_tokens, s->cold ? "true" : "false");
	if (s->err < 0) {
		buf_adds(&b, "null");
	} else {
		buf_add_json_str(&b, bench_err_name(s->err));
		buf_adds(&b, ",\"message\":");
		buf_add_json_str(&b, s->msg);
	}
	buf_adds(&b, "}");
	if (!r->pending)
		r->pending = xcalloc(SAMPLE_BATCH, sizeof(char *));
	r->pending[r->npending++] = buf_detach(&b);
	if (r->npending == SAMPLE_BATCH)
		flush_samples(r);
}

/* Samples of a level go with its first step (the whole target). */
static void on_level_begin(void *ud, int level_no, size_t nlevels, int first_step_index)
{
	struct run *r = ud;
	r->step_no = level_no;
	r->nsteps = (int)nlevels;
	r->step_idx = first_step_index;
}

static void on_level_end(void *ud)
{
	struct run *r = ud;
	if (r->progress)
		fputs("\r\033[K", stderr);
	flush_samples(r);
}

static void on_progress(void *ud, const struct bench_progress *p)
{
	struct run *r = ud;
	if (!r->progress)
		return;
	char d[32], tot[48];
	if (p->total)
		snprintf(tot, sizeof(tot), "%" PRIu64 "/%" PRIu64, p->done, p->total);
	else
		snprintf(tot, sizeof(tot), "%" PRIu64 " done, %.1f/%.1fs", p->done,
			 p->elapsed_ns / 1e9, p->duration_ns / 1e9);
	fprintf(stderr, "\r\033[Kbench: step %d/%d at %g: %s, %zu in flight, p95 %s, %" PRIu64
		" errors, %" PRIu64 " shed", r->step_no, r->nsteps, p->level, tot, p->in_flight,
		units_fmt_duration(p->p95_ns, d, sizeof(d)), p->errors, p->shed);
	fflush(stderr);
}

static int term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col > 120 ? 120 : ws.ws_col;
	return 80;
}

static int parse_int(const char *s, long lo, long hi, long *v)
{
	char *end;
	*v = strtol(s, &end, 10);
	return *s && !*end && *v >= lo && *v <= hi ? 0 : -1;
}

int cmd_bench(int argc, char **argv, struct ctx *ctx)
{
	enum {
		O_RATE = 256, O_ARRIVAL, O_WARMUP, O_PTOK, O_PFILE, O_MAXTOK, O_SEED, O_UNIQUE,
		O_API, O_ENDPOINT, O_INSTANCE, O_EACH, O_MAXP95, O_KNEE, O_TIMEOUT, O_STALL,
		O_COLD, O_MAXIF, O_SAMPLES, O_NOCHART, O_JSON, O_CSV,
	};
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, O_RATE },
		{ "arrival", required_argument, NULL, O_ARRIVAL },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "prompt-tokens", required_argument, NULL, O_PTOK },
		{ "prompt-file", required_argument, NULL, O_PFILE },
		{ "max-tokens", required_argument, NULL, O_MAXTOK },
		{ "seed", required_argument, NULL, O_SEED },
		{ "unique-prefix", no_argument, NULL, O_UNIQUE },
		{ "api", required_argument, NULL, O_API },
		{ "endpoint", required_argument, NULL, O_ENDPOINT },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "each", no_argument, NULL, O_EACH },
		{ "max-p95", required_argument, NULL, O_MAXP95 },
		{ "stop-on-knee", no_argument, NULL, O_KNEE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "stall", required_argument, NULL, O_STALL },
		{ "cold-threshold", required_argument, NULL, O_COLD },
		{ "max-in-flight", required_argument, NULL, O_MAXIF },
		{ "samples", no_argument, NULL, O_SAMPLES },
		{ "no-chart", no_argument, NULL, O_NOCHART },
		{ "json", no_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_cfg cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = BENCH_CLOSED;
	cfg.api = BENCH_API_GENERATE;
	cfg.max_tokens = 128;
	cfg.timeout_ns = 300000000000LL;
	cfg.stall_ns = 30000000000LL;
	cfg.cold_ns = 500000000LL;
	cfg.duration_ns = 10000000000LL;
	cfg.arrival = ARRIVAL_POISSON;
	cfg.burst = 1;
	cfg.seed = 1;
	const char *model = NULL, *levels_s = NULL, *prompt_file = NULL, *instance = NULL;
	long warmup = 2, ptokens = 0, v;
	int each = 0, stop_knee = 0, samples = 0, charts = 1, csv = 0, have_d = 0, have_n = 0;
	int64_t max_p95 = 0;
	char err[ERR_MAX];
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "m:c:d:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			model = optarg;
			break;
		case 'c':
			if (cfg.mode == BENCH_OPEN && levels_s)
				return cmd_usage_error("bench", "-c and --rate exclude each other");
			levels_s = optarg;
			cfg.mode = BENCH_CLOSED;
			break;
		case O_RATE:
			if (cfg.mode == BENCH_CLOSED && levels_s)
				return cmd_usage_error("bench", "-c and --rate exclude each other");
			levels_s = optarg;
			cfg.mode = BENCH_OPEN;
			break;
		case O_ARRIVAL: {
			char kind[32];
			const char *colon = strchr(optarg, ':');
			snprintf(kind, sizeof(kind), "%.*s",
				 (int)(colon ? (size_t)(colon - optarg) : strlen(optarg)), optarg);
			if (arrival_kind_parse(kind, &cfg.arrival, err) < 0)
				return cmd_usage_error("bench", "--arrival: %s", err);
			if (colon) {
				char *end;
				cfg.burst = strtod(colon + 1, &end);
				if (*end || !(cfg.burst > 0) || cfg.arrival != ARRIVAL_GAMMA)
					return cmd_usage_error("bench", "--arrival: bad '%s' (gamma:B with B > 0)",
							       optarg);
			} else if (cfg.arrival == ARRIVAL_GAMMA) {
				return cmd_usage_error("bench", "--arrival gamma needs a shape: gamma:B");
			}
			break;
		}
		case 'd':
			if (units_parse_duration(optarg, &cfg.duration_ns, 0, err) < 0 ||
			    cfg.duration_ns <= 0)
				return cmd_usage_error("bench", "--duration: bad '%s'", optarg);
			have_d = 1;
			break;
		case 'n':
			if (parse_int(optarg, 1, 100000000, &v))
				return cmd_usage_error("bench", "--requests must be a positive number, not '%s'",
						       optarg);
			cfg.requests = (uint64_t)v;
			have_n = 1;
			break;
		case O_WARMUP:
			if (parse_int(optarg, 0, 100000, &warmup))
				return cmd_usage_error("bench", "--warmup must be 0 or more, not '%s'", optarg);
			break;
		case O_PTOK:
			if (parse_int(optarg, 1, 10000000, &ptokens))
				return cmd_usage_error("bench", "--prompt-tokens must be positive, not '%s'",
						       optarg);
			break;
		case O_PFILE:
			prompt_file = optarg;
			break;
		case O_MAXTOK:
			if (parse_int(optarg, 1, 10000000, &v))
				return cmd_usage_error("bench", "--max-tokens must be positive, not '%s'",
						       optarg);
			cfg.max_tokens = (int)v;
			break;
		case O_SEED: {
			char *end;
			cfg.seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end)
				return cmd_usage_error("bench", "--seed must be a number, not '%s'", optarg);
			cfg.has_seed = 1;
			break;
		}
		case O_UNIQUE:
			cfg.unique_prefix = 1;
			break;
		case O_API:
			if (bench_api_parse(optarg, &cfg.api) < 0)
				return cmd_usage_error("bench", "--api must be generate, chat or openai, not '%s'",
						       optarg);
			break;
		case O_ENDPOINT:
			if (bench_endpoint_parse(optarg, &cfg.endpoint) < 0)
				return cmd_usage_error("bench",
						       "--endpoint must be root, version, tags or ps, not '%s'",
						       optarg);
			cfg.api = BENCH_API_ENDPOINT;
			break;
		case O_INSTANCE:
			instance = optarg;
			break;
		case O_EACH:
			each = 1;
			break;
		case O_MAXP95:
			if (units_parse_duration(optarg, &max_p95, 0, err) < 0 || max_p95 <= 0)
				return cmd_usage_error("bench", "--max-p95: bad '%s'", optarg);
			break;
		case O_KNEE:
			stop_knee = 1;
			break;
		case O_TIMEOUT:
		case O_STALL:
		case O_COLD: {
			int64_t d;
			if (units_parse_duration(optarg, &d, 0, err) < 0 || d <= 0)
				return cmd_usage_error("bench", "%s: bad duration '%s'",
						       c == O_TIMEOUT ? "--timeout" :
						       c == O_STALL ? "--stall" : "--cold-threshold", optarg);
			*(c == O_TIMEOUT ? &cfg.timeout_ns : c == O_STALL ? &cfg.stall_ns : &cfg.cold_ns) = d;
			break;
		}
		case O_MAXIF:
			if (parse_int(optarg, 1, 1000000, &v))
				return cmd_usage_error("bench", "--max-in-flight must be positive, not '%s'",
						       optarg);
			cfg.max_in_flight = (size_t)v;
			break;
		case O_SAMPLES:
			samples = 1;
			break;
		case O_NOCHART:
			charts = 0;
			break;
		case O_JSON:
			ctx->json = 1;
			break;
		case O_CSV:
			csv = 1;
			break;
		case 'h':
			cmd_print_usage(stdout, usage);
			return EXIT_OK;
		default:
			return cmd_usage_error("bench", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("bench", "unexpected argument '%s'", argv[optind]);
	if (have_d && have_n)
		return cmd_usage_error("bench", "--duration and --requests exclude each other");
	if (have_n)
		cfg.duration_ns = 0;
	if (ctx->json && csv)
		return cmd_usage_error("bench", "--json and --csv exclude each other");
	if (each && instance)
		return cmd_usage_error("bench", "--each and --instance exclude each other");
	if (ptokens && prompt_file)
		return cmd_usage_error("bench", "--prompt-tokens and --prompt-file exclude each other");
	double levels[MAX_LEVELS];
	int nlev = bench_levels_parse(levels_s ? levels_s : (cfg.mode == BENCH_OPEN ? "1" : "1..16x2"),
				      cfg.mode == BENCH_CLOSED, levels, MAX_LEVELS, err);
	if (nlev < 0)
		return cmd_usage_error("bench", "%s: %s", cfg.mode == BENCH_OPEN ? "--rate" : "-c", err);

	/* Targets. */
	struct fleet *f = ctx->fleet;
	struct bench_target *targets = xcalloc(f->ninstances + 1, sizeof(*targets));
	size_t nt = 0;
	const char *target_desc;
	if (instance) {
		const struct fleet_instance *in = fleet_find_instance(f, instance);
		if (!in) {
			free(targets);
			cmd_error("bench", "no instance '%s' in the fleet (%s)", instance, f->source);
			return EXIT_UNKNOWN;
		}
		targets[nt].name = in->name;
		targets[nt++].url = in->url;
		target_desc = in->name;
	} else if (each) {
		for (size_t i = 0; i < f->ninstances; i++) {
			targets[nt].name = f->instances[i].name;
			targets[nt++].url = f->instances[i].url;
		}
		target_desc = f->name;
	} else if (f->balancer) {
		targets[nt].name = "balancer";
		targets[nt++].url = f->balancer;
		target_desc = f->balancer;
	} else if (f->ninstances == 1) {
		targets[nt].name = f->instances[0].name;
		targets[nt++].url = f->instances[0].url;
		target_desc = f->instances[0].url;
	} else {
		free(targets);
		cmd_error("bench", "the fleet '%s' has %zu instances and no balancer: use "
			  "--instance NAME, --each, or -H URL", f->name, f->ninstances);
		return EXIT_UNKNOWN;
	}
	if (!nt) {
		free(targets);
		cmd_error("bench", "the fleet '%s' has no instances", f->name);
		return EXIT_UNKNOWN;
	}
	cfg.targets = targets;
	cfg.ntargets = nt;
	if (cfg.mode == BENCH_OPEN && nt > 64) {
		free(targets);
		return cmd_usage_error("bench", "open loop supports at most 64 instances with --each");
	}

	struct http_engine *e = ctx_http_engine(ctx, "bench");
	if (!e) {
		free(targets);
		return EXIT_UNKNOWN;
	}
	int rc = EXIT_UNKNOWN;
	struct bench *b = NULL;
	struct bench_prompts prompts = { 0 };
	struct bench_sweep sw;
	memset(&sw, 0, sizeof(sw));
	char *params = NULL, *fp = NULL, *summ = NULL;
	struct buf pdesc = BUF_INIT;
	char modelbuf[256] = "";
	struct run run = { 0 };
	run.ctx = ctx;
	run.targets = targets;
	run.samples = samples;

	/* Model, its fleet options and the SLO. */
	if (cfg.api != BENCH_API_ENDPOINT) {
		if (model) {
			if (ollama_name_normalize(model, modelbuf, sizeof(modelbuf), err) < 0) {
				rc = cmd_usage_error("bench", "-m: %s", err);
				goto out;
			}
		} else if (f->nmodels) {
			snprintf(modelbuf, sizeof(modelbuf), "%s", f->models[0].name);
		} else if (bench_pick_model(e, targets[0].url, modelbuf, sizeof(modelbuf)) < 0) {
			cmd_error("bench", "no model given (-m) and none found on '%s'", targets[0].url);
			goto out;
		}
		cfg.model = modelbuf;
		const struct fleet_model *fm = fleet_find_model(f, modelbuf);
		if (fm) {
			cfg.num_ctx = fm->num_ctx;
			cfg.has_keep_alive = fm->has_keep_alive;
			cfg.keep_alive_ns = fm->keep_alive_ns;
		}
	}
	const struct fleet_slo *slo = fleet_find_slo(f, cfg.api == BENCH_API_ENDPOINT ? "e2e" : "ttft",
						     95);
	int64_t slo_ns = slo ? slo->limit_ns : 0;

	cfg.progress = on_progress;
	cfg.sample = on_sample;
	cfg.ud = &run;
	cfg.stop = &cmd_interrupted;
	b = bench_new(e, &cfg);
	run.progress = isatty(STDERR_FILENO) && !ctx->quiet;

	/* Signals: the first Ctrl-C ends the run (stored as interrupted), the second exits. */
	struct sigaction sa, old_int, old_term;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sig_engine = e;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	/* Prompts. */
	if (cfg.api != BENCH_API_ENDPOINT) {
		if (prompt_file) {
			if (bench_prompts_load(&prompts, prompt_file, err) < 0) {
				cmd_error("bench", "%s", err);
				goto restore;
			}
			buf_adds(&pdesc, "{\"kind\":\"file\",\"file\":");
			buf_add_json_str(&pdesc, prompt_file);
			buf_addf(&pdesc, ",\"count\":%zu", prompts.n);
		} else if (ptokens) {
			size_t words;
			if (run.progress)
				fprintf(stderr, "bench: calibrating %ld-token prompts for %s\n", ptokens,
					cfg.model);
			struct bench_prompts one = { 0 };
			bench_prompts_add_text(&one, "Say hello.");
			cfg.prompts = &one;
			int r = bench_calibrate(b, ptokens, &words, err);
			bench_prompts_release(&one);
			if (r < 0) {
				cmd_error("bench", "%s", err);
				rc = cmd_interrupted ? EXIT_WARN : EXIT_CRIT;
				goto restore;
			}
			struct buf t = BUF_INIT;
			bench_synth_text(&t, words, cfg.seed);
			bench_prompts_add_text(&prompts, buf_str(&t));
			buf_release(&t);
			buf_addf(&pdesc, "{\"kind\":\"synthetic\",\"tokens\":%ld,\"words\":%zu", ptokens,
				 words);
		} else {
			bench_prompts_add_text(&prompts, "Write a short story about a lighthouse keeper "
					       "who finds a message in a bottle.");
			buf_adds(&pdesc, "{\"kind\":\"default\"");
		}
		buf_addf(&pdesc, ",\"unique_prefix\":%s}", cfg.unique_prefix ? "true" : "false");
		cfg.prompts = &prompts;
	}

	/* Params and fingerprint; begin the run. */
	{
		struct buf p = BUF_INIT;
		buf_addf(&p, "{\"mode\":\"%s\",\"api\":\"%s\",\"endpoint\":", bench_mode_name(cfg.mode),
			 bench_api_name(cfg.api));
		if (cfg.api == BENCH_API_ENDPOINT)
			buf_addf(&p, "\"%s\"", bench_endpoint_name(cfg.endpoint));
		else
			buf_adds(&p, "null");
		buf_adds(&p, ",\"model\":");
		if (cfg.model)
			buf_add_json_str(&p, cfg.model);
		else
			buf_adds(&p, "null");
		buf_addf(&p, ",\"levels\":[");
		for (int i = 0; i < nlev; i++)
			buf_addf(&p, "%s%g", i ? "," : "", levels[i]);
		buf_addf(&p, "],\"duration_ns\":%" PRId64 ",\"requests\":%" PRIu64 ",\"warmup\":%ld,"
			 "\"max_tokens\":%d,\"prompt_tokens\":%ld,\"seed\":%" PRIu64
			 ",\"unique_prefix\":%s,\"arrival\":\"%s\",\"burst\":%g,\"each\":%s,"
			 "\"instance\":", cfg.duration_ns, cfg.requests, warmup, cfg.max_tokens,
			 ptokens, cfg.seed, cfg.unique_prefix ? "true" : "false",
			 arrival_kind_name(cfg.arrival), cfg.burst, each ? "true" : "false");
		if (instance)
			buf_add_json_str(&p, instance);
		else
			buf_adds(&p, "null");
		buf_addf(&p, ",\"timeout_ns\":%" PRId64 ",\"stall_ns\":%" PRId64 ",\"cold_ns\":%" PRId64
			 ",\"max_p95_ns\":%" PRId64 ",\"stop_on_knee\":%s,\"slo_ns\":%" PRId64
			 ",\"samples\":%s,\"target\":", cfg.timeout_ns, cfg.stall_ns, cfg.cold_ns,
			 max_p95, stop_knee ? "true" : "false", slo_ns, samples ? "true" : "false");
		buf_add_json_str(&p, target_desc);
		buf_adds(&p, "}");
		params = buf_detach(&p);
	}
	fp = bench_fingerprint(e, &cfg, buf_str(&pdesc),
			       cfg.timeout_ns < 5000000000LL ? cfg.timeout_ns : 5000000000LL,
			       &cmd_interrupted);
	if (ctx_open_store(ctx, "bench") < 0)
		goto restore;
	if (store_run_begin(ctx->store, "bench", target_desc, fp, params, &run.id, err) < 0) {
		cmd_error("bench", "cannot record the run: %s", err);
		goto restore;
	}
	int64_t started_ns = wall_ns();

	/* Warm-up: load the model and open connections; not measured. */
	if (warmup > 0 && !cmd_interrupted) {
		int wc = (int)levels[0] < 1 ? 1 : (int)levels[0];
		if (wc > warmup)
			wc = (int)warmup;
		if (run.progress)
			fprintf(stderr, "\r\033[Kbench: warming up (%ld requests)", warmup);
		int wr = bench_warmup(b, (int)warmup, wc, err);
		if (wr == -2 && !cmd_interrupted) {
			/* A sweep would repeat the same answer for minutes: say it now. */
			if (run.progress)
				fputs("\r\033[K", stderr);
			cmd_error("bench", "%s; nothing benched (--warmup 0 runs the sweep anyway)",
				  err);
			struct buf js = BUF_INIT;
			buf_adds(&js, "{\"error\":");
			buf_add_json_str(&js, err);
			buf_adds(&js, "}");
			if (store_run_finish(ctx->store, run.id, "failed", buf_str(&js), err) < 0)
				cmd_warn("bench", "run not finished in the store: %s", err);
			if (ctx->json) {
				/* a document for scripts too, shaped like the head of a full one */
				printf("{\"run\":%" PRId64 ",\"kind\":\"bench\",\"status\":\"failed\","
				       "\"summary\":%s,\"steps\":[]}\n",
				       run.id, buf_str(&js));
			}
			buf_release(&js);
			rc = EXIT_CRIT;
			goto restore;
		}
		if (wr < 0 && !cmd_interrupted)
			cmd_warn("bench", "%s", err);
	}

	struct bench_sweep_opts so = { 0 };
	so.levels = levels;
	so.nlevels = (size_t)nlev;
	so.max_p95_ns = max_p95;
	so.stop_on_knee = stop_knee;
	so.slo_ns = slo_ns;
	so.store = ctx->store;
	so.run_id = run.id;
	so.level_begin = on_level_begin;
	so.level_end = on_level_end;
	so.ud = &run;
	so.stop = &cmd_interrupted;
	if (bench_sweep_run(b, &cfg, &so, &sw, err) < 0)
		cmd_error("bench", "%s", err);
	if (run.progress)
		fputs("\r\033[K", stderr);
	flush_samples(&run);
	if (sw.warning[0])
		cmd_warn("bench", "%s", sw.warning);
	int interrupted = sw.interrupted;
	const char *stopped = sw.stopped[0] ? sw.stopped : NULL;
	int flags = sw.flags;
	const char *status = bench_sweep_status(&sw);
	rc = interrupted ? EXIT_WARN : !sw.ok ? EXIT_CRIT : sw.errors ? EXIT_WARN : EXIT_OK;
	summ = bench_sweep_summary(&sw, slo_ns);
	if (store_run_finish(ctx->store, run.id, status, summ, err) < 0)
		cmd_warn("bench", "run not finished in the store: %s", err);
	int64_t finished_ns = wall_ns();
	{
		/* The store's own times, so that export prints the same document. */
		struct store_run sr;
		if (store_run_get(ctx->store, run.id, &sr, err) == 1) {
			started_ns = sr.started_ns;
			finished_ns = sr.finished_ns;
			store_run_clear(&sr);
		}
	}

	/* Output. */
	struct buf o = BUF_INIT;
	if (ctx->json) {
		bench_doc_json(&o, run.id, status, started_ns, finished_ns, params, fp, summ,
			       (const char *const *)sw.steps, sw.nsteps);
		buf_adds(&o, "\n");
	} else if (csv) {
		bench_csv_header(&o);
		for (size_t i = 0; i < sw.nrows; i++)
			bench_csv_row(&sw.rows[i], &o);
	} else {
		const char *cs = nl_langinfo(CODESET);
		int ascii = !cs || strcmp(cs, "UTF-8");
		bench_render(sw.rows, sw.nrows, flags | (ascii ? BENCH_VIEW_ASCII : 0), slo_ns,
			     term_width(), charts, &o);
		if (!ctx->quiet) {
			if (stopped)
				buf_addf(&o, "\nstopped early: %s\n", stopped);
			char mclean[256];
			text_sanitize(mclean, sizeof(mclean), cfg.model ? cfg.model : "-");
			buf_addf(&o, "\n%s%s %s, model %s (run %" PRId64 "%s)\n",
				 interrupted ? "interrupted: " : "", bench_mode_name(cfg.mode),
				 cfg.api == BENCH_API_ENDPOINT ? bench_endpoint_name(cfg.endpoint) :
				 bench_api_name(cfg.api), mclean, run.id,
				 interrupted ? ", stored as interrupted" : "");
		}
	}
	fwrite(o.data ? o.data : "", 1, o.len, stdout);
	buf_release(&o);

restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sig_engine = NULL;
out:
	for (size_t i = 0; i < run.npending; i++)
		free(run.pending[i]);
	free(run.pending);
	bench_free(b);
	http_engine_free(e);
	bench_sweep_release(&sw);
	free(summ);
	free(params);
	free(fp);
	buf_release(&pdesc);
	bench_prompts_release(&prompts);
	free(targets);
	return rc;
}
