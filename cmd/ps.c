/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge ps: the models loaded on every instance of the fleet, like `ollama ps` fleet-wide. */
#include "../lib/compat.h"
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fleet/fleet.h"
#include "../lib/http/http.h"
#include "../lib/ollama/ollama.h"
#include "../lib/render/fmt.h"
#include "../lib/render/render.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

#define PS_TIMEOUT_NS (5 * 1000000000LL)

static const char *const usage[] = {
	"usage: obridge ps [--json]",
	"",
	"List the models loaded in memory on every instance of the fleet, as `ollama ps`",
	"would on each of them. All instances are asked at once (GET /api/ps, 5 s timeout).",
	"",
	CMD_OPTIONS,
	"",
	"Exit status: 0 every instance answered, 1 some did not, 3 usage error.",
	NULL,
};

static const struct cmd_opt opts[] = { OPT_END };

const struct cmd_spec spec_ps = {
	.usage = usage,
	.opts = opts,
	.json = "print a JSON object with one entry per instance",
	.in_order = 1,
};

/* What one instance answered. */
struct ps_inst {
	const struct fleet_instance *in;
	enum ollama_err err;
	char errmsg[OLLAMA_MSG_MAX];
	struct ollama_ps ps;
};

static void ps_id(const char *digest, char *out, size_t n)
{
	if (strncmp(digest, "sha256:", 7) == 0)
		digest += 7;
	snprintf(out, n, "%.12s", digest);
}

static void until_of(const struct ollama_ps_entry *m, int64_t now, char *out, size_t n)
{
	if (!m->has_expires_at)
		out[0] = '\0'; /* not sent: unknown */
	else
		fmt_until(m->expires_at, now, out, n);
}

static int unreachable(enum ollama_err e)
{
	return e == OLLAMA_E_REFUSED || e == OLLAMA_E_DNS || e == OLLAMA_E_TLS ||
	       e == OLLAMA_E_TIMEOUT || e == OLLAMA_E_CONNECT;
}

static void print_table(const struct ps_inst *v, size_t n, int64_t now, int color)
{
	static const char *const headers[] = { "INSTANCE", "NAME", "ID", "SIZE", "PROCESSOR",
					       "CONTEXT", "UNTIL" };
	struct table t;
	table_init(&t, ARRAY_SIZE(headers), headers);
	for (size_t i = 0; i < n; i++) {
		const struct ps_inst *p = &v[i];
		if (p->err != OLLAMA_OK) {
			size_t r = table_add_row(&t);
			table_set(&t, r, 0, "%s", p->in->name);
			table_set(&t, r, 1, "%s: %s", unreachable(p->err) ? "unreachable" : "error",
				  p->errmsg);
			table_set_color(&t, r, 1, COLOR_CRIT);
			continue;
		}
		if (p->ps.n == 0) {
			size_t r = table_add_row(&t);
			table_set(&t, r, 0, "%s", p->in->name);
			table_set(&t, r, 1, "-");
			table_set_color(&t, r, 1, COLOR_DIM);
			continue;
		}
		for (size_t k = 0; k < p->ps.n; k++) {
			const struct ollama_ps_entry *m = &p->ps.models[k];
			char id[16], size[32], proc[48], until[64];
			size_t r = table_add_row(&t);
			ps_id(m->digest, id, sizeof(id));
			units_fmt_bytes(m->size, size, sizeof(size));
			fmt_processor(m->size, m->size_vram, proc, sizeof(proc));
			until_of(m, now, until, sizeof(until));
			table_set(&t, r, 0, "%s", p->in->name);
			table_set(&t, r, 1, "%s", m->name);
			table_set(&t, r, 2, "%s", id);
			table_set(&t, r, 3, "%s", size);
			table_set(&t, r, 4, "%s", proc);
			if (m->has_context_length)
				table_set(&t, r, 5, "%" PRId64, m->context_length);
			table_set(&t, r, 6, "%s", until);
		}
	}
	table_print(&t, stdout, color);
	table_release(&t);
}

/* A JSON string member from server text: sanitized, then escaped. */
static void json_str(struct buf *b, const char *key, const char *val)
{
	if (key) {
		buf_add_json_str(b, key);
		buf_adds(b, ":");
	}
	if (!val) {
		buf_adds(b, "null");
		return;
	}
	char *s = text_sanitize_dup(val);
	buf_add_json_str(b, s);
	free(s);
}

