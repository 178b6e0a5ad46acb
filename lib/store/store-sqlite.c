/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SQLite backend of the store: opening safely, cached statements, short write transactions. */
#include "../compat.h"
#include "store.h"
#include "store-internal.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/util.h"
#include "../banned.h"

#define RUN_COLS "id, kind, status, started_ns, finished_ns, target, fingerprint, params, summary"

static const char *const stmt_sql[ST__COUNT] = {
	[ST_RUN_BEGIN] = "INSERT INTO runs (kind, status, started_ns, target, fingerprint, params, "
			 "pid, host) VALUES (?1, 'running', ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_RUN_FINISH] = "UPDATE runs SET status = ?2, summary = coalesce(?3, summary), "
			  "finished_ns = ?4 WHERE id = ?1",
	[ST_STEP_ADD] = "INSERT INTO steps (run_id, idx, label, summary, hist) "
			"VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_SAMPLE_ADD] = "INSERT INTO samples (run_id, step_idx, instance, t_ns, data) "
			  "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_PROBE_ADD] = "INSERT INTO probes (run_id, instance, url, t_ns, state, latency_ns, "
			 "message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_RUNS_LIST_ALL] = "SELECT " RUN_COLS " FROM runs "
			     "ORDER BY started_ns DESC, id DESC LIMIT ?1",
	[ST_RUNS_LIST_KIND] = "SELECT " RUN_COLS " FROM runs WHERE kind = ?2 "
			      "ORDER BY started_ns DESC, id DESC LIMIT ?1",
	[ST_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
	[ST_COUNT_STEPS] = "SELECT count(*) FROM steps WHERE run_id = ?1",
	[ST_COUNT_SAMPLES] = "SELECT count(*) FROM samples WHERE run_id = ?1",
	[ST_COUNT_PROBES] = "SELECT count(*) FROM probes WHERE run_id = ?1",
	[ST_STEPS_LIST] = "SELECT run_id, idx, label, summary, hist FROM steps "
			  "WHERE run_id = ?1 ORDER BY idx",
	[ST_PROBES_LIST] = "SELECT run_id, instance, url, t_ns, state, latency_ns, message "
			   "FROM probes WHERE (?1 <= 0 OR run_id = ?1) "
			   "AND (?2 IS NULL OR instance = ?2) "
			   "ORDER BY t_ns DESC, id DESC LIMIT ?3",
};

/* Fill err with "store 'path': what: <sqlite message>" and return -1. */
static int sqlerr(struct store *s, const char *what, char *err)
{
	return seterr(err, "store '%s': %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store_exec(struct store *s, const char *sql, const char *what, char *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sqlerr(s, what, err);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int store_tx_begin_immediate(struct store *s, char *err)
{
	int64_t deadline = mono_ns() + (int64_t)STORE_BEGIN_RETRY_MS * 1000000;
	unsigned jitter = (unsigned)mono_ns();
	for (;;) {
		int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		rc &= 0xff;
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || mono_ns() > deadline)
			return sqlerr(s, "cannot start a transaction", err);
		/* The busy handler already waited; back off a little and try again. */
		jitter = jitter * 1103515245u + 12345u;
		sleep_ms(5 + (long)((jitter >> 16) % 45));
	}
}

int store_user_version(struct store *s, int *version, char *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return sqlerr(s, "cannot read the schema version", err);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlerr(s, "cannot read the schema version", err);
		sqlite3_finalize(st);
		return -1;
	}
	*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* Create the missing directories above path (mode 0700). */
static int mkdir_parents(const char *path, char *err)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		struct stat st;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			seterr(err, "cannot open store '%s': cannot create directory '%s': %s",
			       path, dir, strerror(e));
			free(dir);
			return -1;
		}
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			seterr(err, "cannot open store '%s': '%s' is not a directory", path, dir);
			free(dir);
			return -1;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(dir);
	return 0;
}

/*
 * Look at an existing file through a read-only connection before anything can write to it:
 * refuse a newer schema and files that are not SQLite databases. Other failures are left
 * to the read-write open, which reports them.
 */
static int precheck_readonly(const char *path, char *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ret = STORE_OK;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int version = sqlite3_column_int(st, 0);
		if (version > STORE_SCHEMA_VERSION) {
			ret = store_err_newer(path, version, err);
		}
	} else if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
		seterr(err, "cannot open store '%s': %s", path, sqlite3_errmsg(db));
		ret = STORE_ERR;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

/* PRAGMA journal_mode = WAL, retried while another opener holds the lock. */
static int set_wal(struct store *s, char *err)
{
	int64_t deadline = mono_ns() + (int64_t)STORE_BEGIN_RETRY_MS * 1000000;
	for (;;) {
		int rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		rc &= 0xff;
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || mono_ns() > deadline)
			return seterr(err, "cannot open store '%s': cannot enable WAL mode: %s",
				      s->path, sqlite3_errmsg(s->db));
		sleep_ms(20);
	}
}

