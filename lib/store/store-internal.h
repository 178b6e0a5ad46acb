/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to lib/store: the SQLite backend behind store.h (struct store, the prepared
 * statement cache, transactions with retry) and the migration steps of migrate.c.
 */
#ifndef OBRIDGE_STORE_STORE_INTERNAL_H
#define OBRIDGE_STORE_STORE_INTERNAL_H

#include <stdint.h>

struct sqlite3;
struct sqlite3_stmt;

/* Cached statements; their SQL is in store-sqlite.c (stmt_sql[]), in this order. */
enum store_stmt {
	ST_RUN_BEGIN,
	ST_RUN_FINISH,
	ST_STEP_ADD,
	ST_SAMPLE_ADD,
	ST_PROBE_ADD,
	ST_RUNS_LIST_ALL,
	ST_RUNS_LIST_KIND,
	ST_RUN_GET,
	ST_COUNT_STEPS,
	ST_COUNT_SAMPLES,
	ST_COUNT_PROBES,
	ST_STEPS_LIST,
	ST_PROBES_LIST,
	ST__COUNT
};

/*
 * Owns the connection and every prepared statement (prepared on first use, finalized by
 * store_close). in_tx counts store_begin nesting: while it is > 0 the write functions join
 * the caller's transaction instead of opening their own.
 */
struct store {
	struct sqlite3 *db;
	char *path;
	struct sqlite3_stmt *stmt[ST__COUNT];
	int in_tx;
};

/* Busy timeout of every connection, and the total time BEGIN IMMEDIATE keeps retrying. */
#define STORE_BUSY_TIMEOUT_MS 10000
#define STORE_BEGIN_RETRY_MS 30000

/*
 * Run one SQL text (no rows expected). Returns 0, or -1 with "store 'path': what: sqlite
 * message" in err.
 */
int store_exec(struct store *s, const char *sql, const char *what, char *err);
/* BEGIN IMMEDIATE, retried on SQLITE_BUSY/SQLITE_LOCKED for up to STORE_BEGIN_RETRY_MS. */
int store_tx_begin_immediate(struct store *s, char *err);
/* Read PRAGMA user_version. */
int store_user_version(struct store *s, int *version, char *err);

/*
 * Bring the schema to STORE_SCHEMA_VERSION: each missing step runs in its own IMMEDIATE
 * transaction that re-reads user_version first, so concurrent openers migrate once.
 * Returns STORE_OK, STORE_ERR_NEWER (nothing written) or STORE_ERR.
 */
int store_migrate(struct store *s, char *err);
/* Message for a file with a schema newer than ours; returns STORE_ERR_NEWER. */
int store_err_newer(const char *path, int version, char *err);

#endif
