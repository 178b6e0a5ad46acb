/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge top: a live dashboard of the fleet (curses), or snapshots in batch mode. */
#include "../lib/compat.h"
#include "cmd.h"

#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/bench/run.h"
#include "../lib/fleet/fleet.h"
#include "../lib/fleet/snapshot.h"
#include "../lib/http/http.h"
#include "../lib/render/layout.h"
#include "../lib/render/render.h"
#include "../lib/render/tui.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

#define SEC 1000000000LL
#define INTERVAL_MIN (SEC / 10)
#define INTERVAL_MAX (3600 * SEC)

static const char *const usage[] = {
	"usage: obridge top [-d INTERVAL] [--once] [-n N] [--json] [--level 1|2]",
	"                   [--timeout D] [--no-color]",
	"",
	"A live dashboard of the fleet: one row per instance with its state (UP, SLOW,",
	"DEGRADED, DOWN) and how long it has been in it, version, probe latency and its",
	"history, models resident (VRAM/CPU), context, expiry and models missing against",
	"the fleet file, and GPU figures where the fleet file gives a metrics_url.",
	"Without a terminal on stdout it prints one snapshot (--once).",
	"",
	CMD_OPTIONS,
	"",
	"Keys: q quit, + / - interval, space pause, s / S sort column and order, / filter",
	"(a leading ! inverts), Enter expand, p / u preload / unload the selected model,",
	"w warm up, h health check now, ? help.",
	"",
	"Exit status: 0, or 3 for a usage error or no terminal for the screen.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("delay", 'd', 'd', CK_TEXT, "D", "refresh interval (default 2s; bare numbers are seconds)"),
	OPT_FLAG("once", 0, 'o', "print one snapshot as a table (or JSON with --json) and exit"),
	OPT_VAL("iterations", 'n', 'n', CK_TEXT, "N", "print N snapshots, one per interval, and exit"),
	OPT_CHOICE("level", 'l', 'l', "1 2", "N",
		   "1: reachable only; 2: also models installed and resident\n(default 2)"),
	OPT_VAL("timeout", 0, 't', CK_TEXT, "D", "how long one poll waits for an instance (default 5s)"),
	OPT_END,
};

const struct cmd_spec spec_top = {
	.usage = usage,
	.opts = opts,
	.json = "JSON instead of a table (one object per line with -n)",
	.in_order = 1,
};

static volatile sig_atomic_t top_stop;
static struct http_engine *top_engine;

static void on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
	cmd_interrupted = 1;
	if (top_engine)
		http_wakeup(top_engine);
}

static void install_signals(struct sigaction *old)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction *old)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
}

static int locale_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

/* Run one poll to completion (batch mode), still answering signals. */
static void poll_once(struct snapshot *s, struct http_engine *e)
{
	snapshot_poll_start(s, e);
	while (snapshot_poll_busy(s) && !top_stop) {
		http_poll(e, SEC / 10, -1, NULL);
		snapshot_poll_collect(s);
	}
	snapshot_poll_collect(s);
}

static void wait_until(struct http_engine *e, int64_t t)
{
	while (!top_stop) {
		int64_t left = t - mono_ns();
		if (left <= 0)
			break;
		http_poll(e, left, -1, NULL);
	}
}

/* The latency rings from the store's probe history (oldest first). */
static void backfill(struct snapshot *s, struct store *st)
{
	for (size_t i = 0; i < s->n; i++) {
		struct store_probe *pr = NULL;
		size_t n = 0;
		if (store_probes_list(st, 0, s->inst[i].in->name, SNAPSHOT_HIST, &pr, &n, NULL) < 0)
			return;
		for (size_t k = n; k-- > 0;)
			snapshot_backfill_add(s, i, pr[k].url, !strcmp(pr[k].state, "down"),
					      pr[k].latency_ns);
		store_probes_free(pr, n);
	}
}

