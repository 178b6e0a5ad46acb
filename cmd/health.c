/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge health: one-shot fleet check for cron and monitoring (Nagios, JSON, Prometheus). */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/fleet/fleet.h"
#include "../lib/fleet/probe.h"
#include "../lib/http/http.h"
#include "../lib/render/healthview.h"
#include "../lib/stats/threshold.h"
#include "../lib/render/prom.h"
#include "../lib/render/render.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/lock.h"
#include "../lib/util/proc.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge health [--level 1|2|3] [-w RANGE] [-c RANGE]",
	"                      [--format text|json|nagios|prom] [--textfile DIR]",
	"                      [--timeout D] [--after N] [--on-fail CMD] [--watch D]",
	"                      [--on-fail-timeout D] [--lock-wait D] [-m MODEL]",
	"                      [--cert-days W[,C]]",
	"       obridge health --history [--since D]",
	"",
	"Check every instance of the fleet in parallel and exit with the Nagios state:",
	"0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage or configuration error).",
	"",
	CMD_OPTIONS,
	"",
	"With -q (a global option), nothing is printed when everything is OK.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_CHOICE("level", 'l', 'l', "1 2 3", "N",
		"1: reachable (HEAD /, /api/version); 2: the fleet's models\ninstalled with one digest and resident with its num_ctx;\n3: also a timed 1-token generate per model (default 2)"),
	OPT_VAL("warning", 'w', 'w', CK_TEXT, "R",
		"warning range for the probe latency, Nagios syntax"),
	OPT_VAL("critical", 'c', 'c', CK_TEXT, "R",
		"critical range: 10, 10:, ~:10, 10:20, @10:20 (seconds,\nor durations such as 500ms)"),
	OPT_CHOICE("format", 0, 'F', "text json nagios prom", "F",
		"text (default on a terminal), nagios (default otherwise),\njson or prom"),
	OPT_VAL("textfile", 0, 'T', CK_DIR, "DIR",
		"also write DIR/obridge.prom atomically for node_exporter"),
	OPT_VAL("timeout", 0, 't', CK_TEXT, "D", "the whole check's deadline (default 10s)"),
	OPT_VAL("after", 0, 'A', CK_TEXT, "N",
		"run --on-fail after N consecutive failures (default 1)"),
	OPT_VAL("on-fail", 0, 'O', CK_TEXT, "CMD",
		"run CMD (with /bin/sh -c) once per failing instance, with\nOBRIDGE_INSTANCE, OBRIDGE_URL, OBRIDGE_STATE and\nOBRIDGE_MESSAGE in its environment; its output is shown on\nstderr and stored with the run"),
	OPT_VAL("on-fail-timeout", 0, 256, CK_TEXT, "D",
		"kill the hook's process group after D (default 30s)"),
	OPT_VAL("cert-days", 0, 257, CK_TEXT, "W[,C]",
		"https instances and balancer: WARNING when the TLS certificate\nexpires within W days, CRITICAL within C (default 0)"),
	OPT_VAL("watch", 0, 'W', CK_TEXT, "D",
		"repeat every D in the foreground until interrupted"),
	OPT_VAL("lock-wait", 0, 'L', CK_TEXT, "D",
		"wait up to D for another health run to finish (default:\nexit 3 at once naming the holder)"),
	OPT_VAL("model", 'm', 'm', CK_MODEL, "M",
		"model for the level-3 probe when the fleet lists none"),
	OPT_FLAG("load", 0, 'D',
		 "level 3: also probe models that are not resident, loading\nthem (by default they are reported and skipped)"),
	OPT_FLAG("history", 0, 'H', "availability per instance and incidents from the store"),
	OPT_VAL("since", 0, 'S', CK_TEXT, "D", "how far back --history looks (default 7d)"),
	OPT_END,
};

const struct cmd_spec spec_health = {
	.usage = usage,
	.opts = opts,
	.json = "the same as --format json",
	.in_order = 1,
};

enum fmt { FMT_AUTO, FMT_TEXT, FMT_JSON, FMT_NAGIOS, FMT_PROM };

