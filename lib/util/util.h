/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Allocation that never returns NULL, error buffers, clocks and small string helpers. */
#ifndef OBRIDGE_UTIL_UTIL_H
#define OBRIDGE_UTIL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

/* Allocators abort the process on out-of-memory (the only place lib/ ends the process). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/*
 * Fill the ERR_MAX-sized buffer err (if not NULL) with a formatted message and return -1,
 * so that `return seterr(err, "...")` reads naturally.
 */
int seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic clock in nanoseconds (for every measurement). */
int64_t mono_ns(void);
/* Wall clock in nanoseconds since the epoch (for records only). */
int64_t wall_ns(void);

/* RFC3339Nano for seconds since the epoch plus nanoseconds: works past 2262, where int64
 * nanoseconds end (Ollama's keep-alive-forever expires_at is in 2318). */
void time_rfc3339(int64_t sec, long nsec, int utc, char *out, size_t n);
/* Format wall time ns as RFC3339Nano: UTC ("...Z") when utc, else in the local zone ("...-07:00"). */
void time_rfc3339nano(int64_t ns, int utc, char *out, size_t n);
/* Parse RFC3339 with 0-9 fractional digits and Z or +hh:mm; returns 0 and ns since epoch
 * (INT64_MAX for dates past 2262, such as Ollama's keep-alive-forever in 2318), or -1. */
int time_parse_rfc3339(const char *s, int64_t *ns);

/*
 * Copy src into dst (size n), replacing control characters, escape sequences and invalid
 * UTF-8 with '?', so that text from a server can be shown on a terminal safely.
 * Returns dst.
 */
char *text_sanitize(char *dst, size_t n, const char *src); /* dst may be src */
/* Allocating variant of text_sanitize. */
char *text_sanitize_dup(const char *src);

/* Bounded copy that always terminates; returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t n);

/* Levenshtein distance, for did-you-mean suggestions. */
int edit_distance(const char *a, const char *b);

/*
 * Remember a secret (an API key) so that text_redact masks it; at most a few are kept.
 * text_redact(s) masks, in place, noted secrets, the values after "Bearer ", "Basic " and
 * "Authorization:", and the user information of URLs (the "u:p" of "http://u:p@h" becomes "***").
 * The text never grows. text_sanitize redacts too: every text from a server passes there.
 */
void secret_note(const char *s);
void secret_forget_all(void);
char *text_redact(char *s);

/* Securely wipe then free a secret string. */
void secret_free(char *s);

#endif
