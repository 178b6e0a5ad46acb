/* SPDX-License-Identifier: GPL-3.0-or-later */
/* main(): global options, the command table, dispatch and the context commands run in. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fleet/fleet.h"
#include "../lib/http/http.h"
#include "../lib/render/render.h"
#include "../lib/store/store.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

#define CMD(n, f, s, syn) { #n, cmd_##n, f, s, syn },
const struct cmd commands[] = {
#include "commands.def"
};
#undef CMD
const size_t ncommands = ARRAY_SIZE(commands);

static const char *const main_usage[] = {
	"usage: obridge [global options] COMMAND [options]",
	"",
	"Global options (accepted before or after COMMAND):",
	"  -f, --fleet FILE   fleet file (default: $OBRIDGE_FLEET, ./obridge.conf,",
	"                     $XDG_CONFIG_HOME/obridge/obridge.conf)",
	"  -H URL             target this Ollama host instead of a fleet (repeatable)",
	"      --db PATH      SQLite store (default: $OBRIDGE_DB or",
	"                     $XDG_DATA_HOME/obridge/obridge.db)",
	"      --json         machine-readable output",
	"      --no-color     no colour (also NO_COLOR=1)",
	"      --insecure     do not verify TLS certificates",
	"  -q, --quiet        print only what matters",
	"  -v, --verbose      log every request to stderr (-vv: with bodies)",
	"      --version      print the version and exit",
	"  -h, --help         this help; `obridge help COMMAND` for a command",
	NULL,
};

static void vmsg(const char *cmd, const char *kind, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("obridge", stderr);
	if (cmd)
		fprintf(stderr, " %s", cmd);
	fputs(": ", stderr);
	if (kind)
		fputs(kind, stderr);
	vfprintf(stderr, fmt, ap);
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
	fprintf(stderr, "try 'obridge %s -h' for more information\n", cmd ? cmd : "");
	return EXIT_UNKNOWN;
}

void cmd_print_usage(FILE *out, const char *const *usage)
{
	for (size_t i = 0; usage[i]; i++)
		fprintf(out, "%s\n", usage[i]);
}

static void print_command_list(FILE *out)
{
	cmd_print_usage(out, main_usage);
	fputs("\nCommands:\n", out);
	for (size_t i = 0; i < ncommands; i++) {
		if (commands[i].flags & HIDDEN)
			continue;
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
	}
	fputs("\nExit status: 0 ok, 1 warning or partial failure, 2 critical or failed,\n"
	      "3 usage error, bad configuration or internal error.\n", out);
}

const struct cmd *cmd_lookup(const char *name)
{
	for (size_t i = 0; i < ncommands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* "did you mean": commands within edit distance 2, or those the name is a prefix of. */
