/* SPDX-License-Identifier: GPL-3.0-or-later */
/* emit systemd: ollama@.service, one environment file per instance, the health timer. */
#include "../compat.h"
#include "emit-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define OLLAMA_BIN "/usr/local/bin/ollama"
#define OBRIDGE_BIN "/usr/local/bin/obridge"
#define FLEET_ETC "/etc/obridge/obridge.conf"
#define TEXTFILE_DIR "/var/lib/prometheus/node-exporter"
#define MODELS_DIR "/var/lib/ollama/models"

/* The keep_alive every model of the instance agrees on, or 0 (none / they differ). */
int emit_instance_keep_alive(const struct fleet *f, const struct fleet_instance *in,
			     int64_t *ns)
{
	int have = 0;
	for (size_t m = 0; m < f->nmodels; m++) {
		const struct fleet_model *md = &f->models[m];
		if (!fleet_model_on_instance(md, in) || !md->has_keep_alive)
			continue;
		if (have && *ns != md->keep_alive_ns)
			return 0;
		*ns = md->keep_alive_ns;
		have = 1;
	}
	return have;
}

/* OLLAMA_HOST for the server itself: loopback stays loopback, others bind every address. */
void emit_bind_addr(const struct hostport *hp, char *out, size_t n)
{
	int loop = !strcmp(hp->host, "localhost") || !strncmp(hp->host, "127.", 4) ||
		   !strcmp(hp->host, "[::1]");
	snprintf(out, n, "%s:%d", loop ? hp->host : "0.0.0.0", hp->port);
}

int emit_valid_unit_name(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(":_.-", *p)))
			return 0;
	return *s != 0;
}

int emit_systemd(const struct fleet *f, const struct emit_opts *o, struct emit_out *out,
		 char *err)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < f->ninstances; i++)
		if (!emit_valid_unit_name(f->instances[i].name))
			return seterr(err, "[instance %s]: not usable as a systemd instance name "
					   "(letters, digits and :_.- only)", f->instances[i].name);

	emit_header(&b, f, o, "systemd", "#");
	buf_addf(&b, "# Template unit: one Ollama server per instance. Install as\n"
		     "# /etc/systemd/system/ollama@.service with /etc/ollama/instance-NAME.conf, then\n"
		     "# systemctl enable --now ollama@NAME on the instance's host.\n"
		     "# Ollama's `serve` takes no arguments: the address and port live in OLLAMA_HOST.\n"
		     "[Unit]\n"
		     "Description=Ollama server %%i (obridge fleet %s)\n"
		     "After=network-online.target\n"
		     "Wants=network-online.target\n"
		     "\n"
		     "[Service]\n"
		     "Type=exec\n"
		     "User=ollama\n"
		     "Group=ollama\n"
		     "EnvironmentFile=/etc/ollama/instance-%%i.conf\n"
		     "ExecStart=" OLLAMA_BIN " serve\n"
		     "Restart=always\n"
		     "RestartSec=3\n"
		     "# a model load maps gigabytes; do not kill a slow stop too early\n"
		     "TimeoutStopSec=30\n"
		     "LimitNOFILE=65536\n"
		     "\n"
		     "[Install]\n"
		     "WantedBy=multi-user.target\n", f->name);
	emit_out_add(out, "ollama@.service", &b);

	for (size_t i = 0; i < f->ninstances; i++) {
		const struct fleet_instance *in = &f->instances[i];
		struct hostport hp;
		char what[300], bind[340], tmp[64];
		snprintf(what, sizeof(what), "[instance %s] url", in->name);
		if (emit_split_url(in->url, &hp, what, err) < 0)
			return -1;
		emit_bind_addr(&hp, bind, sizeof(bind));
		emit_header(&b, f, o, "systemd", "#");
		buf_addf(&b, "# Environment of ollama@%s.service (%s), on the host of %s.\n", in->name,
			 in->url, hp.host);
		buf_addf(&b, "OLLAMA_HOST=%s\n", bind);
		int64_t ka;
		if (emit_instance_keep_alive(f, in, &ka))
			buf_addf(&b, "OLLAMA_KEEP_ALIVE=%s\n", ka == DURATION_FOREVER ? "-1" :
				 units_go_duration(ka, tmp, sizeof(tmp)));
		if (in->num_parallel)
			buf_addf(&b, "OLLAMA_NUM_PARALLEL=%d\n", in->num_parallel);
		if (in->max_loaded)
			buf_addf(&b, "OLLAMA_MAX_LOADED_MODELS=%d\n", in->max_loaded);
		if (in->gpus)
			buf_addf(&b, "CUDA_VISIBLE_DEVICES=%s\n", in->gpus);
		if (f->shared_store) {
			buf_adds(&b, "# shared_store: every instance reads one model store; pull on one\n"
				     "# instance only, and no instance prunes blobs another may be using\n");
			buf_addf(&b, "OLLAMA_MODELS=%s\nOLLAMA_NOPRUNE=1\n", MODELS_DIR);
		}
		char name[400];
		snprintf(name, sizeof(name), "instance-%s.conf", in->name);
		emit_out_add(out, name, &b);
	}

	emit_header(&b, f, o, "systemd", "#");
	buf_addf(&b, "# The fleet's health check, started by obridge-health.timer: level 3 (a\n"
		     "# one-token generate per instance), Nagios exit codes, a row in obridge's\n"
		     "# store and %s/obridge.prom for node_exporter.\n"
		     "# Install the fleet file as " FLEET_ETC ".\n"
		     "[Unit]\n"
		     "Description=obridge health check of fleet %s\n"
		     "After=network-online.target\n"
		     "Wants=network-online.target\n"
		     "\n"
		     "[Service]\n"
		     "Type=oneshot\n"
		     "StateDirectory=obridge\n"
		     "Environment=OBRIDGE_DB=/var/lib/obridge/obridge.db\n"
		     "ExecStart=" OBRIDGE_BIN " -f " FLEET_ETC " health --level 3 --textfile %s\n"
		     "# exit 1 and 2 are warning and critical: results, not failures of the unit\n"
		     "SuccessExitStatus=1 2\n"
		     "TimeoutStartSec=5min\n", TEXTFILE_DIR, f->name, TEXTFILE_DIR);
	emit_out_add(out, "obridge-health.service", &b);

	emit_header(&b, f, o, "systemd", "#");
	buf_addf(&b, "# Runs obridge-health.service every minute: systemctl enable --now\n"
		     "# obridge-health.timer.\n"
		     "[Unit]\n"
		     "Description=obridge health check of fleet %s, every minute\n"
		     "\n"
		     "[Timer]\n"
		     "OnCalendar=*-*-* *:*:00\n"
		     "AccuracySec=5s\n"
		     "Unit=obridge-health.service\n"
		     "\n"
		     "[Install]\n"
		     "WantedBy=timers.target\n", f->name);
	emit_out_add(out, "obridge-health.timer", &b);
	return 0;
}
