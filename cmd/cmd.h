/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Command entry points, their option tables and the context main() prepares for them.
 *
 * To add a command:
 *  1. write cmd/<name>.c with `int cmd_<name>(int argc, char **argv, struct ctx *ctx)` and
 *     `const struct cmd_spec spec_<name>`: its -h text (usage lines, CMD_OPTIONS where the
 *     option lines go) and its option table, one row per option or operand (OPT_FLAG,
 *     OPT_VAL, OPT_CHOICE, OPT_ARG below). That table is the only place an option is
 *     declared: cmd_getopt parses with it, -h prints it, completion (bash, zsh, fish and
 *     the shell) offers it, and t0150-man.sh checks man/obridge-<name>.1 against it;
 *  2. add one CMD() line to cmd/commands.def (name, flags, one-line summary, synopsis);
 *  3. add man/obridge-<name>.1 and a test under tests/e2e/.
 * --json is global (ctx->json): a command that prints JSON says what in spec.json; main()
 * refuses --json for the others. -h/--help is added to every table.
 * argv[0] is the command name; global options have already been removed from argv.
 * Return an exit code (EXIT_OK ... EXIT_UNKNOWN); never call exit() outside main.
 */
#ifndef OBRIDGE_CMD_CMD_H
#define OBRIDGE_CMD_CMD_H

#include <getopt.h>
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
	const char *ca_file;    /* --cacert */
	int stdout_tty;
	struct fleet *fleet;    /* with NEED_FLEET */
	struct store *store;    /* with NEED_STORE */
	char *api_key;          /* $OBRIDGE_API_KEY or the fleet's api_key_file; never printed */
};

/* What an option's value or an operand is, for completion. */
enum comp_kind {
	CK_NONE,     /* a flag: takes no value */
	CK_TEXT,     /* a number, duration, URL, ...: nothing to suggest */
	CK_FILE,     /* a file name */
	CK_DIR,      /* a directory name */
	CK_COMMAND,  /* an obridge command */
	CK_INSTANCE, /* an instance of the fleet */
	CK_GROUP,    /* a group of the fleet */
	CK_MODEL,    /* a model of the fleet file or of recent runs */
	CK_RUN,      /* a run id from the store */
	CK_RUNKIND,  /* a run kind (bench, health, ...) */
	CK_WORDS,    /* one of a fixed list of words */
};

/*
 * One option (lng and/or shrt set) or operand (neither set) of a command.
 * id: what cmd_getopt_next returns for the option: its short letter when it has one,
 * else a value from 256 up that the command chooses.
 */
struct cmd_opt {
	const char *lng;    /* long name without "--", or NULL */
	char shrt;          /* short letter, or 0 */
	int id;
	enum comp_kind kind;
	const char *words;  /* CK_WORDS: the choices, separated by spaces */
	const char *meta;   /* the value's name in -h ("D", "FILE"); NULL for flags */
	int pos;            /* operands: 1 for the first, 2, ...; 0 for every other one */
	const char *help;   /* -h text, '\n' between lines; its first line describes the
			       option in completions */
};

#define OPT_FLAG(l, s, id, h) { l, s, id, CK_NONE, NULL, NULL, 0, h }
#define OPT_VAL(l, s, id, k, m, h) { l, s, id, k, NULL, m, 0, h }
#define OPT_CHOICE(l, s, id, w, m, h) { l, s, id, CK_WORDS, w, m, 0, h }
#define OPT_ARG(p, k, w, h) { NULL, 0, 0, k, w, NULL, p, h }
#define OPT_END { NULL, 0, 0, CK_NONE, NULL, NULL, 0, NULL }
#define OPT_IS_END(o) (!(o)->lng && !(o)->shrt && !(o)->help)

/* The -h text lines contain this one line where the option lines go. */
#define CMD_OPTIONS "\001options"
#define CMD_OPTS_MAX 64

struct cmd_spec {
	const char *const *usage;   /* -h text, NULL-terminated, with one CMD_OPTIONS line */
	const struct cmd_opt *opts; /* ends with OPT_END */
	const char *json;           /* what --json gives, for -h; NULL: no --json */
	int in_order;               /* options end at the first operand (subcommands) */
};

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct ctx *ctx);
	int flags;
	const char *summary;
	const char *synopsis; /* the options after "obridge NAME" */
	const struct cmd_spec *spec;
};

#define CMD(name, flags, summary, synopsis) \
	int cmd_##name(int argc, char **argv, struct ctx *ctx); \
	extern const struct cmd_spec spec_##name;
#include "commands.def"
#undef CMD

/* The global options (obridge_run), accepted before or after the command. */
extern const struct cmd_opt global_opts[];

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

/*
 * A command's overall deadline (--timeout): each step gets what is left, and the first
 * check after it passed says which step ran out ("--timeout 3s ran out during loading").
 */
struct cmd_deadline {
	int64_t at;       /* mono ns */
	int64_t len;
	const char *opt;  /* "--timeout" */
	int told;
};
void cmd_deadline_init(struct cmd_deadline *d, const char *opt, int64_t ns);
/* Time left, at least min_ns (so that a last step, such as reading /api/ps back, can
 * still answer quickly), at most cap_ns when cap_ns > 0. */
int64_t cmd_deadline_left(const struct cmd_deadline *d, int64_t min_ns, int64_t cap_ns);
/* After a step: 1 (and one warning naming the step) when the deadline has passed. */
int cmd_deadline_check(struct cmd_deadline *d, const char *cmd, const char *step);

/* Messages in git's style: "obridge ps: cannot reach 'x': connection refused". */
void cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cmd_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a usage error naming the problem and the hint to -h; returns EXIT_UNKNOWN. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print `usage` (NULL-terminated lines) to out. */
void cmd_print_usage(FILE *out, const char *const *usage);
/* Print a command's -h text, with the option lines generated from its table. */
void cmd_print_help(FILE *out, const struct cmd *c);
/* Print option lines of a table (for the global options' help). */
void cmd_print_opts(FILE *out, const struct cmd_opt *opts, const char *json);

/*
 * The options of one command, parsed with its table:
 *
 *	struct cmd_getopt g;
 *	int c;
 *	cmd_getopt_init(&g, argc, argv);
 *	while ((c = cmd_getopt_next(&g)) >= 0)
 *		switch (c) { case 'm': model = g.arg; break; ... }
 *	if (c != CMD_OPT_END)
 *		return cmd_getopt_exit(c);
 *	operands: argv[g.optind] ... argv[argc - 1]
 *
 * -h prints the help (CMD_OPT_HELP: exit 0); an unknown option, a missing value or a
 * value given to a flag prints one message naming it (CMD_OPT_ERROR: exit 3).
 */
enum { CMD_OPT_END = -1, CMD_OPT_HELP = -2, CMD_OPT_ERROR = -3 };
struct cmd_getopt {
	const struct cmd *cmd;
	int argc;
	char **argv;
	const char *arg; /* the value of the option just returned */
	const char *lng; /* its long name, when it was given by that name */
	int optind;      /* once CMD_OPT_END is returned: the first operand */
	struct option lo_[CMD_OPTS_MAX + 2];
	char so_[2 * CMD_OPTS_MAX + 8];
};
void cmd_getopt_init(struct cmd_getopt *g, int argc, char **argv);
int cmd_getopt_next(struct cmd_getopt *g);
/* The exit code for CMD_OPT_HELP (0) and CMD_OPT_ERROR (3). */
int cmd_getopt_exit(int c);
/* Refuse operands beyond the first max (usage error naming the first extra). */
int cmd_no_more_operands(const char *cmd, int argc, char **argv, int from);

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
