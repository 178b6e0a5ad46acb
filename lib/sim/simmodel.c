/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The simulator's model catalogue, name normalisation, digests and deterministic text. */
#include "../compat.h"
#include "sim-internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/util.h"
#include "../banned.h"

#define GB 1000000000ULL
#define MB 1000000ULL

/* Sizes are plausible for Q4_K_M on a GPU; kv_per_tok gives ~0.45 GB at 4096 for llama3.2. */
static const struct simcat catalogue[] = {
	{ "llama3.2:latest", "llama", "llama", "3.2B", "Q4_K_M", 3212749888ULL, 2019393189ULL,
	  2650 * MB, 114688, 131072, 3072, "completion,tools", 0 },
	{ "llama3.2:1b", "llama", "llama", "1.2B", "Q8_0", 1235814432ULL, 1321098329ULL,
	  1800 * MB, 32768, 131072, 2048, "completion,tools", 0 },
	{ "qwen2.5:0.5b", "qwen2", "qwen2", "494.03M", "Q4_K_M", 494032768ULL, 397821319ULL,
	  700 * MB, 12288, 32768, 896, "completion,tools", 0 },
	{ "qwen2.5:7b", "qwen2", "qwen2", "7.6B", "Q4_K_M", 7615616512ULL, 4683087332ULL,
	  5200 * MB, 57344, 32768, 3584, "completion,tools", 0 },
	{ "llama3.1:8b", "llama", "llama", "8.0B", "Q4_K_M", 8030261248ULL, 4920753328ULL,
	  5600 * MB, 131072, 131072, 4096, "completion,tools", 0 },
	{ "mistral:latest", "llama", "llama", "7.2B", "Q4_K_M", 7248023552ULL, 4113301824ULL,
	  4800 * MB, 131072, 32768, 4096, "completion,tools", 0 },
	{ "gemma3:1b", "gemma3", "gemma3", "999.89M", "Q4_K_M", 999885952ULL, 815319791ULL,
	  1100 * MB, 26624, 32768, 1152, "completion", 0 },
	{ "phi3:mini", "phi3", "phi3", "3.8B", "Q4_0", 3821079552ULL, 2176178913ULL,
	  2600 * MB, 393216, 131072, 3072, "completion", 0 },
	{ "deepseek-r1:7b", "qwen2", "qwen2", "7.6B", "Q4_K_M", 7615616512ULL, 4683073184ULL,
	  5200 * MB, 57344, 131072, 3584, "completion,thinking", 0 },
	{ "tinyllama:latest", "llama", "llama", "1B", "Q4_0", 1100048384ULL, 637699456ULL,
	  800 * MB, 22528, 2048, 2048, "completion", 0 },
	{ "nomic-embed-text:latest", "nomic-bert", "nomic-bert", "137M", "F16", 136727040ULL,
	  274302450ULL, 560 * MB, 0, 2048, 768, "embedding", 1 },
	{ "all-minilm:latest", "bert", "bert", "23M", "F16", 22565376ULL, 45960996ULL,
	  120 * MB, 0, 512, 384, "embedding", 1 },
};

const struct simcat *simmodel_catalogue(size_t *n)
{
	*n = ARRAY_SIZE(catalogue);
	return catalogue;
}

uint64_t sim_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double sim_randf(uint64_t *state)
{
	return (double)(sim_rand(state) >> 11) / 9007199254740992.0;
}

uint64_t simmodel_hash(const char *s, uint64_t seed)
{
	uint64_t h = 1469598103934665603ULL ^ seed;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* 64 hex digits derived from (seed, s): looks like a sha256, is stable across runs. */
void simmodel_hex(uint64_t seed, const char *s, char out[65])
{
	uint64_t st = simmodel_hash(s, seed);
	for (int i = 0; i < 4; i++)
		snprintf(out + i * 16, 17, "%016" PRIx64, sim_rand(&st));
}

char *simmodel_canonical(const char *name)
{
	if (!name || !*name || strlen(name) > 300)
		return NULL;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '/'))
			return NULL;
	}
	const char *p = name;
	if (!strncasecmp(p, "registry.ollama.ai/", 19))
		p += 19;
	if (!strncasecmp(p, "library/", 8))
		p += 8;
	if (!*p || *p == ':' || *p == '/')
		return NULL;
	const char *last = strrchr(p, '/');
	last = last ? last + 1 : p;
	if (!*last || *last == ':')
		return NULL;
	const char *colon = strchr(last, ':');
	if (colon && !colon[1])
		return NULL;
	if (colon && strchr(colon + 1, ':'))
		return NULL;
	if (colon)
		return xstrdup(p);
	return xasprintf("%s:latest", p);
}

struct simmodel *simmodel_find(struct siminst *in, const char *name, int installed_only)
{
	char *c = simmodel_canonical(name);
	if (!c)
		return NULL;
	struct simmodel *found = NULL;
	for (size_t i = 0; i < in->nmodels; i++) {
		struct simmodel *m = in->models[i];
		if (!strcasecmp(m->name, c) && (m->installed || !installed_only)) {
			found = m;
			break;
		}
	}
	free(c);
	return found;
}

static const struct simcat *cat_find(const char *canonical)
{
	for (size_t i = 0; i < ARRAY_SIZE(catalogue); i++)
		if (!strcasecmp(catalogue[i].name, canonical))
			return &catalogue[i];
	return NULL;
}

