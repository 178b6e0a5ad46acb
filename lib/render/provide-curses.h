/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one place that names the curses header (after htop's ProvideCurses.h); only tui.c uses it. */
#ifndef OBRIDGE_RENDER_PROVIDE_CURSES_H
#define OBRIDGE_RENDER_PROVIDE_CURSES_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif

#if defined(__has_include)
#if __has_include(<ncursesw/curses.h>)
#include <ncursesw/curses.h>
#else
#include <curses.h>
#endif
#else
#include <curses.h>
#endif

#endif
