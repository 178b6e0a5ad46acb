/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Simulator settings: defaults, key=value parsing, per-instance overrides and fault specs. */
#include "../compat.h"
#include "sim.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static const char *const fault_names[SIM_FAULT__N] = {
	"down", "hang", "slow", "500", "503", "malformed", "error", "truncate", "stall",
	"pull-cut", "disk-full",
};

void sim_config_init(struct sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = xstrdup("127.0.0.1");
	cfg->port = 11434;
	cfg->n = 1;
	struct sim_settings *s = &cfg->defaults;
	s->models = xstrdup("llama3.2:latest,qwen2.5:0.5b,nomic-embed-text:latest");
	s->registry = xstrdup("");
	s->registry_missing = xstrdup("");
	s->store = xstrdup("");
	s->version = xstrdup("0.33.0");
	s->digests = xstrdup("");
	s->num_parallel = 1;
	s->max_queue = 512;
	s->max_loaded = 3;
	s->tokens = 48;
	s->num_ctx = 4096;
	s->keep_alive_ns = 300LL * 1000000000LL;
	s->load_ns = 1500LL * 1000000LL;
	s->unload_ns = 50LL * 1000000LL;
	s->ttft_ns = 25LL * 1000000LL;
	s->tok_interval_ns = 20LL * 1000000LL;
	s->pull_ns = 2000LL * 1000000LL;
	s->prefill_rate = 2000.0;
	s->jitter_pct = 0;
	s->seed = 1;
}

void sim_settings_release(struct sim_settings *s)
{
	free(s->models);
	free(s->registry);
	free(s->registry_missing);
	free(s->store);
	s->registry_missing = s->store = NULL;
	free(s->version);
	free(s->digests);
	s->models = s->registry = s->version = s->digests = NULL;
}

void sim_settings_copy(struct sim_settings *dst, const struct sim_settings *src)
{
	*dst = *src;
	dst->models = xstrdup(src->models);
	dst->registry = xstrdup(src->registry);
	dst->registry_missing = xstrdup(src->registry_missing);
	dst->store = xstrdup(src->store);
	dst->version = xstrdup(src->version);
	dst->digests = xstrdup(src->digests);
}

void sim_config_release(struct sim_config *cfg)
{
	free(cfg->host);
	sim_settings_release(&cfg->defaults);
	for (size_t i = 0; i < cfg->nov; i++) {
		free(cfg->ov[i].instance);
		free(cfg->ov[i].key);
		free(cfg->ov[i].value);
	}
	free(cfg->ov);
	cfg->ov = NULL;
	cfg->nov = 0;
	cfg->host = NULL;
}

static int parse_int(const char *v, long lo, long hi, int *out, const char *key, char *err)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return seterr(err, "invalid %s '%s' (an integer from %ld to %ld)", key, v, lo, hi);
	*out = (int)x;
	return 0;
}

static int parse_double(const char *v, double lo, double hi, double *out, const char *key,
			char *err)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= lo && x <= hi))
		return seterr(err, "invalid %s '%s' (a number from %g to %g)", key, v, lo, hi);
	*out = x;
	return 0;
}

