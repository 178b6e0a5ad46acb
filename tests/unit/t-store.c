/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of lib/store: open, migrate, refuse, record and list, concurrent writers. */
#include "../../lib/compat.h"
#include "../../lib/store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../lib/util/util.h"
#include "../../lib/banned.h"

static char tmpdir[256];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup_tmp(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/t-store.XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* Whole file contents (NULL when missing); *len set. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *p = xmalloc(cap);
	size_t r;
	while ((r = fread(p + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			p = xrealloc(p, cap *= 2);
	}
	fclose(f);
	*len = n;
	return p;
}

/* Run SQL on a file with a plain connection (as another program would). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

/* One integer from a query on a file. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_default_path(void **state)
{
	(void)state;
	char out[512], err[ERR_MAX];
	setenv("OBRIDGE_DB", "/x/o.db", 1);
	setenv("XDG_DATA_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(store_default_path(out, sizeof(out), err), 0);
	assert_string_equal(out, "/x/o.db");
	unsetenv("OBRIDGE_DB");
	assert_int_equal(store_default_path(out, sizeof(out), err), 0);
	assert_string_equal(out, "/xdg/obridge/obridge.db");
	setenv("XDG_DATA_HOME", "", 1);
	assert_int_equal(store_default_path(out, sizeof(out), err), 0);
	assert_string_equal(out, "/home/u/.local/share/obridge/obridge.db");
	unsetenv("XDG_DATA_HOME");
	assert_int_equal(store_default_path(out, sizeof(out), err), 0);
	assert_string_equal(out, "/home/u/.local/share/obridge/obridge.db");
	assert_int_equal(store_default_path(out, 8, err), -1);
	unsetenv("HOME");
	assert_int_equal(store_default_path(out, sizeof(out), err), -1);
	assert_non_null(strstr(err, "OBRIDGE_DB"));
}

static void test_open_memory(void **state)
{
	(void)state;
	struct store *s;
	char err[ERR_MAX];
	assert_int_equal(store_open(&s, ":memory:", err), STORE_OK);
	assert_string_equal(store_path(s), ":memory:");
	int64_t id;
	assert_int_equal(store_run_begin(s, "bench", "prod", "{}", "{}", &id, err), 0);
	assert_true(id > 0);
	store_close(s);
	store_close(NULL);
}

static void test_migrate_from_zero(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s;
	/* A missing file in missing directories, an empty file, and a version-0 database. */
	char *deep = tmp_path("a/b/c.db");
	assert_int_equal(store_open(&s, deep, err), STORE_OK);
	store_close(s);
	char *dir = tmp_path("a/b");
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(raw_int(deep, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

	char *empty = tmp_path("empty.db");
	int fd = open(empty, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_open(&s, empty, err), STORE_OK);
	store_close(s);
	assert_int_equal(raw_int(empty, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

	char *v0 = tmp_path("v0.db");
	raw_exec(v0, "CREATE TABLE other (x); INSERT INTO other VALUES (42);");
	assert_int_equal(raw_int(v0, "PRAGMA user_version"), 0);
	assert_int_equal(store_open(&s, v0, err), STORE_OK);
	int64_t id;
	assert_int_equal(store_run_begin(s, "health", "t", NULL, NULL, &id, err), 0);
	store_close(s);
	assert_int_equal(raw_int(v0, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(v0, "SELECT x FROM other"), 42);
	assert_int_equal(raw_int(v0, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
				     "AND name IN ('runs', 'steps', 'samples', 'probes')"),
			 4);
	assert_int_equal(raw_int(v0, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
				     "AND name IN ('runs_kind_started', 'probes_instance_t')"),
			 2);
	/* WAL: header bytes 18 and 19 are 2. */
	size_t len;
	char *bytes = slurp(v0, &len);
	assert_true(len >= 100);
	assert_int_equal(bytes[18], 2);
	assert_int_equal(bytes[19], 2);
	free(bytes);
	/* Reopening is a no-op. */
	assert_int_equal(store_open(&s, v0, err), STORE_OK);
	store_close(s);
	assert_int_equal(raw_int(v0, "SELECT count(*) FROM runs"), 1);
	free(deep);
	free(dir);
	free(empty);
	free(v0);
}

static void test_newer_schema(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s = (struct store *)1;
	char *path = tmp_path("newer.db");
	raw_exec(path, "CREATE TABLE future (x); INSERT INTO future VALUES (1); "
		       "PRAGMA user_version = 99;");
	size_t len0, len1;
	char *before = slurp(path, &len0);
	assert_int_equal(store_open(&s, path, err), STORE_ERR_NEWER);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "99"));
	assert_non_null(strstr(err, "version 2"));
	char *after = slurp(path, &len1);
	assert_int_equal(len0, len1);
	assert_memory_equal(before, after, len0);
	/* Still a rollback-journal database: no WAL switch happened. */
	assert_int_equal(after[18], 1);
	free(before);
	free(after);
	free(path);
}

static void test_corrupt_and_unwritable(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s;
	char *path = tmp_path("garbage.db");
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	unsigned x = 12345;
	for (int i = 0; i < 8192; i++) {
		x = x * 1103515245u + 12345u;
		fputc((int)(x >> 16) & 0xff, f);
	}
	fclose(f);
	size_t len0, len1;
	char *before = slurp(path, &len0);
	assert_int_equal(store_open(&s, path, err), STORE_ERR);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "file is not a database"));
	char *after = slurp(path, &len1);
	assert_int_equal(len0, len1);
	assert_memory_equal(before, after, len0);
	free(before);
	free(after);

	assert_int_equal(store_open(&s, "/proc/nope/x.db", err), STORE_ERR);
	assert_non_null(strstr(err, "cannot open store '/proc/nope/x.db'"));
	assert_int_equal(store_open(&s, tmpdir, err), STORE_ERR);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(store_open(&s, "", err), STORE_ERR);
	free(path);
}

static void test_runs(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s;
	assert_int_equal(store_open(&s, ":memory:", err), STORE_OK);
	int64_t a, b;
	int64_t t0 = wall_ns();
	assert_int_equal(store_run_begin(s, "bench", "prod", "{\"v\":1}", "{\"c\":4}", &a, err), 0);
	assert_int_equal(store_run_begin(s, "health", NULL, NULL, NULL, &b, err), 0);
	assert_true(b > a);
	assert_int_equal(store_run_begin(s, "", "x", NULL, NULL, &b, err), -1);

	struct store_run r;
	assert_int_equal(store_run_get(s, a, &r, err), 1);
	assert_int_equal(r.id, a);
	assert_string_equal(r.kind, "bench");
	assert_string_equal(r.status, "running");
	assert_string_equal(r.target, "prod");
	assert_string_equal(r.fingerprint, "{\"v\":1}");
	assert_string_equal(r.params, "{\"c\":4}");
	assert_null(r.summary);
	assert_int_equal(r.finished_ns, 0);
	assert_true(r.started_ns >= t0 && r.started_ns <= wall_ns());
	store_run_clear(&r);

	assert_int_equal(store_run_finish(s, a, "ok", "{\"p95_ttft_ns\":1}", err), 0);
	assert_int_equal(store_run_get(s, a, &r, err), 1);
	assert_string_equal(r.status, "ok");
	assert_string_equal(r.summary, "{\"p95_ttft_ns\":1}");
	assert_true(r.finished_ns >= r.started_ns);
	store_run_clear(&r);
	/* NULL summary keeps the previous one. */
	assert_int_equal(store_run_finish(s, a, "warn", NULL, err), 0);
	assert_int_equal(store_run_get(s, a, &r, err), 1);
	assert_string_equal(r.status, "warn");
	assert_string_equal(r.summary, "{\"p95_ttft_ns\":1}");
	store_run_clear(&r);

	assert_int_equal(store_run_get(s, b, &r, err), 1);
	assert_string_equal(r.target, "");
	assert_null(r.fingerprint);
	store_run_clear(&r);

	assert_int_equal(store_run_get(s, 999, &r, err), 0);
	assert_int_equal(store_run_finish(s, 999, "ok", NULL, err), -1);
	assert_non_null(strstr(err, "no run 999"));
	assert_int_equal(store_run_finish(s, a, NULL, NULL, err), -1);
	store_close(s);
}

static void test_steps_samples_probes(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s;
	assert_int_equal(store_open(&s, ":memory:", err), STORE_OK);
	int64_t id, other;
	assert_int_equal(store_run_begin(s, "bench", "prod", NULL, NULL, &id, err), 0);
	assert_int_equal(store_run_begin(s, "health", "prod", NULL, NULL, &other, err), 0);
	const unsigned char hist[] = { 0, 1, 2, 0xff, 0, 7 };
	assert_int_equal(store_step_add(s, id, 1, "c=2", "{\"n\":2}", NULL, 0, err), 0);
	assert_int_equal(store_step_add(s, id, 0, "c=1", "{\"n\":1}", hist, sizeof(hist), err), 0);
	/* The same step twice is refused, and so is a step of a run that does not exist. */
	assert_int_equal(store_step_add(s, id, 0, "dup", NULL, NULL, 0, err), -1);
	assert_non_null(strstr(err, "step 0"));
	assert_int_equal(store_step_add(s, 4242, 0, "x", NULL, NULL, 0, err), -1);
	assert_non_null(strstr(err, "FOREIGN KEY"));

	for (int i = 0; i < 5; i++)
		assert_int_equal(store_sample_add(s, id, i % 2, "gpu-1", wall_ns(),
						  "{\"ttft_ns\":5}", err),
				 0);
	assert_int_equal(store_sample_add(s, 4242, 0, "gpu-1", 1, NULL, err), -1);

	assert_int_equal(store_probe_add(s, other, "gpu-1", "http://a", 100, "ok", 1000, NULL, err),
			 0);
	assert_int_equal(store_probe_add(s, other, "gpu-2", "http://b", 200, "down", 0,
					 "connection refused", err),
			 0);
	assert_int_equal(store_probe_add(s, 0, "gpu-1", NULL, 300, "warn", 5, "slow", err), 0);
	assert_int_equal(store_probe_add(s, other, NULL, NULL, 1, "ok", 0, NULL, err), -1);

	int64_t steps, samples, probes;
	assert_int_equal(store_run_counts(s, id, &steps, &samples, &probes, err), 0);
	assert_int_equal(steps, 2);
	assert_int_equal(samples, 5);
	assert_int_equal(probes, 0);
	assert_int_equal(store_run_counts(s, other, &steps, &samples, &probes, err), 0);
	assert_int_equal(steps, 0);
	assert_int_equal(probes, 2);

	struct store_step *sv;
	size_t n;
	assert_int_equal(store_steps_list(s, id, &sv, &n, err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sv[0].idx, 0);
	assert_string_equal(sv[0].label, "c=1");
	assert_string_equal(sv[0].summary, "{\"n\":1}");
	assert_int_equal(sv[0].hist_len, sizeof(hist));
	assert_memory_equal(sv[0].hist, hist, sizeof(hist));
	assert_int_equal(sv[1].idx, 1);
	assert_null(sv[1].hist);
	store_steps_free(sv, n);

	struct store_probe *pv;
	assert_int_equal(store_probes_list(s, 0, NULL, 0, &pv, &n, err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pv[0].t_ns, 300); /* newest first */
	assert_int_equal(pv[0].run_id, 0);
	assert_null(pv[0].url);
	assert_string_equal(pv[0].message, "slow");
	store_probes_free(pv, n);
	assert_int_equal(store_probes_list(s, 0, "gpu-1", 1, &pv, &n, err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pv[0].state, "warn");
	store_probes_free(pv, n);
	assert_int_equal(store_probes_list(s, other, NULL, 0, &pv, &n, err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pv[0].instance, "gpu-2");
	assert_string_equal(pv[0].message, "connection refused");
	assert_int_equal(pv[1].latency_ns, 1000);
	store_probes_free(pv, n);
	store_close(s);
}

static void test_list_filter_limit(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s;
	assert_int_equal(store_open(&s, ":memory:", err), STORE_OK);
	struct store_run *v;
	size_t n;
	assert_int_equal(store_runs_list(s, NULL, 0, &v, &n, err), 0);
	assert_int_equal(n, 0);
	store_runs_free(v, n);
	int64_t ids[10];
	for (int i = 0; i < 10; i++)
		assert_int_equal(store_run_begin(s, i % 3 == 0 ? "health" : "bench", "t", NULL,
						 NULL, &ids[i], err),
				 0);
	assert_int_equal(store_runs_list(s, NULL, 0, &v, &n, err), 0);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i].id, ids[9 - i]); /* newest first */
	store_runs_free(v, n);
	assert_int_equal(store_runs_list(s, NULL, 3, &v, &n, err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].id, ids[9]);
	store_runs_free(v, n);
	assert_int_equal(store_runs_list(s, "health", 0, &v, &n, err), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i].kind, "health");
	assert_int_equal(v[0].id, ids[9]);
	assert_int_equal(v[3].id, ids[0]);
	store_runs_free(v, n);
	assert_int_equal(store_runs_list(s, "bench", 2, &v, &n, err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].id, ids[8]);
	assert_int_equal(v[1].id, ids[7]);
	store_runs_free(v, n);
	assert_int_equal(store_runs_list(s, "nope", 0, &v, &n, err), 0);
	assert_int_equal(n, 0);
	store_runs_free(v, n);
	store_close(s);
}

static void test_batch(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s;
	assert_int_equal(store_open(&s, ":memory:", err), STORE_OK);
	int64_t id;
	assert_int_equal(store_run_begin(s, "bench", "t", NULL, NULL, &id, err), 0);
	assert_int_equal(store_begin(s, err), 0);
	assert_int_equal(store_begin(s, err), 0); /* nests */
	for (int i = 0; i < 100; i++)
		assert_int_equal(store_sample_add(s, id, 0, "a", i, NULL, err), 0);
	assert_int_equal(store_commit(s, err), 0);
	assert_int_equal(store_commit(s, err), 0);
	assert_int_equal(store_commit(s, err), -1);
	assert_int_equal(store_begin(s, err), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(store_sample_add(s, id, 1, "a", i, NULL, err), 0);
	store_rollback(s);
	int64_t samples;
	assert_int_equal(store_run_counts(s, id, NULL, &samples, NULL, err), 0);
	assert_int_equal(samples, 100);
	store_close(s);
}

enum { NWRITERS = 6, NRUNS = 150 };

/* A child process: open the shared file and record NRUNS complete runs. */
static int writer(const char *path, int w)
{
	char err[ERR_MAX];
	struct store *s;
	if (store_open(&s, path, err) != STORE_OK) {
		fprintf(stderr, "writer %d: %s\n", w, err);
		return 1;
	}
	for (int i = 0; i < NRUNS; i++) {
		int64_t id;
		char target[32];
		snprintf(target, sizeof(target), "w%d", w);
		const char *kind = w % 2 ? "bench" : "health";
		if (store_run_begin(s, kind, target, "{}", "{}", &id, err) < 0 ||
		    store_step_add(s, id, 0, "only", "{}", "h", 1, err) < 0 ||
		    store_probe_add(s, id, target, "http://x", wall_ns(), "ok", 1, NULL, err) < 0 ||
		    store_run_finish(s, id, "ok", "{\"i\":1}", err) < 0) {
			fprintf(stderr, "writer %d run %d: %s\n", w, i, err);
			store_close(s);
			return 1;
		}
	}
	store_close(s);
	return 0;
}

/* A child process that keeps reading while the writers write (as `top` or `history` would). */
static int reader(const char *path)
{
	char err[ERR_MAX];
	struct store *s;
	if (store_open(&s, path, err) != STORE_OK) {
		fprintf(stderr, "reader: %s\n", err);
		return 1;
	}
	for (int i = 0; i < 200; i++) {
		struct store_run *v;
		size_t n;
		if (store_runs_list(s, NULL, 20, &v, &n, err) < 0) {
			fprintf(stderr, "reader: %s\n", err);
			store_close(s);
			return 1;
		}
		store_runs_free(v, n);
	}
	store_close(s);
	return 0;
}

static void test_concurrent_writers(void **state)
{
	(void)state;
	/* The file does not exist yet: the children also race to create and migrate it. */
	char *path = tmp_path("shared/concurrent.db");
	pid_t pids[NWRITERS + 1];
	fflush(NULL);
	for (int w = 0; w <= NWRITERS; w++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(w < NWRITERS ? writer(path, w) : reader(path));
		pids[w] = pid;
	}
	for (int w = 0; w <= NWRITERS; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), NWRITERS * NRUNS);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM runs WHERE status = 'ok'"),
			 NWRITERS * NRUNS);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM steps"), NWRITERS * NRUNS);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM probes"), NWRITERS * NRUNS);
	assert_int_equal(raw_int(path, "SELECT count(DISTINCT target) FROM runs"), NWRITERS);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	free(path);
}

