/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fleet file parsing (inih), validation and target resolution. */
#include "../compat.h"
#include "fleet.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

enum section_kind {
	SEC_NONE, SEC_FLEET, SEC_INSTANCE, SEC_MODEL, SEC_ROUTE, SEC_SLO, SEC_COST, SEC_K8S, SEC_BAD
};

struct parse_state {
	struct fleet *f;
	const char *file;
	char *err;
	int failed;
	enum section_kind kind;
	char *section;     /* raw section text of the current section */
	int section_line;
	size_t cur;        /* index of the current instance or model */
	char **model_groups_raw; /* per model: the groups line, checked at the end */
	int *model_groups_line;
	int *cost_group_line;  /* per [cost] instance_hour.GROUP: its line, checked at the end */
	int def_num_parallel, def_max_loaded; /* [fleet] defaults for the instances */
	const char *text;  /* the whole file */
	size_t len, pos;
	int line;          /* lines served to inih so far */
	char **keys;       /* the keys of the current section, for duplicates */
	int *key_lines;
	size_t nkeys;
};

static int fail(struct parse_state *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void keys_reset(struct parse_state *ps)
{
	for (size_t i = 0; i < ps->nkeys; i++)
		free(ps->keys[i]);
	ps->nkeys = 0;
}

/* A key given twice in one section: an error naming both lines. Returns 0 or -1. */
static int key_seen(struct parse_state *ps, const char *key, int line)
{
	for (size_t i = 0; i < ps->nkeys; i++)
		if (!strcmp(ps->keys[i], key))
			return fail(ps, line, "duplicate key '%s' in [%s] (first at line %d)", key,
				    ps->section ? ps->section : "", ps->key_lines[i]), -1;
	ps->keys = xrealloc(ps->keys, (ps->nkeys + 1) * sizeof(*ps->keys));
	ps->key_lines = xrealloc(ps->key_lines, (ps->nkeys + 1) * sizeof(*ps->key_lines));
	ps->keys[ps->nkeys] = xstrdup(key);
	ps->key_lines[ps->nkeys++] = line;
	return 0;
}

static int fail(struct parse_state *ps, int line, const char *fmt, ...)
{
	if (ps->failed)
		return 0;
	char msg[ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The message quotes file contents: keep escape sequences off the terminal. */
	text_sanitize(msg, sizeof(msg), msg);
	if (line > 0)
		seterr(ps->err, "%s:%d: %s", ps->file, line, msg);
	else
		seterr(ps->err, "%s: %s", ps->file, msg);
	ps->failed = 1;
	return 0; /* inih: stop at the first error */
}

static char *trim_dup(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
		l--;
	return xstrndup(s, l);
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-_.:/@", *p)))
			return 0;
	return 1;
}

/* Canonical model name as Ollama lists it: default tag latest, library/ and host dropped. */
static char *model_canonical(const char *in)
{
	const char *s = in;
	if (strncasecmp(s, "registry.ollama.ai/", 19) == 0)
		s += 19;
	if (strncasecmp(s, "library/", 8) == 0)
		s += 8;
	const char *slash = strrchr(s, '/');
	const char *colon = strchr(slash ? slash : s, ':');
	char *out = colon ? xstrdup(s) : xasprintf("%s:latest", s);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
	    !strcmp(v, "0")) {
		*out = 0;
		return 0;
	}
	return -1;
}

static int parse_int(const char *v, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* CUDA_VISIBLE_DEVICES: indexes or GPU-/MIG- UUIDs, comma-separated. */
static int valid_gpus(const char *v)
{
	if (!*v || *v == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
		return 0;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != ',' && *p != '-')
			return 0;
	return 1;
}

static int valid_digest(const char *v)
{
	if (strncmp(v, "sha256:", 7) != 0 || strlen(v) != 7 + 64)
		return 0;
	for (const char *p = v + 7; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return 0;
	return 1;
}

static int on_section(struct parse_state *ps, const char *section, int line)
{
	keys_reset(ps);
	free(ps->section);
	ps->section = xstrdup(section);
	ps->section_line = line;
	char *sec = trim_dup(section);
	char *sp = strpbrk(sec, " \t");
	char *name = NULL;
	if (sp) {
		*sp = '\0';
		name = trim_dup(sp + 1);
	}
	struct fleet *f = ps->f;
	int ok = 1;
	if (!strcmp(sec, "fleet") || !strcmp(sec, "route") || !strcmp(sec, "slo") ||
	    !strcmp(sec, "cost") || !strcmp(sec, "k8s")) {
		if (name) {
			fail(ps, line, "section [%s] takes no name (got '%s')", sec, name);
			ok = 0;
		} else {
			ps->kind = !strcmp(sec, "fleet") ? SEC_FLEET :
				   !strcmp(sec, "route") ? SEC_ROUTE :
				   !strcmp(sec, "k8s")	 ? SEC_K8S :
				   !strcmp(sec, "slo")	 ? SEC_SLO : SEC_COST;
			if (ps->kind == SEC_K8S)
				f->k8s.line = line;
		}
	} else if (!strcmp(sec, "instance") || !strcmp(sec, "model")) {
		if (!name || !*name) {
			fail(ps, line, "section [%s] needs a name, e.g. [%s %s]", sec, sec,
			     !strcmp(sec, "instance") ? "gpu-1" : "llama3.2:latest");
			ok = 0;
		} else if (!valid_name(name)) {
			fail(ps, line, "invalid %s name '%s' (letters, digits and -_.:/@ only)", sec,
			     name);
			ok = 0;
		} else if (!strcmp(sec, "instance")) {
			if (fleet_find_instance(f, name)) {
				const struct fleet_instance *o = fleet_find_instance(f, name);
				fail(ps, line, "duplicate instance '%s' (first defined at line %d)",
				     name, o->line);
				ok = 0;
			} else {
				f->instances = xrealloc(f->instances,
							(f->ninstances + 1) * sizeof(*f->instances));
				struct fleet_instance *in = &f->instances[f->ninstances];
				memset(in, 0, sizeof(*in));
				in->name = xstrdup(name);
				in->weight = 1;
				in->line = line;
				ps->cur = f->ninstances++;
				ps->kind = SEC_INSTANCE;
			}
		} else {
			char *canon = model_canonical(name);
			if (fleet_find_model(f, canon)) {
				fail(ps, line, "duplicate model '%s' (first defined at line %d)", canon,
				     fleet_find_model(f, canon)->line);
				free(canon);
				ok = 0;
			} else {
				f->models = xrealloc(f->models, (f->nmodels + 1) * sizeof(*f->models));
				ps->model_groups_raw = xrealloc(ps->model_groups_raw,
								(f->nmodels + 1) * sizeof(char *));
				ps->model_groups_line = xrealloc(ps->model_groups_line,
								 (f->nmodels + 1) * sizeof(int));
				ps->model_groups_raw[f->nmodels] = NULL;
				ps->model_groups_line[f->nmodels] = 0;
				struct fleet_model *m = &f->models[f->nmodels];
				memset(m, 0, sizeof(*m));
				m->name = canon;
				m->line = line;
				ps->cur = f->nmodels++;
				ps->kind = SEC_MODEL;
			}
		}
	} else {
		fail(ps, line, "unknown section [%s] (expected fleet, instance NAME, model NAME, "
			       "route, slo, cost or k8s)", section);
		ok = 0;
	}
	free(sec);
	free(name);
	if (!ok)
		ps->kind = SEC_BAD;
	return ok;
}

static int set_url(struct parse_state *ps, int line, const char *key, const char *value,
		   char **dst)
{
	char url[1024], e[ERR_MAX];
	if (fleet_host_url(value, url, sizeof(url), e) < 0)
		return fail(ps, line, "%s: %s", key, e);
	free(*dst);
	*dst = xstrdup(url);
	return 1;
}

/* A price: a finite number, 0 or above (no currency sign). */
static int parse_price(const char *v, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || *end || errno || !isfinite(d) || d < 0)
		return -1;
	*out = d;
	return 0;
}

/* [slo]: one of the keys lib/stats/slo knows, each at most once. */
static int on_slo_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	struct fleet *f = ps->f;
	enum slo_key k;
	char e[ERR_MAX];
	double v;
	if (slo_key_parse(key, &k) < 0)
		return fail(ps, line, "unknown key '%s' in [slo] (expected %s)", key,
			    slo_key_list());
	if (f->slo_line[k])
		return fail(ps, line, "duplicate key '%s' in [slo] (first at line %d)", key,
			    f->slo_line[k]);
	if (slo_value_parse(k, value, &v, e) < 0)
		return fail(ps, line, "%s: %s", key, e);
	f->slo.mask |= 1u << k;
	f->slo.limit[k] = v;
	f->slo_line[k] = line;
	return 1;
}

/* [cost]: instance_hour, instance_hour.GROUP, cloud_per_1m_output. */
static int on_cost_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	struct fleet_cost *c = &ps->f->cost;
	double v;
	int known = !strcmp(key, "instance_hour") || !strcmp(key, "cloud_per_1m_output") ||
		    !strncmp(key, "instance_hour.", 14);
	if (!known)
		return fail(ps, line, "unknown key '%s' in [cost] (expected instance_hour, "
				      "instance_hour.GROUP, cloud_per_1m_output)", key);
	if (parse_price(value, &v) < 0)
		return fail(ps, line, "%s: '%s' is not a price (a number 0 or above, e.g. 1.20)",
			    key, value);
	if (!strcmp(key, "instance_hour")) {
		c->has_instance_hour = 1;
		c->instance_hour = v;
	} else if (!strcmp(key, "cloud_per_1m_output")) {
		c->has_cloud = 1;
		c->cloud_per_1m_output = v;
	} else {
		const char *g = key + 14;
		if (!valid_name(g))
			return fail(ps, line, "%s: invalid group name '%s'", key, g);
		c->group_names = xrealloc(c->group_names, (c->ngroups + 1) * sizeof(char *));
		c->group_hour = xrealloc(c->group_hour, (c->ngroups + 1) * sizeof(double));
		ps->cost_group_line = xrealloc(ps->cost_group_line, (c->ngroups + 1) * sizeof(int));
		c->group_names[c->ngroups] = xstrdup(g);
		c->group_hour[c->ngroups] = v;
		ps->cost_group_line[c->ngroups++] = line;
	}
	return 1;
}

