/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge shell: a readline console that runs obridge commands in-process. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "complete.h"
#include "../lib/util/buf.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

#define SHELL_PROMPT "obridge> "
/* Lines kept in the history file. */
#define SHELL_HISTORY_MAX 1000

static const char *const usage[] = {
	"usage: obridge shell",
	"",
	"An interactive console: type commands without the leading 'obridge' (ps,",
	"fleet show, history -n 5, ...). Tab completes commands, options, instances,",
	"groups, models and run ids. History is kept in $XDG_STATE_HOME/obridge/history",
	"(~/.local/state/obridge/history); lines that mention a key, token, password,",
	"secret or Bearer are not kept. Ctrl-C cancels the running command, not the",
	"shell; at the prompt it clears the line. exit [N], quit or Ctrl-D leave.",
	"Global options given before 'shell' apply to every command.",
	"",
	"Lines are split as a shell would (quotes, backslashes, # comments) without",
	"variables or globs. With standard input not a terminal, commands are read",
	"one per line without a prompt, and the exit status is the last command's.",
	"`obridge` with no arguments on a terminal starts the shell.",
	"",
	CMD_OPTIONS,
	NULL,
};

static const struct cmd_opt opts[] = { OPT_END };

const struct cmd_spec spec_shell = { .usage = usage, .opts = opts };

/* Words of a line, each allocated. */
struct words {
	char **v;
	int n, cap;
};

static int shell_active;
static struct words prefix;  /* global options of `obridge ... shell`, for every command */
static volatile sig_atomic_t prompt_sigint;
static char *cb_line;
static int cb_done;
static struct comp_list comp_matches;
static size_t comp_next;

static void words_push(struct words *w, char *s)
{
	if (w->n + 1 >= w->cap) {
		w->cap = w->cap ? 2 * w->cap : 8;
		w->v = xrealloc(w->v, (size_t)w->cap * sizeof(char *));
	}
	w->v[w->n++] = s;
	w->v[w->n] = NULL;
}

static void words_release(struct words *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
}

/*
 * Split line as a shell would: blanks separate words, '...' is literal, "..." keeps
 * \" \\ \$ \` escapes, a backslash outside quotes escapes any character, '#' at the
 * start of a word begins a comment. Returns 0, or -1 for an unterminated quote
 * (unless lenient, which completion uses on half-typed lines). *in_word is set when
 * the line ends inside a word rather than after a blank.
 */
static int split_line(const char *line, struct words *w, int lenient, int *in_word)
{
	struct buf cur = BUF_INIT;
	int have = 0;
	const char *p = line;

	while (*p) {
		char c = *p;
		if (!have && c == '#')
			break;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (have)
				words_push(w, buf_detach(&cur));
			have = 0;
			p++;
			continue;
		}
		have = 1;
		if (c == '\\') {
			if (p[1])
				buf_add(&cur, p + 1, 1);
			p += p[1] ? 2 : 1;
		} else if (c == '\'' || c == '"') {
			p++;
			while (*p && *p != c) {
				if (c == '"' && *p == '\\' && p[1] && strchr("\"\\$`", p[1]))
					p++;
				buf_add(&cur, p++, 1);
			}
			if (!*p && !lenient) {
				buf_release(&cur);
				return -1;
			}
			if (*p)
				p++;
		} else {
			buf_add(&cur, p++, 1);
		}
	}
	if (have)
		words_push(w, buf_detach(&cur));
	buf_release(&cur);
	if (in_word)
		*in_word = have;
	return 0;
}

/* Global options from ctx, given again to every command the shell runs. */
static void prefix_from_ctx(const struct ctx *ctx)
{
	if (ctx->fleet_path) {
		words_push(&prefix, xstrdup("-f"));
		words_push(&prefix, xstrdup(ctx->fleet_path));
	}
	for (size_t i = 0; i < ctx->nhosts; i++) {
		words_push(&prefix, xstrdup("-H"));
		words_push(&prefix, xstrdup(ctx->hosts[i]));
	}
	if (ctx->db_path) {
		words_push(&prefix, xstrdup("--db"));
		words_push(&prefix, xstrdup(ctx->db_path));
	}
	if (ctx->json)
		words_push(&prefix, xstrdup("--json"));
	if (ctx->insecure)
		words_push(&prefix, xstrdup("--insecure"));
	if (ctx->quiet)
		words_push(&prefix, xstrdup("-q"));
	for (int i = 0; i < ctx->verbose; i++)
		words_push(&prefix, xstrdup("-v"));
}

/* Create dir and its parents (mode 0700 for those created). */
static int mkdir_p(const char *dir)
{
	char *d = xstrdup(dir);
	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST) {
			free(d);
			return -1;
		}
		*p = '/';
	}
	int rc = mkdir(d, 0700) < 0 && errno != EEXIST ? -1 : 0;
	free(d);
	return rc;
}