/* True when pull knows the name: the catalogue, the instance's models or --registry. */
int simmodel_known(struct siminst *in, const char *canonical)
{
	if (cat_find(canonical))
		return 1;
	if (simmodel_find(in, canonical, 0))
		return 1;
	const char *lists[] = { in->st.registry, in->st.models };
	for (size_t l = 0; l < 2; l++) {
		char *dup = xstrdup(lists[l]);
		char *save = NULL;
		int hit = 0;
		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char *c = simmodel_canonical(t);
			if (c && !strcasecmp(c, canonical))
				hit = 1;
			free(c);
		}
		free(dup);
		if (hit)
			return 1;
	}
	return 0;
}

static const char *digest_salt(struct siminst *in, const char *canonical, char *tmp, size_t n)
{
	/* MODEL@SALT entries in st.digests */
	const char *p = in->st.digests;
	const char *res = NULL;
	while (p && *p) {
		size_t len = strcspn(p, ",");
		const char *at = memchr(p, '@', len);
		if (at) {
			char *mn = xstrndup(p, (size_t)(at - p));
			char *c = simmodel_canonical(mn);
			if (c && !strcasecmp(c, canonical)) {
				size_t sl = len - (size_t)(at + 1 - p);
				if (sl >= n)
					sl = n - 1;
				memcpy(tmp, at + 1, sl);
				tmp[sl] = '\0';
				res = tmp;
			}
			free(c);
			free(mn);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return res;
}

struct simmodel *simmodel_add(struct siminst *in, const char *canonical, int installed)
{
	struct simmodel *m = simmodel_find(in, canonical, 0);
	if (m) {
		m->installed = m->installed || installed;
		return m;
	}
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(canonical);
	const struct simcat *c = cat_find(canonical);
	if (c) {
		m->cat = *c;
	} else {
		/* A made-up model: 3B-ish, sizes derived from the name. */
		uint64_t h = simmodel_hash(canonical, 7);
		m->cat = catalogue[0];
		m->cat.file_size = 1500 * MB + (h % (1000 * MB));
		m->cat.weights_mem = m->cat.file_size + 600 * MB;
		m->cat.caps = strstr(canonical, "embed") ? "embedding" : "completion";
		m->cat.embed_only = strstr(canonical, "embed") != NULL;
		if (m->cat.embed_only) {
			m->cat.arch = m->cat.family = "bert";
			m->cat.kv_per_tok = 0;
			m->cat.emb_len = 768;
			m->cat.ctx_train = 8192;
		}
	}
	m->cat.name = m->name;
	char salt[80];
	const char *s = digest_salt(in, canonical, salt, sizeof(salt));
	if (s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64)
		memcpy(m->digest, s, 65);
	else if (s)
		simmodel_hex(simmodel_hash(s, 3), canonical, m->digest);
	else
		simmodel_hex(0, canonical, m->digest);
	/* Deterministic ages: one day apart in catalogue order, newest first. */
	m->modified_ns = in->sim->start_wall - (int64_t)(in->nmodels + 1) * 86400LL * 1000000000LL +
			 (int64_t)(simmodel_hash(canonical, 1) % 3600) * 1000000000LL +
			 (int64_t)(simmodel_hash(canonical, 2) % 1000000000ULL);
	m->installed = installed;
	in->models = xrealloc(in->models, (in->nmodels + 1) * sizeof(*in->models));
	in->models[in->nmodels++] = m;
	return m;
}

uint64_t simmodel_loaded_size(const struct simmodel *m, int num_ctx, int parallel)
{
	return m->cat.weights_mem + m->cat.kv_per_tok * (uint64_t)num_ctx * (uint64_t)parallel;
}

/* The "details" object (tags, show, ps). */
void simmodel_details(struct buf *b, const struct simmodel *m, int with_ctx)
{
	buf_addf(b, "{\"parent_model\":\"\",\"format\":\"gguf\",\"family\":\"%s\","
		 "\"families\":[\"%s\"],\"parameter_size\":\"%s\",\"quantization_level\":\"%s\"",
		 m->cat.family, m->cat.family, m->cat.param_size, m->cat.quant);
	if (with_ctx)
		buf_addf(b, ",\"context_length\":%d,\"embedding_length\":%d", m->cat.ctx_train,
			 m->cat.emb_len);
	buf_adds(b, "}");
}

static const char *const words[] = {
	"The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
	" Simulated", " tokens", " arrive", " at", " a", " steady", " pace", ",", " one",
	" per", " interval", ";", " Ollama", " would", " say", " much", " the", " same",
	" thing", " here", "!", " Models", " load", ",", " serve", " and", " unload", ".",
	" Every", " chunk", " is", " a", " line", " of", " JSON", ".", "\n", "Done",
};

const char *simmodel_word(uint64_t h, int i)
{
	return words[(h + (uint64_t)i) % ARRAY_SIZE(words)];
}

void simmodel_free(struct simmodel *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->owned_name);
	free(m->base);
	free(m->system);
	free(m->params);
	free(m);
}

char *simmodel_fullname(const char *canonical)
{
	int slashes = 0;
	for (const char *p = canonical; *p; p++)
		slashes += *p == '/';
	if (slashes == 0)
		return xasprintf("registry.ollama.ai/library/%s", canonical);
	if (slashes == 1)
		return xasprintf("registry.ollama.ai/%s", canonical);
	return xstrdup(canonical);
}
