/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Ollama API client: model names, parsers for every reply obridge reads (into plain
 * C structs; cJSON never leaves lib/ollama), request body builders, error classification
 * and small helpers to send requests through lib/http.
 *
 * Ownership: every struct filled by a parser owns its strings (char *, NUL-terminated,
 * never NULL after a successful parse: absent strings are ""); free it with the matching
 * _release() function, which leaves it zeroed and reusable. Builders append to a caller's
 * struct buf. Parsers return 0, or -1 with a message in err (ERR_MAX bytes) naming what
 * was malformed; on failure the output struct is left released.
 */
#ifndef OBRIDGE_OLLAMA_OLLAMA_H
#define OBRIDGE_OLLAMA_OLLAMA_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

struct http_engine;
struct http_response;

/* Size of the message buffers in the structs below (same as ERR_MAX). */
#define OLLAMA_MSG_MAX 512

/* ---- names ---- */

/*
 * Canonical short form of a model name, as /api/tags and /api/ps list it, lower-cased:
 * "Llama3.2" -> "llama3.2:latest", "registry.ollama.ai/library/x:1b" -> "x:1b",
 * "user/m" -> "user/m:latest", "hf.co/u/m:Q4" -> "hf.co/u/m:q4" (a non-default host keeps
 * its namespace, as Ollama's DisplayShortest does). A "@digest" suffix is dropped.
 * Returns 0, or -1 with err for an empty or over-long name (out is set to "").
 */
int ollama_name_normalize(const char *in, char *out, size_t n, char *err);
/* True when two names denote the same model (normalised, case-insensitive). */
int ollama_name_equal(const char *a, const char *b);

/* ---- replies ---- */

struct ollama_details {
	char *format;              /* "gguf" */
	char *family;              /* "llama" */
	char *parameter_size;      /* "3.2B" */
	char *quantization_level;  /* "Q4_K_M" */
	int64_t context_length;    /* details.context_length when sent (recent tags), else 0 */
};

/* GET /api/version */
int ollama_parse_version(const char *json, size_t len, char *out, size_t n, char *err);

/* One entry of GET /api/tags. */
struct ollama_model {
	char *name;
	char *model;
	char *digest;              /* 64 hex, "" when absent */
	uint64_t size;             /* bytes on disk */
	int64_t modified_at;       /* wall ns; 0 when absent or unparsable */
	struct ollama_details details;
	char **capabilities;       /* ncapabilities strings; absent on servers before 0.9.1 */
	size_t ncapabilities;
};

struct ollama_tags {
	struct ollama_model *models;
	size_t n;
};

int ollama_parse_tags(const char *json, size_t len, struct ollama_tags *out, char *err);
void ollama_tags_release(struct ollama_tags *t);
/* The installed model matching name (normalised comparison), or NULL. */
const struct ollama_model *ollama_tags_find(const struct ollama_tags *t, const char *name);
/* True when the model has the capability ("completion", "embedding", ...). */
int ollama_model_has_cap(const struct ollama_model *m, const char *cap);

/* One entry of GET /api/ps. */
struct ollama_ps_entry {
	char *name;
	char *model;
	char *digest;
	uint64_t size;             /* memory of the runner (weights + KV + graph) */
	uint64_t size_vram;        /* part of size on GPU */
	struct ollama_details details;
	int64_t expires_at;        /* wall ns; valid when has_expires_at; INT64_MAX for
	                              dates beyond 2262 (Ollama's "forever" is ~2318) */
	int has_expires_at;
	char *expires_at_raw;      /* the server's string, "" when absent */
	int64_t context_length;    /* valid when has_context_length (servers >= 0.10.0) */
	int has_context_length;
};

struct ollama_ps {
	struct ollama_ps_entry *models;
	size_t n;
};

int ollama_parse_ps(const char *json, size_t len, struct ollama_ps *out, char *err);
void ollama_ps_release(struct ollama_ps *p);
const struct ollama_ps_entry *ollama_ps_find(const struct ollama_ps *p, const char *name);

/* POST /api/show (the fields obridge uses). */
struct ollama_show {
	struct ollama_details details;
	char *architecture;        /* model_info["general.architecture"], "" when absent */
	int64_t context_length;    /* model_info["<arch>.context_length"], 0 when absent */
	int64_t embedding_length;  /* model_info["<arch>.embedding_length"], 0 when absent */
	int64_t parameter_count;   /* model_info["general.parameter_count"], 0 when absent */
	char **capabilities;
	size_t ncapabilities;
};

