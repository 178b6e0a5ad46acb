/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge sim: a simulated Ollama fleet (wire format, scheduler, faults) on libmicrohttpd. */
#ifndef OBRIDGE_SIM_SIM_H
#define OBRIDGE_SIM_SIM_H

#include <stddef.h>
#include <stdint.h>

/*
 * One process serves N instances ("gpu-1" ... "gpu-N") on consecutive ports from a single
 * thread: every libmicrohttpd daemon runs in external epoll mode inside sim_run()'s event
 * loop, streaming responses are suspended between tokens and resumed by a timer heap.
 *
 * Timing model (all delays multiplied by 10 under the "slow" fault, and by a seeded
 * uniform factor 1 ± jitter% when --jitter is set):
 *   load_duration    = time in the serial load queue + cold load (load_time) if needed
 *   slot wait        = time waiting for one of num_parallel slots (total_duration only)
 *   prompt eval      = prompt_tokens / prefill_rate + ttft; the first token goes out at its end
 *   eval             = one token every tok_interval; the final chunk one interval after the last
 * The final chunk reports the measured (not nominal) durations.
 *
 * Prompt tokens (sim_text_tokens and simapi.c): ceil(bytes / 4) of each text, plus a template overhead
 * of 4 tokens per chat message (system and prompt count as messages for generate) plus 3
 * for the assistant header. Embeddings count ceil(bytes / 4) + 2 per input.
 * A prompt longer than num_ctx is cut to num_ctx tokens (embed with "truncate":false: 400).
 *
 * Fault specs (--fault, "fault" key, POST /_sim/fault):
 *   KIND[=ARG][@FRACTION]      KIND is one of
 *     down        stop listening (connections are closed); "up" listens again on the same port
 *     up          undo down
 *     hang        accept requests and never answer (any Ollama path)
 *     slow        every delay x10 (load, prefill, ttft, token interval, pull)
 *     500         inference fails with 500 {"error":"llama runner process has terminated: ..."};
 *                 a preload that needs a cold load fails the same way (the load crashed)
 *     503         inference fails at once with the 503 "server busy" reply
 *     malformed   one malformed JSON line in the middle of a stream (the stream then goes on)
 *     error       an {"error":...} line in the middle of a stream, then the stream ends
 *     truncate    the connection is closed in the middle of a stream, without done
 *     stall=DUR   the stream pauses for DUR in its middle
 *     pull-cut[=SHARE]  a pull stops with {"error":"max retries exceeded: unexpected EOF"}
 *                 once SHARE (default 0.5) of the model's bytes are on disk; the next pull
 *                 resumes from there (so it passes that point and finishes)
 *     disk-full[=SHARE] a pull fails at SHARE (default 0.5) of the bytes with Ollama's
 *                 "write .../blobs/sha256-<hex>-partial: no space left on device"
 *     none|clear  remove every fault
 *   FRACTION (0..1, default 1) applies the fault to that share of requests (seeded RNG).
 *   Several faults may be active on an instance: --fault options add up (setting a kind
 *   again replaces it); POST /_sim/fault replaces the active faults with its spec ("up"
 *   only lifts down) unless the body has "add": true, which adds it like --fault.
 *   /api/push: error and 500 break the upload mid-weights ("max retries exceeded: ..."),
 *   truncate drops the connection there, stall pauses it, slow divides its rate by 10.
 *   500 comes when the first token would be due (after any load and slot wait). With
 *   "stream":false, malformed cuts the JSON body in half, error answers 500 {"error"} and
 *   truncate sends half the body and closes. The OpenAI layer ends an errored SSE stream
 *   without a finish chunk or [DONE]. "mid-error" is accepted for "error".
 *
 * Control endpoints, answered by every instance (also when the target instance is down):
 *   POST /_sim/fault  {"instance":"gpu-2","fault":"down","add":false}   instance defaults
 *       to the receiving one, "*" means every instance; answers
 *       {"instances":[{"instance":"gpu-2","faults":["down"]}]}
 *   GET  /_sim/stats  counters of every instance (shape below)
 *   POST /_sim/reset  zero the counters, the emission figures included (not the state)
 *
 * GET /_sim/stats:
 *   {"instance":"gpu-1",                      the instance that answered
 *    "instances":[{
 *      "name":"gpu-1","port":11434,"up":true,"faults":["slow","500@0.25"],
 *      "requests":{"/api/generate":3,...},   requests per Ollama path (unknown paths as "other")
 *      "status":{"200":3,"503":1},           responses per HTTP status (499 = client left)
 *      "in_flight":N,                         Ollama-path requests not finished yet
 *      "generating":N,                        requests holding a parallel slot
 *      "waiting_slot":N,                      granted a runner, waiting for a slot
 *      "waiting_load":N,                      in the serial load queue (not the request
 *                                             a load is in progress for: as in Ollama it
 *                                             has left the queue, --max-queue counts the
 *                                             ones behind it)
 *      "max_waiting_load":N,                  highest waiting_load seen
 *      "loads":N,"unloads":N,"rejected":N,   totals (rejected = 503 queue full)
 *      "tokens":N,                            tokens sent
 *      "models":[{"name":"llama3.2:latest","installed":true,"loaded":true,
 *                 "state":"ready|loading|unloading|none",
 *                 "active":N,"max_concurrent":N,"requests":N,"loads":N,"unloads":N,
 *                 "num_ctx":N}],
 *      "emission":EMISSION}],                 this instance's emission truth (below)
 *    "emission":EMISSION}                     the same merged over every instance
 *
 * EMISSION, the server side of a client's TTFT and ITL (all integers, 0 when nothing was
 * recorded; durations in ns, percentiles from lib/stats's histogram, within 0.4%):
 *   {"streams":N,                 streamed inference responses that sent a token
 *    "chunks":N,                  token-carrying chunks handed to libmicrohttpd
 *    "tokens":N,                  tokens those chunks carried (tokens >= chunks)
 *    "gaps":{"count":N,"p50_ns":N,"p90_ns":N,"p99_ns":N,"max_ns":N,"mean_ns":N},
 *    "ttft":{same keys}}
 * Streamed inference is /api/generate, /api/chat, /v1/chat/completions and /v1/completions
 * with streaming on; stream:false answers, embeddings, pull, create and push record nothing.
 * A chunk is what one call of the stream's content reader gives libmicrohttpd; it is
 * token-carrying when it holds the bytes of at least one token (a thinking token counts; the
 * final done/[DONE] lines, and the malformed and error fault lines, do not). Its hand-off
 * time is the CLOCK_MONOTONIC reading taken by that call just before it makes the lines
 * (and stamps their created_at from the wall clock, microseconds later); the bytes go to
 * libmicrohttpd when the call returns. A line too long for libmicrohttpd's buffer is
 * handed over in several calls: it counts once, at the first.
 *   gaps: one per token-carrying chunk after a stream's first, the time since the one
 *         before it in the same stream. Batching rule: lines due at the same moment
 *         (tok-interval 0, or a loop running late) go out in one chunk (see below), and
 *         that chunk is one gap, not one per token; "tokens" minus "chunks" says how many
 *         tokens rode along in a chunk with another. So with --tokens T at a tok-interval
 *         > 0 a stream gives T chunks and T-1 gaps; at tok-interval 0 it gives one chunk
 *         (up to 64 lines and 8 KB of them) and no gap. A tool-call answer holds its
 *         tokens back and sends them in one line: one chunk, all its tokens, no gap.
 *         A stall fault's pause is a gap like any other.
 *   ttft: one per stream, from the moment the request was read (headers and body: the
 *         handler's last call, before the request is parsed) to the hand-off of its first
 *         token-carrying chunk; it includes load, slot and queue waits, prompt eval and
 *         --ttft, and the loop's own lateness.
 *   streams counts the ttft records; gaps.count + streams = chunks, except that a stream
 *   under way at a /_sim/reset adds its later gaps and chunks but not its TTFT. Cost per
 *   chunk: no clock read of its own (the reader reads the clock anyway), one histogram
 *   update; the figures of an instance (78 KB) are allocated at its first streamed token.
 *
 * Every response carries "X-Sim-Instance: NAME". Bound to loopback, requests whose Host is not
 * an IP, localhost, the host name or *.localhost|*.local|*.internal get 403 (as Ollama).
 * Models with the "thinking" capability (deepseek-r1:7b in the catalogue) think by default:
 * the first third of their tokens arrive as "thinking" (think:false turns it off).
 * Lines that are due at the same moment (tok-interval 0, or a loop running late) are sent
 * in one write (up to 64 lines); otherwise every token is its own HTTP chunk.
 * Every response carries "X-Sim-Instance: NAME".
 *
 * Made-up answers (simgen.c, simops.c): "format" ("json" or a JSON schema; /v1
 * response_format) gives JSON that parses and follows the schema; a chat with "tools" on a
 * model with the tools capability whose last message is from the user answers with a call of
 * the first tool (arguments from its parameter schema); /v1/embeddings encoding_format
 * base64 gives little-endian float32 in base64; /api/create makes a new model from an
 * installed one (the stream: using existing / creating new layer lines, writing manifest,
 * success); /api/push streams retrieving manifest, pushing <layer> progress, pushing
 * manifest, success; /api/delete expires a loaded runner.
 */

