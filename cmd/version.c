/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge version: the program's version and the libraries it was built with. */
#include "../lib/compat.h"
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "../lib/http/http.h"
#include "../lib/sim/sim.h"
#include "../lib/store/store.h"
#include "../lib/util/json.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge version [--json]",
	"",
	"Print obridge's version and the versions of the libraries it runs with.",
	"",
	CMD_OPTIONS,
	NULL,
};

static const struct cmd_opt opts[] = { OPT_END };

const struct cmd_spec spec_version = {
	.usage = usage,
	.opts = opts,
	.json = "print JSON",
};

int cmd_version(int argc, char **argv, struct ctx *ctx)
{
	struct cmd_getopt g;
	int c;
	cmd_getopt_init(&g, argc, argv);
	if ((c = cmd_getopt_next(&g)) != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("version", "unexpected argument '%s'", argv[g.optind]);
	if (ctx->json) {
		printf("{\"version\":\"%s\",\"libcurl\":\"%s\",\"sqlite\":\"%s\","
		       "\"libmicrohttpd\":\"%s\",\"cjson\":\"%s\"}\n",
		       OBRIDGE_VERSION_STRING, http_lib_version(), store_lib_version(),
		       sim_lib_version(), json_lib_version());
		return EXIT_OK;
	}
	printf("obridge %s\n", OBRIDGE_VERSION_STRING);
	if (!ctx->quiet)
		printf("libcurl %s, sqlite %s, libmicrohttpd %s, cJSON %s\n", http_lib_version(),
		       store_lib_version(), sim_lib_version(), json_lib_version());
	return EXIT_OK;
}
