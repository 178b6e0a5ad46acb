/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for lib/bench: ITL splitting, calibration, levels, bodies, step JSON, CSV, blobs. */
#include "../../lib/compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/bench/bench.h"
#include "../../lib/bench/report.h"
#include "../../lib/render/benchview.h"
#include "../../lib/util/units.h"
#include "../../lib/stats/hist.h"
#include "../../lib/util/buf.h"

#define MS INT64_C(1000000)

static void test_itl_one_token_per_chunk(void **state)
{
	(void)state;
	struct hist *h = hist_new();
	int64_t gaps[] = { 10 * MS, 20 * MS, 30 * MS };
	/* 4 tokens, 3 gaps: each gap is one value */
	assert_int_equal(bench_itl_record(h, gaps, 3, 4), 3);
	assert_int_equal(hist_count(h), 3);
	assert_int_equal(hist_min(h), 10 * MS);
	assert_int_equal(hist_max(h), 30 * MS);
	/* eval_count unknown or smaller (thinking chunks, empty deltas): gaps as they are */
	hist_init(h);
	assert_int_equal(bench_itl_record(h, gaps, 3, 0), 3);
	assert_int_equal(bench_itl_record(h, gaps, 0, 10), 0);
	hist_free(h);
}

static void test_itl_split(void **state)
{
	(void)state;
	struct hist *h = hist_new();
	/* 7 tokens in 4 chunks (1 + 2 + 2 + 2): 3 gaps of 20 ms carry 2 tokens each */
	int64_t gaps[] = { 20 * MS, 20 * MS, 20 * MS };
	assert_int_equal(bench_itl_record(h, gaps, 3, 7), 6);
	assert_int_equal(hist_count(h), 6);
	assert_int_equal(hist_min(h), 10 * MS);
	assert_int_equal(hist_max(h), 10 * MS);
	/* uneven: 2 gaps for 4 token gaps plus one (5 tokens -> 4 values): shares 2 and 2 */
	hist_init(h);
	int64_t g2[] = { 30 * MS, 60 * MS };
	assert_int_equal(bench_itl_record(h, g2, 2, 5), 4);
	assert_int_equal(hist_min(h), 15 * MS);
	assert_int_equal(hist_max(h), 30 * MS);
	/* 3 gaps, 5 token gaps: shares 1, 2, 2 (they differ by at most one, sum to 5) */
	hist_init(h);
	int64_t g3[] = { 12 * MS, 12 * MS, 12 * MS };
	assert_int_equal(bench_itl_record(h, g3, 3, 6), 5);
	assert_int_equal(hist_count_le(h, 6 * MS + 100000), 4);
	assert_int_equal(hist_max(h), 12 * MS);
	/* the sum of the values equals the sum of the gaps (mean ITL = TPOT) */
	assert_true(fabs(hist_mean(h) * 5 - 36.0 * MS) < 1000);
	hist_free(h);
}

static void test_calib_fit(void **state)
{
	(void)state;
	size_t w;
	/* tokens = 7 + 1.25 words: 16 words -> 27, 256 -> 327; 300 tokens -> 234.4 words */
	assert_int_equal(bench_calib_fit(16, 27, 256, 327, 300, &w), 0);
	assert_int_equal(w, 234);
	/* a target below the template overhead gives at least one word */
	assert_int_equal(bench_calib_fit(16, 27, 256, 327, 3, &w), 0);
	assert_int_equal(w, 1);
	/* unusable probes */
	assert_int_equal(bench_calib_fit(16, 27, 256, 27, 300, &w), -1);
	assert_int_equal(bench_calib_fit(16, 0, 256, 40, 300, &w), -1);
	assert_int_equal(bench_calib_fit(256, 27, 16, 327, 300, &w), -1);
}

static void test_synth_text(void **state)
{
	(void)state;
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
	bench_synth_text(&a, 50, 7);
	bench_synth_text(&b, 50, 7);
	bench_synth_text(&c, 50, 8);
	assert_string_equal(buf_str(&a), buf_str(&b));
	assert_string_not_equal(buf_str(&a), buf_str(&c));
	size_t words = 1;
	for (const char *s = buf_str(&a); *s; s++)
		words += *s == ' ';
	assert_int_equal(words, 50);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
}

