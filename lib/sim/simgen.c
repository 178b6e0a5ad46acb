/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Made-up structured output: JSON for "format" (json or a schema), tool-call arguments that
 * satisfy a tool's parameter schema, and the base64 of embeddings and images. */
#include "../compat.h"
#include "sim-internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../banned.h"

#define GEN_MAX_DEPTH 12
#define GEN_MAX_ITEMS 8

static const char *const gen_words[] = {
	"fox",   "river", "amber", "north", "quiet", "stone", "maple", "harbor",
	"cedar", "lumen", "orbit", "delta", "ember", "prism", "cobalt", "willow",
};

static const char *gen_word(uint64_t *st)
{
	return gen_words[sim_rand(st) % ARRAY_SIZE(gen_words)];
}

/* A JSON-Pointer-ish local reference ("#/$defs/Name") resolved against the root schema. */
static const cJSON *resolve_ref(const cJSON *root, const char *ref)
{
	if (!ref || ref[0] != '#')
		return NULL;
	const cJSON *cur = root;
	const char *p = ref + 1;
	while (*p == '/' && cur) {
		p++;
		size_t n = strcspn(p, "/");
		char key[128];
		size_t k = 0;
		for (size_t i = 0; i < n && k + 1 < sizeof(key); i++) {
			if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
				key[k++] = p[i + 1] == '0' ? '~' : '/';
				i++;
			} else {
				key[k++] = p[i];
			}
		}
		key[k] = '\0';
		cur = cJSON_GetObjectItemCaseSensitive(cur, key);
		p += n;
	}
	return *p ? NULL : cur;
}

static double num_field(const cJSON *s, const char *key, int *has)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
	*has = cJSON_IsNumber(v);
	return *has ? v->valuedouble : 0;
}

/* The first type named by "type" (a string or an array) that is not "null"; NULL if none. */
static const char *schema_type(const cJSON *s, int *only_null)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
	*only_null = 0;
	if (cJSON_IsString(t)) {
		*only_null = !strcmp(t->valuestring, "null");
		return t->valuestring;
	}
	if (cJSON_IsArray(t)) {
		const cJSON *e;
		int any = 0;
		cJSON_ArrayForEach(e, t)
		{
			if (!cJSON_IsString(e))
				continue;
			any = 1;
			if (strcmp(e->valuestring, "null"))
				return e->valuestring;
		}
		*only_null = any;
	}
	return NULL;
}

static void gen_value(struct buf *b, const cJSON *s, const cJSON *root, uint64_t *st, int depth);

static void gen_string(struct buf *b, const cJSON *s, uint64_t *st)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(s, "format");
	const char *fmt = cJSON_IsString(f) ? f->valuestring : "";
	static const struct {
		const char *format, *value;
	} formats[] = {
		{ "date-time", "2026-08-21T19:22:45Z" },
		{ "date", "2026-08-21" },
		{ "time", "19:22:45" },
		{ "email", "fox@example.com" },
		{ "uri", "https://example.com/fox" },
		{ "url", "https://example.com/fox" },
		{ "uuid", "3f2a6a40-8c1e-4b5e-9d7f-1a2b3c4d5e6f" },
		{ "ipv4", "192.0.2.7" },
		{ "hostname", "fox.example.com" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		if (!strcmp(fmt, formats[i].format)) {
			buf_add_json_str(b, formats[i].value);
			return;
		}
	}
	struct buf w = BUF_INIT;
	int n = 1 + (int)(sim_rand(st) % 3);
	for (int i = 0; i < n; i++)
		buf_addf(&w, "%s%s", i ? " " : "", gen_word(st));
	int has;
	double minl = num_field(s, "minLength", &has);
	while (has && (double)w.len < minl)
		buf_adds(&w, "x");
	double maxl = num_field(s, "maxLength", &has);
	if (has && maxl >= 0 && (double)w.len > maxl)
		w.len = (size_t)maxl;
	buf_add(&w, "", 0);
	w.data[w.len] = '\0';
	buf_add_json_str(b, w.data);
	buf_release(&w);
}

