/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SQLite store: runs (bench, health, warmup, ...), their steps, optional per-request
 * samples and health probes. One file, WAL mode, busy timeout, schema versioned with
 * PRAGMA user_version and forward migrations. Safe for concurrent writers in several
 * processes (cron health, a bench and top at the same time).
 *
 * Ownership: struct store owns the sqlite3 handle and its prepared statements.
 * Strings in struct store_run returned by store_runs_list are owned by the list and freed
 * by store_runs_free. JSON columns are stored and returned as text.
 */
#ifndef OBRIDGE_STORE_STORE_H
#define OBRIDGE_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* The schema version this obridge writes and understands. */
#define STORE_SCHEMA_VERSION 2

enum store_status_code {
	STORE_OK = 0,
	STORE_ERR = -1,        /* generic failure (message in err) */
	STORE_ERR_NEWER = -2,  /* the file has a newer schema than this obridge knows */
};

/*
 * The default path: $OBRIDGE_DB, else $XDG_DATA_HOME/obridge/obridge.db
 * (~/.local/share/obridge/obridge.db). Writes into out.
 */
int store_default_path(char *out, size_t n, char *err);

/*
 * Open (creating parent directory and file when missing) and migrate. Returns STORE_OK,
 * STORE_ERR_NEWER (file untouched) or STORE_ERR, with a message naming the path in err.
 * path ":memory:" is allowed (tests). Missing directories are created with mode 0700.
 * An existing file is first checked through a read-only connection, so a newer schema or
 * a file that is not a database is refused before anything is written.
 * One struct store per process and thread; never keep one open across fork().
 */
int store_open(struct store **out, const char *path, char *err);
void store_close(struct store *s);
const char *store_path(const struct store *s);

struct store_run {
	int64_t id;
	char *kind;        /* "bench", "health", "warmup", "preload", "route", ... */
	char *status;      /* "running", "ok", "warn", "failed", "aborted" */
	int64_t started_ns;  /* wall clock, ns since epoch */
	int64_t finished_ns; /* 0 while running */
	char *target;      /* fleet name or URL ("" when none; kind/status/target never NULL) */
	char *fingerprint; /* JSON text: obridge version, target, ollama version, digest, options;
			    * or NULL */
	char *params;      /* JSON text or NULL */
	char *summary;     /* JSON text or NULL */
};

/*
 * Batching (optional): every write function below runs in its own short IMMEDIATE
 * transaction, unless the caller opened one with store_begin; then they join it until the
 * matching store_commit. Keep such a transaction short (e.g. one step's samples): other
 * processes wait for it. store_begin/store_commit nest; store_rollback ends all levels.
 */
int store_begin(struct store *s, char *err);
int store_commit(struct store *s, char *err);
void store_rollback(struct store *s);

/* Begin a run with status "running"; returns its id in *id. */
int store_run_begin(struct store *s, const char *kind, const char *target,
		    const char *fingerprint_json, const char *params_json, int64_t *id, char *err);
/* Finish a run: status, summary JSON (NULL keeps the current one), finished = now. */
int store_run_finish(struct store *s, int64_t id, const char *status, const char *summary_json,
		     char *err);
/* Record one step of a run (a concurrency level, a rate, an instance): summary JSON and an
 * optional mergeable histogram blob. idx is unique within a run (a second one fails). */
int store_step_add(struct store *s, int64_t run_id, int idx, const char *label,
		   const char *summary_json, const void *hist, size_t hist_len, char *err);
/* Record one request sample (optional raw data). */
int store_sample_add(struct store *s, int64_t run_id, int step_idx, const char *instance,
		     int64_t t_ns, const char *sample_json, char *err);
/* Record one health probe of an instance. state: "ok", "warn", "crit", "down".
 * run_id <= 0 records a probe outside any run. */
int store_probe_add(struct store *s, int64_t run_id, const char *instance, const char *url,
		    int64_t t_ns, const char *state, int64_t latency_ns, const char *message,
		    char *err);

/* List runs, newest first; kind NULL for all; limit <= 0 for all. */
int store_runs_list(struct store *s, const char *kind, int limit, struct store_run **runs,
		    size_t *n, char *err);
/* Fetch one run by id; returns 1 found, 0 not found, -1 error. */
int store_run_get(struct store *s, int64_t id, struct store_run *run, char *err);
void store_run_clear(struct store_run *r);
void store_runs_free(struct store_run *runs, size_t n);

/* Counts for a run (steps, samples, probes), for listings. */
int store_run_counts(struct store *s, int64_t id, int64_t *steps, int64_t *samples,
		     int64_t *probes, char *err);

/* One step of a run as stored; the list owns the strings and the histogram copy. */
struct store_step {
	int64_t run_id;
	int idx;
	char *label;       /* or NULL */
	char *summary;     /* JSON text or NULL */
	void *hist;        /* histogram blob or NULL */
	size_t hist_len;
};

/* The steps of a run, by idx. Free with store_steps_free. */
int store_steps_list(struct store *s, int64_t run_id, struct store_step **steps, size_t *n,
		     char *err);
void store_steps_free(struct store_step *steps, size_t n);

/* One health probe as stored; the list owns the strings. */
struct store_probe {
	int64_t run_id;     /* 0 when recorded outside a run */
	char *instance;
	char *url;          /* or NULL */
	int64_t t_ns;
	char *state;
	int64_t latency_ns;
	char *message;      /* or NULL */
};

/* Probes, newest first: of one run (run_id > 0) or all, of one instance or all (NULL);
 * limit <= 0 for all. Free with store_probes_free. */
int store_probes_list(struct store *s, int64_t run_id, const char *instance, int limit,
		      struct store_probe **probes, size_t *n, char *err);
void store_probes_free(struct store_probe *probes, size_t n);

/* What store_prune deleted (or, in a dry run, would delete). */
struct store_prune_counts {
	int64_t runs, steps, samples, probes;
};

/* Runs pruned per transaction, so that a writer elsewhere waits for one batch at most. */
#define STORE_PRUNE_BATCH 2000
/* A run still marked running is pruned only once it started this long ago (a crashed
 * process leaves one behind; a live soak bench must not lose its run under it). */
#define STORE_PRUNE_UNFINISHED_NS (7LL * 24 * 3600 * 1000000000LL)

/*
 * Delete the runs that started before before_ns (wall clock ns), only of kind when not
 * NULL, with their steps, samples and probes, STORE_PRUNE_BATCH runs per transaction.
 * Unfinished runs are kept unless they also started STORE_PRUNE_UNFINISHED_NS ago.
 * With dry_run nothing is deleted and *out counts what would be. Returns 0, or -1 with
 * err; batches committed before an error stay deleted and are counted in *out. Freed
 * pages are reused by later writes; the file does not shrink.
 */
int store_prune(struct store *s, int64_t before_ns, const char *kind, int dry_run,
		struct store_prune_counts *out, char *err);

/* The version of SQLite in use. */
const char *store_lib_version(void);

#endif