/* The bench panel from a running bench run in the store. */
static void read_bench(struct snapshot *s, struct store *st)
{
	struct bench_live l;
	struct snapshot_bench *b = &s->bench;
	int found = bench_live_read(st, &l, NULL);
	memset(b, 0, sizeof(*b));
	b->p95_ns = b->errors = b->requests = -1;
	if (found != 1)
		return;
	b->active = 1;
	b->run_id = l.run_id;
	snprintf(b->target, sizeof(b->target), "%s", l.target);
	b->started_ns = l.started_ns;
	snprintf(b->step, sizeof(b->step), "%s", l.step);
	b->p95_ns = l.p95_ns;
	b->errors = l.errors;
	b->requests = l.requests;
}

static int run_batch(struct snapshot *s, struct http_engine *e, struct ctx *ctx, int json,
		     long n, int64_t interval, int utf8)
{
	for (long k = 0; k < n && !top_stop; k++) {
		int64_t t0 = mono_ns();
		poll_once(s, e);
		if (top_stop)
			break;
		if (ctx->store)
			read_bench(s, ctx->store);
		if (json) {
			struct buf b = BUF_INIT;
			snapshot_to_json(s, &b);
			fputs(buf_str(&b), stdout);
			fputc('\n', stdout);
			buf_release(&b);
		} else {
			if (k)
				fputc('\n', stdout);
			layout_print_batch(stdout, s, interval, ctx->color > 0, utf8);
		}
		if (fflush(stdout) == EOF || ferror(stdout))
			return EXIT_UNKNOWN; /* a closed pipe: main reports the write error */
		if (k + 1 < n)
			wait_until(e, t0 + interval);
	}
	return EXIT_OK;
}

/* One line on the outcome of a health check (h). */
static void health_message(struct tui *t, const struct snapshot *s)
{
	size_t bad = 0;
	const struct snapshot_inst *first = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->inst[i].state != SNAP_UP) {
			if (!bad++)
				first = &s->inst[i];
		}
	if (!bad)
		tui_message(t, "health: all %zu instances UP, %zu/%zu models resident", s->n,
			    s->resident, s->expected);
	else
		tui_message(t, "health: %zu/%zu up, %zu not UP; %s %s: %s", s->up, s->n, bad,
			    first->in->name, snapshot_state_name(first->state),
			    first->problem[0] ? first->problem : "slow");
}

static int run_screen(struct snapshot *s, struct http_engine *e, struct ctx *ctx,
		      int64_t interval, int utf8)
{
	char err[ERR_MAX];
	struct tui_opts to = { ctx->color > 0, utf8 };
	struct tui *t = tui_open(&to, err);
	if (!t) {
		cmd_error("top", "%s", err);
		return EXIT_UNKNOWN;
	}
	int64_t next = mono_ns(), last_draw = 0;
	int health_wanted = 0, dirty = 1;
	while (!top_stop) {
		int64_t now = mono_ns();
		if (!tui_paused(t) && !snapshot_poll_busy(s) && now >= next) {
			snapshot_poll_start(s, e);
			next = now + interval;
		}
		if (snapshot_poll_collect(s)) {
			dirty = 1;
			if (!snapshot_poll_busy(s)) {
				if (ctx->store)
					read_bench(s, ctx->store);
				if (health_wanted) {
					health_wanted = 0;
					health_message(t, s);
				}
			}
		}
		if (dirty || now - last_draw >= SEC) {
			tui_draw(t, s, interval);
			last_draw = now;
			dirty = 0;
		}
		int64_t wait = SEC - (now - last_draw);
		if (!tui_paused(t) && !snapshot_poll_busy(s) && next - now < wait)
			wait = next - now;
		if (wait < 0)
			wait = 0;
		int kb = 0, acting = s->action_busy;
		if (http_poll(e, wait, STDIN_FILENO, &kb) < 0)
			break;
		int more = 1, quit = 0;
		while (more && !quit) {
			struct tui_action_req act;
			enum tui_req r = tui_key(t, s, &act, &more);
			switch (r) {
			case TUI_QUIT:
				quit = 1;
				break;
			case TUI_SLOWER:
				interval = interval < SEC ? interval + SEC / 10 : interval + SEC;
				if (interval > INTERVAL_MAX)
					interval = INTERVAL_MAX;
				next = mono_ns() + interval;
				break;
			case TUI_FASTER:
				interval = interval <= SEC ? interval - SEC / 10 : interval - SEC;
				if (interval < INTERVAL_MIN)
					interval = INTERVAL_MIN;
				next = mono_ns();
				break;
			case TUI_PAUSE:
				tui_message(t, "%s", tui_paused(t) ? "paused" : "");
				next = mono_ns();
				break;
			case TUI_HEALTH:
				health_wanted = 1;
				next = mono_ns();
				tui_message(t, "health check running...");
				break;
			case TUI_ACTION:
				tui_message(t, "%s", "");
				if (snapshot_action_start(s, e, (enum snapshot_action)act.action, act.inst,
							  act.model, err) < 0)
					tui_message(t, "%s", err);
				break;
			default:
				break;
			}
			if (r != TUI_NONE)
				dirty = 1;
		}
		if (quit)
			break;
		if (acting && !s->action_busy) {
			/* an action finished: poll now to show its effect */
			next = mono_ns();
			dirty = 1;
		}
	}
	tui_close(t);
	return EXIT_OK;
}

