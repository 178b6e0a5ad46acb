/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Advisory lock files (flock) that record and name their holder. */
#include "../compat.h"
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "../banned.h"

static void describe_holder(int fd, const char *path, char *err)
{
	char buf[128] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid = 0;
	long long since = 0;
	if (n > 0) {
		buf[n] = '\0';
		char *end;
		pid = strtol(buf, &end, 10);
		since = strtoll(end, NULL, 10);
	}
	if (pid > 0 && since > 0) {
		time_t t = (time_t)since;
		struct tm tm;
		char when[32];
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		seterr(err, "another run holds the lock '%s' (pid %ld, since %s)", path, pid, when);
	} else {
		seterr(err, "another run holds the lock '%s'", path);
	}
}

int lock_acquire(struct lock *l, const char *path, int64_t wait_ns, char *err)
{
	l->fd = -1;
	l->path = NULL;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return seterr(err, "cannot open lock file '%s': %s", path, strerror(errno));
	int64_t deadline = mono_ns() + wait_ns;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			seterr(err, "cannot lock '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (wait_ns <= 0 || mono_ns() >= deadline) {
			describe_holder(fd, path, err);
			close(fd);
			return 1;
		}
		/* Not a request path: waiting for another process is all there is to do. */
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	char line[64];
	int n = snprintf(line, sizeof(line), "%ld %lld\n", (long)getpid(),
			 (long long)(wall_ns() / 1000000000LL));
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		/* The lock is held even if the note could not be written. */
	}
	l->fd = fd;
	l->path = xstrdup(path);
	return 0;
}

void lock_release(struct lock *l)
{
	if (l->fd >= 0) {
		flock(l->fd, LOCK_UN);
		close(l->fd);
	}
	free(l->path);
	l->fd = -1;
	l->path = NULL;
}
