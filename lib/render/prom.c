/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Prometheus exposition text and the atomic textfile writer. */
#include "../compat.h"
#include "prom.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/file.h"
#include "../util/util.h"
#include "../banned.h"

void prom_family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			buf_adds(b, "\\\\");
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else
			buf_add(b, p, 1);
	}
	buf_addf(b, "\n# TYPE %s %s\n", name, type);
}

void prom_sample(struct buf *b, const char *name, const char *const *labels, double value)
{
	buf_adds(b, name);
	if (labels && labels[0]) {
		buf_adds(b, "{");
		for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
			buf_addf(b, "%s%s=\"", i ? "," : "", labels[i]);
			for (const char *p = labels[i + 1]; *p; p++) {
				if (*p == '\\')
					buf_adds(b, "\\\\");
				else if (*p == '"')
					buf_adds(b, "\\\"");
				else if (*p == '\n')
					buf_adds(b, "\\n");
				else
					buf_add(b, p, 1);
			}
			buf_adds(b, "\"");
		}
		buf_adds(b, "}");
	}
	if (isnan(value))
		buf_adds(b, " NaN\n");
	else if (isinf(value))
		buf_adds(b, value > 0 ? " +Inf\n" : " -Inf\n");
	else if (value == floor(value) && fabs(value) < 1e15)
		buf_addf(b, " %.0f\n", value);
	else
		buf_addf(b, " %.9g\n", value);
}

int prom_write_textfile(const char *dir, const char *name, const char *text, size_t len,
			char *err)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = file_write_atomic(path, text, len, err);
	free(path);
	return rc;
}
