/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/bench/result.c: step and run summary structs, their JSON and back. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/bench/bench.h"
#include "../../lib/bench/report.h"
#include "../../lib/bench/result.h"
#include "../../lib/bench/run.h"
#include "../../lib/stats/hist.h"
#include "../../lib/store/store.h"
#include "../../lib/util/buf.h"
#include "../../lib/util/util.h"

#define MS INT64_C(1000000)

/* Documents as obridge 0.1.0 stored them (a rate step with raw latency; the summary of a
 * closed sweep with its knee). Rows in users' stores look like these. */
static const char old_step[] =
	"{\"index\":0,\"label\":\"rate=5\",\"x\":5,\"instance\":null,\"partial\":false,\"summ"
	"ary\":{\"schema\":1,\"concurrency\":0,\"offered_rate\":5,\"duration_ns\":805556340,\""
	"requests\":{\"ok\":11,\"failed\":0,\"success_ratio\":1,\"failed_by\":{\"shed\":0,\"h"
	"ttp\":0,\"transport\":0,\"timeout\":0,\"truncated\":0,\"stall\":0}},\"tokens\":{\"ou"
	"tput\":110,\"prompt\":297},\"throughput\":{\"req_per_s\":13.655,\"output_tok_per_s\""
	":136.552,\"users\":0.882,\"output_tok_per_s_per_user\":154.757,\"decode_tok_per_s\":"
	"250.991},\"ttft\":{\"count\":11,\"mean_ns\":24600633,\"stddev_ns\":1090776,\"min_ns\""
	":24033514,\"p50_ns\":24051711,\"p90_ns\":26542079,\"p95_ns\":27197439,\"p99_ns\":271"
	"97439,\"p99_9_ns\":27197439,\"max_ns\":27210359},\"itl\":{\"count\":99,\"mean_ns\":3"
	"984211,\"stddev_ns\":1010490,\"min_ns\":0,\"p50_ns\":3989503,\"p90_ns\":4104191,\"p9"
	"5_ns\":4931583,\"p99_ns\":10452991,\"p99_9_ns\":10452991,\"max_ns\":10482619},\"tpot"
	"\":{\"count\":11,\"mean_ns\":3984211,\"stddev_ns\":16516,\"min_ns\":3935294,\"p50_ns"
	"\":3989503,\"p90_ns\":3989503,\"p95_ns\":3989503,\"p99_ns\":3989503,\"p99_9_ns\":398"
	"9503,\"max_ns\":3997572},\"e2e\":{\"count\":11,\"mean_ns\":64617295,\"stddev_ns\":10"
	"62147,\"min_ns\":63979125,\"p50_ns\":64094207,\"p90_ns\":66191359,\"p95_ns\":6737100"
	"7,\"p99_ns\":67371007,\"p99_9_ns\":67371007,\"max_ns\":67373760}},\"errors\":{\"refu"
	"sed\":0,\"connect\":0,\"timeout\":0,\"http\":0,\"shed\":0,\"stream\":0,\"truncated\""
	":0,\"malformed\":0,\"stall\":0,\"other\":0},\"error_messages\":{},\"cold\":{\"count\""
	":0,\"ttft\":null},\"server\":{\"load\":{\"count\":11,\"mean_ns\":26441,\"p50_ns\":26"
	"687,\"p90_ns\":29887,\"p95_ns\":32671,\"p99_ns\":32671,\"max_ns\":32671},\"prompt_ev"
	"al\":{\"count\":11,\"mean_ns\":23776205,\"p50_ns\":23678913,\"p90_ns\":23920639,\"p9"
	"5_ns\":24182783,\"p99_ns\":24182783,\"max_ns\":24191591},\"eval\":{\"count\":11,\"me"
	"an_ns\":39851370,\"p50_ns\":39976959,\"p90_ns\":39976959,\"p95_ns\":39976959,\"p99_n"
	"s\":39976959,\"max_ns\":40058565},\"queue\":{\"count\":11,\"mean_ns\":427,\"p50_ns\""
	":410,\"p90_ns\":529,\"p95_ns\":681,\"p99_ns\":681,\"max_ns\":681},\"ttft\":{\"count\""
	":11,\"mean_ns\":23803073,\"p50_ns\":23789567,\"p90_ns\":23920639,\"p95_ns\":24182783"
	",\"p99_ns\":24182783,\"max_ns\":24219323}},\"raw\":{\"ttft\":{\"count\":11,\"mean_ns"
	"\":24596290,\"p50_ns\":24051711,\"p90_ns\":26542079,\"p95_ns\":27197439,\"p99_ns\":2"
	"7197439,\"max_ns\":27209056},\"e2e\":{\"count\":11,\"mean_ns\":64612952,\"p50_ns\":6"
	"4094207,\"p90_ns\":66191359,\"p95_ns\":67371007,\"p99_ns\":67371007,\"max_ns\":67372"
	"457}},\"client\":{\"cpu_pct\":2.3,\"loop_lag_p99_ns\":3493220,\"loop_lag_max_ns\":34"
	"93220,\"send_lag_p50_ns\":1227,\"send_lag_p99_ns\":34943,\"send_lag_max_ns\":34945,\""
	"chunks\":121,\"chunks_per_cpu_s\":6446,\"bytes\":17044,\"delayed\":0,\"limited\":fal"
	"se,\"reason\":\"\"},\"max_gap_ns\":10482619}";

