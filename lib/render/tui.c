/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The curses screen of `obridge top`: draws snapshots, maps keys to view changes and requests. */
#include "../compat.h"
#include "tui.h"
#include "layout.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provide-curses.h"

#include "../fleet/fleet.h"
#include "../fleet/snapshot.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

enum { PAIR_OK = 1, PAIR_WARN, PAIR_CRIT, PAIR_DIM, PAIR_HEAD };

enum mode { MODE_NORMAL = 0, MODE_FILTER, MODE_CONFIRM, MODE_HELP };

/* One visible row: an instance, or one of its models (model >= 0). */
struct row {
	size_t inst;
	long model;
};

struct tui {
	struct tui_opts o;
	int open;
	enum mode mode;
	int paused;
	enum snapshot_key key;
	int desc;
	char filter[64];
	char filter_saved[64];
	/* selection follows the instance/model, not the screen line (htop's follow) */
	char sel_name[128];
	char sel_model[128];
	int top;                 /* first visible row (scrolling) */
	char *expanded;          /* per instance */
	size_t nexpanded;
	struct tui_action_req pending;
	char msg[400];
	struct row *rows;
	size_t nrows, caprows;
};

/* The one screen, for the exit handler. */
static struct tui *the_tui;

static void tui_atexit(void)
{
	if (the_tui && the_tui->open && !isendwin())
		endwin();
}

struct tui *tui_open(const struct tui_opts *o, char *err)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		seterr(err, "a terminal is needed (use --once or -n N for batch output)");
		return NULL;
	}
	const char *term = getenv("TERM");
	if (!term || !*term || !strcmp(term, "dumb")) {
		seterr(err, "TERM is not set or is dumb (use --once or -n N)");
		return NULL;
	}
	struct tui *t = xcalloc(1, sizeof(*t));
	t->o = *o;
	if (!newterm(NULL, stdout, stdin)) {
		free(t);
		seterr(err, "cannot initialise the terminal '%s'", term);
		return NULL;
	}
	t->open = 1;
	the_tui = t;
	static int registered;
	if (!registered++)
		atexit(tui_atexit);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (t->o.color && has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_OK, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_CRIT, COLOR_RED, -1);
		init_pair(PAIR_DIM, COLOR_BLUE, -1);
		init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_CYAN);
	} else {
		t->o.color = 0;
	}
	t->key = SNAP_KEY_NAME;
	return t;
}

void tui_close(struct tui *t)
{
	if (!t)
		return;
	if (t->open && !isendwin())
		endwin();
	t->open = 0;
	if (the_tui == t)
		the_tui = NULL;
	free(t->expanded);
	free(t->rows);
	free(t);
}

int tui_paused(const struct tui *t)
{
	return t->paused;
}

void tui_message(struct tui *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	text_sanitize(t->msg, sizeof(t->msg), t->msg);
}

static int is_expanded(const struct tui *t, size_t i)
{
	return i < t->nexpanded && t->expanded[i];
}

/* Rebuild the visible rows: filtered, sorted instances and the models of expanded ones. */
static void build_rows(struct tui *t, const struct snapshot *s)
{
	if (t->nexpanded < s->n) {
		t->expanded = xrealloc(t->expanded, s->n ? s->n : 1);
		memset(t->expanded + t->nexpanded, 0, s->n - t->nexpanded);
		t->nexpanded = s->n;
	}
	size_t *idx = xcalloc(s->n ? s->n : 1, sizeof(*idx));
	size_t n = snapshot_order(s, t->key, t->desc, t->filter, idx);
	t->nrows = 0;
	for (size_t k = 0; k < n; k++) {
		const struct snapshot_inst *p = &s->inst[idx[k]];
		size_t need = t->nrows + 1 + (is_expanded(t, idx[k]) ? p->nmodels : 0);
		if (need > t->caprows) {
			t->caprows = need * 2;
			t->rows = xrealloc(t->rows, t->caprows * sizeof(*t->rows));
		}
		t->rows[t->nrows++] = (struct row){ idx[k], -1 };
		if (is_expanded(t, idx[k]))
			for (size_t m = 0; m < p->nmodels; m++)
				t->rows[t->nrows++] = (struct row){ idx[k], (long)m };
	}
	free(idx);
}

