/* SPDX-License-Identifier: GPL-3.0-or-later */
/* emit haproxy: a frontend on the fleet's front door and a backend per pool. */
#include "../compat.h"
#include "emit-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../banned.h"

#define DEFAULT_BIND "127.0.0.1:8080"

static int backend(struct buf *b, const struct fleet *f, const char *name, const char *group,
		   char *err)
{
	char host[320] = "";
	struct buf srv = BUF_INIT;
	for (size_t i = 0; i < f->ninstances; i++) {
		const struct fleet_instance *in = &f->instances[i];
		if (group && !emit_in_group(in, group))
			continue;
		if (!emit_valid_unit_name(in->name)) {
			buf_release(&srv);
			return seterr(err, "[instance %s]: not usable as a HAProxy server name "
					   "(letters, digits and :_.- only)", in->name);
		}
		struct hostport hp;
		char what[300], addr[320];
		snprintf(what, sizeof(what), "[instance %s] url", in->name);
		if (emit_split_url(in->url, &hp, what, err) < 0) {
			buf_release(&srv);
			return -1;
		}
		if (!strcmp(hp.scheme, "https")) {
			buf_release(&srv);
			return seterr(err, "[instance %s] url is https://: obridge emits plain HTTP "
					   "HAProxy backends", in->name);
		}
		emit_hostport_str(&hp, addr, sizeof(addr));
		if (!host[0] && !in->backup)
			snprintf(host, sizeof(host), "%s", addr);
		buf_addf(&srv, "\tserver %s %s check inter 5s fall 2 rise 2", in->name, addr);
		if (in->weight != 1)
			buf_addf(&srv, " weight %d", in->weight);
		if (in->num_parallel)
			buf_addf(&srv, " maxconn %d", in->num_parallel);
		if (in->backup)
			buf_adds(&srv, " backup");
		struct buf note = BUF_INIT;
		emit_instance_note(&note, in, 0, 0);
		if (strcmp(buf_str(&note), "#@"))
			buf_addf(&srv, " %s", buf_str(&note));
		buf_release(&note);
		buf_adds(&srv, "\n");
	}
	if (!host[0]) {
		const char *s = strchr(buf_str(&srv), ' ');
		s = s ? strchr(s + 1, ' ') : NULL;
		if (s)
			snprintf(host, sizeof(host), "%.*s", (int)strcspn(s + 1, " "), s + 1);
	}
	buf_addf(b, "backend %s\n", name);
	buf_adds(b, "\tmode http\n"
		    "\t# Weighted round robin; a backup server gets requests only while every\n"
		    "\t# other server is down.\n"
		    "\tbalance roundrobin\n"
		    "\t# Active health check: GET / answers 200 \"Ollama is running\".\n"
		    "\toption httpchk GET /\n"
		    "\thttp-check expect status 200\n"
		    "\thttp-check expect string Ollama\\ is\\ running\n"
		    "\t# Forward each chunk at once: Ollama streams one token per chunk, and\n"
		    "\t# HAProxy otherwise holds small writes back to merge them.\n"
		    "\toption http-no-delay\n"
		    "\t# Connection errors move a request to another server.\n"
		    "\toption redispatch\n"
		    "\tretries 2\n"
		    "\ttimeout connect 5s\n"
		    "\t# Longer than a cold model load (Ollama's OLLAMA_LOAD_TIMEOUT is 5m).\n"
		    "\ttimeout server 10m\n"
		    "\t# A server at maxconn (its OLLAMA_NUM_PARALLEL slots) queues the request\n"
		    "\t# here, where `show stat` shows it, instead of inside Ollama.\n"
		    "\ttimeout queue 5m\n"
		    "\t# Ollama bound to loopback answers 403 to a Host that is not an IP, localhost\n"
		    "\t# or its own name; it checks the host part only, so one address serves the pool.\n");
	buf_addf(b, "\thttp-request set-header Host %s\n", host);
	buf_adds(b, "\t# Which server answered: route tests attribute requests with it.\n"
		    "\thttp-response set-header X-Server %[srv_name]\n");
	buf_adds(b, buf_str(&srv));
	buf_adds(b, "\n");
	buf_release(&srv);
	return 0;
}

int emit_haproxy(const struct fleet *f, const struct emit_opts *o, struct emit_out *out,
		 char *err)
{
	struct buf b = BUF_INIT;
	char id[200], be[256], belong[300];
	emit_ident(f->name, id, sizeof(id));
	snprintf(be, sizeof(be), "obridge_%s", id);
	snprintf(belong, sizeof(belong), "obridge_%s_long", id);
	char bind[340];
	if (f->balancer) {
		struct hostport hp;
		if (emit_split_url(f->balancer, &hp, "[fleet] balancer", err) < 0)
			return -1;
		if (!strcmp(hp.scheme, "https"))
			return seterr(err, "[fleet] balancer is https://: obridge emits plain HTTP; "
					   "put TLS in front or use an http:// balancer");
		emit_hostport_str(&hp, bind, sizeof(bind));
	} else {
		snprintf(bind, sizeof(bind), "%s", DEFAULT_BIND);
	}

	emit_header(&b, f, o, "haproxy", "#");
	buf_adds(&b, o->full ? "# A whole haproxy.cfg: haproxy -c -f FILE checks it.\n" :
			       "# Sections to load beside your haproxy.cfg (haproxy -f haproxy.cfg -f FILE).\n");
	buf_adds(&b, "#\n");
	emit_annotations(&b, f);
	buf_adds(&b, "\n");
	if (o->full)
		buf_adds(&b, "global\n"
			     "\tmaxconn 4096\n"
			     "\tlog stdout format raw local0 info\n"
			     "\n"
			     "defaults\n"
			     "\tmode http\n"
			     "\tlog global\n"
			     "\toption httplog\n"
			     "\ttimeout connect 5s\n"
			     "\ttimeout client 10m\n"
			     "\ttimeout server 10m\n"
			     "\n");
	buf_addf(&b, "frontend %s\n", be);
	buf_adds(&b, "\tmode http\n");
	buf_addf(&b, "\t# The fleet's front door ([fleet] balancer%s).\n",
		 f->balancer ? "" : " is not set: a default");
	buf_addf(&b, "\tbind %s%s\n", bind, f->balancer ? "" : " #@ default");
	buf_adds(&b, "\ttimeout client 10m\n");
	if (emit_has_long(f)) {
		buf_addf(&b, "\t# Prompt-length routing ([route]): a Content-Length over %" PRId64
			     " bytes\n"
			     "\t# goes to group %s. A body sent chunked carries no length and goes\n"
			     "\t# to the default backend.\n", f->long_prompt_bytes, f->long_group);
		buf_addf(&b, "\tacl obridge_long req.hdr_val(content-length) gt %" PRId64 "\n",
			 f->long_prompt_bytes);
		buf_addf(&b, "\tuse_backend %s if obridge_long\n", belong);
	}
	buf_addf(&b, "\tdefault_backend %s\n\n", be);
	if (backend(&b, f, be, NULL, err) < 0)
		goto fail;
	if (emit_has_long(f) && backend(&b, f, belong, f->long_group, err) < 0)
		goto fail;
	/* no blank line at the end */
	if (b.len >= 2 && b.data[b.len - 2] == '\n')
		b.data[--b.len] = '\0';
	emit_out_add(out, "haproxy.cfg", &b);
	return 0;
fail:
	buf_release(&b);
	return -1;
}
