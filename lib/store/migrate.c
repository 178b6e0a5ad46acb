/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Forward schema migrations of the store: one transaction per step, PRAGMA user_version. */
#include "../compat.h"
#include "store.h"
#include "store-internal.h"

#include <sqlite3.h>
#include <stdio.h>

#include "../util/util.h"
#include "../banned.h"

/*
 * Step N brings user_version from N-1 to N. Never edit a released step: append a new one
 * and raise STORE_SCHEMA_VERSION. Times are integer nanoseconds since the epoch; JSON
 * columns are text; runs.finished_ns is NULL while the run is going.
 */
static const char *const migrations[] = {
	/* 1: everything */
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  started_ns INTEGER NOT NULL,"
	"  finished_ns INTEGER,"
	"  target TEXT NOT NULL DEFAULT '',"
	"  fingerprint TEXT,"
	"  params TEXT,"
	"  summary TEXT"
	");"
	"CREATE INDEX runs_started ON runs(started_ns);"
	"CREATE INDEX runs_kind_started ON runs(kind, started_ns);"
	"CREATE TABLE steps ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  label TEXT,"
	"  summary TEXT,"
	"  hist BLOB,"
	"  PRIMARY KEY (run_id, idx)"
	");"
	"CREATE TABLE samples ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  step_idx INTEGER NOT NULL,"
	"  instance TEXT,"
	"  t_ns INTEGER NOT NULL,"
	"  data TEXT"
	");"
	"CREATE INDEX samples_run ON samples(run_id, step_idx, t_ns);"
	"CREATE TABLE probes ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,"
	"  instance TEXT NOT NULL,"
	"  url TEXT,"
	"  t_ns INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"
	"  latency_ns INTEGER,"
	"  message TEXT"
	");"
	"CREATE INDEX probes_instance_t ON probes(instance, t_ns);"
	"CREATE INDEX probes_run ON probes(run_id);",
	/* 2: the process that runs a run, so that one whose process died can be told */
	"ALTER TABLE runs ADD COLUMN pid INTEGER;"
	"ALTER TABLE runs ADD COLUMN host TEXT;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

int store_migrate(struct store *s, char *err)
{
	int version;
	if (store_user_version(s, &version, err) < 0)
		return STORE_ERR;
	if (version > STORE_SCHEMA_VERSION)
		goto newer;
	for (int target = version + 1; target <= STORE_SCHEMA_VERSION; target++) {
		if (store_tx_begin_immediate(s, err) < 0)
			return STORE_ERR;
		/* Another process may have migrated while we waited for the lock. */
		if (store_user_version(s, &version, err) < 0)
			goto fail;
		if (version > STORE_SCHEMA_VERSION) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto newer;
		}
		if (version >= target) {
			if (store_exec(s, "COMMIT", "commit", err) < 0)
				goto fail;
			continue;
		}
		char what[64];
		snprintf(what, sizeof(what), "migration to schema version %d", target);
		if (store_exec(s, migrations[target - 1], what, err) < 0)
			goto fail;
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", target);
		if (store_exec(s, pragma, what, err) < 0)
			goto fail;
		if (store_exec(s, "COMMIT", what, err) < 0)
			goto fail;
	}
	return STORE_OK;

fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERR;
newer:
	return store_err_newer(s->path, version, err);
}

int store_err_newer(const char *path, int version, char *err)
{
	seterr(err,
	       "cannot open store '%s': schema version %d is newer than the version %d "
	       "this obridge %s knows; upgrade obridge or use another database",
	       path, version, STORE_SCHEMA_VERSION, OBRIDGE_VERSION_STRING);
	return STORE_ERR_NEWER;
}
