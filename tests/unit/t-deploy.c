/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/deploy: the planner and verify (desired vs actual -> actions), the
 * --plan exit code, and the stored document's writer and reader. */
#include "../../lib/compat.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/deploy/deploy.h"
#include "../../lib/fleet/fleet.h"
#include "../../lib/util/buf.h"
#include "../../lib/util/util.h"

#define DA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void fleet_from(struct fleet *f, const char *text)
{
	char err[ERR_MAX];
	int rc = fleet_parse_string(f, text, "t.conf", err);
	if (rc)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(rc, 0);
}

/* One actual per instance: "name@digest" installed, "+name@ctx" loaded. */
static void actual(struct deploy_actual *a, int reachable, const char *const *items)
{
	memset(a, 0, sizeof(*a));
	a->reachable = reachable;
	if (!reachable)
		snprintf(a->err, sizeof(a->err), "connection refused");
	snprintf(a->version, sizeof(a->version), "0.33.0");
	a->models = xcalloc(8, sizeof(*a->models));
	a->loaded = xcalloc(8, sizeof(*a->loaded));
	for (size_t i = 0; items && items[i]; i++) {
		const char *s = items[i];
		int loaded = *s == '+';
		s += loaded;
		const char *at = strchr(s, '@');
		struct deploy_have *h = loaded ? &a->loaded[a->nloaded++] : &a->models[a->nmodels++];
		h->name = xstrndup(s, (size_t)(at - s));
		if (loaded) {
			h->digest = xstrdup("");
			h->context_length = atoi(at + 1);
		} else {
			h->digest = xstrdup(at + 1);
			h->size = 1000;
		}
	}
}

static const struct deploy_action *find(const struct deploy_plan *p, enum deploy_kind k,
					size_t inst, const char *model)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->a[i].kind == k && p->a[i].inst == inst && !strcmp(p->a[i].model, model))
			return &p->a[i];
	return NULL;
}

static const char *const two =
	"[instance gpu-1]\nurl = http://h1:1\ngroup = g\n"
	"[instance gpu-2]\nurl = http://h2:1\ngroup = g\n"
	"[instance cpu-1]\nurl = http://h3:1\ngroup = c\n"
	"[model llama3.2]\nnum_ctx = 8192\nkeep_alive = 24h\ngroups = g\n"
	"[model qwen2.5:0.5b]\n";

static void test_fresh_fleet(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	fleet_from(&f, two);
	struct deploy_actual act[3];
	const char *const none[] = { NULL };
	const char *const q[] = { "qwen2.5:0.5b@" DA, NULL };
	actual(&act[0], 1, none);
	actual(&act[1], 1, none);
	actual(&act[2], 1, q);
	struct deploy_opts o = { 0 };
	struct deploy_plan p;
	char err[ERR_MAX];
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	/* llama on the g instances, qwen everywhere but where it is */
	assert_non_null(find(&p, DEPLOY_PULL, 0, "llama3.2:latest"));
	assert_non_null(find(&p, DEPLOY_PULL, 1, "llama3.2:latest"));
	assert_null(find(&p, DEPLOY_PULL, 2, "llama3.2:latest"));
	const struct deploy_action *a = find(&p, DEPLOY_PULL, 0, "qwen2.5:0.5b");
	assert_non_null(a);
	assert_int_equal(a->size, 1000); /* known from cpu-1 */
	assert_string_equal(a->want_digest, DA);
	assert_null(find(&p, DEPLOY_PULL, 2, "qwen2.5:0.5b"));
	a = find(&p, DEPLOY_PRELOAD, 0, "llama3.2:latest");
	assert_non_null(a);
	assert_int_equal(a->num_ctx, 8192);
	assert_true(a->has_keep_alive);
	assert_non_null(find(&p, DEPLOY_PRELOAD, 2, "qwen2.5:0.5b"));
	assert_int_equal(p.count[DEPLOY_PULL], 4);
	assert_int_equal(p.count[DEPLOY_PRELOAD], 5);
	assert_int_equal(p.count[DEPLOY_REMOVE], 0);
	assert_int_equal(deploy_plan_exit(&p), 1);
	deploy_plan_release(&p);
	for (int i = 0; i < 3; i++)
		deploy_actual_release(&act[i]);
	fleet_release(&f);
}