/* A key of [fleet]; returns 1, or 0 after fail(). */
static int on_fleet_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	struct fleet *f = ps->f;
	long n;
	if (!strcmp(key, "name")) {
		if (!*value)
			return fail(ps, line, "name: empty value");
		free(f->name);
		f->name = xstrdup(value);
	} else if (!strcmp(key, "balancer")) {
		return set_url(ps, line, key, value, &f->balancer);
	} else if (!strcmp(key, "api_key_file")) {
		if (!*value)
			return fail(ps, line, "api_key_file: empty value");
		free(f->api_key_file);
		f->api_key_file = xstrdup(value);
	} else if (!strcmp(key, "ca_file")) {
		if (!*value)
			return fail(ps, line, "ca_file: empty value");
		free(f->ca_file);
		f->ca_file = xstrdup(value);
	} else if (!strcmp(key, "api_key_scope")) {
		if (strcmp(value, "balancer") && strcmp(value, "all"))
			return fail(ps, line, "api_key_scope: expected balancer or all, got '%s'",
				    value);
		f->api_key_all = !strcmp(value, "all");
	} else if (!strcmp(key, "shared_store")) {
		if (parse_bool(value, &f->shared_store) < 0)
			return fail(ps, line, "shared_store: expected true or false, got '%s'",
				    value);
	} else if (!strcmp(key, "num_parallel") || !strcmp(key, "max_loaded")) {
		if (parse_int(value, 1, FLEET_SLOTS_MAX, &n) < 0)
			return fail(ps, line, "%s: '%s' is not a whole number from 1 to %d",
				    key, value, FLEET_SLOTS_MAX);
		*(key[0] == 'n' ? &ps->def_num_parallel : &ps->def_max_loaded) = (int)n;
	} else {
		return fail(ps, line, "unknown key '%s' in [fleet] (expected name, balancer, "
				      "api_key_file, api_key_scope, ca_file, shared_store, num_parallel, "
				      "max_loaded)",
			    key);
	}
	return 1;
}