static void test_levels(void **state)
{
	(void)state;
	double v[64];
	char err[ERR_MAX];
	assert_int_equal(bench_levels_parse("1,2,4,8", 1, v, 64, err), 4);
	assert_true(v[3] == 8);
	assert_int_equal(bench_levels_parse("1..16", 1, v, 64, err), 5);
	assert_true(v[0] == 1 && v[4] == 16);
	assert_int_equal(bench_levels_parse("1..20x2", 1, v, 64, err), 5);
	assert_true(v[4] == 16);
	assert_int_equal(bench_levels_parse("1..64x4", 1, v, 64, err), 4);
	assert_true(v[3] == 64);
	assert_int_equal(bench_levels_parse("5..20+5", 1, v, 64, err), 4);
	assert_true(v[0] == 5 && v[3] == 20);
	assert_int_equal(bench_levels_parse("8", 1, v, 64, err), 1);
	assert_int_equal(bench_levels_parse("0.5..2", 0, v, 64, err), 3);
	assert_true(v[0] == 0.5 && v[2] == 2);
	assert_int_equal(bench_levels_parse("2.5", 0, v, 64, err), 1);
	/* errors */
	assert_int_equal(bench_levels_parse("2.5", 1, v, 64, err), -1);
	assert_int_equal(bench_levels_parse("4,2", 1, v, 64, err), -1);
	assert_int_equal(bench_levels_parse("0", 1, v, 64, err), -1);
	assert_int_equal(bench_levels_parse("a", 1, v, 64, err), -1);
	assert_int_equal(bench_levels_parse("4..2", 1, v, 64, err), -1);
	assert_int_equal(bench_levels_parse("1..8x1", 1, v, 64, err), -1);
	assert_int_equal(bench_levels_parse("1..1000+1", 1, v, 64, err), -1);
	assert_non_null(strstr(err, "too many"));
}

static void test_body(void **state)
{
	(void)state;
	struct bench_prompts ps = { 0 };
	bench_prompts_add_text(&ps, "hello");
	struct bench_cfg cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.model = "m:latest";
	cfg.max_tokens = 16;
	cfg.num_ctx = 8192;
	cfg.has_keep_alive = 1;
	cfg.keep_alive_ns = 3600 * INT64_C(1000000000);
	struct buf b = BUF_INIT;
	assert_int_equal(bench_build_body(&cfg, &ps.p[0], 3, &b), 0);
	assert_non_null(strstr(buf_str(&b), "\"prompt\":\"hello\""));
	assert_non_null(strstr(buf_str(&b), "\"num_ctx\":8192"));
	assert_non_null(strstr(buf_str(&b), "\"num_predict\":16"));
	assert_non_null(strstr(buf_str(&b), "\"keep_alive\":3600"));
	assert_non_null(strstr(buf_str(&b), "\"stream\":true"));
	assert_string_equal(bench_path(&cfg), "/api/generate");
	/* the unique prefix differs per request */
	cfg.unique_prefix = 1;
	cfg.seed = 1;
	buf_reset(&b);
	bench_build_body(&cfg, &ps.p[0], 3, &b);
	assert_non_null(strstr(buf_str(&b), "request 3] hello"));
	/* chat and openai */
	cfg.unique_prefix = 0;
	cfg.api = BENCH_API_CHAT;
	buf_reset(&b);
	bench_build_body(&cfg, &ps.p[0], 0, &b);
	assert_non_null(strstr(buf_str(&b), "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"));
	assert_string_equal(bench_path(&cfg), "/api/chat");
	cfg.api = BENCH_API_OPENAI;
	buf_reset(&b);
	bench_build_body(&cfg, &ps.p[0], 0, &b);
	assert_non_null(strstr(buf_str(&b), "\"include_usage\":true"));
	assert_non_null(strstr(buf_str(&b), "\"max_tokens\":16"));
	assert_string_equal(bench_path(&cfg), "/v1/chat/completions");
	cfg.api = BENCH_API_ENDPOINT;
	cfg.endpoint = BENCH_EP_PS;
	assert_string_equal(bench_path(&cfg), "/api/ps");
	buf_release(&b);
	bench_prompts_release(&ps);
}

static void test_prompt_file(void **state)
{
	(void)state;
	char path[] = "/tmp/t-bench-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("plain line\n\n{\"prompt\":\"json prompt\"}\n"
	      "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
	      "{\"role\":\"user\",\"content\":\"u\"}]}\n", f);
	fclose(f);
	struct bench_prompts ps = { 0 };
	char err[ERR_MAX];
	assert_int_equal(bench_prompts_load(&ps, path, err), 0);
	assert_int_equal(ps.n, 3);
	assert_string_equal(ps.p[0].text, "plain line");
	assert_string_equal(ps.p[1].text, "json prompt");
	assert_int_equal(ps.p[2].nmsgs, 2);
	assert_string_equal(ps.p[2].text, "u");
	bench_prompts_release(&ps);
	f = fopen(path, "w");
	fputs("ok\n{\"messages\":[{\"role\":1}]}\n", f);
	fclose(f);
	assert_int_equal(bench_prompts_load(&ps, path, err), -1);
	assert_non_null(strstr(err, ":2: message 1"));
	bench_prompts_release(&ps);
	unlink(path);
}

