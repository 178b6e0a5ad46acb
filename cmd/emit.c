/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge emit: the fleet rendered as the configs of nginx, HAProxy, compose, k8s, ... */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/emit/emit.h"
#include "../lib/fleet/fleet.h"
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
	"  -o, --output FILE|DIR  write there instead of stdout (DIR: one file per output)",
	"      --full             a whole config instead of a snippet (nginx, haproxy)",
	"",
	"Exit: 0 written, 2 cannot write, 3 usage error or a fleet the config cannot express.",
	NULL,
};

static int write_file(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *fp = fopen(tmp, "w");
	int ok = fp != NULL;
	if (fp) {
		ok = fputs(text, fp) >= 0;
		ok = (fclose(fp) == 0) && ok;
	}
	if (!ok || rename(tmp, path) != 0) {
		cmd_error("emit", "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int cmd_emit(int argc, char **argv, struct ctx *ctx)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "full", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	struct emit_opts o = { 0, OBRIDGE_VERSION_STRING };
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'F':
			o.full = 1;
			break;
		case 'h':
			cmd_print_usage(stdout, usage);
			return EXIT_OK;
		default:
			return cmd_usage_error("emit", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cmd_usage_error("emit", "which config? (" EMIT_KINDS ")");
	if (optind + 1 < argc)
		return cmd_usage_error("emit", "unexpected argument '%s'", argv[optind + 1]);
	int kind = emit_kind_parse(argv[optind]);
	if (kind < 0)
		return cmd_usage_error("emit", "unknown config '%s' (" EMIT_KINDS ")",
				       argv[optind]);
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