static int parse_dur(const char *v, int64_t *out, const char *key, int flags, char *err)
{
	char e2[ERR_MAX];
	if (units_parse_duration(v, out, flags, e2) < 0)
		return seterr(err, "invalid %s '%s': %s", key, v, e2);
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

int sim_settings_set(struct sim_settings *s, const char *key, const char *v, char *err)
{
	if (!strcmp(key, "models")) {
		set_str(&s->models, v);
	} else if (!strcmp(key, "registry")) {
		set_str(&s->registry, v);
	} else if (!strcmp(key, "registry-missing")) {
		set_str(&s->registry_missing, v);
	} else if (!strcmp(key, "store")) {
		set_str(&s->store, v);
	} else if (!strcmp(key, "version")) {
		if (!*v)
			return seterr(err, "empty version");
		set_str(&s->version, v);
	} else if (!strcmp(key, "digest")) {
		if (!strchr(v, '@'))
			return seterr(err, "invalid digest '%s' (MODEL@SALT)", v);
		if (*s->digests) {
			char *n = xasprintf("%s,%s", s->digests, v);
			free(s->digests);
			s->digests = n;
		} else {
			set_str(&s->digests, v);
		}
	} else if (!strcmp(key, "num-parallel")) {
		return parse_int(v, 1, 1000000, &s->num_parallel, key, err);
	} else if (!strcmp(key, "max-queue")) {
		return parse_int(v, 0, 1000000, &s->max_queue, key, err);
	} else if (!strcmp(key, "max-loaded")) {
		return parse_int(v, 1, 1024, &s->max_loaded, key, err);
	} else if (!strcmp(key, "tokens")) {
		return parse_int(v, 1, 10000000, &s->tokens, key, err);
	} else if (!strcmp(key, "num-ctx")) {
		return parse_int(v, 1, 10000000, &s->num_ctx, key, err);
	} else if (!strcmp(key, "keep-alive")) {
		return parse_dur(v, &s->keep_alive_ns, key, UNITS_NEG_FOREVER, err);
	} else if (!strcmp(key, "load-time")) {
		return parse_dur(v, &s->load_ns, key, 0, err);
	} else if (!strcmp(key, "unload-time")) {
		return parse_dur(v, &s->unload_ns, key, 0, err);
	} else if (!strcmp(key, "ttft")) {
		return parse_dur(v, &s->ttft_ns, key, 0, err);
	} else if (!strcmp(key, "tok-interval")) {
		return parse_dur(v, &s->tok_interval_ns, key, 0, err);
	} else if (!strcmp(key, "pull-time")) {
		return parse_dur(v, &s->pull_ns, key, 0, err);
	} else if (!strcmp(key, "prefill-rate")) {
		return parse_double(v, 0.001, 1e12, &s->prefill_rate, key, err);
	} else if (!strcmp(key, "jitter")) {
		return parse_double(v, 0, 100, &s->jitter_pct, key, err);
	} else if (!strcmp(key, "seed")) {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		if (errno || end == v || *end)
			return seterr(err, "invalid seed '%s'", v);
		s->seed = x;
	} else if (!strcmp(key, "vram")) {
		char e2[ERR_MAX];
		if (units_parse_size(v, &s->vram, e2) < 0)
			return seterr(err, "invalid vram '%s': %s", v, e2);
	} else if (!strcmp(key, "fault")) {
		return sim_fault_apply(s, v, err);
	} else {
		return seterr(err, "unknown setting '%s'", key);
	}
	return 0;
}

void sim_config_override(struct sim_config *cfg, const char *instance, const char *key,
			 const char *value)
{
	cfg->ov = xrealloc(cfg->ov, (cfg->nov + 1) * sizeof(*cfg->ov));
	cfg->ov[cfg->nov].instance = xstrdup(instance);
	cfg->ov[cfg->nov].key = xstrdup(key);
	cfg->ov[cfg->nov].value = xstrdup(value);
	cfg->nov++;
}

int sim_config_instance_arg(struct sim_config *cfg, const char *arg, char *err)
{
	const char *colon = strchr(arg, ':');
	if (!colon || colon == arg || !colon[1])
		return seterr(err, "invalid instance setting '%s' (NAME:key=value,...)", arg);
	char *name = xstrndup(arg, (size_t)(colon - arg));
	char *rest = xstrdup(colon + 1);
	char *key = NULL;
	struct buf val = BUF_INIT;
	int rc = 0;
	char *p = rest;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		char *eq = strchr(p, '=');
		if (eq) {
			if (key) {
				sim_config_override(cfg, name, key, buf_str(&val));
				free(key);
			}
			key = xstrndup(p, (size_t)(eq - p));
			buf_reset(&val);
			buf_adds(&val, eq + 1);
		} else if (key) {
			buf_adds(&val, ",");
			buf_adds(&val, p);
		} else {
			rc = seterr(err, "invalid instance setting '%s' (NAME:key=value,...)", arg);
			break;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	if (rc == 0 && key)
		sim_config_override(cfg, name, key, buf_str(&val));
	free(key);
	buf_release(&val);
	free(name);
	free(rest);
	return rc;
}

int sim_fault_apply(struct sim_settings *s, const char *spec, char *err)
{
	if (!strcasecmp(spec, "none") || !strcasecmp(spec, "clear") || !*spec) {
		memset(s->faults, 0, sizeof(s->faults));
		return 0;
	}
	char kind[32];
	const char *p = spec;
	size_t k = strcspn(p, "=@");
	if (k == 0 || k >= sizeof(kind))
		return seterr(err, "invalid fault '%s'", spec);
	memcpy(kind, p, k);
	kind[k] = '\0';
	p += k;
	int64_t arg = 0;
	double frac = 1.0;
	char argtxt[64] = "";
	if (*p == '=') {
		p++;
		size_t a = strcspn(p, "@");
		if (a == 0 || a >= sizeof(argtxt))
			return seterr(err, "invalid fault '%s': empty argument", spec);
		memcpy(argtxt, p, a);
		argtxt[a] = '\0';
		p += a;
	}
	if (*p == '@') {
		if (parse_double(p + 1, 0, 1, &frac, "fault fraction", err) < 0)
			return -1;
	}
	if (!strcasecmp(kind, "up")) {
		s->faults[SIM_FAULT_DOWN].frac = 0;
		return 0;
	}
	int idx = -1;
	for (int i = 0; i < SIM_FAULT__N; i++)
		if (!strcasecmp(kind, fault_names[i]))
			idx = i;
	if (!strcasecmp(kind, "mid-error"))
		idx = SIM_FAULT_ERROR;
	if (idx < 0)
		return seterr(err,
			      "unknown fault '%s' (down, up, hang, slow, 500, 503, malformed, "
			      "error, truncate, stall=DUR, pull-cut[=SHARE], disk-full[=SHARE], "
			      "none)",
			      kind);
	if (idx == SIM_FAULT_STALL) {
		if (!*argtxt)
			return seterr(err, "fault 'stall' needs a duration (stall=2s)");
		if (parse_dur(argtxt, &arg, "stall duration", 0, err) < 0)
			return -1;
	} else if (idx == SIM_FAULT_PULL_CUT || idx == SIM_FAULT_DISK_FULL) {
		s->faults[idx].arg_share = 0.5;
		if (*argtxt && (parse_double(argtxt, 0.001, 0.999, &s->faults[idx].arg_share,
					     "fault share of bytes", err) < 0))
			return -1;
	} else if (*argtxt) {
		return seterr(err, "fault '%s' takes no argument", kind);
	}
	if ((idx == SIM_FAULT_DOWN || idx == SIM_FAULT_SLOW) && frac < 1.0 && frac > 0)
		return seterr(err, "fault '%s' takes no fraction", kind);
	s->faults[idx].frac = frac;
	s->faults[idx].arg_ns = arg;
	return 0;
}

void sim_fault_describe(const struct sim_settings *s, char *out, size_t n)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < SIM_FAULT__N; i++) {
		const struct sim_fault *f = &s->faults[i];
		if (f->frac <= 0)
			continue;
		char arg[48] = "", fr[32] = "";
		if (i == SIM_FAULT_STALL)
			snprintf(arg, sizeof(arg), "=%.3gs", (double)f->arg_ns / 1e9);
		if (i == SIM_FAULT_PULL_CUT || i == SIM_FAULT_DISK_FULL)
			snprintf(arg, sizeof(arg), "=%g", f->arg_share);
		if (f->frac < 1.0)
			snprintf(fr, sizeof(fr), "@%g", f->frac);
		int w = snprintf(out + len, n - len, "%s%s%s%s", len ? "," : "", fault_names[i],
				 arg, fr);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
	}
}

