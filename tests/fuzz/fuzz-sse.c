/* SPDX-License-Identifier: GPL-3.0-or-later */
/* OpenAI-compatible SSE streams: every line through the SSE framing and chunk parser. */
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
		ollama_chunk_parse(&c, OLLAMA_WIRE_OPENAI, line, len, err);
	}
	ollama_chunk_release(&c);
	free(s);
	return 0;
}
