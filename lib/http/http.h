/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP engine: one event loop over libcurl's multi interface. Requests are submitted
 * with callbacks and run concurrently; nothing blocks per request and there are no threads.
 * The only module that calls libcurl.
 *
 * Ownership: the engine copies everything in struct http_req at submit time. The
 * struct http_response passed to on_done is lent for the duration of the callback.
 * All timestamps are CLOCK_MONOTONIC nanoseconds (mono_ns()).
 */
#ifndef OBRIDGE_HTTP_HTTP_H
#define OBRIDGE_HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

struct http_engine;

/* Transport outcome of a request. HTTP_OK means a complete response arrived (any status). */
enum http_err {
	HTTP_OK = 0,
	HTTP_E_REFUSED,      /* connection refused */
	HTTP_E_DNS,          /* name not resolved */
	HTTP_E_TLS,          /* TLS handshake or certificate failure */
	HTTP_E_TIMEOUT,      /* connect or total timeout */
	HTTP_E_CONNECT,      /* other connection failure (unreachable, reset before reply) */
	HTTP_E_TRUNCATED,    /* connection closed mid-body (incomplete chunked/Content-Length) */
	HTTP_E_TOO_BIG,      /* body over the request's cap, or a line over HTTP_LINE_MAX */
	HTTP_E_ABORTED,      /* a callback asked to stop, or http_cancel() */
	HTTP_E_STALL,        /* no body byte for http_req.stall_ns */
	HTTP_E_LOCAL,        /* a local resource ran out (file descriptors): not the server */
	HTTP_E_OTHER,
};

/* Longest body line accepted in line mode (Ollama's own client uses 8 MB). */
#define HTTP_LINE_MAX (8u * 1024 * 1024)
/* Default body cap when http_req.max_body is 0: API replies that are not streamed (ps,
 * tags, show, version) are far smaller. */
#define HTTP_BODY_MAX_DEFAULT (8u * 1024 * 1024)
/* Default budget for the bodies that all transfers in flight buffer together. */
#define HTTP_BODY_BUDGET_DEFAULT (256u * 1024 * 1024)

struct http_timing {
	int64_t start;      /* submitted (or scheduled send time, see http_req.start_at) */
	int64_t sent;       /* handed to libcurl */
	int64_t connected;  /* TCP (and TLS) established; equals sent for a reused connection */
	int64_t wire;       /* the connection was ready and the request about to be written
			       (0 when it never got that far): sent plus libcurl's queueing
			       and connection set-up */
	int64_t first_byte; /* first response byte (header) */
	int64_t end;        /* completion */
};

struct http_response {
	long status;               /* 0 when no response arrived */
	enum http_err err;
	char errmsg[512];          /* empty when err == HTTP_OK */
	char content_type[128];    /* "" when none */
	struct buf body;           /* whole body when not in line mode (capped) */
	struct http_timing t;
	const char *url;
	const char *method;
	size_t bytes;              /* body bytes received */
	int reused;                /* the connection was reused */
	int64_t cert_expiry_s;     /* with req.certinfo: the server certificate's notAfter
				      (seconds since the epoch), 0 when not known */
	char tls_version[16];      /* with req.certinfo: "TLSv1.3", ... ("" when not known) */
	/* The first response header named in http_req.capture ("" when none came). */
	char header_name[64];
	char header_value[256];
};

