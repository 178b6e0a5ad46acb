/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * obridge import: any nginx or HAProxy config text (the first byte chooses which), read
 * into a fleet file or refused with a "file:line: message"; what it writes must parse.
 */
#include "../../lib/compat.h"
#include <string.h>
#include "../../lib/emit/emit.h"
#include "../../lib/fleet/fleet.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_MAX];
	char *fleet_text = NULL;
	if (!size)
		return 0;
	enum import_kind kind = data[0] & 1 ? IMPORT_HAPROXY : IMPORT_NGINX;
	char *text = fuzz_str(data + 1, size - 1);
	err[0] = '\0';
	if (emit_import(kind, text, "fuzz.conf", NULL, "0", &fleet_text, err) == 0) {
		struct fleet f;
		/* an imported fleet file is one the fleet parser takes, or refuses with a reason */
		if (fleet_parse_string(&f, fleet_text, "imported.conf", err) == 0)
			fleet_release(&f);
		else if (!err[0])
			abort();
		free(fleet_text);
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	free(text);
	return 0;
}
