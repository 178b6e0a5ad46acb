/* SPDX-License-Identifier: GPL-3.0-or-later */
/* /api/create (a new model from an installed one) and /api/push (progress to a registry that
 * always accepts), with Ollama's status lines; stream:false answers once at the end. */
#include "../compat.h"
#include "sim-internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/util.h"
#include "../banned.h"

#define PULL_LIKE_TICK 60000000LL /* Ollama reports transfer progress every 60 ms */
#define STATUS_GAP 10000000LL     /* between create's status lines */
#define CONFIG_SIZE 561

/* Sizes of the small blobs every model has (template, licence, more licence, params), as
 * /api/pull shows them. */
static const uint64_t small_sizes[] = { 1429, 7711, 6016, 96 };

static void blob_digest(const char *salt, const char *text, char out[65])
{
	simmodel_hex(simmodel_hash(salt, 5), text, out);
}

int simops_layers(const struct simmodel *m, char dig[][65], uint64_t *sizes, int max)
{
	const char *base = m->base ? m->base : m->name;
	int n = 0;
	if (max < 7)
		return 0;
	/* weights and the small blobs of the catalogue model, as pull lists them */
	sizes[n] = m->cat.file_size > 16000 ? m->cat.file_size - 15813 : m->cat.file_size;
	blob_digest("layer0", base, dig[n++]);
	for (int i = 0; i < 4; i++) {
		char salt[32];
		snprintf(salt, sizeof(salt), "layer%d", i + 1);
		if (i == 3 && m->params) { /* parameters of its own */
			sizes[n] = strlen(m->params);
			blob_digest("params", m->params, dig[n++]);
			continue;
		}
		sizes[n] = small_sizes[i];
		blob_digest(salt, base, dig[n++]);
	}
	if (m->system) {
		sizes[n] = strlen(m->system);
		blob_digest("system", m->system, dig[n++]);
	}
	sizes[n] = CONFIG_SIZE;
	blob_digest("config", m->digest, dig[n++]);
	return n;
}

void simops_release(struct simreq *r)
{
	for (int i = 0; i < r->op_nlines; i++)
		free(r->op_lines[i]);
	free(r->op_lines);
	free(r->op_name);
	free(r->op_system);
	free(r->op_params);
	r->op_lines = NULL;
	r->op_nlines = 0;
	r->op_name = r->op_system = r->op_params = NULL;
}

static void add_line(struct simreq *r, char *text)
{
	r->op_lines = xrealloc(r->op_lines, (size_t)(r->op_nlines + 1) * sizeof(*r->op_lines));
	r->op_lines[r->op_nlines++] = text;
}

/* Start answering: a stream now, or one reply when the work is done (stream:false). */
static void nonstream_timer(void *arg);

static void op_start(struct simreq *r)
{
	r->op_step = 0;
	r->next_due = mono_ns();
	if (r->stream) {
		r->status = 200;
		r->reply_type = NDJSON_TYPE;
		r->state = RS_STREAMREADY;
	} else {
		r->state = RS_RUN;
		r->timer.fn = nonstream_timer;
		r->timer.arg = r;
		simtimer_arm(r->in->sim, &r->timer, r->next_due);
	}
}

/* ---- create ---- */

static const char *const missing_from_error = "pull model manifest: file does not exist";

/* Ollama's parameters text: one "name value" line per value, strings quoted. */
static int params_text(struct simreq *r, cJSON *params, struct buf *b)
{
	cJSON *p;
	cJSON_ArrayForEach(p, params)
	{
		cJSON *vals = cJSON_IsArray(p) ? p : NULL, *v = p;
		if (!strcmp(p->string, "typical_p")) {
			simapi_error(r, 400,
				     "typical_p is deprecated and cannot be set as a model parameter; "
				     "pass it as a request option instead");
			return -1;
		}
		for (cJSON *it = vals ? vals->child : v; it; it = vals ? it->next : NULL) {
			buf_addf(b, "%-30s ", p->string);
			if (cJSON_IsString(it)) {
				buf_add_json_str(b, it->valuestring);
			} else {
				char *t = cJSON_PrintUnformatted(it);
				buf_adds(b, t ? t : "null");
				free(t);
			}
			buf_adds(b, "\n");
		}
	}
	return 0;
}

