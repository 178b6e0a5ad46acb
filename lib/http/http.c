/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTP engine: libcurl's multi socket interface driven by one epoll loop. */
#include "../compat.h"
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define SLOT_BITS 24
#define SLOT_MASK ((1L << SLOT_BITS) - 1)
#define ERR_BODY_MAX (64u * 1024)   /* error body kept in line mode */
#define TRACE_BODY_MAX 4096         /* bytes of each body shown by -vv */
#define POOL_MIN 4096               /* recycled transfers kept at least ... */
#define RECV_BUFFER 1024            /* libcurl's receive buffer per transfer (its least) */
#define HDR_CACHE 16

/* One request; owns its easy handle (recovered through CURLOPT_PRIVATE). */
struct xfer {
	struct http_engine *e;
	CURL *h;
	long id;
	size_t slot;
	char *url;
	char *method;
	char *body;
	size_t body_len;
	struct curl_slist *own_hdrs;   /* per-request header list, else a cached one */
	struct curl_slist *cfg_hdrs;   /* header list the handle was last set up with */
	int configured;                /* the handle holds the options of url/method/... */
	int line_mode;
	int (*on_line)(void *ud, const char *line, size_t len, int64_t t_ns);
	void (*on_headers)(void *ud, long status, int64_t t_ns);
	void (*on_done)(void *ud, const struct http_response *resp);
	void *ud;
	size_t max_body;
	int64_t timeout_ns;
	int64_t connect_timeout_ns;
	int64_t stall_ns;              /* 0: no stall timer */
	int open_errno;                /* socket() failed locally (EMFILE, ...) */
	int certinfo;
	int64_t last_data;             /* mono ns of the last body byte, 0 before the first */
	struct http_lines lines;
	struct http_response resp;
	struct buf trace_req;
	struct buf trace_resp;
	int headers_done;
	int added;
	char capture[256];             /* header names to capture, comma-separated */
	enum http_err fail;            /* our own reason to stop it, or HTTP_OK */
	char failmsg[256];
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *next;             /* pool link */
};

/* A header list shared by requests with the same body/type/accept. */
struct hdr_cache {
	int has_body;
	int auth;
	char *ct;
	char *accept;
	struct curl_slist *list;
};

struct http_engine {
	CURLM *multi;
	int epfd;
	int wakefd;
	int64_t timer_at;              /* mono ns when curl wants a timeout call; -1 none */
	int in_curl;                   /* inside curl_multi_socket_action() */
	int closing;                   /* http_engine_free() running: no new requests */
	size_t active;
	size_t max_active;             /* the most requests in flight at once so far */
	uint64_t ncompleted;           /* on_done calls so far */

	struct xfer **slots;
	size_t nslots, slots_cap;
	size_t *freeslots;
	size_t nfree;
	long seq;

	struct xfer *pool;
	size_t npool;

	long *pend_add;                /* submitted from inside a callback */
	size_t npend_add, cap_add;
	long *pend_cancel;
	size_t npend_cancel, cap_cancel;

	int insecure;
	char *ca_file;
	int no_proxy_env;              /* no proxy variable set: spare libcurl the lookups */
	char *auth_header;             /* "Authorization: Bearer ..." (secret) */
	char *auth_origin;             /* send it only to this scheme://host:port, or NULL */
	char *user_agent;
	void (*trace)(void *ud, const char *msg);
	int trace_bodies;
	void *trace_ud;

	struct hdr_cache hc[HDR_CACHE];
	size_t nhc;

	size_t nstall;                 /* transfers in flight with a stall timer */
	size_t body_bytes;             /* bodies buffered by the transfers in flight */
	size_t body_budget;
	int64_t stall_check_at;        /* next scan for stalled transfers */

	struct epoll_event evs[256];
	int pwait2;                    /* epoll_pwait2 works: waits to the nanosecond */
	int64_t stamp;                 /* while reading a batch of events: when epoll returned it */

	int plog_on;
	struct http_phase_log plog;

	/*
	 * What epoll holds for each descriptor, so that a connection going idle and being
	 * reused costs no epoll_ctl. Sockets that we open for libcurl (FD_OWNED) stay
	 * registered while idle (FD_PARKED); our close callback sees them go. Others (the
	 * resolver's) are removed when libcurl says so.
	 */
	uint32_t *fdst;
	size_t nfdst;
	size_t nconns;                 /* sockets opened for libcurl and not yet closed */
};

#define FD_EVMASK (EPOLLIN | EPOLLOUT)
#define FD_REG (1u << 28)
#define FD_OWNED (1u << 29)
#define FD_PARKED (1u << 30)

static int curl_inited;

const char *http_err_name(enum http_err err)
{
	switch (err) {
	case HTTP_OK: return "ok";
	case HTTP_E_REFUSED: return "refused";
	case HTTP_E_DNS: return "dns";
	case HTTP_E_TLS: return "tls";
	case HTTP_E_TIMEOUT: return "timeout";
	case HTTP_E_STALL: return "stall";
	case HTTP_E_LOCAL: return "local";
	case HTTP_E_CONNECT: return "connect";
	case HTTP_E_TRUNCATED: return "truncated";
	case HTTP_E_TOO_BIG: return "too-big";
	case HTTP_E_ABORTED: return "aborted";
	case HTTP_E_OTHER: return "other";
	}
	return "other";
}

/* ---- line splitter ---- */

void http_lines_init(struct http_lines *l, size_t max)
{
	buf_init(&l->part, 0);
	l->max = max ? max : HTTP_LINE_MAX;
}

void http_lines_release(struct http_lines *l)
{
	buf_release(&l->part);
}

void http_lines_reset(struct http_lines *l)
{
	/* Keep small buffers for reuse, give big ones back. */
	if (l->part.cap > 65536)
		buf_release(&l->part);
	else
		buf_reset(&l->part);
}

static int deliver(struct http_lines *l, const char *p, size_t n,
		   int (*cb)(void *, const char *, size_t, int64_t), void *ud, int64_t t)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (n > l->max)
		return -1;
	/* The buffer is NUL-terminated; a stripped CR becomes the terminator. */
	((char *)p)[n] = '\0';
	return cb(ud, p, n, t) ? 1 : 0;
}

int http_lines_feed(struct http_lines *l, const char *data, size_t len,
		    int (*cb)(void *ud, const char *line, size_t len, int64_t t_ns), void *ud,
		    int64_t t_ns)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t seg = nl ? (size_t)(nl - data) : len;
		/* A CR may follow the limit, hence max + 1. */
		if (l->part.len + seg > l->max + 1) {
			buf_reset(&l->part);
			return -1;
		}
		if (buf_add(&l->part, data, seg))
			return -1;
		if (!nl)
			return 0;
		int r = deliver(l, l->part.data, l->part.len, cb, ud, t_ns);
		buf_reset(&l->part);
		if (r)
			return r;
		data += seg + 1;
		len -= seg + 1;
	}
	return 0;
}

