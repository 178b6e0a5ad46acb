/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Small helpers over any JSON text (json.c). */
#ifndef OBRIDGE_UTIL_JSON_H
#define OBRIDGE_UTIL_JSON_H

/* The version of cJSON in use. */
const char *json_lib_version(void);

/*
 * Call add(ud, name) for every model name anywhere in json: "model": "NAME",
 * "models": ["NAME", ...] or "models": [{"name": "NAME", ...}, ...], at most 8 levels
 * deep. Text that is not a JSON object or array adds nothing.
 */
void json_scan_models(const char *json, void (*add)(void *ud, const char *name), void *ud);

#endif
