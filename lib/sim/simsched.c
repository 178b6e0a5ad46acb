/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The simulated Ollama scheduler: serial load queue, parallel slots, keep_alive and eviction. */
#include "../compat.h"
#include "sim-internal.h"

#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

void simq_push(struct simq *q, struct simreq *r)
{
	r->qnext = NULL;
	r->qprev = q->tail;
	if (q->tail)
		q->tail->qnext = r;
	else
		q->head = r;
	q->tail = r;
	q->len++;
	r->inq = q;
}

void simq_remove(struct simq *q, struct simreq *r)
{
	if (r->qprev)
		r->qprev->qnext = r->qnext;
	else
		q->head = r->qnext;
	if (r->qnext)
		r->qnext->qprev = r->qprev;
	else
		q->tail = r->qprev;
	q->len--;
	r->qnext = r->qprev = NULL;
	r->inq = NULL;
}

struct simrunner *simsched_find(struct siminst *in, struct simmodel *m)
{
	for (struct simrunner *x = in->runners; x; x = x->next)
		if (x->m == m)
			return x;
	return NULL;
}

static int runner_count(struct siminst *in)
{
	int n = 0;
	for (struct simrunner *x = in->runners; x; x = x->next)
		n++;
	return n;
}

static void loader_kick(struct siminst *in)
{
	simtimer_arm(in->sim, &in->kick, mono_ns());
}

