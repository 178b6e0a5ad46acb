/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Small helpers over any JSON text (json.c). */
#ifndef OBRIDGE_UTIL_JSON_H
#define OBRIDGE_UTIL_JSON_H

#include <stdint.h>

struct cJSON;

/* The version of cJSON in use. */
const char *json_lib_version(void);

/*
 * Call add(ud, name) for every model name anywhere in json: "model": "NAME",
 * "models": ["NAME", ...] or "models": [{"name": "NAME", ...}, ...], at most 8 levels
 * deep. Text that is not a JSON object or array adds nothing.
 */
void json_scan_models(const char *json, void (*add)(void *ud, const char *name), void *ud);

/* Readers of one member of a parsed object, forgiving: a missing member, a value of
 * another type or a number no target type holds reads as NULL or 0. */
const struct cJSON *json_get(const struct cJSON *o, const char *k);
double json_num(const struct cJSON *o, const char *k);      /* finite numbers only */
int64_t json_ns(const struct cJSON *o, const char *k);      /* |v| < 9e18 */
uint64_t json_count(const struct cJSON *o, const char *k);  /* 0 < v < 1.8e19 */

#endif