/*
 * The store holds error texts, prompts and hook output: create it 0600 (SQLite gives its
 * -wal and -shm files the database's mode) and take group and other access away from one
 * that we own and that has them.
 */
static int store_make_private(const char *path, char *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EACCES || errno == EROFS)
			return 0; /* read-only use: sqlite says what it can do */
		return seterr(err, "cannot open store '%s': %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 077))
		fchmod(fd, st.st_mode & 0700);
	close(fd);
	for (int i = 0; i < 2; i++) {
		char *side = xasprintf("%s%s", path, i ? "-shm" : "-wal");
		if (stat(side, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077))
			chmod(side, st.st_mode & 0700);
		free(side);
	}
	return 0;
}

static void store_host(char *out, size_t n)
{
	if (gethostname(out, n) < 0)
		snprintf(out, n, "?");
	out[n - 1] = '\0';
}

/* Whether pid is a live obridge process on this host (not a zombie, not a reused pid). */
static int obridge_alive(int64_t pid)
{
	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	char path[64], stat[256] = "";
	snprintf(path, sizeof(path), "/proc/%" PRId64 "/stat", pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 1; /* no /proc: kill() said it exists */
	size_t l = fread(stat, 1, sizeof(stat) - 1, fp);
	fclose(fp);
	stat[l] = '\0';
	/* "pid (comm) S ...": a zombie is dead; another program took the pid */
	const char *close = strrchr(stat, ')');
	if (!strstr(stat, "(obridge)") || !close || close[1] != ' ' || close[2] == 'Z')
		return 0;
	return 1;
}

/*
 * Runs still 'running' whose process on this host is gone (kill -9, a crash, a power cut)
 * are marked 'interrupted', so that history, show and top show no phantom. Best effort: a
 * busy or read-only store is left as it is.
 */
static void store_reap_stale(struct store *s)
{
	char host[256];
	store_host(host, sizeof(host));
	sqlite3_stmt *st = NULL;
	int64_t ids[64];
	size_t n = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT id, pid FROM runs WHERE status = 'running' AND "
			       "host = ?1 AND pid IS NOT NULL", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
	while (n < ARRAY_SIZE(ids) && sqlite3_step(st) == SQLITE_ROW)
		if (!obridge_alive(sqlite3_column_int64(st, 1)))
			ids[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (!n || sqlite3_prepare_v2(s->db, "UPDATE runs SET status = 'interrupted', finished_ns = "
				     "?2 WHERE id = ?1 AND status = 'running'", -1, &st,
				     NULL) != SQLITE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, wall_ns());
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

int store_open(struct store **out, const char *path, char *err)
{
	*out = NULL;
	if (!path || !*path) {
		seterr(err, "cannot open store: empty path");
		return STORE_ERR;
	}
	int mem = strcmp(path, ":memory:") == 0;
	if (!mem) {
		struct stat st;
		if (stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				seterr(err, "cannot open store '%s': is a directory", path);
				return STORE_ERR;
			}
			if (st.st_size > 0) {
				int rc = precheck_readonly(path, err);
				if (rc != STORE_OK)
					return rc;
			}
		} else if (errno == ENOENT) {
			if (mkdir_parents(path, err) < 0)
				return STORE_ERR;
		} else {
			seterr(err, "cannot open store '%s': %s", path, strerror(errno));
			return STORE_ERR;
		}
	}

	if (!mem && store_make_private(path, err) < 0)
		return STORE_ERR;
	struct store *s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	int ret = STORE_ERR;
	int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		seterr(err, "cannot open store '%s': %s", path,
		       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 1);

	/* Check the version again before anything can write (the file may have been empty). */
	int version;
	if (store_user_version(s, &version, NULL) < 0) {
		seterr(err, "cannot open store '%s': %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		ret = store_err_newer(path, version, err);
		goto fail;
	}
	if (store_exec(s, "PRAGMA foreign_keys = ON", "cannot enable foreign keys", err) < 0)
		goto fail;
	if (!mem) {
		if (set_wal(s, err) < 0)
			goto fail;
		/* With WAL: an obridge crash loses nothing, power loss at most the last commit. */
		if (store_exec(s, "PRAGMA synchronous = NORMAL", "cannot set synchronous", err) < 0)
			goto fail;
	}
	ret = store_migrate(s, err);
	if (ret != STORE_OK)
		goto fail;
	store_reap_stale(s);
	*out = s;
	return STORE_OK;

fail:
	store_close(s);
	return ret;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

const char *store_path(const struct store *s)
{
	return s->path;
}

int store_default_path(char *out, size_t n, char *err)
{
	const char *env = getenv("OBRIDGE_DB");
	int len;
	if (env && *env) {
		len = snprintf(out, n, "%s", env);
	} else if ((env = getenv("XDG_DATA_HOME")) && env[0] == '/') {
		len = snprintf(out, n, "%s/obridge/obridge.db", env);
	} else if ((env = getenv("HOME")) && *env) {
		len = snprintf(out, n, "%s/.local/share/obridge/obridge.db", env);
	} else {
		return seterr(err,
			      "no store path: set OBRIDGE_DB, XDG_DATA_HOME or HOME, or use --db");
	}
	if (len < 0 || (size_t)len >= n)
		return seterr(err, "store path too long: '%s...'", env);
	return 0;
}

/* The cached statement id, prepared on first use; reset and unbound. */
static sqlite3_stmt *stmt_get(struct store *s, enum store_stmt id, char *err)
{
	if (!s->stmt[id]) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				       &s->stmt[id], NULL) != SQLITE_OK) {
			sqlerr(s, "cannot prepare a statement", err);
			s->stmt[id] = NULL;
			return NULL;
		}
	}
	return s->stmt[id];
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v) {
		/* nothing stored carries a secret (an echoed key, URL credentials) */
		char *c = text_redact(xstrdup(v));
		sqlite3_bind_text(st, i, c, -1, SQLITE_TRANSIENT);
		free(c);
	} else
		sqlite3_bind_null(st, i);
}

