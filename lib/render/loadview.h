/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tables and JSON for preload/unload/warmup results. */
#ifndef OBRIDGE_RENDER_LOADVIEW_H
#define OBRIDGE_RENDER_LOADVIEW_H

#include <stdio.h>

struct load_set;
struct buf;

/* One row per (instance, model): state, load time (with_load), size, processor, context,
 * expiry, error. unload: the state column says "unloaded" / "still loaded". */
void loadview_table(FILE *out, const struct load_set *s, int color, int with_load, int unload);
/* JSON array of the pairs into b. */
void loadview_json(struct buf *b, const struct load_set *s, int with_warm);

#endif
