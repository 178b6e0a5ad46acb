/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Taking instances down and up for the backup and failover checks: the user's
 * --down-cmd/--up-cmd (run with /bin/sh -c, the instance in the environment, never text
 * from a server), or the control endpoint of an `obridge sim` fleet.
 */
#include "../compat.h"
#include "route-internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fleet/fleet.h"
#include "../util/util.h"
#include "../banned.h"

#define SEC 1000000000LL
#define CMD_TIMEOUT (60 * SEC)
#define SETTLE_TIMEOUT (10 * SEC)

/* The port of a URL, or -1. */
static long url_port(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	const char *end = p + strcspn(p, "/");
	const char *colon = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == ':')
			colon = q;
	if (!colon || (p[0] == '[' && colon < strchr(p, ']')))
		return -1;
	return strtol(colon + 1, NULL, 10);
}

/* Is the fleet an obridge sim? Then map instances to its names by port. */
static void detect_sim(struct rt *t)
{
	const struct fleet *f = t->f;
	struct rt_reply p;
	rt_reply_init(&p);
	cJSON *root = NULL;
	for (size_t i = 0; i < f->ninstances && !root; i++) {
		char url[1200];
		snprintf(url, sizeof(url), "%s/_sim/stats", f->instances[i].url);
		if (rt_request(t, "GET", url, NULL, 0, 5 * SEC, &p) == 0)
			root = cJSON_ParseWithLength(p.body.data, p.body.len);
	}
	rt_reply_release(&p);
	const cJSON *list = root ? cJSON_GetObjectItemCaseSensitive(root, "instances") : NULL;
	size_t mapped = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(it, "port");
		if (!cJSON_IsString(name) || !cJSON_IsNumber(port))
			continue;
		for (size_t i = 0; i < f->ninstances; i++)
			if (!t->sim_names[i] && url_port(f->instances[i].url) == (long)port->valuedouble) {
				t->sim_names[i] = xstrdup(name->valuestring);
				mapped++;
			}
	}
	cJSON_Delete(root);
	if (mapped == f->ninstances && mapped)
		t->down_how = RT_DOWN_SIM;
}

void rt_control_init(struct rt *t)
{
	t->sim_names = xcalloc(t->f->ninstances + 1, sizeof(char *));
	t->is_down = xcalloc(t->f->ninstances + 1, sizeof(int));
	if (t->c->down_cmd && t->c->up_cmd)
		t->down_how = RT_DOWN_CMD;
	else
		detect_sim(t);
}

void rt_control_release(struct rt *t)
{
	for (size_t i = 0; t->sim_names && i < t->f->ninstances; i++)
		free(t->sim_names[i]);
	free(t->sim_names);
	free(t->is_down);
	t->sim_names = NULL;
	t->is_down = NULL;
}

int rt_instance_answers(struct rt *t, size_t i)
{
	struct rt_reply p;
	char url[1200];
	rt_reply_init(&p);
	snprintf(url, sizeof(url), "%s/api/version", t->f->instances[i].url);
	int ok = rt_request(t, "GET", url, NULL, 0, 2 * SEC, &p) == 0;
	rt_reply_release(&p);
	return ok;
}

/* Run cmd with the instance in the environment; its output goes into out. */
static int run_cmd(const char *cmd, const struct fleet_instance *in, struct buf *out, char *err)
{
	int fds[2];
	if (pipe(fds) < 0)
		return snprintf(err, ERR_MAX, "pipe: %s", strerror(errno)), -1;
	char host[256];
	const char *p = strstr(in->url, "://");
	p = p ? p + 3 : in->url;
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(p, "/"), p);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return snprintf(err, ERR_MAX, "fork: %s", strerror(errno)), -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		setenv("OBRIDGE_INSTANCE", in->name, 1);
		setenv("OBRIDGE_URL", in->url, 1);
		setenv("OBRIDGE_HOST", host, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	int64_t deadline = mono_ns() + CMD_TIMEOUT;
	int status = 0, done = 0;
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		int64_t left = deadline - mono_ns();
		if (left <= 0)
			break;
		int r = poll(&pfd, 1, (int)(left / 1000000 + 1));
		if (r > 0) {
			char b[4096];
			ssize_t n = read(fds[0], b, sizeof(b));
			if (n > 0) {
				if (out->len < 65536)
					buf_add(out, b, (size_t)n);
				continue;
			}
			if (n == 0 || errno != EINTR)
				break;
		} else if (r < 0 && errno != EINTR) {
			break;
		}
	}
	close(fds[0]);
	/* the pipe closed (or time ran out): wait for the shell itself, bounded */
	while (!done && mono_ns() < deadline) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			done = 1;
		else if (w < 0 && errno != EINTR)
			break;
		else
			poll(NULL, 0, 10);
	}
	if (!done) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		return snprintf(err, ERR_MAX, "'%s' did not finish within 60s (killed)", cmd), -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return snprintf(err, ERR_MAX, "'%s' failed (%s %d)", cmd,
			       WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)), -1;
	return 0;
}

static int sim_set(struct rt *t, size_t i, int up, char *err)
{
	const struct fleet *f = t->f;
	char body[512];
	snprintf(body, sizeof(body), "{\"instance\":\"%s\",\"fault\":\"%s\"}", t->sim_names[i],
		 up ? "up" : "down");
	struct rt_reply p;
	rt_reply_init(&p);
	int ok = 0;
	/* any instance that listens answers the control endpoint */
	for (size_t j = 0; j < f->ninstances && !ok; j++) {
		if (j == i || t->is_down[j])
			continue;
		char url[1200];
		snprintf(url, sizeof(url), "%s/_sim/fault", f->instances[j].url);
		ok = rt_request(t, "POST", url, body, 0, 5 * SEC, &p) == 0;
	}
	rt_reply_release(&p);
	if (!ok)
		return snprintf(err, ERR_MAX, "no instance of the sim answered its control "
			       "endpoint to take %s %s", f->instances[i].name, up ? "up" : "down"), -1;
	return 0;
}

int rt_set_up(struct rt *t, size_t i, int up, char *err)
{
	const struct fleet_instance *in = &t->f->instances[i];
	if (t->down_how == RT_DOWN_NONE)
		return snprintf(err, ERR_MAX, "no way to take instances down"), -1;
	if (t->down_how == RT_DOWN_CMD) {
		struct buf out = BUF_INIT;
		int r = run_cmd(up ? t->c->up_cmd : t->c->down_cmd, in, &out, err);
		buf_release(&out);
		if (r < 0)
			return -1;
	} else if (sim_set(t, i, up, err) < 0) {
		return -1;
	}
	t->is_down[i] = !up;
	/* wait until it took effect: refused when down, answering when up */
	int64_t deadline = mono_ns() + SETTLE_TIMEOUT;
	while (mono_ns() < deadline && !rt_stopped(t)) {
		if (rt_instance_answers(t, i) == up)
			return 0;
		http_poll(t->e, 50000000LL, -1, NULL);
	}
	return snprintf(err, ERR_MAX, "%s still %s 10s after it was taken %s", in->name,
		       up ? "does not answer" : "answers", up ? "up" : "down"), -1;
}

void rt_control_restore(struct rt *t)
{
	char err[ERR_MAX];
	for (size_t i = 0; t->is_down && i < t->f->ninstances; i++)
		if (t->is_down[i] && rt_set_up(t, i, 1, err) < 0)
			rt_detail(t, ROUTE_ATTRIBUTION, "could not bring %s back: %s",
				  t->f->instances[i].name, err);
}
