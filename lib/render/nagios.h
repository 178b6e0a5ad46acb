/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Nagios/Monitoring Plugins perfdata (nagios.c); states and ranges are lib/stats/threshold.h. */
#ifndef OBRIDGE_RENDER_NAGIOS_H
#define OBRIDGE_RENDER_NAGIOS_H

#include <stddef.h>

struct buf;

/*
 * Append one perfdata item: 'label'=value[uom];[warn];[crit];[min];[max] with a leading
 * space when the buffer is not empty. The label is quoted when needed ('' for a quote).
 * NULL warn/crit/min/max leave the field empty; trailing empty fields are dropped.
 */
void nagios_perfdata(struct buf *b, const char *label, double value, const char *uom,
		     const char *warn, const char *crit, const char *min, const char *max);

#endif