/* A step JSON from a known accumulator parses back into the same figures. */
static void test_step_json_roundtrip(void **state)
{
	(void)state;
	struct bench_acc *a = bench_acc_new();
	a->t_start = 1000;
	a->t_end = 1000 + 2 * INT64_C(1000000000);
	a->ok = 10;
	a->sent = 13;
	a->err[BENCH_E_SHED] = 2;
	a->err[BENCH_E_STALL] = 1;
	snprintf(a->msg[BENCH_E_STALL], sizeof(a->msg[0]), "a gap of 2s");
	a->output_tokens = 100;
	for (int i = 0; i < 10; i++) {
		hist_record(&a->h[BH_TTFT], (20 + i) * MS);
		hist_record(&a->h[BH_E2E], (100 + i) * MS);
		hist_record(&a->h[BH_TPOT], 5 * MS);
		hist_record_n(&a->h[BH_ITL], 5 * MS, 9);
	}
	struct bench_step_info si = { 3, 8, BENCH_CLOSED, 0, "gpu-1", 0 };
	struct buf j = BUF_INIT;
	char err[ERR_MAX];
	assert_int_equal(bench_step_json(a, &si, &j, err), 0);
	assert_non_null(strstr(buf_str(&j), "\"label\":\"c=8 gpu-1\""));
	assert_non_null(strstr(buf_str(&j), "\"raw\":null"));
	struct bench_row r;
	assert_int_equal(bench_row_parse(buf_str(&j), &r, err), 0);
	assert_int_equal(r.index, 3);
	assert_true(r.x == 8);
	assert_string_equal(r.instance, "gpu-1");
	assert_int_equal(r.ok, 10);
	assert_int_equal(r.failed, 3);
	assert_int_equal(r.shed, 2);
	assert_int_equal(r.errors, 1);
	assert_true(fabs(r.req_s - 5) < 1e-9);
	assert_true(fabs(r.tok_s - 50) < 1e-9);
	assert_true(r.has_ttft && r.has_itl);
	assert_true(llabs(r.ttft_p50 - 24 * MS) < MS / 2);
	assert_true(llabs(r.itl_p50 - 5 * MS) < MS / 50);
	assert_non_null(strstr(r.errsum, "1 stall"));
	assert_non_null(strstr(r.errsum, "2 shed"));
	assert_non_null(strstr(r.errsum, "(a gap of 2s)"));
	/* CSV */
	struct buf csv = BUF_INIT;
	bench_csv_header(&csv);
	bench_csv_row(&r, &csv);
	const char *row = strchr(buf_str(&csv), '\n') + 1;
	assert_true(!strncmp(row, "3,\"gpu-1\",8,0,10,3,2,1,0,2,5,50,6.25,", 37));
	int commas_h = 0, commas_r = 0;
	for (const char *s = buf_str(&csv); *s != '\n'; s++)
		commas_h += *s == ',';
	for (const char *s = row; *s; s++)
		commas_r += *s == ',';
	assert_int_equal(commas_h, commas_r);
	/* histogram blob round trip */
	struct buf blob = BUF_INIT;
	assert_int_equal(bench_hists_blob(a, &blob), 0);
	struct hist *h = malloc(BH_N * sizeof(struct hist));
	assert_int_equal(bench_hists_parse(blob.data, blob.len, h, err), 0);
	assert_int_equal(hist_count(&h[BH_ITL]), 90);
	assert_int_equal(hist_count(&h[BH_TTFT]), 10);
	assert_int_equal(hist_count(&h[BH_LOAD]), 0);
	assert_int_equal(bench_hists_parse(blob.data, blob.len - 1, h, err), -1);
	free(h);
	buf_release(&blob);
	buf_release(&csv);
	buf_release(&j);
	free(a);
}