struct hopts {
	int level;
	struct nagios_range warn, crit;
	enum fmt fmt;
	const char *textfile;
	int64_t timeout_ns;
	int after;
	const char *on_fail;
	int64_t on_fail_timeout_ns;
	int cert_warn, cert_crit, cert_check;
	int64_t watch_ns;
	int64_t lock_wait_ns;
	const char *model;
	int load;               /* --load: level 3 may load models */
	int history;
	int64_t since_ns;
};

static const char *state_name(enum probe_state s)
{
	return nagios_state_name((enum nagios_state)s);
}

static int exit_for(enum probe_state s)
{
	return s == PROBE_OK ? EXIT_OK : s == PROBE_WARN ? EXIT_WARN :
	       s == PROBE_CRIT ? EXIT_CRIT : EXIT_UNKNOWN;
}

/* Run the on-fail command for one instance with its details in the environment, bounded by
 * --on-fail-timeout; its output goes to stderr (sanitized) and into output. */
static int run_on_fail(const struct hopts *o, const struct probe_instance *pi, struct buf *output,
		       int *timed_out)
{
	char *env[] = {
		xasprintf("OBRIDGE_INSTANCE=%s", pi->in->name),
		xasprintf("OBRIDGE_URL=%s", pi->in->url),
		xasprintf("OBRIDGE_STATE=%s", pi->up ? state_name(pi->state) : "DOWN"),
		xasprintf("OBRIDGE_MESSAGE=%s", pi->nproblems ? pi->problems[0] : ""),
		NULL,
	};
	static const char *const unset[] = { "OBRIDGE_API_KEY", NULL };
	char err[ERR_MAX];
	struct proc_result pr;
	fflush(stdout);
	fflush(stderr);
	int rc = proc_run(o->on_fail, env, unset, o->on_fail_timeout_ns,
			  (const volatile int *)&cmd_interrupted, output, &pr, err);
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	*timed_out = 0;
	if (rc < 0) {
		cmd_warn("health", "--on-fail for '%s': %s", pi->in->name, err);
		return -1;
	}
	const char *text = buf_str(output);
	for (const char *line = text, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		char *one = xstrndup(line, nl ? (size_t)(nl - line) : strlen(line));
		fprintf(stderr, "obridge health: on-fail for '%s': %s\n", pi->in->name,
			text_sanitize(one, strlen(one) + 1, one));
		free(one);
		if (!nl)
			break;
	}
	*timed_out = pr.timed_out;
	if (pr.timed_out) {
		char d[32];
		units_fmt_duration(o->on_fail_timeout_ns, d, sizeof(d));
		cmd_warn("health", "--on-fail for '%s' ran out of its %s and was killed",
			 pi->in->name, d);
	}
	return pr.status;
}

/* Start the run in the store (status "running"); returns 0 or -1 (printed). */
static int record_begin(struct ctx *ctx, const struct hopts *o, int64_t *id)
{
	char err[ERR_MAX];
	struct buf fp = BUF_INIT, params = BUF_INIT;
	buf_adds(&fp, "{\"obridge\":\"" OBRIDGE_VERSION_STRING "\",\"target\":");
	buf_add_json_str(&fp, ctx->fleet->path ? ctx->fleet->path : ctx->fleet->name);
	buf_adds(&fp, ",\"instances\":[");
	for (size_t i = 0; i < ctx->fleet->ninstances; i++) {
		if (i)
			buf_adds(&fp, ",");
		buf_add_json_str(&fp, ctx->fleet->instances[i].url);
	}
	buf_adds(&fp, "]}");
	buf_addf(&params, "{\"level\":%d,\"warning\":", o->level);
	buf_add_json_str(&params, o->warn.set ? o->warn.text : "");
	buf_adds(&params, ",\"critical\":");
	buf_add_json_str(&params, o->crit.set ? o->crit.text : "");
	buf_addf(&params, ",\"timeout_s\":%.3f}", o->timeout_ns / 1e9);
	int rc = store_run_begin(ctx->store, "health", ctx->fleet->name, buf_str(&fp),
				 buf_str(&params), id, err);
	if (rc < 0)
		cmd_error("health", "%s", err);
	buf_release(&fp);
	buf_release(&params);
	return rc < 0 ? -1 : 0;
}