void simops_create(struct simreq *r, cJSON *j)
{
	const char *model, *from, *system, *quantize;
	r->stream = 1;
	if (simapi_get_str(r, j, "model", "CreateRequest", &model) ||
	    simapi_get_str(r, j, "from", "CreateRequest", &from) ||
	    simapi_get_str(r, j, "system", "CreateRequest", &system) ||
	    simapi_get_str(r, j, "quantize", "CreateRequest", &quantize) ||
	    simapi_get_bool(r, j, "stream", "CreateRequest", &r->stream))
		return;
	if (!model || !*model)
		if (simapi_get_str(r, j, "name", "CreateRequest", &model))
			return;
	cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
	cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
	if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params)) {
		simapi_error(r, 400,
			     "json: cannot unmarshal array into Go struct field "
			     "CreateRequest.parameters of type map[string]interface {}");
		return;
	}
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "adapters")) > 0) {
		simapi_error(r, 400, "LoRA adapters are no longer supported");
		return;
	}
	char *name = model ? simmodel_canonical(model) : NULL;
	if (!name) {
		simapi_error(r, 400, "invalid model name");
		return;
	}
	r->op_name = name;
	if (!from || !*from) {
		simapi_error(r, 400,
			     cJSON_GetArraySize(files) > 0
				     ? "obridge sim creates models only from an installed model "
				       "(\"from\"), not from files"
				     : "neither 'from' or 'files' was specified");
		return;
	}
	if (quantize && *quantize) {
		simapi_error(r, 400,
			     "create-time quantization is only supported for safetensors imports; "
			     "quantize GGUF models with llama.cpp tools before importing");
		return;
	}
	char *fc = simmodel_canonical(from);
	free(fc);
	if (!fc) {
		simapi_error(r, 400, "invalid model name");
		return;
	}
	struct buf pt = BUF_INIT;
	if (params_text(r, params, &pt)) {
		buf_release(&pt);
		return;
	}
	if (pt.len) {
		pt.data[--pt.len] = '\0'; /* the lines are joined, without a final newline */
		r->op_params = buf_detach(&pt);
	}
	buf_release(&pt);
	if (system)
		r->op_system = xstrdup(system);
	r->kind = REQ_CREATE;
	r->op_model = simmodel_find(r->in, from, 1);
	if (!r->op_model) {
		/* Ollama pulls a missing base model first; the sim's registry does not serve that */
		r->op_missing = 1;
		add_line(r, xstrdup("pulling manifest"));
		op_start(r);
		return;
	}
	struct simmodel *src = r->op_model;
	/* the new model's manifest: the source's layers with template, system, params,
	 * licence and messages replaced when given; same layers, same digest */
	uint64_t h = simmodel_hash(src->digest, 0);
	static const char *const keys[] = { "template", "license", "messages" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
		if (v && !cJSON_IsNull(v)) {
			char *t = cJSON_PrintUnformatted(v);
			h = simmodel_hash(t ? t : "", h ^ (i + 1));
			free(t);
		}
	}
	if (r->op_system)
		h = simmodel_hash(r->op_system, h ^ 11);
	if (r->op_params)
		h = simmodel_hash(r->op_params, h ^ 13);
	if (h == simmodel_hash(src->digest, 0))
		memcpy(r->op_digest, src->digest, sizeof(r->op_digest));
	else
		simmodel_hex(h, "create", r->op_digest);

	/* status lines: every layer but the config, existing or new */
	struct simmodel tmp = *src;
	tmp.base = src->base ? src->base : src->name;
	tmp.system = r->op_system ? r->op_system : src->system;
	tmp.params = r->op_params ? r->op_params : src->params;
	memcpy(tmp.digest, r->op_digest, sizeof(tmp.digest));
	char dig[8][65], sdig[8][65];
	uint64_t sizes[8], ssizes[8];
	int n = simops_layers(&tmp, dig, sizes, 8);
	int sn = simops_layers(src, sdig, ssizes, 8);
	for (int i = 0; i < n - 1; i++) {
		int existing = 0;
		for (int k = 0; k < sn - 1; k++)
			existing |= !strcmp(dig[i], sdig[k]);
		add_line(r, xasprintf("%s sha256:%s",
				      existing ? "using existing layer" : "creating new layer", dig[i]));
	}
	add_line(r, xstrdup("writing manifest"));
	add_line(r, xstrdup("success"));
	op_start(r);
}

