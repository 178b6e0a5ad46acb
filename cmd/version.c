/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge version: the program's version and the libraries it was built with. */
#include "../lib/compat.h"
#include "cmd.h"

#include <getopt.h>
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
	NULL,
};

int cmd_version(int argc, char **argv, struct ctx *ctx)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			ctx->json = 1;
			break;
		case 'h':
			cmd_print_usage(stdout, usage);
			return EXIT_OK;
		default:
			return cmd_usage_error("version", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("version", "unexpected argument '%s'", argv[optind]);
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
