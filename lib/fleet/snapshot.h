/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The polled view of the fleet that `obridge top` shows: per instance a state (UP, SLOW,
 * DEGRADED, DOWN) with the time it was entered, version, probe latency now and a ring of
 * past latencies (backfilled by the caller), the models resident (VRAM/CPU split,
 * context, expiry) and missing against the fleet file, GPU figures from metrics_url, and
 * stale marking with the age of the last good poll. Polling runs through the caller's
 * HTTP engine without blocking: snapshot_poll_start(), then the caller's loop runs
 * http_poll() and calls snapshot_poll_collect(). Sorting and filtering are pure functions.
 * Also: the bench panel (a running bench run, filled by the caller) and one-request actions
 * (preload, unload, warm up one model on one instance) that run in the same loop.
 *
 * Ownership: struct snapshot owns its instances, models and strings; the fleet and the
 * engine are borrowed and must outlive it. Release with snapshot_release.
 */
#ifndef OBRIDGE_FLEET_SNAPSHOT_H
#define OBRIDGE_FLEET_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct fleet;
struct fleet_instance;
struct http_engine;
struct buf;
struct probe_job;

/* Latencies kept per instance (at 1 s, two minutes). */
#define SNAPSHOT_HIST 120

enum snapshot_state {
	SNAP_UNKNOWN = 0,  /* not polled yet */
	SNAP_UP,
	SNAP_SLOW,         /* up, probe latency over opts.slow_ns */
	SNAP_DEGRADED,     /* up, but models missing, not resident, wrong context, drift */
	SNAP_DOWN,
};

/* A ring of latencies, oldest dropped first; a value < 0 marks a failed poll. */
struct snapshot_ring {
	int64_t v[SNAPSHOT_HIST];
	size_t n;          /* values held */
	size_t head;       /* index of the next write */
};

void snapshot_ring_push(struct snapshot_ring *r, int64_t v);
/* The i-th value, 0 = oldest. */
int64_t snapshot_ring_get(const struct snapshot_ring *r, size_t i);

struct snapshot_model {
	char name[128];    /* sanitized */
	int required;      /* listed in the fleet file for this instance */
	int installed;
	int resident;
	int drift;         /* digest differs from the fleet's majority */
	int embed;         /* embedding-only: loaded through /api/embed */
	uint64_t size, size_vram;
	int64_t context_length; /* 0 when not reported */
	int want_ctx;      /* the fleet's num_ctx, 0 when none */
	int64_t expires_at;/* wall ns, INT64_MAX forever, 0 unknown */
};

struct snapshot_inst {
	const struct fleet_instance *in;
	enum snapshot_state state;
	int64_t since_ns;          /* wall ns when state was entered */
	int polled;                /* at least one poll finished */
	int stale;                 /* the last poll failed: data below is from last_ok_ns */
	int64_t last_ok_ns;        /* wall ns of the last successful poll, 0 never */
	char version[48];
	int64_t latency_ns;        /* last probe latency, -1 when the last poll failed */
	struct snapshot_ring hist;
	char problem[256];         /* first problem line, "" when none (sanitized) */
	struct snapshot_model *models;
	size_t nmodels;
	size_t nrequired, nresident_req, nmissing, nresident;
	uint64_t vram, ram;        /* bytes of resident models on GPU and in system memory */
	/* GPU figures (only when the fleet entry has metrics_url) */
	int metrics_ok;
	int64_t metrics_at;        /* wall ns of the last good scrape */
	char metrics_err[128];
	struct metrics metrics;
	void *metrics_req_;        /* private: the scrape in flight */
};

/* The bench panel: a bench run with status "running" (the caller fills it). */
struct snapshot_bench {
	int active;
	int64_t run_id;
	char target[128];
	int64_t started_ns;
	char step[64];             /* "" when the summary has none */
	int64_t p95_ns;            /* -1 when unknown */
	int64_t errors;            /* -1 when unknown */
	int64_t requests;          /* -1 when unknown */
};

struct snapshot_opts {
	int level;                 /* 1 or 2 (default 2) */
	int64_t timeout_ns;        /* per poll (0: 5 s) */
	int64_t slow_ns;           /* SLOW above this latency (0: 1 s) */
};