static const char old_summary[] =
	"{\"ttft_p95_ns\":26542079,\"tok_s\":625.338,\"req_s\":62.534,\"errors\":0,\"shed\":0"
	",\"ok\":147,\"steps\":4,\"knee\":{\"reason\":\"saturated\",\"metric\":\"ttft\",\"x\""
	":4,\"next_x\":8,\"gain\":0.0095,\"p95_ratio\":3.348,\"slo_ns\":0,\"sentence\":\"up t"
	"o 4 concurrent streams keep TTFT p95 ≤ 26.5 ms; at 8 throughput +1%, p95 ×3.3 —"
	" saturated\",\"slots\":4,\"service_ns\":63555495,\"slots_sentence\":\"TTFT rises by "
	"~63.6 ms every 4 concurrent streams: about 4 parallel slots (OLLAMA_NUM_PARALLEL)\","
	"\"imbalance\":null},\"stopped\":null,\"interrupted\":false}";

/* A run summary from before "ttft_p95_ns" could be null: 0 with nothing ok. */
static const char old_zero_summary[] =
	"{\"ttft_p95_ns\":0,\"tok_s\":0.000,\"req_s\":0.000,\"errors\":3,\"shed\":0,\"ok\":0,"
	"\"steps\":1,\"knee\":null,\"stopped\":null,\"interrupted\":false}";

static struct bench_acc *sample_acc(int open)
{
	struct bench_acc *a = bench_acc_new();
	a->t_start = 1000;
	a->t_end = 1000 + 3 * INT64_C(1000000000);
	a->ok = 7;
	a->err[BENCH_E_SHED] = 2;
	a->err[BENCH_E_STALL] = 1;
	snprintf(a->msg[BENCH_E_STALL], sizeof(a->msg[0]), "a gap of \"2s\"");
	a->output_tokens = 71;
	a->prompt_tokens = 33;
	a->cold = 1;
	a->cpu_s = 0.123;
	a->chunks = 80;
	a->bytes = 9000;
	a->max_gap_ns = 2000 * MS;
	for (int i = 0; i < 7; i++) {
		hist_record(&a->h[BH_TTFT], (20 + 3 * i) * MS + i);
		hist_record(&a->h[BH_E2E], (100 + 7 * i) * MS);
		hist_record(&a->h[BH_TPOT], 5 * MS + i * 1000);
		hist_record_n(&a->h[BH_ITL], 5 * MS, 9);
		hist_record(&a->h[BH_QUEUE], i * MS);
		hist_record(&a->h[BH_LOOP_LAG], 100000 + i);
		if (open) {
			hist_record(&a->h[BH_TTFT_RAW], (19 + 3 * i) * MS);
			hist_record(&a->h[BH_E2E_RAW], (99 + 7 * i) * MS);
		}
	}
	hist_record(&a->h[BH_COLD_TTFT], 1500 * MS);
	/* lag: 3 ms in reads and 1 ms waking, of probes over 1 ms; 1 ms more in timers */
	a->lag_ns[BENCH_LAG_READS] = 3 * MS;
	a->late_lag_ns[BENCH_LAG_READS] = 3 * MS;
	a->lag_ns[BENCH_LAG_WAKE] = 1 * MS;
	a->late_lag_ns[BENCH_LAG_WAKE] = 1 * MS;
	a->lag_ns[BENCH_LAG_TIMERS] = 1 * MS;
	a->gaps = 63;
	a->coalesced = 9;
	a->conns = 2;
	hist_record(&a->h[BH_CONNECT], 300000);
	hist_record(&a->h[BH_CONNECT], 500000);
	if (!open) {
		hist_record(&a->h[BH_FIRST_TTFT], 40 * MS);
		hist_record(&a->h[BH_LATER_TTFT], 20 * MS);
	}
	return a;
}

