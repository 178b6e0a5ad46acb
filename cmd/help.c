/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge help [COMMAND]: the command list, or one command's usage. */
#include "../lib/compat.h"
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "../lib/banned.h"

int cmd_help(int argc, char **argv, struct ctx *ctx)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: obridge [global options] COMMAND [options]\n\nCommands:\n");
		for (size_t i = 0; i < ncommands; i++)
			if (!(commands[i].flags & HIDDEN))
				printf("  %-10s %s\n", commands[i].name, commands[i].summary);
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
	char *args[] = { (char *)cmd->name, "-h", NULL };
	return cmd->fn(2, args, ctx);
}
