/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The resolved fleet as JSON, and derived views (groups). */
#include "../compat.h"
#include "fleet.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **fleet_groups(const struct fleet *f, size_t *n)
{
	const char **g = xcalloc(f->ninstances + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < f->ninstances; i++) {
		const char *name = f->instances[i].group;
		if (!name)
			continue;
		int seen = 0;
		for (size_t j = 0; j < k; j++)
			if (!strcmp(g[j], name))
				seen = 1;
		if (!seen)
			g[k++] = name;
	}
	qsort(g, k, sizeof(char *), cmp_str);
	g[k] = NULL;
	*n = k;
	return g;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_int_or_null(cJSON *o, const char *k, int v)
{
	if (v)
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

char *fleet_to_json(const struct fleet *f)
{
	cJSON *root = cJSON_CreateObject();
	add_str_or_null(root, "name", f->name);
	add_str_or_null(root, "path", f->path);
	add_str_or_null(root, "source", f->source);
	add_str_or_null(root, "balancer", f->balancer);
	cJSON_AddBoolToObject(root, "api_key_file", f->api_key_file != NULL);
	cJSON_AddBoolToObject(root, "shared_store", f->shared_store);

	cJSON *insts = cJSON_AddArrayToObject(root, "instances");
	for (size_t i = 0; i < f->ninstances; i++) {
		const struct fleet_instance *in = &f->instances[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", in->name);
		cJSON_AddStringToObject(o, "url", in->url);
		cJSON_AddNumberToObject(o, "weight", in->weight);
		add_str_or_null(o, "group", in->group);
		cJSON_AddBoolToObject(o, "backup", in->backup);
		add_str_or_null(o, "metrics_url", in->metrics_url);
		add_int_or_null(o, "num_parallel", in->num_parallel);
		add_int_or_null(o, "max_loaded", in->max_loaded);
		add_str_or_null(o, "gpus", in->gpus);
		double hour = fleet_instance_hour(f, in);
		if (hour >= 0)
			cJSON_AddNumberToObject(o, "instance_hour", hour);
		else
			cJSON_AddNullToObject(o, "instance_hour");
		cJSON *models = cJSON_AddArrayToObject(o, "models");
		for (size_t m = 0; m < f->nmodels; m++)
			if (fleet_model_on_instance(&f->models[m], in))
				cJSON_AddItemToArray(models, cJSON_CreateString(f->models[m].name));
		cJSON_AddItemToArray(insts, o);
	}

	size_t ng;
	const char **groups = fleet_groups(f, &ng);
	cJSON *gobj = cJSON_AddObjectToObject(root, "groups");
	for (size_t g = 0; g < ng; g++) {
		cJSON *members = cJSON_CreateArray();
		for (size_t i = 0; i < f->ninstances; i++)
			if (f->instances[i].group && !strcmp(f->instances[i].group, groups[g]))
				cJSON_AddItemToArray(members,
						     cJSON_CreateString(f->instances[i].name));
		cJSON_AddItemToObject(gobj, groups[g], members);
	}
	free(groups);

	cJSON *models = cJSON_AddArrayToObject(root, "models");
	for (size_t m = 0; m < f->nmodels; m++) {
		const struct fleet_model *md = &f->models[m];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", md->name);
		if (md->has_keep_alive) {
			char ka[64];
			cJSON_AddStringToObject(o, "keep_alive",
						md->keep_alive_ns == DURATION_FOREVER ? "forever" :
						units_go_duration(md->keep_alive_ns, ka, sizeof(ka)));
			cJSON_AddNumberToObject(o, "keep_alive_seconds",
						md->keep_alive_ns == DURATION_FOREVER ? -1 :
						md->keep_alive_ns / 1e9);
		} else {
			cJSON_AddNullToObject(o, "keep_alive");
		}
		if (md->num_ctx)
			cJSON_AddNumberToObject(o, "num_ctx", md->num_ctx);
		else
			cJSON_AddNullToObject(o, "num_ctx");
		add_str_or_null(o, "digest", md->digest);
		cJSON *g = cJSON_AddArrayToObject(o, "groups");
		for (size_t k = 0; k < md->ngroups; k++)
			cJSON_AddItemToArray(g, cJSON_CreateString(md->groups[k]));
		cJSON *on = cJSON_AddArrayToObject(o, "instances");
		for (size_t i = 0; i < f->ninstances; i++)
			if (fleet_model_on_instance(md, &f->instances[i]))
				cJSON_AddItemToArray(on, cJSON_CreateString(f->instances[i].name));
		cJSON_AddItemToArray(models, o);
	}

	cJSON *route = cJSON_AddObjectToObject(root, "route");
	if (f->long_prompt_bytes)
		cJSON_AddNumberToObject(route, "long_prompt_bytes", (double)f->long_prompt_bytes);
	add_str_or_null(route, "long_group", f->long_group);

	cJSON *slo = cJSON_AddObjectToObject(root, "slo");
	for (int k = 0; k < SLO_NKEYS; k++)
		if (f->slo.mask & (1u << k))
			cJSON_AddNumberToObject(slo, slo_key_name(k),
						k == SLO_ERROR_RATE ? f->slo.limit[k] :
								      f->slo.limit[k] / 1e9);
	cJSON *cost = cJSON_AddObjectToObject(root, "cost");
	if (f->cost.has_instance_hour)
		cJSON_AddNumberToObject(cost, "instance_hour", f->cost.instance_hour);
	cJSON *gh = cJSON_AddObjectToObject(cost, "group_hour");
	for (size_t g = 0; g < f->cost.ngroups; g++)
		cJSON_AddNumberToObject(gh, f->cost.group_names[g], f->cost.group_hour[g]);
	if (f->cost.has_cloud)
		cJSON_AddNumberToObject(cost, "cloud_per_1m_output", f->cost.cloud_per_1m_output);
	cJSON *k8s = cJSON_AddObjectToObject(root, "k8s");
	cJSON_AddNumberToObject(k8s, "min_replicas", f->k8s.min_replicas);
	cJSON_AddNumberToObject(k8s, "max_replicas", f->k8s.max_replicas);
	cJSON_AddNumberToObject(k8s, "cpu_target", f->k8s.cpu_target);
	cJSON_AddNumberToObject(k8s, "gpus", f->k8s.gpus);
	add_str_or_null(k8s, "namespace", f->k8s.namespace);
	add_str_or_null(k8s, "storage", f->k8s.storage);
	char *out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	char *r = xstrdup(out ? out : "{}");
	free(out);
	return r;
}
