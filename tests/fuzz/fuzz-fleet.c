/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fleet file (INI through inih): any text, parsed or refused with a message. */
#include "../../lib/compat.h"
#include <string.h>
#include "../../lib/fleet/fleet.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_MAX];
	struct fleet f;
	if (fleet_parse(&f, (const char *)data, size, "fuzz.conf", err) == 0) {
		char *js = fleet_to_json(&f);
		free(js);
		fleet_release(&f);
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	return 0;
}