/* A key of [instance NAME] (the current one); returns 1, or 0 after fail(). */
static int on_instance_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	struct fleet *f = ps->f;
	long n;
	struct fleet_instance *in = &f->instances[ps->cur];
	if (!strcmp(key, "url")) {
		return set_url(ps, line, key, value, &in->url);
	} else if (!strcmp(key, "weight")) {
		if (parse_int(value, 1, FLEET_WEIGHT_MAX, &n) < 0)
			return fail(ps, line, "weight: '%s' is not a whole number from 1 to %d",
				    value, FLEET_WEIGHT_MAX);
		in->weight = (int)n;
	} else if (!strcmp(key, "group")) {
		if (!valid_name(value))
			return fail(ps, line, "group: invalid group name '%s'", value);
		free(in->group);
		in->group = xstrdup(value);
	} else if (!strcmp(key, "backup")) {
		if (parse_bool(value, &in->backup) < 0)
			return fail(ps, line, "backup: expected true or false, got '%s'", value);
	} else if (!strcmp(key, "metrics_url")) {
		return set_url(ps, line, key, value, &in->metrics_url);
	} else if (!strcmp(key, "num_parallel") || !strcmp(key, "max_loaded")) {
		if (parse_int(value, 1, FLEET_SLOTS_MAX, &n) < 0)
			return fail(ps, line, "%s: '%s' is not a whole number from 1 to %d",
				    key, value, FLEET_SLOTS_MAX);
		*(key[0] == 'n' ? &in->num_parallel : &in->max_loaded) = (int)n;
	} else if (!strcmp(key, "gpus")) {
		if (!valid_gpus(value))
			return fail(ps, line, "gpus: expected GPU indexes or UUIDs separated "
					      "by commas (as CUDA_VISIBLE_DEVICES), got '%s'",
				    value);
		free(in->gpus);
		in->gpus = xstrdup(value);
	} else if (!strcmp(key, "instance_hour")) {
		if (parse_price(value, &in->instance_hour) < 0)
			return fail(ps, line, "instance_hour: '%s' is not a price (a number "
					      "0 or above, e.g. 1.20)", value);
		in->has_hour = 1;
	} else {
		return fail(ps, line, "unknown key '%s' in [instance %s] (expected url, "
				      "weight, group, backup, metrics_url, num_parallel, "
				      "max_loaded, gpus, instance_hour)", key, in->name);
	}
	return 1;
}

