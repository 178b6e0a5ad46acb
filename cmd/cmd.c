/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What every command shares: messages in git's style, -h text and option parsing from the
 * command's table, the interrupt trap, and the engine and store a command opens from ctx.
 */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fleet/fleet.h"
#include "../lib/http/http.h"
#include "../lib/store/store.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static void vmsg(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("obridge", stderr);
	if (cmd)
		fprintf(stderr, " %s", cmd);
	fputs(": ", stderr);
	if (kind)
		fputs(kind, stderr);
	/* messages carry server text and URLs: never a secret */
	char *m = xvasprintf(fmt, ap);
	fputs(text_redact(m), stderr);
	free(m);
	fputc('\n', stderr);
}

void cmd_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(cmd, NULL, fmt, ap);
	va_end(ap);
}

void cmd_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(cmd, "warning: ", fmt, ap);
	va_end(ap);
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(cmd, NULL, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "try 'obridge %s -h' for more information\n", cmd);
	else
		fputs("try 'obridge -h' for more information\n", stderr);
	return EXIT_UNKNOWN;
}

void cmd_print_usage(FILE *out, const char *const *usage)
{
	for (size_t i = 0; usage[i]; i++)
		fprintf(out, "%s\n", usage[i]);
}

/* "  -m, --model M" / "      --once" / "  -x N": the left column of an option line. */
static void opt_left(const struct cmd_opt *o, char *out, size_t n)
{
	char s[8] = "    ";
	if (o->shrt)
		snprintf(s, sizeof(s), "-%c%s", o->shrt, o->lng ? ", " : "");
	snprintf(out, n, "  %s%s%s%s%s", s, o->lng ? "--" : "", o->lng ? o->lng : "",
		 o->meta ? " " : "", o->meta ? o->meta : "");
}

static void opt_line(FILE *out, const char *left, const char *help, int col)
{
	int w = fprintf(out, "%s", left);
	const char *p = help;
	do {
		size_t len = strcspn(p, "\n");
		fprintf(out, "%*s%.*s\n", w < col ? col - w : 1, "", (int)len, p);
		w = 0;
		p += len;
	} while (*p && *++p);
}

void cmd_print_opts(FILE *out, const struct cmd_opt *opts, const char *json)
{
	static const struct cmd_opt json_row = OPT_FLAG("json", 0, 0, NULL);
	static const struct cmd_opt help_row = OPT_FLAG("help", 'h', 'h', "show this help");
	char left[128];
	int col = 15;
	for (const struct cmd_opt *o = opts; o->lng || o->shrt || o->help; o++) {
		if (!o->lng && !o->shrt)
			continue;
		opt_left(o, left, sizeof(left));
		if ((int)strlen(left) + 1 > col)
			col = (int)strlen(left) + 1;
	}
	if (col > 25)
		col = 25;
	for (const struct cmd_opt *o = opts; o->lng || o->shrt || o->help; o++) {
		if (!o->lng && !o->shrt)
			continue;
		opt_left(o, left, sizeof(left));
		opt_line(out, left, o->help, col);
	}
	if (json) {
		opt_left(&json_row, left, sizeof(left));
		opt_line(out, left, json, col);
	}
	if (opts != global_opts) {
		opt_left(&help_row, left, sizeof(left));
		opt_line(out, left, help_row.help, col);
	}
}

void cmd_print_help(FILE *out, const struct cmd *c)
{
	for (const char *const *l = c->spec->usage; *l; l++) {
		if (!strcmp(*l, CMD_OPTIONS))
			cmd_print_opts(out, c->spec->opts, c->spec->json);
		else
			fprintf(out, "%s\n", *l);
	}
}

