/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/http: line framing, redaction, and the engine against a canned server. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/http/http.h"
#include "../../lib/ollama/ollama.h"
#include "../../lib/util/buf.h"
#include "../../lib/util/util.h"
#include "../../lib/banned.h"

/* ---- line splitter ---- */

struct lines_seen {
	char got[16][64];
	size_t len[16];
	int n;
	int stop_at;     /* return non-zero on this line (1-based), 0 = never */
};

static int collect(void *ud, const char *line, size_t len, int64_t t)
{
	struct lines_seen *s = ud;
	(void)t;
	assert_int_equal(line[len], '\0');
	if (s->n < 16) {
		snprintf(s->got[s->n], sizeof(s->got[0]), "%s", line);
		s->len[s->n] = len;
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at;
}

static void test_lines_split_reads(void **state)
{
	(void)state;
	struct http_lines l;
	struct lines_seen s = { 0 };
	http_lines_init(&l, 0);
	const char *parts[] = { "{\"a\":", "1}\n{\"b\"", ":2}\n", "", "{\"c\":3}\n{\"d\"", ":4}" };
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		assert_int_equal(http_lines_feed(&l, parts[i], strlen(parts[i]), collect, &s, 0), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.got[0], "{\"a\":1}");
	assert_string_equal(s.got[1], "{\"b\":2}");
	assert_string_equal(s.got[2], "{\"c\":3}");
	assert_int_equal(http_lines_finish(&l, collect, &s, 0), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.got[3], "{\"d\":4}");
	/* Nothing left: finish again delivers nothing. */
	assert_int_equal(http_lines_finish(&l, collect, &s, 0), 0);
	assert_int_equal(s.n, 4);
	http_lines_release(&l);
}

static void test_lines_crlf_and_blank(void **state)
{
	(void)state;
	struct http_lines l;
	struct lines_seen s = { 0 };
	http_lines_init(&l, 0);
	const char *d = "data: {\"x\":1}\r\n\r\ndata: [DONE]\r";
	assert_int_equal(http_lines_feed(&l, d, strlen(d), collect, &s, 0), 0);
	/* The CR of the last line arrives, then its LF in a separate read. */
	assert_int_equal(http_lines_feed(&l, "\n", 1, collect, &s, 0), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.got[0], "data: {\"x\":1}");
	assert_int_equal(s.len[1], 0);
	assert_string_equal(s.got[2], "data: [DONE]");
	assert_int_equal(s.len[2], 12);
	/* A final unterminated line with a CR loses the CR. */
	assert_int_equal(http_lines_feed(&l, "tail\r", 5, collect, &s, 0), 0);
	assert_int_equal(http_lines_finish(&l, collect, &s, 0), 0);
	assert_string_equal(s.got[3], "tail");
	/* A CR in the middle of a line stays. */
	assert_int_equal(http_lines_feed(&l, "a\rb\n", 4, collect, &s, 0), 0);
	assert_string_equal(s.got[4], "a\rb");
	http_lines_release(&l);
}

static void test_lines_byte_by_byte(void **state)
{
	(void)state;
	struct http_lines l;
	struct lines_seen s = { 0 };
	http_lines_init(&l, 0);
	const char *d = "one\ntwo\r\nthree";
	for (size_t i = 0; d[i]; i++)
		assert_int_equal(http_lines_feed(&l, d + i, 1, collect, &s, 0), 0);
	assert_int_equal(http_lines_finish(&l, collect, &s, 0), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.got[0], "one");
	assert_string_equal(s.got[1], "two");
	assert_string_equal(s.got[2], "three");
	http_lines_release(&l);
}

static void test_lines_too_long(void **state)
{
	(void)state;
	struct http_lines l;
	struct lines_seen s = { 0 };
	http_lines_init(&l, 8);
	/* Exactly at the limit is fine, with or without CR. */
	assert_int_equal(http_lines_feed(&l, "12345678\n", 9, collect, &s, 0), 0);
	assert_int_equal(http_lines_feed(&l, "12345678\r\n", 10, collect, &s, 0), 0);
	assert_int_equal(s.n, 2);
	/* One more byte, split over reads, fails. */
	assert_int_equal(http_lines_feed(&l, "12345", 5, collect, &s, 0), 0);
	assert_int_equal(http_lines_feed(&l, "67890", 5, collect, &s, 0), -1);
	/* max + 1 bytes are held (the last may be a CR) but fail when the line ends. */
	assert_int_equal(http_lines_feed(&l, "123456789", 9, collect, &s, 0), 0);
	assert_int_equal(http_lines_feed(&l, "\n", 1, collect, &s, 0), -1);
	assert_int_equal(s.n, 2);
	http_lines_release(&l);

	/* The real cap: a line over HTTP_LINE_MAX. */
	http_lines_init(&l, 0);
	size_t big = HTTP_LINE_MAX + 10;
	char *p = xmalloc(big);
	memset(p, 'x', big);
	assert_int_equal(http_lines_feed(&l, p, big / 2, collect, &s, 0), 0);
	assert_int_equal(http_lines_feed(&l, p, big - big / 2, collect, &s, 0), -1);
	free(p);
	http_lines_release(&l);
}

static void test_lines_callback_stop(void **state)
{
	(void)state;
	struct http_lines l;
	struct lines_seen s = { 0 };
	s.stop_at = 2;
	http_lines_init(&l, 0);
	assert_int_equal(http_lines_feed(&l, "a\nb\nc\n", 6, collect, &s, 0), 1);
	assert_int_equal(s.n, 2);
	http_lines_release(&l);
}

/* ---- redaction ---- */

static void test_redact(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	const char *in = "{\"model\":\"m\",\"api_key\":\"s3cret\",\"Token\" : \"abc\\\"d\","
			 "\"keep_alive\":-1,\"prompt_tokens\":5,\"nested\":{\"authorization\":"
			 "\"Bearer x\"},\"text\":\"token\"}";
	http_redact_json(in, strlen(in), &b);
	assert_string_equal(buf_str(&b),
			    "{\"model\":\"m\",\"api_key\":\"***\",\"Token\" : \"***\","
			    "\"keep_alive\":-1,\"prompt_tokens\":5,\"nested\":{\"authorization\":"
			    "\"***\"},\"text\":\"token\"}");
	buf_reset(&b);
	/* Truncated input does not crash and still hides the secret's start. */
	http_redact_json("{\"password\":\"hun", 16, &b);
	assert_null(strstr(buf_str(&b), "hun"));
	buf_release(&b);

	char u[256];
	http_redact_url("http://user:pw@host:1/x@y", u, sizeof(u));
	assert_string_equal(u, "http://***@host:1/x@y");
	http_redact_url("http://host:1/a@b", u, sizeof(u));
	assert_string_equal(u, "http://host:1/a@b");
}

static void test_err_names(void **state)
{
	(void)state;
	assert_string_equal(http_err_name(HTTP_E_REFUSED), "refused");
	assert_string_equal(http_err_name(HTTP_E_TIMEOUT), "timeout");
	assert_string_equal(http_err_name(HTTP_E_TRUNCATED), "truncated");
	assert_string_equal(http_err_name(HTTP_E_TOO_BIG), "too-big");
}

/* ---- a canned HTTP server on loopback, one thread per connection ---- */

static int srv_port;
static int srv_fd = -1;
static volatile int srv_conns;

static void wr(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Read one request; returns its path in path (and the raw head in head), 0 at EOF. */
static int read_req(int fd, char *path, size_t pn, char *head, size_t hn)
{
	size_t len = 0;
	head[0] = '\0';
	while (!strstr(head, "\r\n\r\n")) {
		if (len + 1 >= hn)
			return 0;
		ssize_t r = read(fd, head + len, hn - len - 1);
		if (r <= 0)
			return 0;
		len += (size_t)r;
		head[len] = '\0';
		if ((unsigned char)head[0] == 0x16) {
			/* A TLS ClientHello on this plain port: answer as HTTP would. */
			wr(fd, "HTTP/1.1 400 Bad Request\r\n\r\n");
			return 0;
		}
	}
	char *cl = strcasestr(head, "content-length:");
	char *end = strstr(head, "\r\n\r\n") + 4;
	if (cl) {
		long want = strtol(cl + 15, NULL, 10);
		long have = (long)(len - (size_t)(end - head));
		while (have < want) {
			char tmp[4096];
			ssize_t r = read(fd, tmp, sizeof(tmp));
			if (r <= 0)
				return 0;
			have += r;
		}
	}
	if (sscanf(head, "%*s %255s", path) != 1)
		return 0;
	(void)pn;
	return 1;
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char path[256], head[16384], out[20000];
	while (read_req(fd, path, sizeof(path), head, sizeof(head))) {
		if (strcmp(path, "/ok") == 0) {
			wr(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
			       "Content-Length: 15\r\n\r\n{\"version\":\"1\"}");
		} else if (strcmp(path, "/upstream") == 0) {
			wr(fd, "HTTP/1.1 200 OK\r\nX-Other: 1\r\nx-server:  gpu-2 \r\n"
			       "X-Upstream: 10.0.0.1:11434, 10.0.0.2:11434\r\nContent-Length: 2\r\n\r\nok");
		} else if (strcmp(path, "/echo") == 0) {
			/* The request head as the body. */
			snprintf(out, sizeof(out),
				 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				 "Content-Length: %zu\r\n\r\n%s",
				 strlen(head), head);
			wr(fd, out);
		} else if (strcmp(path, "/lines") == 0) {
			wr(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n");
			msleep(5);
			wr(fd, "8\r\n{\"a\":1}\n\r\n");
			msleep(20);
			wr(fd, "4\r\n{\"b\"\r\n");
			msleep(20);
			wr(fd, "5\r\n:2}\r\n\r\n");
			msleep(20);
			wr(fd, "4\r\ntail\r\n0\r\n\r\n");
		} else if (strcmp(path, "/trunc") == 0) {
			wr(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
			msleep(20);
			break;
		} else if (strcmp(path, "/chunktrunc") == 0) {
			wr(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n8\r\n{\"a\":1}\n\r\n5\r\n{\"b\"");
			msleep(20);
			break;
		} else if (strcmp(path, "/slow") == 0) {
			msleep(1500);
			wr(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
		} else if (strcmp(path, "/big") == 0) {
			memset(out, 'x', 5000);
			out[5000] = '\0';
			char hdr[128];
			snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
			wr(fd, hdr);
			wr(fd, out);
		} else if (strcmp(path, "/notfound") == 0) {
			wr(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; "
			       "charset=utf-8\r\nContent-Length: 34\r\n\r\n"
			       "{\"error\":\"model 'x' not found\"}\n\n\n");
		} else if (strcmp(path, "/gen") == 0) {
			/* A generate stream, one token per chunk, lines split oddly. */
			wr(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n");
			const char *parts[] = { "{\"response\":\"Hel\",\"done\":false}\n{\"resp",
						"onse\":\"lo\",\"done\":false}\n",
						"{\"response\":\"\",\"done\":true,\"done_reason\":"
						"\"stop\",\"eval_count\":2,\"eval_duration\":10}\n" };
			for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
				char ch[256];
				snprintf(ch, sizeof(ch), "%zx\r\n%s\r\n", strlen(parts[i]), parts[i]);
				wr(fd, ch);
				msleep(10);
			}
			wr(fd, "0\r\n\r\n");
		} else if (strcmp(path, "/genbusy") == 0) {
			const char *b = "{\"error\":\"server busy, please try again.  maximum "
					"pending requests exceeded\"}";
			snprintf(out, sizeof(out),
				 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json"
				 "\r\nContent-Length: %zu\r\n\r\n%s", strlen(b), b);
			wr(fd, out);
		} else if (strcmp(path, "/close") == 0) {
			break;
		} else if (strcmp(path, "/idleclose") == 0) {
			/* Answer, keep the connection a moment, then close it while idle. */
			wr(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
			msleep(50);
			break;
		} else if (strcmp(path, "/connclose") == 0) {
			wr(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
			break;
		} else {
			wr(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
			       "Content-Length: 18\r\n\r\n404 page not found");
		}
	}
	close(fd);
	return NULL;
}

static void *srv_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(srv_fd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		__atomic_add_fetch(&srv_conns, 1, __ATOMIC_SEQ_CST);
		pthread_t t;
		pthread_create(&t, NULL, conn_main, (void *)(intptr_t)c);
		pthread_detach(t);
	}
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 512))
		return -1;
	socklen_t sl = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &sl);
	*port = ntohs(a.sin_port);
	return fd;
}

static int setup_server(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	srv_fd = listen_any(&srv_port);
	if (srv_fd < 0)
		return -1;
	pthread_t t;
	pthread_create(&t, NULL, srv_main, NULL);
	pthread_detach(t);
	return 0;
}

/* ---- engine tests ---- */

struct result {
	int done;
	int ndone;
	long status;
	enum http_err err;
	char errmsg[512];
	char body[20000];
	char ctype[128];
	char hname[64], hvalue[256];
	int reused;
	struct http_timing t;
	struct lines_seen lines;
	int headers_called;
	long headers_status;
};

static void on_done(void *ud, const struct http_response *r)
{
	struct result *res = ud;
	res->ndone++;
	res->done = 1;
	res->status = r->status;
	res->err = r->err;
	snprintf(res->errmsg, sizeof(res->errmsg), "%s", r->errmsg);
	snprintf(res->body, sizeof(res->body), "%s", buf_str(&r->body));
	snprintf(res->ctype, sizeof(res->ctype), "%s", r->content_type);
	snprintf(res->hname, sizeof(res->hname), "%s", r->header_name);
	snprintf(res->hvalue, sizeof(res->hvalue), "%s", r->header_value);
	res->reused = r->reused;
	res->t = r->t;
}

static int on_line(void *ud, const char *line, size_t len, int64_t t)
{
	struct result *res = ud;
	return collect(&res->lines, line, len, t);
}

static void on_headers(void *ud, long status, int64_t t)
{
	struct result *res = ud;
	(void)t;
	res->headers_called++;
	res->headers_status = status;
}

static void url_of(char *out, size_t n, const char *path)
{
	snprintf(out, n, "http://127.0.0.1:%d%s", srv_port, path);
}

static void trace_env(void *ud, const char *msg)
{
	(void)ud;
	fprintf(stderr, "# %s\n", msg);
}

static struct http_engine *engine(void)
{
	char err[ERR_MAX];
	struct http_engine_opts o = { 0 };
	if (getenv("T_HTTP_TRACE"))
		o.trace = trace_env;
	struct http_engine *e = http_engine_new(&o, err);
	assert_non_null(e);
	return e;
}

static void run_one(struct http_engine *e, struct http_req *r, struct result *res)
{
	char err[ERR_MAX];
	r->on_done = on_done;
	r->ud = res;
	assert_true(http_submit(e, r, err) > 0);
	assert_int_equal(http_run(e, mono_ns() + 10000000000LL), 0);
	assert_int_equal(res->ndone, 1);
}

static void test_get_ok_and_reuse(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/ok");
	struct http_req r = { 0 };
	r.url = url;
	r.on_headers = on_headers;
	struct result *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	int before = srv_conns;
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_OK);
	assert_int_equal(a->status, 200);
	assert_string_equal(a->body, "{\"version\":\"1\"}");
	assert_string_equal(a->ctype, "application/json; charset=utf-8");
	assert_int_equal(a->headers_called, 1);
	assert_int_equal(a->headers_status, 200);
	assert_true(a->t.start <= a->t.sent && a->t.sent <= a->t.first_byte &&
		    a->t.first_byte <= a->t.end);
	assert_true(a->t.connected >= a->t.sent);
	assert_false(a->reused);
	run_one(e, &r, b);
	assert_int_equal(b->status, 200);
	assert_true(b->reused);
	assert_int_equal(b->t.connected, b->t.sent);
	assert_int_equal(srv_conns - before, 1);
	free(a);
	free(b);
	http_engine_free(e);
}

static void test_post_headers(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct http_engine_opts o = { 0 };
	o.bearer_token = "tok123";
	struct http_engine *e = http_engine_new(&o, err);
	assert_non_null(e);
	char url[128];
	url_of(url, sizeof(url), "/echo");
	struct http_req r = { 0 };
	r.method = "POST";
	r.url = url;
	r.body = "{\"model\":\"x\"}";
	r.accept = "application/x-ndjson";
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->status, 200);
	assert_non_null(strstr(a->body, "POST /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(a->body, "Authorization: Bearer tok123\r\n"));
	assert_non_null(strstr(a->body, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(a->body, "Accept: application/x-ndjson\r\n"));
	assert_non_null(strstr(a->body, "Content-Length: 13\r\n"));
	assert_null(strcasestr(a->body, "Expect:"));
	assert_null(strcasestr(a->body, "Accept-Encoding"));
	assert_non_null(strstr(a->body, "User-Agent: obridge/"));
	free(a);
	http_engine_free(e);
}

/* capture: the first of the named headers to arrive, case-insensitive, value trimmed */
static void test_capture_header(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/upstream");
	struct http_req r = { 0 };
	r.url = url;
	r.capture = "X-Upstream,X-Server";
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_string_equal(a->hname, "x-server");
	assert_string_equal(a->hvalue, "gpu-2");
	/* only the one asked for; none asked: nothing kept, also on a reused handle */
	r.capture = "X-Upstream";
	struct result *b = calloc(1, sizeof(*b));
	run_one(e, &r, b);
	assert_string_equal(b->hname, "X-Upstream");
	assert_string_equal(b->hvalue, "10.0.0.1:11434, 10.0.0.2:11434");
	r.capture = NULL;
	struct result *c = calloc(1, sizeof(*c));
	run_one(e, &r, c);
	assert_string_equal(c->hname, "");
	assert_string_equal(c->hvalue, "");
	free(a);
	free(b);
	free(c);
	http_engine_free(e);
}

static void test_line_mode(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/lines");
	struct http_req r = { 0 };
	r.url = url;
	r.line_mode = 1;
	r.on_line = on_line;
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_OK);
	assert_int_equal(a->lines.n, 3);
	assert_string_equal(a->lines.got[0], "{\"a\":1}");
	assert_string_equal(a->lines.got[1], "{\"b\":2}");
	assert_string_equal(a->lines.got[2], "tail");
	assert_string_equal(a->body, ""); /* not buffered in line mode */
	free(a);
	http_engine_free(e);
}

static void test_refused(void **state)
{
	(void)state;
	int port;
	int fd = listen_any(&port);
	close(fd);
	struct http_engine *e = engine();
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	struct http_req r = { 0 };
	r.url = url;
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_REFUSED);
	assert_string_equal(a->errmsg, "connection refused");
	assert_int_equal(a->status, 0);
	free(a);
	http_engine_free(e);
}

static void test_dns_and_tls(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	struct http_req r = { 0 };
	r.url = "http://no-such-host.invalid:11434/api/ps";
	r.connect_timeout_ns = 5000000000LL;
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_DNS);
	assert_string_equal(a->errmsg, "cannot resolve host 'no-such-host.invalid'");

	char url[128];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/ok", srv_port);
	memset(a, 0, sizeof(*a));
	r.url = url;
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_TLS);
	assert_non_null(strstr(a->errmsg, "TLS failure: "));
	free(a);
	http_engine_free(e);
}

static void test_timeout(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/slow");
	struct http_req r = { 0 };
	r.url = url;
	r.timeout_ns = 200000000;
	struct result *a = calloc(1, sizeof(*a));
	int64_t t0 = mono_ns();
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_TIMEOUT);
	assert_string_equal(a->errmsg, "timed out after 0.2s");
	assert_true(mono_ns() - t0 < 1000000000);
	free(a);
	http_engine_free(e);
}