/* Record the probes, run on-fail hooks, finish the run. Returns 0 or -1 (printed). */
static int record(struct ctx *ctx, int64_t id, const struct probe_result *r,
		  const struct hopts *o, const char *json, struct buf *hooks)
{
	char err[ERR_MAX];
	int rc = -1;
	for (size_t i = 0; i < r->n; i++) {
		const struct probe_instance *pi = &r->inst[i];
		const char *msg = pi->nproblems ? pi->problems[0] : pi->summary;
		/* The HEAD / latency whatever the level: one kind of figure in the history
		 * (top's sparkline), not a generate mixed in at level 3. */
		if (store_probe_add(ctx->store, id, pi->in->name, pi->in->url, r->started_wall_ns,
				    probe_state_word(pi), pi->up ? pi->root_ns : 0, msg, err) < 0)
			goto fail;
	}
	/* on-fail hooks after N consecutive failures, counted from the store */
	if (o->on_fail) {
		for (size_t i = 0; i < r->n; i++) {
			const struct probe_instance *pi = &r->inst[i];
			if (pi->state != PROBE_CRIT)
				continue;
			/* consecutive failures, newest first, this run's probe included */
			struct store_probe *pr;
			size_t np;
			if (store_probes_list(ctx->store, 0, pi->in->name, o->after + 1, &pr, &np,
					      err) < 0)
				goto fail;
			int streak = 0;
			while ((size_t)streak < np && (!strcmp(pr[streak].state, "crit") ||
						       !strcmp(pr[streak].state, "down")))
				streak++;
			store_probes_free(pr, np);
			if (streak != o->after)
				continue;
			struct buf out;
			buf_init(&out, 64 * 1024);
			int timed_out;
			int status = run_on_fail(o, pi, &out, &timed_out);
			if (hooks->len)
				buf_adds(hooks, ",");
			buf_adds(hooks, "{\"instance\":");
			buf_add_json_str(hooks, pi->in->name);
			buf_addf(hooks, ",\"exit\":%d,%s\"output\":", status,
				 timed_out ? "\"timed_out\":true," : "");
			char *clean = text_sanitize_dup(buf_str(&out));
			buf_add_json_str(hooks, clean);
			free(clean);
			buf_adds(hooks, "}");
			if (status > 0 && !timed_out)
				cmd_warn("health", "--on-fail for '%s' exited %d", pi->in->name, status);
			buf_release(&out);
		}
	}
	struct buf summary = BUF_INIT;
	buf_adds(&summary, json);
	if (hooks->len) {
		summary.len--; /* drop the final '}' */
		buf_addf(&summary, ",\"on_fail\":[%s]}", buf_str(hooks));
	}
	rc = store_run_finish(ctx->store, id,
			      r->state == PROBE_OK ? "ok" : r->state == PROBE_WARN ? "warn" : "failed",
			      buf_str(&summary), err);
	buf_release(&summary);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	cmd_error("health", "%s", err);
	return -1;
}

