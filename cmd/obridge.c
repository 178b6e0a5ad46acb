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

#define CMD(n, f, s, syn) { #n, cmd_##n, f, s, syn, &spec_##n },
const struct cmd commands[] = {
#include "commands.def"
};
#undef CMD
const size_t ncommands = ARRAY_SIZE(commands);

enum { G_FLEET = 256, G_HOST, G_DB, G_JSON, G_NOCOLOR, G_INSECURE, G_QUIET, G_VERBOSE,
       G_VERSION, G_HELP, G_CACERT };

/* The global options: parsed by global_option, shown by -h, offered by completion. */
const struct cmd_opt global_opts[] = {
	OPT_VAL("fleet", 'f', G_FLEET, CK_FILE, "FILE",
		"fleet file (default: $OBRIDGE_FLEET, ./obridge.conf,\n"
		"$XDG_CONFIG_HOME/obridge/obridge.conf)"),
	OPT_VAL(NULL, 'H', G_HOST, CK_TEXT, "URL",
		"target this Ollama host instead of a fleet (repeatable)"),
	OPT_VAL("db", 0, G_DB, CK_FILE, "PATH",
		"SQLite store (default: $OBRIDGE_DB or\n$XDG_DATA_HOME/obridge/obridge.db)"),
	OPT_FLAG("json", 0, G_JSON, "machine-readable output"),
	OPT_FLAG("no-color", 0, G_NOCOLOR, "no colour (also NO_COLOR=1)"),
	OPT_FLAG("insecure", 0, G_INSECURE, "do not verify TLS certificates"),
	OPT_VAL("cacert", 0, G_CACERT, CK_FILE, "FILE",
		"trust the CA certificates in FILE (PEM) (default: the\nfleet's ca_file, $CURL_CA_BUNDLE, $SSL_CERT_FILE, the system's)"),
	OPT_FLAG("quiet", 'q', G_QUIET, "print only what matters"),
	OPT_FLAG("verbose", 'v', G_VERBOSE, "log every request to stderr (-vv: with bodies)"),
	OPT_FLAG("version", 0, G_VERSION, "print the version and exit"),
	OPT_FLAG("help", 'h', G_HELP, "this help; `obridge help COMMAND` for a command"),
	OPT_END,
};

static void print_main_usage(FILE *out)
{
	fputs("usage: obridge [global options] COMMAND [options]\n\n"
	      "Global options (accepted before or after COMMAND):\n", out);
	cmd_print_opts(out, global_opts, NULL);
}

static void print_command_list(FILE *out)
{
	print_main_usage(out);
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

/* Read the API key from $OBRIDGE_API_KEY or the fleet's api_key_file. */
static int load_api_key(struct ctx *ctx, const char *cmd)
{
	const char *env = getenv("OBRIDGE_API_KEY");
	if (env && *env) {
		ctx->api_key = xstrdup(env);
		secret_note(env);
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
	secret_note(line);
	volatile char *v = line;
	while (*v)
		*v++ = 0;
	return 0;
}

enum { G_NONE, G_TAKEN, G_ERROR };

/* The row of global_opts for "--name" (len bytes of it) or "-x". */
static const struct cmd_opt *global_find(const char *lng, size_t len, char shrt)
{
	for (const struct cmd_opt *o = global_opts; o->help; o++) {
		if (lng && o->lng && strlen(o->lng) == len && !strncmp(o->lng, lng, len))
			return o;
		if (!lng && shrt && o->shrt == shrt)
			return o;
	}
	if (lng && len == 9 && !strncmp(lng, "no-colour", 9))
		return global_find("no-color", 8, 0);
	return NULL;
}

/*
 * If argv[*i] is a global option, apply it, advance *i past its value and return G_TAKEN.
 * before_cmd: options only meaningful before the command (-h, --version) are global there.
 */
static int global_option(struct ctx *ctx, int argc, char **argv, int *i, int before_cmd,
			 int *want_help, int *want_version)
{
	const char *a = argv[*i];
	const char *val = NULL;
	const struct cmd_opt *o;

	if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
		ctx->verbose += (int)strlen(a + 1);
		return G_TAKEN;
	}
	if (a[0] == '-' && a[1] == '-') {
		size_t len = strcspn(a + 2, "=");
		o = global_find(a + 2, len, 0);
		if (o && a[2 + len] == '=') {
			if (o->kind == CK_NONE) {
				fprintf(stderr, "obridge: option '--%s' takes no value\n", o->lng);
				return G_ERROR;
			}
			val = a + 3 + len;
		}
	} else if (a[0] == '-' && a[1]) {
		o = global_find(NULL, 0, a[1]);
		if (o && a[2]) {
			if (o->kind == CK_NONE)
				return G_NONE; /* a cluster such as -qx is the command's to judge */
			val = a + 2;
		}
	} else {
		return G_NONE;
	}
	if (!o || (!before_cmd && (o->id == G_HELP || o->id == G_VERSION)))
		return G_NONE;
	if (o->kind != CK_NONE && !val) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "obridge: option '%s' requires an argument\n", a);
			return G_ERROR;
		}
		val = argv[++*i];
	}
	if (val && !*val) {
		fprintf(stderr, "obridge: option '%s' needs a non-empty value\n", a);
		return G_ERROR;
	}
	switch (o->id) {
	case G_FLEET:
		ctx->fleet_path = val;
		break;
	case G_DB:
		ctx->db_path = val;
		break;
	case G_HOST:
		ctx->hosts = xrealloc(ctx->hosts, (ctx->nhosts + 1) * sizeof(char *));
		ctx->hosts[ctx->nhosts++] = val;
		break;
	case G_JSON:
		ctx->json = 1;
		break;
	case G_NOCOLOR:
		ctx->color = -1;
		break;
	case G_INSECURE:
		ctx->insecure = 1;
		break;
	case G_CACERT:
		ctx->ca_file = val;
		break;
	case G_QUIET:
		ctx->quiet = 1;
		break;
	case G_VERBOSE:
		ctx->verbose++;
		break;
	case G_VERSION:
		*want_version = 1;
		break;
	case G_HELP:
		*want_help = 1;
		break;
	}
	return G_TAKEN;
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
	if (ctx.json && !cmd->spec->json && !wants_help) {
		rc = cmd_usage_error(cmd->name, "--json is not an option of this command");
		goto out;
	}
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
	secret_forget_all();
	free(ctx.hosts);
	free(cargv);
	return rc;
}

/* SIGXFSZ (ulimit -f reached) would end the process with a run half-written: the write
 * fails with EFBIG instead, the store says so, and main reports it. */
static volatile sig_atomic_t file_size_hit;

static void on_xfsz(int sig)
{
	(void)sig;
	file_size_hit = 1;
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	/* Character widths follow the user's locale; numbers never do: JSON, perfdata and
	 * Prometheus text need '.' as the decimal point whatever LC_NUMERIC says. */
	setlocale(LC_NUMERIC, "C");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, on_xfsz);
	int rc = obridge_run(argc, argv);
	if (file_size_hit) {
		fputs("obridge: a file reached the file size limit (ulimit -f): what was written "
		      "last (the store, an output file) is incomplete\n", stderr);
		if (rc == EXIT_OK || rc == EXIT_WARN)
			rc = EXIT_UNKNOWN;
	}
	return rc;
}
