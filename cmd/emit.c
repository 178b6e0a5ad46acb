/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge emit: the fleet rendered as the configs of nginx, HAProxy, compose, k8s, ... */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/emit/emit.h"
#include "../lib/fleet/fleet.h"
#include "../lib/util/file.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

#define EMIT_KINDS "nginx, haproxy, compose, k8s, systemd or prometheus"

static const char *const usage[] = {
	"usage: obridge emit nginx|haproxy|compose|k8s|systemd|prometheus [-o FILE|DIR] [--full]",
	"",
	"Render the fleet file as a config, to stdout or -o. Every output starts with a",
	"comment naming the fleet file and obridge's version; the same fleet gives the same",
	"bytes. See obridge-emit(1) for what each config holds.",
	"",
	"  nginx       an upstream and a server block (conf.d snippet; --full: nginx.conf)",
	"  haproxy     a frontend and backends (--full: with global and defaults)",
	"  compose     docker-compose.yml: a service per instance and nginx in front",
	"  k8s         StatefulSet (Deployment with shared_store), Service, HPA, health CronJob",
	"  systemd     ollama@.service, an environment file per instance, the health timer",
	"  prometheus  alerting rules over obridge health's textfile metrics",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 written, 2 cannot write, 3 usage error or a fleet the config cannot express.",
	NULL,
};

static int write_file(const char *path, const char *text)
{
	char err[ERR_MAX];
	if (file_write_atomic(path, text, strlen(text), err) < 0) {
		cmd_error("emit", "cannot write '%s': %s", path, err);
		return -1;
	}
	return 0;
}

static const struct cmd_opt opts[] = {
	OPT_ARG(1, CK_WORDS, "nginx haproxy compose k8s systemd prometheus", "config to render"),
	OPT_VAL("output", 'o', 'o', CK_FILE, "FILE|DIR",
		"write there instead of stdout (DIR: one file per output)"),
	OPT_FLAG("full", 0, 'F', "a whole config instead of a snippet (nginx, haproxy)"),
	OPT_END,
};

const struct cmd_spec spec_emit = { .usage = usage, .opts = opts };

int cmd_emit(int argc, char **argv, struct ctx *ctx)
{
	const char *output = NULL;
	struct emit_opts o = { 0, OBRIDGE_VERSION_STRING };
	int c;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'o':
			output = g.arg;
			break;
		case 'F':
			o.full = 1;
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	int first = g.optind;
	if (first == argc)
		return cmd_usage_error("emit", "which config? (" EMIT_KINDS ")");
	if (first + 1 < argc)
		return cmd_usage_error("emit", "unexpected argument '%s'", argv[first + 1]);
	int kind = emit_kind_parse(argv[first]);
	if (kind < 0)
		return cmd_usage_error("emit", "unknown config '%s' (" EMIT_KINDS ")",
				       argv[first]);
	struct emit_out out;
	char err[ERR_MAX];
	if (emit_render((enum emit_kind)kind, ctx->fleet, &o, &out, err) < 0) {
		cmd_error("emit", "%s: %s", ctx->fleet->path ? ctx->fleet->path : "fleet", err);
		return EXIT_UNKNOWN;
	}
	int rc = EXIT_OK;
	if (!output) {
		for (size_t i = 0; i < out.nfiles; i++) {
			if (out.nfiles > 1)
				printf("%s# ==> %s <==\n", i ? "\n" : "", out.files[i].name);
			fputs(out.files[i].text, stdout);
		}
		if (fflush(stdout) != 0)
			rc = EXIT_CRIT;
	} else {
		struct stat st;
		int isdir = stat(output, &st) == 0 && S_ISDIR(st.st_mode);
		if (!isdir && out.nfiles > 1) {
			if (mkdir(output, 0777) != 0) {
				cmd_error("emit", "cannot create directory '%s': %s", output,
					  strerror(errno));
				emit_out_release(&out);
				return EXIT_CRIT;
			}
			isdir = 1;
		}
		for (size_t i = 0; i < out.nfiles && rc == EXIT_OK; i++) {
			char *path = isdir ? xasprintf("%s/%s", output, out.files[i].name) :
					     xstrdup(output);
			if (write_file(path, out.files[i].text) < 0)
				rc = EXIT_CRIT;
			free(path);
		}
	}
	emit_out_release(&out);
	return rc;
}