struct http_req {
	const char *method;        /* "GET" (default), "HEAD", "POST", "DELETE" */
	const char *url;
	const char *body;          /* copied; NULL for none */
	size_t body_len;           /* 0 = strlen(body) */
	const char *content_type;  /* default "application/json" when a body is given */
	const char *accept;        /* optional Accept header */
	int64_t timeout_ns;        /* whole request; 0 = none */
	int64_t stall_ns;          /* fail with HTTP_E_STALL when, once the body started, no
				      byte arrives for this long; 0 = none (checked every 50 ms) */
	int64_t connect_timeout_ns;/* 0 = 10 s */
	size_t max_body;           /* 0 = HTTP_BODY_MAX_DEFAULT */
	int certinfo;              /* https: fill resp.cert_expiry_s (on a new connection) */
	/*
	 * Line mode: instead of buffering the body, call on_line for every complete line
	 * (LF-terminated, CR stripped; a final unterminated line is delivered at the end).
	 * Lines split across reads are joined. Works for NDJSON and SSE (the caller handles
	 * "data: " prefixes and blank lines). Returning non-zero aborts the request
	 * (err HTTP_E_ABORTED).
	 */
	int line_mode;
	int (*on_line)(void *ud, const char *line, size_t len, int64_t t_ns);
	/* Called once the status line and headers have arrived (optional). */
	void (*on_headers)(void *ud, long status, int64_t t_ns);
	/* Called exactly once per submitted request, also on failure and on cancel. */
	void (*on_done)(void *ud, const struct http_response *resp);
	void *ud;
	/*
	 * Added: the intended send time (mono ns) for open-loop runs, 0 = now. The request
	 * is still sent at once; t.start records start_at so latency includes any lateness.
	 */
	int64_t start_at;
	/*
	 * Response headers to capture, comma-separated ("X-Upstream,X-Server"); the first of
	 * them that arrives is kept in resp.header_name/header_value. NULL = none.
	 */
	const char *capture;
	/* Open a new connection for this request (it joins the pool afterwards) instead of
	 * taking an idle one. */
	int fresh_connect;
};

struct http_engine_opts {
	int insecure;              /* skip TLS verification */
	const char *ca_file;       /* trust the CAs in this PEM file (NULL: the system's) */
	const char *bearer_token;  /* sent as Authorization: Bearer; copied, wiped on free */
	const char *bearer_scope;  /* only to URLs of this origin (scheme://host:port); NULL:
				      to every URL */
	long max_host_conns;       /* 0 = unlimited */
	size_t body_budget;        /* bytes all buffered bodies may hold together; 0 = default */
	const char *user_agent;    /* default "obridge/<version>" */
	/* Tracing for -v: one message per finished request (method, URL, status, timings);
	 * with trace_bodies also request and response bodies. Never includes the token. */
	void (*trace)(void *ud, const char *msg);
	int trace_bodies;
	void *trace_ud;
};

/* Returns NULL with err set on failure. */
struct http_engine *http_engine_new(const struct http_engine_opts *o, char *err);
/* Cancels whatever is in flight (on_done is called with HTTP_E_ABORTED) and frees. */
void http_engine_free(struct http_engine *e);

/* Start a request now. Returns a request id (> 0) or -1 with err set. */
long http_submit(struct http_engine *e, const struct http_req *r, char *err);
/* Cancel one request; its on_done runs with HTTP_E_ABORTED. */
void http_cancel(struct http_engine *e, long id);
/* Number of requests in flight. */
size_t http_active(const struct http_engine *e);
/* Connections the engine holds open (busy or idle in libcurl's pool). */
size_t http_conns(const struct http_engine *e);

/*
 * Run the loop once: wait up to timeout_ns for network activity (or for extra_fd to become
 * readable, when extra_fd >= 0), process it and call callbacks. *extra_ready is set when
 * extra_fd is readable. Returns the number of requests still in flight, or -1 on error.
 * Callbacks may submit new requests.
 */
int http_poll(struct http_engine *e, int64_t timeout_ns, int extra_fd, int *extra_ready);

/* Run until nothing is in flight or deadline (mono ns; 0 = none) passes. Returns in-flight count. */
size_t http_run(struct http_engine *e, int64_t deadline_ns);

/* Wake a http_poll() from a signal handler or another thread (async-signal-safe). */
void http_wakeup(struct http_engine *e);

/*
 * Where the loop's time goes, to attribute event-loop lag to a cause. While enabled, the
 * engine notes each phase it enters (with the time) in a small log: waiting in epoll,
 * reading sockets (libcurl and the on_line/on_write callbacks), finishing requests
 * (on_done), and libcurl's timers and the stall scan. Callers note their own phases
 * (HTTP_PH_USER and up) with http_mark(). The caller reads the log and clears it; a
 * phase entered twice in a row is noted once; past HTTP_PHASE_LOG entries the log keeps
 * its first ones and sets overflow.
 */
