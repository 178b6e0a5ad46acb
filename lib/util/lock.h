/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An advisory lock file so that overlapping cron runs do not pile up. */
#ifndef OBRIDGE_UTIL_LOCK_H
#define OBRIDGE_UTIL_LOCK_H

#include <stdint.h>

struct lock {
	int fd;
	char *path;
};

#define LOCK_INIT { -1, NULL }

/*
 * Take an exclusive flock on path (created when missing) and write "pid started_at" into it.
 * wait_ns 0: fail at once when held; otherwise retry until wait_ns has passed.
 * Returns 0; 1 when held by someone else (err names the holder: pid and since when);
 * -1 on other errors. The lock is released by lock_release or when the process exits.
 */
int lock_acquire(struct lock *l, const char *path, int64_t wait_ns, char *err);
void lock_release(struct lock *l);

#endif