static void suggest(const char *name)
{
	fprintf(stderr, "obridge: '%s' is not an obridge command; see 'obridge help'\n", name);
	int best = 3;
	for (size_t i = 0; i < ncommands; i++) {
		if (commands[i].flags & HIDDEN)
			continue;
		int d = edit_distance(name, commands[i].name);
		if (strncmp(commands[i].name, name, strlen(name)) == 0 && strlen(name) >= 2)
			d = 1;
		if (d < best)
			best = d;
	}
	if (best > 2)
		return;
	fputs("\nThe most similar command is\n", stderr);
	for (size_t i = 0; i < ncommands; i++) {
		if (commands[i].flags & HIDDEN)
			continue;
		int d = edit_distance(name, commands[i].name);
		if (strncmp(commands[i].name, name, strlen(name)) == 0 && strlen(name) >= 2)
			d = 1;
		if (d == best)
			fprintf(stderr, "\t%s\n", commands[i].name);
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
	o.bearer_token = ctx->api_key;
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

/* Read the API key from $OBRIDGE_API_KEY or the fleet's api_key_file. */
static int load_api_key(struct ctx *ctx, const char *cmd)
{
	const char *env = getenv("OBRIDGE_API_KEY");
	if (env && *env) {
		ctx->api_key = xstrdup(env);
		return 0;
	}
	if (!ctx->fleet || !ctx->fleet->api_key_file)
		return 0;
	FILE *fp = fopen(ctx->fleet->api_key_file, "r");
	if (!fp) {
		cmd_error(cmd, "cannot read api_key_file '%s': %s", ctx->fleet->api_key_file,
			  strerror(errno));
		return -1;
	}
	char line[1024] = "";
	if (!fgets(line, sizeof(line), fp))
		line[0] = '\0';
	fclose(fp);
	size_t l = strlen(line);
	while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
		line[--l] = '\0';
	if (!l) {
		cmd_error(cmd, "api_key_file '%s' is empty", ctx->fleet->api_key_file);
		return -1;
	}
	ctx->api_key = xstrdup(line);
	volatile char *v = line;
	while (*v)
		*v++ = 0;
	return 0;
}

enum { G_NONE, G_TAKEN, G_ERROR };

/*
 * If argv[*i] is a global option, apply it, advance *i past its value and return G_TAKEN.
 * before_cmd: options only meaningful before the command (-h, --version) are global there.
 */
static int global_option(struct ctx *ctx, int argc, char **argv, int *i, int before_cmd,
			 int *want_help, int *want_version)
{
	const char *a = argv[*i];
	const char *val = NULL;
	const char **slot = NULL;
	int is_host = 0;

	if (strcmp(a, "--json") == 0) {
		ctx->json = 1;
	} else if (strcmp(a, "--no-color") == 0 || strcmp(a, "--no-colour") == 0) {
		ctx->color = -1;
	} else if (strcmp(a, "--insecure") == 0) {
		ctx->insecure = 1;
	} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
		ctx->quiet = 1;
	} else if (strcmp(a, "--verbose") == 0) {
		ctx->verbose++;
	} else if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
		ctx->verbose += (int)strlen(a + 1);
	} else if (before_cmd && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
		*want_help = 1;
	} else if (before_cmd && strcmp(a, "--version") == 0) {
		*want_version = 1;
	} else if (strcmp(a, "-f") == 0 || strcmp(a, "--fleet") == 0 || strcmp(a, "--db") == 0 ||
		   strcmp(a, "-H") == 0) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "obridge: option '%s' requires an argument\n", a);
			return G_ERROR;
		}
		val = argv[++*i];
		if (a[1] == 'f' || strcmp(a, "--fleet") == 0)
			slot = &ctx->fleet_path;
		else if (strcmp(a, "--db") == 0)
			slot = &ctx->db_path;
		else
			is_host = 1;
	} else if (strncmp(a, "--fleet=", 8) == 0) {
		val = a + 8;
		slot = &ctx->fleet_path;
	} else if (strncmp(a, "--db=", 5) == 0) {
		val = a + 5;
		slot = &ctx->db_path;
	} else if (strncmp(a, "-f", 2) == 0 && a[2]) {
		val = a + 2;
		slot = &ctx->fleet_path;
	} else if (strncmp(a, "-H", 2) == 0 && a[2]) {
		val = a + 2;
		is_host = 1;
	} else {
		return G_NONE;
	}
	if (val && !*val) {
		fprintf(stderr, "obridge: option '%s' needs a non-empty value\n", a);
		return G_ERROR;
	}
	if (slot)
		*slot = val;
	if (is_host) {
		ctx->hosts = xrealloc(ctx->hosts, (ctx->nhosts + 1) * sizeof(char *));
		ctx->hosts[ctx->nhosts++] = val;
	}
	return G_TAKEN;
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

