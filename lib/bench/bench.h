/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bench engine: closed-loop concurrency steps and open-loop rate steps driven on
 * lib/http's event loop, per-request metric extraction (TTFT, per-token ITL, TPOT,
 * end-to-end, Ollama's own timings, cold loads, error classes, stalls) and the client's
 * self-check (CPU, loop lag, send lag). Nothing here prints; cmd/bench.c drives it.
 *
 * Ownership: struct bench borrows the engine, the config and the prompts for its whole
 * life (they must outlive it). struct bench_acc is a plain value of histograms and
 * counters (about 600 KB; allocate it with bench_acc_new()); memory never grows with
 * the number of requests: in-flight requests live in a pool sized by the concurrency,
 * and per-request token gaps are kept only until the request ends.
 */
#ifndef OBRIDGE_BENCH_BENCH_H
#define OBRIDGE_BENCH_BENCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../stats/arrival.h"
#include "../stats/hist.h"

struct buf;
struct http_engine;
struct bench_progress;
struct bench_sample;

enum bench_mode {
	BENCH_CLOSED, /* levels are concurrent streams */
	BENCH_OPEN,   /* levels are request rates (req/s), latency from the planned send time */
};

enum bench_api {
	BENCH_API_GENERATE, /* POST /api/generate (NDJSON) */
	BENCH_API_CHAT,     /* POST /api/chat (NDJSON) */
	BENCH_API_OPENAI,   /* POST /v1/chat/completions (SSE, include_usage) */
	BENCH_API_ENDPOINT, /* a lightweight GET: the engine's ceiling */
};

enum bench_endpoint {
	BENCH_EP_ROOT,    /* GET / */
	BENCH_EP_VERSION, /* GET /api/version */
	BENCH_EP_TAGS,    /* GET /api/tags */
	BENCH_EP_PS,      /* GET /api/ps */
};

/* Error classes of a request; "shed" (503 queue full) is load shedding, not a failure. */
enum bench_err {
	BENCH_E_REFUSED,   /* connection refused */
	BENCH_E_CONNECT,   /* DNS, TLS, reset or other transport failure */
	BENCH_E_TIMEOUT,   /* the request's deadline passed */
	BENCH_E_HTTP,      /* non-2xx status other than 503 */
	BENCH_E_SHED,      /* 503: the server shed load */
	BENCH_E_STREAM,    /* an {"error"} line in the middle of a stream */
	BENCH_E_TRUNCATED, /* stream ended without done / [DONE] */
	BENCH_E_MALFORMED, /* invalid JSON, or a line over the cap */
	BENCH_E_STALL,     /* a gap between tokens over the stall threshold */
	BENCH_E_OTHER,
	BENCH_E_N,
};

/* "refused", "connect", "timeout", "http", "shed", "stream", "truncated", "malformed",
 * "stall", "other": the JSON keys, stable. */
const char *bench_err_name(enum bench_err e);

/* The histograms of a step (ns). */
enum bench_hist {
	BH_TTFT,        /* request written (planned send in open loop) to first token; warm */
	BH_ITL,         /* per token: chunk gaps split by eval_count */
	BH_TPOT,        /* per request: (last token - first token) / (tokens - 1) */
	BH_E2E,         /* request written (planned send) to done; warm requests */
	BH_TTFT_RAW,    /* open loop: from the actual send time (uncorrected) */
	BH_E2E_RAW,     /* open loop: from the actual send time */
	BH_LOAD,        /* Ollama load_duration */
	BH_PROMPT_EVAL, /* Ollama prompt_eval_duration */
	BH_EVAL,        /* Ollama eval_duration */
	BH_QUEUE,       /* total - load - prompt_eval - eval: waiting for a parallel slot */
	BH_SERVER_TTFT, /* total - eval: the server's own time to first token */
	BH_COLD_TTFT,   /* TTFT of requests that hit a cold load (reported apart) */
	BH_SEND_LAG,    /* open loop: actual send - planned send */
	BH_LOOP_LAG,    /* how late the event loop noticed a due timer */
	BH_TPOT_VLLM,   /* per request, vLLM's definition: (e2e - ttft) / (tokens - 1) */
	BH_CONNECT,     /* connection set-up of requests that opened one (kept out of TTFT
			   and E2E) */
	BH_FIRST_TTFT,  /* closed loop: TTFT of the first wave, the streams a step starts at
			   once (also in BH_TTFT) */
	BH_LATER_TTFT,  /* closed loop: TTFT of the requests after them (also in BH_TTFT) */
	BH_N,
};

/* "ttft", "itl", "tpot", "e2e", "ttft_raw", "e2e_raw", "load", "prompt_eval", "eval",
 * "queue", "server_ttft", "cold_ttft", "send_lag", "loop_lag", "tpot_vllm", "connect",
 * "first_ttft", "later_ttft". */
