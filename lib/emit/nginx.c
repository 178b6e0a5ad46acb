/* SPDX-License-Identifier: GPL-3.0-or-later */
/* emit nginx: an upstream per pool and a server block on the fleet's front door. */
#include "../compat.h"
#include "emit-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../banned.h"

/* The fleet's front door when [fleet] balancer is not set. */
#define DEFAULT_LISTEN "127.0.0.1:8080"

static int upstream_block(struct buf *b, const struct fleet *f, const char *name,
			  const char *group, char *host, size_t hostn, const char *scheme,
			  char *err)
{
	buf_addf(b, "upstream %s {\n", name);
	buf_adds(b, "\t# Weighted round robin (nginx's default). A backup server gets requests only\n"
		    "\t# while every other server is down or failed; max_fails within fail_timeout\n"
		    "\t# marks a server failed (open-source nginx has no active health checks).\n");
	host[0] = '\0';
	size_t n = 0;
	for (size_t i = 0; i < f->ninstances; i++) {
		const struct fleet_instance *in = &f->instances[i];
		if (group && !emit_in_group(in, group))
			continue;
		struct hostport hp;
		char what[300];
		snprintf(what, sizeof(what), "[instance %s] url", in->name);
		if (emit_split_url(in->url, &hp, what, err) < 0)
			return -1;
		if (strcmp(hp.scheme, scheme))
			return seterr(err, "[instance %s] url: %s:// and %s:// instances cannot share "
					   "one nginx upstream", in->name, hp.scheme, scheme);
		char addr[320];
		emit_hostport_str(&hp, addr, sizeof(addr));
		if (!host[0] && !in->backup)
			snprintf(host, hostn, "%s", addr);
		buf_addf(b, "\tserver %s", addr);
		if (in->weight != 1)
			buf_addf(b, " weight=%d", in->weight);
		buf_adds(b, " max_fails=2 fail_timeout=10s");
		if (in->backup)
			buf_adds(b, " backup");
		buf_adds(b, "; ");
		emit_instance_note(b, in, 1, 1);
		buf_adds(b, "\n");
		n++;
	}
	if (!host[0]) {
		/* a pool of backups only: the first one */
		for (size_t i = 0; i < f->ninstances; i++) {
			const struct fleet_instance *in = &f->instances[i];
			struct hostport hp;
			if (group && !emit_in_group(in, group))
				continue;
			if (emit_split_url(in->url, &hp, "url", err) == 0) {
				emit_hostport_str(&hp, host, hostn);
				break;
			}
		}
	}
	buf_adds(b, "\t# idle connections kept open to the servers (needs HTTP/1.1 and an empty\n"
		    "\t# Connection header, set below)\n");
	buf_addf(b, "\tkeepalive %zu;\n", n * 8 < 16 ? 16 : n * 8);
	buf_adds(b, "}\n\n");
	return 0;
}

static void proxy_settings(struct buf *b, const char *indent)
{
	static const char *const lines[] = {
		"proxy_http_version 1.1;",
		"proxy_set_header Connection \"\";",
		"# Ollama streams NDJSON: with buffering on, tokens arrive in 4-8 KB bursts.",
		"proxy_buffering off;",
		"proxy_cache off;",
		"# Longer than a cold model load (Ollama's OLLAMA_LOAD_TIMEOUT is 5m): nginx's",
		"# default of 60s between two reads turns a cold load into a 504.",
		"proxy_read_timeout 10m;",
		"proxy_send_timeout 10m;",
		"proxy_connect_timeout 5s;",
		"# A POST that reached a server is not sent again (nginx's default), so a request",
		"# is never run twice; connection errors move to the next server.",
		"proxy_next_upstream error timeout;",
		"# Prompts with images are large.",
		"client_max_body_size 100m;",
		"# Which server answered (every server tried, comma-separated): route tests",
		"# attribute requests with it.",
		"add_header X-Upstream $upstream_addr always;",
	};
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		buf_addf(b, "%s%s\n", indent, lines[i]);
}

