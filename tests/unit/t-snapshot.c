/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/fleet/snapshot.c: folding probes, states, stale data, ring, sort, filter. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/fleet/fleet.h"
#include "../../lib/fleet/probe.h"
#include "../../lib/fleet/snapshot.h"
#include "../../lib/util/buf.h"
#include "../../lib/util/util.h"
#include "../../lib/banned.h"

#define S 1000000000LL
#define NOW (1795000000LL * S)

static const char fleet_text[] =
	"[fleet]\nname = u\n"
	"[instance alpha]\nurl = http://127.0.0.1:1\ngroup = gpu\n"
	"[instance bravo]\nurl = http://127.0.0.1:2\ngroup = gpu\n"
	"[instance charlie]\nurl = http://127.0.0.1:3\ngroup = cpu\n"
	"metrics_url = http://127.0.0.1:9/metrics\n"
	"[model llama3.2]\nnum_ctx = 4096\n";

/* A probe result for the fleet: up[i], latency[i] ms, resident[i] with context ctx[i]. */
static void make_result(struct probe_result *r, const struct fleet *f, const int *up,
			const int *lat_ms, const int *resident, const int *ctx)
{
	memset(r, 0, sizeof(*r));
	r->level = 2;
	r->n = f->ninstances;
	r->inst = xcalloc(r->n, sizeof(*r->inst));
	for (size_t i = 0; i < r->n; i++) {
		struct probe_instance *pi = &r->inst[i];
		pi->in = &f->instances[i];
		pi->up = up[i];
		if (!up[i]) {
			snprintf(pi->errmsg, sizeof(pi->errmsg), "HEAD /: connection refused");
			continue;
		}
		snprintf(pi->version, sizeof(pi->version), "0.33.0");
		pi->latency_ns = pi->root_ns = (int64_t)lat_ms[i] * 1000000;
		pi->tags_ok = pi->ps_ok = 1;
		pi->models = xcalloc(1, sizeof(*pi->models));
		pi->nmodels = 1;
		struct probe_model *m = &pi->models[0];
		m->name = xstrdup("llama3.2:latest");
		m->required = 1;
		m->installed = 1;
		m->want_ctx = 4096;
		m->resident = resident[i];
		if (resident[i]) {
			m->size = 4000000000ULL;
			m->size_vram = 3000000000ULL;
			m->context_length = ctx[i];
			m->expires_at = INT64_MAX;
		}
	}
}

static void apply(struct snapshot *s, const struct fleet *f, const int *up, const int *lat,
		  const int *res, const int *ctx, int64_t now)
{
	struct probe_result r;
	make_result(&r, f, up, lat, res, ctx);
	snapshot_apply(s, &r, now);
	probe_result_release(&r);
}

static void test_states(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	char err[ERR_MAX];
	assert_int_equal(fleet_parse_string(&f, fleet_text, "t.conf", err), 0);
	struct snapshot s;
	struct snapshot_opts o = { 2, 0, 0 };
	snapshot_init(&s, &f, &o);
	assert_int_equal(s.n, 3);
	assert_true(s.any_metrics);
	assert_int_equal(s.inst[0].state, SNAP_UNKNOWN);
	assert_int_equal(s.inst[0].nrequired, 1);

	int up[] = { 1, 1, 1 }, lat[] = { 2, 1500, 3 }, res[] = { 1, 1, 0 },
	    ctx[] = { 4096, 4096, 0 };
	apply(&s, &f, up, lat, res, ctx, NOW);
	assert_int_equal(s.inst[0].state, SNAP_UP);
	assert_int_equal(s.inst[1].state, SNAP_SLOW);      /* 1.5 s > 1 s */
	assert_int_equal(s.inst[2].state, SNAP_DEGRADED);  /* not resident */
	assert_int_equal(s.inst[2].nmissing, 1);
	assert_int_equal(s.up, 3);
	assert_int_equal(s.resident, 2);
	assert_int_equal(s.expected, 3);
	assert_true(s.vram == 6000000000ULL);
	assert_true(s.inst[0].ram == 1000000000ULL);
	assert_true(s.inst[0].since_ns == NOW);

	/* a resident model with the wrong context is DEGRADED too */
	int ctx2[] = { 8192, 4096, 0 };
	apply(&s, &f, up, lat, res, ctx2, NOW + S);
	assert_int_equal(s.inst[0].state, SNAP_DEGRADED);
	assert_true(s.inst[0].since_ns == NOW + S);
	assert_true(s.inst[1].since_ns == NOW); /* still SLOW: since unchanged */

	/* bravo goes down: DOWN, stale with the old models, latency -1 in the ring */
	int up3[] = { 1, 0, 1 };
	apply(&s, &f, up3, lat, res, ctx, NOW + 5 * S);
	const struct snapshot_inst *b = &s.inst[1];
	assert_int_equal(b->state, SNAP_DOWN);
	assert_true(b->stale);
	assert_true(b->last_ok_ns == NOW + S);
	assert_int_equal(b->nresident, 1);       /* kept from the last good poll */
	assert_true(b->latency_ns == -1);
	assert_int_equal(b->hist.n, 3);
	assert_true(snapshot_ring_get(&b->hist, 2) == -1);
	assert_true(snapshot_ring_get(&b->hist, 0) == 1500 * 1000000LL);
	assert_non_null(strstr(b->problem, "refused"));
	assert_int_equal(s.up, 2);
	assert_int_equal(s.resident, 1);         /* a stale instance's models do not count */
	assert_true(s.vram == 3000000000ULL);

	/* JSON mentions the stale age and the states */
	struct buf j = BUF_INIT;
	snapshot_to_json(&s, &j);
	assert_non_null(strstr(buf_str(&j), "\"name\":\"bravo\""));
	assert_non_null(strstr(buf_str(&j), "\"state\":\"DOWN\",\"since\""));
	assert_non_null(strstr(buf_str(&j), "\"stale\":true,\"stale_seconds\":4.0"));
	assert_non_null(strstr(buf_str(&j), "\"missing\":[],\"unloaded\":[\"llama3.2:latest\"]"));
	assert_non_null(strstr(buf_str(&j), "\"gpu\":null"));
	buf_release(&j);

	/* never polled successfully and down: not stale */
	struct snapshot s2;
	snapshot_init(&s2, &f, &o);
	int down[] = { 0, 0, 0 };
	apply(&s2, &f, down, lat, res, ctx, NOW);
	assert_int_equal(s2.inst[0].state, SNAP_DOWN);
	assert_false(s2.inst[0].stale);
	assert_int_equal(s2.expected, 3);
	snapshot_release(&s2);

	snapshot_release(&s);
	fleet_release(&f);
}

