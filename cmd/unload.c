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
	"usage: obridge unload [MODEL...] [--wait D] [--json]",
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
	OPT_VAL("wait", 0, 'w', CK_TEXT, "D",
		"how long to wait for /api/ps to stop listing them (default 10s)"),
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
	int64_t wait = 10000000000LL;
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
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	struct http_engine *e = ctx_http_engine(ctx, "unload");
	if (!e)
		return EXIT_UNKNOWN;
	struct load_set s;
	int r;
	if (g.optind == argc && ctx->fleet->nmodels == 0)
		r = load_plan_loaded(e, ctx->fleet, 10000000000LL, &s, err);
	else
		r = load_plan(ctx->fleet, (const char *const *)argv + g.optind,
			      (size_t)(argc - g.optind), 0, 0, &s, err);
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
	load_readback(e, &s, 10000000000LL, 0);
	load_run(e, &s, 1, 60000000000LL, NULL, NULL, NULL);
	load_readback(e, &s, 10000000000LL, wait);
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