/* A key of [model NAME] (the current one); returns 1, or 0 after fail(). */
static int on_model_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	struct fleet *f = ps->f;
	char e[ERR_MAX];
	long n;
	struct fleet_model *m = &f->models[ps->cur];
	if (!strcmp(key, "keep_alive")) {
		if (units_parse_duration(value, &m->keep_alive_ns, UNITS_NEG_FOREVER, e) < 0)
			return fail(ps, line, "keep_alive: %s", e);
		m->has_keep_alive = 1;
	} else if (!strcmp(key, "num_ctx")) {
		if (parse_int(value, 1, 16 * 1024 * 1024, &n) < 0)
			return fail(ps, line, "num_ctx: '%s' is not a positive whole number",
				    value);
		m->num_ctx = (int)n;
	} else if (!strcmp(key, "groups")) {
		free(ps->model_groups_raw[ps->cur]);
		ps->model_groups_raw[ps->cur] = xstrdup(value);
		ps->model_groups_line[ps->cur] = line;
	} else if (!strcmp(key, "digest")) {
		if (!valid_digest(value))
			return fail(ps, line, "digest: expected sha256: and 64 hex digits, "
					      "got '%s'", value);
		free(m->digest);
		m->digest = xstrdup(value);
		for (char *p = m->digest; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	} else {
		return fail(ps, line, "unknown key '%s' in [model %s] (expected keep_alive, "
				      "num_ctx, groups, digest)", key, m->name);
	}
	return 1;
}

/* A key of [route]; returns 1, or 0 after fail(). */
static int on_route_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	struct fleet *f = ps->f;
	char e[ERR_MAX];
	if (!strcmp(key, "long_prompt_bytes")) {
		uint64_t b;
		if (units_parse_size(value, &b, e) < 0 || b == 0)
			return fail(ps, line, "long_prompt_bytes: '%s' is not a positive size",
				    value);
		f->long_prompt_bytes = (int64_t)b;
	} else if (!strcmp(key, "long_group")) {
		if (!valid_name(value))
			return fail(ps, line, "long_group: invalid group name '%s'", value);
		free(f->long_group);
		f->long_group = xstrdup(value);
	} else {
		return fail(ps, line, "unknown key '%s' in [route] (expected "
				      "long_prompt_bytes, long_group)", key);
	}
	return 1;
}

/* A key of [k8s]; returns 1, or 0 after fail(). */
static int on_k8s_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	struct fleet *f = ps->f;
	long n;
	if (!strcmp(key, "min_replicas") || !strcmp(key, "max_replicas")) {
		if (parse_int(value, 1, 1000, &n) < 0)
			return fail(ps, line, "%s: '%s' is not a whole number from 1 to 1000",
				    key, value);
		*(key[1] == 'i' ? &f->k8s.min_replicas : &f->k8s.max_replicas) = (int)n;
	} else if (!strcmp(key, "cpu_target")) {
		const char *v = value;
		char num[32];
		size_t l = strlen(v);
		if (l && v[l - 1] == '%')
			l--;
		snprintf(num, sizeof(num), "%.*s", (int)(l < sizeof(num) ? l : 0), v);
		if (parse_int(num, 1, 100, &n) < 0)
			return fail(ps, line, "cpu_target: '%s' is not a percentage from 1 to 100",
				    value);
		f->k8s.cpu_target = (int)n;
	} else if (!strcmp(key, "gpus")) {
		if (parse_int(value, 0, 64, &n) < 0)
			return fail(ps, line, "gpus: '%s' is not a whole number from 0 to 64",
				    value);
		f->k8s.gpus = (int)n;
	} else if (!strcmp(key, "namespace")) {
		size_t l = strlen(value);
		int ok = l >= 1 && l <= 63 && value[0] != '-' && value[l - 1] != '-';
		for (const char *p = value; *p; p++)
			ok &= (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
		if (!ok)
			return fail(ps, line, "namespace: '%s' is not a Kubernetes namespace "
					      "(lowercase letters, digits and -, at most 63)", value);
		free(f->k8s.namespace);
		f->k8s.namespace = xstrdup(value);
	} else if (!strcmp(key, "storage")) {
		size_t d = strspn(value, "0123456789");
		static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "K", "M", "G",
						     "T" };
		int ok = d > 0 && d <= 12 && value[0] != '0';
		int unit_ok = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			unit_ok |= !strcmp(value + d, units[i]);
		if (!ok || !unit_ok)
			return fail(ps, line, "storage: '%s' is not a size such as 50Gi", value);
		free(f->k8s.storage);
		f->k8s.storage = xstrdup(value);
	} else {
		return fail(ps, line, "unknown key '%s' in [k8s] (expected min_replicas, "
				      "max_replicas, cpu_target, gpus, namespace, storage)", key);
	}
	return 1;
}

