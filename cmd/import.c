/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge import: an nginx upstream or HAProxy backend read back as a fleet file. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/emit/emit.h"
#include "../lib/util/buf.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge import nginx FILE [--upstream NAME] [-o FILE]",
	"       obridge import haproxy FILE [--backend NAME] [-o FILE]",
	"",
	"Read an nginx upstream or a HAProxy backend and print it as a fleet file: servers,",
	"weights, backups, the listen address as balancer. A directive with no fleet-file",
	"equivalent becomes a comment. A config from obridge emit gives its fleet back.",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 written, 2 cannot read or write, 3 usage error or a config it cannot read",
	"(the message names file and line).",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_ARG(1, CK_WORDS, "nginx haproxy", "config kind"),
	OPT_ARG(2, CK_FILE, NULL, "config file"),
	OPT_VAL("upstream", 0, 'u', CK_TEXT, "NAME",
		"the nginx upstream (default: the only one, else the largest)"),
	OPT_VAL("backend", 0, 'b', CK_TEXT, "NAME",
		"the HAProxy backend (default: the frontend's default_backend)"),
	OPT_VAL("output", 'o', 'o', CK_FILE, "FILE", "write the fleet file there instead of stdout"),
	OPT_END,
};

const struct cmd_spec spec_import = { .usage = usage, .opts = opts };

int cmd_import(int argc, char **argv, struct ctx *ctx)
{
	const char *upstream = NULL, *backend = NULL, *output = NULL;
	int c;
	(void)ctx;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'u':
			upstream = g.arg;
			break;
		case 'b':
			backend = g.arg;
			break;
		case 'o':
			output = g.arg;
			break;
		}
	}
	if (c != CMD_OPT_END)
		return cmd_getopt_exit(c);
	int first = g.optind;
	if (argc - first != 2)
		return cmd_usage_error("import", argc - first < 2 ?
				       "expected nginx|haproxy and a FILE" :
				       "unexpected argument '%s'", argv[argc - 1]);
	enum import_kind kind;
	if (!strcmp(argv[first], "nginx"))
		kind = IMPORT_NGINX;
	else if (!strcmp(argv[first], "haproxy"))
		kind = IMPORT_HAPROXY;
	else
		return cmd_usage_error("import", "unknown config '%s' (nginx or haproxy)",
				       argv[first]);
	if (kind == IMPORT_NGINX && backend)
		return cmd_usage_error("import", "--backend is for haproxy; nginx takes --upstream");
	if (kind == IMPORT_HAPROXY && upstream)
		return cmd_usage_error("import", "--upstream is for nginx; haproxy takes --backend");
	const char *file = argv[first + 1];
	FILE *fp = fopen(file, "r");
	if (!fp) {
		cmd_error("import", "cannot read '%s': %s", file, strerror(errno));
		return EXIT_CRIT;
	}
	struct buf in;
	buf_init(&in, 16u * 1024 * 1024);
	char chunk[8192];
	size_t n;
	int toobig = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(&in, chunk, n) < 0) {
			toobig = 1;
			break;
		}
	int rerr = ferror(fp);
	fclose(fp);
	if (rerr || toobig) {
		cmd_error("import", "cannot read '%s': %s", file,
			  toobig ? "larger than 16 MiB" : strerror(EIO));
		buf_release(&in);
		return EXIT_CRIT;
	}
	char *text = NULL, err[ERR_MAX];
	int r = emit_import(kind, buf_str(&in), file, kind == IMPORT_NGINX ? upstream : backend,
			    OBRIDGE_VERSION_STRING, &text, err);
	buf_release(&in);
	if (r < 0) {
		cmd_error("import", "%s", err);
		return EXIT_UNKNOWN;
	}
	int rc = EXIT_OK;
	if (!output) {
		fputs(text, stdout);
		if (fflush(stdout) != 0)
			rc = EXIT_CRIT;
	} else {
		char *tmp = xasprintf("%s.tmp.%ld", output, (long)getpid());
		FILE *o = fopen(tmp, "w");
		int ok = o != NULL;
		if (o) {
			ok = fputs(text, o) >= 0;
			ok = (fclose(o) == 0) && ok;
		}
		if (!ok || rename(tmp, output) != 0) {
			cmd_error("import", "cannot write '%s': %s", output, strerror(errno));
			unlink(tmp);
			rc = EXIT_CRIT;
		}
		free(tmp);
	}
	free(text);
	return rc;
}