static void test_digests(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	fleet_from(&f, two);
	struct deploy_actual act[3];
	/* majority: two hold DA, one DB -> update there only */
	const char *const a1[] = { "llama3.2:latest@" DA, "qwen2.5:0.5b@" DA, "+llama3.2:latest@8192",
				   "+qwen2.5:0.5b@4096", NULL };
	const char *const a2[] = { "llama3.2:latest@" DB, "qwen2.5:0.5b@" DA, "+llama3.2:latest@8192",
				   "+qwen2.5:0.5b@4096", NULL };
	const char *const a3[] = { "qwen2.5:0.5b@" DB, "+qwen2.5:0.5b@4096", NULL };
	actual(&act[0], 1, a1);
	actual(&act[1], 1, a2);
	actual(&act[2], 1, a3);
	struct deploy_opts o = { 0 };
	struct deploy_plan p;
	char err[ERR_MAX];
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	/* llama: 1 DA vs 1 DB on the g pair, cpu-1 not in g: a tie, both re-pulled */
	assert_non_null(find(&p, DEPLOY_UPDATE, 0, "llama3.2:latest"));
	assert_non_null(find(&p, DEPLOY_UPDATE, 1, "llama3.2:latest"));
	assert_string_equal(find(&p, DEPLOY_UPDATE, 1, "llama3.2:latest")->want_digest, "");
	/* qwen: DA twice, DB once -> cpu-1 updates to DA */
	const struct deploy_action *a = find(&p, DEPLOY_UPDATE, 2, "qwen2.5:0.5b");
	assert_non_null(a);
	assert_string_equal(a->have_digest, DB);
	assert_string_equal(a->want_digest, DA);
	assert_null(find(&p, DEPLOY_UPDATE, 0, "qwen2.5:0.5b"));
	/* resident models that get updated are loaded again; the rest stays */
	assert_non_null(find(&p, DEPLOY_PRELOAD, 2, "qwen2.5:0.5b"));
	assert_null(find(&p, DEPLOY_PRELOAD, 0, "qwen2.5:0.5b"));
	deploy_plan_release(&p);

	/* verify: the tie and the minority differ; an instance where all agree matches */
	deploy_plan_make(&f, act, &o, &p, err);
	deploy_verify(&f, act, &p);
	assert_false(p.inst[0].matched);
	assert_non_null(strstr(p.inst[0].verify, "disagree"));
	assert_false(p.inst[2].matched);
	assert_non_null(strstr(p.inst[2].verify, "qwen2.5:0.5b has digest bbbbbbbbbbbb"));
	deploy_plan_release(&p);
	for (int i = 0; i < 3; i++)
		deploy_actual_release(&act[i]);
	fleet_release(&f);

	/* a pin overrides the majority */
	fleet_from(&f, "[instance a]\nurl = http://h1:1\n[instance b]\nurl = http://h2:1\n"
		       "[model m]\ndigest = sha256:" DB "\n");
	const char *const x[] = { "m:latest@" DA, "+m:latest@0", NULL };
	actual(&act[0], 1, x);
	actual(&act[1], 1, x);
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	assert_int_equal(p.count[DEPLOY_UPDATE], 2);
	assert_string_equal(p.a[0].want_digest, DB);
	assert_non_null(strstr(p.a[0].note, "pin"));
	deploy_verify(&f, act, &p);
	assert_int_equal(p.matched, 0);
	assert_non_null(strstr(p.inst[1].verify, "the pin is bbbbbbbbbbbb"));
	deploy_plan_release(&p);
	deploy_actual_release(&act[0]);
	deploy_actual_release(&act[1]);
	fleet_release(&f);
}

static void test_shared_prune_only(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	fleet_from(&f, "[fleet]\nshared_store = true\n"
		       "[instance a]\nurl = http://h1:1\ngroup = g\n"
		       "[instance b]\nurl = http://h2:1\ngroup = g\n"
		       "[instance c]\nurl = http://h3:1\ngroup = h\n"
		       "[model m]\ngroups = g\n[model n]\ngroups = h\n");
	struct deploy_actual act[3];
	const char *const old[] = { "old:latest@" DA, NULL };
	const char *const none[] = { NULL };
	actual(&act[0], 1, old);
	actual(&act[1], 1, old);
	actual(&act[2], 0, none);
	struct deploy_opts o = { 0 };
	struct deploy_plan p;
	char err[ERR_MAX];
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	assert_non_null(find(&p, DEPLOY_PULL, 0, "m:latest"));
	const struct deploy_action *s = find(&p, DEPLOY_SHARED, 1, "m:latest");
	assert_non_null(s);
	assert_non_null(strstr(s->note, "pulled by a"));
	assert_int_equal(p.count[DEPLOY_REMOVE], 0);
	assert_int_equal(p.unreachable, 1);
	assert_int_equal(deploy_plan_exit(&p), 2);
	deploy_plan_release(&p);

	/* prune: the shared store removes once; --only limits to an instance */
	o.prune = 1;
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	assert_int_equal(p.count[DEPLOY_REMOVE], 1);
	assert_non_null(find(&p, DEPLOY_REMOVE, 0, "old:latest"));
	deploy_plan_release(&p);
	const char *only[] = { "b" };
	o.only = only;
	o.nonly = 1;
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.a[i].inst, 1);
	assert_int_equal(p.unreachable, 0);
	assert_int_equal(p.nselected, 1);
	deploy_plan_release(&p);
	struct fleet empty = FLEET_INIT;
	fleet_from(&empty, "[instance a]\nurl = http://h1:1\n");
	struct deploy_opts po = { .prune = 1 };
	assert_int_equal(deploy_plan_make(&empty, act, &po, &p, err), -1);
	assert_non_null(strstr(err, "would remove every model"));
	fleet_release(&empty);
	only[0] = "nosuch";
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), -1);
	assert_non_null(strstr(err, "'nosuch'"));
	/* a group selects its instances, a model name its actions */
	only[0] = "n";
	o.prune = 0;
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	assert_int_equal(p.n, 0); /* n is only on c, which is down */
	assert_int_equal(p.unreachable, 1);
	deploy_plan_release(&p);
	for (int i = 0; i < 3; i++)
		deploy_actual_release(&act[i]);
	fleet_release(&f);
}