static int on_key(struct parse_state *ps, const char *key, const char *value, int line)
{
	switch (ps->kind) {
	case SEC_NONE:
		return fail(ps, line, "key '%s' outside any section (start with [fleet])", key);
	case SEC_BAD:
		return 0;
	case SEC_FLEET:
		return on_fleet_key(ps, key, value, line);
	case SEC_INSTANCE:
		return on_instance_key(ps, key, value, line);
	case SEC_MODEL:
		return on_model_key(ps, key, value, line);
	case SEC_ROUTE:
		return on_route_key(ps, key, value, line);
	case SEC_K8S:
		return on_k8s_key(ps, key, value, line);
	case SEC_SLO:
		return on_slo_key(ps, key, value, line);
	case SEC_COST:
		return on_cost_key(ps, key, value, line);
	}
	return 1;
}

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	(void)section; /* sections are seen by line_reader, which knows their line numbers */
	if (ps->failed)
		return 0;
	if (ps->kind != SEC_NONE && ps->kind != SEC_BAD && key_seen(ps, name, ps->line) < 0)
		return 0;
	char *v = trim_dup(value ? value : "");
	int r = on_key(ps, name, v, ps->line);
	free(v);
	return r;
}

/*
 * Serve the text to inih line by line, counting lines (Debian's inih passes no line
 * numbers) and handling section headers here, so that empty sections count and errors
 * name the header's line.
 */
static char *line_reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	if (ps->pos >= ps->len)
		return NULL;
	const char *start = ps->text + ps->pos;
	const char *nl = memchr(start, '\n', ps->len - ps->pos);
	size_t l = nl ? (size_t)(nl - start) + 1 : ps->len - ps->pos;
	ps->pos += l;
	ps->line++;
	if (l >= (size_t)num) {
		fail(ps, ps->line, "line too long (%zu bytes, at most %d)", l, num - 2);
		str[0] = '\0';
		return str;
	}
	memcpy(str, start, l);
	str[l] = '\0';
	const char *p = str;
	while (*p == ' ' || *p == '\t')
		p++;
	if (ps->line == 1 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
	    (unsigned char)p[2] == 0xbf)
		p += 3;
	if (*p == '[' && !ps->failed) {
		const char *rb = strchr(p, ']');
		if (rb) {
			char *sec = xstrndup(p + 1, (size_t)(rb - p - 1));
			on_section(ps, sec, ps->line);
			free(sec);
		} else {
			fail(ps, ps->line, "section header without ']'");
		}
	}
	return str;
}

/* Split a space/comma separated list. */
static char **split_words(const char *s, size_t *n)
{
	char **out = NULL;
	*n = 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *st = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		out = xrealloc(out, (*n + 2) * sizeof(char *));
		out[(*n)++] = xstrndup(st, (size_t)(p - st));
		out[*n] = NULL;
	}
	return out;
}

static int group_exists(const struct fleet *f, const char *g)
{
	for (size_t i = 0; i < f->ninstances; i++)
		if (f->instances[i].group && !strcmp(f->instances[i].group, g))
			return 1;
	return 0;
}

/* [k8s] defaults for what the file leaves out (min and max replicas set by the caller). */
static void k8s_defaults(struct fleet *f)
{
	if (!f->k8s.min_replicas)
		f->k8s.min_replicas = 2;
	if (!f->k8s.max_replicas)
		f->k8s.max_replicas = 10;
	if (!f->k8s.cpu_target)
		f->k8s.cpu_target = 70;
	if (!f->k8s.namespace)
		f->k8s.namespace = xstrdup("default");
	if (!f->k8s.storage)
		f->k8s.storage = xstrdup("50Gi");
}