/* A writer that finds the database locked by another process waits instead of failing. */
static void test_waits_for_lock(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct store *s;
	char *path = tmp_path("locked.db");
	assert_int_equal(store_open(&s, path, err), STORE_OK);
	store_close(s);
	/* No connection may be open across fork(): the child locks, the parent writes. */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db;
		close(fds[0]);
		if (sqlite3_open(path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO runs (kind, status, started_ns) "
				     "VALUES ('x', 'ok', 1)",
				 NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		if (write(fds[1], "L", 1) != 1)
			_exit(1);
		struct timespec ts = { 0, 300000000L };
		nanosleep(&ts, NULL);
		int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(rc == SQLITE_OK ? 0 : 1);
	}
	close(fds[1]);
	char c;
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	int64_t t0 = mono_ns();
	int64_t id;
	assert_int_equal(store_open(&s, path, err), STORE_OK);
	if (store_run_begin(s, "bench", "t", NULL, NULL, &id, err) < 0)
		fail_msg("%s", err);
	store_close(s);
	assert_true(mono_ns() - t0 >= 200000000LL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM runs"), 2);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_open_memory),
		cmocka_unit_test(test_migrate_from_zero),
		cmocka_unit_test(test_newer_schema),
		cmocka_unit_test(test_corrupt_and_unwritable),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_steps_samples_probes),
		cmocka_unit_test(test_list_filter_limit),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_waits_for_lock),
	};
	return cmocka_run_group_tests_name("store", tests, setup_tmp, teardown_tmp);
}