/* The index of the selected row (0 when it is gone). */
static size_t sel_row(const struct tui *t, const struct snapshot *s)
{
	size_t inst_only = 0;
	int found_inst = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		const struct snapshot_inst *p = &s->inst[t->rows[r].inst];
		if (strcmp(p->in->name, t->sel_name))
			continue;
		if (t->rows[r].model < 0) {
			if (!t->sel_model[0])
				return r;
			if (!found_inst) {
				inst_only = r;
				found_inst = 1;
			}
		} else if (!strcmp(p->models[t->rows[r].model].name, t->sel_model)) {
			return r;
		}
	}
	return found_inst ? inst_only : 0;
}

static void select_row(struct tui *t, const struct snapshot *s, size_t r)
{
	if (r >= t->nrows) {
		t->sel_name[0] = t->sel_model[0] = '\0';
		return;
	}
	const struct snapshot_inst *p = &s->inst[t->rows[r].inst];
	snprintf(t->sel_name, sizeof(t->sel_name), "%s", p->in->name);
	if (t->rows[r].model >= 0)
		snprintf(t->sel_model, sizeof(t->sel_model), "%s", p->models[t->rows[r].model].name);
	else
		t->sel_model[0] = '\0';
}

static attr_t state_attr(const struct tui *t, int st)
{
	if (!t->o.color)
		return st == SNAP_DOWN ? A_BOLD : A_NORMAL;
	switch (st) {
	case SNAP_UP: return COLOR_PAIR(PAIR_OK);
	case SNAP_SLOW: return COLOR_PAIR(PAIR_WARN);
	case SNAP_DEGRADED: return COLOR_PAIR(PAIR_WARN) | A_BOLD;
	case SNAP_DOWN: return COLOR_PAIR(PAIR_CRIT) | A_BOLD;
	default: return COLOR_PAIR(PAIR_DIM);
	}
}

/* Write text into [x, x+w) of line y, padded and aligned. */
static void put_cell(int y, int x, int w, const char *text, int right, attr_t a)
{
	char fit[512];
	layout_fit(text, w, fit, sizeof(fit));
	int tw = (int)render_width(fit);
	int pad = w - tw;
	if (pad < 0)
		pad = 0;
	attron(a);
	if (right)
		mvprintw(y, x, "%*s%s", pad, "", fit);
	else
		mvprintw(y, x, "%s%*s", fit, pad, "");
	attroff(a);
}

static void draw_help(void)
{
	static const char *const lines[] = {
		"obridge top: keys",
		"",
		"  q            quit",
		"  + / -        longer / shorter refresh interval",
		"  space        pause / resume polling",
		"  s / S        next sort column / reverse the order",
		"  /            filter (name, url, group, state, version, model);",
		"               a leading ! inverts; Enter keeps, Esc clears",
		"  Enter        expand / collapse an instance into its models",
		"  Up/Down j/k  select; PgUp/PgDn Home/End",
		"  p / u        preload / unload the selected model (asks first)",
		"  w            warm up the selected model",
		"  h            run a health check now",
		"  ?            this help (any key closes it)",
		"",
		"States: UP, SLOW (latency over 1s), DEGRADED (models missing, not",
		"resident, wrong context or digest drift), DOWN (stale data shows its age).",
	};
	int h = (int)ARRAY_SIZE(lines) + 2, w = 76;
	if (w > COLS)
		w = COLS;
	if (h > LINES)
		h = LINES;
	int y0 = (LINES - h) / 2, x0 = (COLS - w) / 2;
	for (int y = 0; y < h; y++) {
		move(y0 + y, x0);
		for (int x = 0; x < w; x++)
			addch(' ' | A_REVERSE);
	}
	attron(A_REVERSE);
	for (int i = 0; i < (int)ARRAY_SIZE(lines) && i + 1 < h; i++)
		mvaddnstr(y0 + 1 + i, x0 + 2, lines[i], w - 3);
	attroff(A_REVERSE);
}