/* A number within minimum/maximum (exclusive bounds moved inwards by one step). */
static void gen_number(struct buf *b, const cJSON *s, uint64_t *st, int integer)
{
	int hlo, hhi, hxlo, hxhi;
	double lo = num_field(s, "minimum", &hlo), hi = num_field(s, "maximum", &hhi);
	double xlo = num_field(s, "exclusiveMinimum", &hxlo),
	       xhi = num_field(s, "exclusiveMaximum", &hxhi);
	double step = integer ? 1 : 0.25;
	if (hxlo && (!hlo || xlo + step > lo)) {
		lo = integer ? floor(xlo) + 1 : xlo + step;
		hlo = 1;
	}
	if (hxhi && (!hhi || xhi - step < hi)) {
		hi = integer ? ceil(xhi) - 1 : xhi - step;
		hhi = 1;
	}
	if (integer) {
		lo = ceil(lo);
		hi = floor(hi);
	}
	double r = (double)(sim_rand(st) % 1000) / 1000.0, v;
	if (hlo && hhi)
		v = hi >= lo ? lo + r * (hi - lo) : lo;
	else if (hlo)
		v = lo + r * 10;
	else if (hhi)
		v = hi - r * 10;
	else
		v = r * 100;
	if (integer) {
		v = floor(v);
		if (hhi && v > hi)
			v = hi;
		if (hlo && v < lo)
			v = lo;
		buf_addf(b, "%.0f", v);
	} else {
		buf_addf(b, "%.2f", floor(v * 4) / 4);
	}
}

static void gen_object(struct buf *b, const cJSON *s, const cJSON *root, uint64_t *st, int depth)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
	const cJSON *p;
	int first = 1;
	buf_adds(b, "{");
	cJSON_ArrayForEach(p, props)
	{
		if (!p->string)
			continue;
		buf_adds(b, first ? "" : ",");
		buf_add_json_str(b, p->string);
		buf_adds(b, ":");
		gen_value(b, p, root, st, depth + 1);
		first = 0;
	}
	/* required names without a property schema get a string */
	cJSON_ArrayForEach(p, req)
	{
		if (!cJSON_IsString(p) || cJSON_GetObjectItemCaseSensitive(props, p->valuestring))
			continue;
		buf_adds(b, first ? "" : ",");
		buf_add_json_str(b, p->valuestring);
		buf_adds(b, ":");
		buf_add_json_str(b, gen_word(st));
		first = 0;
	}
	buf_adds(b, "}");
}

static void gen_array(struct buf *b, const cJSON *s, const cJSON *root, uint64_t *st, int depth)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
	const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(s, "prefixItems");
	int hmin, hmax;
	double mn = num_field(s, "minItems", &hmin), mx = num_field(s, "maxItems", &hmax);
	int n = hmin ? (int)fmin(mn, GEN_MAX_ITEMS) : 2;
	if (hmax && n > mx)
		n = mx < 0 ? 0 : (int)mx;
	int np = cJSON_GetArraySize(prefix);
	if (np > n)
		n = np;
	buf_adds(b, "[");
	for (int i = 0; i < n; i++) {
		buf_adds(b, i ? "," : "");
		const cJSON *is = i < np ? cJSON_GetArrayItem(prefix, i) : items;
		gen_value(b, is, root, st, depth + 1);
	}
	buf_adds(b, "]");
}