int http_lines_finish(struct http_lines *l,
		      int (*cb)(void *ud, const char *line, size_t len, int64_t t_ns), void *ud,
		      int64_t t_ns)
{
	if (!l->part.len)
		return 0;
	int r = deliver(l, l->part.data, l->part.len, cb, ud, t_ns);
	buf_reset(&l->part);
	return r;
}

/* ---- redaction for traces ---- */

static int secret_key(const char *k, size_t n)
{
	static const char *const words[] = { "key", "token", "authorization", "secret",
					     "password" };
	for (size_t w = 0; w < ARRAY_SIZE(words); w++) {
		size_t wl = strlen(words[w]);
		for (size_t i = 0; i + wl <= n; i++)
			if (strncasecmp(k + i, words[w], wl) == 0)
				return 1;
	}
	return 0;
}

/* End of the JSON string starting at s[i] == '"': index just past the closing quote. */
static size_t str_end(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
}

void http_redact_json(const char *s, size_t len, struct buf *out)
{
	size_t i = 0;
	while (i < len) {
		if (s[i] != '"') {
			buf_add(out, s + i, 1);
			i++;
			continue;
		}
		size_t e = str_end(s, len, i);
		buf_add(out, s + i, e - i);
		/* Is this string a key? Look for ':' after whitespace. */
		size_t j = e;
		while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
			j++;
		if (j < len && s[j] == ':' && e - i >= 2 && secret_key(s + i + 1, e - i - 2)) {
			j++;
			while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
				j++;
			buf_add(out, s + e, j - e);
			if (j < len && s[j] == '"') {
				buf_adds(out, "\"***\"");
				i = str_end(s, len, j);
				continue;
			}
			i = j;
			continue;
		}
		i = e;
	}
}

void http_redact_url(const char *url, char *out, size_t n)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	size_t hl = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hl);
	if (!at) {
		snprintf(out, n, "%s", url);
		return;
	}
	snprintf(out, n, "%.*s***%s", (int)(host - url), url, at);
}

/* ---- engine ---- */

static uint32_t *fd_state(struct http_engine *e, curl_socket_t s)
{
	if (s < 0)
		return NULL;
	if ((size_t)s >= e->nfdst) {
		size_t n = e->nfdst ? e->nfdst : 256;
		while (n <= (size_t)s)
			n *= 2;
		e->fdst = xrealloc(e->fdst, n * sizeof(*e->fdst));
		memset(e->fdst + e->nfdst, 0, (n - e->nfdst) * sizeof(*e->fdst));
		e->nfdst = n;
	}
	return &e->fdst[s];
}

static void fd_ctl(struct http_engine *e, curl_socket_t s, uint32_t *st, uint32_t want)
{
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.fd = s;
	if (*st & FD_REG) {
		if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
			epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev);
	} else {
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) && errno == EEXIST)
			epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev);
	}
	*st = (*st & FD_OWNED) | FD_REG | want;
}

static void fd_unreg(struct http_engine *e, curl_socket_t s, uint32_t *st)
{
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	if (*st & FD_REG)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, &ev);
	*st &= FD_OWNED;
}

static int sock_cb(CURL *h, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_engine *e = userp;
	uint32_t *st = fd_state(e, s);
	(void)h;
	(void)socketp;
	if (!st)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if ((*st & (FD_OWNED | FD_REG)) == (FD_OWNED | FD_REG))
			*st |= FD_PARKED; /* idle: keep it registered until reused or closed */
		else
			fd_unreg(e, s, st);
		return 0;
	}
	uint32_t want = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	*st &= ~FD_PARKED;
	if ((*st & FD_OWNED) && (*st & FD_REG) && (*st & FD_EVMASK) == want)
		return 0;
	fd_ctl(e, s, st, want);
	return 0;
}

static curl_socket_t open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = clientp;
	struct http_engine *e = x->e;
	(void)purpose;
	curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (s == CURL_SOCKET_BAD) {
		x->open_errno = errno;
		return s;
	}
	uint32_t *st = fd_state(e, s);
	if (st)
		*st = FD_OWNED; /* a new descriptor is in no epoll set */
	e->nconns++;
	return s;
}

static int close_cb(void *clientp, curl_socket_t s)
{
	struct http_engine *e = clientp;
	uint32_t *st = fd_state(e, s);
	if (st) {
		fd_unreg(e, s, st);
		*st = 0;
	}
	if (e->nconns)
		e->nconns--;
	return close(s);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http_engine *e = userp;
	(void)m;
	e->timer_at = timeout_ms < 0 ? -1 : mono_ns() + (int64_t)timeout_ms * 1000000;
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

long http_fd_budget(long *limit)
{
	raise_nofile();
	struct rlimit rl;
	long soft = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		soft = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576 ? 1048576 :
		       (long)rl.rlim_cur;
	if (limit)
		*limit = soft;
	long b = soft - HTTP_FD_RESERVE;
	return b < 4 ? 4 : b;
}

struct http_engine *http_engine_new(const struct http_engine_opts *o, char *err)
{
	static const struct http_engine_opts none;
	if (!o)
		o = &none;
	if (!curl_inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			seterr(err, "cannot initialise libcurl");
			return NULL;
		}
		curl_inited = 1;
	}
	struct http_engine *e = xcalloc(1, sizeof(*e));
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->epfd < 0 || e->wakefd < 0) {
		seterr(err, "cannot create the event loop: %s", strerror(errno));
		goto fail;
	}
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = e->wakefd;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &ev)) {
		seterr(err, "cannot create the event loop: %s", strerror(errno));
		goto fail;
	}
	{
		/* A wait of zero: does epoll_pwait2 exist here (Linux 5.11; not under valgrind)? */
		struct timespec zero = { 0, 0 };
		e->pwait2 = epoll_pwait2(e->epfd, e->evs, 1, &zero, NULL) >= 0;
		if (e->pwait2)
			prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
	}
	e->multi = curl_multi_init();
	if (!e->multi) {
		seterr(err, "cannot initialise libcurl");
		goto fail;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	/* Keep idle connections between bench steps instead of curl's 4x-handles default. */
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 100000L);
	if (o->max_host_conns > 0)
		curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, o->max_host_conns);
	e->timer_at = -1;
	e->seq = 1;
	e->insecure = o->insecure;
	e->ca_file = o->ca_file && *o->ca_file ? xstrdup(o->ca_file) : NULL;
	/* libcurl reads these (as detect_proxy() does) on every request; when none is set,
	 * saying "no proxy" up front gives the same result without the lookups. */
	e->no_proxy_env = 1;
	static const char *const proxy_vars[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
						  "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++) {
		const char *v = getenv(proxy_vars[i]);
		if (v && *v)
			e->no_proxy_env = 0;
	}
	if (o->bearer_token && *o->bearer_token) {
		e->auth_header = xasprintf("Authorization: Bearer %s", o->bearer_token);
		secret_note(o->bearer_token);
		if (o->bearer_scope) {
			const char *h = strstr(o->bearer_scope, "://");
			h = h ? h + 3 : o->bearer_scope;
			e->auth_origin = xstrndup(o->bearer_scope,
						  (size_t)(h - o->bearer_scope) + strcspn(h, "/?#"));
		}
	}
	e->user_agent = o->user_agent ? xstrdup(o->user_agent)
				      : xstrdup("obridge/" OBRIDGE_VERSION_STRING);
	e->body_budget = o->body_budget ? o->body_budget : HTTP_BODY_BUDGET_DEFAULT;
	e->trace = o->trace;
	e->trace_bodies = o->trace_bodies;
	e->trace_ud = o->trace_ud;
	/* Connections beyond what the descriptors allow wait in libcurl's queue instead of
	 * failing at socket() (which would look like the server's fault). */
	curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, http_fd_budget(NULL));
	return e;
