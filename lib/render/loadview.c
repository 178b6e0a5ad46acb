/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rendering of preload/unload/warmup pairs. */
#include "../compat.h"
#include "loadview.h"

#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "render.h"
#include "../fleet/fleet.h"
#include "../fleet/load.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

void loadview_table(FILE *out, const struct load_set *s, int color, int with_load, int unload)
{
	static const char *const h[] = { "INSTANCE", "MODEL", "STATE", "LOAD", "SIZE",
					 "PROCESSOR", "CONTEXT", "UNTIL" };
	struct table t;
	table_init(&t, ARRAY_SIZE(h), h);
	table_set_align(&t, 3, TABLE_RIGHT);
	table_set_align(&t, 6, TABLE_RIGHT);
	int64_t now = wall_ns();
	char b1[64];
	for (size_t i = 0; i < s->n; i++) {
		const struct load_pair *p = &s->p[i];
		size_t r = table_add_row(&t);
		table_set(&t, r, 0, "%s", p->in->name);
		table_set(&t, r, 1, "%s", p->model);
		const char *state;
		enum render_color c;
		if (!p->ok) {
			state = "failed";
			c = COLOR_CRIT;
		} else if (unload) {
			state = p->resident ? "still loaded" : "unloaded";
			c = p->resident ? COLOR_WARN : COLOR_OK;
		} else if (!p->ps_ok) {
			state = "unknown";
			c = COLOR_WARN;
		} else {
			state = p->resident ? "resident" : "not resident";
			c = p->resident ? COLOR_OK : COLOR_CRIT;
		}
		table_set(&t, r, 2, "%s", state);
		table_set_color(&t, r, 2, c);
		if (with_load && p->ok)
			table_set(&t, r, 3, "%s", units_fmt_duration(p->latency_ns, b1, sizeof(b1)));
		if (p->resident) {
			table_set(&t, r, 4, "%s", units_fmt_bytes(p->size, b1, sizeof(b1)));
			table_set(&t, r, 5, "%s", fmt_processor(p->size, p->size_vram, b1, sizeof(b1)));
			if (p->context_length)
				table_set(&t, r, 6, "%" PRId64, p->context_length);
			table_set(&t, r, 7, "%s", fmt_until(p->expires_at, now, b1, sizeof(b1)));
		}
		if (p->err[0]) {
			size_t r2 = table_add_row(&t);
			table_set(&t, r2, 1, "  %s", p->err);
			table_set_color(&t, r2, 1, COLOR_CRIT);
		}
	}
	table_print(&t, out, color);
	table_release(&t);
}

static double median_ns(const int64_t *v, int n)
{
	if (n <= 0)
		return 0;
	int64_t *c = xmalloc((size_t)n * sizeof(*c));
	memcpy(c, v, (size_t)n * sizeof(*c));
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && c[j - 1] > c[j]; j--) {
			int64_t t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	double m = n % 2 ? (double)c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2.0;
	free(c);
	return m;
}

void loadview_json(struct buf *b, const struct load_set *s, int with_warm)
{
	char iso[64];
	buf_adds(b, "[");
	for (size_t i = 0; i < s->n; i++) {
		const struct load_pair *p = &s->p[i];
		buf_adds(b, i ? ",{\"instance\":" : "{\"instance\":");
		buf_add_json_str(b, p->in->name);
		buf_adds(b, ",\"url\":");
		buf_add_json_str(b, p->in->url);
		buf_adds(b, ",\"model\":");
		buf_add_json_str(b, p->model);
		buf_addf(b, ",\"ok\":%s,\"embedding\":%s,\"latency_s\":%.6f,\"error\":",
			 p->ok ? "true" : "false", p->embed ? "true" : "false", p->latency_ns / 1e9);
		if (p->err[0])
			buf_add_json_str(b, p->err);
		else
			buf_adds(b, "null");
		buf_addf(b, ",\"resident\":%s", p->resident ? "true" : "false");
		if (p->resident) {
			buf_addf(b, ",\"size\":%" PRIu64 ",\"size_vram\":%" PRIu64
				     ",\"context_length\":%" PRId64 ",\"expires_at\":",
				 p->size, p->size_vram, p->context_length);
			if (p->expires_at == INT64_MAX) {
				buf_adds(b, "\"forever\"");
			} else {
				time_rfc3339nano(p->expires_at, 0, iso, sizeof(iso));
				buf_add_json_str(b, iso);
			}
		}
		if (with_warm) {
			buf_addf(b, ",\"warm\":{\"requests\":%d,\"ok\":%d,\"first_s\":%.6f,"
				     "\"ttft_p50_s\":%.6f,\"total_p50_s\":%.6f,\"tokens_per_s\":[",
				 p->nwarm, p->nwarm_ok, p->nwarm_ok ? p->warm_total_ns[0] / 1e9 : 0,
				 median_ns(p->warm_ttft_ns + (p->nwarm_ok > 1), p->nwarm_ok - (p->nwarm_ok > 1)) / 1e9,
				 median_ns(p->warm_total_ns + (p->nwarm_ok > 1), p->nwarm_ok - (p->nwarm_ok > 1)) / 1e9);
			for (int k = 0; k < p->nwarm_ok; k++)
				buf_addf(b, "%s%.2f", k ? "," : "", p->warm_tps[k]);
			buf_adds(b, "],\"error\":");
			if (p->warm_err[0])
				buf_add_json_str(b, p->warm_err);
			else
				buf_adds(b, "null");
			buf_adds(b, "}");
		}
		buf_adds(b, "}");
	}
	buf_adds(b, "]");
}
