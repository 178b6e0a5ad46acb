/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Progress lines (progress.c): one line on a terminal, rewritten in place while a long
 * command runs, and erased when it is done. The caller decides whether out is a terminal.
 */
#ifndef OBRIDGE_RENDER_PROGRESS_H
#define OBRIDGE_RENDER_PROGRESS_H

#include <stdio.h>

/* Return to the start of the line (erasing it first when erase), print the text, flush. */
void progress_line(FILE *out, int erase, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Erase the progress line and flush. */
void progress_done(FILE *out);

#endif
