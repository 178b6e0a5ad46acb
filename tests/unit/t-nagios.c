/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for Nagios perfdata, Prometheus text, and the lock file. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/render/nagios.h"
#include "../../lib/render/prom.h"
#include "../../lib/util/buf.h"
#include "../../lib/util/lock.h"

static void test_perfdata(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	nagios_perfdata(&b, "gpu-1", 0.0125, "s", "1", "2", "0", NULL);
	nagios_perfdata(&b, "up", 3, NULL, NULL, "1:", "0", "3");
	nagios_perfdata(&b, "my gpu", 1, "s", NULL, NULL, NULL, NULL);
	nagios_perfdata(&b, "it's", 2, "c", NULL, NULL, NULL, NULL);
	assert_string_equal(buf_str(&b),
			    "gpu-1=0.0125s;1;2;0 up=3;;1:;0;3 'my gpu'=1s 'it''s'=2c");
	buf_release(&b);
}

static void test_prom(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	prom_family(&b, "obridge_up", "gauge", "1 when the instance answered");
	const char *l1[] = { "instance", "gpu-1", NULL };
	const char *l2[] = { "instance", "we\"ird\\na\nme", "model", "m", NULL };
	prom_sample(&b, "obridge_up", l1, 1);
	prom_sample(&b, "obridge_up", l2, 0);
	prom_sample(&b, "obridge_up", NULL, 0.25);
	assert_string_equal(buf_str(&b),
			    "# HELP obridge_up 1 when the instance answered\n"
			    "# TYPE obridge_up gauge\n"
			    "obridge_up{instance=\"gpu-1\"} 1\n"
			    "obridge_up{instance=\"we\\\"ird\\\\na\\nme\",model=\"m\"} 0\n"
			    "obridge_up 0.25\n");
	char dir[] = "/tmp/t-prom.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[ERR_MAX];
	assert_int_equal(prom_write_textfile(dir, "obridge.prom", b.data, b.len, err), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/obridge.prom", dir);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char got[1024] = "";
	size_t n = fread(got, 1, sizeof(got) - 1, fp);
	got[n] = '\0';
	fclose(fp);
	assert_string_equal(got, buf_str(&b));
	unlink(path);
	rmdir(dir);
	assert_int_equal(prom_write_textfile("/nonexistent-dir", "x.prom", "a\n", 2, err), -1);
	assert_non_null(strstr(err, "/nonexistent-dir"));
	buf_release(&b);
}

static void test_lock(void **state)
{
	(void)state;
	char path[] = "/tmp/t-lock.XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct lock a = LOCK_INIT;
	char err[ERR_MAX] = "";
	assert_int_equal(lock_acquire(&a, path, 0, err), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct lock b = LOCK_INIT;
		char e[ERR_MAX] = "";
		int r = lock_acquire(&b, path, 0, e);
		char want[64];
		snprintf(want, sizeof(want), "pid %ld", (long)getppid());
		_exit(r == 1 && strstr(e, want) ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	lock_release(&a);
	pid = fork();
	if (pid == 0) {
		struct lock b = LOCK_INIT;
		char e[ERR_MAX] = "";
		_exit(lock_acquire(&b, path, 0, e) == 0 ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perfdata), cmocka_unit_test(test_prom),
		cmocka_unit_test(test_lock),
	};
	return cmocka_run_group_tests_name("nagios", tests, NULL, NULL);
}