int ollama_parse_show(const char *json, size_t len, struct ollama_show *out, char *err);
void ollama_show_release(struct ollama_show *s);

/* One line of the POST /api/pull progress stream. Strings are inline (no release). */
struct ollama_pull {
	char status[128];          /* "pulling manifest", "pulling 6a0746a1ec1a", "success" */
	char digest[80];           /* "sha256:..." or "" */
	int64_t total;             /* 0 when absent */
	int64_t completed;         /* 0 when absent */
	char error[OLLAMA_MSG_MAX]; /* the "error" value, "" when none */
};

int ollama_parse_pull(const char *line, size_t len, struct ollama_pull *out, char *err);

/* ---- streamed generate/chat (NDJSON) and OpenAI SSE chunks ---- */

enum ollama_wire {
	OLLAMA_WIRE_NATIVE = 0,    /* /api/generate, /api/chat: NDJSON, or one JSON object */
	OLLAMA_WIRE_OPENAI,        /* /v1/chat/completions and /v1/completions: SSE */
};

/*
 * One parsed chunk. text and thinking are lent: they point into the chunk's own buffers
 * and stay valid until the next parse into the same struct. Counters missing from the
 * line are 0. Use ollama_chunk_init()/ollama_chunk_release(). Cost: ~0.6 us for a token
 * line; the final line's "context" token array is skipped unparsed (~25 us for 4k ids).
 */
struct ollama_chunk {
	int kind;                  /* OLLAMA_CHUNK_* */
	const char *text;          /* response / message.content / delta.content / text */
	size_t text_len;
	const char *thinking;      /* thinking / message.thinking / delta.reasoning */
	size_t thinking_len;
	int done;                  /* native done:true, a progress stream's "status":"success",
	                              or a bare (non-streamed) OpenAI completion */
	char done_reason[32];      /* native done_reason or OpenAI finish_reason */
	int64_t total_duration;
	int64_t load_duration;
	int64_t prompt_eval_count;
	int64_t prompt_eval_duration;
	int64_t eval_count;
	int64_t eval_duration;
	int has_usage;             /* OpenAI usage object present */
	int64_t prompt_tokens;
	int64_t completion_tokens;
	int role_only;             /* OpenAI first delta with a role and no content */
	char error[512];           /* an error line's message ("" when none) */
	struct buf tbuf_;          /* storage for text */
	struct buf hbuf_;          /* storage for thinking */
	struct buf sbuf_;          /* scratch: a final line without its "context" array */
};

enum ollama_chunk_kind {
	OLLAMA_CHUNK_NONE = 0,     /* nothing: blank line, SSE comment or non-data field */
	OLLAMA_CHUNK_DATA,         /* a JSON chunk */
	OLLAMA_CHUNK_DONE,         /* SSE "data: [DONE]" */
	OLLAMA_CHUNK_ERROR,        /* an error object: error[] holds the message */
};

void ollama_chunk_init(struct ollama_chunk *c);
void ollama_chunk_release(struct ollama_chunk *c);
/*
 * Parse one line of a stream (as http's line mode delivers it). For OLLAMA_WIRE_OPENAI
 * the SSE framing is handled here: "data: " prefix, "[DONE]", blank lines and other
 * fields. Returns 0 (see c->kind), or -1 with err naming the malformed JSON (its first
 * bytes, sanitized).
 */
int ollama_chunk_parse(struct ollama_chunk *c, enum ollama_wire wire, const char *line,
		       size_t len, char *err);

/*
 * The state of one streamed response: feed it every line, then ask ollama_classify().
 * Also handles a non-streamed single object (it is just one line).
 */
struct ollama_stream {
	enum ollama_wire wire;
	struct ollama_chunk c;     /* the chunk just parsed */
	int64_t nchunks;           /* data chunks seen */
	int64_t ntokens;           /* chunks with non-empty text or thinking */
	int64_t first_token_ns;    /* t_ns of the first chunk with text/thinking, 0 if none */
	int64_t last_token_ns;
	size_t text_bytes;         /* text + thinking bytes received */
	int done;                  /* native done:true, or SSE [DONE] */
	int finished;              /* OpenAI finish_reason seen */
	char done_reason[32];
	int64_t total_duration, load_duration, prompt_eval_count, prompt_eval_duration;
	int64_t eval_count, eval_duration;
	int has_usage;
	int64_t prompt_tokens, completion_tokens;
	char error[512];           /* first error line's message, "" when none */
	char malformed[512];       /* first parse failure, "" when none */
	struct buf *keep_text;     /* optional: when set, every text piece is appended */
};

