/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A growing byte buffer with an optional hard cap, always NUL-terminated. */
#ifndef OBRIDGE_UTIL_BUF_H
#define OBRIDGE_UTIL_BUF_H

#include <stddef.h>

/*
 * `data` is owned by the buffer and always NUL-terminated once anything was added.
 * `max` (0 = unlimited) bounds len: an add that would exceed it fails with -1 and leaves
 * the buffer unchanged (curl dynbuf's "toobig").
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
/* Frees the memory; the buffer may be reused after buf_init. */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (with quotes). */
int buf_add_json_str(struct buf *b, const char *s);
/* Returns the contents ("" when empty); valid until the next change. */
const char *buf_str(const struct buf *b);
/* Hands the contents to the caller (never NULL) and resets the buffer. */
char *buf_detach(struct buf *b);
/* Remove the first n bytes. */
void buf_consume(struct buf *b, size_t n);

#endif