static void gen_value(struct buf *b, const cJSON *s, const cJSON *root, uint64_t *st, int depth)
{
	if (depth > GEN_MAX_DEPTH || cJSON_IsFalse(s)) {
		buf_adds(b, "null");
		return;
	}
	if (!cJSON_IsObject(s)) { /* true, absent: anything goes */
		buf_add_json_str(b, gen_word(st));
		return;
	}
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
	if (cJSON_IsString(ref)) {
		gen_value(b, resolve_ref(root, ref->valuestring), root, st, depth + 1);
		return;
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "const");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "enum");
	if (c || (cJSON_IsArray(e) && cJSON_GetArraySize(e) > 0)) {
		char *t = cJSON_PrintUnformatted(c ? c : cJSON_GetArrayItem(e, 0));
		buf_adds(b, t ? t : "null");
		free(t);
		return;
	}
	static const char *const alts[] = { "anyOf", "oneOf", "allOf" };
	for (size_t i = 0; i < ARRAY_SIZE(alts); i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(s, alts[i]);
		if (!cJSON_IsArray(a) || !cJSON_GetArraySize(a))
			continue;
		/* the first alternative that is not just null */
		const cJSON *pick = cJSON_GetArrayItem(a, 0), *x;
		cJSON_ArrayForEach(x, a)
		{
			int only_null;
			schema_type(x, &only_null);
			if (!only_null) {
				pick = x;
				break;
			}
		}
		gen_value(b, pick, root, st, depth + 1);
		return;
	}
	int only_null;
	const char *type = schema_type(s, &only_null);
	if (only_null) {
		buf_adds(b, "null");
	} else if (type ? !strcmp(type, "object")
			: cJSON_HasObjectItem(s, "properties") != 0) {
		gen_object(b, s, root, st, depth);
	} else if (type ? !strcmp(type, "array") : cJSON_HasObjectItem(s, "items") != 0) {
		gen_array(b, s, root, st, depth);
	} else if (type && !strcmp(type, "integer")) {
		gen_number(b, s, st, 1);
	} else if (type && !strcmp(type, "number")) {
		gen_number(b, s, st, 0);
	} else if (type && !strcmp(type, "boolean")) {
		buf_adds(b, sim_rand(st) & 1 ? "true" : "false");
	} else {
		gen_string(b, s, st);
	}
}

char *simgen_schema_value(const cJSON *schema, uint64_t seed)
{
	struct buf b = BUF_INIT;
	uint64_t st = seed;
	gen_value(&b, schema, schema, &st, 0);
	return buf_detach(&b);
}

char *simgen_format_text(const cJSON *format, uint64_t seed)
{
	if (cJSON_IsObject(format))
		return simgen_schema_value(format, seed);
	/* "json": some object */
	struct buf b = BUF_INIT, w = BUF_INIT;
	uint64_t st = seed;
	for (int i = 0; i < 6; i++)
		buf_addf(&w, "%s%s", i ? " " : "", gen_word(&st));
	buf_adds(&b, "{\"answer\":");
	buf_add_json_str(&b, buf_str(&w));
	buf_addf(&b, ",\"confidence\":%.2f}", (double)(sim_rand(&st) % 100) / 100.0);
	buf_release(&w);
	return buf_detach(&b);
}

int simgen_pieces(const char *text, char ***out)
{
	size_t len = strlen(text);
	int n = 0;
	char **v = xcalloc(len / 3 + 2, sizeof(*v));
	for (size_t i = 0; i < len;) {
		/* about a token: up to 4 bytes, cut after a space or a structural character */
		size_t k = 0;
		while (i + k < len && k < 4) {
			char c = text[i + k++];
			if (c == ' ' || c == ',' || c == ':' || c == '{' || c == '[')
				break;
		}
		v[n++] = xstrndup(text + i, k);
		i += k;
	}
	*out = v;
	return n;
}

void simgen_pieces_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void simgen_base64(struct buf *b, const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		char q[4] = { b64chars[(v >> 18) & 63], b64chars[(v >> 12) & 63],
			      i + 1 < n ? b64chars[(v >> 6) & 63] : '=',
			      i + 2 < n ? b64chars[v & 63] : '=' };
		buf_add(b, q, 4);
	}
}

/* Go's base64.StdEncoding, as encoding/json decodes a []byte: -1 when s is valid, else the
 * offset Go reports ("illegal base64 data at input byte N"). Newlines are skipped. */
long simgen_base64_bad(const char *s)
{
	size_t q = 0; /* characters in the current quantum */
	int pad = 0;
	size_t i;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (pad) {
			if (c != '=' || q == 4)
				return (long)i;
			q++;
			continue;
		}
		if (c == '=') {
			if (q < 2)
				return (long)i;
			pad = 1;
			q++;
			continue;
		}
		if (!strchr(b64chars, c))
			return (long)i;
		q = q == 4 ? 1 : q + 1;
	}
	if (q != 0 && q != 4)
		return (long)(i - (pad ? 0 : q));
	return -1;
}
