/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The curses screen of `obridge top` (tui.c, the only file that includes curses). */
#ifndef OBRIDGE_RENDER_TUI_H
#define OBRIDGE_RENDER_TUI_H

#include <stddef.h>

struct snapshot;

struct tui;

struct tui_opts {
	int color;          /* colour allowed (no NO_COLOR, no --no-color) */
	int utf8;           /* Unicode glyphs and sparklines */
};

/* What a key asked the caller to do (tui_key). */
enum tui_req {
	TUI_NONE = 0,
	TUI_QUIT,
	TUI_FASTER,         /* '-': shorter interval */
	TUI_SLOWER,         /* '+': longer interval */
	TUI_PAUSE,          /* space toggled pause (tui_paused says which) */
	TUI_HEALTH,         /* 'h': poll now and report */
	TUI_ACTION,         /* a confirmed preload/unload/warmup: see tui_req_action */
	TUI_REDRAW,         /* the view changed */
};

struct tui_action_req {
	int action;         /* enum snapshot_action */
	size_t inst;
	char model[128];
};

/* Start curses (the terminal is restored by tui_close, at exit and on fatal signals the
 * caller turns into a flag). Returns NULL with err when there is no usable terminal. */
struct tui *tui_open(const struct tui_opts *o, char *err);
/* Restore the terminal and free; safe to call twice and with NULL. */
void tui_close(struct tui *t);
/* Draw the whole screen from the snapshot (only changes reach the terminal). */
void tui_draw(struct tui *t, const struct snapshot *s, int64_t interval_ns);
/* Read one pending key (non-blocking) and apply it to the view; *more is 0 when no key was
 * waiting. Returns the request for the caller; TUI_ACTION fills *act. */
enum tui_req tui_key(struct tui *t, const struct snapshot *s, struct tui_action_req *act,
		     int *more);
int tui_paused(const struct tui *t);
/* A line for the message area (action outcome, health summary). */
void tui_message(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
