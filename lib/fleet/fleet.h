/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fleet: instances, groups, models and settings, from a fleet file or ad hoc hosts. */
#ifndef OBRIDGE_FLEET_FLEET_H
#define OBRIDGE_FLEET_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "../stats/slo.h"

#define FLEET_WEIGHT_MAX 1000
#define FLEET_SLOTS_MAX 4096 /* num_parallel, max_loaded */

struct fleet_instance {
	char *name;        /* unique within the fleet */
	char *url;         /* normalised base URL without trailing slash: http://host:port */
	int weight;        /* 1..1000, default 1 */
	char *group;       /* NULL when none */
	int backup;        /* true: receives traffic only when the others are down */
	char *metrics_url; /* optional Prometheus endpoint (dcgm-exporter, node_exporter) */
	int num_parallel;  /* OLLAMA_NUM_PARALLEL of the instance; 0 when unknown */
	int max_loaded;    /* OLLAMA_MAX_LOADED_MODELS of the instance; 0 when unknown */
	char *gpus;        /* CUDA_VISIBLE_DEVICES for the instance ("0,1"), or NULL */
	double instance_hour; /* its own price an hour ([instance] instance_hour), when has_hour */
	int has_hour;
	int line;          /* line of its section in the fleet file, 0 for ad hoc hosts */
};

struct fleet_model {
	char *name;        /* canonical name as Ollama lists it ("llama3.2:latest") */
	int64_t keep_alive_ns; /* DURATION_FOREVER for negative; valid when has_keep_alive */
	int has_keep_alive;
	int num_ctx;       /* 0 when not set */
	char *digest;      /* pinned "sha256:<64 hex>", or NULL: the fleet's majority decides */
	char **groups;     /* NULL-terminated; NULL or empty means every instance */
	size_t ngroups;
	int line;
};

/* [cost]: what an instance costs an hour, and a hosted API's price to compare with. */
struct fleet_cost {
	int has_instance_hour;
	double instance_hour;      /* every instance's price an hour, unless overridden */
	char **group_names;        /* instance_hour.GROUP overrides, parallel to group_hour */
	double *group_hour;
	size_t ngroups;
	int has_cloud;
	double cloud_per_1m_output; /* a hosted API's price per 1M output tokens */
};

/* [k8s]: how emit k8s scales and places the fleet's pods. */
struct fleet_k8s {
	int min_replicas;  /* HPA minimum, default 2 */
	int max_replicas;  /* HPA maximum, default 10 */
	int cpu_target;    /* HPA average CPU utilisation target in percent, default 70 */
	int gpus;          /* nvidia.com/gpu per pod, default 0 */
	char *namespace;   /* default "default" */
	char *storage;     /* model volume size as a Kubernetes quantity, default "50Gi" */
	int line;          /* line of the section, 0 when absent */
};

struct fleet {
	char *path;        /* the file it came from, NULL for ad hoc */
	char *name;        /* [fleet] name, default "default" */
	char *balancer;    /* normalised URL or NULL */
	char *api_key_file;
	int api_key_all;   /* api_key_scope = all: the key goes to instances too */
	char *ca_file;     /* CA certificates (PEM) to trust for https, or NULL */
	int shared_store;  /* instances share one OLLAMA_MODELS directory: pull once */

	struct fleet_instance *instances;
	size_t ninstances;
	struct fleet_model *models;
	size_t nmodels;

	int64_t long_prompt_bytes; /* [route]; 0 when unset */
	char *long_group;

	struct slo_set slo;        /* [slo]: every objective set */
	int slo_line[SLO_NKEYS];   /* the line of each, 0 when unset */
	struct fleet_cost cost;    /* [cost] */

	struct fleet_k8s k8s; /* defaults filled in when the section is absent */

	/* How the targets were chosen, for messages: "-f FILE", "$OBRIDGE_FLEET", "-H", ... */
	char *source;
};

#define FLEET_INIT { 0 }

/* Parse a fleet file. On failure returns -1 with "file:line: message" in err. */
int fleet_load(struct fleet *f, const char *path, char *err);
/* The same from text in memory (name is used in messages); for tests and fuzzing. */
int fleet_parse(struct fleet *f, const char *text, size_t len, const char *name, char *err);
/* Parse fleet text (for tests); name is used in messages as the file name. */
int fleet_parse_string(struct fleet *f, const char *text, const char *name, char *err);
/* Build an ad hoc fleet of one instance per URL (names are host:port). */
int fleet_from_hosts(struct fleet *f, const char *const *hosts, size_t n, char *err);
void fleet_release(struct fleet *f);

const struct fleet_instance *fleet_find_instance(const struct fleet *f, const char *name);
const struct fleet_model *fleet_find_model(const struct fleet *f, const char *name);
/* True when the model should be held by the instance (its groups, or all when none). */
int fleet_model_on_instance(const struct fleet_model *m, const struct fleet_instance *in);
/*
 * What the instance costs an hour: its own instance_hour, else its group's
 * ([cost] instance_hour.GROUP), else the fleet's ([cost] instance_hour); a negative value
 * when none is set.
 */
double fleet_instance_hour(const struct fleet *f, const struct fleet_instance *in);

/*
 * Normalise an Ollama host the way the ollama CLI reads OLLAMA_HOST:
 * "host" -> http://host:11434, "host:p" -> http://host:p, "http://host" -> port 80,
 * "https://host" -> port 443, "0.0.0.0" kept as given, an optional path kept.
 * Writes the URL without a trailing slash into out. Returns 0, or -1 with a message.
 */
int fleet_host_url(const char *in, char *out, size_t n, char *err);

/*
 * Resolve the targets as design.md says: explicit hosts (-H) win; else fleet_path (-f);
 * else $OBRIDGE_FLEET; else ./obridge.conf; else $XDG_CONFIG_HOME/obridge/obridge.conf
 * (~/.config/...); else $OLLAMA_HOST; else 127.0.0.1:11434.
 */
int fleet_resolve(struct fleet *f, const char *fleet_path, const char *const *hosts,
		  size_t nhosts, char *err);



/* JSON text of the resolved fleet (instances, groups, models, route, slo); caller frees. */
char *fleet_to_json(const struct fleet *f);
/* Sorted, unique group names; returns a NULL-terminated array the caller frees (not the strings). */
const char **fleet_groups(const struct fleet *f, size_t *n);
#endif