int cmd_top(int argc, char **argv, struct ctx *ctx)
{
	int64_t interval = 2 * SEC, timeout = 5 * SEC;
	int once = 0, json = ctx->json, level = 2;
	long iterations = 0;
	char err[ERR_MAX];
	int c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'd':
			if (units_parse_duration(g.arg, &interval, 0, err) < 0)
				return cmd_usage_error("top", "bad interval '%s': %s", g.arg, err);
			if (interval < INTERVAL_MIN || interval > INTERVAL_MAX)
				return cmd_usage_error("top", "interval '%s' outside 100ms..1h", g.arg);
			break;
		case 'o':
			once = 1;
			break;
		case 'n': {
			char *end;
			iterations = strtol(g.arg, &end, 10);
			if (*end || end == g.arg || iterations < 1 || iterations > 1000000)
				return cmd_usage_error("top", "bad iteration count '%s'", g.arg);
			break;
		}
		case 'l':
			if (strcmp(g.arg, "1") && strcmp(g.arg, "2"))
				return cmd_usage_error("top", "--level takes 1 or 2, not '%s'", g.arg);
			level = g.arg[0] - '0';
			break;
		case 't':
			if (units_parse_duration(g.arg, &timeout, 0, err) < 0 || timeout <= 0)
				return cmd_usage_error("top", "bad timeout '%s'", g.arg);
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("top", "unexpected argument '%s'", argv[g.optind]);
	/* JSON and the exposition parser want '.' decimals whatever the locale says */
	setlocale(LC_NUMERIC, "C");
	int batch = once || json || iterations > 0 || !isatty(STDOUT_FILENO);
	if (batch && !iterations)
		iterations = 1;
	int utf8 = locale_utf8();

	struct http_engine *e = ctx_http_engine(ctx, "top");
	if (!e)
		return EXIT_UNKNOWN;
	/* the store feeds the sparklines and the bench panel; top works without it */
	if (!ctx->store) {
		char path[4096];
		const char *p = ctx->db_path;
		if (!p && store_default_path(path, sizeof(path), err) == 0 && access(path, R_OK) == 0)
			p = path;
		if (p && store_open(&ctx->store, p, err) != STORE_OK)
			ctx->store = NULL;
	}
	struct snapshot_opts so = { level, timeout < interval ? timeout : interval, 0 };
	if (so.timeout_ns < SEC)
		so.timeout_ns = timeout < SEC ? timeout : SEC;
	struct snapshot s;
	snapshot_init(&s, ctx->fleet, &so);
	if (ctx->store)
		backfill(&s, ctx->store);

	struct sigaction old[3];
	top_stop = 0;
	top_engine = e;
	install_signals(old);
	int rc;
	if (batch)
		rc = run_batch(&s, e, ctx, json, iterations, interval, utf8);
	else
		rc = run_screen(&s, e, ctx, interval, utf8);
	snapshot_release(&s);
	http_engine_free(e);
	top_engine = NULL;
	restore_signals(old);
	return rc;
}