/* compute -> JSON -> parse -> JSON gives the same text, and the same row as the struct. */
static void test_step_roundtrip(void **state)
{
	(void)state;
	for (int open = 0; open < 2; open++) {
		struct bench_acc *a = sample_acc(open);
		struct bench_step_info si = { 2, open ? 2.5 : 4, open ? BENCH_OPEN : BENCH_CLOSED,
					      0, open ? NULL : "gpu-2", 1, 1 };
		struct bench_step st, back;
		char err[ERR_MAX];
		struct buf j1 = BUF_INIT, j2 = BUF_INIT;
		assert_int_equal(bench_step_compute(a, &si, &st, err), 0);
		assert_string_equal(st.label, open ? "rate=2.5" : "c=4 gpu-2");
		assert_int_equal(bench_step_to_json(&st, &j1), 0);
		assert_int_equal(bench_step_parse(buf_str(&j1), &back, err), 0);
		assert_int_equal(bench_step_to_json(&back, &j2), 0);
		assert_string_equal(buf_str(&j1), buf_str(&j2));
		assert_int_equal(back.has_raw, open);
		assert_string_equal(back.msg[BENCH_E_STALL], "a gap of \"2s\"");
		struct bench_row r1, r2;
		bench_row_from_step(&st, &r1);
		bench_row_from_step(&back, &r2);
		assert_true(r1.req_s == r2.req_s && r1.tok_s == r2.tok_s &&
			    r1.tok_s_user == r2.tok_s_user && r1.cpu_pct == r2.cpu_pct);
		assert_int_equal(r1.ttft_p95, r2.ttft_p95);
		assert_int_equal(r1.queue_p50, r2.queue_p50);
		assert_int_equal(r1.raw_e2e_p95, r2.raw_e2e_p95);
		assert_string_equal(r1.errsum, r2.errsum);
		assert_string_equal(r2.errsum, "2 shed, 1 stall (a gap of \"2s\")");
		assert_int_equal(r2.errors, 1);
		assert_int_equal(r2.partial, 1);
		/* where the loop lag went, coalesced gaps, connections opened in the step */
		assert_string_equal(back.client.lag_cause, "reads");
		assert_true(back.client.lag_by[BENCH_LAG_READS] == 60.0);
		assert_true(back.client.lag_by[BENCH_LAG_WAKE] == 20.0);
		assert_true(back.client.lag_by[BENCH_LAG_TIMERS] == 20.0);
		assert_int_equal(back.client.gaps, 63);
		assert_true(back.client.coalesced_pct == 14.3);
		assert_true(r2.coalesced_pct == 14.3);
		assert_int_equal(r2.conns, 2);
		assert_int_equal(back.connect.count, 2);
		assert_non_null(strstr(buf_str(&j1), "\"loop_lag_by\":{\"wake\":20,\"reads\":60,"));
		assert_non_null(strstr(buf_str(&j1), "\"connect\":{\"count\":2,"));
		assert_int_equal(back.first_ttft.has, !open);
		assert_int_equal(r2.first_n, open ? 0 : 1);
		assert_true(open ? r2.first_ttft_p99 == 0 :
			    r2.first_ttft_p99 > r2.later_ttft_p99 && r2.later_ttft_p99 > 0);
		assert_non_null(strstr(buf_str(&j1), open ? "\"first_wave\":null" :
						   "\"first_wave\":{\"ttft\":{\"count\":1,"));
		buf_release(&j1);
		buf_release(&j2);
		free(a);
	}
}

