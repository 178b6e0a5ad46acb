/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared by the libFuzzer targets (make fuzz): a NUL-terminated copy of the input. */
#ifndef OBRIDGE_FUZZ_H
#define OBRIDGE_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