fail:
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->wakefd >= 0)
		close(e->wakefd);
	free(e);
	return NULL;
}

/* Wipe the token out of a header list before freeing it. */
static void slist_free_wiped(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		if (strncasecmp(p->data, "Authorization:", 14) == 0)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void xfer_destroy(struct xfer *x)
{
	if (x->h)
		curl_easy_cleanup(x->h);
	free(x->url);
	free(x->method);
	http_lines_release(&x->lines);
	buf_release(&x->resp.body);
	buf_release(&x->trace_req);
	buf_release(&x->trace_resp);
	free(x);
}

void http_engine_free(struct http_engine *e)
{
	if (!e)
		return;
	e->closing = 1; /* http_submit() now fails, so this ends */
	http_cancel_all(e);
	while (e->pool) {
		struct xfer *x = e->pool;
		e->pool = x->next;
		xfer_destroy(x);
	}
	for (size_t i = 0; i < e->nhc; i++) {
		slist_free_wiped(e->hc[i].list);
		free(e->hc[i].ct);
		free(e->hc[i].accept);
	}
	curl_multi_cleanup(e->multi);
	close(e->epfd);
	close(e->wakefd);
	if (e->auth_header)
		secret_free(e->auth_header);
	free(e->auth_origin);
	free(e->ca_file);
	free(e->user_agent);
	free(e->slots);
	free(e->freeslots);
	free(e->pend_add);
	free(e->pend_cancel);
	free(e->fdst);
	free(e);
}

/* ---- phases ---- */

void http_phases_enable(struct http_engine *e, int on)
{
	e->plog_on = on;
	e->plog.n = 0;
	e->plog.overflow = 0;
}

void http_mark(struct http_engine *e, int ph, int64_t t)
{
	struct http_phase_log *l = &e->plog;
	if (!e->plog_on || (l->n && l->ph[l->n - 1] == ph))
		return;
	if (l->n == HTTP_PHASE_LOG) {
		l->overflow = 1;
		return;
	}
	l->t[l->n] = t ? t : mono_ns();
	l->ph[l->n++] = (unsigned char)ph;
}

const struct http_phase_log *http_phases(const struct http_engine *e)
{
	return &e->plog;
}

void http_phases_clear(struct http_engine *e, int ph, int64_t t)
{
	e->plog.n = 0;
	e->plog.overflow = 0;
	http_mark(e, ph, t);
}

int http_precise_wait(const struct http_engine *e)
{
	return e->pwait2;
}

static struct xfer *lookup(const struct http_engine *e, long id)
{
	if (id <= 0)
		return NULL;
	size_t slot = (size_t)(id & SLOT_MASK);
	if (slot >= e->nslots || !e->slots[slot] || e->slots[slot]->id != id)
		return NULL;
	return e->slots[slot];
}

static void push_id(long **arr, size_t *n, size_t *cap, long id)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*arr = xrealloc(*arr, *cap * sizeof(long));
	}
	(*arr)[(*n)++] = id;
}

/* Whether the key goes to url: everywhere, or only to the origin of bearer_scope. */
static int auth_for(const struct http_engine *e, const char *url)
{
	if (!e->auth_header)
		return 0;
	if (!e->auth_origin)
		return 1;
	size_t l = strlen(e->auth_origin);
	return strncasecmp(url, e->auth_origin, l) == 0 && strchr("/?#", url[l]);
}

static struct curl_slist *build_hdrs(const struct http_engine *e, int auth, int has_body,
				     const char *ct, const char *accept)
{
	struct curl_slist *l = NULL;
	char line[512];
	if (auth)
		l = curl_slist_append(l, e->auth_header);
	if (has_body) {
		l = curl_slist_append(l, "Expect:");
		snprintf(line, sizeof(line), "Content-Type: %s", ct);
		l = curl_slist_append(l, line);
	}
	if (accept) {
		snprintf(line, sizeof(line), "Accept: %s", accept);
		l = curl_slist_append(l, line);
	}
	return l;
}

static int streq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A shared header list for this combination, or a new one owned by x. */
static struct curl_slist *get_hdrs(struct http_engine *e, struct xfer *x, int has_body,
				   const char *ct, const char *accept)
{
	if (!has_body)
		ct = NULL;
	int auth = auth_for(e, x->url);
	for (size_t i = 0; i < e->nhc; i++)
		if (e->hc[i].has_body == has_body && e->hc[i].auth == auth &&
		    streq_null(e->hc[i].ct, ct) && streq_null(e->hc[i].accept, accept))
			return e->hc[i].list;
	struct curl_slist *l = build_hdrs(e, auth, has_body, ct, accept);
	if (e->nhc < HDR_CACHE) {
		struct hdr_cache *c = &e->hc[e->nhc++];
		c->has_body = has_body;
		c->auth = auth;
		c->ct = ct ? xstrdup(ct) : NULL;
		c->accept = accept ? xstrdup(accept) : NULL;
		c->list = l;
		return l;
	}
	x->own_hdrs = l;
	return l;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud);
static size_t on_write(char *p, size_t sz, size_t nm, void *ud);

static struct xfer *xfer_get(struct http_engine *e)
{
	struct xfer *x = e->pool;
	if (x) {
		e->pool = x->next;
		e->npool--;
		return x;
	}
	x = xcalloc(1, sizeof(*x));
	x->h = curl_easy_init();
	if (!x->h) {
		free(x);
		return NULL;
	}
	http_lines_init(&x->lines, HTTP_LINE_MAX);
	return x;
}

