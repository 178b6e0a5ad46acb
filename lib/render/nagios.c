/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Nagios perfdata formatting. */
#include "../compat.h"
#include "nagios.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

void nagios_perfdata(struct buf *b, const char *label, double value, const char *uom,
		     const char *warn, const char *crit, const char *min, const char *max)
{
	if (b->len)
		buf_adds(b, " ");
	int quote = strpbrk(label, " ='") != NULL;
	if (quote) {
		buf_adds(b, "'");
		for (const char *p = label; *p; p++)
			buf_adds(b, *p == '\'' ? "''" : (char[]){ *p, 0 });
		buf_adds(b, "'");
	} else {
		buf_adds(b, label);
	}
	char v[64];
	if (value == floor(value) && fabs(value) < 1e15)
		snprintf(v, sizeof(v), "%.0f", value);
	else
		snprintf(v, sizeof(v), "%.6g", value);
	buf_addf(b, "=%s%s", v, uom ? uom : "");
	const char *f[4] = { warn, crit, min, max };
	int last = -1;
	for (int i = 0; i < 4; i++)
		if (f[i] && *f[i])
			last = i;
	for (int i = 0; i <= last; i++)
		buf_addf(b, ";%s", f[i] ? f[i] : "");
}