void ollama_stream_init(struct ollama_stream *s, enum ollama_wire wire);
void ollama_stream_release(struct ollama_stream *s);
/*
 * Feed one line. Returns 1 when the line carried generated text or thinking (a token
 * event, for TTFT/ITL), 0 otherwise, -1 when it was malformed (recorded in s->malformed).
 */
int ollama_stream_line(struct ollama_stream *s, const char *line, size_t len, int64_t t_ns);

/* ---- errors ---- */

enum ollama_err {
	OLLAMA_OK = 0,
	OLLAMA_E_REFUSED,          /* connection refused */
	OLLAMA_E_DNS,              /* host not resolved */
	OLLAMA_E_TLS,              /* TLS failure */
	OLLAMA_E_TIMEOUT,          /* connect or request timeout */
	OLLAMA_E_CONNECT,          /* other connection failure */
	OLLAMA_E_HTTP,             /* 4xx/5xx status (message from the {"error"} body) */
	OLLAMA_E_BUSY,             /* 503: the scheduler queue is full (load shed) */
	OLLAMA_E_STREAM,           /* an {"error"} line in a 200 stream */
	OLLAMA_E_TRUNCATED,        /* body cut off, or a stream without done / [DONE] */
	OLLAMA_E_MALFORMED,        /* invalid JSON */
	OLLAMA_E_TOO_BIG,          /* body or line over the cap */
	OLLAMA_E_ABORTED,          /* cancelled */
	OLLAMA_E_STALL,            /* the stream stopped for longer than stall_ns */
	OLLAMA_E_OTHER,
};

/* Short names: "refused", "dns", "tls", "timeout", "connect", "http", "busy", "stream",
 * "truncated", "malformed", "too-big", "aborted", "other" ("ok" for OLLAMA_OK). */
const char *ollama_err_name(enum ollama_err e);

/*
 * Classify a finished request. s is the stream state for streamed requests (NULL for a
 * plain request: then only transport and status are judged). Writes a human message
 * (server text sanitized) to msg (n bytes, "" when OK): "connection refused",
 * "HTTP 404: model 'x' not found", "server busy, please try again.  maximum pending
 * requests exceeded", "stream ended without done".
 */
enum ollama_err ollama_classify(const struct http_response *r, const struct ollama_stream *s,
				char *msg, size_t n);
/* The "error" message of an error body ({"error":"..."} or {"error":{"message":...}}),
 * sanitized into out; returns 0, or -1 when the body has none (out = ""). */
int ollama_error_message(const char *body, size_t len, char *out, size_t n);

/* ---- request bodies ---- */

enum ollama_opt_flags {
	OLLAMA_OPT_NUM_CTX = 1 << 0,
	OLLAMA_OPT_NUM_PREDICT = 1 << 1,
	OLLAMA_OPT_SEED = 1 << 2,
	OLLAMA_OPT_TEMPERATURE = 1 << 3,
	OLLAMA_OPT_TOP_K = 1 << 4,
	OLLAMA_OPT_TOP_P = 1 << 5,
	OLLAMA_OPT_NUM_GPU = 1 << 6,
	OLLAMA_OPT_NUM_BATCH = 1 << 7,
};

/* The "options" object: only the fields whose flag is in `set` are sent. */
struct ollama_options {
	unsigned set;
	int num_ctx;
	int num_predict;
	int64_t seed;
	double temperature;
	int top_k;
	double top_p;
	int num_gpu;
	int num_batch;
};

struct ollama_message {
	const char *role;          /* "system", "user", "assistant" */
	const char *content;
};

/* A generate or chat request; fields not given are left out of the body. */
struct ollama_gen_req {
	const char *model;
	const char *prompt;        /* generate; NULL = "" */
	const char *system;        /* generate: optional */
	const struct ollama_message *messages; /* chat */
	size_t nmessages;
	int stream;                /* sent as is: 0 -> "stream":false */
	int has_keep_alive;
	int64_t keep_alive_ns;     /* < 0 or DURATION_FOREVER -> -1 (forever) */
	int raw;                   /* generate: "raw":true */
	int think;                 /* 0 = leave out, 1 = true, -1 = false */
	struct ollama_options options;
};

/* Append the JSON value for keep_alive: whole seconds as a number, other durations as a
 * Go duration string, negative as -1. */