/* Return a finished transfer to the pool, clearing per-request state. */
static void xfer_put(struct http_engine *e, struct xfer *x)
{
	/* url and method stay: they describe how the handle is still set up. */
	free(x->body);
	x->body = NULL;
	if (x->own_hdrs) {
		slist_free_wiped(x->own_hdrs);
		x->own_hdrs = NULL;
		x->cfg_hdrs = NULL; /* the handle points at the freed list: set it up anew */
	}
	http_lines_reset(&x->lines);
	if (x->resp.body.cap > 65536)
		buf_release(&x->resp.body);
	buf_reset(&x->resp.body);
	buf_release(&x->trace_req);
	buf_release(&x->trace_resp);
	/* ... and up to as many as were ever in flight at once: freeing them would only leave
	 * holes in the heap that the next burst's allocations do not fit. */
	if (e->npool >= POOL_MIN && e->npool >= e->max_active) {
		xfer_destroy(x);
		return;
	}
	x->next = e->pool;
	e->pool = x;
	e->npool++;
}

/* Point the handle at this request's body (the pointer changes every time). */
static void setup_body(struct xfer *x)
{
	if (x->body || strcmp(x->method, "POST") == 0) {
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body ? x->body : "");
	}
}

/* "SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384": keep "TLSv1.3". */
static int tls_debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
	(void)h;
	struct xfer *x = ud;
	static const char pre[] = "SSL connection using ";
	if (type != CURLINFO_TEXT || size <= sizeof(pre) - 1 || memcmp(data, pre, sizeof(pre) - 1))
		return 0;
	const char *v = data + sizeof(pre) - 1;
	size_t n = 0, room = size - (sizeof(pre) - 1);
	while (n < room && n + 1 < sizeof(x->resp.tls_version) && v[n] != ' ' && v[n] != '\n' &&
	       v[n] != '/')
		n++;
	memcpy(x->resp.tls_version, v, n);
	x->resp.tls_version[n] = '\0';
	return 0;
}

/* The connection is ready (new or reused) and the request is about to be written. */
static int prereq_cb(void *ud, char *ip, char *lip, int port, int lport)
{
	struct xfer *x = ud;
	(void)ip;
	(void)lip;
	(void)port;
	(void)lport;
	x->resp.t.wire = mono_ns();
	return CURL_PREREQFUNC_OK;
}

static void setup_easy(struct http_engine *e, struct xfer *x, struct curl_slist *hdrs)
{
	CURL *h = x->h;
	if (x->configured)
		curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, x->url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, e->user_agent);
	if (e->no_proxy_env)
		curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, e);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, prereq_cb);
	/* A stream's lines are a few hundred bytes: libcurl's 16 KB receive buffer per
	 * transfer is most of a stream's memory at thousands of streams. */
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, x);
	if (x->timeout_ns > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
				 (long)((x->timeout_ns + 999999) / 1000000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)((x->connect_timeout_ns + 999999) / 1000000));
	if (e->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (e->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->ca_file);
	if (x->certinfo) {
		curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
		/* libcurl names the protocol version only in its informational text */
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, tls_debug_cb);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, x);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}
	int has_body = x->body != NULL;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	x->cfg_hdrs = hdrs;
	x->configured = 1;
	if (strcmp(x->method, "GET") == 0 && !has_body) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(x->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(x->method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
		} else {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, x->method);
		}
		setup_body(x);
	}
}

long http_submit(struct http_engine *e, const struct http_req *r, char *err)
{
	if (!r || !r->url || !*r->url)
		return seterr(err, "no URL given");
	if (r->line_mode && !r->on_line)
		return seterr(err, "line mode without on_line callback");
	if (e->closing)
		return seterr(err, "the HTTP engine is shutting down");
	struct xfer *x = xfer_get(e);
	if (!x)
		return seterr(err, "cannot create a libcurl handle");
	int64_t now = mono_ns();
	const char *method = r->method ? r->method : "GET";
	int64_t cto = r->connect_timeout_ns > 0 ? r->connect_timeout_ns : 10000000000LL;
	/* A pooled handle still set up for the same request needs only its body. */
	int same = x->configured && strcmp(x->url, r->url) == 0 &&
		   strcmp(x->method, method) == 0 && x->timeout_ns == r->timeout_ns &&
		   x->connect_timeout_ns == cto && x->certinfo == (r->certinfo != 0);
	if (!same) {
		free(x->url);
		free(x->method);
		x->url = xstrdup(r->url);
		x->method = xstrdup(method);
	}
	x->e = e;
	if (r->body) {
		x->body_len = r->body_len ? r->body_len : strlen(r->body);
		x->body = xmalloc(x->body_len + 1);
		memcpy(x->body, r->body, x->body_len);
		x->body[x->body_len] = '\0';
	} else {
		x->body_len = 0;
	}
	x->line_mode = r->line_mode;
	x->on_line = r->on_line;
	x->on_headers = r->on_headers;
	snprintf(x->capture, sizeof(x->capture), "%s", r->capture ? r->capture : "");
	x->on_done = r->on_done;
	x->ud = r->ud;
	x->max_body = r->max_body ? r->max_body : HTTP_BODY_MAX_DEFAULT;
	x->timeout_ns = r->timeout_ns;
	x->certinfo = r->certinfo != 0;
	x->open_errno = 0;
	x->stall_ns = r->stall_ns > 0 ? r->stall_ns : 0;
	x->last_data = 0;
	if (x->stall_ns)
		e->nstall++;
	x->connect_timeout_ns = cto;
	x->headers_done = 0;
	x->added = 0;
	x->fail = HTTP_OK;
	x->failmsg[0] = '\0';
	x->errbuf[0] = '\0';
	struct buf keep = x->resp.body;
	memset(&x->resp, 0, sizeof(x->resp));
	x->resp.body = keep;
	x->resp.body.max = x->line_mode ? ERR_BODY_MAX : x->max_body;
	x->resp.url = x->url;
	x->resp.method = x->method;
	x->resp.t.start = r->start_at ? r->start_at : now;
	if (e->trace && e->trace_bodies && x->body) {
		buf_init(&x->trace_req, 0);
		http_redact_json(x->body, x->body_len < TRACE_BODY_MAX ? x->body_len
								       : TRACE_BODY_MAX,
				 &x->trace_req);
	}
	const char *ct = r->content_type ? r->content_type : "application/json";
	struct curl_slist *hdrs = get_hdrs(e, x, x->body != NULL, ct, r->accept);
	if (same && hdrs == x->cfg_hdrs && !x->own_hdrs)
		setup_body(x);
	else
		setup_easy(e, x, hdrs);
	curl_easy_setopt(x->h, CURLOPT_FRESH_CONNECT, r->fresh_connect ? 1L : 0L);

	/* Slot and id. */
	size_t slot;
	if (e->nfree) {
		slot = e->freeslots[--e->nfree];
	} else {
		if (e->nslots == e->slots_cap) {
			e->slots_cap = e->slots_cap ? e->slots_cap * 2 : 64;
			e->slots = xrealloc(e->slots, e->slots_cap * sizeof(*e->slots));
			e->freeslots = xrealloc(e->freeslots,
						e->slots_cap * sizeof(*e->freeslots));
		}
		slot = e->nslots++;
		if (slot > (size_t)SLOT_MASK) {
			e->nslots--;
			xfer_put(e, x);
			return seterr(err, "too many requests in flight");
		}
	}
	x->slot = slot;
	x->id = (e->seq++ << SLOT_BITS) | (long)slot;
	e->slots[slot] = x;
	if (++e->active > e->max_active)
		e->max_active = e->active;

	if (e->in_curl) {
		push_id(&e->pend_add, &e->npend_add, &e->cap_add, x->id);
	} else {
		x->resp.t.sent = mono_ns();
		CURLMcode mc = curl_multi_add_handle(e->multi, x->h);
		if (mc != CURLM_OK) {
			e->slots[slot] = NULL;
			e->freeslots[e->nfree++] = slot;
			e->active--;
			xfer_put(e, x);
			return seterr(err, "cannot start request: %s", curl_multi_strerror(mc));
		}
		x->added = 1;
	}
	return x->id;
}