static void test_nothing_and_lints(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	fleet_from(&f, "[instance a]\nurl = http://h1:1\nmax_loaded = 1\ngroup = g\n"
		       "[instance b]\nurl = http://h1:1\ngroup = z\n"
		       "[model m]\nkeep_alive = -1\nnum_ctx = 4096\ngroups = g\n"
		       "[model n]\nkeep_alive = -1\ngroups = g\n");
	struct deploy_actual act[2];
	const char *const ok[] = { "m:latest@" DA, "n:latest@" DA, "+m:latest@4096", "+n:latest@2048",
				   NULL };
	const char *const none[] = { NULL };
	actual(&act[0], 1, ok);
	actual(&act[1], 1, none);
	struct deploy_opts o = { 0 };
	struct deploy_plan p;
	char err[ERR_MAX];
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(deploy_plan_exit(&p), 0);
	assert_int_equal(p.nlints, 3);
	assert_non_null(strstr(p.lints[0], "same address"));
	assert_non_null(strstr(p.lints[1], "max_loaded is 1"));
	assert_non_null(strstr(p.lints[2], "'b' is in no model's groups"));
	deploy_verify(&f, act, &p);
	assert_true(p.inst[0].matched);
	assert_true(p.inst[1].matched); /* holds nothing, should hold nothing */
	assert_int_equal(p.matched, 2);

	/* the document round-trips through its one writer and one reader */
	struct buf b = BUF_INIT;
	deploy_plan_json(&b, &p);
	struct deploy_plan q;
	assert_int_equal(deploy_plan_parse(buf_str(&b), &q, err), 0);
	assert_int_equal(q.ninst, 2);
	assert_int_equal(q.nlints, 3);
	assert_int_equal(q.matched, 2);
	assert_true(q.inst[0].verified && q.inst[0].matched);
	struct buf b2 = BUF_INIT;
	deploy_plan_json(&b2, &q);
	assert_string_equal(buf_str(&b), buf_str(&b2));
	deploy_plan_release(&q);
	assert_int_equal(deploy_plan_parse("[1]", &q, err), -1);
	buf_release(&b);
	buf_release(&b2);
	deploy_plan_release(&p);
	deploy_actual_release(&act[0]);
	deploy_actual_release(&act[1]);
	fleet_release(&f);
}

static void test_roundtrip_actions(void **state)
{
	(void)state;
	struct fleet f = FLEET_INIT;
	fleet_from(&f, two);
	struct deploy_actual act[3];
	const char *const none[] = { NULL };
	for (int i = 0; i < 3; i++)
		actual(&act[i], 1, none);
	struct deploy_opts o = { 0 };
	struct deploy_plan p;
	char err[ERR_MAX];
	assert_int_equal(deploy_plan_make(&f, act, &o, &p, err), 0);
	p.applied = 1;
	p.a[0].state = DEPLOY_FAILED;
	p.a[0].attempts = 3;
	snprintf(p.a[0].err, sizeof(p.a[0].err), "max retries exceeded: \"x\"");
	p.a[0].resumed_from = 12345;
	struct buf b = BUF_INIT;
	deploy_plan_json(&b, &p);
	struct deploy_plan q;
	assert_int_equal(deploy_plan_parse(buf_str(&b), &q, err), 0);
	assert_int_equal(q.n, p.n);
	assert_int_equal(q.a[0].state, DEPLOY_FAILED);
	assert_int_equal(q.a[0].attempts, 3);
	assert_int_equal(q.a[0].resumed_from, 12345);
	assert_string_equal(q.a[0].err, "max retries exceeded: \"x\"");
	assert_string_equal(q.inst[q.a[0].inst].name, p.inst[p.a[0].inst].name);
	const struct deploy_action *pre = NULL;
	for (size_t i = 0; i < q.n && !pre; i++)
		if (q.a[i].kind == DEPLOY_PRELOAD)
			pre = &q.a[i];
	assert_non_null(pre);
	assert_true(pre->has_keep_alive);
	assert_int_equal(pre->keep_alive_ns, 24LL * 3600 * 1000000000LL);
	struct buf c = BUF_INIT;
	deploy_actions_csv(&c, &q);
	assert_non_null(strstr(buf_str(&c), "\"max retries exceeded: \"\"x\"\"\""));
	buf_release(&b);
	buf_release(&c);
	deploy_plan_release(&p);
	deploy_plan_release(&q);
	for (int i = 0; i < 3; i++)
		deploy_actual_release(&act[i]);
	fleet_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_fleet),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_shared_prune_only),
		cmocka_unit_test(test_nothing_and_lints),
		cmocka_unit_test(test_roundtrip_actions),
	};
	return cmocka_run_group_tests_name("deploy", tests, NULL, NULL);
}