/* Checks that need the whole file. */
static int finish(struct parse_state *ps)
{
	struct fleet *f = ps->f;
	for (size_t i = 0; i < f->ninstances; i++) {
		if (!f->instances[i].num_parallel)
			f->instances[i].num_parallel = ps->def_num_parallel;
		if (!f->instances[i].max_loaded)
			f->instances[i].max_loaded = ps->def_max_loaded;
	}
	if (ps->failed)
		return -1;
	if (f->ninstances == 0)
		return fail(ps, 0, "no instances defined (add an [instance NAME] section with a url)"),
		       -1;
	for (size_t i = 0; i < f->ninstances; i++)
		if (!f->instances[i].url)
			return fail(ps, f->instances[i].line, "[instance %s] has no url",
				    f->instances[i].name), -1;
	for (size_t i = 0; i < f->nmodels; i++) {
		struct fleet_model *m = &f->models[i];
		const char *raw = ps->model_groups_raw[i];
		if (!raw)
			continue;
		m->groups = split_words(raw, &m->ngroups);
		if (m->ngroups == 0)
			return fail(ps, ps->model_groups_line[i], "groups: empty list in [model %s]",
				    m->name), -1;
		for (size_t g = 0; g < m->ngroups; g++)
			if (!group_exists(f, m->groups[g]))
				return fail(ps, ps->model_groups_line[i],
					    "groups: no instance is in group '%s' (model %s)",
					    m->groups[g], m->name), -1;
	}
	if (f->long_group && !group_exists(f, f->long_group))
		return fail(ps, 0, "[route] long_group '%s' names no instance's group",
			    f->long_group), -1;
	for (size_t g = 0; g < f->cost.ngroups; g++)
		if (!group_exists(f, f->cost.group_names[g]))
			return fail(ps, ps->cost_group_line[g],
				    "instance_hour.%s: no instance is in group '%s'",
				    f->cost.group_names[g], f->cost.group_names[g]), -1;
	if (f->long_prompt_bytes && !f->long_group)
		return fail(ps, 0, "[route] long_prompt_bytes needs long_group"), -1;
	if (!f->k8s.min_replicas)
		f->k8s.min_replicas = f->k8s.max_replicas && f->k8s.max_replicas < 2 ?
				      f->k8s.max_replicas : 2;
	if (!f->k8s.max_replicas)
		f->k8s.max_replicas = f->k8s.min_replicas > 10 ? f->k8s.min_replicas : 10;
	if (f->k8s.min_replicas > f->k8s.max_replicas)
		return fail(ps, f->k8s.line, "[k8s] min_replicas %d is above max_replicas %d",
			    f->k8s.min_replicas, f->k8s.max_replicas), -1;
	k8s_defaults(f);
	if (!f->name)
		f->name = xstrdup("default");
	return 0;
}

static void state_release(struct parse_state *ps)
{
	keys_reset(ps);
	free(ps->keys);
	free(ps->key_lines);
	free(ps->section);
	for (size_t i = 0; i < ps->f->nmodels; i++)
		free(ps->model_groups_raw ? ps->model_groups_raw[i] : NULL);
	free(ps->model_groups_raw);
	free(ps->model_groups_line);
	free(ps->cost_group_line);
}

/* Parse text (the whole file) named name for messages. */
static int parse_text(struct fleet *f, const char *text, size_t len, const char *name,
		      char *err)
{
	memset(f, 0, sizeof(*f));
	struct parse_state ps = { 0 };
	ps.f = f;
	ps.file = name;
	ps.err = err;
	ps.text = text;
	ps.len = len;
	if (memchr(text, '\0', len))
		fail(&ps, 0, "binary data (NUL byte) in the fleet file");
	int r = ps.failed ? 0 : ini_parse_stream(line_reader, &ps, ini_cb, &ps);
	if (r > 0 && !ps.failed)
		fail(&ps, r, "syntax error (expected [section], key = value or a ; comment)");
	else if (r < 0 && !ps.failed)
		fail(&ps, 0, "cannot parse (out of memory)");
	int rc = ps.failed ? -1 : finish(&ps);
	state_release(&ps);
	if (rc < 0) {
		fleet_release(f);
		return -1;
	}
	f->path = xstrdup(name);
	return 0;
}

int fleet_parse(struct fleet *f, const char *text, size_t len, const char *name, char *err)
{
	/* parse_text wants the text NUL-terminated */
	char *copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	int r = parse_text(f, copy, len, name, err);
	free(copy);
	return r;
}

int fleet_load(struct fleet *f, const char *path, char *err)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		memset(f, 0, sizeof(*f));
		return seterr(err, "cannot read fleet file '%s': %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		memset(f, 0, sizeof(*f));
		return seterr(err, "cannot read fleet file '%s': it is a directory", path);
	}
	struct buf b;
	buf_init(&b, 16u * 1024 * 1024);
	char chunk[8192];
	size_t n;
	int toobig = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(&b, chunk, n) < 0) {
			toobig = 1;
			break;
		}
	int rerr = ferror(fp);
	fclose(fp);
	if (rerr || toobig) {
		buf_release(&b);
		memset(f, 0, sizeof(*f));
		return seterr(err, "cannot read fleet file '%s': %s", path,
			      toobig ? "larger than 16 MiB" : strerror(EIO));
	}
	int r = parse_text(f, buf_str(&b), b.len, path, err);
	buf_release(&b);
	return r;
}