static void test_step_rejects(void **state)
{
	(void)state;
	struct bench_step st;
	char err[ERR_MAX];
	assert_int_equal(bench_step_parse("[1]", &st, err), -1);
	assert_int_equal(bench_step_parse("{\"index\":1}", &st, err), -1);
	assert_non_null(strstr(err, "summary"));
	assert_int_equal(bench_step_parse(NULL, &st, err), -1);
}

/* A step stored by the previous version reads, and writes back to the same bytes. */
static void test_old_step(void **state)
{
	(void)state;
	struct bench_step st;
	struct bench_row r;
	char err[ERR_MAX];
	struct buf j = BUF_INIT;
	assert_int_equal(bench_step_parse(old_step, &st, err), 0);
	assert_string_equal(st.label, "rate=5");
	assert_int_equal(st.summary.ok, 11);
	assert_true(st.has_raw && st.raw_e2e.p95 == 67371007);
	assert_int_equal(bench_step_to_json(&st, &j), 0);
	assert_string_equal(buf_str(&j), old_step);
	assert_int_equal(bench_row_parse(old_step, &r, err), 0);
	assert_true(fabs(r.req_s - 13.655) < 1e-9);
	assert_int_equal(r.e2e_p95, 67371007);
	assert_int_equal(r.server_ttft_p50, 23789567);
	buf_release(&j);
}

static void roundtrip_summary(const char *json)
{
	struct bench_summary s;
	struct buf b = BUF_INIT;
	char err[ERR_MAX];
	assert_int_equal(bench_summary_parse(json, &s, err), 0);
	bench_summary_to_json(&s, &b);
	assert_string_equal(buf_str(&b), json);
	bench_summary_release(&s);
	buf_release(&b);
}

static void test_summary_roundtrip(void **state)
{
	(void)state;
	struct bench_summary s;
	memset(&s, 0, sizeof(s));
	s.kind = BENCH_SUMMARY_RESULT;
	s.has = BENCH_HAS_TOK_S | BENCH_HAS_REQ_S | BENCH_HAS_ERRORS | BENCH_HAS_OK;
	s.tok_s = 812.25;
	s.req_s = 4.125;
	s.errors = 2;
	s.shed = 1;
	s.ok = 40;
	s.steps = 3;
	s.interrupted = 1;
	snprintf(s.stopped, sizeof(s.stopped), "p95 2.00s over --max-p95 1.00s at 8");
	s.knee.found = 1;
	s.knee.reason = 3;
	s.knee.x = 4;
	s.knee.gain = 0.0125;
	s.knee.p95_ratio = 2.5;
	s.knee.slo_ns = 500 * MS;
	snprintf(s.knee.sentence, sizeof(s.knee.sentence), "up to 4 \"streams\"");
	snprintf(s.knee.imbalance, sizeof(s.knee.imbalance), "imbalance at 4");
	struct buf b = BUF_INIT;
	bench_summary_to_json(&s, &b);
	assert_non_null(strstr(buf_str(&b), "\"ttft_p95_ns\":null,"));
	assert_non_null(strstr(buf_str(&b), "\"next_x\":null,"));
	assert_non_null(strstr(buf_str(&b), "\"slots\":null,"));
	roundtrip_summary(buf_str(&b));
	struct bench_summary back;
	assert_int_equal(bench_summary_parse(buf_str(&b), &back, NULL), 0);
	assert_int_equal(back.kind, BENCH_SUMMARY_RESULT);
	assert_false(back.has & BENCH_HAS_TTFT_P95);
	assert_true(back.knee.found && back.knee.reason == 3 && !back.knee.has_next);
	assert_string_equal(back.knee.imbalance, "imbalance at 4");
	bench_summary_release(&back);
	/* the other two shapes */
	roundtrip_summary("{\"error\":\"every warm-up request failed: connection refused\"}");
	roundtrip_summary("{\"step\":\"c=8\",\"p95_ns\":1200000000,\"errors\":2,\"ok\":31}");
	buf_release(&b);
}

/* Summaries stored by the previous version read (and the current shape writes back to the
 * same bytes); hand-made or partial ones say which fields they hold. */