enum http_phase { HTTP_PH_WAIT, HTTP_PH_READ, HTTP_PH_DONE, HTTP_PH_TIMER, HTTP_PH_USER };
#define HTTP_PHASE_LOG 64
struct http_phase_log {
	size_t n;
	int overflow;
	int64_t t[HTTP_PHASE_LOG];
	unsigned char ph[HTTP_PHASE_LOG];
};
void http_phases_enable(struct http_engine *e, int on);
/* Note entering phase ph at mono time t (0: now). */
void http_mark(struct http_engine *e, int ph, int64_t t);
const struct http_phase_log *http_phases(const struct http_engine *e);
/* Empty the log, then note phase ph as entered at t (0: now). */
void http_phases_clear(struct http_engine *e, int ph, int64_t t);
/*
 * 1 when the engine's waits end at the nanosecond asked (epoll_pwait2), 0 when they are
 * rounded up to whole milliseconds (older kernels, valgrind).
 */
int http_precise_wait(const struct http_engine *e);

/* A short name for an error class: "refused", "dns", "tls", "timeout", ... */
const char *http_err_name(enum http_err err);

/*
 * Notes on the engine (added with the implementation):
 *  - http_submit() does not call on_done when it fails; otherwise on_done runs exactly
 *    once, from http_poll()/http_run()/http_cancel()/http_engine_free(), never from
 *    inside http_submit(). Callbacks may call http_submit() and http_cancel(); they must
 *    not call http_poll(), http_run() or http_engine_free().
 *  - In line mode, a response with status >= 400 is also kept in resp.body (first 64 KiB)
 *    so that the error message can be read in on_done. The final unterminated line is
 *    delivered only when the transfer completed; a partial line of a truncated body is
 *    dropped (the error is HTTP_E_TRUNCATED).
 *  - Lines passed to on_line are NUL-terminated (line[len] == '\0') and stay valid only
 *    during the callback.
 *  - http_poll(): timeout_ns < 0 waits without limit, 0 does not wait. EINTR returns
 *    normally (so a signal handler's flag can be checked).
 *  - http_engine_new() raises the soft RLIMIT_NOFILE to the hard limit (bench needs
 *    thousands of sockets), and sets the thread's timer slack to 1 us so that waits end
 *    when asked rather than up to 50 us later.
 *  - Timestamps of data (on_line's t_ns, t.first_byte) are the time the kernel reported
 *    the socket readable (the return of epoll), not the later moment the loop got round
 *    to reading it among the other sockets that were ready at once.
 */

/*
 * File descriptors this process can give to connections: the soft RLIMIT_NOFILE (raised
 * to the hard limit first) less a reserve for the store, stdio and the event loop.
 * Every engine caps its open connections at this (requests beyond it wait their turn);
 * *limit receives the soft limit.
 */
long http_fd_budget(long *limit);
#define HTTP_FD_RESERVE 24

/* Stop every request in flight (on_done with HTTP_E_ABORTED for each); requests that
 * those callbacks submit are left running. */
void http_cancel_all(struct http_engine *e);

/*
 * The line splitter used by line mode, exposed for tests and for callers that read
 * streams from elsewhere. http_lines_feed() calls cb for each complete line (LF removed,
 * one trailing CR removed, NUL-terminated). Returns 0, -1 when a line is longer than
 * max (nothing more is delivered), or 1 when cb returned non-zero.
 * http_lines_finish() delivers a final unterminated line, if any (same returns).
 */
struct http_lines {
	struct buf part;           /* bytes of the line not yet terminated */
	size_t max;                /* longest accepted line */
};
void http_lines_init(struct http_lines *l, size_t max);
void http_lines_release(struct http_lines *l);
void http_lines_reset(struct http_lines *l);
int http_lines_feed(struct http_lines *l, const char *data, size_t len,
		    int (*cb)(void *ud, const char *line, size_t len, int64_t t_ns), void *ud,
		    int64_t t_ns);
int http_lines_finish(struct http_lines *l,
		      int (*cb)(void *ud, const char *line, size_t len, int64_t t_ns), void *ud,
		      int64_t t_ns);

/*
 * Copy JSON text into out with the string values of keys that look secret ("key",
 * "token", "authorization", "secret", "password", case-insensitive substrings) replaced
 * by "***". Works on truncated or invalid JSON (best effort). For -v tracing.
 */
void http_redact_json(const char *s, size_t len, struct buf *out);
/* Copy a URL into out (size n) with any user:password@ part replaced by "***@". */
void http_redact_url(const char *url, char *out, size_t n);

/* The version of libcurl in use. */
const char *http_lib_version(void);

#endif