size_t http_active(const struct http_engine *e)
{
	return e->active;
}

size_t http_conns(const struct http_engine *e)
{
	return e->nconns;
}

/* Keep the header line p (n bytes) when its name is one of x->capture. */
static void capture_header(struct xfer *x, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	if (!colon)
		return;
	size_t nl = (size_t)(colon - p);
	for (const char *c = x->capture; *c;) {
		size_t cl = strcspn(c, ",");
		if (cl == nl && strncasecmp(c, p, nl) == 0) {
			const char *v = colon + 1;
			size_t vl = n - nl - 1;
			while (vl && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
				vl--;
			snprintf(x->resp.header_name, sizeof(x->resp.header_name), "%.*s", (int)nl, p);
			snprintf(x->resp.header_value, sizeof(x->resp.header_value), "%.*s", (int)vl,
				 v);
			return;
		}
		c += cl;
		c += *c == ',';
	}
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;
	int64_t now = x->e->stamp ? x->e->stamp : mono_ns();
	if (!x->resp.t.first_byte)
		x->resp.t.first_byte = now;
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new status line (also after a 1xx reply). */
		x->resp.content_type[0] = '\0';
		x->resp.header_name[0] = x->resp.header_value[0] = '\0';
		return n;
	}
	if (n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		long code = 0;
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && !x->headers_done) {
			x->headers_done = 1;
			x->resp.status = code;
			if (x->on_headers)
				x->on_headers(x->ud, code, now);
		}
		return n;
	}
	if (x->capture[0] && !x->resp.header_name[0])
		capture_header(x, p, n);
	if (n > 13 && strncasecmp(p, "content-type:", 13) == 0) {
		const char *v = p + 13;
		size_t vl = n - 13;
		while (vl && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl >= sizeof(x->resp.content_type))
			vl = sizeof(x->resp.content_type) - 1;
		memcpy(x->resp.content_type, v, vl);
		x->resp.content_type[vl] = '\0';
	}
	return n;
}

static void fmt_size(size_t n, char *out, size_t len)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(out, len, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, len, "%zu KiB", n / 1024);
	else
		snprintf(out, len, "%zu bytes", n);
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
	struct xfer *x = ud;
	size_t n = sz * nm;
	if (x->fail)
		return 0;
	int64_t now = x->e->stamp ? x->e->stamp : mono_ns();
	if (x->stall_ns && n)
		x->last_data = now;
	if (!x->headers_done) {
		/* Body without a header block end (HTTP/0.9 style); treat as headers done. */
		long code = 0;
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
		x->resp.status = code;
		x->headers_done = 1;
	}
	if (n > x->max_body - x->resp.bytes) {
		char s[32];
		fmt_size(x->max_body, s, sizeof(s));
		x->fail = HTTP_E_TOO_BIG;
		snprintf(x->failmsg, sizeof(x->failmsg), "response body larger than %s", s);
		return 0;
	}
	x->resp.bytes += n;
	if (x->e->trace && x->e->trace_bodies && x->trace_resp.len < TRACE_BODY_MAX)
		buf_add(&x->trace_resp, p,
			n < TRACE_BODY_MAX - x->trace_resp.len ? n
							       : TRACE_BODY_MAX - x->trace_resp.len);
	if (!x->line_mode) {
		if (n > x->e->body_budget - x->e->body_bytes) {
			char s[32];
			fmt_size(x->e->body_budget, s, sizeof(s));
			x->fail = HTTP_E_TOO_BIG;
			snprintf(x->failmsg, sizeof(x->failmsg), "the replies in flight hold more than "
				 "%s together (the engine's budget for buffered bodies)", s);
			return 0;
		}
		x->e->body_bytes += n;
		if (buf_add(&x->resp.body, p, n)) {
			x->fail = HTTP_E_TOO_BIG;
			snprintf(x->failmsg, sizeof(x->failmsg), "response body too large");
			return 0;
		}
		return n;
	}
	if (x->resp.status >= 400 && x->resp.body.len < ERR_BODY_MAX) {
		size_t room = ERR_BODY_MAX - x->resp.body.len;
		buf_add(&x->resp.body, p, n < room ? n : room);
	}
	int r = http_lines_feed(&x->lines, p, n, x->on_line, x->ud, now);
	if (r < 0) {
		char s[32];
		fmt_size(x->lines.max, s, sizeof(s));
		x->fail = HTTP_E_TOO_BIG;
		snprintf(x->failmsg, sizeof(x->failmsg), "response line longer than %s", s);
		return 0;
	}
	if (r > 0) {
		x->fail = HTTP_E_ABORTED;
		snprintf(x->failmsg, sizeof(x->failmsg), "stopped by the caller");
		return 0;
	}
	return n;
}

static void fmt_secs(int64_t ns, char *out, size_t n)
{
	double s = ns / 1e9;
	if (s < 10)
		snprintf(out, n, "%.1fs", s);
	else
		snprintf(out, n, "%.0fs", s);
}