static void test_old_summaries(void **state)
{
	(void)state;
	struct bench_summary s;
	char err[ERR_MAX];
	roundtrip_summary(old_summary);
	assert_int_equal(bench_summary_parse(old_summary, &s, err), 0);
	assert_true(s.has & BENCH_HAS_TTFT_P95);
	assert_int_equal(s.ttft_p95_ns, 26542079);
	assert_true(s.knee.found && s.knee.has_slots && s.knee.slots == 4 && s.knee.has_next);
	assert_true(s.knee.x == 4 && s.knee.next_x == 8);
	assert_int_equal(s.ok, 147);
	bench_summary_release(&s);
	/* 0, not null, when nothing was ok: read as a number, as before */
	roundtrip_summary(old_zero_summary);
	assert_int_equal(bench_summary_parse(old_zero_summary, &s, err), 0);
	assert_true((s.has & BENCH_HAS_TTFT_P95) && s.ttft_p95_ns == 0 && s.errors == 3);
	bench_summary_release(&s);
	assert_int_equal(bench_summary_parse("{\"ttft_p95_ns\":812000000,\"tok_s\":123.4}", &s,
					     err), 0);
	assert_int_equal(s.has, BENCH_HAS_TTFT_P95 | BENCH_HAS_TOK_S);
	bench_summary_release(&s);
	assert_int_equal(bench_summary_parse("{\"error\":\"x\"}", &s, err), 0);
	assert_int_equal(s.kind, BENCH_SUMMARY_ERROR);
	assert_string_equal(s.error, "x");
	bench_summary_release(&s);
	assert_int_equal(bench_summary_parse("not json", &s, err), -1);
	assert_int_equal(bench_summary_parse("[1,2]", &s, err), -1);
	assert_int_equal(bench_summary_parse(NULL, &s, err), -1);
}

/* top's bench panel: a running run's progress summary first, its newest step for the rest. */
static void test_live(void **state)
{
	(void)state;
	struct store *st;
	struct bench_live l;
	char err[ERR_MAX];
	int64_t done, run;
	assert_int_equal(store_open(&st, ":memory:", err), STORE_OK);
	assert_int_equal(bench_live_read(st, &l, err), 0);
	assert_int_equal(store_run_begin(st, "bench", "t", NULL, NULL, &done, err), 0);
	assert_int_equal(store_run_finish(st, done, "ok", old_summary, err), 0);
	assert_int_equal(bench_live_read(st, &l, err), 0);
	assert_int_equal(store_run_begin(st, "bench", "evil\x1b[2J", NULL, NULL, &run, err), 0);
	assert_int_equal(bench_live_read(st, &l, err), 1);
	assert_int_equal(l.run_id, run);
	assert_null(strchr(l.target, 0x1b));
	assert_string_equal(l.step, "");
	assert_true(l.p95_ns == -1 && l.errors == -1 && l.requests == -1);
	/* a stored step fills everything */
	assert_int_equal(store_step_add(st, run, 0, "rate=5", old_step, NULL, 0, err), 0);
	assert_int_equal(bench_live_read(st, &l, err), 1);
	assert_string_equal(l.step, "rate=5");
	assert_int_equal(l.p95_ns, 67371007); /* E2E p95 */
	assert_int_equal(l.errors, 0);
	assert_int_equal(l.requests, 11);
	/* a progress summary says first */
	assert_int_equal(store_run_finish(st, run, "running",
					  "{\"step\":\"c=8\",\"p95_ns\":1200000000,\"errors\":2}", err),
			 0);
	assert_int_equal(bench_live_read(st, &l, err), 1);
	assert_string_equal(l.step, "c=8");
	assert_int_equal(l.p95_ns, 1200000000);
	assert_int_equal(l.errors, 2);
	assert_int_equal(l.requests, 11);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_roundtrip),   cmocka_unit_test(test_step_rejects),
		cmocka_unit_test(test_old_step),         cmocka_unit_test(test_summary_roundtrip),
		cmocka_unit_test(test_old_summaries),    cmocka_unit_test(test_live),
	};
	return cmocka_run_group_tests_name("result", tests, NULL, NULL);
}
