/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * obridge deploy: make the fleet file true on every instance.
 *
 *   probe   ask every instance what it has (/api/version, /api/tags, /api/ps)
 *   plan    desired (fleet file) against actual (the probe) -> actions, lints (pure)
 *   apply   removes (--prune), pulls (parallel across instances, one at a time per
 *           instance, retried and resumed), preloads (the preload engine of lib/fleet),
 *           then verify: digests equal across the fleet (or to the pin), residency
 *   record  the run in the store (one JSON writer and one reader, here)
 *
 * Ownership: struct deploy_actual and struct deploy_plan own their strings; release them
 * with deploy_actual_release() / deploy_plan_release(). A plan refers to the fleet's
 * instances by index only, so a plan read back from the store needs no fleet.
 */
#ifndef OBRIDGE_DEPLOY_DEPLOY_H
#define OBRIDGE_DEPLOY_DEPLOY_H

#include <stddef.h>
#include <stdint.h>

struct fleet;
struct http_engine;
struct buf;
struct store;

#define DEPLOY_MSG_MAX 512
/* Attempts of one pull before it is given up (a cut pull resumes where it stopped). */
#define DEPLOY_PULL_ATTEMPTS 3

/* One installed or loaded model, as an instance listed it. */
struct deploy_have {
	char *name;          /* canonical ("llama3.2:latest") */
	char *digest;        /* 64 hex, "" when unknown */
	uint64_t size;       /* bytes on disk (tags) or in memory (ps) */
	int64_t context_length; /* ps only; 0 when unknown */
};

/* What one instance said when probed. */
struct deploy_actual {
	int reachable;
	char err[DEPLOY_MSG_MAX];   /* why not reachable (sanitized) */
	char version[64];
	struct deploy_have *models; /* /api/tags */
	size_t nmodels;
	struct deploy_have *loaded; /* /api/ps */
	size_t nloaded;
};

enum deploy_kind {
	DEPLOY_PULL = 0, /* not installed: pull */
	DEPLOY_UPDATE,   /* installed with another digest than the pin or the majority: re-pull */
	DEPLOY_SHARED,   /* shared store: another instance pulls it; here only verify and load */
	DEPLOY_PRELOAD,  /* not resident (or with other options): load with the fleet's options */
	DEPLOY_REMOVE,   /* --prune: installed but not in the fleet file for this instance */
	DEPLOY__N
};

enum deploy_state {
	DEPLOY_PENDING = 0,
	DEPLOY_RUNNING,
	DEPLOY_OK,
	DEPLOY_FAILED,
	DEPLOY_SKIPPED,  /* not done: an earlier step failed, or interrupted */
};

struct deploy_action {
	enum deploy_kind kind;
	size_t inst;              /* index into deploy_plan.inst (= the fleet's instances) */
	char *model;              /* canonical name */
	char have_digest[65];     /* UPDATE: what the instance has */
	char want_digest[65];     /* the pin or the majority, "" when unknown */
	uint64_t size;            /* bytes, when the tags of some instance tell; else 0 */
	int has_keep_alive;       /* PRELOAD: the fleet's options */
	int64_t keep_alive_ns;
	int num_ctx;
	char note[160];           /* why: "digest differs from the majority", "pulled by gpu-1" */
	/* apply */
	enum deploy_state state;
	int attempts;
	int64_t duration_ns;
	char err[DEPLOY_MSG_MAX];
	int64_t total, completed; /* pull: bytes of all layers seen so far */
	int64_t resumed_from;     /* pull: bytes already on disk when the last attempt began */
	char layer[16];           /* pull: "6a0746a1ec1a" being pulled, or the status word */
	double rate;              /* pull: bytes/s (smoothed) */
	/* internal to apply */
	int64_t t0_, tlast_, blast_, tstart_;
	int64_t ltot_[8], ldone_[8];
	char ldig_[8][16];
	int nl_;
	int firstline_;
};

struct deploy_inst {
	char *name;
	char *url;
	int selected;             /* --only */
	int reachable;
	char err[DEPLOY_MSG_MAX];
	char version[64];
	/* verify */
	int verified;             /* verify ran for it */
	int matched;              /* the instance matches the fleet file */
	char verify[DEPLOY_MSG_MAX]; /* why not */
};

struct deploy_plan {
	struct deploy_inst *inst;
	size_t ninst;
	struct deploy_action *a;
	size_t n;
	char **lints;             /* warnings, sanitized */
	size_t nlints;
	size_t count[DEPLOY__N];
	size_t unreachable;       /* selected instances that did not answer */
	int shared_store;
	int prune;
	/* apply outcome */
	int applied;
	int interrupted;
	size_t matched;           /* instances that match after verify */
	size_t nselected;
	char **models;            /* --only model names (canonical); none: every model */
	size_t nmodels;
};