/* The manifest is written: the new name is listed, shown and loadable. */
static void create_commit(struct simreq *r)
{
	struct siminst *in = r->in;
	struct simmodel *src = r->op_model;
	struct simcat cat = src->cat;
	char *base = xstrdup(src->base ? src->base : src->name);
	char *system = r->op_system ? xstrdup(r->op_system)
				    : src->system ? xstrdup(src->system) : NULL;
	char *params = r->op_params ? xstrdup(r->op_params)
				    : src->params ? xstrdup(src->params) : NULL;
	struct simmodel *m = simmodel_add(in, r->op_name, 1);
	m->cat = cat;
	m->cat.name = m->name;
	free(m->base);
	free(m->system);
	free(m->params);
	m->base = base;
	m->system = system;
	m->params = params;
	m->installed = 1;
	memcpy(m->digest, r->op_digest, sizeof(m->digest));
	m->modified_ns = wall_ns();
	sim_logf(in->sim, "sim %s created %s from %s", in->name, m->name, src->name);
}

static int produce_create(struct simreq *r, int64_t now, struct buf *o)
{
	if (now < r->next_due)
		return 0;
	if (r->op_step >= r->op_nlines) {
		/* only the missing-base case gets here: its error ends the stream */
		buf_addf(o, "{\"error\":\"%s\"}\n", missing_from_error);
		r->op_fail = 1;
		r->finished = 1;
		return 1;
	}
	const char *st = r->op_lines[r->op_step++];
	if (!strcmp(st, "success"))
		create_commit(r);
	buf_adds(o, "{\"status\":");
	buf_add_json_str(o, st);
	buf_adds(o, "}\n");
	if (!strcmp(st, "success"))
		r->finished = 1;
	r->next_due = now + siminst_delay(r->in, STATUS_GAP);
	return 1;
}

/* ---- push ---- */

static const char *const push_error =
	"max retries exceeded: write tcp 127.0.0.1:51234->104.21.75.227:443: "
	"write: connection reset by peer";

void simops_push(struct simreq *r, cJSON *j)
{
	const char *model;
	r->stream = 1;
	if (simapi_get_str(r, j, "model", "PushRequest", &model) ||
	    simapi_get_bool(r, j, "stream", "PushRequest", &r->stream))
		return;
	if (!model || !*model)
		if (simapi_get_str(r, j, "name", "PushRequest", &model))
			return;
	if (!model || !*model) {
		simapi_error(r, 400, "model is required");
		return;
	}
	char *name = simmodel_canonical(model);
	if (!name) {
		simapi_error(r, 400, "invalid model name");
		return;
	}
	r->kind = REQ_PUSH;
	r->op_name = name;
	r->op_model = simmodel_find(r->in, name, 1);
	r->op_missing = r->op_model == NULL;
	if (r->op_model)
		r->op_nlayers = simops_layers(r->op_model, r->op_dig, r->op_sizes, 8);
	/* faults: error and 500 break the upload, truncate drops the connection, stall pauses
	 * it; all in the middle of the weights */
	struct siminst *in = r->in;
	r->op_fail = simapi_roll(in, SIM_FAULT_ERROR) || simapi_roll(in, SIM_FAULT_500);
	r->fault_truncate = simapi_roll(in, SIM_FAULT_TRUNCATE);
	if (simapi_roll(in, SIM_FAULT_STALL))
		r->stall_ns = in->st.faults[SIM_FAULT_STALL].arg_ns;
	op_start(r);
}

static const char *push_missing_error(struct simreq *r, char *out, size_t n)
{
	char *full = simmodel_fullname(r->op_name);
	char *colon = strrchr(full, ':');
	if (colon)
		*colon = '/';
	snprintf(out, n,
		 "open /usr/share/ollama/.ollama/models/manifests/%s: no such file or directory",
		 full);
	free(full);
	return out;
}