static void test_truncated(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	struct http_req r = { 0 };
	r.url = url;
	struct result *a = calloc(1, sizeof(*a));
	url_of(url, sizeof(url), "/trunc");
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_TRUNCATED);
	assert_int_equal(a->status, 200);

	/* Chunked body cut off mid-line in line mode: the partial line is not delivered. */
	memset(a, 0, sizeof(*a));
	url_of(url, sizeof(url), "/chunktrunc");
	r.line_mode = 1;
	r.on_line = on_line;
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_TRUNCATED);
	assert_int_equal(a->lines.n, 1);
	assert_string_equal(a->lines.got[0], "{\"a\":1}");
	free(a);
	http_engine_free(e);
}

static void test_too_big(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/big");
	struct http_req r = { 0 };
	r.url = url;
	r.max_body = 1000;
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_TOO_BIG);
	assert_non_null(strstr(a->errmsg, "larger than 1000 bytes"));
	/* The engine keeps working. */
	memset(a, 0, sizeof(*a));
	url_of(url, sizeof(url), "/ok");
	r.max_body = 0;
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_OK);
	free(a);
	http_engine_free(e);
}

/* The budget for the bodies of all transfers in flight, beside the per-reply cap. */
static void test_body_budget(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct http_engine_opts o = { 0 };
	o.body_budget = 3000;
	struct http_engine *e = http_engine_new(&o, err);
	assert_non_null(e);
	char url[128];
	url_of(url, sizeof(url), "/big");
	struct http_req r = { 0 };
	r.url = url;
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_TOO_BIG);
	assert_non_null(strstr(a->errmsg, "more than 3000 bytes together"));
	/* what a finished reply held is given back: a small one fits again */
	for (int i = 0; i < 3; i++) {
		memset(a, 0, sizeof(*a));
		url_of(url, sizeof(url), "/ok");
		run_one(e, &r, a);
		assert_int_equal(a->err, HTTP_OK);
	}
	free(a);
	http_engine_free(e);
}