const char *bench_hist_name(enum bench_hist h);

/*
 * What the event loop was doing while a loop-lag probe came due and until it noticed:
 * the share of lag each phase accounts for. "wake": asleep in epoll past the time asked
 * (the OS or hypervisor woke the loop late); "reads": reading sockets and parsing lines;
 * "completions": finishing requests (and starting the next ones of a closed loop);
 * "timers": libcurl's timeouts and the stall scan; "sends": starting requests (ramp
 * batches, open-loop arrivals); "progress": the progress callback; "other": the rest.
 */
enum bench_lag_cause {
	BENCH_LAG_WAKE, BENCH_LAG_READS, BENCH_LAG_COMPLETIONS, BENCH_LAG_TIMERS,
	BENCH_LAG_SENDS, BENCH_LAG_PROGRESS, BENCH_LAG_OTHER, BENCH_LAG_N,
};
const char *bench_lag_cause_name(enum bench_lag_cause c);
/* Probes later than this count toward the named cause of a step's lag. */
#define BENCH_LAG_LATE_NS 1000000LL

/* Everything measured in one step for one target. */
struct bench_acc {
	struct hist h[BH_N];
	uint64_t sent;          /* requests sent */
	uint64_t ok;            /* completed without error (cold ones included) */
	uint64_t err[BENCH_E_N];
	uint64_t cold;          /* ok requests with load_duration >= the cold threshold */
	uint64_t output_tokens; /* eval_count (or usage, or chunks) of ok requests */
	uint64_t prompt_tokens;
	uint64_t chunks;        /* data chunks parsed */
	uint64_t bytes;         /* body bytes received */
	uint64_t delayed;       /* open loop: sends held back by --max-in-flight */
	int64_t max_gap_ns;     /* longest token gap seen */
	int64_t t_start, t_end; /* the step's window (mono ns) */
	double cpu_s;           /* client CPU seconds (user + system) during the step */
	int64_t lag_ns[BENCH_LAG_N];      /* loop lag by the phase it was spent in */
	int64_t late_lag_ns[BENCH_LAG_N]; /* the same, of probes over BENCH_LAG_LATE_NS */
	uint64_t gaps, coalesced;         /* token gaps measured; of them, lines that came
					     in one read with the previous token (gap 0) */
	uint64_t conns;                   /* connections opened during the step */
	char msg[BENCH_E_N][160]; /* the first message of each class, sanitized */
};

/* Allocate a zeroed accumulator (aborts on OOM); free with free(). */
struct bench_acc *bench_acc_new(void);
void bench_acc_reset(struct bench_acc *a);
/* Add src into dst (histograms merged, counters summed, window widened). */
void bench_acc_merge(struct bench_acc *dst, const struct bench_acc *src);

/* A prompt: text (generate, openai) or messages (chat; also sent by openai). */
struct bench_prompt {
	char *text;         /* owned; never NULL */
	char **roles;       /* owned; nmsgs entries, NULL when none */
	char **contents;
	size_t nmsgs;
};

struct bench_prompts {
	struct bench_prompt *p;
	size_t n;
};

/*
 * Load --prompt-file: one prompt per non-empty line; a line starting with '{' is JSON
 * with "prompt" (a string) or "messages" ([{"role","content"}]). Returns 0, or -1 with
 * "FILE:LINE: message" in err.
 */
int bench_prompts_load(struct bench_prompts *ps, const char *path, char *err);
/* One prompt of the given text. */
void bench_prompts_add_text(struct bench_prompts *ps, const char *text);
void bench_prompts_release(struct bench_prompts *ps);

/* Append `words` words of deterministic filler text (for --prompt-tokens) to out. */
void bench_synth_text(struct buf *out, size_t words, uint64_t seed);
/*
 * Prompt calibration without a tokenizer: two probes of w1 < w2 words gave
 * prompt_eval_count p1 and p2; fit tokens = a + b * words and return the word count
 * whose prediction is nearest to `target` tokens (at least 1). Returns 0, or -1 when
 * the probes are unusable (p2 <= p1).
 */
int bench_calib_fit(size_t w1, int64_t p1, size_t w2, int64_t p2, int64_t target,
		    size_t *words);

struct bench_target {
	const char *name; /* instance name, or "balancer" / the URL */
	const char *url;  /* base URL */
};