/* $XDG_STATE_HOME/obridge/history, else ~/.local/state/obridge/history; NULL if neither. */
static char *history_path(void)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *dir;
	if (xdg && *xdg == '/')
		dir = xasprintf("%s/obridge", xdg);
	else if (home && *home)
		dir = xasprintf("%s/.local/state/obridge", home);
	else
		return NULL;
	if (mkdir_p(dir) < 0) {
		free(dir);
		return NULL;
	}
	char *path = xasprintf("%s/history", dir);
	free(dir);
	/* append_history() does not create the file. */
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Lines that may carry a secret never reach the history (redis-cli does the same). */
static int line_is_secret(const char *line)
{
	static const char *const words[] = { "key",    "token",  "password",     "passwd",
					     "secret", "bearer", "authorization" };
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasestr(line, words[i]))
			return 1;
	return 0;
}

/* Run one line; sets *quit for exit/quit. Returns the exit code (last_rc for no-ops). */
static int run_line(const char *line, int last_rc, int *quit)
{
	struct words w = { 0 };
	int rc = last_rc;

	if (split_line(line, &w, 0, NULL) < 0) {
		words_release(&w);
		cmd_error("shell", "unterminated quote");
		return EXIT_UNKNOWN;
	}
	int first = w.n > 1 && !strcmp(w.v[0], "obridge") ? 1 : 0;
	if (w.n - first <= 0) {
		words_release(&w);
		return rc;
	}
	const char *name = w.v[first];
	if (!strcmp(name, "exit") || !strcmp(name, "quit")) {
		*quit = 1;
		if (w.n - first > 1) {
			char *end;
			long v = strtol(w.v[first + 1], &end, 10);
			if (*end || end == w.v[first + 1] || v < 0 || v > 255) {
				cmd_error("shell", "exit: '%s' is not a number from 0 to 255",
					  w.v[first + 1]);
				rc = EXIT_UNKNOWN;
			} else {
				rc = (int)v;
			}
		}
		words_release(&w);
		return rc;
	}

	int argc = 1 + prefix.n + (w.n - first);
	char **argv = xcalloc((size_t)argc + 1, sizeof(char *));
	argv[0] = "obridge";
	for (int i = 0; i < prefix.n; i++)
		argv[1 + i] = prefix.v[i];
	for (int i = first; i < w.n; i++)
		argv[1 + prefix.n + i - first] = w.v[i];
	rc = obridge_run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	free(argv);
	words_release(&w);
	return rc;
}

/* Readline's generator over the candidates shell_complete found. */
static char *comp_generator(const char *text, int state)
{
	(void)text;
	if (!state)
		comp_next = 0;
	if (comp_next < comp_matches.n)
		return xstrdup(comp_matches.items[comp_next++].value);
	return NULL;
}

/* Tab: ask the completion engine with the words before the cursor. */
static char **shell_complete(const char *text, int start, int end)
{
	struct words w = { 0 }, all = { 0 };
	int in_word = 0;
	(void)start;

	rl_attempted_completion_over = 1;
	char *upto = xstrndup(rl_line_buffer, (size_t)end);
	split_line(upto, &w, 1, &in_word);
	free(upto);
	if (!in_word)
		words_push(&w, xstrdup(""));
	int first = w.n > 1 && !strcmp(w.v[0], "obridge") ? 1 : 0;
	for (int i = 0; i < prefix.n; i++)
		words_push(&all, xstrdup(prefix.v[i]));
	for (int i = first; i < w.n; i++)
		words_push(&all, xstrdup(w.v[i]));

	comp_list_release(&comp_matches);
	enum comp_result r = complete_words(all.n, all.v, NULL, &comp_matches);
	int at_command = w.n - first == 1 && w.v[w.n - 1][0] != '-';
	if (r == COMP_WORDS_LIST && at_command) {
		static const char *const builtins[] = { "exit", "quit" };
		for (size_t i = 0; i < ARRAY_SIZE(builtins); i++) {
			const char *cur = w.v[w.n - 1];
			if (strncmp(builtins[i], cur, strlen(cur)) != 0)
				continue;
			if (comp_matches.n == comp_matches.cap) {
				comp_matches.cap = comp_matches.cap ? 2 * comp_matches.cap : 4;
				comp_matches.items = xrealloc(comp_matches.items, comp_matches.cap *
								  sizeof(*comp_matches.items));
			}
			comp_matches.items[comp_matches.n].value = xstrdup(builtins[i]);
			comp_matches.items[comp_matches.n++].desc = NULL;
		}
	}
	words_release(&w);
	words_release(&all);
	if (r != COMP_WORDS_LIST) {
		/* a path: readline's own file name completion */
		rl_attempted_completion_over = 0;
		return NULL;
	}
	return rl_completion_matches(text, comp_generator);
}

