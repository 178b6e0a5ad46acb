/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge unload: send keep_alive 0 for the named (or fleet, or loaded) models and confirm. */
#include "../lib/compat.h"
#include "cmd.h"

#include <getopt.h>
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
	"      --wait D   how long to wait for /api/ps to stop listing them (default 10s)",
	"      --json     JSON output",
	"",
	"Exit: 0 all unloaded, 1 some still loaded, 2 requests failed, 3 usage error.",
	NULL,
};

int cmd_unload(int argc, char **argv, struct ctx *ctx)
{
	static const struct option longopts[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t wait = 10000000000LL;
	char err[ERR_MAX];
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (units_parse_duration(optarg, &wait, 0, err) < 0)
				return cmd_usage_error("unload", "--wait: %s", err);
			break;
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			cmd_print_usage(stdout, usage);
			return EXIT_OK;
		default:
			return cmd_usage_error("unload", "unknown option '%s'", argv[optind - 1]);
		}
	}
	struct http_engine *e = ctx_http_engine(ctx, "unload");
	if (!e)
		return EXIT_UNKNOWN;
	struct load_set s;
	int r;
	if (optind == argc && ctx->fleet->nmodels == 0)
		r = load_plan_loaded(e, ctx->fleet, 10000000000LL, &s, err);
	else
		r = load_plan(ctx->fleet, (const char *const *)argv + optind,
			      (size_t)(argc - optind), 0, 0, &s, err);
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
