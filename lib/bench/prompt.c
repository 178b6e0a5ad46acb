/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bench prompts: prompt files, synthetic filler text, length calibration, request bodies. */
#include "../compat.h"
#include "bench.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ollama/ollama.h"
#include "../stats/rng.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "../banned.h"

static void prompt_push(struct bench_prompts *ps, struct bench_prompt *p)
{
	ps->p = xrealloc(ps->p, (ps->n + 1) * sizeof(*ps->p));
	ps->p[ps->n++] = *p;
}

void bench_prompts_add_text(struct bench_prompts *ps, const char *text)
{
	struct bench_prompt p = { 0 };
	p.text = xstrdup(text);
	prompt_push(ps, &p);
}

static void prompt_release(struct bench_prompt *p)
{
	free(p->text);
	for (size_t i = 0; i < p->nmsgs; i++) {
		free(p->roles[i]);
		free(p->contents[i]);
	}
	free(p->roles);
	free(p->contents);
	memset(p, 0, sizeof(*p));
}

void bench_prompts_release(struct bench_prompts *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		prompt_release(&ps->p[i]);
	free(ps->p);
	ps->p = NULL;
	ps->n = 0;
}

/* One JSONL line: {"prompt":"..."} or {"messages":[{"role":..,"content":..}]}. */
static int parse_json_line(const char *line, struct bench_prompt *p, char *msg, size_t n)
{
	cJSON *o = cJSON_Parse(line);
	if (!o || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		snprintf(msg, n, "not a JSON object");
		return -1;
	}
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(o, "prompt");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "messages");
	if (cJSON_IsString(pr)) {
		p->text = xstrdup(pr->valuestring);
	} else if (cJSON_IsArray(ms) && cJSON_GetArraySize(ms) > 0) {
		size_t k = (size_t)cJSON_GetArraySize(ms), i = 0;
		p->roles = xcalloc(k, sizeof(char *));
		p->contents = xcalloc(k, sizeof(char *));
		const cJSON *m;
		cJSON_ArrayForEach(m, ms) {
			const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
			const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
			if (!cJSON_IsString(role) || !cJSON_IsString(content)) {
				p->nmsgs = i;
				prompt_release(p);
				cJSON_Delete(o);
				snprintf(msg, n, "message %zu needs string \"role\" and \"content\"",
					 i + 1);
				return -1;
			}
			p->roles[i] = xstrdup(role->valuestring);
			p->contents[i] = xstrdup(content->valuestring);
			i++;
		}
		p->nmsgs = i;
		/* Generate gets the last user message as its prompt. */
		const char *last = p->contents[i - 1];
		for (size_t j = i; j-- > 0;)
			if (!strcmp(p->roles[j], "user")) {
				last = p->contents[j];
				break;
			}
		p->text = xstrdup(last);
	} else {
		cJSON_Delete(o);
		snprintf(msg, n, "expected \"prompt\" (a string) or \"messages\" (an array)");
		return -1;
	}
	cJSON_Delete(o);
	return 0;
}

int bench_prompts_load(struct bench_prompts *ps, const char *path, char *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return seterr(err, "cannot open '%s': %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		const char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			continue;
		struct bench_prompt p = { 0 };
		if (*s == '{') {
			char msg[256];
			if (parse_json_line(s, &p, msg, sizeof(msg)) < 0) {
				rc = seterr(err, "%s:%d: %s", path, lineno, msg);
				break;
			}
		} else {
			p.text = xstrdup(line);
		}
		prompt_push(ps, &p);
	}
	free(line);
	fclose(f);
	if (!rc && !ps->n)
		rc = seterr(err, "%s: no prompts (one per line, text or JSON)", path);
	return rc;
}

static const char *const words_list[] = {
	"the", "river", "carried", "light", "across", "old", "stone", "bridges", "while",
	"people", "walked", "slowly", "home", "after", "a", "long", "day", "of", "work", "in",
	"city", "market", "where", "bread", "and", "fruit", "were", "sold", "by", "families",
	"who", "had", "known", "each", "other", "for", "many", "years", "children", "played",
	"near", "water", "watching", "boats", "pass", "under", "evening", "sky", "that",
	"turned", "orange", "then", "deep", "blue", "as", "lamps", "came", "on", "one", "by",
	"quiet", "street", "music", "drifted",
};

void bench_synth_text(struct buf *out, size_t words, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < words; i++) {
		const char *w = words_list[rng_below(&r, ARRAY_SIZE(words_list))];
		if (i)
			buf_add(out, " ", 1);
		buf_adds(out, w);
	}
}

int bench_calib_fit(size_t w1, int64_t p1, size_t w2, int64_t p2, int64_t target,
		    size_t *words)
{
	if (w2 <= w1 || p2 <= p1 || p1 <= 0)
		return -1;
	double b = (double)(p2 - p1) / (double)(w2 - w1);
	double a = (double)p1 - b * (double)w1;
	double w = floor(((double)target - a) / b + 0.5);
	*words = w < 1 ? 1 : (size_t)w;
	return 0;
}

int bench_build_body(const struct bench_cfg *cfg, const struct bench_prompt *p, uint64_t seq,
		     struct buf *out)
{
	char tag[64] = "";
	if (cfg->unique_prefix)
		snprintf(tag, sizeof(tag), "[run %016" PRIx64 " request %" PRIu64 "] ",
			 cfg->seed, seq);
	char *text = xasprintf("%s%s", tag, p->text ? p->text : "");
	struct ollama_message *msgs = NULL;
	char *first = NULL;
	size_t nm = 0;
	if (p->nmsgs && cfg->api != BENCH_API_GENERATE) {
		nm = p->nmsgs;
		msgs = xcalloc(nm, sizeof(*msgs));
		for (size_t i = 0; i < nm; i++) {
			msgs[i].role = p->roles[i];
			msgs[i].content = p->contents[i];
		}
		if (tag[0]) {
			first = xasprintf("%s%s", tag, p->contents[0]);
			msgs[0].content = first;
		}
	}
	struct ollama_message one = { "user", text };
	struct ollama_gen_req r;
	memset(&r, 0, sizeof(r));
	r.model = cfg->model;
	r.stream = 1;
	r.has_keep_alive = cfg->has_keep_alive;
	r.keep_alive_ns = cfg->keep_alive_ns;
	if (cfg->num_ctx > 0) {
		r.options.set |= OLLAMA_OPT_NUM_CTX;
		r.options.num_ctx = cfg->num_ctx;
	}
	if (cfg->max_tokens > 0) {
		r.options.set |= OLLAMA_OPT_NUM_PREDICT;
		r.options.num_predict = cfg->max_tokens;
	}
	if (cfg->has_seed) {
		r.options.set |= OLLAMA_OPT_SEED;
		r.options.seed = (int64_t)(cfg->seed & INT64_MAX);
	}
	int rc;
	switch (cfg->api) {
	case BENCH_API_CHAT:
		r.messages = nm ? msgs : &one;
		r.nmessages = nm ? nm : 1;
		rc = ollama_build_chat(out, &r);
		break;
	case BENCH_API_OPENAI:
		if (nm) {
			r.messages = msgs;
			r.nmessages = nm;
		} else {
			r.prompt = text;
		}
		rc = ollama_build_openai_chat(out, &r, cfg->max_tokens, 1);
		break;
	default:
		r.prompt = text;
		rc = ollama_build_generate(out, &r);
		break;
	}
	free(first);
	free(msgs);
	free(text);
	return rc;
}
