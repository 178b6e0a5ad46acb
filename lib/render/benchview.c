/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bench view: the per-step table, the knee sentences, notes and bar charts. */
#include "../compat.h"
#include "benchview.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "progress.h"
#include "../bench/bench.h"
#include "../bench/report.h"
#include "../util/buf.h"
#include "../util/units.h"
#include "../util/util.h"
#include "../banned.h"

/* A duration cell: "850µs", or "850us" under ASCII. */
static char *ns_cell(int64_t ns, int ascii, char *out, size_t n)
{
	return units_duration(ns, ascii ? UNITS_DUR_ASCII : UNITS_DUR_SHORT, out, n);
}

char *bench_fmt_rate(double v, char *out, size_t n)
{
	if (v >= 1e6)
		snprintf(out, n, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.1fk", v / 1e3);
	else if (v >= 100)
		snprintf(out, n, "%.0f", v);
	else if (v >= 10)
		snprintf(out, n, "%.1f", v);
	else
		snprintf(out, n, "%.2f", v);
	return out;
}

/* Replace the few non-ASCII characters of the sentences. */
static void ascii_fold(struct buf *b, size_t from)
{
	static const char *const map[][2] = {
		{ "\xe2\x89\xa4", "<=" }, { "\xe2\x89\xa5", ">=" }, { "\xc3\x97", "x" },
		{ "\xe2\x80\x94", "-" }, { "\xc2\xb5", "u" }, { "\xe2\x80\x93", "-" },
	};
	struct buf o = BUF_INIT;
	const char *s = b->data ? b->data + from : "";
	while (*s) {
		size_t k;
		for (k = 0; k < ARRAY_SIZE(map); k++) {
			size_t l = strlen(map[k][0]);
			if (!strncmp(s, map[k][0], l)) {
				buf_adds(&o, map[k][1]);
				s += l;
				break;
			}
		}
		if (k == ARRAY_SIZE(map))
			buf_add(&o, s++, 1);
	}
	b->len = from;
	if (b->data)
		b->data[from] = '\0';
	buf_add(b, o.data ? o.data : "", o.len);
	buf_release(&o);
}

#define NCOL 11

void bench_table(const struct bench_row *rows, size_t n, int flags, struct buf *out)
{
	int ascii = flags & BENCH_VIEW_ASCII, ep = flags & BENCH_VIEW_ENDPOINT;
	int inst = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].instance[0])
			inst = 1;
	const char *hdr_s[NCOL] = { "INSTANCE", flags & BENCH_VIEW_RATE ? "RATE" : "C", "OK",
				    "ERR", "REQ/S", "TOK/S", "TOK/S/U", "TTFT p50", "TTFT p95",
				    "ITL p50", "E2E p95" };
	const char *hdr_e[NCOL] = { "INSTANCE", flags & BENCH_VIEW_RATE ? "RATE" : "C", "OK",
				    "ERR", "REQ/S", "E2E p50", "E2E p95", "E2E p99", "", "", "" };
	const char *const *hdr = ep ? hdr_e : hdr_s;
	int ncol = ep ? 8 : NCOL;
	char (*cell)[NCOL][24] = xcalloc(n + 1, sizeof(*cell));
	size_t w[NCOL] = { 0 };
	for (int c = 0; c < ncol; c++) {
		snprintf(cell[0][c], 24, "%s", hdr[c]);
	}
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		char (*cl)[24] = cell[i + 1];
		snprintf(cl[0], 24, "%s", r->instance[0] ? r->instance : "all");
		snprintf(cl[1], 24, "%g%s", r->x, r->partial ? "*" : "");
		snprintf(cl[2], 24, "%" PRIu64, r->ok);
		snprintf(cl[3], 24, "%" PRIu64, r->failed);
		bench_fmt_rate(r->req_s, cl[4], 24);
		if (ep) {
			ns_cell(r->e2e_p50, ascii, cl[5], 24);
			ns_cell(r->e2e_p95, ascii, cl[6], 24);
			ns_cell(r->e2e_p99, ascii, cl[7], 24);
			continue;
		}
		bench_fmt_rate(r->tok_s, cl[5], 24);
		bench_fmt_rate(r->tok_s_user, cl[6], 24);
		if (r->has_ttft) {
			ns_cell(r->ttft_p50, ascii, cl[7], 24);
			ns_cell(r->ttft_p95, ascii, cl[8], 24);
		} else {
			snprintf(cl[7], 24, "-");
			snprintf(cl[8], 24, "-");
		}
		if (r->has_itl)
			ns_cell(r->itl_p50, ascii, cl[9], 24);
		else
			snprintf(cl[9], 24, "-");
		if (r->ok)
			ns_cell(r->e2e_p95, ascii, cl[10], 24);
		else
			snprintf(cl[10], 24, "-");
	}
	for (size_t i = 0; i <= n; i++)
		for (int c = 0; c < ncol; c++) {
			const char *s = cell[i][c];
			size_t l = 0;
			for (; *s; s++)
				l += ((unsigned char)*s & 0xc0) != 0x80;
			if (l > w[c])
				w[c] = l;
		}
	for (size_t i = 0; i <= n; i++) {
		size_t start = out->len;
		for (int c = inst ? 0 : 1; c < ncol; c++) {
			const char *s = cell[i][c];
			size_t l = 0;
			for (const char *q = s; *q; q++)
				l += ((unsigned char)*q & 0xc0) != 0x80;
			if (c > (inst ? 0 : 1))
				buf_adds(out, "  ");
			if (c == 0) {
				buf_adds(out, s);
				for (size_t k = l; k < w[c]; k++)
					buf_add(out, " ", 1);
			} else {
				for (size_t k = l; k < w[c]; k++)
					buf_add(out, " ", 1);
				buf_adds(out, s);
			}
		}
		if (ascii)
			ascii_fold(out, start);
		buf_adds(out, "\n");
	}
	free(cell);
}

