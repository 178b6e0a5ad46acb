/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/render/layout.c: top's column widths, sparklines, glyphs and cells. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/fleet/fleet.h"
#include "../../lib/fleet/snapshot.h"
#include "../../lib/render/layout.h"
#include "../../lib/render/render.h"
#include "../../lib/util/units.h"
#include "../../lib/banned.h"

#define S 1000000000LL
#define NOW (1795000000LL * S)

static int visible(const struct layout *l, enum layout_col c)
{
	return layout_find(l, c) >= 0;
}

static void check_geometry(const struct layout *l, int width)
{
	assert_true(l->total <= width);
	for (size_t i = 0; i + 1 < l->ncols; i++) {
		assert_true(l->width[i] > 0);
		assert_int_equal(l->x[i + 1], l->x[i] + l->width[i] + 1);
	}
	assert_int_equal(l->x[0], 2);
}

static void test_widths(void **state)
{
	(void)state;
	struct layout l;
	/* 80 columns without GPUs: the essentials fit, low-priority columns go */
	assert_int_equal(layout_compute(80, 0, &l), 0);
	check_geometry(&l, 80);
	assert_true(visible(&l, LAYOUT_NAME) && visible(&l, LAYOUT_STATE) &&
		    visible(&l, LAYOUT_LATENCY) && visible(&l, LAYOUT_HIST) &&
		    visible(&l, LAYOUT_MODELS) && visible(&l, LAYOUT_VRAM) &&
		    visible(&l, LAYOUT_UNTIL) && visible(&l, LAYOUT_SINCE));
	assert_false(visible(&l, LAYOUT_VERSION));
	assert_false(visible(&l, LAYOUT_GPU));
	assert_int_equal(l.total, 80);
	assert_true(l.width[layout_find(&l, LAYOUT_NAME)] >= 8);
	assert_true(l.width[layout_find(&l, LAYOUT_STATE)] >= 10);
	/* 80 columns with GPUs: utilisation and memory stay, temperature goes first */
	assert_int_equal(layout_compute(80, 1, &l), 0);
	check_geometry(&l, 80);
	assert_true(visible(&l, LAYOUT_GPU) && visible(&l, LAYOUT_GMEM));
	assert_false(visible(&l, LAYOUT_TEMP));
	assert_true(visible(&l, LAYOUT_MODELS));
	/* 200 columns: everything, flexible columns wide, no GPU columns without metrics */
	assert_int_equal(layout_compute(200, 0, &l), 0);
	check_geometry(&l, 200);
	assert_int_equal(l.ncols, LAYOUT_NCOLS - 3);
	assert_int_equal(l.width[layout_find(&l, LAYOUT_NAME)], 24);
	assert_true(l.width[layout_find(&l, LAYOUT_HIST)] >= 24);
	assert_int_equal(l.width[layout_find(&l, LAYOUT_NOTES)], 60);
	assert_int_equal(layout_compute(200, 1, &l), 0);
	check_geometry(&l, 200);
	assert_int_equal(l.ncols, LAYOUT_NCOLS);
	assert_int_equal(l.col[0], LAYOUT_NAME);
	/* too narrow for the essentials */
	assert_int_equal(layout_compute(30, 0, &l), -1);
	/* every width from 60 to 250 is consistent */
	for (int w = 60; w <= 250; w++)
		for (int g = 0; g < 2; g++)
			if (layout_compute(w, g, &l) == 0)
				check_geometry(&l, w);
	assert_string_equal(layout_header(LAYOUT_HIST), "HISTORY");
	assert_true(layout_right(LAYOUT_LATENCY));
	assert_false(layout_right(LAYOUT_NAME));
}

