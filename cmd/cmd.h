/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command entry points and the context main() prepares for them.
 *
 * To add a command:
 *  1. write cmd/<name>.c with `int cmd_<name>(int argc, char **argv, struct ctx *ctx)`,
 *     its `usage` text and `longopts[]`, resetting optind = 0 before getopt_long;
 *  2. add one CMD() line to cmd/commands.def (name, flags, one-line summary, synopsis);
 *  3. add man/obridge-<name>.1 and a test under tests/e2e/;
 *  4. list its options and operands in comp_opts[] in cmd/complete.c, one row each:
 *     FLAG("<name>", "json", 0, "help") for a flag, OPT(..., CK_<kind>, ...) for an
 *     option with a value (CK_TEXT numbers/durations/URLs, CK_FILE, CK_DIR,
 *     CK_INSTANCE, CK_GROUP, CK_MODEL, CK_RUN, CK_RUNKIND), CHOICE(..., "a b c", ...)
 *     for fixed values, ARG("<name>", POS, CK_<kind>, words, "help") for operands
 *     (POS 1, 2, ...; 0 for the rest), and at least FLAG("<name>", "help", 'h', ...).
 *     Completion in bash/zsh/fish and the shell then follows. make check fails
 *     (t0150-man.sh) unless -h, that table and man/obridge-<name>.1 agree: every long
 *     option in `obridge <name> -h` is in the table (or global), every row's --long and
 *     -x appears in -h and in the page (Fl \-long, Fl x), and the command accepts it.
 * argv[0] is the command name; global options have already been removed from argv.
 * Return an exit code (EXIT_OK ... EXIT_UNKNOWN); never call exit() outside main.
 */
#ifndef OBRIDGE_CMD_CMD_H
#define OBRIDGE_CMD_CMD_H

#include <signal.h>
#include <stdio.h>
#include <stddef.h>

struct fleet;
struct store;
struct http_engine;

/* Nagios meanings, for every command. */
enum exit_code {
	EXIT_OK = 0,      /* ok */
	EXIT_WARN = 1,    /* warning, partial failure, regression */
	EXIT_CRIT = 2,    /* critical or failed */
	EXIT_UNKNOWN = 3, /* usage error, bad config, internal error */
};

enum cmd_flags {
	NEED_FLEET = 1 << 0, /* resolve targets into ctx->fleet before running */
	NEED_STORE = 1 << 1, /* open the SQLite store into ctx->store */
	HIDDEN = 1 << 2,     /* not listed in help */
};

struct ctx {
	const char *fleet_path; /* -f */
	const char **hosts;     /* -H, repeatable */
	size_t nhosts;
	const char *db_path;    /* --db, else $OBRIDGE_DB, else XDG data dir */
	int json;               /* --json */
	int color;              /* colour allowed on stdout (TTY, no NO_COLOR, no --no-color) */
	int quiet;              /* -q */
	int verbose;            /* -v count */
	int insecure;           /* --insecure */
	int stdout_tty;
	struct fleet *fleet;    /* with NEED_FLEET */
	struct store *store;    /* with NEED_STORE */
	char *api_key;          /* $OBRIDGE_API_KEY or the fleet's api_key_file; never printed */
};

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct ctx *ctx);
	int flags;
	const char *summary;
	const char *synopsis; /* the options after "obridge NAME" */
};

#define CMD(name, flags, summary, synopsis) int cmd_##name(int argc, char **argv, struct ctx *ctx);
#include "commands.def"
#undef CMD

extern const struct cmd commands[];
extern const size_t ncommands;
/* The command named exactly name, or NULL. */
const struct cmd *cmd_lookup(const char *name);

/*
 * Run one obridge command line (argv[0] is the program name) in-process: global options,
 * dispatch, setup and teardown. main() and the shell call it. Returns the exit code.
 */
int obridge_run(int argc, char **argv);

/*
 * Set by a SIGINT/SIGTERM handler while a long command runs (the command installs the
 * handler it needs); long-running commands check it and return cleanly, so that in the
 * shell Ctrl-C cancels the command and not the shell. obridge_run clears it.
 */
extern volatile sig_atomic_t cmd_interrupted;

/*
 * cmd_trap_interrupt(1) installs SIGINT/SIGTERM handlers that only set cmd_interrupted
 * (no SA_RESTART, so blocking waits return); cmd_trap_interrupt(0) restores the previous
 * handlers. Not nestable.
 */
void cmd_trap_interrupt(int on);

/* Messages in git's style: "obridge ps: cannot reach 'x': connection refused". */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmd_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a usage error naming the problem and the hint to -h; returns EXIT_UNKNOWN. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print `usage` (NULL-terminated lines) to out. */
void cmd_print_usage(FILE *out, const char *const *usage);

/*
 * Create an HTTP engine configured from ctx: TLS verification (--insecure), the API key as
 * a Bearer header, and -v/-vv request tracing to stderr with keys redacted.
 * Returns NULL after printing a message.
 */
struct http_engine *ctx_http_engine(struct ctx *ctx, const char *cmd);

/*
 * Ask a yes/no question on the terminal through readline (cmd/shell.c, the one user of
 * readline). Returns 1 for "y" or "yes", 0 for anything else, end of input, or when
 * standard input is not a terminal: the default is no.
 */
int shell_confirm(const char *prompt);

/* Ensure ctx->store is open (for commands that record only sometimes). Prints on failure. */
int ctx_open_store(struct ctx *ctx, const char *cmd);

#endif
