/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Loading and unloading models across the fleet (preload, unload, warmup): one request per
 * (instance, model) pair with the fleet's keep_alive and num_ctx, sequential on each
 * instance (so a load time is not mixed with queueing behind another load) and parallel
 * across instances; /api/ps read back to prove residency. Warm-up requests are streamed
 * and timed (TTFT, total, tokens/s from the server's eval figures).
 *
 * Ownership: struct load_set owns its pairs and their strings; instances are borrowed
 * from the fleet, which must outlive the set.
 */
#ifndef OBRIDGE_FLEET_LOAD_H
#define OBRIDGE_FLEET_LOAD_H

#include <stddef.h>
#include <stdint.h>

struct fleet;
struct fleet_instance;
struct http_engine;

#define LOAD_WARM_MAX 64

struct load_pair {
	const struct fleet_instance *in;
	char *model;              /* canonical name */
	int has_keep_alive;
	int64_t keep_alive_ns;    /* DURATION_FOREVER for forever */
	int num_ctx;              /* 0 = server default */
	/* the load or unload request */
	int done;
	int ok;
	int embed;                /* an embedding-only model: loaded through /api/embed */
	char err[640];
	int64_t latency_ns;       /* client-measured; for a preload: the cold-load time */
	char done_reason[32];
	/* read back from /api/ps */
	int ps_ok;
	int resident;
	uint64_t size, size_vram;
	int64_t expires_at;       /* wall ns, INT64_MAX for forever */
	int64_t context_length;
	/* warm-up requests */
	int nwarm;                /* requests made */
	int nwarm_ok;
	int64_t warm_total_ns[LOAD_WARM_MAX]; /* end-to-end of each request */
	int64_t warm_ttft_ns[LOAD_WARM_MAX];  /* time to first token of each */
	double warm_tps[LOAD_WARM_MAX];       /* eval_count / eval_duration */
	int64_t warm_load_ns[LOAD_WARM_MAX];  /* the server's load_duration of each */
	char warm_err[640];
};

struct load_set {
	struct load_pair *p;
	size_t n;
};

/*
 * The pairs to act on: the named models (any name; on every instance when the fleet does
 * not list it) or, with none named, every fleet model on every instance that should hold
 * it. keep_alive_ns >= 0 or DURATION_FOREVER overrides the fleet's keep_alive when
 * override_keep_alive. Returns 0, or -1 with err (e.g. no models to act on).
 */
int load_plan(const struct fleet *f, const char *const *models, size_t nmodels,
	      int override_keep_alive, int64_t keep_alive_ns, struct load_set *out, char *err);
/* Unload plan when nothing is named and the fleet lists no models: whatever /api/ps lists. */
int load_plan_loaded(struct http_engine *e, const struct fleet *f, int64_t timeout_ns,
		     struct load_set *out, char *err);

/* Progress callback: pairs finished so far. */
typedef void (*load_progress_fn)(void *ud, size_t done, size_t total);

/*
 * Send the loads (unload = 0) or unloads (unload = 1) and wait until all answered.
 * For an unload, pairs that a load_readback() found not resident are skipped.
 */
void load_run(struct http_engine *e, struct load_set *s, int unload, int64_t timeout_ns,
	      load_progress_fn progress, void *ud, const volatile int *cancel);

/*
 * Read /api/ps of every instance into the pairs. With wait_gone_ns > 0 (after an unload),
 * poll until none of the pairs is listed or the time is up.
 */
void load_readback(struct http_engine *e, struct load_set *s, int64_t timeout_ns,
		   int64_t wait_gone_ns);

/* n streamed warm-up requests per pair (sequential per instance). */
void load_warm(struct http_engine *e, struct load_set *s, int n, int num_predict,
	       int64_t timeout_ns, load_progress_fn progress, void *ud,
	       const volatile int *cancel);

void load_set_release(struct load_set *s);

#endif
