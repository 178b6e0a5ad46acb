/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sim's emission truth: gaps between token-carrying chunks and server TTFT, per instance. */
#include "../compat.h"
#include "sim-internal.h"

#include <stdlib.h>
#include <string.h>

#include "../stats/hist.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "../banned.h"

static struct simemit *emit_new(void)
{
	struct simemit *em = xcalloc(1, sizeof(*em));
	hist_init(&em->gaps);
	hist_init(&em->ttft);
	return em;
}

/*
 * Called from the stream reader (sim.c) with the clock it read before producing the lines it
 * is about to return to libmicrohttpd: no clock read of its own, one histogram update. The
 * first token-carrying chunk of a request gives its TTFT, every later one a gap.
 */
void simemit_record(struct simreq *r, int64_t now)
{
	struct siminst *in = r->in;
	if (!in->emit)
		in->emit = emit_new();
	struct simemit *em = in->emit;
	if (r->em_chunks++ == 0) {
		em->streams++;
		hist_record(&em->ttft, now - r->t_body);
	} else {
		hist_record(&em->gaps, now - r->t_emit);
	}
	em->chunks++;
	em->tokens += (uint64_t)r->em_tokens;
	r->em_tokens = 0;
	r->em_carry = 0;
	r->t_emit = now;
}

static void hist_json(struct buf *b, const char *name, const struct hist *h)
{
	static const double ps[] = { 50, 90, 99 };
	int64_t v[3] = { 0, 0, 0 };
	uint64_t n = h ? hist_count(h) : 0;
	int64_t max = 0, mean = 0;
	if (n) {
		hist_percentiles(h, ps, 3, v);
		max = hist_max(h);
		mean = (int64_t)(hist_mean(h) + 0.5);
	}
	buf_addf(b,
		 "\"%s\":{\"count\":%" PRIu64 ",\"p50_ns\":%" PRId64 ",\"p90_ns\":%" PRId64
		 ",\"p99_ns\":%" PRId64 ",\"max_ns\":%" PRId64 ",\"mean_ns\":%" PRId64 "}",
		 name, n, v[0], v[1], v[2], max, mean);
}

void simemit_json(struct buf *b, const struct simemit *em)
{
	buf_addf(b, "{\"streams\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"tokens\":%" PRIu64 ",",
		 em ? em->streams : 0, em ? em->chunks : 0, em ? em->tokens : 0);
	hist_json(b, "gaps", em ? &em->gaps : NULL);
	buf_adds(b, ",");
	hist_json(b, "ttft", em ? &em->ttft : NULL);
	buf_adds(b, "}");
}

void simemit_json_all(struct buf *b, struct sim *sim)
{
	struct simemit *all = NULL;
	for (size_t i = 0; i < sim->ninst; i++) {
		const struct simemit *em = sim->inst[i].emit;
		if (!em || !em->chunks)
			continue;
		if (!all)
			all = emit_new();
		all->streams += em->streams;
		all->chunks += em->chunks;
		all->tokens += em->tokens;
		if (hist_count(&em->gaps))
			hist_merge(&all->gaps, &em->gaps);
		if (hist_count(&em->ttft))
			hist_merge(&all->ttft, &em->ttft);
	}
	simemit_json(b, all);
	free(all);
}

void simemit_reset(struct siminst *in)
{
	struct simemit *em = in->emit;
	if (!em)
		return;
	em->streams = em->chunks = em->tokens = 0;
	hist_init(&em->gaps);
	hist_init(&em->ttft);
}