static void unload_done(void *arg)
{
	struct simrunner *x = arg;
	struct siminst *in = x->in;
	for (struct simrunner **pp = &in->runners; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	in->unloads++;
	x->m->unloads++;
	sim_logf(in->sim, "sim %s unloaded %s", in->name, x->m->name);
	/* Requests that waited for a slot on a runner being unloaded cannot exist: eviction
	 * and expiry only start once refcount is 0. */
	free(x);
	loader_kick(in);
}

static void start_unload(struct simrunner *x)
{
	struct siminst *in = x->in;
	simtimer_cancel(in->sim, &x->timer);
	x->state = RUNNER_UNLOADING;
	x->expires_wall = wall_ns();
	x->expires_forever = 0;
	x->timer.fn = unload_done;
	x->timer.arg = x;
	simtimer_arm(in->sim, &x->timer, mono_ns() + siminst_delay(in, in->st.unload_ns));
}

static void expire_timer(void *arg)
{
	struct simrunner *x = arg;
	if (x->refcount == 0 && x->state == RUNNER_READY)
		start_unload(x);
}

static void set_expiry(struct simrunner *x)
{
	if (x->keep_alive == DURATION_FOREVER) {
		x->expires_forever = 1;
		x->expires_wall = wall_ns();
	} else {
		x->expires_forever = 0;
		x->expires_wall = wall_ns() + x->keep_alive;
	}
}

/* The runner has no request left. */
static void runner_idle(struct simrunner *x)
{
	struct siminst *in = x->in;
	if (x->state != RUNNER_READY)
		return;
	if (x->evicting || x->keep_alive == 0) {
		start_unload(x);
		return;
	}
	set_expiry(x);
	if (!x->expires_forever) {
		x->timer.fn = expire_timer;
		x->timer.arg = x;
		simtimer_arm(in->sim, &x->timer, mono_ns() + x->keep_alive);
	}
}

static void take_slot(struct simreq *r)
{
	struct simrunner *x = r->runner;
	x->busy++;
	r->holds_slot = 1;
	if (x->busy > x->m->max_concurrent)
		x->m->max_concurrent = x->busy;
	r->t_slot = mono_ns();
	r->state = RS_RUN;
	simreq_on_slot(r);
}

void simsched_want_slot(struct simreq *r)
{
	struct simrunner *x = r->runner;
	if (x->busy < x->parallel && x->slotq.len == 0) {
		take_slot(r);
	} else {
		r->state = RS_SLOTWAIT;
		simq_push(&x->slotq, r);
	}
}

static void grant(struct simreq *r, struct simrunner *x)
{
	r->runner = x;
	if (x->refcount++ == 0)
		simtimer_cancel(x->in->sim, &x->timer);
	if (r->has_keep_alive)
		x->keep_alive = r->keep_alive;
	r->t_granted = mono_ns();
	x->m->requests++;
	simreq_on_grant(r);
}

static void loader_run(void *arg);

static void load_done(void *arg)
{
	struct simrunner *x = arg;
	struct siminst *in = x->in;
	x->state = RUNNER_READY;
	x->ready_mono = mono_ns();
	in->loader_busy = 0;
	in->loads++;
	x->m->loads++;
	sim_logf(in->sim, "sim %s loaded %s (num_ctx %d)", in->name, x->m->name, x->num_ctx);
	while (x->loadwait.head) {
		struct simreq *r = x->loadwait.head;
		simq_remove(&x->loadwait, r);
		grant(r, x);
	}
	/* Grant the requests that waited for this load before judging the runner idle:
	 * with keep_alive 0 it would otherwise unload under them, and load again. */
	loader_run(in);
	if (x->refcount == 0)
		runner_idle(x);
	loader_kick(in);
}

static struct simrunner *choose_victim(struct siminst *in)
{
	struct simrunner *best = NULL;
	for (int pass = 0; pass < 2 && !best; pass++) {
		for (struct simrunner *x = in->runners; x; x = x->next) {
			if (x->state != RUNNER_READY)
				continue;
			if (pass == 0 && x->refcount > 0)
				continue;
			if (!best || x->keep_alive < best->keep_alive ||
			    (x->keep_alive == best->keep_alive &&
			     strcmp(x->m->name, best->m->name) < 0))
				best = x;
		}
	}
	return best;
}

/* Work through the serial pending queue as far as possible. */
static void loader_run(void *arg)
{
	struct siminst *in = arg;
	while (in->loadq.head && !in->loader_busy) {
		struct simreq *r = in->loadq.head;
		struct simrunner *x = simsched_find(in, r->m);
		if (x) {
			if (x->state == RUNNER_READY && x->num_ctx == r->num_ctx && !x->evicting) {
				simq_remove(&in->loadq, r);
				grant(r, x);
				continue;
			}
			if (x->state != RUNNER_READY)
				return; /* loading or unloading: wait */
			/* a runner option changed: reload once it drains */
			x->evicting = 1;
			if (x->refcount == 0)
				start_unload(x);
			return;
		}
		if (runner_count(in) >= in->st.max_loaded) {
			for (struct simrunner *y = in->runners; y; y = y->next)
				if (y->evicting || y->state == RUNNER_UNLOADING)
					return; /* a victim is on its way out */
			struct simrunner *v = choose_victim(in);
			if (!v)
				return;
			v->evicting = 1;
			sim_logf(in->sim, "sim %s evicting %s", in->name, v->m->name);
			if (v->refcount == 0)
				start_unload(v);
			return;
		}
		x = xcalloc(1, sizeof(*x));
		x->in = in;
		x->m = r->m;
		x->state = RUNNER_LOADING;
		x->num_ctx = r->num_ctx;
		x->parallel = r->m->cat.embed_only ? 1 : in->st.num_parallel;
		x->keep_alive = r->has_keep_alive ? r->keep_alive : in->st.keep_alive_ns;
		x->timer.idx = SIZE_MAX;
		set_expiry(x);
		x->next = in->runners;
		in->runners = x;
		in->loader_busy = 1;
		x->timer.fn = load_done;
		x->timer.arg = x;
		simtimer_arm(in->sim, &x->timer, mono_ns() + siminst_delay(in, in->st.load_ns));
		/* As in Ollama, the request being loaded for has left the pending queue (its
		 * capacity, max_queue, counts the requests behind it); the others for this model
		 * are granted once it is ready (the loop resumes then). */
		simq_remove(&in->loadq, r);
		simq_push(&x->loadwait, r);
		return;
	}
}

void simsched_init(struct siminst *in)
{
	in->kick.idx = SIZE_MAX;
	in->kick.fn = loader_run;
	in->kick.arg = in;
}

void simsched_submit(struct simreq *r)
{
	struct siminst *in = r->in;
	struct simrunner *x = simsched_find(in, r->m);
	if (x && x->state == RUNNER_READY && x->num_ctx == r->num_ctx && !x->evicting) {
		grant(r, x);
		return;
	}
	if (in->loadq.len >= (size_t)in->st.max_queue) {
		in->rejected++;
		simreq_fail(r, 503,
			    "server busy, please try again.  maximum pending requests exceeded");
		return;
	}
	r->state = RS_QUEUED;
	simq_push(&in->loadq, r);
	if (in->loadq.len > in->max_waiting_load)
		in->max_waiting_load = in->loadq.len;
	loader_kick(in);
}

void simsched_slot_done(struct simreq *r)
{
	struct simrunner *x = r->runner;
	if (!r->holds_slot || !x)
		return;
	r->holds_slot = 0;
	x->busy--;
	while (x->slotq.head && x->busy < x->parallel) {
		struct simreq *n = x->slotq.head;
		simq_remove(&x->slotq, n);
		take_slot(n);
	}
}

void simsched_release(struct simreq *r)
{
	if (r->inq)
		simq_remove(r->inq, r);
	simsched_slot_done(r);
	struct simrunner *x = r->runner;
	if (x) {
		r->runner = NULL;
		if (--x->refcount == 0) {
			runner_idle(x);
			if (x->evicting)
				loader_kick(x->in);
		}
	}
}

void simsched_expire(struct siminst *in, struct simmodel *m)
{
	struct simrunner *x = simsched_find(in, m);
	if (!x)
		return;
	x->keep_alive = 0;
	if (x->state == RUNNER_UNLOADING)
		return;
	x->expires_wall = wall_ns();
	x->expires_forever = 0;
	if (x->state == RUNNER_READY && x->refcount == 0)
		start_unload(x);
}

/* The instance went down: every runner disappears (requests were closed before). */
void simsched_drop_all(struct siminst *in)
{
	while (in->runners) {
		struct simrunner *x = in->runners;
		in->runners = x->next;
		simtimer_cancel(in->sim, &x->timer);
		free(x);
	}
	in->loader_busy = 0;
	simtimer_cancel(in->sim, &in->kick);
}