void tui_draw(struct tui *t, const struct snapshot *s, int64_t interval_ns)
{
	char a[64], b[64], line[512];
	if (!t->open)
		return;
	erase();
	build_rows(t, s);
	/* header: fleet totals, time, interval */
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(a, sizeof(a), "%H:%M:%S", &tm);
	snprintf(line, sizeof(line), "obridge top - %s - up %zu/%zu - models %zu/%zu - VRAM %s - %s"
				     " - every %s%s",
		 s->f->name ? s->f->name : "default", s->up, s->n, s->resident, s->expected,
		 units_fmt_bytes(s->vram, b, sizeof(b)), a,
		 units_fmt_duration(interval_ns, b + 32, 32), t->paused ? " - PAUSED" : "");
	attron(A_BOLD);
	mvaddnstr(0, 0, line, COLS);
	attroff(A_BOLD);
	/* bench panel */
	if (s->bench.active) {
		int n = snprintf(line, sizeof(line), "bench #%" PRId64 " running", s->bench.run_id);
		if (s->bench.step[0] && n < (int)sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, " - step %s", s->bench.step);
		if (s->bench.p95_ns >= 0 && n < (int)sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, " - p95 %s",
				      units_fmt_duration(s->bench.p95_ns, a, sizeof(a)));
		if (s->bench.errors >= 0 && n < (int)sizeof(line))
			snprintf(line + n, sizeof(line) - n, " - errors %" PRId64, s->bench.errors);
		attron(t->o.color ? COLOR_PAIR(PAIR_WARN) : A_BOLD);
		mvaddnstr(1, 0, line, COLS);
		attroff(t->o.color ? COLOR_PAIR(PAIR_WARN) : A_BOLD);
	}
	struct layout l;
	if (layout_compute(COLS, s->any_metrics, &l) < 0 || LINES < 6) {
		mvaddnstr(2, 0, "terminal too small", COLS);
		refresh();
		return;
	}
	/* column headers */
	attr_t ha = t->o.color ? COLOR_PAIR(PAIR_HEAD) : A_REVERSE;
	attron(ha);
	mvprintw(2, 0, "%*s", COLS, "");
	attroff(ha);
	for (size_t c = 0; c < l.ncols; c++) {
		put_cell(2, l.x[c], l.width[c], layout_header(l.col[c]), layout_right(l.col[c]), ha);
	}
	/* rows */
	int body = LINES - 5;
	size_t sel = sel_row(t, s);
	if (t->nrows)
		select_row(t, s, sel);
	if ((int)sel < t->top)
		t->top = (int)sel;
	if ((int)sel >= t->top + body)
		t->top = (int)sel - body + 1;
	if (t->top < 0)
		t->top = 0;
	for (int y = 0; y < body && (size_t)(t->top + y) < t->nrows; y++) {
		const struct row *r = &t->rows[t->top + y];
		const struct snapshot_inst *p = &s->inst[r->inst];
		const struct snapshot_model *m = r->model >= 0 ? &p->models[r->model] : NULL;
		int selected = (size_t)(t->top + y) == sel;
		attr_t base = selected ? A_REVERSE : A_NORMAL;
		if (p->stale && !selected)
			base |= A_DIM;
		int yy = 3 + y;
		attron(base);
		mvprintw(yy, 0, "%*s", COLS, "");
		mvaddstr(yy, 0, selected ? ">" : " ");
		attroff(base);
		for (size_t c = 0; c < l.ncols; c++) {
			char cell[512];
			layout_cell(l.col[c], s, p, m, l.width[c], t->o.utf8, cell, sizeof(cell));
			attr_t at = base;
			if (l.col[c] == LAYOUT_STATE && !m)
				at |= state_attr(t, p->state);
			else if (l.col[c] == LAYOUT_STATE && m)
				at |= m->resident ? state_attr(t, SNAP_UP) :
				      m->required ? state_attr(t, SNAP_SLOW) : A_NORMAL;
			else if (l.col[c] == LAYOUT_NOTES && cell[0] && !m)
				at |= state_attr(t, p->state == SNAP_DOWN ? SNAP_DOWN : SNAP_SLOW);
			put_cell(yy, l.x[c], l.width[c], cell, layout_right(l.col[c]), at);
		}
	}
	if (!t->nrows)
		mvaddnstr(4, 2, t->filter[0] ? "no instance matches the filter" : "no instances",
			  COLS - 2);
	/* message line */
	int my = LINES - 2;
	if (t->mode == MODE_FILTER) {
		snprintf(line, sizeof(line), "filter: %s_", t->filter);
	} else if (t->mode == MODE_CONFIRM) {
		static const char *const verbs[] = { "", "preload", "unload", "warm up" };
		snprintf(line, sizeof(line), "%s %s on %s? [y/N]",
			 verbs[t->pending.action > 0 && t->pending.action < 4 ? t->pending.action : 0],
			 t->pending.model, s->inst[t->pending.inst].in->name);
	} else {
		snprintf(line, sizeof(line), "%s", t->msg[0] ? t->msg : s->action_msg);
	}
	if (t->filter[0] && t->mode != MODE_FILTER) {
		size_t ln = strlen(line);
		snprintf(line + ln, sizeof(line) - ln, "%s[filter: %s]", ln ? "  " : "", t->filter);
	}
	if (t->key != SNAP_KEY_NAME || t->desc) {
		size_t ln = strlen(line);
		snprintf(line + ln, sizeof(line) - ln, "%s[sort: %s%s]", ln ? "  " : "",
			 snapshot_key_name(t->key), t->desc ? " desc" : "");
	}
	mvaddnstr(my, 0, line, COLS);
	/* footer */
	static const char footer[] = "q quit  +/- interval  space pause  s/S sort  / filter  "
				     "enter expand  p preload  u unload  w warm  h health  ? help";
	attron(ha);
	mvprintw(LINES - 1, 0, "%*s", COLS, "");
	mvaddnstr(LINES - 1, 0, footer, COLS);
	attroff(ha);
	if (t->mode == MODE_HELP)
		draw_help();
	refresh();
}