enum sim_fault_kind {
	SIM_FAULT_DOWN,
	SIM_FAULT_HANG,
	SIM_FAULT_SLOW,
	SIM_FAULT_500,
	SIM_FAULT_503,
	SIM_FAULT_MALFORMED,
	SIM_FAULT_ERROR,
	SIM_FAULT_TRUNCATE,
	SIM_FAULT_STALL,
	SIM_FAULT_PULL_CUT,  /* a pull stops after a share of the model's bytes (resumable) */
	SIM_FAULT_DISK_FULL, /* a pull fails with Ollama's "no space left on device" */
	SIM_FAULT__N
};

/* A fault is active when frac > 0. */
struct sim_fault {
	double frac;    /* share of requests it applies to, 0..1 */
	int64_t arg_ns; /* stall duration */
	double arg_share; /* pull-cut, disk-full: share of the model's bytes written first */
};

/* Settings of one instance: the command-line defaults, then its own overrides. */
struct sim_settings {
	char *models;      /* comma list of installed models */
	char *registry;    /* extra comma list of names pull knows */
	char *registry_missing; /* comma list of names the registry does not have */
	char *store;       /* instances with the same store name share their models ("" none) */
	char *version;
	char *digests;     /* comma list of MODEL@SALT: another digest for that model */
	int num_parallel;
	int max_queue;
	int max_loaded;
	int tokens;
	int num_ctx;       /* default context */
	int64_t keep_alive_ns;
	int64_t load_ns;
	int64_t unload_ns;
	int64_t ttft_ns;
	int64_t tok_interval_ns;
	int64_t pull_ns;   /* time a full pull of a 2 GB model takes */
	double prefill_rate;
	double jitter_pct;
	uint64_t vram;     /* bytes of GPU memory per instance; 0 = everything fits */
	uint64_t seed;
	struct sim_fault faults[SIM_FAULT__N];
};

