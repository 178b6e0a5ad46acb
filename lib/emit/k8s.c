/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * emit k8s: the fleet as Kubernetes objects: a StatefulSet (a volume per pod) or, with
 * shared_store, a Deployment on one shared claim; a Service; an HPA from [k8s]; and a
 * CronJob running obridge health for node_exporter's textfile collector.
 */
#include "../compat.h"
#include "emit-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

#define TEXTFILE_DIR "/var/lib/prometheus/node-exporter"

/* A DNS-1123 label from the fleet name: lowercase, [a-z0-9-], at most 40 characters. */
static void dns_name(const char *in, char *out, size_t n)
{
	size_t k = 0;
	for (const char *p = in; *p && k + 1 < n && k < 40; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '-';
		if (c == '-' && (k == 0 || out[k - 1] == '-'))
			continue;
		out[k++] = c;
	}
	while (k && out[k - 1] == '-')
		k--;
	if (!k)
		out[k++] = 'x';
	out[k] = '\0';
}

/* A YAML double-quoted scalar. */
static void yq(struct buf *b, const char *s)
{
	buf_adds(b, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else
			buf_add(b, p, 1);
	}
	buf_adds(b, "\"");
}

/* The value every instance agrees on, or 0. */
static int common_int(const struct fleet *f, size_t off)
{
	int v = 0;
	for (size_t i = 0; i < f->ninstances; i++) {
		int x = *(const int *)((const char *)&f->instances[i] + off);
		if (i && x != v)
			return 0;
		v = x;
	}
	return v;
}

static void labels(struct buf *b, const char *indent, const char *name)
{
	buf_addf(b, "%sapp.kubernetes.io/name: ollama\n", indent);
	buf_addf(b, "%sapp.kubernetes.io/instance: %s\n", indent, name);
	buf_addf(b, "%sapp.kubernetes.io/managed-by: obridge\n", indent);
}

static void meta(struct buf *b, const char *kind, const char *api, const char *name,
		 const char *ns, const char *lname)
{
	buf_addf(b, "---\napiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\n"
		    "  labels:\n", api, kind, name, ns);
	labels(b, "    ", lname);
}