int fleet_parse_string(struct fleet *f, const char *text, const char *name, char *err)
{
	return parse_text(f, text, strlen(text), name, err);
}

static int from_hosts(struct fleet *f, const char *const *hosts, size_t n, const char *label,
		      char *err);

int fleet_from_hosts(struct fleet *f, const char *const *hosts, size_t n, char *err)
{
	return from_hosts(f, hosts, n, "-H", err);
}

/* label: where the hosts came from, for messages ("-H", "$OLLAMA_HOST"). */
static int from_hosts(struct fleet *f, const char *const *hosts, size_t n, const char *label,
		      char *err)
{
	memset(f, 0, sizeof(*f));
	f->name = xstrdup("ad hoc");
	k8s_defaults(f);
	for (size_t i = 0; i < n; i++) {
		char url[1024];
		if (fleet_host_url(hosts[i], url, sizeof(url), err) < 0) {
			char tmp[ERR_MAX];
			snprintf(tmp, sizeof(tmp), "%s", err);
			char *shown = text_redact(xstrdup(hosts[i]));
			if (strstr(tmp, hosts[i]))
				seterr(err, "%s: %s", label, text_redact(tmp));
			else
				seterr(err, "%s '%s': %s", label, shown, text_redact(tmp));
			free(shown);
			fleet_release(f);
			return -1;
		}
		const char *hp = strstr(url, "://");
		hp = hp ? hp + 3 : url;
		char *name = xstrdup(hp);
		int dup = 0;
		for (size_t j = 0; j < f->ninstances; j++)
			if (!strcmp(f->instances[j].url, url))
				dup = 1;
		if (dup) {
			free(name);
			continue;
		}
		f->instances = xrealloc(f->instances, (f->ninstances + 1) * sizeof(*f->instances));
		struct fleet_instance *in = &f->instances[f->ninstances++];
		memset(in, 0, sizeof(*in));
		in->name = name;
		in->url = xstrdup(url);
		in->weight = 1;
	}
	return 0;
}

void fleet_release(struct fleet *f)
{
	for (size_t i = 0; i < f->ninstances; i++) {
		free(f->instances[i].name);
		free(f->instances[i].url);
		free(f->instances[i].group);
		free(f->instances[i].metrics_url);
		free(f->instances[i].gpus);
	}
	for (size_t i = 0; i < f->nmodels; i++) {
		free(f->models[i].name);
		free(f->models[i].digest);
		for (size_t g = 0; g < f->models[i].ngroups; g++)
			free(f->models[i].groups[g]);
		free(f->models[i].groups);
	}
	for (size_t g = 0; g < f->cost.ngroups; g++)
		free(f->cost.group_names[g]);
	free(f->cost.group_names);
	free(f->cost.group_hour);
	free(f->instances);
	free(f->models);
	free(f->path);
	free(f->name);
	free(f->balancer);
	free(f->api_key_file);
	free(f->ca_file);
	free(f->long_group);
	free(f->k8s.namespace);
	free(f->k8s.storage);
	free(f->source);
	memset(f, 0, sizeof(*f));
}

const struct fleet_instance *fleet_find_instance(const struct fleet *f, const char *name)
{
	for (size_t i = 0; i < f->ninstances; i++)
		if (!strcmp(f->instances[i].name, name))
			return &f->instances[i];
	return NULL;
}

const struct fleet_model *fleet_find_model(const struct fleet *f, const char *name)
{
	char *canon = model_canonical(name);
	const struct fleet_model *r = NULL;
	for (size_t i = 0; i < f->nmodels && !r; i++)
		if (!strcmp(f->models[i].name, canon))
			r = &f->models[i];
	free(canon);
	return r;
}

int fleet_model_on_instance(const struct fleet_model *m, const struct fleet_instance *in)
{
	if (!m->ngroups)
		return 1;
	if (!in->group)
		return 0;
	for (size_t g = 0; g < m->ngroups; g++)
		if (!strcmp(m->groups[g], in->group))
			return 1;
	return 0;
}

double fleet_instance_hour(const struct fleet *f, const struct fleet_instance *in)
{
	if (in->has_hour)
		return in->instance_hour;
	for (size_t g = 0; in->group && g < f->cost.ngroups; g++)
		if (!strcmp(f->cost.group_names[g], in->group))
			return f->cost.group_hour[g];
	return f->cost.has_instance_hour ? f->cost.instance_hour : -1;
}