static void test_sparkline(void **state)
{
	(void)state;
	struct snapshot_ring r;
	char out[256];
	memset(&r, 0, sizeof(r));
	assert_string_equal(layout_sparkline(&r, 4, 1, out, sizeof(out)), "    ");
	int64_t v[] = { 0, 10, 20, 30, 40, 50, 60, 70, -1 };
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		snapshot_ring_push(&r, v[i]);
	assert_string_equal(layout_sparkline(&r, 9, 0, out, sizeof(out)), "_.-=+*#@x");
	assert_string_equal(layout_sparkline(&r, 9, 1, out, sizeof(out)),
			    "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588\u00d7");
	/* narrower than the history: the newest values, scaled to that window */
	assert_string_equal(layout_sparkline(&r, 3, 0, out, sizeof(out)), "#@x");
	/* wider: right-aligned */
	assert_string_equal(layout_sparkline(&r, 11, 0, out, sizeof(out)), "  _.-=+*#@x");
	assert_int_equal(render_width(layout_sparkline(&r, 11, 1, out, sizeof(out))), 11);
	/* all equal and zero */
	memset(&r, 0, sizeof(r));
	snapshot_ring_push(&r, 0);
	snapshot_ring_push(&r, 0);
	assert_string_equal(layout_sparkline(&r, 2, 0, out, sizeof(out)), "__");
	/* a small buffer is never overrun */
	assert_true(strlen(layout_sparkline(&r, 40, 1, out, 5)) < 5);
}

static void test_small_formats(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(layout_glyph(SNAP_UP, 0), "+");
	assert_string_equal(layout_glyph(SNAP_SLOW, 0), "~");
	assert_string_equal(layout_glyph(SNAP_DEGRADED, 0), "!");
	assert_string_equal(layout_glyph(SNAP_DOWN, 0), "x");
	assert_string_equal(layout_glyph(SNAP_DOWN, 1), "\u2716");
	assert_string_equal(layout_glyph(99, 1), "?");
	assert_string_equal(layout_until(0, NOW, out, sizeof(out)), "-");
	assert_string_equal(layout_until(INT64_MAX, NOW, out, sizeof(out)), "Forever");
	assert_string_equal(layout_until(NOW - S, NOW, out, sizeof(out)), "Stopping");
	assert_string_equal(layout_until(NOW + 4 * 60 * S, NOW, out, sizeof(out)), "4m");
	assert_string_equal(layout_until(NOW + 30 * 365LL * 86400 * S, NOW, out, sizeof(out)),
			    "Forever");
	assert_string_equal(layout_bytes(0, out, sizeof(out)), "-");
	assert_string_equal(layout_bytes(512ULL << 20, out, sizeof(out)), "512M");
	assert_string_equal(layout_bytes(3119762048ULL, out, sizeof(out)), "2.9G");
	assert_string_equal(layout_bytes(80ULL << 30, out, sizeof(out)), "80G");
	assert_string_equal(layout_fit("llama3.2:latest", 8, out, sizeof(out)), "llama3.~");
	assert_string_equal(layout_fit("abc", 8, out, sizeof(out)), "abc");
	assert_string_equal(layout_fit("\u25cf UP", 3, out, sizeof(out)), "\u25cf ~");
	assert_int_equal(render_width(layout_fit("\u2581\u2582\u2583\u2584", 3, out,
						 sizeof(out))), 3);
}

