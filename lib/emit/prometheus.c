/* SPDX-License-Identifier: GPL-3.0-or-later */
/* emit prometheus: alerting rules over the metrics `obridge health --textfile` writes. */
#include "../compat.h"
#include "emit-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

/* A YAML double-quoted scalar. */
static void yq(struct buf *b, const char *s)
{
	buf_adds(b, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else
			buf_add(b, p, 1);
	}
	buf_adds(b, "\"");
}

struct rule {
	const char *alert;
	char *expr;
	const char *for_;
	const char *severity;
	char *summary;
	char *runbook;
};

static void rule_out(struct buf *b, struct rule *r)
{
	buf_addf(b, "      - alert: %s\n", r->alert);
	buf_adds(b, "        expr: ");
	yq(b, r->expr);
	buf_addf(b, "\n        for: %s\n", r->for_);
	buf_addf(b, "        labels:\n          severity: %s\n", r->severity);
	buf_adds(b, "        annotations:\n          summary: ");
	yq(b, r->summary);
	buf_adds(b, "\n          runbook: ");
	yq(b, r->runbook);
	buf_adds(b, "\n");
	free(r->expr);
	free(r->summary);
	free(r->runbook);
}

static const char *metric_title(const char *m)
{
	return !strcmp(m, "ttft") ? "TTFT" : !strcmp(m, "e2e") ? "E2E" : !strcmp(m, "itl") ? "ITL" :
	       "TPOT";
}

int emit_prometheus(const struct fleet *f, const struct emit_opts *o, struct emit_out *out,
		    char *err)
{
	(void)err;
	struct buf b = BUF_INIT, sel = BUF_INIT;
	char id[200];
	emit_ident(f->name, id, sizeof(id));
	const char *fp = f->path ? f->path : "obridge.conf";
	/* only this fleet's instances */
	buf_adds(&sel, "instance=~\"");
	for (size_t i = 0; i < f->ninstances; i++) {
		const char *n = f->instances[i].name;
		buf_adds(&sel, i ? "|" : "");
		for (const char *p = n; *p; p++) /* regex-escape the name */
			buf_addf(&sel, "%s%c", strchr(".+*?()[]{}|^$\\", *p) ? "\\\\" : "", *p);
	}
	buf_adds(&sel, "\"");
	const char *s = buf_str(&sel);

	emit_header(&b, f, o, "prometheus", "#");
	buf_adds(&b, "# Alerting rules over the metrics that `obridge health --textfile DIR` writes for\n"
		     "# node_exporter's textfile collector (run it from cron or obridge-health.timer,\n"
		     "# level 3 for the latency rules). Scrape node_exporter with honor_labels: true,\n"
		     "# else the instance label arrives as exported_instance.\n"
		     "# Check: promtool check rules FILE.\n");
	buf_addf(&b, "groups:\n  - name: obridge-%s\n    rules:\n", id);
	struct rule r;
	r = (struct rule){ "ObridgeInstanceDown", xasprintf("obridge_up{%s} == 0", s), "1m",
			   "critical",
			   xstrdup("Ollama instance {{ $labels.instance }} does not answer HEAD /"),
			   xasprintf("Check it with `obridge -f %s health --level 1`; on the host: "
				     "systemctl status ollama@{{ $labels.instance }} and its journal; "
				     "the balancer sends its traffic to the other instances meanwhile.",
				     fp) };
	rule_out(&b, &r);
	r = (struct rule){ "ObridgeModelNotResident",
			   xasprintf("obridge_model_resident{%s} == 0", s), "5m", "warning",
			   xstrdup("{{ $labels.model }} is not loaded on {{ $labels.instance }}: "
				   "the next request pays a cold load"),
			   xasprintf("Load it with `obridge -f %s preload {{ $labels.model }}`; if it "
				     "keeps unloading, the instance lacks memory for every pinned model "
				     "(see `obridge ps`).", fp) };
	rule_out(&b, &r);
	r = (struct rule){ "ObridgeModelMissing", xasprintf("obridge_model_installed{%s} == 0", s),
			   "5m", "warning",
			   xstrdup("{{ $labels.model }} is not installed on {{ $labels.instance }}"),
			   xasprintf("Pull it on that instance (ollama pull {{ $labels.model }}), then "
				     "`obridge -f %s preload`.", fp) };
	rule_out(&b, &r);
	r = (struct rule){ "ObridgeProbeSlow",
			   xasprintf("obridge_probe_duration_seconds{check=\"head\",%s} > 1", s),
			   "5m", "warning",
			   xstrdup("HEAD / on {{ $labels.instance }} takes {{ $value }}s: the server "
				   "is overloaded or the network is"),
			   xasprintf("Look at the instance's load with `obridge -f %s top`; a server "
				     "that is slow to answer HEAD / is slow for every request.", fp) };
	rule_out(&b, &r);
	r = (struct rule){ "ObridgeHealthStale",
			   xstrdup("time() - obridge_last_run_timestamp_seconds > 900"), "5m",
			   "warning",
			   xstrdup("obridge health has not written its metrics for 15 minutes"),
			   xstrdup("The cron job or obridge-health.timer stopped: systemctl status "
				   "obridge-health.timer; every other obridge alert is blind until it "
				   "runs again.") };
	rule_out(&b, &r);
	/* SLOs: the level-3 probe asks for one token, so its duration is that request's TTFT
	 * and its end-to-end time; ITL and TPOT have no metric here. */
	for (int k = 0; k < SLO_NKEYS; k++) {
		if (!(f->slo.mask & (1u << k)))
			continue;
		const char *key = slo_key_name(k);
		char metric[16], lim[64], name[64];
		int pct = 0;
		snprintf(metric, sizeof(metric), "%s", key);
		char *us = strrchr(metric, '_');
		if (us && us[1] == 'p') {
			pct = (int)strtol(us + 2, NULL, 10);
			*us = '\0';
		}
		if (!pct || (strcmp(metric, "ttft") && strcmp(metric, "e2e"))) {
			buf_addf(&b, "      # [slo] %s: no textfile metric measures %s; "
				     "check it with obridge bench.\n", key,
				 pct ? metric_title(metric) : "the error rate");
			continue;
		}
		const struct { const char *metric; int percentile; int64_t limit_ns; } slv = {
			metric, pct, (int64_t)f->slo.limit[k]
		}, *sl = &slv;
		snprintf(name, sizeof(name), "Obridge%sP%dOverSLO", metric_title(sl->metric),
			 sl->percentile);
		units_go_duration(sl->limit_ns, lim, sizeof(lim));
		r = (struct rule){ name,
				   xasprintf("quantile_over_time(0.%02d, obridge_probe_duration_"
					     "seconds{check=\"generate\",%s}[5m]) > %g",
					     sl->percentile, s, sl->limit_ns / 1e9),
				   "5m", "warning",
				   xasprintf("%s p%d of the generate probe on {{ $labels.instance }} is "
					     "{{ $value }}s, over the SLO of %s", metric_title(sl->metric),
					     sl->percentile, lim),
				   xasprintf("Measure with `obridge -f %s bench --instance "
					     "{{ $labels.instance }} -c 1..8`; look for queueing "
					     "(`obridge top`), cold loads (`obridge ps`) and a model that "
					     "spilled to CPU.", fp) };
		rule_out(&b, &r);
	}
	buf_release(&sel);
	emit_out_add(out, "obridge-rules.yml", &b);
	return 0;
}
