/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The deploy planner and verifier: desired (fleet file) against actual (a probe). Pure. */
#include "../compat.h"
#include "deploy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fleet/fleet.h"
#include "../ollama/ollama.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static const char *const kind_names[DEPLOY__N] = { "pull", "update", "shared", "preload",
						   "remove" };
static const char *const state_names[] = { "pending", "running", "ok", "failed", "skipped" };

const char *deploy_kind_name(enum deploy_kind k)
{
	return (unsigned)k < DEPLOY__N ? kind_names[k] : "?";
}

const char *deploy_state_name(enum deploy_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

void deploy_actual_release(struct deploy_actual *a)
{
	for (size_t i = 0; i < a->nmodels; i++) {
		free(a->models[i].name);
		free(a->models[i].digest);
	}
	for (size_t i = 0; i < a->nloaded; i++) {
		free(a->loaded[i].name);
		free(a->loaded[i].digest);
	}
	free(a->models);
	free(a->loaded);
	memset(a, 0, sizeof(*a));
}

void deploy_plan_release(struct deploy_plan *p)
{
	for (size_t i = 0; i < p->ninst; i++) {
		free(p->inst[i].name);
		free(p->inst[i].url);
	}
	for (size_t i = 0; i < p->n; i++)
		free(p->a[i].model);
	for (size_t i = 0; i < p->nlints; i++)
		free(p->lints[i]);
	for (size_t i = 0; i < p->nmodels; i++)
		free(p->models[i]);
	free(p->models);
	free(p->inst);
	free(p->a);
	free(p->lints);
	memset(p, 0, sizeof(*p));
}

static const struct deploy_have *have_find(const struct deploy_have *h, size_t n,
					   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (ollama_name_equal(h[i].name, name))
			return &h[i];
	return NULL;
}

/* The pin without "sha256:", or NULL. */
static const char *pin_hex(const struct fleet_model *m)
{
	if (!m->digest)
		return NULL;
	return !strncasecmp(m->digest, "sha256:", 7) ? m->digest + 7 : m->digest;
}

/*
 * The digest the fleet agrees on for a model: the pin, else the digest most reachable
 * instances hold (only is_sel instances when sel is given). "" when nobody has it or
 * there is a tie (then the registry decides: every holder is re-pulled).
 */
static void want_digest(const struct fleet_model *m, const struct fleet *f,
			const struct deploy_actual *act, char out[65])
{
	out[0] = '\0';
	const char *pin = pin_hex(m);
	if (pin) {
		snprintf(out, 65, "%s", pin);
		return;
	}
	size_t best = 0;
	int tie = 0;
	for (size_t i = 0; i < f->ninstances; i++) {
		if (!act[i].reachable)
			continue;
		const struct deploy_have *h = have_find(act[i].models, act[i].nmodels, m->name);
		if (!h || !*h->digest)
			continue;
		size_t c = 0;
		for (size_t j = 0; j < f->ninstances; j++) {
			if (!act[j].reachable)
				continue;
			const struct deploy_have *o =
				have_find(act[j].models, act[j].nmodels, m->name);
			c += o && !strcasecmp(o->digest, h->digest);
		}
		if (c > best) {
			best = c;
			tie = 0;
			snprintf(out, 65, "%s", h->digest);
		} else if (c == best && strcasecmp(out, h->digest)) {
			tie = 1;
		}
	}
	if (tie)
		out[0] = '\0';
}

/* The size of a model from whatever instance lists it (0 when none). */
static uint64_t known_size(const struct fleet *f, const struct deploy_actual *act,
			   const char *name)
{
	for (size_t i = 0; i < f->ninstances; i++) {
		const struct deploy_have *h = have_find(act[i].models, act[i].nmodels, name);
		if (h && h->size)
			return h->size;
	}
	return 0;
}

static struct deploy_action *add(struct deploy_plan *p, enum deploy_kind k, size_t inst,
				 const char *model)
{
	p->a = xrealloc(p->a, (p->n + 1) * sizeof(*p->a));
	struct deploy_action *a = &p->a[p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->inst = inst;
	a->model = xstrdup(model);
	p->count[k]++;
	return a;
}

static void lint(struct deploy_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lint(struct deploy_plan *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	p->lints = xrealloc(p->lints, (p->nlints + 1) * sizeof(char *));
	p->lints[p->nlints++] = text_sanitize(s, strlen(s) + 1, s);
}

static void lints(const struct fleet *f, struct deploy_plan *p)
{
	for (size_t i = 0; i < f->ninstances; i++)
		for (size_t j = i + 1; j < f->ninstances; j++)
			if (!strcasecmp(f->instances[i].url, f->instances[j].url))
				lint(p, "instances '%s' and '%s' have the same address %s",
				     f->instances[i].name, f->instances[j].name, f->instances[i].url);
	for (size_t i = 0; i < f->ninstances; i++) {
		const struct fleet_instance *in = &f->instances[i];
		size_t pinned = 0, any = 0;
		for (size_t m = 0; m < f->nmodels; m++) {
			if (!fleet_model_on_instance(&f->models[m], in))
				continue;
			any++;
			pinned += f->models[m].has_keep_alive &&
				  f->models[m].keep_alive_ns == DURATION_FOREVER;
		}
		if (in->max_loaded > 0 && pinned > (size_t)in->max_loaded)
			lint(p, "instance '%s': %zu models kept loaded forever, but max_loaded is %d "
			     "(Ollama evicts some)", in->name, pinned, in->max_loaded);
		if (f->nmodels && !any)
			lint(p, "instance '%s' is in no model's groups", in->name);
	}
}

/* Apply --only: mark instances selected; *models_only when model names were given. */
static int select_only(const struct fleet *f, const struct deploy_opts *o,
		       struct deploy_plan *p, char ***models, size_t *nmodels, char *err)
{
	*models = NULL;
	*nmodels = 0;
	int any_inst = 0;
	for (size_t k = 0; k < o->nonly; k++) {
		const char *w = o->only[k];
		int hit = 0;
		for (size_t i = 0; i < f->ninstances; i++) {
			const struct fleet_instance *in = &f->instances[i];
			if (!strcmp(in->name, w) || (in->group && !strcmp(in->group, w))) {
				p->inst[i].selected = 2;
				hit = any_inst = 1;
			}
		}
		if (hit)
			continue;
		char canon[300], e2[DEPLOY_MSG_MAX];
		if (ollama_name_normalize(w, canon, sizeof(canon), e2) == 0 &&
		    fleet_find_model(f, canon)) {
			*models = xrealloc(*models, (*nmodels + 1) * sizeof(char *));
			(*models)[(*nmodels)++] = xstrdup(canon);
			continue;
		}
		for (size_t i = 0; i < *nmodels; i++)
			free((*models)[i]);
		free(*models);
		*models = NULL;
		*nmodels = 0;
		return seterr(err, "--only '%s': no instance, group or fleet model has that name",
			      w);
	}
	for (size_t i = 0; i < f->ninstances; i++)
		p->inst[i].selected = any_inst ? p->inst[i].selected == 2 : 1;
	return 0;
}

static int model_selected(char **models, size_t n, const char *name)
{
	if (!n)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (ollama_name_equal(models[i], name))
			return 1;
	return 0;
}

int deploy_plan_make(const struct fleet *f, const struct deploy_actual *act,
		     const struct deploy_opts *o, struct deploy_plan *out, char *err)
{
	struct deploy_plan *p = out;
	memset(p, 0, sizeof(*p));
	if (o->prune && !f->nmodels)
		return seterr(err, "--prune with a fleet that lists no models would remove every "
				   "model: add [model NAME] sections to the fleet file");
	p->ninst = f->ninstances;
	p->inst = xcalloc(p->ninst + 1, sizeof(*p->inst));
	p->shared_store = f->shared_store;
	p->prune = o->prune;
	for (size_t i = 0; i < f->ninstances; i++) {
		struct deploy_inst *d = &p->inst[i];
		d->name = xstrdup(f->instances[i].name);
		d->url = xstrdup(f->instances[i].url);
		d->reachable = act[i].reachable;
		snprintf(d->err, sizeof(d->err), "%s", act[i].err);
		snprintf(d->version, sizeof(d->version), "%s", act[i].version);
	}
	char **models;
	size_t nmodels;
	if (select_only(f, o, p, &models, &nmodels, err) < 0) {
		deploy_plan_release(p);
		return -1;
	}
	for (size_t i = 0; i < p->ninst; i++) {
		p->nselected += p->inst[i].selected;
		p->unreachable += p->inst[i].selected && !p->inst[i].reachable;
	}
	lints(f, p);

	/* pulls and updates, model by model (a shared store pulls each once) */
	for (size_t m = 0; m < f->nmodels; m++) {
		const struct fleet_model *fm = &f->models[m];
		if (!model_selected(models, nmodels, fm->name))
			continue;
		char want[65];
		want_digest(fm, f, act, want);
		uint64_t size = known_size(f, act, fm->name);
		long puller = -1; /* shared store: the instance that pulls */
		for (size_t i = 0; i < f->ninstances; i++) {
			if (!p->inst[i].selected || !act[i].reachable ||
			    !fleet_model_on_instance(fm, &f->instances[i]))
				continue;
			const struct deploy_have *h =
				have_find(act[i].models, act[i].nmodels, fm->name);
			enum deploy_kind k;
			if (!h) {
				k = DEPLOY_PULL;
			} else if (*want) {
				if (!strcasecmp(h->digest, want))
					continue;
				k = DEPLOY_UPDATE;
			} else {
				/* a tie: the registry decides, every holder is re-pulled */
				int others = 0;
				for (size_t j = 0; j < f->ninstances; j++) {
					const struct deploy_have *x = act[j].reachable ?
						have_find(act[j].models, act[j].nmodels, fm->name) :
						NULL;
					others += x && strcasecmp(x->digest, h->digest);
				}
				if (!others)
					continue;
				k = DEPLOY_UPDATE;
			}
			if (p->shared_store && puller >= 0)
				k = DEPLOY_SHARED;
			struct deploy_action *a = add(p, k, i, fm->name);
			a->size = h && k != DEPLOY_PULL ? h->size : size;
			snprintf(a->want_digest, sizeof(a->want_digest), "%s", want);
			if (h)
				snprintf(a->have_digest, sizeof(a->have_digest), "%s", h->digest);
			if (k == DEPLOY_UPDATE)
				snprintf(a->note, sizeof(a->note), "%s",
					 pin_hex(fm) ? "digest differs from the pin" :
					 *want ? "digest differs from the fleet's majority" :
						 "no majority digest: the registry decides");
			if (k == DEPLOY_SHARED)
				snprintf(a->note, sizeof(a->note), "pulled by %s (shared store)",
					 f->instances[puller].name);
			if (p->shared_store && puller < 0)
				puller = (long)i;
		}
	}
	/* preloads */
	for (size_t i = 0; i < f->ninstances; i++) {
		if (!p->inst[i].selected || !act[i].reachable)
			continue;
		for (size_t m = 0; m < f->nmodels; m++) {
			const struct fleet_model *fm = &f->models[m];
			if (!model_selected(models, nmodels, fm->name) ||
			    !fleet_model_on_instance(fm, &f->instances[i]))
				continue;
			const struct deploy_have *l =
				have_find(act[i].loaded, act[i].nloaded, fm->name);
			int changed = 0;
			for (size_t k = 0; k < p->n; k++)
				changed |= p->a[k].inst == i && p->a[k].kind != DEPLOY_PRELOAD &&
					   ollama_name_equal(p->a[k].model, fm->name);
			const char *why = NULL;
			if (!l)
				why = NULL;
			else if (changed)
				why = "loaded before the pull";
			else if (fm->num_ctx && l->context_length && l->context_length != fm->num_ctx)
				why = "loaded with another num_ctx";
			else
				continue;
			struct deploy_action *a = add(p, DEPLOY_PRELOAD, i, fm->name);
			a->has_keep_alive = fm->has_keep_alive;
			a->keep_alive_ns = fm->keep_alive_ns;
			a->num_ctx = fm->num_ctx;
			if (why)
				snprintf(a->note, sizeof(a->note), "%s", why);
		}
	}
	/* removes */
	for (size_t i = 0; i < f->ninstances && o->prune; i++) {
		if (!p->inst[i].selected || !act[i].reachable)
			continue;
		for (size_t k = 0; k < act[i].nmodels; k++) {
			const char *name = act[i].models[k].name;
			const struct fleet_model *fm = fleet_find_model(f, name);
			if (fm && fleet_model_on_instance(fm, &f->instances[i]))
				continue;
			if (nmodels && !model_selected(models, nmodels, name))
				continue;
			int dup = 0; /* a shared store removes once */
			for (size_t j = 0; j < p->n && p->shared_store; j++)
				dup |= p->a[j].kind == DEPLOY_REMOVE &&
				       ollama_name_equal(p->a[j].model, name);
			if (dup)
				continue;
			struct deploy_action *a = add(p, DEPLOY_REMOVE, i, name);
			a->size = act[i].models[k].size;
			snprintf(a->note, sizeof(a->note), "%s",
				 fm ? "not in this instance's groups" : "not in the fleet file");
		}
	}
	p->models = models; /* verify checks only these */
	p->nmodels = nmodels;
	return 0;
}

size_t deploy_plan_pending(const struct deploy_plan *p)
{
	return p->n + p->unreachable;
}

int deploy_plan_exit(const struct deploy_plan *p)
{
	if (p->unreachable)
		return 2;
	return p->n ? 1 : 0;
}

void deploy_verify(const struct fleet *f, const struct deploy_actual *act,
		   struct deploy_plan *p)
{
	p->matched = 0;
	for (size_t i = 0; i < p->ninst && i < f->ninstances; i++) {
		struct deploy_inst *d = &p->inst[i];
		if (!d->selected)
			continue;
		d->verified = 1;
		d->matched = 0;
		d->verify[0] = '\0';
		d->reachable = act[i].reachable;
		if (!act[i].reachable) {
			snprintf(d->verify, sizeof(d->verify), "unreachable: %s", act[i].err);
			continue;
		}
		snprintf(d->version, sizeof(d->version), "%s", act[i].version);
		char why[DEPLOY_MSG_MAX] = "";
		for (size_t m = 0; m < f->nmodels && !*why; m++) {
			const struct fleet_model *fm = &f->models[m];
			if (!fleet_model_on_instance(fm, &f->instances[i]) ||
			    !model_selected(p->models, p->nmodels, fm->name))
				continue;
			char want[65];
			want_digest(fm, f, act, want);
			const struct deploy_have *h =
				have_find(act[i].models, act[i].nmodels, fm->name);
			const struct deploy_have *l =
				have_find(act[i].loaded, act[i].nloaded, fm->name);
			if (!h)
				snprintf(why, sizeof(why), "%s not installed", fm->name);
			else if (pin_hex(fm) && strcasecmp(h->digest, want))
				snprintf(why, sizeof(why), "%s has digest %.12s, the pin is %.12s",
					 fm->name, h->digest, want);
			else if (!*want)
				snprintf(why, sizeof(why), "%s: the instances disagree on the digest",
					 fm->name);
			else if (strcasecmp(h->digest, want))
				snprintf(why, sizeof(why), "%s has digest %.12s, the fleet has %.12s",
					 fm->name, h->digest, want);
			else if (!l)
				snprintf(why, sizeof(why), "%s not resident", fm->name);
			else if (fm->num_ctx && l->context_length && l->context_length != fm->num_ctx)
				snprintf(why, sizeof(why), "%s resident with num_ctx %lld, not %d",
					 fm->name, (long long)l->context_length, fm->num_ctx);
		}
		if (*why) {
			text_sanitize(d->verify, sizeof(d->verify), why);
		} else {
			d->matched = 1;
			p->matched++;
		}
	}
}
