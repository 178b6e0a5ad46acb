/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The completion engine behind `obridge __complete`, the bash/zsh/fish scripts and the
 * shell's tab key: given the words of a command line, the candidates for the last one.
 * The option and operand table it reads lives in cmd/complete.c (see cmd/cmd.h).
 *
 * Ownership: a struct comp_list owns its strings; release it with comp_list_release.
 */
#ifndef OBRIDGE_CMD_COMPLETE_H
#define OBRIDGE_CMD_COMPLETE_H

#include <stddef.h>

struct ctx;

/* What the word under the cursor should be completed with. */
enum comp_result {
	COMP_WORDS_LIST = 0, /* the candidates in the list (possibly none) */
	COMP_FILES,          /* a file name: let the shell complete paths */
	COMP_DIRS,           /* a directory name */
};

struct comp_item {
	char *value;
	char *desc; /* one line, or NULL */
};

struct comp_list {
	struct comp_item *items;
	size_t n, cap;
};

#define COMP_LIST_INIT { NULL, 0, 0 }

void comp_list_release(struct comp_list *l);

/*
 * Complete words[nwords - 1] (may be "") given the words before it. words are the
 * arguments after "obridge" (global options included), already unquoted. Candidates
 * start with the word being completed; values read from the fleet file or the store
 * are sanitized and never contain whitespace. ctx (may be NULL) gives the fleet file,
 * hosts and store to use when the words carry no -f, -H or --db (then the usual
 * defaults: $OBRIDGE_FLEET, ./obridge.conf, ...; $OBRIDGE_DB, the XDG data dir).
 */
enum comp_result complete_words(int nwords, char **words, const struct ctx *ctx,
				struct comp_list *out);

#endif
