/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The simulator's event loop: libmicrohttpd daemons in external epoll mode, timers, connections. */
#include "../compat.h"
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim-internal.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

enum { EV_STOP, EV_DAEMON, EV_CONN };

/* ---- timers: a binary min-heap of pointers to embedded struct simtimer ---- */

static void heap_swap(struct sim *s, size_t a, size_t b)
{
	struct simtimer *t = s->heap[a];
	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->idx = a;
	s->heap[b]->idx = b;
}

static void heap_up(struct sim *s, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (s->heap[p]->when <= s->heap[i]->when)
			break;
		heap_swap(s, p, i);
		i = p;
	}
}

static void heap_down(struct sim *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->nheap && s->heap[l]->when < s->heap[m]->when)
			m = l;
		if (r < s->nheap && s->heap[r]->when < s->heap[m]->when)
			m = r;
		if (m == i)
			break;
		heap_swap(s, i, m);
		i = m;
	}
}

void simtimer_cancel(struct sim *s, struct simtimer *t)
{
	if (t->idx == SIZE_MAX || t->idx >= s->nheap || s->heap[t->idx] != t)
		return;
	size_t i = t->idx;
	t->idx = SIZE_MAX;
	s->nheap--;
	if (i == s->nheap)
		return;
	s->heap[i] = s->heap[s->nheap];
	s->heap[i]->idx = i;
	heap_up(s, i);
	heap_down(s, s->heap[i]->idx);
}

void simtimer_arm(struct sim *s, struct simtimer *t, int64_t when)
{
	simtimer_cancel(s, t);
	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? s->capheap * 2 : 256;
		s->heap = xrealloc(s->heap, s->capheap * sizeof(*s->heap));
	}
	t->when = when;
	t->idx = s->nheap;
	s->heap[s->nheap++] = t;
	heap_up(s, t->idx);
}

static void timers_run(struct sim *s)
{
	int64_t now = mono_ns();
	while (s->nheap && s->heap[0]->when <= now) {
		struct simtimer *t = s->heap[0];
		simtimer_cancel(s, t);
		t->fn(t->arg);
	}
}