int sim_text_tokens(const char *text)
{
	if (!text)
		return 0;
	size_t n = strlen(text);
	return (int)((n + 3) / 4);
}

/* ---- the config file and --fault ---- */

int sim_config_fault_arg(struct sim_config *cfg, const char *arg, char *err)
{
	const char *colon = strchr(arg, ':');
	if (colon) {
		char *name = xstrndup(arg, (size_t)(colon - arg));
		struct sim_settings tmp;
		sim_settings_copy(&tmp, &cfg->defaults);
		int rc = sim_fault_apply(&tmp, colon + 1, err);
		sim_settings_release(&tmp);
		if (rc == 0)
			sim_config_override(cfg, name, "fault", colon + 1);
		free(name);
		return rc;
	}
	return sim_fault_apply(&cfg->defaults, arg, err);
}

struct ini_state {
	struct sim_config *cfg;
	const char *path;
	char err[ERR_MAX];
	int failed;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	char e2[ERR_MAX];
	if (st->failed)
		return 0;
	if (!strcmp(section, "sim") || !*section) {
		int rc;
		if (!strcmp(name, "instances") || !strcmp(name, "n")) {
			char *end;
			long n = strtol(value, &end, 10);
			if (*end || n < 1 || n > 1000)
				rc = seterr(e2, "invalid instances '%s'", value);
			else
				rc = 0, st->cfg->n = (int)n;
		} else if (!strcmp(name, "port")) {
			char *end;
			long p = strtol(value, &end, 10);
			if (*end || p < 1 || p > 65535)
				rc = seterr(e2, "invalid port '%s'", value);
			else
				rc = 0, st->cfg->port = (int)p;
		} else if (!strcmp(name, "fault")) {
			rc = sim_config_fault_arg(st->cfg, value, e2);
		} else {
			rc = sim_settings_set(&st->cfg->defaults, name, value, e2);
		}
		if (rc < 0) {
			seterr(st->err, "%s: %s", st->path, e2);
			st->failed = 1;
			return 0;
		}
		return 1;
	}
	if (!strncmp(section, "instance ", 9)) {
		const char *inst = section + 9;
		while (*inst == ' ')
			inst++;
		struct sim_settings tmp;
		sim_settings_copy(&tmp, &st->cfg->defaults);
		int rc = sim_settings_set(&tmp, name, value, e2);
		sim_settings_release(&tmp);
		if (rc < 0) {
			seterr(st->err, "%s: [%s] %s", st->path, section, e2);
			st->failed = 1;
			return 0;
		}
		sim_config_override(st->cfg, inst, name, value);
		return 1;
	}
	seterr(st->err, "%s: unknown section [%s]", st->path, section);
	st->failed = 1;
	return 0;
}

int sim_config_load(struct sim_config *cfg, const char *path, char *err)
{
	struct ini_state st = { cfg, path, "", 0 };
	int rc = ini_parse(path, ini_cb, &st);
	if (rc < 0)
		return seterr(err, "cannot read '%s': %s", path, strerror(errno));
	if (st.failed)
		return seterr(err, "%s", st.err);
	if (rc > 0)
		return seterr(err, "%s:%d: syntax error", path, rc);
	return 0;
}
