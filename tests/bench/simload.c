/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A tiny epoll load generator for bench-self: streaming generate requests against obridge sim. */
/*
 * usage: simload HOST PORT CONNECTIONS SECONDS MODE [BODY]
 *   MODE "rate": every connection streams requests back to back (keep-alive) for SECONDS;
 *                prints lines/s (NDJSON chunks), requests/s and errors.
 *   MODE "hold": opens CONNECTIONS streams at once and, after SECONDS, reports how many had
 *                a 200 and at least one chunk and were still open.
 * Built by tests/bench-self.sh with cc; not part of obridge.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int state; /* 0 headers, 1 chunk size, 2 data, 3 data crlf, 4 done */
	char hdr[4096];
	size_t hlen;
	size_t left;
	char szbuf[32];
	size_t szlen;
	int ok;
	long lines;
	int open;
};

static char req[8192];
static size_t reqlen;
static struct sockaddr_in addr;
static long total_lines, total_reqs, errors;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int conn_open(int ep, struct conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->state = -1; /* waiting to send */
	c->open = 1;
	return 0;
}

static void send_req(struct conn *c)
{
	ssize_t n = send(c->fd, req, reqlen, MSG_NOSIGNAL);
	if (n != (ssize_t)reqlen) {
		errors++;
		return;
	}
	c->state = 0;
	c->hlen = 0;
	c->szlen = 0;
	c->ok = 0;
}

/* Feed bytes; returns 1 when a response completed. */
static int feed(struct conn *c, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		switch (c->state) {
		case 0:
			if (c->hlen < sizeof(c->hdr) - 1)
				c->hdr[c->hlen++] = p[i];
			i++;
			if (c->hlen >= 4 && !memcmp(c->hdr + c->hlen - 4, "\r\n\r\n", 4)) {
				c->hdr[c->hlen] = 0;
				c->ok = !strncmp(c->hdr, "HTTP/1.1 200", 12);
				if (!c->ok)
					errors++;
				c->state = 1;
				c->szlen = 0;
			}
			break;
		case 1:
			if (p[i] == '\n') {
				c->szbuf[c->szlen] = 0;
				c->left = strtoul(c->szbuf, NULL, 16);
				c->szlen = 0;
				if (c->left == 0) {
					c->state = 5;
				} else {
					c->state = 2;
				}
			} else if (p[i] != '\r' && c->szlen < sizeof(c->szbuf) - 1) {
				c->szbuf[c->szlen++] = p[i];
			}
			i++;
			break;
		case 2: {
			size_t k = n - i < c->left ? n - i : c->left;
			for (size_t j = 0; j < k; j++)
				if (p[i + j] == '\n') {
					c->lines++;
					total_lines++;
				}
			i += k;
			c->left -= k;
			if (!c->left)
				c->state = 3;
			break;
		}
		case 3:
			if (p[i] == '\n')
				c->state = 1;
			i++;
			break;
		case 5:
			if (p[i] == '\n') {
				c->state = 4;
				total_reqs++;
				return 1;
			}
			i++;
			break;
		default:
			i++;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: simload HOST PORT CONNECTIONS SECONDS rate|hold [BODY]\n");
		return 2;
	}
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)strtol(argv[2], NULL, 10));
	inet_pton(AF_INET, argv[1], &addr.sin_addr);
	int nc = (int)strtol(argv[3], NULL, 10);
	double secs = strtod(argv[4], NULL);
	int hold = !strcmp(argv[5], "hold");
	const char *body = argc > 6 ? argv[6] : "{\"model\":\"llama3.2\",\"prompt\":\"hi\"}";
	reqlen = (size_t)snprintf(req, sizeof(req),
				  "POST /api/generate HTTP/1.1\r\nHost: %s:%s\r\n"
				  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				  argv[1], argv[2], strlen(body), body);
	int ep = epoll_create1(0);
	struct conn *cs = calloc((size_t)nc, sizeof(*cs));
	int opened = 0;
	for (int i = 0; i < nc; i++)
		if (conn_open(ep, &cs[i]) == 0)
			opened++;
	struct epoll_event evs[1024];
	char buf[65536];
	double t0 = now(), tend = t0 + secs;
	long lines0 = 0;
	double tm = t0;
	int measuring = hold;
	while (now() < tend) {
		int n = epoll_wait(ep, evs, 1024, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->state == -1 && (evs[i].events & EPOLLOUT))
				send_req(c);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				for (;;) {
					ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
					if (r > 0) {
						if (feed(c, buf, (size_t)r) && !hold)
							send_req(c);
						continue;
					}
					if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
						if (c->open) {
							close(c->fd);
							c->open = 0;
							if (c->state != 4)
								errors++;
						}
					}
					break;
				}
			}
		}
		if (!measuring && now() - t0 > 1.0) {
			/* skip the first second (cold load) */
			measuring = 1;
			lines0 = total_lines;
			tm = now();
			total_reqs = 0;
		}
	}
	double dt = now() - tm;
	if (hold) {
		int alive = 0, streaming = 0;
		for (int i = 0; i < nc; i++) {
			if (cs[i].open && cs[i].ok)
				alive++;
			if (cs[i].open && cs[i].ok && cs[i].lines > 0)
				streaming++;
		}
		printf("connections=%d opened=%d open_with_200=%d streaming=%d errors=%ld\n", nc,
		       opened, alive, streaming, errors);
	} else {
		printf("connections=%d seconds=%.1f chunks=%ld chunks_per_s=%.0f requests_per_s=%.1f errors=%ld\n",
		       nc, dt, total_lines - lines0, (double)(total_lines - lines0) / dt,
		       (double)total_reqs / dt, errors);
	}
	return 0;
}