int emit_nginx(const struct fleet *f, const struct emit_opts *o, struct emit_out *out,
	       char *err)
{
	struct buf b = BUF_INIT;
	char id[200], up[256], uplong[300], pool[300], hostvar[300];
	char host[320], hostlong[320];
	emit_ident(f->name, id, sizeof(id));
	snprintf(up, sizeof(up), "obridge_%s", id);
	snprintf(pool, sizeof(pool), "$obridge_%s_pool", id);
	snprintf(hostvar, sizeof(hostvar), "$obridge_%s_host", id);

	char listen[340];
	int tls = 0;
	if (f->balancer) {
		struct hostport hp;
		if (emit_split_url(f->balancer, &hp, "[fleet] balancer", err) < 0)
			return -1;
		tls = !strcmp(hp.scheme, "https");
		emit_hostport_str(&hp, listen, sizeof(listen));
	} else {
		snprintf(listen, sizeof(listen), "%s", DEFAULT_LISTEN);
	}
	if (tls)
		return seterr(err, "[fleet] balancer is https://: obridge emits plain HTTP; put TLS "
				   "in front or use an http:// balancer");
	struct hostport first;
	if (emit_split_url(f->instances[0].url, &first, "url", err) < 0)
		return -1;

	emit_header(&b, f, o, "nginx", "#");
	buf_adds(&b, o->full ? "# A whole nginx.conf: nginx -t -c FILE checks it.\n" :
			       "# An http-context snippet for conf.d/ (include it inside http { }).\n");
	buf_adds(&b, "#\n");
	emit_annotations(&b, f);
	buf_adds(&b, "\n");

	const char *indent = "";
	if (o->full) {
		buf_adds(&b, "worker_processes auto;\n\n"
			     "events {\n\tworker_connections 4096;\n}\n\n"
			     "http {\n");
		indent = "\t";
	}
	struct buf body = BUF_INIT;
	if (upstream_block(&body, f, up, NULL, host, sizeof(host), first.scheme, err) < 0)
		goto fail;
	int has_long = emit_has_long(f);
	if (has_long) {
		snprintf(uplong, sizeof(uplong), "%s_long", up);
		buf_addf(&body, "# Long prompts: bodies over %" PRId64 " bytes go to group %s.\n",
			 f->long_prompt_bytes, f->long_group);
		if (upstream_block(&body, f, uplong, f->long_group, hostlong, sizeof(hostlong),
				   first.scheme, err) < 0)
			goto fail;
		char *re = emit_regex_greater((uint64_t)f->long_prompt_bytes);
		buf_addf(&body,
			 "# Prompt-length routing: the request's Content-Length header, matched as a\n"
			 "# decimal number greater than %" PRId64 " ([route] long_prompt_bytes), picks\n"
			 "# the pool. A body sent chunked carries no length and goes to the default pool.\n"
			 "map $http_content_length %s {\n"
			 "\tdefault %s;\n"
			 "\t\"~^(%s)$\" %s;\n"
			 "}\n\n", f->long_prompt_bytes, pool, up, re, uplong);
		free(re);
		buf_addf(&body,
			 "# The Host header for each pool (see proxy_set_header Host below).\n"
			 "map %s %s {\n"
			 "\tdefault %s;\n"
			 "\t%s %s;\n"
			 "}\n\n", pool, hostvar, host, uplong, hostlong);
	}
	buf_addf(&body, "server {\n");
	buf_addf(&body, "\t# The fleet's front door ([fleet] balancer%s).\n",
		 f->balancer ? "" : " is not set: a default");
	buf_addf(&body, "\tlisten %s;%s\n", listen, f->balancer ? "" : " #@ default");
	buf_adds(&body, "\tlocation / {\n");
	buf_addf(&body, "\t\tproxy_pass %s://%s;\n", first.scheme, has_long ? pool : up);
	buf_adds(&body, "\t\t# Ollama bound to loopback answers 403 to a Host that is not an IP,\n"
			"\t\t# localhost or its own name; it checks the host part only, so the first\n"
			"\t\t# server's address serves the whole pool.\n");
	if (has_long)
		buf_addf(&body, "\t\tproxy_set_header Host %s;\n", hostvar);
	else
		buf_addf(&body, "\t\tproxy_set_header Host %s;\n", host);
	proxy_settings(&body, "\t\t");
	buf_adds(&body, "\t}\n}\n");

	/* indent the body inside http { } for --full */
	const char *s = buf_str(&body);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		if (l)
			buf_adds(&b, indent);
		buf_add(&b, s, l);
		buf_adds(&b, "\n");
		s += l + (nl ? 1 : 0);
	}
	buf_release(&body);
	if (o->full)
		buf_adds(&b, "}\n");
	emit_out_add(out, o->full ? "nginx.conf" : "obridge.conf", &b);
	return 0;
fail:
	buf_release(&body);
	buf_release(&b);
	return -1;
}