int emit_k8s(const struct fleet *f, const struct emit_opts *o, struct emit_out *out,
	     char *err)
{
	(void)err;
	struct buf b = BUF_INIT;
	char name[64], tmp[64];
	dns_name(f->name, name, sizeof(name));
	char app[80];
	snprintf(app, sizeof(app), "ollama-%s", name);
	const char *ns = f->k8s.namespace;
	int shared = f->shared_store;
	const char *kind = shared ? "Deployment" : "StatefulSet";

	emit_header(&b, f, o, "k8s", "#");
	buf_addf(&b, "# Ollama as %s %s in namespace %s: %s, a Service, a HorizontalPodAutoscaler\n"
		     "# (%d to %d pods at %d%% CPU, from [k8s]) and a CronJob running obridge health.\n"
		     "# Apply: kubectl apply -f FILE.\n",
		 shared ? "a Deployment" : "a StatefulSet", app, ns,
		 shared ? "every pod on one shared model volume (ReadWriteMany)" :
			  "a model volume per pod",
		 f->k8s.min_replicas, f->k8s.max_replicas, f->k8s.cpu_target);

	if (shared) {
		char claim[96];
		snprintf(claim, sizeof(claim), "%s-models", app);
		meta(&b, "PersistentVolumeClaim", "v1", claim, ns, name);
		buf_addf(&b, "spec:\n  accessModes: [\"ReadWriteMany\"]\n  resources:\n    requests:\n"
			     "      storage: \"%s\"\n", f->k8s.storage);
	}

	meta(&b, kind, "apps/v1", app, ns, name);
	buf_addf(&b, "spec:\n  replicas: %d\n", f->k8s.min_replicas);
	if (!shared)
		buf_addf(&b, "  serviceName: %s\n", app);
	buf_adds(&b, "  selector:\n    matchLabels:\n");
	buf_addf(&b, "      app.kubernetes.io/name: ollama\n      app.kubernetes.io/instance: %s\n",
		 name);
	buf_adds(&b, "  template:\n    metadata:\n      labels:\n");
	labels(&b, "        ", name);
	buf_adds(&b, "    spec:\n"
		     "      # a model load can take minutes; let requests in flight finish\n"
		     "      terminationGracePeriodSeconds: 60\n"
		     "      affinity:\n"
		     "        # one pod per node where possible: a node failure takes one replica\n"
		     "        podAntiAffinity:\n"
		     "          preferredDuringSchedulingIgnoredDuringExecution:\n"
		     "            - weight: 100\n"
		     "              podAffinityTerm:\n"
		     "                topologyKey: kubernetes.io/hostname\n"
		     "                labelSelector:\n"
		     "                  matchLabels:\n");
	buf_addf(&b, "                    app.kubernetes.io/name: ollama\n"
		     "                    app.kubernetes.io/instance: %s\n", name);
	buf_adds(&b, "      containers:\n"
		     "        - name: ollama\n"
		     "          image: ollama/ollama\n"
		     "          ports:\n"
		     "            - name: http\n"
		     "              containerPort: 11434\n"
		     "          env:\n"
		     "            - name: OLLAMA_HOST\n"
		     "              value: \"0.0.0.0:11434\"\n");
	int64_t ka = 0;
	int ka_ok = f->nmodels > 0;
	for (size_t m = 0; m < f->nmodels; m++) {
		const struct fleet_model *md = &f->models[m];
		if (!md->has_keep_alive || (m && md->keep_alive_ns != ka))
			ka_ok = 0;
		ka = md->keep_alive_ns;
	}
	if (ka_ok)
		buf_addf(&b, "            - name: OLLAMA_KEEP_ALIVE\n              value: \"%s\"\n",
			 ka == DURATION_FOREVER ? "-1" : units_go_duration(ka, tmp, sizeof(tmp)));
	int np = common_int(f, offsetof(struct fleet_instance, num_parallel));
	int ml = common_int(f, offsetof(struct fleet_instance, max_loaded));
	if (np)
		buf_addf(&b, "            - name: OLLAMA_NUM_PARALLEL\n              value: \"%d\"\n", np);
	if (ml)
		buf_addf(&b, "            - name: OLLAMA_MAX_LOADED_MODELS\n              value: \"%d\"\n",
			 ml);
	if (shared)
		buf_adds(&b, "            # one store for every pod: none prunes the others' blobs\n"
			     "            - name: OLLAMA_NOPRUNE\n              value: \"1\"\n");
	buf_adds(&b, "          resources:\n"
		     "            # the HPA's CPU target is a share of this request\n"
		     "            requests:\n"
		     "              cpu: \"1\"\n"
		     "              memory: \"4Gi\"\n");
	if (f->k8s.gpus)
		buf_addf(&b, "            limits:\n              nvidia.com/gpu: \"%d\"\n", f->k8s.gpus);
	buf_adds(&b, "          # liveness stays shallow: inference in a liveness probe gets busy\n"
		     "          # GPUs restarted\n"
		     "          livenessProbe:\n"
		     "            httpGet:\n"
		     "              path: /\n"
		     "              port: http\n"
		     "            initialDelaySeconds: 60\n"
		     "            periodSeconds: 10\n"
		     "            timeoutSeconds: 5\n"
		     "            failureThreshold: 6\n");
	if (f->nmodels) {
		buf_adds(&b, "          # ready once the fleet's models are resident (ollama ps lists them)\n"
			     "          readinessProbe:\n"
			     "            exec:\n"
			     "              command:\n"
			     "                - sh\n"
			     "                - -c\n"
			     "                - ");
		struct buf cmd = BUF_INIT;
		buf_adds(&cmd, "ps=$(ollama ps) &&");
		for (size_t m = 0; m < f->nmodels; m++) {
			buf_addf(&cmd, "%s printf '%%s\\n' \"$ps\" | grep -q '^", m ? " &&" : "");
			for (const char *p = f->models[m].name; *p; p++) /* a regex: dots literal */
				buf_addf(&cmd, "%s%c", *p == '.' ? "\\" : "", *p);
			buf_adds(&cmd, " '");
		}
		yq(&b, buf_str(&cmd));
		buf_release(&cmd);
		buf_adds(&b, "\n");
	} else {
		buf_adds(&b, "          readinessProbe:\n"
			     "            httpGet:\n"
			     "              path: /api/version\n"
			     "              port: http\n");
	}
	buf_adds(&b, "            periodSeconds: 10\n"
		     "            timeoutSeconds: 5\n"
		     "          lifecycle:\n"
		     "            # leave the Service's endpoints before the server stops\n"
		     "            preStop:\n"
		     "              exec:\n"
		     "                command: [\"sleep\", \"10\"]\n"
		     "          volumeMounts:\n"
		     "            - name: models\n"
		     "              mountPath: /root/.ollama\n");
	if (shared) {
		buf_addf(&b, "      volumes:\n        - name: models\n          persistentVolumeClaim:\n"
			     "            claimName: %s-models\n", app);
	} else {
		buf_adds(&b, "  volumeClaimTemplates:\n"
			     "    - metadata:\n"
			     "        name: models\n"
			     "      spec:\n"
			     "        accessModes: [\"ReadWriteOnce\"]\n"
			     "        resources:\n"
			     "          requests:\n");
		buf_addf(&b, "            storage: \"%s\"\n", f->k8s.storage);
	}

	meta(&b, "Service", "v1", app, ns, name);
	buf_adds(&b, "spec:\n  selector:\n");
	buf_addf(&b, "    app.kubernetes.io/name: ollama\n    app.kubernetes.io/instance: %s\n", name);
	buf_adds(&b, "  ports:\n    - name: http\n      port: 11434\n      targetPort: http\n");

	meta(&b, "HorizontalPodAutoscaler", "autoscaling/v2", app, ns, name);
	buf_addf(&b, "spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: %s\n    name: %s\n"
		     "  minReplicas: %d\n  maxReplicas: %d\n"
		     "  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n"
		     "        target:\n          type: Utilization\n          averageUtilization: %d\n",
		 kind, app, f->k8s.min_replicas, f->k8s.max_replicas, f->k8s.cpu_target);

	char cron[96];
	snprintf(cron, sizeof(cron), "%s-health", app);
	meta(&b, "CronJob", "batch/v1", cron, ns, name);
	buf_adds(&b, "spec:\n"
		     "  schedule: \"* * * * *\"\n"
		     "  concurrencyPolicy: Forbid\n"
		     "  jobTemplate:\n"
		     "    spec:\n"
		     "      backoffLimit: 0\n"
		     "      template:\n"
		     "        spec:\n"
		     "          restartPolicy: Never\n"
		     "          containers:\n"
		     "            - name: health\n"
		     "              # an image with obridge installed (make install); for a Pushgateway,\n"
		     "              # run `obridge health --format prom` and push its output instead\n");
	buf_addf(&b, "              image: obridge:%s\n", o->version);
	buf_adds(&b, "              args:\n");
	buf_addf(&b, "                - \"-H\"\n                - \"http://%s.%s.svc:11434\"\n", app, ns);
	buf_adds(&b, "                - health\n                - \"--level\"\n                - \"3\"\n");
	if (f->nmodels)
		buf_addf(&b, "                - \"--model\"\n                - \"%s\"\n", f->models[0].name);
	buf_adds(&b, "                - \"--textfile\"\n                - \"" TEXTFILE_DIR "\"\n"
		     "              volumeMounts:\n"
		     "                - name: textfile\n"
		     "                  mountPath: " TEXTFILE_DIR "\n"
		     "          volumes:\n"
		     "            # node_exporter's --collector.textfile.directory on the node\n"
		     "            - name: textfile\n"
		     "              hostPath:\n"
		     "                path: " TEXTFILE_DIR "\n"
		     "                type: DirectoryOrCreate\n");
	emit_out_add(out, "obridge-k8s.yaml", &b);
	return 0;
}