int fleet_host_url(const char *in, char *out, size_t n, char *err)
{
	char *s = trim_dup(in ? in : "");
	char *p = s;
	const char *scheme = "http";
	int default_port = 11434;
	if (!*p) {
		free(s);
		return seterr(err, "empty host");
	}
	char *sep = strstr(p, "://");
	if (sep) {
		*sep = '\0';
		if (!strcasecmp(p, "http")) {
			default_port = 80;
		} else if (!strcasecmp(p, "https")) {
			scheme = "https";
			default_port = 443;
		} else {
			seterr(err, "unsupported scheme '%s' (use http or https)", p);
			free(s);
			return -1;
		}
		p = sep + 3;
	}
	/* host[:port][/path]: no user information (it would be echoed and sent), no query or
	 * fragment (the API path is appended: "#x" would swallow it), no API path */
	if (memchr(p, '@', strcspn(p, "/"))) {
		free(s);
		return seterr(err, "a host URL with user information (user:password@) is not "
				   "supported: give a key with $OBRIDGE_API_KEY or api_key_file");
	}
	if (strpbrk(p, "?#")) {
		free(s);
		return seterr(err, "'%s': a host URL has no query or fragment (the API path is "
				   "appended to it)", in);
	}
	char *apip = strstr(p, "/api");
	if (apip && (apip[4] == '\0' || apip[4] == '/')) {
		free(s);
		return seterr(err, "'%s': give the server's base URL, without an API path such "
				   "as /api/tags", in);
	}
	char *path = strchr(p, '/');
	char pathbuf[512] = "";
	if (path) {
		snprintf(pathbuf, sizeof(pathbuf), "%s", path);
		*path = '\0';
		size_t pl = strlen(pathbuf);
		while (pl && pathbuf[pl - 1] == '/')
			pathbuf[--pl] = '\0';
	}
	char host[300];
	long port = default_port;
	if (*p == '[') {
		char *rb = strchr(p, ']');
		if (!rb) {
			free(s);
			return seterr(err, "invalid IPv6 address in '%s'", in);
		}
		snprintf(host, sizeof(host), "%.*s", (int)(rb - p + 1), p);
		p = rb + 1;
		if (*p == ':') {
			if (parse_int(p + 1, 1, 65535, &port) < 0) {
				free(s);
				return seterr(err, "invalid port in '%s'", in);
			}
		} else if (*p) {
			free(s);
			return seterr(err, "invalid host '%s'", in);
		}
	} else {
		char *colon = strrchr(p, ':');
		if (colon) {
			if (parse_int(colon + 1, 1, 65535, &port) < 0) {
				seterr(err, "invalid port '%s' in '%s'", colon + 1, in);
				free(s); /* colon points into s */
				return -1;
			}
			*colon = '\0';
		}
		if (!*p) {
			free(s);
			return seterr(err, "missing host name in '%s'", in);
		}
		for (const char *c = p; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_')) {
				free(s);
				return seterr(err, "invalid character in host name '%s'", in);
			}
		snprintf(host, sizeof(host), "%s", p);
	}
	snprintf(out, n, "%s://%s:%ld%s", scheme, host, port, pathbuf);
	free(s);
	return 0;
}

int fleet_resolve(struct fleet *f, const char *fleet_path, const char *const *hosts,
		  size_t nhosts, char *err)
{
	if (nhosts) {
		if (fleet_from_hosts(f, hosts, nhosts, err) < 0)
			return -1;
		f->source = xstrdup("-H");
		return 0;
	}
	const char *src = NULL;
	char *path = NULL;
	if (fleet_path) {
		path = xstrdup(fleet_path);
		src = "-f";
	} else if (getenv("OBRIDGE_FLEET") && *getenv("OBRIDGE_FLEET")) {
		path = xstrdup(getenv("OBRIDGE_FLEET"));
		src = "$OBRIDGE_FLEET";
	} else if (access("obridge.conf", F_OK) == 0) {
		path = xstrdup("obridge.conf");
		src = "./obridge.conf";
	} else {
		const char *xdg = getenv("XDG_CONFIG_HOME");
		const char *home = getenv("HOME");
		char *cand = NULL;
		if (xdg && *xdg)
			cand = xasprintf("%s/obridge/obridge.conf", xdg);
		else if (home && *home)
			cand = xasprintf("%s/.config/obridge/obridge.conf", home);
		if (cand && access(cand, F_OK) == 0) {
			path = cand;
			src = "$XDG_CONFIG_HOME/obridge/obridge.conf";
		} else {
			free(cand);
		}
	}
	if (path) {
		int r = fleet_load(f, path, err);
		free(path);
		if (r < 0)
			return -1;
		f->source = xstrdup(src);
		return 0;
	}
	const char *oh = getenv("OLLAMA_HOST");
	const char *h = oh && *oh ? oh : "127.0.0.1:11434";
	if (from_hosts(f, &h, 1, oh && *oh ? "$OLLAMA_HOST" : "the default host", err) < 0)
		return -1;
	f->source = xstrdup(oh && *oh ? "$OLLAMA_HOST" : "default 127.0.0.1:11434");
	return 0;
}
