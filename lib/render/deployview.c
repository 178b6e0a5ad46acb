/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rendering of deploy plans, pull progress, step lines and results. */
#include "../compat.h"
#include "deployview.h"

#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "../deploy/deploy.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

static void put(FILE *out, int color, enum render_color c, const char *text)
{
	render_colored(out, color, c, text);
}

/* "keep_alive 24h, num_ctx 8192" of a preload. */
static void preload_opts(const struct deploy_action *a, char *out, size_t n)
{
	char ka[64] = "";
	out[0] = '\0';
	if (a->has_keep_alive) {
		if (a->keep_alive_ns == DURATION_FOREVER)
			snprintf(ka, sizeof(ka), "forever");
		else
			units_fmt_duration(a->keep_alive_ns, ka, sizeof(ka));
	}
	if (*ka && a->num_ctx)
		snprintf(out, n, "keep_alive %s, num_ctx %d", ka, a->num_ctx);
	else if (*ka)
		snprintf(out, n, "keep_alive %s", ka);
	else if (a->num_ctx)
		snprintf(out, n, "num_ctx %d", a->num_ctx);
}

/* The detail column of a plan row. */
static void detail(const struct deploy_action *a, char *out, size_t n)
{
	char sz[32] = "", opts[96];
	if (a->size)
		units_fmt_bytes(a->size, sz, sizeof(sz));
	switch (a->kind) {
	case DEPLOY_PULL:
		snprintf(out, n, "%s", *sz ? sz : "size unknown");
		break;
	case DEPLOY_UPDATE:
		snprintf(out, n, "digest %.12s -> %.12s%s%s", a->have_digest,
			 a->want_digest[0] ? a->want_digest : "registry", *sz ? ", " : "", sz);
		break;
	case DEPLOY_PRELOAD:
		preload_opts(a, opts, sizeof(opts));
		snprintf(out, n, "%s", *opts ? opts : "server defaults");
		break;
	case DEPLOY_REMOVE:
	case DEPLOY_SHARED:
	default:
		snprintf(out, n, "%s", sz);
		break;
	}
}

void deployview_plan(FILE *out, const struct deploy_plan *p, int color)
{
	char clean[DEPLOY_MSG_MAX], d[256];
	for (size_t i = 0; i < p->ninst; i++) {
		const struct deploy_inst *in = &p->inst[i];
		if (!in->selected)
			continue;
		size_t nact = 0;
		for (size_t k = 0; k < p->n; k++)
			nact += p->a[k].inst == i;
		put(out, color, COLOR_BOLD, in->name);
		fprintf(out, "  %s", in->url);
		if (!in->reachable) {
			fputs("  ", out);
			snprintf(d, sizeof(d), "unreachable: %s",
				 text_sanitize(clean, sizeof(clean), in->err));
			put(out, color, COLOR_CRIT, d);
			fputc('\n', out);
			continue;
		}
		fprintf(out, "  ollama %s", text_sanitize(clean, sizeof(clean), in->version));
		if (!nact) {
			fputs("  ", out);
			put(out, color, COLOR_OK, "up to date");
		}
		fputc('\n', out);
		size_t mw = 0;
		for (size_t k = 0; k < p->n; k++)
			if (p->a[k].inst == i && render_width(p->a[k].model) > mw)
				mw = render_width(p->a[k].model);
		for (size_t k = 0; k < p->n; k++) {
			const struct deploy_action *a = &p->a[k];
			if (a->inst != i)
				continue;
			char kind[16];
			snprintf(kind, sizeof(kind), "%-8s", deploy_kind_name(a->kind));
			fputs("  ", out);
			put(out, color, a->kind == DEPLOY_REMOVE ? COLOR_CRIT :
			    a->kind == DEPLOY_UPDATE ? COLOR_WARN : COLOR_NONE, kind);
			text_sanitize(clean, sizeof(clean), a->model);
			fprintf(out, " %s%*s  ", clean, (int)(mw - render_width(clean)), "");
			detail(a, d, sizeof(d));
			fputs(d, out);
			if (a->note[0])
				fprintf(out, "  (%s)", text_sanitize(clean, sizeof(clean), a->note));
			fputc('\n', out);
		}
	}
	for (size_t i = 0; i < p->nlints; i++) {
		put(out, color, COLOR_WARN, "warning:");
		fprintf(out, " %s\n", text_sanitize(clean, sizeof(clean), p->lints[i]));
	}
	fprintf(out, "plan: %zu to pull, %zu to update, %zu shared, %zu to preload, %zu to remove, "
		"%zu unreachable\n", p->count[DEPLOY_PULL], p->count[DEPLOY_UPDATE],
		p->count[DEPLOY_SHARED], p->count[DEPLOY_PRELOAD], p->count[DEPLOY_REMOVE],
		p->unreachable);
}

void deployview_step(FILE *out, const struct deploy_plan *p, size_t i, int color)
{
	const struct deploy_action *a = &p->a[i];
	char clean[DEPLOY_MSG_MAX], dur[32], sz[32], line[1024];
	snprintf(line, sizeof(line), "%s %s %s: ", a->inst < p->ninst ? p->inst[a->inst].name : "?",
		 deploy_kind_name(a->kind), a->model);
	fputs(text_sanitize(clean, sizeof(clean), line), out);
	enum render_color c = a->state == DEPLOY_OK ? COLOR_OK :
			      a->state == DEPLOY_FAILED ? COLOR_CRIT : COLOR_WARN;
	put(out, color, c, deploy_state_name(a->state));
	units_fmt_duration(a->duration_ns, dur, sizeof(dur));
	if (a->state == DEPLOY_OK) {
		fprintf(out, " in %s", dur);
		if ((a->kind == DEPLOY_PULL || a->kind == DEPLOY_UPDATE) && a->total > 0)
			fprintf(out, ", %s", units_fmt_bytes((uint64_t)a->total, sz, sizeof(sz)));
	}
	if (a->attempts > 1)
		fprintf(out, " after %d attempts", a->attempts);
	if ((a->kind == DEPLOY_PULL || a->kind == DEPLOY_UPDATE) && a->resumed_from > 0)
		fprintf(out, " (resumed at %s)",
			units_fmt_bytes((uint64_t)a->resumed_from, sz, sizeof(sz)));
	if (a->err[0])
		fprintf(out, "%s%s", a->state == DEPLOY_OK ? "; the last failed attempt: " : ": ",
			text_sanitize(clean, sizeof(clean), a->err));
	fputc('\n', out);
}