/* Start the short transaction of one write, unless the caller holds one (store_begin). */
static int write_begin(struct store *s, char *err)
{
	return s->in_tx ? 0 : store_tx_begin_immediate(s, err);
}

/* Commit (ok) or roll back the transaction write_begin opened. */
static int write_end(struct store *s, int ok, char *err)
{
	if (s->in_tx)
		return ok ? 0 : -1;
	if (!ok) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlerr(s, "cannot commit", err);
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Run a bound insert/update statement inside its own short transaction. */
static int write_stmt(struct store *s, sqlite3_stmt *st, const char *what, char *err)
{
	if (write_begin(s, err) < 0) {
		stmt_done(st);
		return -1;
	}
	int ok = sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
		sqlerr(s, what, err);
	stmt_done(st);
	return write_end(s, ok, err);
}

int store_begin(struct store *s, char *err)
{
	if (s->in_tx == 0 && store_tx_begin_immediate(s, err) < 0)
		return -1;
	s->in_tx++;
	return 0;
}

int store_commit(struct store *s, char *err)
{
	if (s->in_tx <= 0)
		return seterr(err, "store '%s': commit without a transaction", s->path);
	if (--s->in_tx > 0)
		return 0;
	return write_end(s, 1, err);
}

void store_rollback(struct store *s)
{
	if (s->in_tx <= 0)
		return;
	s->in_tx = 0;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_run_begin(struct store *s, const char *kind, const char *target,
		    const char *fingerprint_json, const char *params_json, int64_t *id, char *err)
{
	if (!kind || !*kind)
		return seterr(err, "store '%s': a run needs a kind", s->path);
	sqlite3_stmt *st = stmt_get(s, ST_RUN_BEGIN, err);
	if (!st)
		return -1;
	bind_text(st, 1, kind);
	sqlite3_bind_int64(st, 2, wall_ns());
	bind_text(st, 3, target ? target : "");
	bind_text(st, 4, fingerprint_json);
	bind_text(st, 5, params_json);
	char host[256];
	store_host(host, sizeof(host));
	sqlite3_bind_int64(st, 6, (int64_t)getpid());
	bind_text(st, 7, host);
	if (write_begin(s, err) < 0) {
		stmt_done(st);
		return -1;
	}
	int ok = sqlite3_step(st) == SQLITE_DONE;
	if (ok)
		*id = sqlite3_last_insert_rowid(s->db);
	else
		sqlerr(s, "cannot record the run", err);
	stmt_done(st);
	return write_end(s, ok, err);
}

int store_run_finish(struct store *s, int64_t id, const char *status, const char *summary_json,
		     char *err)
{
	if (!status || !*status)
		return seterr(err, "store '%s': finishing run %" PRId64 " needs a status", s->path,
			      id);
	sqlite3_stmt *st = stmt_get(s, ST_RUN_FINISH, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, status);
	bind_text(st, 3, summary_json);
	sqlite3_bind_int64(st, 4, wall_ns());
	if (write_begin(s, err) < 0) {
		stmt_done(st);
		return -1;
	}
	int ok = sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
		sqlerr(s, "cannot finish the run", err);
	else if (sqlite3_changes(s->db) == 0) {
		seterr(err, "store '%s': no run %" PRId64, s->path, id);
		ok = 0;
	}
	stmt_done(st);
	return write_end(s, ok, err);
}

int store_step_add(struct store *s, int64_t run_id, int idx, const char *label,
		   const char *summary_json, const void *hist, size_t hist_len, char *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_STEP_ADD, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, idx);
	bind_text(st, 3, label);
	bind_text(st, 4, summary_json);
	if (hist)
		sqlite3_bind_blob64(st, 5, hist, hist_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 5);
	char what[96];
	snprintf(what, sizeof(what), "cannot record step %d of run %" PRId64, idx, run_id);
	return write_stmt(s, st, what, err);
}

int store_sample_add(struct store *s, int64_t run_id, int step_idx, const char *instance,
		     int64_t t_ns, const char *sample_json, char *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_SAMPLE_ADD, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, step_idx);
	bind_text(st, 3, instance);
	sqlite3_bind_int64(st, 4, t_ns);
	bind_text(st, 5, sample_json);
	return write_stmt(s, st, "cannot record a sample", err);
}