int obridge_run(int argc, char **argv)
{
	struct ctx ctx = { 0 };
	int want_help = 0, want_version = 0;
	int rc;

	cmd_interrupted = 0;

	/* Global options before the command. */
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || !argv[i][1])
			break;
		int g = global_option(&ctx, argc, argv, &i, 1, &want_help, &want_version);
		if (g == G_ERROR)
			return EXIT_UNKNOWN;
		if (g == G_NONE) {
			fprintf(stderr, "obridge: unknown option '%s'\n", argv[i]);
			fprintf(stderr, "try 'obridge -h' for more information\n");
			return EXIT_UNKNOWN;
		}
	}
	if (want_version)
		return cmd_version(1, (char *[]){ "version", NULL }, &ctx);
	if (i >= argc) {
		if (want_help) {
			print_command_list(stdout);
			return EXIT_OK;
		}
		/* No command on a terminal: the interactive shell (it refuses to nest). */
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
			rc = cmd_shell(1, (char *[]){ "shell", NULL }, &ctx);
			free(ctx.hosts);
			return rc;
		}
		print_command_list(stderr);
		return EXIT_UNKNOWN;
	}

	const char *name = argv[i];
	const struct cmd *cmd = cmd_lookup(name);
	if (!cmd) {
		suggest(name);
		return EXIT_UNKNOWN;
	}
	if (want_help)
		return cmd_help(2, (char *[]){ "help", (char *)name, NULL }, &ctx);

	/* Global options after the command are taken out; the rest goes to the command. */
	char **cargv = xcalloc((size_t)(argc - i) + 1, sizeof(char *));
	int cargc = 0;
	cargv[cargc++] = argv[i];
	int rest_literal = 0;
	for (int j = i + 1; j < argc; j++) {
		if (!rest_literal && strcmp(argv[j], "--") == 0) {
			rest_literal = 1;
			cargv[cargc++] = argv[j];
			continue;
		}
		if (!rest_literal && argv[j][0] == '-' && argv[j][1]) {
			int g = global_option(&ctx, argc, argv, &j, 0, &want_help, &want_version);
			if (g == G_ERROR) {
				free(cargv);
				return EXIT_UNKNOWN;
			}
			if (g == G_TAKEN)
				continue;
		}
		cargv[cargc++] = argv[j];
	}
	cargv[cargc] = NULL;

	ctx.stdout_tty = isatty(STDOUT_FILENO);
	ctx.color = ctx.color < 0 ? 0 : render_color_allowed(stdout, 0);

	struct fleet fleet = FLEET_INIT;
	char err[ERR_MAX];
	rc = EXIT_UNKNOWN;
	int wants_help = 0;
	for (int j = 1; j < cargc; j++)
		if (strcmp(cargv[j], "-h") == 0 || strcmp(cargv[j], "--help") == 0)
			wants_help = 1;
	if ((cmd->flags & NEED_FLEET) && !wants_help) {
		if (fleet_resolve(&fleet, ctx.fleet_path, ctx.hosts, ctx.nhosts, err) < 0) {
			fprintf(stderr, "obridge %s: %s\n", cmd->name, err);
			goto out;
		}
		ctx.fleet = &fleet;
		if (load_api_key(&ctx, cmd->name) < 0)
			goto out;
	}
	if ((cmd->flags & NEED_STORE) && !wants_help && ctx_open_store(&ctx, cmd->name) < 0)
		goto out;

	rc = cmd->fn(cargc, cargv, &ctx);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE) {
			fprintf(stderr, "obridge %s: write error on standard output: %s\n", cmd->name,
				strerror(errno));
			rc = EXIT_UNKNOWN;
		}
	}
out:
	if (ctx.store)
		store_close(ctx.store);
	fleet_release(&fleet);
	secret_free(ctx.api_key);
	free(ctx.hosts);
	free(cargv);
	return rc;
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	/* Character widths follow the user's locale; numbers never do: JSON, perfdata and
	 * Prometheus text need '.' as the decimal point whatever LC_NUMERIC says. */
	setlocale(LC_NUMERIC, "C");
	signal(SIGPIPE, SIG_IGN);
	return obridge_run(argc, argv);
}
