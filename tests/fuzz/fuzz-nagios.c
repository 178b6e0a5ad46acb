/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Nagios threshold ranges (10, 10:, ~:10, 10:20, @10:20, durations). */
#include "../../lib/compat.h"
#include <string.h>
#include "../../lib/render/nagios.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char err[ERR_MAX];
	struct nagios_range r;
	if (nagios_range_parse(&r, s, err) == 0) {
		nagios_range_alert(&r, 0);
		nagios_range_alert(&r, 1e300);
		nagios_range_alert(&r, -5);
	}
	free(s);
	return 0;
}