struct sim_override {
	char *instance;
	char *key;
	char *value;
};

/* Owned strings are released by sim_config_release. */
struct sim_config {
	char *host;
	int port;
	int n;
	struct sim_settings defaults;
	struct sim_override *ov;
	size_t nov;
	/* Called for "sim gpu-1 listening on ..." and other state changes (never NULL lines). */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

struct sim;

/* Fill cfg with the documented defaults. */
void sim_config_init(struct sim_config *cfg);
void sim_config_release(struct sim_config *cfg);
void sim_settings_release(struct sim_settings *s);
void sim_settings_copy(struct sim_settings *dst, const struct sim_settings *src);

/*
 * Set one key (the long option names: models, num-parallel, max-queue, max-loaded,
 * keep-alive, load-time, unload-time, ttft, tok-interval, prefill-rate, tokens, jitter,
 * seed, fault, version, registry, registry-missing, store, digest, num-ctx, pull-time,
 * vram) from its text value. Pull knows every well-formed name except those in
 * registry-missing; instances with the same store share one model store (a finished pull
 * installs the model on all of them, as a shared OLLAMA_MODELS directory would).
 */
int sim_settings_set(struct sim_settings *s, const char *key, const char *value, char *err);

/* Add an override for one instance ("gpu-2", "num-parallel", "4"); copies the strings. */
void sim_config_override(struct sim_config *cfg, const char *instance, const char *key,
			 const char *value);

/*
 * Parse "NAME:key=value,key=value" (a piece without '=' continues the previous value, so
 * "gpu-2:models=a,b,tokens=9" works) into overrides. Returns 0 or -1 with err.
 */
int sim_config_instance_arg(struct sim_config *cfg, const char *arg, char *err);

/* Parse one fault spec (see above) into s->faults; "none" clears them. */
int sim_fault_apply(struct sim_settings *s, const char *spec, char *err);
/* --fault [INSTANCE:]SPEC: for every instance, or as an override of one. */
int sim_config_fault_arg(struct sim_config *cfg, const char *arg, char *err);
/*
 * Load a config file (INI): [sim] with instances, port, fault and any setting, and
 * [instance NAME] sections of overrides. Returns 0, or -1 with "PATH: message" in err.
 */
int sim_config_load(struct sim_config *cfg, const char *path, char *err);
/* Format the active faults as a comma list ("" when none) into out. */
void sim_fault_describe(const struct sim_settings *s, char *out, size_t n);

/* Deterministic prompt token count for one text (ceil(bytes/4)). */
int sim_text_tokens(const char *text);

/*
 * Start every instance (they listen when this returns). Raises RLIMIT_NOFILE.
 * Returns NULL with err on failure (e.g. a port in use).
 */
struct sim *sim_start(const struct sim_config *cfg, char *err);
/* The fleet file describing the running instances; the caller frees it. */
char *sim_fleet_text(struct sim *sim);
/* Serve until stop_fd becomes readable (e.g. a signalfd). Returns 0, or -1 with err. */
int sim_run(struct sim *sim, int stop_fd, char *err);
/* Stop every daemon and free everything. */
void sim_free(struct sim *sim);

/* The version of libmicrohttpd in use. */
const char *sim_lib_version(void);

#endif
