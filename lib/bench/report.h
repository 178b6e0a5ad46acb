/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bench results as data: the JSON of a step (what is stored and printed), the histogram
 * blob of a step, rows read back from that JSON (for show, compare, export), the per-step
 * text table, CSV and the knee. Pure functions over buffers: nothing is printed here.
 *
 * Ownership: every function appends to a caller's struct buf; rows are plain values.
 *
 * Step JSON (schema 1), one object per step, keys in this order:
 *   {"index":0,"label":"c=4","x":4,"instance":null|"gpu-1","partial":false,
 *    "summary":{...}                      lib/stats/summary.h summary_to_json (schema 1);
 *                                         failed_by maps stream/malformed to "truncated"
 *    "errors":{"refused":0,"connect":0,"timeout":0,"http":0,"shed":0,"stream":0,
 *              "truncated":0,"malformed":0,"stall":0,"other":0},
 *    "error_messages":{"shed":"server busy ..."},   first message per class seen
 *    "cold":{"count":0,"ttft":STAT|null},           requests that hit a cold load
 *    "server":{"load":STAT,"prompt_eval":STAT,"eval":STAT,"queue":STAT,"ttft":STAT},
 *    "raw":{"ttft":STAT,"e2e":STAT}|null,           open loop: from the actual send
 *    "client":{"cpu_pct":12.5,"loop_lag_p99_ns":..,"loop_lag_max_ns":..,
 *              "send_lag_p50_ns":..,"send_lag_p99_ns":..,"send_lag_max_ns":..,
 *              "chunks":..,"chunks_per_cpu_s":..,"bytes":..,"delayed":..,
 *              "limited":false,"reason":""},
 *    "max_gap_ns":..}
 * where STAT is {"count":N,"mean_ns":..,"p50_ns":..,"p90_ns":..,"p95_ns":..,
 * "p99_ns":..,"max_ns":..} or null when nothing was measured.
 */
#ifndef OBRIDGE_BENCH_REPORT_H
#define OBRIDGE_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

struct buf;
struct hist;

struct bench_step_info {
	int index;
	double x;               /* streams or req/s */
	enum bench_mode mode;
	int endpoint;           /* the API was a plain GET: no TTFT/ITL */
	const char *instance;   /* NULL: the whole target, or every instance together */
	int partial;            /* the step was interrupted */
	int targets;            /* targets driven at x each (the --each total row: all of
				 * them, so its users are x times this); 0 means 1 */
};

/* Append the step's JSON. Returns 0, or -1 with err. */
int bench_step_json(const struct bench_acc *a, const struct bench_step_info *si,
		    struct buf *out, char *err);

/*
 * The histogram blob stored with a step: for each non-empty histogram, 1 byte (enum
 * bench_hist), 4 bytes little-endian length, then hist_serialize()'s bytes.
 */
int bench_hists_blob(const struct bench_acc *a, struct buf *out);
/* Decode a blob into h[BH_N] (all initialised first). Returns 0, or -1 with err. */
int bench_hists_parse(const void *blob, size_t len, struct hist *h, char *err);

/* One step read back from its JSON: what tables, charts, CSV and knee need. */
struct bench_row {
	int index;
	double x;
	char instance[64];      /* "" for the whole target */
	int partial;
	uint64_t ok, failed, shed, errors, cold; /* errors = failed - shed */
	double req_s, tok_s, tok_s_user, duration_s;
	int has_ttft, has_itl, has_raw;
	int64_t ttft_p50, ttft_p95, ttft_p99, itl_p50, itl_p95, itl_p99, tpot_p50, tpot_p95;
	int64_t tpot_vllm_p50;  /* vLLM's TPOT, (e2e - ttft) / (tokens - 1); 0 when absent */
	int64_t e2e_p50, e2e_p95, e2e_p99, raw_ttft_p95, raw_e2e_p95;
	int64_t load_p50, queue_p50, queue_p95, server_ttft_p50, cold_ttft_p50;
	double cpu_pct;
	int64_t send_lag_p99, loop_lag_p99;
	int limited;
	char reason[128];       /* why the client may be the limit */
	char errsum[200];       /* "2 stall, 1 truncated (message)" or "" */
};

/* Parse a step's JSON into r. Returns 0, or -1 with err. */
int bench_row_parse(const char *json, struct bench_row *r, char *err);

/* Rendering flags. */
enum bench_view_flags {
	BENCH_VIEW_ASCII = 1 << 0,    /* no Unicode (µ becomes u, bars in ASCII) */
	BENCH_VIEW_RATE = 1 << 1,     /* x is a request rate */
	BENCH_VIEW_ENDPOINT = 1 << 2, /* plain GETs: E2E columns only */
};

/* Duration for tables: units_fmt_duration(), with "us" for "µs" under ASCII. */
char *bench_fmt_ns(int64_t ns, int ascii, char *out, size_t n);
/* A rate with a k/M suffix: "812", "12.3k". */
char *bench_fmt_rate(double v, char *out, size_t n);

/* The per-step table (fits 80 columns), one line per row, ending with a newline. */
void bench_table(const struct bench_row *rows, size_t n, int flags, struct buf *out);
/* CSV: the header line, then one line per row (numbers in ns and per second). */
void bench_csv_header(struct buf *out);
void bench_csv_row(const struct bench_row *r, struct buf *out);

/* The knee of the rows that cover the whole target (instance ""), not partial. */
struct bench_knee {
	int found;              /* a knee_find() result exists (at least one usable step) */
	int reason;             /* enum knee_reason */
	double x, next_x;
	int has_slots, slots;
	int64_t service_ns;
};

/*
 * Compute the knee and append its sentences (one per line, each ending with '\n':
 * the knee, the slot finding, per-instance imbalance) to text, and its JSON object
 * ({"reason","metric","x","next_x","gain","p95_ratio","slo_ns","sentence","slots",
 * "service_ns","slots_sentence","imbalance"}, or null) to json. slo_ns 0 = none.
 */
void bench_knee_report(const struct bench_row *rows, size_t n, int flags, int64_t slo_ns,
		       struct bench_knee *k, struct buf *text, struct buf *json);

/*
 * Everything a person reads after a run, into out: the table, the knee sentences, notes
 * (errors by class, load shedding, cold loads, corrected vs raw latency, a client that
 * may be the limit) and, with charts, bar charts of latency and throughput per step.
 * width is the terminal width (80 when unknown).
 */
void bench_render(const struct bench_row *rows, size_t n, int flags, int64_t slo_ns,
		  int width, int charts, struct buf *out);

/*
 * The whole result document (what `bench --json` and `export --json` print):
 *   {"schema":1,"run":ID,"kind":"bench","status":"ok|warn|failed|interrupted|running",
 *    "started":"RFC3339","finished":"RFC3339"|null,
 *    "params":{...},"fingerprint":{...},"summary":{...},"steps":[STEP,...]}
 * params, fingerprint and summary are JSON texts (NULL gives null); steps[n] are step
 * JSON texts (see above). Appends one line without a newline.
 */
void bench_doc_json(struct buf *out, int64_t run, const char *status, int64_t started_ns,
		    int64_t finished_ns, const char *params, const char *fingerprint,
		    const char *summary, const char *const *steps, size_t n);

/* View flags (BENCH_VIEW_RATE, BENCH_VIEW_ENDPOINT) and the SLO from a run's params. */
int bench_params_view(const char *params, int64_t *slo_ns);

#endif