/* The model a p/u/w key acts on: the selected model row, else the instance's first
 * model that fits (missing for preload, resident for unload and warmup). */
static int target_model(struct tui *t, const struct snapshot *s, int action,
			struct tui_action_req *out)
{
	if (!t->nrows)
		return -1;
	const struct row *r = &t->rows[sel_row(t, s)];
	const struct snapshot_inst *p = &s->inst[r->inst];
	long m = r->model;
	if (m < 0)
		for (size_t k = 0; k < p->nmodels && m < 0; k++) {
			const struct snapshot_model *sm = &p->models[k];
			if ((action == SNAP_ACT_PRELOAD && sm->required && !sm->resident) ||
			    (action != SNAP_ACT_PRELOAD && sm->resident))
				m = (long)k;
		}
	if (m < 0)
		return -1;
	out->action = action;
	out->inst = r->inst;
	snprintf(out->model, sizeof(out->model), "%s", p->models[m].name);
	return 0;
}

enum tui_req tui_key(struct tui *t, const struct snapshot *s, struct tui_action_req *act,
		     int *more)
{
	int ch = getch();
	*more = ch != ERR;
	if (ch == ERR)
		return TUI_NONE;
	if (ch == KEY_RESIZE)
		return TUI_REDRAW;
	build_rows(t, s);
	if (t->mode == MODE_HELP) {
		t->mode = MODE_NORMAL;
		return ch == 'q' ? TUI_QUIT : TUI_REDRAW;
	}
	if (t->mode == MODE_FILTER) {
		size_t n = strlen(t->filter);
		if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			t->mode = MODE_NORMAL;
		} else if (ch == 27) {
			t->filter[0] = '\0';
			t->mode = MODE_NORMAL;
		} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (n)
				t->filter[n - 1] = '\0';
		} else if (ch >= 32 && ch < 127 && n + 1 < sizeof(t->filter)) {
			t->filter[n] = (char)ch;
			t->filter[n + 1] = '\0';
		}
		t->top = 0;
		return TUI_REDRAW;
	}
	if (t->mode == MODE_CONFIRM) {
		t->mode = MODE_NORMAL;
		if (ch == 'y' || ch == 'Y') {
			*act = t->pending;
			return TUI_ACTION;
		}
		tui_message(t, "cancelled");
		return TUI_REDRAW;
	}
	size_t sel = sel_row(t, s);
	switch (ch) {
	case 'q':
	case 'Q':
		return TUI_QUIT;
	case '+':
	case '=':
		return TUI_SLOWER;
	case '-':
	case '_':
		return TUI_FASTER;
	case ' ':
	case 'z':
		t->paused = !t->paused;
		return TUI_PAUSE;
	case 's':
		t->key = (enum snapshot_key)((t->key + 1) % SNAP_KEY_COUNT);
		if (t->key == SNAP_KEY_GPU && !s->any_metrics)
			t->key = SNAP_KEY_NAME;
		return TUI_REDRAW;
	case 'S':
		t->desc = !t->desc;
		return TUI_REDRAW;
	case '/':
		t->mode = MODE_FILTER;
		snprintf(t->filter_saved, sizeof(t->filter_saved), "%s", t->filter);
		t->filter[0] = '\0';
		return TUI_REDRAW;
	case '?':
		t->mode = MODE_HELP;
		return TUI_REDRAW;
	case 'h':
		return TUI_HEALTH;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (t->nrows) {
			size_t i = t->rows[sel].inst;
			t->expanded[i] = !t->expanded[i];
			t->sel_model[0] = '\0';
		}
		return TUI_REDRAW;
	case KEY_UP:
	case 'k':
		if (sel > 0)
			select_row(t, s, sel - 1);
		return TUI_REDRAW;
	case KEY_DOWN:
	case 'j':
		if (sel + 1 < t->nrows)
			select_row(t, s, sel + 1);
		return TUI_REDRAW;
	case KEY_PPAGE:
		select_row(t, s, sel > (size_t)(LINES - 5) ? sel - (size_t)(LINES - 5) : 0);
		return TUI_REDRAW;
	case KEY_NPAGE:
		select_row(t, s, sel + (size_t)(LINES - 5) < t->nrows ? sel + (size_t)(LINES - 5) :
			   (t->nrows ? t->nrows - 1 : 0));
		return TUI_REDRAW;
	case KEY_HOME:
	case 'g':
		select_row(t, s, 0);
		return TUI_REDRAW;
	case KEY_END:
	case 'G':
		select_row(t, s, t->nrows ? t->nrows - 1 : 0);
		return TUI_REDRAW;
	case 'p':
	case 'u':
	case 'w': {
		int a = ch == 'p' ? SNAP_ACT_PRELOAD : ch == 'u' ? SNAP_ACT_UNLOAD : SNAP_ACT_WARMUP;
		if (target_model(t, s, a, &t->pending) < 0) {
			tui_message(t, "no model to %s here (Enter expands an instance)",
				    ch == 'p' ? "preload" : ch == 'u' ? "unload" : "warm up");
			return TUI_REDRAW;
		}
		t->mode = MODE_CONFIRM;
		return TUI_REDRAW;
	}
	case 12: /* ^L */
		clearok(curscr, TRUE);
		return TUI_REDRAW;
	default:
		return TUI_NONE;
	}
}