void sim_logf(struct sim *s, const char *fmt, ...)
{
	if (!s->log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->log(s->log_arg, line);
}

/* Scale a delay for the instance: x10 under "slow", seeded jitter. */
int64_t siminst_delay(struct siminst *in, int64_t ns)
{
	if (ns <= 0)
		return 0;
	double f = in->st.faults[SIM_FAULT_SLOW].frac > 0 ? 10.0 : 1.0;
	if (in->st.jitter_pct > 0)
		f *= 1.0 + (sim_randf(&in->rng) * 2.0 - 1.0) * in->st.jitter_pct / 100.0;
	return (int64_t)((double)ns * f);
}

/* ---- requests and connections ---- */

void simreq_wake(struct simreq *r)
{
	if (r->suspended) {
		r->suspended = 0;
		MHD_resume_connection(r->conn);
		/* MHD acts on a resumed connection in a later MHD_run pass: make sure one comes. */
		r->in->sim->woke = 1;
	}
}

static void req_suspend(struct simreq *r)
{
	if (!r->suspended) {
		r->suspended = 1;
		MHD_suspend_connection(r->conn);
	}
}

static void wake_timer(void *arg)
{
	simreq_wake(arg);
}

static void add_headers(struct simreq *r, struct MHD_Response *resp, const char *type)
{
	if (type)
		MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Sim-Instance", r->in->name);
}

static void count_status(struct simreq *r, int status)
{
	if (status > 0 && status < 600)
		r->in->status_count[status]++;
	r->status = status;
}

static enum MHD_Result queue_reply(struct simreq *r)
{
	size_t len = r->reply.len;
	char *data = buf_detach(&r->reply);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	add_headers(r, resp, r->reply_type);
	if (r->status == 301 || r->status == 307)
		MHD_add_response_header(resp, "Location", r->location);
	count_status(r, r->status);
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	r->state = RS_DONE;
	return ret;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct simreq *r = cls;
	(void)pos;
	for (;;) {
		if (r->cancelled)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (r->out_off < r->out.len) {
			size_t n = r->out.len - r->out_off;
			if (n > max)
				n = max;
			memcpy(buf, r->out.data + r->out_off, n);
			r->out_off += n;
			if (r->out_off == r->out.len) {
				buf_reset(&r->out);
				r->out_off = 0;
			}
			return (ssize_t)n;
		}
		if (r->finished) {
			if (!r->abort_stream)
				return MHD_CONTENT_READER_END_OF_STREAM;
			/* The truncate fault: the connection must drop here. MHD closes it only on
			 * a later pass (on a kept-alive connection sometimes not until the client
			 * gives up), so shut the socket down now and let MHD clean up after. */
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
			if (ci)
				shutdown(ci->connect_fd, SHUT_RDWR);
			r->in->sim->woke = 1;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		int64_t now = mono_ns();
		if (simapi_produce(r, now)) {
			/* Lines already due (tok-interval 0, or running late) share one write. */
			for (int k = 0; k < 63 && r->out.len < 8192 && !r->finished; k++)
				if (!simapi_produce(r, now))
					break;
			/* The emission truth (sim.h): these bytes go to libmicrohttpd when this
			 * call returns, microseconds after now (read before the lines, and their
			 * created_at, were made); now is that chunk's hand-off time. */
			if (r->em_carry)
				simemit_record(r, now);
			continue;
		}
		if (r->finished)
			continue;
		r->timer.fn = wake_timer;
		r->timer.arg = r;
		simtimer_arm(r->in->sim, &r->timer, r->next_due);
		req_suspend(r);
		return 0;
	}
}

static enum MHD_Result queue_stream(struct simreq *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, r, NULL);
	add_headers(r, resp, r->reply_type);
	count_status(r, r->status ? r->status : 200);
	r->state = RS_STREAM;
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The client already hung up (its RDHUP edge may have come before we suspended). */
static int peer_gone(struct simreq *r)
{
	if (!r->sc || r->sc->fd < 0)
		return 0;
	struct pollfd p = { .fd = r->sc->fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Move the request on after the body is in, or after a wake-up. */
static enum MHD_Result advance(struct simreq *r)
{
	if (r->cancelled)
		return MHD_NO;
	if (r->state == RS_REPLY)
		return queue_reply(r);
	if (r->state == RS_STREAMREADY)
		return queue_stream(r);
	if (r->state == RS_RUN && r->stream && r->next_due <= mono_ns()) {
		if (simapi_stream_start(r))
			return queue_stream(r);
		if (r->state == RS_REPLY)
			return queue_reply(r);
	}
	if (r->state == RS_RUN && r->stream) {
		r->timer.fn = wake_timer;
		r->timer.arg = r;
		simtimer_arm(r->in->sim, &r->timer, r->next_due);
	}
	if (peer_gone(r))
		return MHD_NO;
	req_suspend(r);
	return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct siminst *in = cls;
	struct simreq *r = *con_cls;
	(void)version;
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->in = in;
		r->conn = conn;
		r->t_entry = mono_ns();
		r->timer.idx = SIZE_MAX;
		const char *hh = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
		r->host = hh ? xstrdup(hh) : NULL;
		buf_init(&r->body, 64 << 20);
		buf_init(&r->reply, 0);
		buf_init(&r->out, 0);
		buf_init(&r->text, 0);
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (ci && ci->socket_context) {
			r->sc = ci->socket_context;
			r->sc->req = r;
		}
		r->allnext = in->all;
		if (in->all)
			in->all->allprev = r;
		in->all = r;
		*con_cls = r;
		simapi_begin(r, url, method);
		return MHD_YES;
	}
	if (r->state == RS_BODY) {
		if (*upload_size) {
			if (buf_add(&r->body, upload, *upload_size) < 0)
				r->body_too_big = 1;
			*upload_size = 0;
			return MHD_YES;
		}
		r->t_body = mono_ns(); /* the request is read: the server's TTFT starts */
		simapi_dispatch(r, url, method);
	}
	return advance(r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct siminst *in = cls;
	struct simreq *r = *con_cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	*con_cls = NULL;
	simtimer_cancel(in->sim, &r->timer);
	simsched_release(r);
	if (r->state != RS_DONE && r->state != RS_STREAM)
		count_status(r, 499);
	if (r->counted)
		in->in_flight--;
	if (r->sc && r->sc->req == r)
		r->sc->req = NULL;
	if (r->allprev)
		r->allprev->allnext = r->allnext;
	else
		in->all = r->allnext;
	if (r->allnext)
		r->allnext->allprev = r->allprev;
	buf_release(&r->body);
	buf_release(&r->reply);
	buf_release(&r->out);
	buf_release(&r->text);
	free(r->model_req);
	free(r->location);
	free(r->pull_name);
	free(r->host);
	free(r->thinking);
	simgen_pieces_free(r->pieces, r->npieces);
	free(r->tool_name);
	free(r->tool_args);
	simops_release(r);
	free(r);
}

static void conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct siminst *in = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct simconn *sc = xcalloc(1, sizeof(*sc));
		sc->ev.type = EV_CONN;
		sc->ev.obj = sc;
		sc->in = in;
		sc->fd = -1;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci) {
			sc->fd = ci->connect_fd;
			struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLET,
						  .data.ptr = &sc->ev };
			if (epoll_ctl(in->sim->epfd, EPOLL_CTL_ADD, sc->fd, &ev) < 0)
				sc->fd = -1;
		}
		*socket_context = sc;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct simconn *sc = *socket_context;
		if (!sc)
			return;
		if (sc->fd >= 0)
			epoll_ctl(in->sim->epfd, EPOLL_CTL_DEL, sc->fd, NULL);
		if (sc->req)
			sc->req->sc = NULL;
		free(sc);
		*socket_context = NULL;
	}
}

