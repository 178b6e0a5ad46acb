/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Masking secrets in text: noted keys, Bearer and Authorization values, URL credentials. */
#include "../compat.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../banned.h"

#define SECRETS_MAX 8
static char *secrets[SECRETS_MAX];
static size_t nsecrets;

void secret_note(const char *s)
{
	if (!s || strlen(s) < 4 || nsecrets == SECRETS_MAX)
		return;
	for (size_t i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], s))
			return;
	secrets[nsecrets++] = xstrdup(s);
}

void secret_forget_all(void)
{
	for (size_t i = 0; i < nsecrets; i++)
		secret_free(secrets[i]);
	nsecrets = 0;
}

static int token_char(unsigned char c)
{
	return isalnum(c) || strchr("-._~+/=:", c) != NULL;
}

/* Length of the token at s (token68 and a little more). */
static size_t token_len(const char *s)
{
	size_t n = 0;
	while (s[n] && token_char((unsigned char)s[n]))
		n++;
	return n;
}

/* Write a mask for a span of len bytes: never longer than the span. */
static size_t mask(char *o, size_t len)
{
	size_t m = len < 3 ? len : 3;
	memset(o, '*', m);
	return m;
}

static size_t word_at(const char *s, const char *w)
{
	size_t l = strlen(w);
	return strncasecmp(s, w, l) == 0 ? l : 0;
}

char *text_redact(char *s)
{
	if (!s || !*s)
		return s;
	size_t len = strlen(s);
	char *o = xmalloc(len + 1);
	size_t i = 0, n = 0;
	while (i < len) {
		size_t l;
		/* a noted secret */
		int hit = 0;
		for (size_t k = 0; k < nsecrets && !hit; k++) {
			size_t sl = strlen(secrets[k]);
			if (!strncmp(s + i, secrets[k], sl)) {
				n += mask(o + n, sl);
				i += sl;
				hit = 1;
			}
		}
		if (hit)
			continue;
		/* Authorization: [scheme] value, Bearer value, Basic value */
		if ((l = word_at(s + i, "authorization")) &&
		    (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
			size_t j = i + l;
			if (s[j] == '"')
				j++;
			while (s[j] == ':' || s[j] == ' ' || s[j] == '"' || s[j] == '=')
				j++;
			if (j > i + l && !word_at(s + j, "bearer ") && !word_at(s + j, "basic ")) {
				size_t t = token_len(s + j);
				if (t) {
					memcpy(o + n, s + i, j - i);
					n += j - i;
					n += mask(o + n, t);
					i = j + t;
					continue;
				}
			}
		}
		if (((l = word_at(s + i, "bearer ")) || (l = word_at(s + i, "basic "))) &&
		    (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
			size_t j = i + l;
			while (s[j] == ' ')
				j++;
			size_t t = token_len(s + j);
			if (t) {
				memcpy(o + n, s + i, j - i);
				n += j - i;
				n += mask(o + n, t);
				i = j + t;
				continue;
			}
		}
		/* scheme://user:password@host: mask the user information */
		if (!strncmp(s + i, "://", 3)) {
			size_t j = i + 3, at = 0;
			while (s[j] && !strchr("/?#@ \t\"'<>", s[j]))
				j++;
			if (s[j] == '@')
				at = j;
			if (at > i + 3) {
				memcpy(o + n, "://", 3);
				n += 3;
				n += mask(o + n, at - (i + 3));
				i = at;
				continue;
			}
		}
		o[n++] = s[i++];
	}
	o[n] = '\0';
	memcpy(s, o, n + 1);
	explicit_bzero(o, len + 1);
	free(o);
	return s;
}
