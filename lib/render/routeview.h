/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The report of `obridge route test`: one block per check, the weights as bars. */
#ifndef OBRIDGE_RENDER_ROUTEVIEW_H
#define OBRIDGE_RENDER_ROUTEVIEW_H

#include <stdio.h>

struct route_report;

/* Print the report; utf8 chooses block characters for the bars, color the verdicts. */
void routeview_print(FILE *out, const struct route_report *r, const char *balancer, int color,
		     int utf8, int quiet);
/* One progress line on stderr (a terminal), replaced by the next; NULL clears it. */
void routeview_progress(FILE *err, const char *msg);

#endif
