/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prometheus text exposition: families with HELP/TYPE and samples kept together, label
 * escaping, and the node_exporter textfile written atomically (temp file in the same
 * directory, fsync, rename), without timestamps (the textfile collector rejects them).
 */
#ifndef OBRIDGE_RENDER_PROM_H
#define OBRIDGE_RENDER_PROM_H

#include <stddef.h>

struct buf;

/* Start a family: "# HELP name help" and "# TYPE name type". */
void prom_family(struct buf *b, const char *name, const char *type, const char *help);
/*
 * One sample: name{k1="v1",...} value. labels is a NULL-terminated list of key, value
 * pairs (may be NULL). Values are escaped (\\, \", \n).
 */
void prom_sample(struct buf *b, const char *name, const char *const *labels, double value);

/*
 * Write text to DIR/NAME atomically: DIR/.NAME.XXXXXX, fsync, chmod 0644, rename.
 * Returns 0, or -1 with a message naming the path.
 */
int prom_write_textfile(const char *dir, const char *name, const char *text, size_t len,
			char *err);

#endif