struct deploy_opts {
	int prune;
	const char *const *only;  /* instance names, group names or model names */
	size_t nonly;
};

/* Human names: "pull", "update", "shared", "preload", "remove"; states "pending", ... */
const char *deploy_kind_name(enum deploy_kind k);
const char *deploy_state_name(enum deploy_state s);

/* Probe every instance of the fleet; out has f->ninstances entries. */
void deploy_probe(struct http_engine *e, const struct fleet *f, int64_t timeout_ns,
		  struct deploy_actual *out);
void deploy_actual_release(struct deploy_actual *a);

/*
 * The plan (pure: no I/O): for every selected, reachable instance the fleet models it
 * should hold (its groups) that are missing (PULL, or SHARED for all but one instance
 * with a shared store), that have another digest than the pin or the fleet's majority
 * (UPDATE), that are not resident with the fleet's num_ctx (PRELOAD), and with prune
 * the installed models the fleet does not list for it (REMOVE). Lints are added as
 * warnings. Returns 0, or -1 with err when an --only name matches nothing, or for
 * prune when the fleet lists no models (it would remove everything).
 */
int deploy_plan_make(const struct fleet *f, const struct deploy_actual *act,
		     const struct deploy_opts *o, struct deploy_plan *out, char *err);
void deploy_plan_release(struct deploy_plan *p);
/* Pending changes: actions plus unreachable instances. */
size_t deploy_plan_pending(const struct deploy_plan *p);
/* The --plan exit code: 0 nothing pending, 1 changes pending, 2 an instance unreachable. */
int deploy_plan_exit(const struct deploy_plan *p);

/* Callbacks of apply (all optional). */
struct deploy_hooks {
	void (*progress)(void *ud, const struct deploy_plan *p, size_t action); /* a pull line */
	void (*step)(void *ud, const struct deploy_plan *p, size_t action);     /* finished */
	void (*tick)(void *ud, const struct deploy_plan *p); /* about every 100 ms while pulling */
	void *ud;
};

struct deploy_apply_opts {
	int parallel;             /* pulls at once across instances (>= 1) */
	int64_t timeout_ns;       /* whole apply */
	const volatile int *cancel;
};

/*
 * Apply the plan: removes, pulls, preloads, then verify (a fresh probe). Sets each
 * action's state and p->matched / p->interrupted. Returns the exit code: 0 every
 * selected instance matches the fleet file, 1 some do, 2 none.
 */
int deploy_apply(struct http_engine *e, const struct fleet *f, struct deploy_plan *p,
		 const struct deploy_apply_opts *o, const struct deploy_hooks *h);

/*
 * Verify against a fresh probe: for every selected instance, each model it should hold is
 * installed, with the pin's digest or the one digest the fleet agrees on, and resident.
 * Pure (the probe is given). Sets inst[].matched/verify and p->matched.
 */
void deploy_verify(const struct fleet *f, const struct deploy_actual *act,
		   struct deploy_plan *p);

/* ---- the stored document: one writer, one reader (record.c) ---- */

/* One action as JSON (a stored step, and an element of the document's "actions"). */
void deploy_action_json(struct buf *b, const struct deploy_plan *p, size_t i);
/* The whole plan (with results when applied) as one JSON document. */
void deploy_plan_json(struct buf *b, const struct deploy_plan *p);
/* The actions as CSV with a header line (export --csv). */
void deploy_actions_csv(struct buf *b, const struct deploy_plan *p);
/* Parse a document deploy_plan_json wrote. Returns 0 or -1 with err. */
int deploy_plan_parse(const char *json, struct deploy_plan *p, char *err);

/* Record an apply: begin (status "running"), one step per finished action, finish. */
int deploy_record_begin(struct store *s, const char *target, const struct deploy_opts *o,
			int parallel, int64_t *id, char *err);
int deploy_record_step(struct store *s, int64_t id, const struct deploy_plan *p, size_t i,
		       char *err);
/* status from the outcome: "ok", "warn", "failed" or "interrupted". */
int deploy_record_finish(struct store *s, int64_t id, const struct deploy_plan *p, int rc,
			 char *err);

/* A stored deploy run read back (show, export). */
struct deploy_run {
	int64_t id;
	char *status;
	char *target;
	int64_t started_ns, finished_ns;
	char *params;             /* JSON text or NULL */
	struct deploy_plan plan;  /* from the summary, or from the steps of an unfinished run */
};
/* Returns 0; 1 no such run or not a deploy run (err); -1 store error. */
int deploy_run_load(struct store *s, int64_t id, struct deploy_run *r, char *err);
/* The document export --json prints: the run's fields and the plan. */
void deploy_run_json(struct buf *b, const struct deploy_run *r);
void deploy_run_release(struct deploy_run *r);

#endif
