/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Whole-file writes (file.c). */
#ifndef OBRIDGE_UTIL_FILE_H
#define OBRIDGE_UTIL_FILE_H

#include <stddef.h>

/*
 * Replace path with data atomically: written to a temporary file in the same directory,
 * fsync'd, made mode 0644, then renamed over path, so a reader sees the old file or the
 * new one, never a part. Returns 0, or -1 with err (the temporary file is removed).
 */
int file_write_atomic(const char *path, const void *data, size_t len, char *err);

#endif