/* Append text (lines ending in '\n') to out, wrapping lines longer than width columns at
 * spaces, continuation lines indented by two. */
static void wrap_append(struct buf *out, const char *text, int width)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		int indent = 0;
		while (len) {
			/* Find how many bytes fit in width - indent columns. */
			size_t cut = len, colsn = 0, lastsp = 0;
			for (size_t i = 0; i < len; i++) {
				if (((unsigned char)text[i] & 0xc0) != 0x80)
					colsn++;
				if (colsn > (size_t)(width - indent)) {
					cut = lastsp ? lastsp : i;
					break;
				}
				if (text[i] == ' ')
					lastsp = i;
			}
			if (indent)
				buf_adds(out, "  ");
			buf_add(out, text, cut);
			buf_adds(out, "\n");
			while (cut < len && text[cut] == ' ')
				cut++;
			text += cut;
			len -= cut;
			indent = 2;
		}
		if (!nl)
			break;
		if (!indent)
			buf_adds(out, "\n"); /* an empty line */
		text = nl + 1;
	}
}

void bench_render(const struct bench_row *rows, size_t n, int flags, int64_t slo_ns,
		  int width, int charts, struct buf *out)
{
	int ascii = flags & BENCH_VIEW_ASCII, ep = flags & BENCH_VIEW_ENDPOINT;
	const char *dash = ascii ? "-" : "\xe2\x80\x94";
	char d1[32], d2[32];
	bench_table(rows, n, flags, out);
	struct bench_knee k;
	struct buf text = BUF_INIT;
	bench_knee_report(rows, n, flags, slo_ns, &k, &text, NULL);
	if (ascii)
		ascii_fold(&text, 0);
	if (text.len) {
		buf_adds(out, "\n");
		wrap_append(out, buf_str(&text), width);
	}
	buf_release(&text);
	struct buf nb = BUF_INIT;
	struct buf *keep = out;
	out = &nb;
	size_t from = out->len;
	int notes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		char lab[96];
		snprintf(lab, sizeof(lab), "%s%g%s%s", flags & BENCH_VIEW_RATE ? "rate " : "c=",
			 r->x, r->instance[0] ? " " : "", r->instance);
		if (!notes++)
			buf_adds(out, "\n");
		if (r->partial)
			buf_addf(out, "%s: interrupted, partial step\n", lab);
		if (r->shed)
			buf_addf(out, "%s: %" PRIu64 " requests shed (503, server queue full) %s "
				 "load shedding, not failures\n", lab, r->shed, dash);
		if (r->errors && r->errsum[0])
			buf_addf(out, "%s: %" PRIu64 " failed: %s\n", lab, r->errors, r->errsum);
		if (r->cold)
			buf_addf(out, "%s: %" PRIu64 " request%s hit a cold load (TTFT p50 %s), "
				 "reported apart\n", lab, r->cold, r->cold == 1 ? "" : "s",
				 ns_cell(r->cold_ttft_p50, ascii, d1, sizeof(d1)));
		if (r->has_raw && r->ok) {
			char d3[32];
			buf_addf(out, "%s: %s p95 %s from the planned send, %s from the actual send; "
				 "schedule lag p99 %s\n", lab, ep ? "E2E" : "TTFT",
				 ns_cell(ep ? r->e2e_p95 : r->ttft_p95, ascii, d1, sizeof(d1)),
				 ns_cell(ep ? r->raw_e2e_p95 : r->raw_ttft_p95, ascii, d2,
					      sizeof(d2)),
				 ns_cell(r->send_lag_p99, ascii, d3, sizeof(d3)));
		}
		if ((flags & BENCH_VIEW_RATE) && r->ok && !r->partial && r->req_s < 0.75 * r->x)
			buf_addf(out, "%s: %.1f req/s done of %g offered %s the server cannot keep up\n",
				 lab, r->req_s, r->x, dash);
		if (r->limited)
			buf_addf(out, "%s: warning: the client may be the limit (%s)\n", lab,
				 r->reason);
		if (!ep && r->has_itl && r->coalesced_pct >= 99.5)
			buf_addf(out, "%s: %.0f%% of token gaps were lines that came in one read "
				 "(gap 0): ITL is not a measurement here\n", lab, r->coalesced_pct);
		else if (!ep && r->has_itl && r->coalesced_pct >= 5)
			buf_addf(out, "%s: %.0f%% of token gaps were lines that came in one read "
				 "(gap 0): ITL percentiles up to p%.0f are not measurements\n", lab,
				 r->coalesced_pct, floor(r->coalesced_pct));
		if (!ep && r->first_n && r->later_ttft_p99 > 0 &&
		    r->first_ttft_p99 > r->later_ttft_p99 + r->later_ttft_p99 / 5)
			buf_addf(out, "%s: the %" PRIu64 " requests that started the step at once had "
				 "TTFT p99 %s, the later ones %s\n", lab, r->first_n,
				 ns_cell(r->first_ttft_p99, ascii, d1, sizeof(d1)),
				 ns_cell(r->later_ttft_p99, ascii, d2, sizeof(d2)));
		if (r->conns)
			buf_addf(out, "%s: %" PRIu64 " request%s opened a connection (set-up p50 %s, "
				 "kept out of %s)\n", lab, r->conns, r->conns == 1 ? "" : "s",
				 ns_cell(r->connect_p50, ascii, d1, sizeof(d1)), ep ? "E2E" : "TTFT");
		if (!ep && r->ok && r->queue_p95 > 0 && !r->instance[0] &&
		    r->queue_p50 > r->server_ttft_p50 / 2 && r->queue_p50 > 1000000)
			buf_addf(out, "%s: requests waited %s (p50) for a parallel slot\n", lab,
				 ns_cell(r->queue_p50, ascii, d1, sizeof(d1)));
	}
	if (out->len == from + 1) {
		out->len = from;
		out->data[from] = '\0';
	}
	out = keep;
	if (nb.len)
		wrap_append(out, buf_str(&nb), width);
	buf_release(&nb);
	if (!charts)
		return;
	/* Charts over the rows that cover the whole target. */
	const char **labels = xcalloc(n + 1, sizeof(char *));
	const char **texts = xcalloc(n + 1, sizeof(char *));
	double *a = xcalloc(n + 1, sizeof(double)), *b = xcalloc(n + 1, sizeof(double));
	char (*lab)[32] = xcalloc(n + 1, sizeof(*lab));
	char (*txt)[64] = xcalloc(n + 1, sizeof(*txt));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		if (r->instance[0] || !r->ok)
			continue;
		snprintf(lab[m], 32, "%g", r->x);
		labels[m] = lab[m];
		int64_t p50 = ep || !r->has_ttft ? r->e2e_p50 : r->ttft_p50;
		int64_t p95 = ep || !r->has_ttft ? r->e2e_p95 : r->ttft_p95;
		a[m] = (double)p50;
		b[m] = (double)p95;
		snprintf(txt[m], 64, "%s / %s", ns_cell(p50, ascii, d1, sizeof(d1)),
			 ns_cell(p95, ascii, d2, sizeof(d2)));
		texts[m] = txt[m];
		m++;
	}
	if (m) {
		char title[160];
		snprintf(title, sizeof(title), "\n%s p50 %s p95 %s by %s",
			 ep || !rows[0].has_ttft ? "E2E" : "TTFT", ascii ? "#" : "\xe2\x96\x88",
			 ascii ? "=" : "\xe2\x96\x91",
			 flags & BENCH_VIEW_RATE ? "rate (req/s)" : "concurrency");
		chart_bars(out, title, labels, a, b, texts, m, width, !ascii);
		for (size_t i = 0, j = 0; i < n && j < m; i++) {
			const struct bench_row *r = &rows[i];
			if (r->instance[0] || !r->ok)
				continue;
			a[j] = ep ? r->req_s : r->tok_s;
			char v[32];
			snprintf(txt[j], 64, "%s %s", bench_fmt_rate(a[j], v, sizeof(v)),
				 ep ? "req/s" : "tok/s");
			j++;
		}
		snprintf(title, sizeof(title), "\n%s by %s",
			 ep ? "Requests per second" : "Output tokens per second (all streams)",
			 flags & BENCH_VIEW_RATE ? "rate (req/s)" : "concurrency");
		chart_bars(out, title, labels, a, NULL, texts, m, width, !ascii);
	}
	free(labels);
	free(texts);
	free(a);
	free(b);
	free(lab);
	free(txt);
}

void bench_progress_step(FILE *out, int step_no, int nsteps, const struct bench_progress *p)
{
	char d[32], tot[48];
	if (p->total)
		snprintf(tot, sizeof(tot), "%" PRIu64 "/%" PRIu64, p->done, p->total);
	else
		snprintf(tot, sizeof(tot), "%" PRIu64 " done, %.1f/%.1fs", p->done,
			 p->elapsed_ns / 1e9, p->duration_ns / 1e9);
	progress_line(out, 1, "bench: step %d/%d at %g: %s, %zu in flight, p95 %s, %" PRIu64
		      " errors, %" PRIu64 " shed", step_no, nsteps, p->level, tot, p->in_flight,
		      units_fmt_duration(p->p95_ns, d, sizeof(d)), p->errors, p->shed);
}

void bench_progress_warmup(FILE *out, long requests)
{
	progress_line(out, 1, "bench: warming up (%ld requests)", requests);
}
