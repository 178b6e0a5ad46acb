/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Ollama's JSON: every line as a native stream chunk, the whole input as ps, tags, show. */
#include "../../lib/compat.h"
#include <string.h>
#include "../../lib/ollama/ollama.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char err[ERR_MAX];
	struct ollama_chunk c;
	ollama_chunk_init(&c);
	for (char *line = s, *nl; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		ollama_chunk_parse(&c, OLLAMA_WIRE_NATIVE, line, len, err);
	}
	ollama_chunk_release(&c);
	struct ollama_ps ps;
	if (ollama_parse_ps(s, size, &ps, err) == 0)
		ollama_ps_release(&ps);
	struct ollama_tags t;
	if (ollama_parse_tags(s, size, &t, err) == 0)
		ollama_tags_release(&t);
	struct ollama_show sh;
	if (ollama_parse_show(s, size, &sh, err) == 0)
		ollama_show_release(&sh);
	char m[256];
	ollama_error_message(s, size, m, sizeof(m));
	free(s);
	return 0;
}