static void test_error_status_line_mode(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/notfound");
	struct http_req r = { 0 };
	r.url = url;
	r.line_mode = 1;
	r.on_line = on_line;
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_OK);
	assert_int_equal(a->status, 404);
	assert_int_equal(a->lines.n >= 1, 1);
	assert_string_equal(a->lines.got[0], "{\"error\":\"model 'x' not found\"}");
	/* Error bodies are kept in line mode too. */
	assert_non_null(strstr(a->body, "not found"));
	free(a);
	http_engine_free(e);
}

static void test_cancel(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/slow");
	struct http_req r = { 0 };
	r.url = url;
	r.on_done = on_done;
	struct result *a = calloc(1, sizeof(*a));
	r.ud = a;
	long id = http_submit(e, &r, err);
	assert_true(id > 0);
	assert_int_equal(http_active(e), 1);
	http_poll(e, 20000000, -1, NULL);
	http_cancel(e, id);
	assert_int_equal(a->ndone, 1);
	assert_int_equal(a->err, HTTP_E_ABORTED);
	assert_int_equal(http_active(e), 0);
	http_cancel(e, id); /* stale id: nothing happens */
	assert_int_equal(a->ndone, 1);
	/* Cancelled by freeing the engine. */
	memset(a, 0, sizeof(*a));
	assert_true(http_submit(e, &r, err) > 0);
	http_engine_free(e);
	assert_int_equal(a->ndone, 1);
	assert_int_equal(a->err, HTTP_E_ABORTED);
	free(a);
}