/* Host name of a URL without user info or port, for messages. */
static void url_host(const char *url, char *out, size_t n)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	size_t hl = strcspn(h, "/?#");
	const char *at = memchr(h, '@', hl);
	if (at) {
		hl -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	if (hl && h[0] == '[') {
		const char *rb = memchr(h, ']', hl);
		if (rb)
			hl = (size_t)(rb - h) + 1;
	} else {
		const char *colon = memchr(h, ':', hl);
		if (colon)
			hl = (size_t)(colon - h);
	}
	snprintf(out, n, "%.*s", (int)hl, h);
}

/* The useful end of an OpenSSL message ("...SSL routines::wrong version number"). */
static const char *tls_reason(const char *detail)
{
	const char *p = strstr(detail, "::");
	return p && p[2] ? p + 2 : detail;
}

/* Fill resp.err and resp.errmsg from the curl result. */
static void classify(struct xfer *x, CURLcode rc, int connected)
{
	struct http_response *r = &x->resp;
	const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	char host[256], t[32];
	if (rc == CURLE_OK) {
		r->err = x->fail;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", x->fail ? x->failmsg : "");
		return;
	}
	if (x->fail) {
		r->err = x->fail;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", x->failmsg);
		return;
	}
	if (x->open_errno) {
		long lim = 0;
		http_fd_budget(&lim);
		r->err = HTTP_E_LOCAL;
		snprintf(r->errmsg, sizeof(r->errmsg), "local error, not the server's: cannot open "
			 "a socket: %s (ulimit -n is %ld)", strerror(x->open_errno), lim);
		return;
	}
	long oserr = 0;
	curl_easy_getinfo(x->h, CURLINFO_OS_ERRNO, &oserr);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		url_host(x->url, host, sizeof(host));
		r->err = HTTP_E_DNS;
		snprintf(r->errmsg, sizeof(r->errmsg), "cannot resolve host '%s'", host);
		break;
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED || (!oserr && strstr(detail, "refused"))) {
			r->err = HTTP_E_REFUSED;
			snprintf(r->errmsg, sizeof(r->errmsg), "connection refused");
		} else if (oserr == ETIMEDOUT) {
			r->err = HTTP_E_TIMEOUT;
			snprintf(r->errmsg, sizeof(r->errmsg), "connect timed out");
		} else {
			r->err = HTTP_E_CONNECT;
			if (oserr)
				snprintf(r->errmsg, sizeof(r->errmsg), "cannot connect: %s",
					 strerror((int)oserr));
			else
				snprintf(r->errmsg, sizeof(r->errmsg), "cannot connect: %s",
					 detail);
		}
		break;
	case CURLE_OPERATION_TIMEDOUT:
		r->err = HTTP_E_TIMEOUT;
		if (!connected) {
			fmt_secs(x->connect_timeout_ns, t, sizeof(t));
			if (x->timeout_ns > 0 && x->timeout_ns < x->connect_timeout_ns)
				fmt_secs(x->timeout_ns, t, sizeof(t));
			snprintf(r->errmsg, sizeof(r->errmsg), "connect timed out after %s", t);
		} else {
			fmt_secs(x->timeout_ns > 0 ? x->timeout_ns : r->t.end - r->t.sent, t,
				 sizeof(t));
			snprintf(r->errmsg, sizeof(r->errmsg), "timed out after %s", t);
		}
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		r->err = HTTP_E_TLS;
		snprintf(r->errmsg, sizeof(r->errmsg), "TLS failure: %s%s", tls_reason(detail),
			 strstr(detail, "wrong version number") ? " (plain HTTP on this port?)"
								: "");
		break;
	case CURLE_PARTIAL_FILE:
		r->err = HTTP_E_TRUNCATED;
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "connection closed before the end of the body (after %zu bytes)",
			 r->bytes);
		break;
	case CURLE_RECV_ERROR:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP2:
		if (r->status > 0) {
			r->err = HTTP_E_TRUNCATED;
			snprintf(r->errmsg, sizeof(r->errmsg),
				 "response cut off after %zu bytes: %s", r->bytes, detail);
		} else {
			r->err = HTTP_E_CONNECT;
			snprintf(r->errmsg, sizeof(r->errmsg),
				 oserr == ECONNRESET ? "connection reset before a reply"
						     : "receive failure before a reply: %s",
				 detail);
		}
		break;
	case CURLE_GOT_NOTHING:
		r->err = HTTP_E_CONNECT;
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "server closed the connection without replying");
		break;
	case CURLE_SEND_ERROR:
		r->err = HTTP_E_CONNECT;
		snprintf(r->errmsg, sizeof(r->errmsg), "send failure: %s", detail);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		r->err = r->status > 0 ? HTTP_E_TRUNCATED : HTTP_E_OTHER;
		snprintf(r->errmsg, sizeof(r->errmsg), "invalid HTTP reply: %s", detail);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		r->err = HTTP_E_ABORTED;
		snprintf(r->errmsg, sizeof(r->errmsg), "aborted");
		break;
	case CURLE_FILESIZE_EXCEEDED:
		r->err = HTTP_E_TOO_BIG;
		snprintf(r->errmsg, sizeof(r->errmsg), "response body too large");
		break;
	case CURLE_OUT_OF_MEMORY:
		if (!x->headers_done) {
			/* libcurl's cap on a response's headers, not this host's memory */
			r->err = HTTP_E_TOO_BIG;
			snprintf(r->errmsg, sizeof(r->errmsg), "response headers too large");
		} else {
			r->err = HTTP_E_OTHER;
			snprintf(r->errmsg, sizeof(r->errmsg), "out of memory: %s", detail);
		}
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		r->err = HTTP_E_OTHER;
		snprintf(r->errmsg, sizeof(r->errmsg), "invalid URL '%s': %s", x->url, detail);
		break;
	default:
		r->err = HTTP_E_OTHER;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", detail);
		break;
	}
}

/* Replace every occurrence of the token in b with "***" (a server may echo it back). */
static void scrub_token(struct buf *b, const char *tok)
{
	size_t tl = strlen(tok), from = 0;
	char *p;
	if (!tl)
		return;
	while (from < b->len && (p = memmem(b->data + from, b->len - from, tok, tl))) {
		size_t off = (size_t)(p - b->data);
		if (tl >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + tl, b->len - off - tl + 1);
			b->len -= tl - 3;
			from = off + 3;
		} else {
			memset(p, '*', tl);
			from = off + tl;
		}
	}
}