/* One progress line of a pull, cut to width columns. */
static void live_line(const struct deploy_plan *p, const struct deploy_action *a, char *out,
		      size_t n)
{
	char what[160], st[200] = "", b1[32], b2[32], r[32], eta[32];
	snprintf(what, sizeof(what), "%-12.12s %-24.24s",
		 a->inst < p->ninst ? p->inst[a->inst].name : "?", a->model);
	switch (a->state) {
	case DEPLOY_PENDING:
		if (a->attempts)
			snprintf(st, sizeof(st), "retry %d/%d: %.120s", a->attempts + 1,
				 DEPLOY_PULL_ATTEMPTS, a->err);
		else
			snprintf(st, sizeof(st), "waiting");
		break;
	case DEPLOY_RUNNING:
		if (a->total > 0) {
			int pct = (int)(a->completed * 100 / a->total);
			units_fmt_bytes((uint64_t)a->completed, b1, sizeof(b1));
			units_fmt_bytes((uint64_t)a->total, b2, sizeof(b2));
			if (a->rate > 0) {
				units_fmt_bytes((uint64_t)a->rate, r, sizeof(r));
				units_fmt_duration((int64_t)((double)(a->total - a->completed) /
							     a->rate * 1e9), eta, sizeof(eta));
				snprintf(st, sizeof(st), "%-14.14s %3d%%  %s/%s  %s/s  ETA %s",
					 a->layer, pct, b1, b2, r, eta);
			} else {
				snprintf(st, sizeof(st), "%-14.14s %3d%%  %s/%s", a->layer, pct, b1,
					 b2);
			}
		} else {
			snprintf(st, sizeof(st), "%s", a->layer[0] ? a->layer : "starting");
		}
		break;
	case DEPLOY_OK:
		units_fmt_duration(a->duration_ns, b1, sizeof(b1));
		snprintf(st, sizeof(st), "done in %s", b1);
		break;
	default:
		snprintf(st, sizeof(st), "%s: %.150s", deploy_state_name(a->state), a->err);
		break;
	}
	snprintf(out, n, "%s %s", what, st);
	text_sanitize(out, n, out);
}

void deployview_live(FILE *tty, const struct deploy_plan *p, int color, int *drawn, int width)
{
	if (*drawn > 0)
		fprintf(tty, "\r\033[%dA", *drawn);
	int lines = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct deploy_action *a = &p->a[i];
		if (a->kind != DEPLOY_PULL && a->kind != DEPLOY_UPDATE)
			continue;
		char line[512];
		live_line(p, a, line, sizeof(line));
		if (width > 8 && render_width(line) > (size_t)width - 1) {
			/* one column short of the width, so the terminal does not wrap */
			size_t cut = (size_t)width - 1;
			while (cut > 0 && ((unsigned char)line[cut] & 0xc0) == 0x80)
				cut--;
			line[cut] = '\0';
		}
		enum render_color c = a->state == DEPLOY_OK ? COLOR_OK :
				      a->state == DEPLOY_FAILED ? COLOR_CRIT :
				      a->state == DEPLOY_SKIPPED ? COLOR_WARN : COLOR_NONE;
		fputs("\r\033[K", tty);
		if (color && c != COLOR_NONE)
			render_colored(tty, 1, c, line);
		else
			fputs(line, tty);
		fputc('\n', tty);
		lines++;
	}
	*drawn = lines;
	fflush(tty);
}

void deployview_result(FILE *out, const struct deploy_plan *p, int color)
{
	char clean[DEPLOY_MSG_MAX];
	for (size_t i = 0; i < p->ninst; i++) {
		const struct deploy_inst *in = &p->inst[i];
		if (!in->selected || !in->verified)
			continue;
		fprintf(out, "verify %s: ", in->name);
		if (in->matched) {
			put(out, color, COLOR_OK, "ok");
			fputc('\n', out);
		} else {
			put(out, color, COLOR_CRIT, "differs");
			fprintf(out, ": %s\n", text_sanitize(clean, sizeof(clean), in->verify));
		}
	}
	size_t failed = 0;
	for (size_t i = 0; i < p->n; i++)
		failed += p->a[i].state == DEPLOY_FAILED;
	if (p->interrupted)
		fprintf(out, "deploy: interrupted; run it again to resume\n");
	else
		fprintf(out, "deploy: %zu/%zu instances match the fleet file, %zu of %zu actions "
			"failed\n", p->matched, p->nselected, failed, p->n);
}

void deployview_run(FILE *out, long long id, const char *status, const char *target,
		    const char *started, const struct deploy_plan *p, int color)
{
	char clean[512];
	fprintf(out, "run %lld: deploy of %s, %s, %s\n\n", id,
		text_sanitize(clean, sizeof(clean), target), started, status);
	for (size_t i = 0; i < p->n; i++)
		deployview_step(out, p, i, color);
	if (!p->n)
		fprintf(out, "no actions: the fleet already matched\n");
	fputc('\n', out);
	deployview_result(out, p, color);
}