int store_probe_add(struct store *s, int64_t run_id, const char *instance, const char *url,
		    int64_t t_ns, const char *state, int64_t latency_ns, const char *message,
		    char *err)
{
	if (!instance || !state)
		return seterr(err, "store '%s': a probe needs an instance and a state", s->path);
	sqlite3_stmt *st = stmt_get(s, ST_PROBE_ADD, err);
	if (!st)
		return -1;
	if (run_id > 0)
		sqlite3_bind_int64(st, 1, run_id);
	else
		sqlite3_bind_null(st, 1);
	bind_text(st, 2, instance);
	bind_text(st, 3, url);
	sqlite3_bind_int64(st, 4, t_ns);
	bind_text(st, 5, state);
	sqlite3_bind_int64(st, 6, latency_ns);
	bind_text(st, 7, message);
	return write_stmt(s, st, "cannot record a probe", err);
}

/* Copy a text column; NULL stays NULL unless empty_for_null. */
static char *col_text(sqlite3_stmt *st, int i, int empty_for_null)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	if (!t)
		return empty_for_null ? xstrdup("") : NULL;
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

static void run_from_row(sqlite3_stmt *st, struct store_run *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->kind = col_text(st, 1, 1);
	r->status = col_text(st, 2, 1);
	r->started_ns = sqlite3_column_int64(st, 3);
	r->finished_ns = sqlite3_column_int64(st, 4);
	r->target = col_text(st, 5, 1);
	r->fingerprint = col_text(st, 6, 0);
	r->params = col_text(st, 7, 0);
	r->summary = col_text(st, 8, 0);
}

void store_run_clear(struct store_run *r)
{
	if (!r)
		return;
	free(r->kind);
	free(r->status);
	free(r->target);
	free(r->fingerprint);
	free(r->params);
	free(r->summary);
	memset(r, 0, sizeof(*r));
}

void store_runs_free(struct store_run *runs, size_t n)
{
	if (!runs)
		return;
	for (size_t i = 0; i < n; i++)
		store_run_clear(&runs[i]);
	free(runs);
}