/* ---- daemons ---- */

static int resolve(const char *host, int port, struct sockaddr_storage *ss, char *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res = NULL;
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0 || !res)
		return seterr(err, "cannot resolve '%s': %s", host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* The errno a plain bind() to ss gets (0 when it works), for a clear listen error. */
static int bind_errno(const struct sockaddr_storage *ss)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	int e = bind(fd, (const struct sockaddr *)ss, len) < 0 ? errno : 0;
	close(fd);
	return e;
}

static int inst_listen(struct siminst *in, char *err)
{
	struct sim *s = in->sim;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (resolve(s->host, in->port, &ss, err) < 0)
		return -1;
	struct rlimit rl;
	unsigned int limit = 100000;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < limit + 64)
		limit = rl.rlim_cur > 64 ? (unsigned int)rl.rlim_cur - 32 : 16;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* clang-format off */
	in->d = MHD_start_daemon(flags, (uint16_t)in->port, NULL, NULL, handler, in,
				 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				 MHD_OPTION_NOTIFY_COMPLETED, completed, in,
				 MHD_OPTION_NOTIFY_CONNECTION, conn_notify, in,
				 MHD_OPTION_CONNECTION_LIMIT, limit,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
				 MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)4096,
				 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
				 MHD_OPTION_END);
	/* clang-format on */
	if (!in->d) {
		/* say why: the address is not this host's, the port is taken, ... */
		int e = bind_errno(&ss);
		return seterr(err, "cannot listen on %s:%d: %s", s->host, in->port,
			      e ? strerror(e) : "the HTTP server did not start");
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(in->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!di) {
		MHD_stop_daemon(in->d);
		in->d = NULL;
		return seterr(err, "libmicrohttpd has no epoll support");
	}
	in->dfd = di->epoll_fd;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &in->ev };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, in->dfd, &ev) < 0) {
		MHD_stop_daemon(in->d);
		in->d = NULL;
		return seterr(err, "epoll_ctl: %s", strerror(errno));
	}
	in->up = 1;
	sim_logf(s, "sim %s listening on %s:%d", in->name, s->host, in->port);
	return 0;
}

static void inst_down(struct siminst *in)
{
	if (!in->d)
		return;
	/* libmicrohttpd refuses to stop with suspended connections: wake them as cancelled
	 * and let it close them first. */
	for (int k = 0; k < 50; k++) {
		int left = 0;
		for (struct simreq *r = in->all; r; r = r->allnext) {
			if (r->suspended) {
				r->cancelled = 1;
				simreq_wake(r);
			}
			left += r->cancelled;
		}
		if (!left)
			break;
		MHD_run(in->d);
	}
	epoll_ctl(in->sim->epfd, EPOLL_CTL_DEL, in->dfd, NULL);
	/* Closes every other connection; their requests end through completed(). */
	MHD_stop_daemon(in->d);
	in->d = NULL;
	in->dfd = -1;
	in->up = 0;
	simsched_drop_all(in);
	sim_logf(in->sim, "sim %s down", in->name);
}