static void test_bad_url(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	struct http_req r = { 0 };
	r.url = "ftp://127.0.0.1/";
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_OTHER);
	free(a);
	http_engine_free(e);
}

/* Callbacks that submit more requests, from on_line (deferred) and from on_done. */
struct chain {
	struct http_engine *e;
	char url[128];
	int limit;
	int started;
	int finished;
	int ok;
};

static void chain_done(void *ud, const struct http_response *r);

static void chain_submit(struct chain *c)
{
	char err[ERR_MAX];
	struct http_req r = { 0 };
	r.url = c->url;
	r.on_done = chain_done;
	r.ud = c;
	c->started++;
	assert_true(http_submit(c->e, &r, err) > 0);
}

static void chain_done(void *ud, const struct http_response *r)
{
	struct chain *c = ud;
	c->finished++;
	if (r->err == HTTP_OK && r->status == 200)
		c->ok++;
	if (c->started < c->limit)
		chain_submit(c);
}

static int chain_line(void *ud, const char *line, size_t len, int64_t t)
{
	struct chain *c = ud;
	(void)line;
	(void)len;
	(void)t;
	if (c->started < c->limit)
		chain_submit(c);
	return 0;
}

static void test_submit_from_callbacks(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct chain c = { 0 };
	c.e = engine();
	c.limit = 20;
	url_of(c.url, sizeof(c.url), "/ok");
	char lurl[128];
	url_of(lurl, sizeof(lurl), "/lines");
	struct http_req r = { 0 };
	r.url = lurl;
	r.line_mode = 1;
	r.on_line = chain_line; /* 3 lines -> 3 submissions from inside curl */
	r.on_done = on_done;
	struct result *a = calloc(1, sizeof(*a));
	r.ud = &c;
	r.on_done = NULL;
	assert_true(http_submit(c.e, &r, err) > 0);
	assert_int_equal(http_run(c.e, mono_ns() + 10000000000LL), 0);
	assert_int_equal(c.started, 20);
	assert_int_equal(c.finished, 20);
	assert_int_equal(c.ok, 20);
	free(a);
	http_engine_free(c.e);
}