static void print_json(const struct ps_inst *v, size_t n, const struct fleet *f, int64_t now)
{
	struct buf b;
	buf_init(&b, 0);
	buf_adds(&b, "{");
	json_str(&b, "fleet", f->name ? f->name : "default");
	buf_adds(&b, ",\"instances\":[");
	for (size_t i = 0; i < n; i++) {
		const struct ps_inst *p = &v[i];
		if (i)
			buf_adds(&b, ",");
		buf_adds(&b, "{");
		json_str(&b, "name", p->in->name);
		buf_adds(&b, ",");
		json_str(&b, "url", p->in->url);
		buf_addf(&b, ",\"ok\":%s,", p->err == OLLAMA_OK ? "true" : "false");
		json_str(&b, "error", p->err == OLLAMA_OK ? NULL : p->errmsg);
		buf_adds(&b, ",");
		json_str(&b, "error_kind", p->err == OLLAMA_OK ? NULL : ollama_err_name(p->err));
		buf_adds(&b, ",\"models\":[");
		for (size_t k = 0; p->err == OLLAMA_OK && k < p->ps.n; k++) {
			const struct ollama_ps_entry *m = &p->ps.models[k];
			char proc[48], until[64];
			fmt_processor(m->size, m->size_vram, proc, sizeof(proc));
			until_of(m, now, until, sizeof(until));
			if (k)
				buf_adds(&b, ",");
			buf_adds(&b, "{");
			json_str(&b, "name", m->name);
			buf_adds(&b, ",");
			json_str(&b, "model", m->model);
			buf_adds(&b, ",");
			json_str(&b, "digest", m->digest);
			buf_addf(&b, ",\"size\":%" PRIu64 ",\"size_vram\":%" PRIu64 ",", m->size,
				 m->size_vram);
			json_str(&b, "processor", proc);
			if (m->has_context_length)
				buf_addf(&b, ",\"context_length\":%" PRId64, m->context_length);
			else
				buf_adds(&b, ",\"context_length\":null");
			buf_adds(&b, ",");
			json_str(&b, "expires_at", m->has_expires_at ? m->expires_at_raw : NULL);
			buf_adds(&b, ",");
			json_str(&b, "until", until[0] ? until : NULL);
			buf_adds(&b, "}");
		}
		buf_adds(&b, "]}");
	}
	buf_adds(&b, "]}\n");
	fputs(buf_str(&b), stdout);
	buf_release(&b);
}

int cmd_ps(int argc, char **argv, struct ctx *ctx)
{
	struct cmd_getopt g;
	int c;
	cmd_getopt_init(&g, argc, argv);
	if ((c = cmd_getopt_next(&g)) != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind < argc)
		return cmd_usage_error("ps", "unexpected argument '%s'", argv[g.optind]);
	if (!ctx->fleet || !ctx->fleet->ninstances) {
		cmd_error("ps", "no instances to query");
		return EXIT_UNKNOWN;
	}

	struct http_engine *e = ctx_http_engine(ctx, "ps");
	if (!e)
		return EXIT_UNKNOWN;
	const struct fleet *f = ctx->fleet;
	size_t n = f->ninstances;
	const char **urls = xcalloc(n, sizeof(*urls));
	struct ollama_reply *rep = xcalloc(n, sizeof(*rep));
	struct ps_inst *v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		urls[i] = f->instances[i].url;
	ollama_fanout(e, urls, n, "GET", "/api/ps", NULL, PS_TIMEOUT_NS, rep);
	http_engine_free(e);

	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		struct ps_inst *p = &v[i];
		char err[ERR_MAX];
		p->in = &f->instances[i];
		p->err = rep[i].err;
		snprintf(p->errmsg, sizeof(p->errmsg), "%s", rep[i].errmsg);
		if (p->err == OLLAMA_OK &&
		    ollama_parse_ps(rep[i].body, rep[i].len, &p->ps, err) < 0) {
			p->err = OLLAMA_E_MALFORMED;
			snprintf(p->errmsg, sizeof(p->errmsg), "%s", err);
		}
		if (p->err != OLLAMA_OK)
			failed++;
		ollama_reply_release(&rep[i]);
	}

	int64_t now = wall_ns();
	if (ctx->json)
		print_json(v, n, f, now);
	else
		print_table(v, n, now, ctx->color);

	for (size_t i = 0; i < n; i++)
		ollama_ps_release(&v[i].ps);
	free(v);
	free(rep);
	free(urls);
	return failed ? EXIT_WARN : EXIT_OK;
}