void cmd_getopt_init(struct cmd_getopt *g, int argc, char **argv)
{
	memset(g, 0, sizeof(*g));
	g->cmd = cmd_lookup(argv[0]);
	g->argc = argc;
	g->argv = argv;
	size_t nl = 0, ns = 0;
	if (g->cmd && g->cmd->spec->in_order)
		g->so_[ns++] = '+'; /* else getopt permutes: options may follow operands */
	g->so_[ns++] = ':';
	const struct cmd_opt *o = g->cmd ? g->cmd->spec->opts : NULL;
	for (; o && (o->lng || o->shrt || o->help) && nl < CMD_OPTS_MAX; o++) {
		if (o->lng)
			g->lo_[nl++] = (struct option){ o->lng, o->kind == CK_NONE ? no_argument :
						       required_argument, NULL, o->id };
		if (o->shrt) {
			g->so_[ns++] = o->shrt;
			if (o->kind != CK_NONE)
				g->so_[ns++] = ':';
		}
	}
	g->lo_[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	g->lo_[nl] = (struct option){ NULL, 0, NULL, 0 };
	g->so_[ns++] = 'h';
	g->so_[ns] = '\0';
	optind = 0;
	opterr = 0;
}

/* The option getopt just refused, as the user wrote it: "--limit" or "-x". */
static void refused(const struct cmd_getopt *g, char *out, size_t n)
{
	const char *w = optind > 0 && optind <= g->argc ? g->argv[optind - 1] : "";
	if (optopt && !(w[0] == '-' && w[1] == '-'))
		snprintf(out, n, "-%c", optopt);
	else
		snprintf(out, n, "%.*s", (int)strcspn(w, "="), w);
}

int cmd_getopt_next(struct cmd_getopt *g)
{
	const char *name = g->argv[0];
	int idx = -1;
	int c = getopt_long(g->argc, g->argv, g->so_, g->lo_, &idx);
	g->arg = optarg;
	g->lng = idx >= 0 ? g->lo_[idx].name : NULL;
	char opt[128];
	switch (c) {
	case -1:
		g->optind = optind;
		return CMD_OPT_END;
	case 'h':
		if (g->cmd)
			cmd_print_help(stdout, g->cmd);
		return CMD_OPT_HELP;
	case ':':
		refused(g, opt, sizeof(opt));
		cmd_usage_error(name, "option '%s' requires an argument", opt);
		return CMD_OPT_ERROR;
	case '?':
		refused(g, opt, sizeof(opt));
		if (opt[0] == '-' && opt[1] == '-' && strchr(g->argv[optind - 1], '='))
			cmd_usage_error(name, "option '%s' takes no value", opt);
		else
			cmd_usage_error(name, "unknown option '%s'", opt);
		return CMD_OPT_ERROR;
	default:
		return c;
	}
}

int cmd_getopt_exit(int c)
{
	return c == CMD_OPT_HELP ? EXIT_OK : EXIT_UNKNOWN;
}

int cmd_no_more_operands(const char *cmd, int argc, char **argv, int from)
{
	if (from < argc)
		return cmd_usage_error(cmd, "unexpected argument '%s'", argv[from]);
	return EXIT_OK;
}

void cmd_deadline_init(struct cmd_deadline *d, const char *opt, int64_t ns)
{
	d->len = ns;
	d->at = mono_ns() + ns;
	d->opt = opt;
	d->told = 0;
}

int64_t cmd_deadline_left(const struct cmd_deadline *d, int64_t min_ns, int64_t cap_ns)
{
	int64_t l = d->at - mono_ns();
	if (cap_ns > 0 && l > cap_ns)
		l = cap_ns;
	return l > min_ns ? l : min_ns > 0 ? min_ns : 1000000;
}

int cmd_deadline_check(struct cmd_deadline *d, const char *cmd, const char *step)
{
	if (mono_ns() < d->at)
		return 0;
	if (!d->told && !cmd_interrupted) {
		char t[32];
		units_fmt_duration(d->len, t, sizeof(t));
		cmd_warn(cmd, "%s %s ran out during %s", d->opt, t, step);
	}
	d->told = 1;
	return 1;
}

volatile sig_atomic_t cmd_interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	cmd_interrupted = 1;
}

void cmd_trap_interrupt(int on)
{
	static struct sigaction old_int, old_term;
	if (on) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_interrupt;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
	} else {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
}

/* Print one -v trace line. */
static void trace_stderr(void *ud, const char *msg)
{
	(void)ud;
	fprintf(stderr, "obridge: %s\n", msg);
}

struct http_engine *ctx_http_engine(struct ctx *ctx, const char *cmd)
{
	struct http_engine_opts o = { 0 };
	char err[ERR_MAX];
	o.insecure = ctx->insecure;
	/* as curl: --cacert, then the fleet's ca_file, then $CURL_CA_BUNDLE, $SSL_CERT_FILE */
	const char *ca = ctx->ca_file;
	const char *from = "--cacert";
	if (!ca && ctx->fleet && ctx->fleet->ca_file) {
		ca = ctx->fleet->ca_file;
		from = "ca_file";
	}
	if (!ca && getenv("CURL_CA_BUNDLE") && *getenv("CURL_CA_BUNDLE")) {
		ca = getenv("CURL_CA_BUNDLE");
		from = "$CURL_CA_BUNDLE";
	}
	if (!ca && getenv("SSL_CERT_FILE") && *getenv("SSL_CERT_FILE")) {
		ca = getenv("SSL_CERT_FILE");
		from = "$SSL_CERT_FILE";
	}
	if (ca && access(ca, R_OK) < 0) {
		cmd_error(cmd, "%s '%s': %s", from, ca, strerror(errno));
		return NULL;
	}
	o.ca_file = ca;
	o.bearer_token = ctx->api_key;
	/* The key is for the balancer (design.md); instances and metrics_url get it only with
	 * api_key_scope = all. Ad hoc targets (-H) are what the user named: they get it. */
	if (ctx->fleet && ctx->fleet->path && !ctx->fleet->api_key_all)
		o.bearer_scope = ctx->fleet->balancer ? ctx->fleet->balancer : "none://";
	if (ctx->verbose) {
		o.trace = trace_stderr;
		o.trace_bodies = ctx->verbose >= 2;
	}
	struct http_engine *e = http_engine_new(&o, err);
	if (!e)
		cmd_error(cmd, "%s", err);
	return e;
}

int ctx_open_store(struct ctx *ctx, const char *cmd)
{
	if (ctx->store)
		return 0;
	char path[4096], err[ERR_MAX];
	if (ctx->db_path) {
		strlcpy_(path, ctx->db_path, sizeof(path));
	} else if (store_default_path(path, sizeof(path), err) < 0) {
		cmd_error(cmd, "%s", err);
		return -1;
	}
	if (store_open(&ctx->store, path, err) != STORE_OK) {
		cmd_error(cmd, "%s", err);
		return -1;
	}
	return 0;
}