static int one_run(struct ctx *ctx, struct http_engine *e, const struct hopts *o)
{
	struct probe_opts po = { 0 };
	po.level = o->level;
	po.timeout_ns = o->timeout_ns;
	po.model = o->model;
	po.load = o->load;
	po.cancel = (const volatile int *)&cmd_interrupted;
	struct probe_result r;
	char err[ERR_MAX];
	int64_t id = 0;
	/* without a store (it could not be opened) the fleet is still checked and shown */
	if (ctx->store && record_begin(ctx, o, &id) < 0)
		return EXIT_UNKNOWN;
	if (probe_run(e, ctx->fleet, &po, &r, err) < 0) {
		cmd_error("health", "%s", err);
		if (ctx->store)
			store_run_finish(ctx->store, id, "failed", NULL, err);
		return EXIT_UNKNOWN;
	}
	probe_evaluate(&r, &o->warn, &o->crit);
	if (o->cert_check)
		probe_cert_check(&r, o->cert_warn, o->cert_crit, (int64_t)time(NULL));
	const char *bal = ctx->fleet->balancer;
	if (o->cert_check && bal && !strncmp(bal, "https:", 6))
		probe_balancer_cert(e, bal, o->timeout_ns, o->cert_warn, o->cert_crit,
				    (int64_t)time(NULL), &r);
	char *json = healthview_json(&r, ctx->fleet->name);
	struct buf hooks;
	buf_init(&hooks, 1024 * 1024);
	int rc = exit_for(r.state);
	if (ctx->store && record(ctx, id, &r, o, json, &hooks) < 0)
		rc = EXIT_UNKNOWN;

	if (o->textfile) {
		char *prom = healthview_prom(&r);
		if (prom_write_textfile(o->textfile, "obridge.prom", prom, strlen(prom), err) < 0) {
			cmd_error("health", "%s", err);
			rc = EXIT_UNKNOWN;
		}
		free(prom);
	}
	if (!(ctx->quiet && r.state == PROBE_OK)) {
		enum fmt f = o->fmt;
		if (f == FMT_AUTO)
			f = ctx->json ? FMT_JSON : ctx->stdout_tty ? FMT_TEXT : FMT_NAGIOS;
		if (f == FMT_JSON) {
			puts(json);
		} else if (f == FMT_NAGIOS) {
			healthview_nagios(stdout, &r, &o->warn, &o->crit);
		} else if (f == FMT_PROM) {
			char *prom = healthview_prom(&r);
			fputs(prom, stdout);
			free(prom);
		} else {
			healthview_text(stdout, &r, ctx->fleet->name, ctx->color);
		}
		fflush(stdout);
	}
	buf_release(&hooks);
	free(json);
	probe_result_release(&r);
	return rc;
}

/* Sleep up to ns, waking early when interrupted. */
static void nap(int64_t ns)
{
	int64_t end = mono_ns() + ns;
	while (!cmd_interrupted) {
		int64_t left = end - mono_ns();
		if (left <= 0)
			break;
		int64_t step = left < 100000000 ? left : 100000000;
		struct timespec ts = { (time_t)(step / 1000000000), (long)(step % 1000000000) };
		nanosleep(&ts, NULL);
	}
}

static int show_history(struct ctx *ctx, const struct hopts *o)
{
	char err[ERR_MAX];
	struct store_probe *all;
	size_t nall;
	if (store_probes_list(ctx->store, 0, NULL, 0, &all, &nall, err) < 0) {
		cmd_error("health", "%s", err);
		return EXIT_UNKNOWN;
	}
	healthview_history(stdout, stderr, all, nall, o->since_ns, ctx->json || o->fmt == FMT_JSON,
			   ctx->quiet, ctx->color);
	store_probes_free(all, nall);
	return EXIT_OK;
}