/*
 * One request at a time, each submitted from the previous one's on_done, on a fast
 * server: completions can happen inside curl's timeout processing and must never be
 * left queued while the loop sleeps (a hang this test once caught).
 */
static void test_resubmit_chain_long(void **state)
{
	(void)state;
	struct chain c = { 0 };
	c.e = engine();
	c.limit = 3000;
	url_of(c.url, sizeof(c.url), "/ok");
	chain_submit(&c);
	assert_int_equal(http_run(c.e, mono_ns() + 20000000000LL), 0);
	assert_int_equal(c.finished, 3000);
	assert_int_equal(c.ok, 3000);
	http_engine_free(c.e);
}

static void test_many_parallel(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/ok");
	enum { N = 200 };
	struct result *res = calloc(N, sizeof(*res));
	for (int i = 0; i < N; i++) {
		struct http_req r = { 0 };
		r.url = url;
		r.on_done = on_done;
		r.ud = &res[i];
		assert_true(http_submit(e, &r, err) > 0);
	}
	assert_int_equal(http_active(e), N);
	assert_int_equal(http_run(e, mono_ns() + 20000000000LL), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(res[i].ndone, 1);
		assert_int_equal(res[i].status, 200);
	}
	free(res);
	http_engine_free(e);
}

static void test_wakeup_and_extra_fd(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	int ready = -1;
	int64_t t0 = mono_ns();
	http_wakeup(e);
	assert_int_equal(http_poll(e, 5000000000LL, -1, &ready), 0);
	assert_true(mono_ns() - t0 < 1000000000LL);
	assert_int_equal(ready, 0);

	int p[2];
	assert_int_equal(pipe(p), 0);
	t0 = mono_ns();
	assert_int_equal(http_poll(e, 50000000, p[0], &ready), 0);
	assert_int_equal(ready, 0);
	assert_true(mono_ns() - t0 >= 40000000);
	assert_int_equal(write(p[1], "k", 1), 1);
	t0 = mono_ns();
	assert_int_equal(http_poll(e, 5000000000LL, p[0], &ready), 0);
	assert_int_equal(ready, 1);
	assert_true(mono_ns() - t0 < 1000000000LL);
	close(p[0]);
	close(p[1]);
	http_engine_free(e);
}