int store_runs_list(struct store *s, const char *kind, int limit, struct store_run **runs,
		    size_t *n, char *err)
{
	*runs = NULL;
	*n = 0;
	sqlite3_stmt *st = stmt_get(s, kind ? ST_RUNS_LIST_KIND : ST_RUNS_LIST_ALL, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	if (kind)
		bind_text(st, 2, kind);
	struct store_run *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		run_from_row(st, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		sqlerr(s, "cannot list runs", err);
		stmt_done(st);
		store_runs_free(v, len);
		return -1;
	}
	stmt_done(st);
	*runs = v;
	*n = len;
	return 0;
}

int store_run_get(struct store *s, int64_t id, struct store_run *run, char *err)
{
	memset(run, 0, sizeof(*run));
	sqlite3_stmt *st = stmt_get(s, ST_RUN_GET, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	int ret = 0;
	if (rc == SQLITE_ROW) {
		run_from_row(st, run);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = sqlerr(s, "cannot read the run", err);
	}
	stmt_done(st);
	return ret;
}

static int count_rows(struct store *s, enum store_stmt id, int64_t run_id, int64_t *out,
		      char *err)
{
	sqlite3_stmt *st = stmt_get(s, id, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	int ret = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		ret = sqlerr(s, "cannot count rows", err);
	stmt_done(st);
	return ret;
}

int store_run_counts(struct store *s, int64_t id, int64_t *steps, int64_t *samples,
		     int64_t *probes, char *err)
{
	int64_t dummy;
	if (count_rows(s, ST_COUNT_STEPS, id, steps ? steps : &dummy, err) < 0 ||
	    count_rows(s, ST_COUNT_SAMPLES, id, samples ? samples : &dummy, err) < 0 ||
	    count_rows(s, ST_COUNT_PROBES, id, probes ? probes : &dummy, err) < 0)
		return -1;
	return 0;
}

void store_steps_free(struct store_step *steps, size_t n)
{
	if (!steps)
		return;
	for (size_t i = 0; i < n; i++) {
		free(steps[i].label);
		free(steps[i].summary);
		free(steps[i].hist);
	}
	free(steps);
}

int store_steps_list(struct store *s, int64_t run_id, struct store_step **steps, size_t *n,
		     char *err)
{
	*steps = NULL;
	*n = 0;
	sqlite3_stmt *st = stmt_get(s, ST_STEPS_LIST, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	struct store_step *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		struct store_step *p = &v[len++];
		memset(p, 0, sizeof(*p));
		p->run_id = sqlite3_column_int64(st, 0);
		p->idx = sqlite3_column_int(st, 1);
		p->label = col_text(st, 2, 0);
		p->summary = col_text(st, 3, 0);
		const void *blob = sqlite3_column_blob(st, 4);
		int blen = sqlite3_column_bytes(st, 4);
		if (blob && blen > 0) {
			p->hist = xmalloc((size_t)blen);
			memcpy(p->hist, blob, (size_t)blen);
			p->hist_len = (size_t)blen;
		}
	}
	if (rc != SQLITE_DONE) {
		sqlerr(s, "cannot list steps", err);
		stmt_done(st);
		store_steps_free(v, len);
		return -1;
	}
	stmt_done(st);
	*steps = v;
	*n = len;
	return 0;
}

void store_probes_free(struct store_probe *probes, size_t n)
{
	if (!probes)
		return;
	for (size_t i = 0; i < n; i++) {
		free(probes[i].instance);
		free(probes[i].url);
		free(probes[i].state);
		free(probes[i].message);
	}
	free(probes);
}

int store_probes_list(struct store *s, int64_t run_id, const char *instance, int limit,
		      struct store_probe **probes, size_t *n, char *err)
{
	*probes = NULL;
	*n = 0;
	sqlite3_stmt *st = stmt_get(s, ST_PROBES_LIST, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	bind_text(st, 2, instance);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	struct store_probe *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		struct store_probe *p = &v[len++];
		p->run_id = sqlite3_column_int64(st, 0);
		p->instance = col_text(st, 1, 1);
		p->url = col_text(st, 2, 0);
		p->t_ns = sqlite3_column_int64(st, 3);
		p->state = col_text(st, 4, 1);
		p->latency_ns = sqlite3_column_int64(st, 5);
		p->message = col_text(st, 6, 0);
	}
	if (rc != SQLITE_DONE) {
		sqlerr(s, "cannot list probes", err);
		stmt_done(st);
		store_probes_free(v, len);
		return -1;
	}
	stmt_done(st);
	*probes = v;
	*n = len;
	return 0;
}

/* ---- pruning ---- */

/* The runs to prune, among ids <= ?4: ?1 cutoff, ?2 kind or NULL, ?3 unfinished cutoff. */
#define PRUNE_WHERE                                                                       \
	"started_ns < ?1 AND (?2 IS NULL OR kind = ?2) AND "                              \
	"(finished_ns IS NOT NULL OR started_ns < ?3) AND id <= ?4"

static void prune_bind(sqlite3_stmt *st, int64_t before, const char *kind, int64_t unfinished,
		       int64_t max_id)
{
	sqlite3_bind_int64(st, 1, before);
	if (kind)
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, unfinished);
	sqlite3_bind_int64(st, 4, max_id);
}

/* Run one prune statement; *n gets its count (a SELECT count) or the rows it changed. */
static int prune_stmt(struct store *s, const char *sql, int64_t before, const char *kind,
		      int64_t unfinished, int64_t max_id, int64_t *n, char *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sqlerr(s, "cannot prune", err);
	prune_bind(st, before, kind, unfinished, max_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		*n = sqlite3_changes(s->db);
	} else {
		sqlite3_finalize(st);
		return sqlerr(s, "cannot prune", err);
	}
	sqlite3_finalize(st);
	return 0;
}

int store_prune(struct store *s, int64_t before_ns, const char *kind, int dry_run,
		struct store_prune_counts *out, char *err)
{
	static const char *const count_sql[] = {
		"SELECT count(*) FROM runs WHERE " PRUNE_WHERE,
		"SELECT count(*) FROM steps WHERE run_id IN (SELECT id FROM runs WHERE "
		PRUNE_WHERE ")",
		"SELECT count(*) FROM samples WHERE run_id IN (SELECT id FROM runs WHERE "
		PRUNE_WHERE ")",
		"SELECT count(*) FROM probes WHERE run_id IN (SELECT id FROM runs WHERE "
		PRUNE_WHERE ")",
	};
	/* Children first: the deletes do not depend on PRAGMA foreign_keys. */
	static const char *const delete_sql[] = {
		"DELETE FROM steps WHERE run_id IN (SELECT id FROM runs WHERE " PRUNE_WHERE ")",
		"DELETE FROM samples WHERE run_id IN (SELECT id FROM runs WHERE " PRUNE_WHERE ")",
		"DELETE FROM probes WHERE run_id IN (SELECT id FROM runs WHERE " PRUNE_WHERE ")",
		"DELETE FROM runs WHERE " PRUNE_WHERE,
	};
	memset(out, 0, sizeof(*out));
	if (s->in_tx)
		return seterr(err, "store '%s': cannot prune inside a transaction", s->path);
	int64_t unfinished = wall_ns() - STORE_PRUNE_UNFINISHED_NS;
	if (unfinished > before_ns)
		unfinished = before_ns;
	if (dry_run) {
		int64_t *dst[] = { &out->runs, &out->steps, &out->samples, &out->probes };
		for (size_t i = 0; i < ARRAY_SIZE(count_sql); i++)
			if (prune_stmt(s, count_sql[i], before_ns, kind, unfinished, INT64_MAX,
				       dst[i], err) < 0)
				return -1;
		return 0;
	}
	for (;;) {
		if (store_tx_begin_immediate(s, err) < 0)
			return -1;
		/* The highest id of the next batch: the batch is every match up to it. */
		sqlite3_stmt *st;
		int64_t max_id = 0;
		if (sqlite3_prepare_v2(s->db,
				       "SELECT max(id) FROM (SELECT id FROM runs WHERE " PRUNE_WHERE
				       " ORDER BY id LIMIT ?5)",
				       -1, &st, NULL) != SQLITE_OK)
			goto fail;
		prune_bind(st, before_ns, kind, unfinished, INT64_MAX);
		sqlite3_bind_int(st, 5, STORE_PRUNE_BATCH);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			max_id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			goto fail;
		if (max_id == 0) {
			sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
			return 0;
		}
		int64_t n[4];
		for (size_t i = 0; i < ARRAY_SIZE(delete_sql); i++)
			if (prune_stmt(s, delete_sql[i], before_ns, kind, unfinished, max_id, &n[i],
				       err) < 0)
				goto rollback;
		if (store_exec(s, "COMMIT", "cannot commit the pruning", err) < 0)
			goto rollback;
		out->steps += n[0];
		out->samples += n[1];
		out->probes += n[2];
		out->runs += n[3];
	}
fail:
	sqlerr(s, "cannot prune", err);
rollback:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

const char *store_lib_version(void)
{
	return sqlite3_libversion();
}