static void trace_done(struct http_engine *e, struct xfer *x)
{
	struct http_response *r = &x->resp;
	struct buf b;
	char url[1024];
	buf_init(&b, 0);
	http_redact_url(x->url, url, sizeof(url));
	buf_addf(&b, "%s %s", x->method, url);
	if (r->err)
		buf_addf(&b, " -> %s (%s)", r->errmsg, http_err_name(r->err));
	else
		buf_addf(&b, " -> %ld", r->status);
	int64_t base = r->t.sent ? r->t.sent : r->t.start;
	if (r->t.connected && !r->reused)
		buf_addf(&b, " connect %.1fms", (r->t.connected - base) / 1e6);
	if (r->t.first_byte)
		buf_addf(&b, " first-byte %.1fms", (r->t.first_byte - base) / 1e6);
	buf_addf(&b, " total %.1fms %zu bytes%s", (r->t.end - r->t.start) / 1e6, r->bytes,
		 r->reused ? " (reused connection)" : "");
	if (e->trace_bodies) {
		if (x->trace_req.len)
			buf_addf(&b, "\n> %s", buf_str(&x->trace_req));
		if (x->trace_resp.len) {
			buf_adds(&b, "\n< ");
			http_redact_json(x->trace_resp.data, x->trace_resp.len, &b);
			if (r->bytes > x->trace_resp.len)
				buf_addf(&b, " ... (%zu more bytes)", r->bytes - x->trace_resp.len);
		}
	}
	if (e->auth_header)
		scrub_token(&b, e->auth_header + strlen("Authorization: Bearer "));
	e->trace(e->trace_ud, buf_str(&b));
	explicit_bzero(b.data, b.len);
	buf_release(&b);
}

/* The leaf certificate's "Expire date" from CURLINFO_CERTINFO ("Jan  2 03:04:05 2027 GMT"),
 * as seconds since the epoch; 0 when not known (a reused connection has none). */
static int64_t cert_expiry(CURL *h)
{
	struct curl_certinfo *ci = NULL;
	if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
		return 0;
	for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
		if (strncmp(l->data, "Expire date:", 12))
			continue;
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *v = l->data + 12;
		while (*v == ' ')
			v++;
		const char *end = strptime(v, "%b %d %H:%M:%S %Y", &tm);
		if (!end)
			return 0;
		return (int64_t)timegm(&tm);
	}
	return 0;
}

/* Complete x: remove it from curl, fill the response, call on_done, recycle. */
static void finish(struct http_engine *e, struct xfer *x, CURLcode rc, int aborted)
{
	struct http_response *r = &x->resp;
	int64_t now = mono_ns();
	if (aborted && !x->fail) {
		x->fail = HTTP_E_ABORTED;
		snprintf(x->failmsg, sizeof(x->failmsg), "cancelled");
	}
	curl_off_t ct = 0, act = 0, pre = 0;
	long nconn = 0;
	if (x->added) {
		curl_easy_getinfo(x->h, CURLINFO_CONNECT_TIME_T, &ct);
		curl_easy_getinfo(x->h, CURLINFO_APPCONNECT_TIME_T, &act);
		curl_easy_getinfo(x->h, CURLINFO_PRETRANSFER_TIME_T, &pre);
		curl_easy_getinfo(x->h, CURLINFO_NUM_CONNECTS, &nconn);
		if (!r->status)
			curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &r->status);
	}
	r->t.end = now;
	/* connected: the request could be sent (new or reused connection). */
	int connected = r->t.first_byte || pre > 0 || ct > 0 || act > 0;
	if (x->added && rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST) {
		if (nconn == 0 && (connected || rc == CURLE_OK)) {
			r->reused = 1;
			r->t.connected = r->t.sent;
			connected = 1;
		} else if (ct > 0 || act > 0) {
			r->t.connected = r->t.sent + (int64_t)(act > ct ? act : ct) * 1000;
		}
	}
	if (aborted)
		rc = CURLE_ABORTED_BY_CALLBACK;
	classify(x, rc, connected);
	text_redact(x->resp.errmsg);
	if (x->certinfo && x->added)
		r->cert_expiry_s = cert_expiry(x->h);
	if (x->line_mode && rc == CURLE_OK && !x->fail) {
		int lr = http_lines_finish(&x->lines, x->on_line, x->ud, now);
		if (lr < 0) {
			r->err = HTTP_E_TOO_BIG;
			snprintf(r->errmsg, sizeof(r->errmsg), "response line too long");
		} else if (lr > 0) {
			r->err = HTTP_E_ABORTED;
			snprintf(r->errmsg, sizeof(r->errmsg), "stopped by the caller");
		}
	}
	if (x->added) {
		curl_multi_remove_handle(e->multi, x->h);
		x->added = 0;
	}
	if (x->stall_ns) {
		e->nstall--;
		x->stall_ns = 0;
	}
	if (!x->line_mode) {
		size_t held = x->resp.body.len < e->body_bytes ? x->resp.body.len : e->body_bytes;
		e->body_bytes -= held;
	}
	e->slots[x->slot] = NULL;
	e->freeslots[e->nfree++] = x->slot;
	e->active--;
	e->ncompleted++;
	x->id = 0;
	if (e->trace)
		trace_done(e, x);
	if (x->on_done)
		x->on_done(x->ud, r);
	xfer_put(e, x);
}

#define STALL_TICK_NS 50000000LL

/* Fail the transfers whose body stopped for their stall_ns (outside libcurl's callbacks). */
static void stall_scan(struct http_engine *e)
{
	if (!e->nstall || e->in_curl)
		return;
	int64_t now = mono_ns();
	if (now < e->stall_check_at)
		return;
	e->stall_check_at = now + STALL_TICK_NS;
	/* on_done may submit: slots can move, so index them afresh each time */
	for (size_t i = 0; i < e->nslots; i++) {
		struct xfer *x = e->slots[i];
		if (!x || !x->stall_ns || !x->last_data || x->fail ||
		    now - x->last_data < x->stall_ns)
			continue;
		char d[32];
		units_fmt_duration(x->stall_ns, d, sizeof(d));
		x->fail = HTTP_E_STALL;
		snprintf(x->failmsg, sizeof(x->failmsg), "stalled: a gap of %s with no data", d);
		finish(e, x, CURLE_ABORTED_BY_CALLBACK, 1);
	}
}

void http_cancel(struct http_engine *e, long id)
{
	struct xfer *x = lookup(e, id);
	if (!x)
		return;
	if (!x->fail) {
		x->fail = HTTP_E_ABORTED;
		snprintf(x->failmsg, sizeof(x->failmsg), "cancelled");
	}
	if (e->in_curl) {
		push_id(&e->pend_cancel, &e->npend_cancel, &e->cap_cancel, id);
		return;
	}
	finish(e, x, CURLE_ABORTED_BY_CALLBACK, 1);
}