static int trace_calls;
static char trace_last[4096];

static void trace_cb(void *ud, const char *msg)
{
	(void)ud;
	trace_calls++;
	snprintf(trace_last, sizeof(trace_last), "%s", msg);
}

static void test_trace(void **state)
{
	(void)state;
	char err[ERR_MAX];
	struct http_engine_opts o = { 0 };
	o.bearer_token = "sekrit-token";
	o.trace = trace_cb;
	o.trace_bodies = 1;
	struct http_engine *e = http_engine_new(&o, err);
	char url[128];
	url_of(url, sizeof(url), "/echo");
	struct http_req r = { 0 };
	r.method = "POST";
	r.url = url;
	r.body = "{\"model\":\"m\",\"api_key\":\"hidden\"}";
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(trace_calls, 1);
	assert_non_null(strstr(trace_last, "POST http://127.0.0.1:"));
	assert_non_null(strstr(trace_last, "-> 200"));
	assert_non_null(strstr(trace_last, "first-byte"));
	assert_non_null(strstr(trace_last, "total"));
	assert_non_null(strstr(trace_last, "\"api_key\":\"***\""));
	assert_null(strstr(trace_last, "hidden"));
	/* The echoed request head holds the token: the trace must not. */
	assert_null(strstr(trace_last, "sekrit-token"));
	free(a);
	http_engine_free(e);
}

/* ---- lib/ollama's sending helpers over the engine ---- */

struct sres {
	int ndone;
	int ntok;
	enum ollama_err err;
	char msg[512];
	int64_t first_token_ns;
	int64_t eval_count;
	char done_reason[32];
};

static int s_line(void *ud, const struct ollama_stream *s, int is_token, int64_t t)
{
	struct sres *r = ud;
	(void)s;
	(void)t;
	r->ntok += is_token;
	return 0;
}

static void s_done(void *ud, const struct ollama_stream *s, enum ollama_err err,
		   const char *msg, const struct http_response *resp)
{
	struct sres *r = ud;
	(void)resp;
	r->ndone++;
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	r->first_token_ns = s->first_token_ns;
	r->eval_count = s->eval_count;
	snprintf(r->done_reason, sizeof(r->done_reason), "%s", s->done_reason);
}

