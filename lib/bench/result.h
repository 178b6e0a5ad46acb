/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The two stored documents of a bench run as structs, each with its one JSON writer and
 * its one reader: the step (one per level and target, in the steps table) and the run
 * summary (in the runs table). Every reader of a stored bench document goes through
 * these; nothing else parses them. Pure: nothing is printed.
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
 *              "limited":false,"reason":"",
 *              "loop_lag_cause":"reads"|"",      the cause of most lag over 1 ms
 *              "loop_lag_by":{"wake":12.5,"reads":80.1,...},  % of all loop lag
 *              "gaps":N,"coalesced_pct":0.4},   token gaps; % that were 0 (one read)
 *    "connect":STAT|null,                       set-up of connections opened in the
 *                                               step (kept out of TTFT and E2E)
 *    "first_wave":{"ttft":STAT,"later_ttft":STAT|null}|null,  closed loop: TTFT of
 *                                               the streams started at once, and after
 *    "max_gap_ns":..}
 * Steps stored before loop_lag_cause, loop_lag_by, gaps, coalesced_pct, connect and
 * first_wave existed read back with them empty.
 * where STAT is {"count":N,"mean_ns":..,"p50_ns":..,"p90_ns":..,"p95_ns":..,
 * "p99_ns":..,"max_ns":..} or null when nothing was measured.
 *
 * Run summary JSON, one of three shapes:
 *   the result   {"ttft_p95_ns":N|null,"tok_s":..,"req_s":..,"errors":N,"shed":N,"ok":N,
 *                 "steps":N,"knee":KNEE|null,"stopped":"..."|null,"interrupted":false}
 *                 (ttft_p95_ns is E2E p95 for --endpoint runs, null when nothing was ok;
 *                 runs stored before that null existed hold 0 there)
 *   a failure    {"error":"why nothing was benched"}
 *   progress     {"step":"c=8","p95_ns":N,"errors":N,"ok":N} while a run is running
 * KNEE is {"reason","metric","x","next_x","gain","p95_ratio","slo_ns","sentence","slots",
 * "service_ns","slots_sentence","imbalance"}.
 *
 * Ownership: steps and knees are plain values; a summary owns its error text: release it
 * with bench_summary_release().
 */
#ifndef OBRIDGE_BENCH_RESULT_H
#define OBRIDGE_BENCH_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "../stats/summary.h"
#include "bench.h"

struct buf;

/* The STAT object of a step: one histogram in figures. */
struct bench_stat {
	int has;                /* 0: null (nothing measured) */
	uint64_t count;
	double mean;
	int64_t p50, p90, p95, p99, max;
};

/* The server's own durations of a step, in the order of the "server" object. */
enum bench_server_stat { BS_LOAD, BS_PROMPT_EVAL, BS_EVAL, BS_QUEUE, BS_TTFT, BS_N };

/* The client self-check of a step. */
struct bench_client {
	double cpu_pct;
	int64_t loop_lag_p99, loop_lag_max, send_lag_p50, send_lag_p99, send_lag_max;
	uint64_t chunks, bytes, delayed;
	double chunks_per_cpu_s;
	int limited;
	char reason[128];       /* why the client may be the limit, "" when it is not */
	/* Where the loop lag was spent (bench_lag_cause_name's keys), % of all lag, and the
	 * cause of most lag of probes over BENCH_LAG_LATE_NS ("" when none was that late). */
	double lag_by[BENCH_LAG_N];
	char lag_cause[16];
	/* Token gaps measured, and the share that were 0 (lines that came in one read):
	 * ITL percentiles below that share are not measurements. */
	uint64_t gaps;
	double coalesced_pct;
};