struct bench_cfg {
	enum bench_mode mode;
	enum bench_api api;
	enum bench_endpoint endpoint;
	const char *model;
	int max_tokens;          /* num_predict / max_tokens; 0 = leave out */
	int num_ctx;             /* 0 = leave out */
	int has_keep_alive;
	int64_t keep_alive_ns;
	int has_seed;
	uint64_t seed;           /* schedules and synthetic text; sent as options.seed when has_seed */
	int unique_prefix;       /* prefix every prompt with a unique tag (defeats prompt caching) */
	const struct bench_prompts *prompts; /* at least one (not for endpoints) */
	int64_t timeout_ns;      /* per request; 0 = none */
	int64_t stall_ns;        /* a token gap this long makes the request a "stall" */
	int64_t cold_ns;         /* load_duration at or above this is a cold load */
	int cold_conns;          /* closed loop: do not open the step's connections before
				    it (set-up then counts in the step, as "connect") */
	int64_t duration_ns;     /* per step; 0 = use requests */
	uint64_t requests;       /* per step (and target); 0 = use duration */
	enum arrival_kind arrival;
	double burst;            /* gamma shape */
	size_t max_in_flight;    /* open loop cap per target; 0 = 10000 */
	const struct bench_target *targets; /* driven in parallel, each with the full load */
	size_t ntargets;
	/* Optional hooks. */
	void (*progress)(void *ud, const struct bench_progress *p);
	void (*sample)(void *ud, const struct bench_sample *s);
	void *ud;
	const volatile sig_atomic_t *stop; /* set (by a signal handler) to end at once */
};

struct bench_progress {
	double level;
	uint64_t done, total;     /* total 0 when the step is timed */
	int64_t elapsed_ns, duration_ns;
	uint64_t errors, shed;
	size_t in_flight;
	int64_t p95_ns;           /* TTFT p95 so far (E2E for endpoints) */
};

/* One finished request, for --samples. */
struct bench_sample {
	size_t target;
	int64_t t_ns;             /* planned send, mono ns relative to the step start */
	int64_t ttft_ns, e2e_ns, tpot_ns, load_ns, queue_ns;
	int64_t tokens, prompt_tokens;
	int cold;
	int err;                  /* -1 when ok, else an enum bench_err */
	const char *msg;          /* "" when ok */
};

struct bench;

struct bench *bench_new(struct http_engine *e, const struct bench_cfg *cfg);
void bench_free(struct bench *b);
/*
 * Run one step at `level` (streams or req/s) into acc[ntargets] (reset first).
 * Returns 0, 1 when interrupted (acc holds what finished), -1 with err.
 */
int bench_step(struct bench *b, double level, struct bench_acc *const *acc, char *err);
/*
 * Send n unmeasured requests per target, at most `conc` at a time (warm-up). Returns 0,
 * 1 when interrupted, -1 with err (every request failed: the message of the last), or
 * -2 when moreover every failure was one that more requests can only repeat (nothing
 * listening, unknown host, TLS, a 4xx such as model not found).
 */
int bench_warmup(struct bench *b, int n, int conc, char *err);
/*
 * Calibrate --prompt-tokens: probe the first target with two synthetic prompts and
 * return the word count for `tokens` prompt tokens in *words. Returns 0 or -1 with err.
 */
int bench_calibrate(struct bench *b, int64_t tokens, size_t *words, char *err);

/*
 * Build the request body for prompt p (seq numbers the request, for the unique prefix).
 * Returns 0, or -1 if out's cap was hit. Pure: for tests.
 */
int bench_build_body(const struct bench_cfg *cfg, const struct bench_prompt *p, uint64_t seq,
		     struct buf *out);
/* The request path of the configured API or endpoint ("/api/generate", "/api/version"). */
const char *bench_path(const struct bench_cfg *cfg);

/*
 * Per-token ITL: a request's chunk gaps (gaps[ngaps], between consecutive chunks with
 * text) and its token count (eval_count). When the chunks carried several tokens
 * (tokens - 1 > ngaps), each gap is split evenly over its share of the tokens_after_first
 * = tokens - 1 token gaps (shares differ by at most one), so the histogram receives one
 * value per token; otherwise each gap is one value. Returns the number of values recorded.
 */
uint64_t bench_itl_record(struct hist *h, const int64_t *gaps, size_t ngaps, int64_t tokens);

/* "closed"/"open", "generate"/"chat"/"openai"/"endpoint", "root"/"version"/"tags"/"ps". */
const char *bench_mode_name(enum bench_mode m);
const char *bench_api_name(enum bench_api a);
const char *bench_endpoint_name(enum bench_endpoint e);
int bench_api_parse(const char *s, enum bench_api *a);
int bench_endpoint_parse(const char *s, enum bench_endpoint *e);

/*
 * Parse a list of levels: "1,2,4,8", "1..64" (doubling), "1..64x2" (factor),
 * "1..20+5" (step), or one number. Values must be > 0 (integers when integral is set),
 * at most max_n of them, strictly increasing. Returns the count, or -1 with err.
 */
int bench_levels_parse(const char *s, int integral, double *out, size_t max_n, char *err);

#endif