void ollama_add_keep_alive(struct buf *b, int64_t ns);
/* Append the request bodies. Each returns 0, or -1 when the buffer's cap was hit. */
int ollama_build_generate(struct buf *b, const struct ollama_gen_req *r);
int ollama_build_chat(struct buf *b, const struct ollama_gen_req *r);
/* Preload: empty prompt with keep_alive (when has_keep_alive) and options (may be NULL). */
int ollama_build_preload(struct buf *b, const char *model, int has_keep_alive,
			 int64_t keep_alive_ns, const struct ollama_options *o);
/* Unload: empty prompt with keep_alive 0. */
int ollama_build_unload(struct buf *b, const char *model);
int ollama_build_pull(struct buf *b, const char *model, int stream, int insecure);
int ollama_build_delete(struct buf *b, const char *model);
int ollama_build_copy(struct buf *b, const char *source, const char *destination);
int ollama_build_show(struct buf *b, const char *model, int verbose);
/* Embed: inputs may be NULL/0 for a preload of an embedding model. */
int ollama_build_embed(struct buf *b, const char *model, const char *const *inputs,
		       size_t ninputs, int has_keep_alive, int64_t keep_alive_ns);
/*
 * /v1/chat/completions: model, messages (or prompt as one user message), stream,
 * stream_options.include_usage when streaming and include_usage, max_tokens when > 0,
 * temperature/top_p/seed from r->options when set.
 */
int ollama_build_openai_chat(struct buf *b, const struct ollama_gen_req *r, int max_tokens,
			     int include_usage);

/* ---- sending ---- */

/* The outcome of a buffered request (ollama_get / ollama_post), lent to the callback. */
struct ollama_result {
	enum ollama_err err;
	char errmsg[OLLAMA_MSG_MAX];
	long status;
	const char *body;          /* the body ("" when none), NUL-terminated */
	size_t len;
	const struct http_response *resp; /* timings, content type */
};

/*
 * Send GET base_url+path (or POST with a JSON body) and call cb once with the classified
 * result. timeout_ns 0 = none. Returns the http request id, or -1 with err set (cb is
 * not called then). A non-2xx status is an error (OLLAMA_E_HTTP / OLLAMA_E_BUSY).
 */
long ollama_get(struct http_engine *e, const char *base_url, const char *path,
		int64_t timeout_ns, void (*cb)(void *ud, const struct ollama_result *res),
		void *ud, char *err);
long ollama_post(struct http_engine *e, const char *base_url, const char *path,
		 const char *body, int64_t timeout_ns,
		 void (*cb)(void *ud, const struct ollama_result *res), void *ud, char *err);

/* A result copied for later (ollama_fanout). */
struct ollama_reply {
	enum ollama_err err;
	char errmsg[OLLAMA_MSG_MAX];
	long status;
	char *body;                /* owned, "" when none */
	size_t len;
	int64_t latency_ns;        /* start to end */
};

/*
 * Send the same request to every base URL at once and run the engine until all have
 * answered (for one-shot commands such as ps and health). method "GET" or "POST" (body
 * then used). out[n] is filled; release each with ollama_reply_release(). Returns the
 * number of replies with err == OLLAMA_OK.
 */
size_t ollama_fanout(struct http_engine *e, const char *const *base_urls, size_t n,
		     const char *method, const char *path, const char *body,
		     int64_t timeout_ns, struct ollama_reply *out);
void ollama_reply_release(struct ollama_reply *r);

/*
 * Streamed request (generate, chat, pull, /v1/chat/completions): POST body to
 * base_url+path in line mode; every line goes through ollama_stream_line(), then
 * on_line(ud, stream, is_token, t_ns) is called (optional; return non-zero to stop), and
 * at the end on_done(ud, stream, class, message, resp) exactly once. The stream state is
 * lent during callbacks. Returns the request id or -1 with err.
 */
struct ollama_stream_req {
	const char *base_url;
	const char *path;
	const char *body;
	enum ollama_wire wire;
	int64_t timeout_ns;
	int64_t stall_ns;          /* a gap this long in the stream fails it (0: none) */
	int64_t start_at;          /* intended send time for open-loop runs; 0 = now */
	struct buf *keep_text;     /* optional: collect the generated text here */
	int (*on_line)(void *ud, const struct ollama_stream *s, int is_token, int64_t t_ns);
	void (*on_done)(void *ud, const struct ollama_stream *s, enum ollama_err err,
			const char *msg, const struct http_response *resp);
	void *ud;
};

long ollama_stream_submit(struct http_engine *e, const struct ollama_stream_req *r,
			  char *err);

#endif
