/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge help [COMMAND]: the command list, or one command's manual page or usage. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/util/util.h"

#include "../lib/banned.h"

/*
 * man/obridge-NAME.1 next to the binary: in the source tree (./obridge, build/obridge)
 * or installed (bin/../share/man/man1). Returns an allocated path or NULL.
 */
static char *find_page(const char *name)
{
	static const char *const dirs[] = { "man", "../man", "../share/man/man1" };
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char *p = xasprintf("%s/%s/obridge-%s.1", exe, dirs[i], name);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* Show a page with man -l, else mandoc -a; returns 0 when one of them ran. */
static int show_page(const char *path)
{
	static const char *const viewers[][2] = { { "man", "-l" }, { "mandoc", "-a" } };
	fflush(stdout);
	for (size_t i = 0; i < ARRAY_SIZE(viewers); i++) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			execlp(viewers[i][0], viewers[i][0], viewers[i][1], path, (char *)NULL);
			_exit(127);
		}
		int st;
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return -1;
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 127))
			return 0;
	}
	return -1;
}

static const char *const usage[] = {
	"usage: obridge help [COMMAND]",
	"",
	"The command list, or COMMAND's manual page on a terminal and its -h text in a pipe.",
	"",
	CMD_OPTIONS,
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_ARG(1, CK_COMMAND, NULL, "command"),
	OPT_END,
};

const struct cmd_spec spec_help = { .usage = usage, .opts = opts };

int cmd_help(int argc, char **argv, struct ctx *ctx)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: obridge [global options] COMMAND [options]\n\nCommands:\n");
		for (size_t i = 0; i < ncommands; i++)
			if (!(commands[i].flags & HIDDEN))
				printf("  %-11s %s\n", commands[i].name, commands[i].summary);
		printf("\nRun 'obridge -h' for the global options and 'obridge help COMMAND' for "
		       "a command's options.\n");
		return EXIT_OK;
	}
	if (argc > 2)
		return cmd_usage_error("help", "expected one command name, got %d", argc - 1);
	const struct cmd *cmd = cmd_lookup(argv[1]);
	if (!cmd) {
		cmd_error("help", "no such command '%s'; see 'obridge help'", argv[1]);
		return EXIT_UNKNOWN;
	}
	/* On a terminal, the manual page; in a pipe, the -h text (stable for scripts). */
	if (isatty(STDOUT_FILENO) && !(cmd->flags & HIDDEN)) {
		char *page = find_page(cmd->name);
		int shown = page && show_page(page) == 0;
		free(page);
		if (shown)
			return EXIT_OK;
	}
	char *args[] = { (char *)cmd->name, "-h", NULL };
	return cmd->fn(2, args, ctx);
}
