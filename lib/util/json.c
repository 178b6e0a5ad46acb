/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Small helpers over any JSON text: the cJSON version, model names in a document. */
#include "../compat.h"
#include "json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "../banned.h"

const char *json_lib_version(void)
{
	return cJSON_Version();
}

static void models_from_item(const cJSON *item, void (*add)(void *, const char *), void *ud,
			     int depth)
{
	const cJSON *it, *m;
	if (depth > 8)
		return;
	cJSON_ArrayForEach(it, item) {
		const char *key = item->type == cJSON_Object ? it->string : NULL;
		if (key && !strcmp(key, "model") && cJSON_IsString(it)) {
			add(ud, it->valuestring);
		} else if (key && !strcmp(key, "models") && cJSON_IsArray(it)) {
			cJSON_ArrayForEach(m, it) {
				const cJSON *name = cJSON_IsObject(m)
					? cJSON_GetObjectItemCaseSensitive(m, "name") : m;
				if (cJSON_IsString(name))
					add(ud, name->valuestring);
			}
		} else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			models_from_item(it, add, ud, depth + 1);
		}
	}
}

void json_scan_models(const char *json, void (*add)(void *ud, const char *name), void *ud)
{
	cJSON *root = json ? cJSON_Parse(json) : NULL;
	if (!root)
		return;
	if (cJSON_IsObject(root) || cJSON_IsArray(root))
		models_from_item(root, add, ud, 0);
	cJSON_Delete(root);
}

const cJSON *json_get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

double json_num(const cJSON *o, const char *k)
{
	const cJSON *v = json_get(o, k);
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : 0;
}

int64_t json_ns(const cJSON *o, const char *k)
{
	double v = json_num(o, k);
	return fabs(v) < 9e18 ? (int64_t)v : 0;
}

uint64_t json_count(const cJSON *o, const char *k)
{
	double v = json_num(o, k);
	return v > 0 && v < 1.8e19 ? (uint64_t)v : 0;
}
