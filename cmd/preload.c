/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge preload: load the fleet's models resident everywhere, then prove it with /api/ps. */
#include "../lib/compat.h"
#include "cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fleet/fleet.h"
#include "../lib/fleet/load.h"
#include "../lib/http/http.h"
#include "../lib/render/loadview.h"
#include "../lib/render/progress.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge preload [MODEL...] [--keep-alive D] [--timeout D] [--json]",
	"",
	"Load every fleet model (or the named ones) on every instance that should hold it,",
	"in parallel across instances, with the fleet's keep_alive and num_ctx (never",
	"options that differ, which would reload), then read /api/ps back and report each",
	"model as resident (size, processor, context, expiry) or not.",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 all resident, 1 some not resident, 2 none, 3 usage or configuration error.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("keep-alive", 0, 'k', CK_TEXT, "D",
		"keep_alive to send instead of the fleet's (5m, 24h, -1 forever)"),
	OPT_VAL("timeout", 0, 't', CK_TEXT, "D", "deadline for all loads (default 10m)"),
	OPT_ARG(0, CK_MODEL, NULL, "model"),
	OPT_END,
};

const struct cmd_spec spec_preload = {
	.usage = usage,
	.opts = opts,
	.json = "JSON output",
};

static void progress(void *ud, size_t done, size_t total)
{
	progress_line(stderr, 0, "%s: %zu/%zu done", (const char *)ud, done, total);
	if (done == total)
		progress_done(stderr);
}

int cmd_preload(int argc, char **argv, struct ctx *ctx)
{
	int override = 0;
	int64_t ka = 0, timeout = 600000000000LL;
	char err[ERR_MAX];
	int c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'k':
			if (units_parse_duration(g.arg, &ka, UNITS_NEG_FOREVER, err) < 0)
				return cmd_usage_error("preload", "--keep-alive: %s", err);
			override = 1;
			break;
		case 't':
			if (units_parse_duration(g.arg, &timeout, 0, err) < 0 || timeout <= 0)
				return cmd_usage_error("preload", "--timeout: %s",
						       timeout <= 0 ? "must be positive" : err);
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	struct load_set s;
	if (load_plan(ctx->fleet, (const char *const *)argv + g.optind, (size_t)(argc - g.optind),
		      override, ka, &s, err) < 0) {
		cmd_error("preload", "%s", err);
		return EXIT_UNKNOWN;
	}
	struct http_engine *e = ctx_http_engine(ctx, "preload");
	if (!e) {
		load_set_release(&s);
		return EXIT_UNKNOWN;
	}
	int64_t id = 0;
	int recording = ctx_open_store(ctx, "preload") == 0 &&
			store_run_begin(ctx->store, "preload", ctx->fleet->name,
					"{\"obridge\":\"" OBRIDGE_VERSION_STRING "\"}", "{}", &id,
					err) == 0;
	if (ctx->store && !recording)
		cmd_warn("preload", "not recorded: %s", err);
	cmd_trap_interrupt(1);
	int tty = isatty(STDERR_FILENO) && !ctx->quiet;
	struct cmd_deadline dl;
	cmd_deadline_init(&dl, "--timeout", timeout);
	load_run(e, &s, 0, cmd_deadline_left(&dl, 0, 0), tty ? progress : NULL, "preload",
		 (const volatile int *)&cmd_interrupted);
	cmd_deadline_check(&dl, "preload", "loading");
	/* the read-back gets half a second even past the deadline: what did load is shown */
	load_readback(e, &s, cmd_deadline_left(&dl, 500000000LL, 10000000000LL), 0);
	cmd_deadline_check(&dl, "preload", "reading /api/ps back");
	cmd_trap_interrupt(0);

	size_t resident = 0;
	for (size_t i = 0; i < s.n; i++)
		resident += s.p[i].ok && s.p[i].resident;
	int rc = resident == s.n ? EXIT_OK : resident ? EXIT_WARN : EXIT_CRIT;

	struct buf b = BUF_INIT;
	loadview_json(&b, &s, 0);
	if (recording) {
		char *summary = xasprintf("{\"resident\":%zu,\"pairs\":%zu,\"results\":%s}", resident,
					  s.n, buf_str(&b));
		if (store_run_finish(ctx->store, id, cmd_interrupted ? "aborted" : rc == EXIT_OK ?
				     "ok" : rc == EXIT_WARN ? "warn" : "failed", summary, err) < 0) {
			cmd_error("preload", "the run could not be saved: %s", err);
			rc = EXIT_UNKNOWN;
		}
		free(summary);
	}
	if (ctx->json) {
		puts(buf_str(&b));
	} else {
		loadview_table(stdout, &s, ctx->color, 1, 0);
		if (!ctx->quiet)
			printf("\n%zu/%zu resident\n", resident, s.n);
	}
	buf_release(&b);
	http_engine_free(e);
	load_set_release(&s);
	return cmd_interrupted ? EXIT_CRIT : rc;
}
