/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Progress lines rewritten in place on a terminal. */
#include "../compat.h"
#include "progress.h"

#include <stdarg.h>

#include "../banned.h"

void progress_line(FILE *out, int erase, const char *fmt, ...)
{
	va_list ap;
	fputs(erase ? "\r\033[K" : "\r", out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fflush(out);
}

void progress_done(FILE *out)
{
	fputs("\r\033[K", out);
	fflush(out);
}
