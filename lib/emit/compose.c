/* SPDX-License-Identifier: GPL-3.0-or-later */
/* emit compose: one Ollama service per instance and nginx in front, for one host. */
#include "../compat.h"
#include "emit-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define NGINX_FILE "nginx-obridge.conf"

/* The compose service (and network host) name of an instance: characters compose does not
 * take become '-' ("127.0.0.1:11434" -> "127.0.0.1-11434"). */
static void service_name(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (const char *p = s; *p && k + 1 < n; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			 (*p >= '0' && *p <= '9') || (k && strchr("_.-", *p));
		out[k++] = ok ? *p : '-';
	}
	out[k] = '\0';
}

int emit_compose(const struct fleet *f, const struct emit_opts *o, struct emit_out *out,
		 char *err)
{
	struct buf b = BUF_INIT;
	char tmp[64];
	char (*svc)[128] = xcalloc(f->ninstances, sizeof(*svc));
	for (size_t i = 0; i < f->ninstances; i++) {
		service_name(f->instances[i].name, svc[i], sizeof(svc[i]));
		int clash = !strcmp(svc[i], "nginx");
		for (size_t k = 0; k < i; k++)
			clash |= !strcmp(svc[k], svc[i]);
		if (clash) {
			seterr(err, "[instance %s]: its compose service name '%s' is taken",
			       f->instances[i].name, svc[i]);
			free(svc);
			return -1;
		}
	}
	/* the balancer's published port */
	int lb_port = 8080;
	char lb_host[320] = "";
	if (f->balancer) {
		struct hostport hp;
		if (emit_split_url(f->balancer, &hp, "[fleet] balancer", err) < 0)
			return -1;
		lb_port = hp.port;
		if (strcmp(hp.host, "0.0.0.0"))
			snprintf(lb_host, sizeof(lb_host), "%s:", hp.host);
	}

	emit_header(&b, f, o, "compose", "#");
	buf_adds(&b, "# One Ollama service per instance, on one host, and nginx in front with the\n"
		     "# config beside this file (" NGINX_FILE ", from `obridge emit nginx`, with the\n"
		     "# services' names as upstream addresses). Check: docker-compose config -q.\n"
		     "# The ollama image has no curl: the healthcheck runs `ollama list`.\n"
		     "---\n");
	buf_adds(&b, "services:\n");
	int *ports = xcalloc(f->ninstances, sizeof(int));
	for (size_t i = 0; i < f->ninstances; i++) {
		const struct fleet_instance *in = &f->instances[i];
		struct hostport hp;
		char what[300];
		snprintf(what, sizeof(what), "[instance %s] url", in->name);
		if (emit_split_url(in->url, &hp, what, err) < 0) {
			buf_release(&b);
			free(ports);
			free(svc);
			return -1;
		}
		if (strcmp(svc[i], in->name))
			buf_addf(&b, "  # instance %s\n", in->name);
		buf_addf(&b, "  %s:\n", svc[i]);
		buf_adds(&b, "    image: ollama/ollama\n"
			     "    restart: unless-stopped\n"
			     "    environment:\n"
			     "      OLLAMA_HOST: \"0.0.0.0:11434\"\n");
		int64_t ka;
		if (emit_instance_keep_alive(f, in, &ka))
			buf_addf(&b, "      OLLAMA_KEEP_ALIVE: \"%s\"\n", ka == DURATION_FOREVER ? "-1" :
				 units_go_duration(ka, tmp, sizeof(tmp)));
		if (in->num_parallel)
			buf_addf(&b, "      OLLAMA_NUM_PARALLEL: \"%d\"\n", in->num_parallel);
		if (in->max_loaded)
			buf_addf(&b, "      OLLAMA_MAX_LOADED_MODELS: \"%d\"\n", in->max_loaded);
		if (f->shared_store)
			buf_adds(&b, "      # shared_store: pull on one instance; none prunes the others' blobs\n"
				     "      OLLAMA_NOPRUNE: \"1\"\n");
		/* publish on the instance's port; a port another instance took already (a
		 * fleet of several hosts put on one) gets the next free one */
		int pub = hp.port;
		for (int again = 1; again;) {
			again = 0;
			for (size_t k = 0; k < i; k++)
				if (ports[k] == pub) {
					pub++;
					again = 1;
				}
		}
		ports[i] = pub;
		if (pub != hp.port)
			buf_addf(&b, "    # %s in the fleet file; port %d is taken on this host\n",
				 in->url, hp.port);
		buf_addf(&b, "    ports:\n      - \"%d:11434\"\n", pub);
		buf_addf(&b, "    volumes:\n      - %s:/root/.ollama\n",
			 f->shared_store ? "models" : svc[i]);
		buf_adds(&b, "    healthcheck:\n"
			     "      test: [\"CMD\", \"ollama\", \"list\"]\n"
			     "      interval: 30s\n"
			     "      timeout: 10s\n"
			     "      retries: 3\n"
			     "      start_period: 30s\n");
		if (in->gpus) {
			buf_addf(&b, "    # gpus = %s%s%s\n", in->gpus, in->group ? ", group " : "",
				 in->group ? in->group : "");
			buf_adds(&b, "    deploy:\n"
				     "      resources:\n"
				     "        reservations:\n"
				     "          devices:\n"
				     "            - driver: nvidia\n"
				     "              device_ids: [");
			const char *p = in->gpus;
			while (*p) {
				size_t l = strcspn(p, ",");
				buf_addf(&b, "%s\"%.*s\"", p == in->gpus ? "" : ", ", (int)l, p);
				p += l + (p[l] == ',');
			}
			buf_adds(&b, "]\n"
				     "              capabilities: [gpu]\n");
		}
	}
	free(ports);
	buf_adds(&b, "  nginx:\n"
		     "    image: nginx:stable\n"
		     "    restart: unless-stopped\n");
	buf_addf(&b, "    ports:\n      - \"%s%d:80\"\n", lb_host, lb_port);
	buf_adds(&b, "    volumes:\n"
		     "      - ./" NGINX_FILE ":/etc/nginx/conf.d/default.conf:ro\n"
		     "    depends_on:\n");
	for (size_t i = 0; i < f->ninstances; i++)
		buf_addf(&b, "      %s:\n        condition: service_healthy\n", svc[i]);
	buf_adds(&b, "volumes:\n");
	if (f->shared_store)
		buf_adds(&b, "  models: {}\n");
	else
		for (size_t i = 0; i < f->ninstances; i++)
			buf_addf(&b, "  %s: {}\n", svc[i]);
	emit_out_add(out, "docker-compose.yml", &b);

	/* nginx for the compose network: the services by name, listening on 80 */
	struct fleet cf = *f;
	cf.instances = xcalloc(f->ninstances, sizeof(*cf.instances));
	char **urls = xcalloc(f->ninstances, sizeof(char *));
	for (size_t i = 0; i < f->ninstances; i++) {
		cf.instances[i] = f->instances[i];
		urls[i] = xasprintf("http://%s:11434", svc[i]);
		cf.instances[i].url = urls[i];
	}
	char lb[] = "http://0.0.0.0:80";
	cf.balancer = lb;
	struct emit_opts no = *o;
	no.full = 0;
	struct emit_out nout = { 0 };
	int r = emit_nginx(&cf, &no, &nout, err);
	for (size_t i = 0; i < f->ninstances; i++)
		free(urls[i]);
	free(urls);
	free(svc);
	free(cf.instances);
	if (r < 0)
		return -1;
	buf_adds(&b, nout.files[0].text);
	emit_out_release(&nout);
	emit_out_add(out, NGINX_FILE, &b);
	return 0;
}
