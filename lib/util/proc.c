/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bounded hooks: fork, own process group, poll the output pipe against a deadline. */
#include "../compat.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "../banned.h"

static int status_of(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Read what is there without blocking; returns 1 at end of file or error. */
static int drain(int fd, struct buf *out)
{
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			buf_add(out, chunk, (size_t)n); /* capped: the rest is dropped */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

/* SIGTERM the group, give it a moment, then SIGKILL it; reap the shell. */
static int kill_group(pid_t pid)
{
	int st = 0;
	kill(-pid, SIGTERM);
	for (int i = 0; i < 20; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			kill(-pid, SIGKILL); /* the shell's children, if they ignored SIGTERM */
			return status_of(st);
		}
		struct timespec ts = { 0, 25 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return status_of(st);
}

static void child(const char *cmd, int wfd, char *const *env, const char *const *unset)
{
	setpgid(0, 0);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		if (devnull != STDIN_FILENO)
			close(devnull);
	}
	dup2(wfd, STDOUT_FILENO);
	dup2(wfd, STDERR_FILENO);
	if (wfd != STDOUT_FILENO && wfd != STDERR_FILENO)
		close(wfd);
	for (size_t i = 0; unset && unset[i]; i++)
		unsetenv(unset[i]);
	for (size_t i = 0; env && env[i]; i++)
		putenv(env[i]);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

int proc_run(const char *cmd, char *const *env, const char *const *unset, int64_t timeout_ns,
	     const volatile int *cancel, struct buf *out, struct proc_result *res, char *err)
{
	res->status = -1;
	res->timed_out = 0;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return seterr(err, "cannot create a pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return seterr(err, "cannot start '%s': %s", cmd, strerror(e));
	}
	if (pid == 0)
		child(cmd, pfd[1], env, unset);
	setpgid(pid, pid); /* also here: no race with the kill below */
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
	int64_t deadline = mono_ns() + timeout_ns;
	int eof = 0;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			/* the shell is done: take what its output holds now, and do not wait
			 * for children it left in the background to close the pipe */
			drain(pfd[0], out);
			res->status = status_of(st);
			break;
		}
		int64_t left = deadline - mono_ns();
		if (left <= 0 || (cancel && *cancel)) {
			drain(pfd[0], out);
			res->timed_out = 1;
			res->status = kill_group(pid);
			break;
		}
		/* wake at least every 50 ms to notice the shell's exit after EOF */
		int ms = left > 50000000 ? 50 : (int)(left / 1000000) + 1;
		if (eof) {
			struct timespec ts = { 0, (long)ms * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		struct pollfd p = { pfd[0], POLLIN, 0 };
		int n = poll(&p, 1, ms);
		if (n > 0)
			eof = drain(pfd[0], out);
	}
	close(pfd[0]);
	return 0;
}