static void test_table_and_knee(void **state)
{
	(void)state;
	struct bench_row rows[5];
	memset(rows, 0, sizeof(rows));
	double xs[] = { 1, 2, 4, 8, 16 };
	for (int i = 0; i < 5; i++) {
		rows[i].x = xs[i];
		rows[i].ok = 100;
		rows[i].has_ttft = rows[i].has_itl = 1;
		double c = xs[i] < 4 ? xs[i] : 4;
		rows[i].tok_s = 100 * c;
		rows[i].req_s = 10 * c;
		rows[i].tok_s_user = rows[i].tok_s / xs[i];
		int64_t wait = (int64_t)(ceil(xs[i] / 4) - 1) * 100 * MS;
		rows[i].ttft_p50 = 20 * MS + wait;
		rows[i].ttft_p95 = 21 * MS + wait;
		rows[i].itl_p50 = 5 * MS;
		rows[i].e2e_p95 = 120 * MS + wait;
	}
	struct buf t = BUF_INIT, j = BUF_INIT, k = BUF_INIT;
	bench_table(rows, 5, 0, &t);
	assert_non_null(strstr(buf_str(&t), "TTFT p50"));
	/* every line fits 80 columns; the header and 5 rows */
	int lines = 0;
	for (const char *s = buf_str(&t), *nl; (nl = strchr(s, '\n')); s = nl + 1, lines++)
		assert_true(nl - s <= 80);
	assert_int_equal(lines, 6);
	struct bench_knee kn;
	bench_knee_report(rows, 5, 0, 0, &kn, &k, &j);
	assert_true(kn.found);
	assert_true(kn.x == 4 && kn.next_x == 8);
	assert_true(kn.has_slots && kn.slots == 4);
	assert_non_null(strstr(buf_str(&k), "up to 4 concurrent streams"));
	assert_non_null(strstr(buf_str(&j), "\"slots\":4"));
	/* ASCII: no byte above 0x7f in the table or the sentences */
	buf_reset(&t);
	bench_render(rows, 5, BENCH_VIEW_ASCII, 0, 80, 1, &t);
	for (const char *s = buf_str(&t); *s; s++)
		assert_true((unsigned char)*s < 0x80);
	assert_non_null(strstr(buf_str(&t), "<="));
	/* the engine's notes: a first wave slower than the rest, coalesced gaps, connections
	 * opened in the step; none of them when the figures do not call for it */
	assert_null(strstr(buf_str(&t), "started the step at once"));
	assert_null(strstr(buf_str(&t), "came in one read"));
	assert_null(strstr(buf_str(&t), "opened a connection"));
	rows[4].first_n = 16;
	rows[4].first_ttft_p99 = 130 * MS;
	rows[4].later_ttft_p99 = 100 * MS;
	rows[3].first_n = 8;
	rows[3].first_ttft_p99 = 110 * MS; /* within a fifth of the rest: no note */
	rows[3].later_ttft_p99 = 100 * MS;
	rows[2].coalesced_pct = 43.2;
	rows[1].conns = 2;
	rows[1].connect_p50 = 400000;
	buf_reset(&t);
	bench_render(rows, 5, BENCH_VIEW_ASCII, 0, 200, 0, &t);
	assert_non_null(strstr(buf_str(&t), "c=16: the 16 requests that started the step at once "
					    "had TTFT p99 130.0ms, the later ones 100.0ms"));
	assert_null(strstr(buf_str(&t), "c=8: the 8 requests"));
	assert_non_null(strstr(buf_str(&t), "c=4: 43% of token gaps were lines that came in one "
					    "read (gap 0): ITL percentiles up to p43 are not "
					    "measurements"));
	assert_non_null(strstr(buf_str(&t), "c=2: 2 requests opened a connection (set-up p50 "
					    "400us, kept out of TTFT)"));
	buf_release(&t);
	buf_release(&j);
	buf_release(&k);
}

static void test_fmt(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(units_duration(850000, UNITS_DUR_ASCII, b, sizeof(b)), "850us");
	assert_string_equal(bench_fmt_rate(12345, b, sizeof(b)), "12.3k");
	assert_string_equal(bench_fmt_rate(812, b, sizeof(b)), "812");
	assert_string_equal(bench_fmt_rate(2.5, b, sizeof(b)), "2.50");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_itl_one_token_per_chunk), cmocka_unit_test(test_itl_split),
		cmocka_unit_test(test_calib_fit), cmocka_unit_test(test_synth_text),
		cmocka_unit_test(test_levels), cmocka_unit_test(test_body),
		cmocka_unit_test(test_prompt_file), cmocka_unit_test(test_step_json_roundtrip),
		cmocka_unit_test(test_table_and_knee), cmocka_unit_test(test_fmt),
	};
	return cmocka_run_group_tests_name("bench", tests, NULL, NULL);
}
