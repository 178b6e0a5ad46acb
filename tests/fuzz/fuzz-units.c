/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Durations and sizes: parse, and what parses formats back without trouble. */
#include "../../lib/compat.h"
#include <string.h>
#include "../../lib/util/units.h"
#include "../../lib/util/util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = fuzz_str(data + 1, size - 1);
	char err[ERR_MAX], out[64];
	int64_t ns;
	static const int flags[] = { 0, UNITS_NEG_FOREVER, UNITS_REQUIRE_UNIT, UNITS_DAYS };
	if (units_parse_duration(s, &ns, flags[data[0] % 4], err) == 0) {
		units_fmt_duration(ns, out, sizeof(out));
		units_go_duration(ns, out, sizeof(out));
	}
	uint64_t bytes;
	if (units_parse_size(s, &bytes, err) == 0)
		units_fmt_bytes(bytes, out, sizeof(out));
	int64_t t;
	time_parse_rfc3339(s, &t);
	free(s);
	return 0;
}