static void on_line(char *line)
{
	cb_line = line;
	cb_done = 1;
	rl_callback_handler_remove();
}

/* SIGINT: cancels the running command (cmd_interrupted) or clears the prompt. */
static void on_sigint(int sig)
{
	(void)sig;
	cmd_interrupted = 1;
	prompt_sigint = 1;
}

/* Read one line with readline's callback interface, so that Ctrl-C can clear it. */
static char *read_line(void)
{
	cb_done = 0;
	cb_line = NULL;
	prompt_sigint = 0;
	rl_callback_handler_install(SHELL_PROMPT, on_line);
	while (!cb_done) {
		int fd = fileno(rl_instream ? rl_instream : stdin);
		fd_set fds;
		FD_ZERO(&fds);
		FD_SET(fd, &fds);
		int r = select(fd + 1, &fds, NULL, NULL, NULL);
		if (r < 0 && errno == EINTR) {
			if (prompt_sigint) {
				prompt_sigint = 0;
				rl_free_line_state();
				rl_callback_sigcleanup();
				rl_replace_line("", 0);
				rl_point = rl_end = 0;
				fputs("^C\n", rl_outstream ? rl_outstream : stdout);
				fflush(rl_outstream ? rl_outstream : stdout);
				rl_on_new_line();
				rl_redisplay();
			}
			continue;
		}
		if (r < 0) {
			rl_callback_handler_remove();
			return NULL;
		}
		rl_callback_read_char();
	}
	return cb_line;
}

/* The interactive loop: prompt, history, completion. */
static int interactive(void)
{
	struct sigaction sa, old_int;
	char *hist = history_path();
	int rc = EXIT_OK, quit = 0;

	rl_readline_name = "obridge";
	rl_attempted_completion_function = shell_complete;
	rl_completer_word_break_characters = " \t\n";
	rl_completer_quote_characters = "'\"";
	rl_sort_completion_matches = 0;
	rl_catch_signals = 0;
	using_history();
	stifle_history(SHELL_HISTORY_MAX);
	if (hist)
		read_history(hist);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a blocked command sees EINTR */
	sigaction(SIGINT, &sa, &old_int);

	while (!quit) {
		char *line = read_line();
		if (!line) {
			fputc('\n', rl_outstream ? rl_outstream : stdout);
			break;
		}
		size_t len = strlen(line);
		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		if (line[strspn(line, " \t")] && !line_is_secret(line)) {
			HIST_ENTRY *last = history_length ? history_get(history_base + history_length - 1)
							  : NULL;
			if (!last || strcmp(last->line, line) != 0) {
				add_history(line);
				if (hist)
					append_history(1, hist);
			}
		}
		rc = run_line(line, rc, &quit);
		free(line);
	}

	sigaction(SIGINT, &old_int, NULL);
	if (hist)
		history_truncate_file(hist, SHELL_HISTORY_MAX);
	clear_history();
	comp_list_release(&comp_matches);
	free(hist);
	return rc;
}

/* Commands from a pipe or file, one per line, no prompt. */
static int scripted(void)
{
	char *line = NULL;
	size_t cap = 0;
	int rc = EXIT_OK, quit = 0;
	while (!quit && getline(&line, &cap, stdin) >= 0)
		rc = run_line(line, rc, &quit);
	free(line);
	return rc;
}

int cmd_shell(int argc, char **argv, struct ctx *ctx)
{
	struct cmd_getopt g;
	int c;
	cmd_getopt_init(&g, argc, argv);
	if ((c = cmd_getopt_next(&g)) != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("shell", "unexpected argument '%s'", argv[g.optind]);
	if (shell_active) {
		cmd_error("shell", "already in the shell; type a command, or 'help'");
		return EXIT_UNKNOWN;
	}
	shell_active = 1;
	prefix_from_ctx(ctx);
	const char *force = getenv("OBRIDGE_SHELL_FORCE_TTY");
	int tty = isatty(STDIN_FILENO) || (force && !strcmp(force, "1"));
	int rc = tty ? interactive() : scripted();
	words_release(&prefix);
	shell_active = 0;
	return rc;
}

/* Ask a yes/no question on the terminal (readline); anything but y or yes is no. */
int shell_confirm(const char *prompt)
{
	if (!isatty(STDIN_FILENO))
		return 0;
	char *line = readline(prompt);
	int yes = line && (!strcmp(line, "y") || !strcmp(line, "Y") || !strcasecmp(line, "yes"));
	free(line);
	return yes;
}
