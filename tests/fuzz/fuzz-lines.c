/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The line framer of lib/http: any bytes, cut into reads at the sizes the first byte picks. */
#include "../../lib/compat.h"
#include <string.h>
#include "../../lib/http/http.h"
#include "fuzz.h"

static int on_line(void *ud, const char *line, size_t len, int64_t t_ns)
{
	(void)t_ns;
	size_t *n = ud;
	if (line[len] != '\0' || memchr(line, '\n', len))
		abort(); /* lines are NUL-terminated and hold no LF */
	*n += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 17) + 1, total = 0;
	struct http_lines l;
	http_lines_init(&l, 256);
	int r = 0;
	for (size_t i = 1; i < size && r == 0; i += step) {
		size_t n = size - i < step ? size - i : step;
		r = http_lines_feed(&l, (const char *)data + i, n, on_line, &total, 0);
	}
	if (r == 0)
		http_lines_finish(&l, on_line, &total, 0);
	http_lines_release(&l);
	return 0;
}