/* One step of a run, everything its JSON holds. */
struct bench_step {
	int index;
	char label[96];         /* "c=4", "rate=2 gpu-1" */
	double x;               /* streams or req/s */
	char instance[256];     /* "" for the whole target (null in JSON) */
	int partial;            /* the step was interrupted */
	struct summary summary;
	uint64_t err[BENCH_E_N];
	char msg[BENCH_E_N][160]; /* the first message of each class, "" when none */
	uint64_t cold;
	struct bench_stat cold_ttft;
	struct bench_stat server[BS_N];
	int has_raw;            /* open loop: latency from the actual send */
	struct bench_stat raw_ttft, raw_e2e;
	struct bench_client client;
	int64_t max_gap_ns;
	struct bench_stat connect; /* connections opened in the step: their set-up time */
	/* closed loop: TTFT of the streams the step started at once, and of the later
	 * requests (both are in summary.ttft too) */
	struct bench_stat first_ttft, later_ttft;
	int v2;                    /* has loop_lag_cause ... connect (steps stored before
				      them are written back as they were) */
};

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

/* The step of an accumulator. Returns 0, or -1 with err. */
int bench_step_compute(const struct bench_acc *a, const struct bench_step_info *si,
		       struct bench_step *st, char *err);
/* Append the step's JSON (no newline). Returns 0, or -1 when out's cap was hit. */
int bench_step_to_json(const struct bench_step *st, struct buf *out);
/* Read a step's JSON. Returns 0, or -1 with err (not an object, no summary). */
int bench_step_parse(const char *json, struct bench_step *st, char *err);

/* The knee of a run: what its sentences and its JSON say. */
struct bench_knee {
	int found;              /* a knee_find() result exists (at least one usable step) */
	int reason;             /* enum knee_reason */
	int endpoint;           /* the metric is E2E ("e2e"), else TTFT ("ttft") */
	double x, next_x;
	int has_next;           /* next_x is known (null in JSON otherwise) */
	double gain, p95_ratio;
	int64_t slo_ns;
	int has_slots, slots;
	int64_t service_ns;
	char sentence[512];
	char slots_sentence[512]; /* with has_slots */
	char imbalance[512];    /* "" when the instances agree (null in JSON) */
};

/* Append the knee object, or null when !k->found. */
void bench_knee_to_json(const struct bench_knee *k, struct buf *out);

enum bench_summary_kind {
	BENCH_SUMMARY_RESULT,   /* a finished (or interrupted) sweep */
	BENCH_SUMMARY_ERROR,    /* nothing was benched: error says why */
	BENCH_SUMMARY_PROGRESS, /* a running sweep: the last step done */
};

/* Which result fields a stored summary holds (older or hand-made rows may lack some). */
enum bench_summary_has {
	BENCH_HAS_TTFT_P95 = 1 << 0, /* a number (not null) */
	BENCH_HAS_TOK_S = 1 << 1,
	BENCH_HAS_REQ_S = 1 << 2,
	BENCH_HAS_ERRORS = 1 << 3,
	BENCH_HAS_P95 = 1 << 4,      /* progress: p95_ns */
	BENCH_HAS_OK = 1 << 5,
};

struct bench_summary {
	enum bench_summary_kind kind;
	unsigned has;           /* enum bench_summary_has */
	int64_t ttft_p95_ns;    /* at the knee (or the last step); E2E for endpoint runs */
	double tok_s, req_s;    /* the best step's */
	uint64_t errors, shed, ok; /* over the whole-target steps; errors exclude shed */
	size_t steps;
	struct bench_knee knee; /* knee.found 0: null */
	char stopped[160];      /* why the sweep ended early, "" when it did not */
	int interrupted;
	char *error;            /* BENCH_SUMMARY_ERROR: owned */
	char step[128];         /* BENCH_SUMMARY_PROGRESS: label of the last step done */
	int64_t p95_ns;         /* BENCH_SUMMARY_PROGRESS: its p95 */
	char *goals;            /* owned, or NULL: the result's ,"slo":{..},"cost":{..} members,
				 * written by bench_goals_summary_json (lib/bench/goals.h); show
				 * and compare evaluate the goals again from params and steps, so
				 * the reader leaves it NULL */
};

/* Append the summary's JSON (no newline). */
void bench_summary_to_json(const struct bench_summary *s, struct buf *out);
/* Read a stored summary. Returns 0, or -1 with err when json is not a JSON object. */
int bench_summary_parse(const char *json, struct bench_summary *s, char *err);
void bench_summary_release(struct bench_summary *s);

#endif