static void test_cells(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	char err[ERR_MAX], out[256];
	assert_int_equal(fleet_parse_string(&f, "[instance gpu-1]\nurl = http://127.0.0.1:1\n"
						"[model llama3.2]\n[model qwen2.5:0.5b]\n",
					    "t.conf", err), 0);
	struct snapshot s;
	snapshot_init(&s, &f, NULL);
	struct snapshot_inst *p = &s.inst[0];
	s.t_ns = NOW;
	p->state = SNAP_DEGRADED;
	p->polled = 1;
	p->last_ok_ns = NOW;
	p->since_ns = NOW - 125 * S;
	p->latency_ns = 1500000;
	p->models = calloc(3, sizeof(*p->models));
	p->nmodels = 3;
	snprintf(p->models[0].name, sizeof(p->models[0].name), "llama3.2:latest");
	p->models[0].required = p->models[0].installed = p->models[0].resident = 1;
	p->models[0].size = 4ULL << 30;
	p->models[0].size_vram = 3ULL << 30;
	p->models[0].context_length = 4096;
	p->models[0].expires_at = NOW + 240 * S;
	snprintf(p->models[1].name, sizeof(p->models[1].name), "qwen2.5:0.5b");
	p->models[1].required = p->models[1].installed = 1;
	snprintf(p->models[2].name, sizeof(p->models[2].name), "extra:latest");
	p->models[2].resident = 1;
	p->models[2].size = p->models[2].size_vram = 1ULL << 30;
	p->models[2].expires_at = INT64_MAX;
	p->nrequired = 2;
	p->nresident_req = 1;
	p->nresident = 2;
	p->nmissing = 1;
	p->vram = 4ULL << 30;
	p->ram = 1ULL << 30;
	assert_string_equal(layout_cell(LAYOUT_STATE, &s, p, NULL, 10, 0, out, sizeof(out)),
			    "! DEGRADED");
	assert_string_equal(layout_cell(LAYOUT_SINCE, &s, p, NULL, 4, 0, out, sizeof(out)), "2m");
	assert_string_equal(layout_cell(LAYOUT_LATENCY, &s, p, NULL, 7, 0, out, sizeof(out)),
			    "1.50ms");
	assert_string_equal(layout_cell(LAYOUT_MODELS, &s, p, NULL, 6, 0, out, sizeof(out)),
			    "1/2+1");
	assert_string_equal(layout_cell(LAYOUT_VRAM, &s, p, NULL, 5, 0, out, sizeof(out)), "4.0G");
	assert_string_equal(layout_cell(LAYOUT_CPU, &s, p, NULL, 5, 0, out, sizeof(out)), "1.0G");
	assert_string_equal(layout_cell(LAYOUT_CTX, &s, p, NULL, 6, 0, out, sizeof(out)), "4096");
	assert_string_equal(layout_cell(LAYOUT_UNTIL, &s, p, NULL, 8, 0, out, sizeof(out)), "4m");
	assert_string_equal(layout_cell(LAYOUT_NOTES, &s, p, NULL, 20, 0, out, sizeof(out)),
			    "unloaded qwen2.5:0.5b");
	assert_string_equal(layout_cell(LAYOUT_GPU, &s, p, NULL, 4, 0, out, sizeof(out)), "");
	/* model rows */
	assert_string_equal(layout_cell(LAYOUT_NAME, &s, p, &p->models[0], 20, 0, out,
					sizeof(out)), " - llama3.2:latest");
	assert_string_equal(layout_cell(LAYOUT_STATE, &s, p, &p->models[1], 10, 0, out,
					sizeof(out)), "unloaded");
	assert_string_equal(layout_cell(LAYOUT_HIST, &s, p, &p->models[0], 10, 0, out,
					sizeof(out)), "25%/75% CPU/GPU");
	assert_string_equal(layout_cell(LAYOUT_UNTIL, &s, p, &p->models[2], 8, 0, out,
					sizeof(out)), "Forever");
	assert_string_equal(layout_cell(LAYOUT_NOTES, &s, p, &p->models[2], 30, 0, out,
					sizeof(out)), "not in the fleet file");
	/* down with stale data */
	p->state = SNAP_DOWN;
	p->stale = 1;
	p->last_ok_ns = NOW - 42 * S;
	p->latency_ns = -1;
	snprintf(p->problem, sizeof(p->problem), "HEAD /: connection refused");
	assert_string_equal(layout_cell(LAYOUT_NOTES, &s, p, NULL, 40, 0, out, sizeof(out)),
			    "stale 42s: HEAD /: connection refused");
	assert_string_equal(layout_cell(LAYOUT_LATENCY, &s, p, NULL, 7, 0, out, sizeof(out)), "-");
	assert_string_equal(layout_cell(LAYOUT_STATE, &s, p, NULL, 10, 1, out, sizeof(out)),
			    "\u2716 DOWN");
	snapshot_release(&s);
	fleet_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_widths),        cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_small_formats), cmocka_unit_test(test_cells),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