void http_cancel_all(struct http_engine *e)
{
	/* Only what was in flight at the call: callbacks may submit new requests. */
	long seq = e->seq;
	for (size_t i = 0; i < e->nslots; i++)
		if (e->slots[i] && (e->slots[i]->id >> SLOT_BITS) < seq)
			http_cancel(e, e->slots[i]->id);
}

static void check_finished(struct http_engine *e)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(e->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x)
			finish(e, x, m->data.result, 0);
	}
}

static void socket_action(struct http_engine *e, curl_socket_t s, int flags)
{
	int running;
	e->in_curl = 1;
	curl_multi_socket_action(e->multi, s, flags, &running);
	e->in_curl = 0;
}

/*
 * Finish completed transfers, apply what callbacks asked for, start new ones, and run
 * curl's due timeouts, until nothing is left to do or a round limit is hit (callbacks
 * that resubmit on a fast server can keep it busy). At the limit, arm an immediate timer
 * so that the next poll does not block while completions may still be queued.
 */
static void settle(struct http_engine *e)
{
	for (int round = 0; round < 64; round++) {
		http_mark(e, HTTP_PH_DONE, 0);
		check_finished(e);
		for (size_t i = 0; i < e->npend_cancel; i++) {
			struct xfer *x = lookup(e, e->pend_cancel[i]);
			if (x)
				finish(e, x, CURLE_ABORTED_BY_CALLBACK, 1);
		}
		e->npend_cancel = 0;
		for (size_t i = 0; i < e->npend_add; i++) {
			struct xfer *x = lookup(e, e->pend_add[i]);
			if (!x || x->added)
				continue;
			x->resp.t.sent = mono_ns();
			CURLMcode mc = curl_multi_add_handle(e->multi, x->h);
			if (mc == CURLM_OK) {
				x->added = 1;
			} else {
				x->fail = HTTP_E_OTHER;
				snprintf(x->failmsg, sizeof(x->failmsg), "cannot start request: %s",
					 curl_multi_strerror(mc));
				finish(e, x, CURLE_FAILED_INIT, 0);
			}
		}
		e->npend_add = 0;
		if (e->timer_at >= 0 && e->timer_at <= mono_ns()) {
			e->timer_at = -1;
			http_mark(e, HTTP_PH_TIMER, 0);
			socket_action(e, CURL_SOCKET_TIMEOUT, 0);
			continue;
		}
		if (!e->npend_cancel && !e->npend_add)
			return;
	}
	e->timer_at = mono_ns();
}

/* epoll for up to wait_ns (< 0: no limit): to the nanosecond with epoll_pwait2, else in
 * whole milliseconds rounded up (never early). */
static int wait_events(struct http_engine *e, int64_t wait_ns)
{
	if (e->pwait2) {
		struct timespec ts = { (time_t)(wait_ns / 1000000000), (long)(wait_ns % 1000000000) };
		return epoll_pwait2(e->epfd, e->evs, (int)ARRAY_SIZE(e->evs), wait_ns < 0 ? NULL : &ts,
				    NULL);
	}
	int ms;
	if (wait_ns < 0)
		ms = -1;
	else if (wait_ns / 1000000 >= INT_MAX)
		ms = INT_MAX;
	else
		ms = (int)((wait_ns + 999999) / 1000000);
	return epoll_wait(e->epfd, e->evs, (int)ARRAY_SIZE(e->evs), ms);
}

int http_poll(struct http_engine *e, int64_t timeout_ns, int extra_fd, int *extra_ready)
{
	int ret = 0;
	if (extra_ready)
		*extra_ready = 0;
	uint64_t done_before = e->ncompleted;
	settle(e);

	int extra_reg = 0, extra_always = 0;
	struct epoll_event ev;
	if (extra_fd >= 0) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.fd = extra_fd;
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, extra_fd, &ev) == 0)
			extra_reg = 1;
		else if (errno == EPERM)
			extra_always = 1; /* a regular file is always readable */
	}

	int64_t now = mono_ns();
	int64_t wait = timeout_ns;
	if (e->nstall) {
		int64_t t = e->stall_check_at - now;
		if (t < 0)
			t = 0;
		if (wait < 0 || t < wait)
			wait = t;
	}
	if (e->timer_at >= 0) {
		int64_t t = e->timer_at - now;
		if (t < 0)
			t = 0;
		if (wait < 0 || t < wait)
			wait = t;
	}
	/* Callbacks already ran: return to the caller instead of sleeping. */
	if (extra_always || e->ncompleted != done_before)
		wait = 0;
	http_mark(e, HTTP_PH_WAIT, now);
	int n = wait_events(e, wait);
	if (n < 0) {
		n = 0;
		if (errno != EINTR)
			ret = -1;
	}
	if (n > 0) {
		e->stamp = mono_ns();
		http_mark(e, HTTP_PH_READ, e->stamp);
	}
	for (int i = 0; i < n; i++) {
		int fd = e->evs[i].data.fd;
		uint32_t ev_ = e->evs[i].events;
		if (fd == e->wakefd) {
			uint64_t v;
			while (read(e->wakefd, &v, sizeof(v)) > 0)
				;
			continue;
		}
		if (extra_reg && fd == extra_fd) {
			if (extra_ready)
				*extra_ready = 1;
			continue;
		}
		if ((size_t)fd < e->nfdst && (e->fdst[fd] & FD_PARKED)) {
			/* An idle connection spoke (usually the server closing it): stop
			 * watching it; libcurl finds out when it next tries to reuse it. */
			fd_unreg(e, fd, &e->fdst[fd]);
			e->fdst[fd] &= ~FD_PARKED;
			continue;
		}
		int flags = 0;
		if (ev_ & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev_ & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev_ & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		socket_action(e, fd, flags);
	}
	e->stamp = 0;
	if (extra_always && extra_ready)
		*extra_ready = 1;
	if (extra_reg)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, extra_fd, &ev);
	settle(e);
	if (e->nstall && mono_ns() >= e->stall_check_at) {
		http_mark(e, HTTP_PH_TIMER, 0);
		stall_scan(e);
		settle(e);
	}
	return ret < 0 ? -1 : (int)e->active;
}

size_t http_run(struct http_engine *e, int64_t deadline_ns)
{
	while (e->active) {
		int64_t wait = -1;
		if (deadline_ns) {
			wait = deadline_ns - mono_ns();
			if (wait <= 0)
				break;
		}
		if (http_poll(e, wait, -1, NULL) < 0)
			break;
	}
	return e->active;
}

void http_wakeup(struct http_engine *e)
{
	int saved = errno;
	uint64_t one = 1;
	ssize_t r = write(e->wakefd, &one, sizeof(one));
	(void)r;
	errno = saved;
}

const char *http_lib_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}