/* Bring the daemon in line with the "down" fault (run from the loop, never from MHD). */
static void inst_apply(void *arg)
{
	struct siminst *in = arg;
	int want_down = in->st.faults[SIM_FAULT_DOWN].frac > 0;
	if (want_down && in->up) {
		inst_down(in);
	} else if (!want_down && !in->up) {
		char err[ERR_MAX];
		if (inst_listen(in, err) < 0)
			sim_logf(in->sim, "sim %s: %s", in->name, err);
	}
}

void siminst_schedule_apply(struct siminst *in, int64_t delay_ns)
{
	simtimer_arm(in->sim, &in->applyt, mono_ns() + delay_ns);
}

/* ---- public API ---- */

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void inst_free(struct siminst *in)
{
	for (size_t i = 0; i < in->nmodels; i++) {
		simmodel_free(in->models[i]);
	}
	free(in->models);
	for (size_t i = 0; i < in->npartials; i++)
		free(in->partials[i].name);
	free(in->partials);
	free(in->emit);
	free(in->name);
	sim_settings_release(&in->st);
}

struct sim *sim_start(const struct sim_config *cfg, char *err)
{
	if (cfg->n < 1 || cfg->n > 1000) {
		seterr(err, "invalid number of instances %d", cfg->n);
		return NULL;
	}
	if (cfg->port < 1 || cfg->port + cfg->n - 1 > 65535) {
		seterr(err, "invalid port %d", cfg->port);
		return NULL;
	}
	raise_nofile();
	struct sim *s = xcalloc(1, sizeof(*s));
	s->host = xstrdup(cfg->host);
	s->log = cfg->log;
	s->log_arg = cfg->log_arg;
	s->start_wall = wall_ns();
	s->loopback = !strncmp(cfg->host, "127.", 4) || !strcmp(cfg->host, "::1") ||
		      !strcmp(cfg->host, "localhost");
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->ninst = (size_t)cfg->n;
	s->inst = xcalloc(s->ninst, sizeof(*s->inst));
	for (size_t i = 0; i < s->ninst; i++) {
		struct siminst *in = &s->inst[i];
		in->sim = s;
		in->idx = (int)i;
		in->name = xasprintf("gpu-%zu", i + 1);
		in->port = cfg->port + (int)i;
		in->dfd = -1;
		in->ev.type = EV_DAEMON;
		in->ev.obj = in;
		in->applyt.idx = SIZE_MAX;
		in->applyt.fn = inst_apply;
		in->applyt.arg = in;
		sim_settings_copy(&in->st, &cfg->defaults);
		simsched_init(in);
	}
	for (size_t k = 0; k < cfg->nov; k++) {
		const struct sim_override *o = &cfg->ov[k];
		struct siminst *in = NULL;
		for (size_t i = 0; i < s->ninst; i++)
			if (!strcmp(s->inst[i].name, o->instance))
				in = &s->inst[i];
		if (!in) {
			seterr(err, "no instance '%s' (instances are gpu-1 ... gpu-%d)",
			       o->instance, cfg->n);
			goto fail;
		}
		char e2[ERR_MAX];
		if (sim_settings_set(&in->st, o->key, o->value, e2) < 0) {
			seterr(err, "instance %s: %s", o->instance, e2);
			goto fail;
		}
	}
	for (size_t i = 0; i < s->ninst; i++) {
		struct siminst *in = &s->inst[i];
		in->rng = in->st.seed ^ simmodel_hash(in->name, 0);
		char *dup = xstrdup(in->st.models);
		char *save = NULL;
		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			if (!*t)
				continue;
			char *c = simmodel_canonical(t);
			if (!c) {
				seterr(err, "invalid model name '%s'", t);
				free(dup);
				goto fail;
			}
			simmodel_add(in, c, 1);
			free(c);
		}
		free(dup);
	}
	if (s->epfd < 0) {
		seterr(err, "epoll_create1: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < s->ninst; i++) {
		struct siminst *in = &s->inst[i];
		if (in->st.faults[SIM_FAULT_DOWN].frac > 0) {
			sim_logf(s, "sim %s down (fault) on %s:%d", in->name, s->host, in->port);
			continue;
		}
		if (inst_listen(in, err) < 0)
			goto fail;
	}
	return s;
fail:
	sim_free(s);
	return NULL;
}