int cmd_health(int argc, char **argv, struct ctx *ctx)
{
	struct hopts o = { 0 };
	o.level = 2;
	o.timeout_ns = 10000000000LL;
	o.after = 1;
	o.on_fail_timeout_ns = 30000000000LL;
	o.since_ns = 7LL * 24 * 3600 * 1000000000LL;
	char err[ERR_MAX];
	int c;
	char *end;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'l':
			o.level = (int)strtol(g.arg, &end, 10);
			if (*end || o.level < 1 || o.level > 3)
				return cmd_usage_error("health", "--level must be 1, 2 or 3, not '%s'",
						       g.arg);
			break;
		case 'w':
		case 'c':
			if (nagios_range_parse(c == 'w' ? &o.warn : &o.crit, g.arg, err) < 0)
				return cmd_usage_error("health", "%s: %s",
						       c == 'w' ? "--warning" : "--critical", err);
			break;
		case 'F':
			if (!strcmp(g.arg, "text"))
				o.fmt = FMT_TEXT;
			else if (!strcmp(g.arg, "json"))
				o.fmt = FMT_JSON;
			else if (!strcmp(g.arg, "nagios"))
				o.fmt = FMT_NAGIOS;
			else if (!strcmp(g.arg, "prom"))
				o.fmt = FMT_PROM;
			else
				return cmd_usage_error("health", "--format must be text, json, nagios "
								 "or prom, not '%s'", g.arg);
			break;
		case 'T':
			o.textfile = g.arg;
			break;
		case 't':
		case 'W':
		case 'L':
		case 'S':
		case 256: {
			int64_t ns = 0;
			const char *name = c == 't' ? "timeout" : c == 'W' ? "watch" :
					   c == 'L' ? "lock-wait" : c == 256 ? "on-fail-timeout" : "since";
			if (units_parse_duration(g.arg, &ns, c == 'S' ? UNITS_DAYS : 0, err) < 0)
				return cmd_usage_error("health", "--%s: %s", name, err);
			if (ns <= 0)
				return cmd_usage_error("health", "--%s: must be positive, not '%s'",
						       name, g.arg);
			if (c == 't')
				o.timeout_ns = ns;
			else if (c == 'W')
				o.watch_ns = ns;
			else if (c == 'L')
				o.lock_wait_ns = ns;
			else if (c == 256)
				o.on_fail_timeout_ns = ns;
			else
				o.since_ns = ns;
			break;
		}
		case 'A':
			o.after = (int)strtol(g.arg, &end, 10);
			if (*end || o.after < 1 || o.after > 1000000)
				return cmd_usage_error("health", "--after must be a positive number, "
								 "not '%s'", g.arg);
			break;
		case 'O':
			o.on_fail = g.arg;
			break;
		case 257: {
			long w = strtol(g.arg, &end, 10), cr = 0;
			if (*end == ',')
				cr = strtol(end + 1, &end, 10);
			if (*end || w < 0 || cr < 0 || w > 36500 || cr > w)
				return cmd_usage_error("health", "--cert-days must be W or W,C (days, C no "
								 "more than W), not '%s'", g.arg);
			o.cert_warn = (int)w;
			o.cert_crit = (int)cr;
			o.cert_check = 1;
			break;
		}
		case 'm':
			o.model = g.arg;
			break;
		case 'D':
			o.load = 1;
			break;
		case 'H':
			o.history = 1;
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("health", "unexpected argument '%s'", argv[g.optind]);
	if (ctx_open_store(ctx, "health") < 0) {
		if (o.history)
			return EXIT_UNKNOWN;
		/* The check does not need the store: check and print, say what is lost. */
		cmd_warn("health", "the store failed (above): this check is not recorded%s",
			 o.on_fail ? ", and --on-fail, which counts failures in it, does not run" :
				     "");
	}
	if (o.history)
		return show_history(ctx, &o);

	/* One health run at a time per store: cron runs must not pile up. */
	struct lock lk = LOCK_INIT;
	if (ctx->store) {
		char *lockpath = xasprintf("%s.health.lock", store_path(ctx->store));
		int lr = lock_acquire(&lk, lockpath, o.lock_wait_ns, err);
		free(lockpath);
		if (lr != 0) {
			cmd_error("health", "%s", err);
			return EXIT_UNKNOWN;
		}
	}
	struct http_engine *e = ctx_http_engine(ctx, "health");
	if (!e) {
		lock_release(&lk);
		return EXIT_UNKNOWN;
	}
	cmd_trap_interrupt(1);
	int rc;
	for (;;) {
		rc = one_run(ctx, e, &o);
		if (!o.watch_ns || cmd_interrupted)
			break;
		nap(o.watch_ns);
		if (cmd_interrupted)
			break;
		if (!ctx->quiet && o.fmt != FMT_JSON && !ctx->json)
			putchar('\n');
	}
	cmd_trap_interrupt(0);
	http_engine_free(e);
	lock_release(&lk);
	return rc;
}