/* Action kinds for snapshot_action_start. */
enum snapshot_action {
	SNAP_ACT_PRELOAD = 1,
	SNAP_ACT_UNLOAD,
	SNAP_ACT_WARMUP,
};

struct snapshot {
	const struct fleet *f;
	struct snapshot_opts o;
	struct snapshot_inst *inst;
	size_t n;
	int64_t t_ns;              /* wall ns of the last poll folded in, 0 before */
	uint64_t seq;              /* polls folded in */
	int any_metrics;           /* some instance has metrics_url */
	/* fleet totals after the last fold */
	size_t up, resident, expected;
	uint64_t vram;
	struct snapshot_bench bench;
	/* polling (private) */
	struct http_engine *e_;
	struct probe_job *job_;
	int metrics_pending_;
	int64_t poll_started_;
	/* the last action and its outcome */
	int action_busy;
	char action_msg[400];
	int dirty_;
	int act_;
	long act_id_;
	char act_what_[200];
};

#define SNAPSHOT_INIT { 0 }

void snapshot_init(struct snapshot *s, const struct fleet *f, const struct snapshot_opts *o);
void snapshot_release(struct snapshot *s);

/* Add one past probe of instance i to its latency ring, oldest first (the caller reads
 * the probe history; a probe of another URL under the same name is skipped). */
void snapshot_backfill_add(struct snapshot *s, size_t i, const char *url, int down,
			   int64_t latency_ns);

/* Start one poll of every instance (probe, and metrics where configured). A no-op while
 * one is running. */
void snapshot_poll_start(struct snapshot *s, struct http_engine *e);
/* True while a poll is running. */
int snapshot_poll_busy(const struct snapshot *s);
/* When the running poll has finished (or its deadline passed), fold it into the snapshot;
 * returns 1 when the snapshot changed. */
int snapshot_poll_collect(struct snapshot *s);
/* Cancel a running poll and any action (before freeing the engine). */
void snapshot_poll_abort(struct snapshot *s);

/* Fold a finished probe into the snapshot at wall time now (pure; used by collect and tests). */
struct probe_result;
void snapshot_apply(struct snapshot *s, const struct probe_result *r, int64_t now);
/* Fold metrics of instance i (ok = 0: a failed scrape, msg says why). */
void snapshot_apply_metrics(struct snapshot *s, size_t i, int ok, const struct metrics *m,
			    const char *msg, int64_t now);


/*
 * Preload, unload or warm up model on instance i with the fleet's keep_alive and num_ctx
 * (one request, in the caller's loop). Returns 0, or -1 with err (busy, unknown model).
 * The outcome lands in s->action_msg; the next poll shows the effect.
 */
int snapshot_action_start(struct snapshot *s, struct http_engine *e, enum snapshot_action a,
			  size_t i, const char *model, char *err);

/* ---- pure helpers (sorting, filtering, names) ---- */

enum snapshot_key {
	SNAP_KEY_NAME = 0,
	SNAP_KEY_STATE,
	SNAP_KEY_LATENCY,
	SNAP_KEY_MODELS,
	SNAP_KEY_VRAM,
	SNAP_KEY_GPU,
	SNAP_KEY_COUNT,
};

/* "UP", "SLOW", "DEGRADED", "DOWN", "?" */
const char *snapshot_state_name(enum snapshot_state st);
/* "name", "state", "latency", "models", "vram", "gpu" */
const char *snapshot_key_name(enum snapshot_key k);

/*
 * True when instance p matches filter: a case-insensitive substring of its name, URL,
 * group, state name, version or a model name. A leading '!' inverts. "" matches all.
 */
int snapshot_match(const struct snapshot_inst *p, const char *filter);

/*
 * Indices of the instances that match filter, sorted by key (ties by name), descending
 * when desc. idx must hold s->n entries; returns how many were written.
 */
size_t snapshot_order(const struct snapshot *s, enum snapshot_key key, int desc,
		      const char *filter, size_t *idx);

/* The snapshot as JSON text (one object), appended to out. */
void snapshot_to_json(const struct snapshot *s, struct buf *out);

#endif