char *sim_fleet_text(struct sim *s)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "# written by obridge sim\n[fleet]\nname = sim\n");
	for (size_t i = 0; i < s->ninst; i++) {
		const char *h = s->host;
		int v6 = strchr(h, ':') != NULL;
		buf_addf(&b, "\n[instance %s]\nurl = http://%s%s%s:%d\n", s->inst[i].name,
			 v6 ? "[" : "", h, v6 ? "]" : "", s->inst[i].port);
	}
	/* one section per model installed anywhere, in first-seen order */
	for (size_t i = 0; i < s->ninst; i++) {
		struct siminst *in = &s->inst[i];
		for (size_t k = 0; k < in->nmodels; k++) {
			const char *name = in->models[k]->name;
			int seen = 0;
			for (size_t j = 0; j < i && !seen; j++)
				for (size_t q = 0; q < s->inst[j].nmodels; q++)
					if (!strcmp(s->inst[j].models[q]->name, name))
						seen = 1;
			/* what a fleet keeps: loaded for 30 minutes with the context the
			 * instance loads it with (its default, capped by the model's own) */
			int ctx = in->st.num_ctx;
			if (ctx > in->models[k]->cat.ctx_train)
				ctx = in->models[k]->cat.ctx_train;
			if (!seen)
				buf_addf(&b, "\n[model %s]\nkeep_alive = 30m\nnum_ctx = %d\n", name,
					 ctx);
		}
	}
	return buf_detach(&b);
}

int sim_run(struct sim *s, int stop_fd, char *err)
{
	struct simev stopev = { EV_STOP, NULL };
	if (stop_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &stopev };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, stop_fd, &ev) < 0)
			return seterr(err, "epoll_ctl: %s", strerror(errno));
	}
	struct epoll_event evs[256];
	for (;;) {
		int64_t tmo = 1000000000LL; /* wake up at least once a second */
		int64_t now = mono_ns();
		if (s->woke)
			tmo = 0; /* resumed by the last timers: serve them now */
		if (s->nheap) {
			int64_t d = s->heap[0]->when - now;
			if (d < tmo)
				tmo = d < 0 ? 0 : d;
		}
		for (size_t i = 0; i < s->ninst; i++) {
			MHD_UNSIGNED_LONG_LONG ms;
			if (s->inst[i].d && MHD_get_timeout(s->inst[i].d, &ms) == MHD_YES &&
			    (int64_t)ms * 1000000LL < tmo)
				tmo = (int64_t)ms * 1000000LL;
		}
		struct timespec ts = { (time_t)(tmo / 1000000000LL), (long)(tmo % 1000000000LL) };
		int n = epoll_pwait2(s->epfd, evs, (int)ARRAY_SIZE(evs), &ts, NULL);
		if (n < 0 && errno != EINTR)
			return seterr(err, "epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct simev *e = evs[i].data.ptr;
			if (e->type == EV_STOP) {
				if (stop_fd >= 0)
					epoll_ctl(s->epfd, EPOLL_CTL_DEL, stop_fd, NULL);
				return 0;
			}
			if (e->type == EV_CONN) {
				struct simconn *sc = e->obj;
				if (sc->req && sc->req->suspended) {
					sc->req->cancelled = 1;
					simreq_wake(sc->req);
				}
			}
		}
		timers_run(s);
		/* Two passes when connections were resumed: the first takes them off the
		 * suspended list, the second writes their data. */
		for (int pass = 0; pass < 2; pass++) {
			int again = s->woke;
			s->woke = 0;
			for (size_t i = 0; i < s->ninst; i++)
				if (s->inst[i].d)
					MHD_run(s->inst[i].d);
			if (!again)
				break;
		}
		timers_run(s);
	}
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	s->log = NULL;
	for (size_t i = 0; i < s->ninst; i++)
		inst_down(&s->inst[i]);
	for (size_t i = 0; i < s->ninst; i++)
		inst_free(&s->inst[i]);
	free(s->inst);
	free(s->heap);
	free(s->host);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}

const char *sim_lib_version(void)
{
	return MHD_get_version();
}