static void test_ring(void **state)
{
	(void)state;
	struct snapshot_ring r;
	memset(&r, 0, sizeof(r));
	assert_true(snapshot_ring_get(&r, 0) == -1);
	for (int i = 0; i < SNAPSHOT_HIST + 5; i++)
		snapshot_ring_push(&r, i);
	assert_int_equal(r.n, SNAPSHOT_HIST);
	assert_true(snapshot_ring_get(&r, 0) == 5);
	assert_true(snapshot_ring_get(&r, SNAPSHOT_HIST - 1) == SNAPSHOT_HIST + 4);
	assert_true(snapshot_ring_get(&r, SNAPSHOT_HIST) == -1);
}

static void test_order_filter(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	char err[ERR_MAX];
	assert_int_equal(fleet_parse_string(&f, fleet_text, "t.conf", err), 0);
	struct snapshot s;
	snapshot_init(&s, &f, NULL);
	int up[] = { 1, 0, 1 }, lat[] = { 30, 0, 5 }, res[] = { 1, 0, 0 }, ctx[] = { 4096, 0, 0 };
	apply(&s, &f, up, lat, res, ctx, NOW);
	size_t idx[3];
	/* by name */
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "", idx), 3);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[2], 2);
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 1, NULL, idx), 3);
	assert_int_equal(idx[0], 2);
	/* by state, worst first when descending: bravo DOWN, charlie DEGRADED, alpha UP */
	assert_int_equal(snapshot_order(&s, SNAP_KEY_STATE, 1, "", idx), 3);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 0);
	/* by latency ascending: charlie 5ms, alpha 30ms, bravo (down) last */
	snapshot_order(&s, SNAP_KEY_LATENCY, 0, "", idx);
	assert_int_equal(idx[0], 2);
	assert_int_equal(idx[1], 0);
	assert_int_equal(idx[2], 1);
	/* filters: name, group, state, model, inverted, case-insensitive */
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "alp", idx), 1);
	assert_int_equal(idx[0], 0);
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "GPU", idx), 2);
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "down", idx), 1);
	assert_int_equal(idx[0], 1);
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "llama", idx), 2);
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "!gpu", idx), 1);
	assert_int_equal(idx[0], 2);
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "!", idx), 3);
	assert_int_equal(snapshot_order(&s, SNAP_KEY_NAME, 0, "nomatch", idx), 0);
	/* names sort naturally: gpu-2 before gpu-10 */
	struct fleet f2 = FLEET_INIT;
	assert_int_equal(fleet_parse_string(&f2, "[instance gpu-10]\nurl = http://h:1\n"
						 "[instance gpu-2]\nurl = http://h:2\n"
						 "[instance gpu-1]\nurl = http://h:3\n",
					    "n.conf", err), 0);
	struct snapshot s2;
	snapshot_init(&s2, &f2, NULL);
	size_t idx2[3];
	assert_int_equal(snapshot_order(&s2, SNAP_KEY_NAME, 0, "", idx2), 3);
	assert_string_equal(s2.inst[idx2[0]].in->name, "gpu-1");
	assert_string_equal(s2.inst[idx2[1]].in->name, "gpu-2");
	assert_string_equal(s2.inst[idx2[2]].in->name, "gpu-10");
	snapshot_release(&s2);
	fleet_release(&f2);
	assert_string_equal(snapshot_state_name(SNAP_DEGRADED), "DEGRADED");
	assert_string_equal(snapshot_state_name(SNAP_UNKNOWN), "?");
	assert_string_equal(snapshot_key_name(SNAP_KEY_LATENCY), "latency");
	snapshot_release(&s);
	fleet_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),       cmocka_unit_test(test_ring),
		cmocka_unit_test(test_order_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
