/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge unload: send keep_alive 0 for the named (or fleet, or loaded) models and confirm. */
#include "../lib/compat.h"
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fleet/fleet.h"
#include "../lib/fleet/load.h"
#include "../lib/http/http.h"
#include "../lib/render/loadview.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge unload [MODEL...] [--timeout D] [--wait D] [--json]",
	"",
	"Unload the named models (default: the fleet's models, or whatever is loaded when",
	"the fleet lists none) on every instance with keep_alive 0, then read /api/ps",
	"until they are gone. Requests in flight finish first, as Ollama does.",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 all unloaded, 1 some still loaded, 2 requests failed, 3 usage error.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_VAL("timeout", 0, 't', CK_TEXT, "D",
		"deadline of the requests: listing, unloading, reading\n/api/ps (default 10s)"),
	OPT_VAL("wait", 0, 'w', CK_TEXT, "D",
		"how long to wait for /api/ps to stop listing them (default\n10s); the command ends within --timeout plus --wait"),
	OPT_ARG(0, CK_MODEL, NULL, "model"),
	OPT_END,
};

const struct cmd_spec spec_unload = {
	.usage = usage,
	.opts = opts,
	.json = "JSON output",
};

int cmd_unload(int argc, char **argv, struct ctx *ctx)
{
	int64_t wait = 10000000000LL, timeout = 10000000000LL;
	char err[ERR_MAX];
	int c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'w':
			if (units_parse_duration(g.arg, &wait, 0, err) < 0)
				return cmd_usage_error("unload", "--wait: %s", err);
			break;
		case 't':
			if (units_parse_duration(g.arg, &timeout, 0, err) < 0 || timeout <= 0)
				return cmd_usage_error("unload", "--timeout: %s",
						       timeout <= 0 ? "must be positive" : err);
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	struct http_engine *e = ctx_http_engine(ctx, "unload");
	if (!e)
		return EXIT_UNKNOWN;
	struct load_set s;
	int r;
	struct cmd_deadline dl;
	cmd_deadline_init(&dl, "--timeout", timeout);
	if (g.optind == argc && ctx->fleet->nmodels == 0) {
		r = load_plan_loaded(e, ctx->fleet, cmd_deadline_left(&dl, 0, 0), &s, err);
		cmd_deadline_check(&dl, "unload", "listing the loaded models");
	} else {
		r = load_plan(ctx->fleet, (const char *const *)argv + g.optind,
			      (size_t)(argc - g.optind), 0, 0, &s, err);
	}
	if (r < 0) {
		cmd_error("unload", "%s", err);
		http_engine_free(e);
		return EXIT_UNKNOWN;
	}
	if (s.n == 0) {
		if (!ctx->quiet && !ctx->json)
			fprintf(stderr, "obridge unload: nothing is loaded\n");
		if (ctx->json)
			puts("[]");
		load_set_release(&s);
		http_engine_free(e);
		return EXIT_OK;
	}
	cmd_trap_interrupt(1);
	load_readback(e, &s, cmd_deadline_left(&dl, 0, 0), 0);
	if (!cmd_deadline_check(&dl, "unload", "reading /api/ps")) {
		load_run(e, &s, 1, cmd_deadline_left(&dl, 0, 0), NULL, NULL,
			 (const volatile int *)&cmd_interrupted);
		cmd_deadline_check(&dl, "unload", "unloading");
	}
	for (size_t i = 0; i < s.n; i++)
		if (!s.p[i].done) {
			s.p[i].done = 1;
			snprintf(s.p[i].err, sizeof(s.p[i].err), "not sent: the --timeout ran out");
		}
	/* --wait is on top of --timeout: each poll of /api/ps is bounded by what is left */
	dl.at += wait;
	load_readback(e, &s, cmd_deadline_left(&dl, 500000000LL, 10000000000LL), wait);
	cmd_trap_interrupt(0);
	size_t gone = 0, failed = 0;
	for (size_t i = 0; i < s.n; i++) {
		failed += !s.p[i].ok;
		gone += s.p[i].ok && !s.p[i].resident;
	}
	if (ctx->json) {
		struct buf b = BUF_INIT;
		loadview_json(&b, &s, 0);
		puts(buf_str(&b));
		buf_release(&b);
	} else {
		loadview_table(stdout, &s, ctx->color, 0, 1);
	}
	int rc = failed == s.n ? EXIT_CRIT : gone == s.n ? EXIT_OK : EXIT_WARN;
	load_set_release(&s);
	http_engine_free(e);
	return rc;
}