static void test_ollama_stream_submit(void **state)
{
	(void)state;
	char err[ERR_MAX], base[64];
	struct http_engine *e = engine();
	struct buf text;
	buf_init(&text, 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/", srv_port);
	struct ollama_stream_req r = { 0 };
	struct sres a = { 0 }, b = { 0 }, c = { 0 };
	r.base_url = base;
	r.path = "/gen";
	r.body = "{\"model\":\"m\",\"prompt\":\"hi\"}";
	r.keep_text = &text;
	r.on_line = s_line;
	r.on_done = s_done;
	r.ud = &a;
	assert_true(ollama_stream_submit(e, &r, err) > 0);
	r.path = "/genbusy";
	r.keep_text = NULL;
	r.ud = &b;
	assert_true(ollama_stream_submit(e, &r, err) > 0);
	r.path = "/chunktrunc";
	r.ud = &c;
	assert_true(ollama_stream_submit(e, &r, err) > 0);
	assert_int_equal(http_run(e, mono_ns() + 10000000000LL), 0);

	assert_int_equal(a.ndone, 1);
	assert_int_equal(a.err, OLLAMA_OK);
	assert_int_equal(a.ntok, 2);
	assert_true(a.first_token_ns > 0);
	assert_int_equal(a.eval_count, 2);
	assert_string_equal(a.done_reason, "stop");
	assert_string_equal(buf_str(&text), "Hello");

	assert_int_equal(b.ndone, 1);
	assert_int_equal(b.err, OLLAMA_E_BUSY);
	assert_string_equal(b.msg, "server busy, please try again.  maximum pending requests "
				   "exceeded");

	assert_int_equal(c.ndone, 1);
	assert_int_equal(c.err, OLLAMA_E_TRUNCATED);
	buf_release(&text);
	http_engine_free(e);
}

static void test_ollama_fanout(void **state)
{
	(void)state;
	int port;
	int fd = listen_any(&port);
	close(fd);
	char ok[64], dead[64], nf[64];
	snprintf(ok, sizeof(ok), "http://127.0.0.1:%d", srv_port);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", port);
	snprintf(nf, sizeof(nf), "http://127.0.0.1:%d/x", srv_port);
	const char *urls[] = { ok, dead, nf };
	struct ollama_reply rep[3];
	struct http_engine *e = engine();
	assert_int_equal(ollama_fanout(e, urls, 3, "GET", "/ok", NULL, 5000000000LL, rep), 1);
	assert_int_equal(rep[0].err, OLLAMA_OK);
	assert_int_equal(rep[0].status, 200);
	assert_string_equal(rep[0].body, "{\"version\":\"1\"}");
	char v[16];
	assert_int_equal(ollama_parse_version(rep[0].body, rep[0].len, v, sizeof(v), NULL), 0);
	assert_string_equal(v, "1");
	assert_true(rep[0].latency_ns > 0);
	assert_int_equal(rep[1].err, OLLAMA_E_REFUSED);
	assert_string_equal(rep[1].errmsg, "connection refused");
	assert_string_equal(rep[1].body, "");
	assert_int_equal(rep[2].err, OLLAMA_E_HTTP);
	assert_string_equal(rep[2].errmsg, "HTTP 404: 404 page not found");
	for (int i = 0; i < 3; i++)
		ollama_reply_release(&rep[i]);
	http_engine_free(e);
}

static void test_delete_with_body(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/echo");
	struct http_req r = { 0 };
	r.method = "DELETE";
	r.url = url;
	r.body = "{\"model\":\"m\"}";
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	assert_non_null(strstr(a->body, "DELETE /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(a->body, "Content-Length: 13\r\n"));
	/* HEAD: no body expected */
	memset(a, 0, sizeof(*a));
	url_of(url, sizeof(url), "/ok");
	r.method = "HEAD";
	r.body = NULL;
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_OK);
	assert_int_equal(a->status, 200);
	assert_string_equal(a->body, "");
	/* start_at: the recorded start is the intended time */
	memset(a, 0, sizeof(*a));
	r.method = NULL;
	r.start_at = mono_ns() - 1000000000LL;
	run_one(e, &r, a);
	assert_true(a->t.sent - a->t.start >= 1000000000LL);
	free(a);
	http_engine_free(e);
}

/* A connection the server closes while it sits idle in the pool: the loop must not keep
 * waking up for it, and the next request gets a new connection. */
static void test_idle_close(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/idleclose");
	struct http_req r = { 0 };
	r.url = url;
	struct result *a = calloc(1, sizeof(*a));
	int before = srv_conns;
	run_one(e, &r, a);
	assert_int_equal(a->status, 200);
	/* Idle for 400 ms in 100 ms waits: a registration left readable would return at
	 * once, every time. */
	int returns = 0;
	int64_t until = mono_ns() + 400000000LL;
	while (mono_ns() < until) {
		assert_int_equal(http_poll(e, 100000000LL, -1, NULL), 0);
		returns++;
	}
	assert_true(returns <= 8);
	for (int i = 0; i < 3; i++) {
		memset(a, 0, sizeof(*a));
		run_one(e, &r, a);
		assert_int_equal(a->err, HTTP_OK);
		assert_int_equal(a->status, 200);
		assert_false(a->reused);
		msleep(120); /* let the server close it again */
	}
	assert_int_equal(srv_conns - before, 4);
	free(a);
	http_engine_free(e);
}

/* Every response closes its connection: descriptors are reused by the next socket. */
static void test_conn_close_each(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128], url2[128];
	url_of(url, sizeof(url), "/connclose");
	url_of(url2, sizeof(url2), "/ok");
	struct result *a = calloc(1, sizeof(*a));
	for (int i = 0; i < 60; i++) {
		struct http_req r = { 0 };
		r.url = i % 3 == 2 ? url2 : url;
		memset(a, 0, sizeof(*a));
		run_one(e, &r, a);
		assert_int_equal(a->err, HTTP_OK);
		assert_int_equal(a->status, 200);
	}
	free(a);
	http_engine_free(e);
}

/* A pooled handle reused for the same URL with another body sends the new body. */
static void test_same_request_new_body(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128];
	url_of(url, sizeof(url), "/echo");
	struct result *a = calloc(1, sizeof(*a));
	const char *bodies[] = { "{\"a\":1}", "{\"bb\":22}", "{}" };
	const char *lens[] = { "Content-Length: 7\r\n", "Content-Length: 9\r\n",
			       "Content-Length: 2\r\n" };
	for (int i = 0; i < 3; i++) {
		struct http_req r = { 0 };
		r.method = "POST";
		r.url = url;
		r.body = bodies[i];
		memset(a, 0, sizeof(*a));
		run_one(e, &r, a);
		assert_int_equal(a->status, 200);
		assert_non_null(strstr(a->body, lens[i]));
	}
	/* then a GET on the same handle: no body, no POST */
	struct http_req g = { 0 };
	g.url = url;
	memset(a, 0, sizeof(*a));
	run_one(e, &g, a);
	assert_non_null(strstr(a->body, "GET /echo HTTP/1.1\r\n"));
	assert_null(strstr(a->body, "Content-Length"));
	free(a);
	http_engine_free(e);
}

