/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The route test report. */
#include "../compat.h"
#include "routeview.h"

#include <inttypes.h>
#include <string.h>

#include "../route/route.h"
#include "progress.h"
#include "render.h"
#include "../banned.h"

#define BAR_WIDTH 30

static void bar(FILE *out, double share, int utf8, const char *fill)
{
	int n = (int)(share * BAR_WIDTH + 0.5);
	for (int i = 0; i < BAR_WIDTH; i++)
		fputs(i < n ? (utf8 ? fill : "#") : " ", out);
}

static void bars(FILE *out, const struct route_result *r, int utf8)
{
	for (size_t k = 0; k < r->nbars; k++) {
		const struct route_bar *b = &r->bars[k];
		fprintf(out, "    %-16.16s expected ", b->name);
		bar(out, b->expected, utf8, "░");
		fprintf(out, " %5.1f%%\n    %-16s observed ", 100 * b->expected, "");
		bar(out, b->observed, utf8, "█");
		fprintf(out, " %5.1f%% (%" PRIu64 ")\n", 100 * b->observed, b->count);
	}
}

void routeview_print(FILE *out, const struct route_report *r, const char *balancer, int color,
		     int utf8, int quiet)
{
	static const char *const word[] = { "PASS", "FAIL", "SKIP" };
	static const enum render_color col[] = { COLOR_OK, COLOR_CRIT, COLOR_DIM };
	int pass, fail, skip;
	if (!quiet)
		fprintf(out, "route test of %s: attribution by %s%s, instances taken down by %s, "
			"model %s\n\n", balancer,
			r->method == ROUTE_BY_HEADER ? "header " : "/api/ps expires_at",
			r->method == ROUTE_BY_HEADER ? r->header : "", r->down_how, r->model);
	for (int i = 0; i < ROUTE__N; i++) {
		if (!r->ran[i])
			continue;
		const struct route_result *x = &r->r[i];
		render_colored(out, color, col[x->outcome], word[x->outcome]);
		fprintf(out, "  %-11s %s\n", route_check_name((enum route_check)i), x->summary);
		if (quiet)
			continue;
		for (const char *p = x->detail.data; p && *p;) {
			size_t len = strcspn(p, "\n");
			fprintf(out, "    %.*s\n", (int)len, p);
			p += len + (p[len] == '\n');
		}
		if (i == ROUTE_WEIGHTS && x->nbars)
			bars(out, x, utf8);
	}
	route_report_counts(r, &pass, &fail, &skip);
	fprintf(out, "\nroute test: %d of %d checks pass, %d fail, %d skipped%s\n", pass,
		pass + fail + skip, fail, skip, r->interrupted ? " (interrupted)" : "");
}

void routeview_progress(FILE *err, const char *msg)
{
	if (msg)
		progress_line(err, 1, "route: %s", msg);
	else
		progress_done(err);
}