/* retrieving manifest, pushing <layer> (progress), pushing manifest, success */
static int produce_push(struct simreq *r, int64_t now, struct buf *o)
{
	struct siminst *in = r->in;
	if (now < r->next_due)
		return 0;
	if (r->op_step == 0) {
		buf_adds(o, "{\"status\":\"retrieving manifest\"}\n");
		r->op_step = r->op_missing ? 10 : 1;
		r->op_layer = 0;
		r->next_due = now + siminst_delay(in, 20000000LL);
		return 1;
	}
	if (r->op_step == 10) {
		buf_adds(o, "{\"status\":\"couldn't retrieve manifest\"}\n");
		r->op_step = 11;
		return 1;
	}
	if (r->op_step == 11) {
		char msg[600];
		buf_adds(o, "{\"error\":");
		buf_add_json_str(o, push_missing_error(r, msg, sizeof(msg)));
		buf_adds(o, "}\n");
		r->finished = 1;
		return 1;
	}
	if (r->op_step == 1) {
		int l = r->op_layer;
		uint64_t total = r->op_sizes[l], done = r->op_done[l];
		if (l > 0 || r->op_layer_started) {
			/* bytes per tick at the pull rate (2 GB per pull-time) */
			double secs = (double)in->st.pull_ns / 1e9;
			double rate = secs > 0 ? 2e9 / secs : 1e18;
			if (in->st.faults[SIM_FAULT_SLOW].frac > 0)
				rate /= 10;
			uint64_t step = (uint64_t)(rate * 0.06) + 1;
			done = total - done < step ? total : done + step;
		}
		if (l == 0 && r->op_layer_started && done >= total / 2 && !r->mid_done) {
			/* the faults strike when the weights are half way up */
			r->mid_done = 1;
			if (r->op_fail) {
				buf_adds(o, "{\"error\":");
				buf_add_json_str(o, push_error);
				buf_adds(o, "}\n");
				r->finished = 1;
				return 1;
			}
			if (r->fault_truncate) {
				r->finished = 1;
				r->abort_stream = 1;
				return 1;
			}
			if (r->stall_ns) {
				r->next_due = now + r->stall_ns;
				return 0;
			}
		}
		r->op_layer_started = 1;
		r->op_done[l] = done;
		buf_addf(o,
			 "{\"status\":\"pushing %.12s\",\"digest\":\"sha256:%s\",\"total\":%" PRIu64,
			 r->op_dig[l], r->op_dig[l], total);
		if (done)
			buf_addf(o, ",\"completed\":%" PRIu64, done);
		buf_adds(o, "}\n");
		if (done >= total) {
			r->next_due = now;
			if (++r->op_layer >= r->op_nlayers)
				r->op_step = 2;
		} else {
			r->next_due = now + PULL_LIKE_TICK;
		}
		return 1;
	}
	if (r->op_step == 2) {
		buf_adds(o, "{\"status\":\"pushing manifest\"}\n");
		r->op_step = 3;
		r->next_due = now + siminst_delay(in, 20000000LL);
		return 1;
	}
	buf_adds(o, "{\"status\":\"success\"}\n");
	r->finished = 1;
	return 1;
}

int simops_produce(struct simreq *r, int64_t now, struct buf *o)
{
	if (r->finished)
		return 0;
	return r->kind == REQ_CREATE ? produce_create(r, now, o) : produce_push(r, now, o);
}

/* stream:false: run the same steps, then one answer (Ollama's waitForStream). */
static void nonstream_timer(void *arg)
{
	struct simreq *r = arg;
	struct buf tmp = BUF_INIT;
	char *err = NULL;
	while (!r->finished) {
		buf_reset(&tmp);
		if (!simops_produce(r, mono_ns(), &tmp))
			break;
		if (!strncmp(buf_str(&tmp), "{\"error\":", 9)) {
			cJSON *e = cJSON_Parse(buf_str(&tmp));
			cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "error");
			free(err);
			err = xstrdup(cJSON_IsString(m) ? m->valuestring : "error");
			cJSON_Delete(e);
		}
	}
	buf_release(&tmp);
	if (!r->finished) {
		simtimer_arm(r->in->sim, &r->timer, r->next_due);
		return;
	}
	if (r->abort_stream) {
		/* truncate: the headers, then the connection drops */
		free(err);
		buf_reset(&r->out);
		r->out_off = 0;
		r->status = 200;
		r->reply_type = "application/json";
		r->state = RS_STREAMREADY;
		simreq_wake(r);
		return;
	}
	if (err) {
		simapi_error(r, 500, err);
		free(err);
	} else {
		buf_reset(&r->reply);
		buf_adds(&r->reply, "{\"status\":\"success\"}");
		r->status = 200;
		r->reply_type = "application/json";
		r->state = RS_REPLY;
	}
	simreq_wake(r);
}
