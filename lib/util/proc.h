/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Run a shell command with a deadline, capturing its output (hooks such as health --on-fail). */
#ifndef OBRIDGE_UTIL_PROC_H
#define OBRIDGE_UTIL_PROC_H

#include <stdint.h>

struct buf;

struct proc_result {
	int status;    /* exit status, 128+N for a signal, -1 when not known */
	int timed_out; /* the deadline passed: its process group was killed */
};

/*
 * Run `/bin/sh -c cmd` in a process group of its own, stdin from /dev/null, stdout and
 * stderr into out (capped by out's max; the rest is read and dropped). env is a
 * NULL-terminated list of "NAME=value" added to the environment; every name in unset
 * (NULL-terminated, may be NULL) is removed from it. Returns when the shell exits (children
 * it left in the background are not waited for, and are left running) or when timeout_ns
 * passes (the whole process group is sent SIGTERM, then SIGKILL a moment later).
 * *cancel, when set by a signal handler, ends the wait as a timeout does.
 * Returns 0, or -1 with err when the command could not be started.
 */
int proc_run(const char *cmd, char *const *env, const char *const *unset, int64_t timeout_ns,
	     const volatile int *cancel, struct buf *out, struct proc_result *res, char *err);

#endif