/* Past the shared header lists (16 combinations) a request gets its own list; the
 * handle that carried it must be set up from scratch next time, not keep a custom
 * method from before. */
static void test_own_headers_then_reuse(void **state)
{
	(void)state;
	struct http_engine *e = engine();
	char url[128], acc[32];
	url_of(url, sizeof(url), "/echo");
	struct result *a = calloc(1, sizeof(*a));
	for (int i = 0; i < 16; i++) {
		struct http_req r = { 0 };
		snprintf(acc, sizeof(acc), "x/%d", i);
		r.url = url;
		r.accept = acc;
		memset(a, 0, sizeof(*a));
		run_one(e, &r, a);
		assert_int_equal(a->status, 200);
	}
	struct http_req d = { 0 };
	d.method = "DELETE";
	d.url = url;
	d.accept = "x/delete";
	memset(a, 0, sizeof(*a));
	run_one(e, &d, a);
	assert_non_null(strstr(a->body, "DELETE /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(a->body, "Accept: x/delete\r\n"));
	struct http_req g = { 0 };
	g.url = url;
	g.accept = "x/get";
	memset(a, 0, sizeof(*a));
	run_one(e, &g, a);
	assert_non_null(strstr(a->body, "GET /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(a->body, "Accept: x/get\r\n"));
	free(a);
	http_engine_free(e);
}

/* Proxy variables are still honoured (the engine only skips libcurl's lookups when
 * none is set): through http_proxy, our server sees the absolute URL. */
static void test_proxy_env(void **state)
{
	(void)state;
	char proxy[128];
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", srv_port);
	setenv("http_proxy", proxy, 1);
	struct http_engine *e = engine();
	struct http_req r = { 0 };
	r.url = "http://obridge-proxy-test.invalid/ok";
	struct result *a = calloc(1, sizeof(*a));
	run_one(e, &r, a);
	unsetenv("http_proxy");
	assert_int_equal(a->err, HTTP_OK);
	assert_int_equal(a->status, 404); /* the test server's answer to an absolute URL */
	http_engine_free(e);
	/* without it, the name does not resolve */
	e = engine();
	memset(a, 0, sizeof(*a));
	run_one(e, &r, a);
	assert_int_equal(a->err, HTTP_E_DNS);
	free(a);
	http_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_split_reads),
		cmocka_unit_test(test_lines_crlf_and_blank),
		cmocka_unit_test(test_lines_byte_by_byte),
		cmocka_unit_test(test_lines_too_long),
		cmocka_unit_test(test_lines_callback_stop),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_get_ok_and_reuse),
		cmocka_unit_test(test_post_headers),
		cmocka_unit_test(test_line_mode),
		cmocka_unit_test(test_capture_header),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_dns_and_tls),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_body_budget),
		cmocka_unit_test(test_error_status_line_mode),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_submit_from_callbacks),
		cmocka_unit_test(test_resubmit_chain_long),
		cmocka_unit_test(test_many_parallel),
		cmocka_unit_test(test_wakeup_and_extra_fd),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_ollama_stream_submit),
		cmocka_unit_test(test_ollama_fanout),
		cmocka_unit_test(test_delete_with_body),
		cmocka_unit_test(test_idle_close),
		cmocka_unit_test(test_conn_close_each),
		cmocka_unit_test(test_same_request_new_body),
		cmocka_unit_test(test_own_headers_then_reuse),
		cmocka_unit_test(test_proxy_env),
	};
	return cmocka_run_group_tests(tests, setup_server, NULL);
}
