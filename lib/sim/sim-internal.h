/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Structures shared by the simulator's files: instances, models, runners, requests, timers. */
#ifndef OBRIDGE_SIM_SIM_INTERNAL_H
#define OBRIDGE_SIM_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../stats/hist.h"
#include "../util/buf.h"
#include "sim.h"

struct MHD_Daemon;
struct MHD_Connection;
struct sim;
struct siminst;
struct simreq;

/* A timer; armed when idx != SIZE_MAX. Embedded in its owner. */
struct simtimer {
	int64_t when;
	size_t idx;
	void (*fn)(void *arg);
	void *arg;
};

/* A catalogue entry (built in, or made up for an unknown name). */
struct simcat {
	const char *name;     /* canonical, "llama3.2:latest" */
	const char *arch;     /* general.architecture */
	const char *family;
	const char *param_size;
	const char *quant;
	uint64_t param_count;
	uint64_t file_size;
	uint64_t weights_mem; /* loaded size without the KV cache */
	uint64_t kv_per_tok;  /* KV cache bytes per context token */
	int ctx_train;
	int emb_len;
	const char *caps;     /* comma list */
	int embed_only;
};

/* A model known to an instance; never freed before the instance (runners point at it). */
struct simmodel {
	char *name;           /* canonical */
	struct simcat cat;    /* copy; strings point at static or owned storage */
	char *owned_name;     /* storage for cat.name when made up */
	char digest[65];
	int64_t modified_ns;  /* wall */
	/* made by /api/create (simops.c): owned, NULL otherwise */
	char *base;           /* the catalogue model whose layers it shares */
	char *system;
	char *params;         /* "name value" lines, as /api/show's parameters */
	int installed;
	int pulling;
	/* stats */
	uint64_t requests, loads, unloads;
	int max_concurrent;
};

struct simq {
	struct simreq *head, *tail;
	size_t len;
};

enum simrunner_state {
	RUNNER_LOADING,
	RUNNER_READY,
	RUNNER_UNLOADING,
};

struct simrunner {
	struct siminst *in;
	struct simmodel *m;
	enum simrunner_state state;
	int num_ctx;
	int parallel;
	int refcount;         /* granted requests not finished (slot holders and waiters) */
	int busy;             /* slots in use */
	int evicting;         /* chosen as a victim: unload as soon as idle */
	int64_t keep_alive;   /* ns; DURATION_FOREVER */
	int64_t expires_wall; /* ns, valid unless expires_forever */
	int expires_forever;
	int64_t ready_mono;
	struct simtimer timer; /* load done / keep_alive expiry / unload done */
	struct simq slotq;
	struct simq loadwait; /* the request this load is for: out of the pending queue */
	struct simrunner *next;
};

enum simreq_kind {
	REQ_PLAIN,    /* answered at once */
	REQ_GENERATE,
	REQ_CHAT,
	REQ_EMBED,
	REQ_EMBEDDINGS, /* legacy /api/embeddings */
	REQ_V1CHAT,
	REQ_V1COMPL,
	REQ_V1EMBED,
	REQ_PULL,
	REQ_CREATE,
	REQ_PUSH,
	REQ_HANG,
};

enum simreq_state {
	RS_BODY,      /* reading the body */
	RS_HANG,      /* never answered */
	RS_STREAMREADY, /* a streamed reply (pull, truncated body) is ready to queue */
	RS_QUEUED,    /* in the load queue */
	RS_SLOTWAIT,  /* granted, waiting for a slot */
	RS_RUN,       /* holding a slot (or preloading), producing */
	RS_REPLY,     /* a response is ready to queue on the next handler call */
	RS_STREAM,    /* streaming response queued */
	RS_DONE,
};

struct simreq {
	struct siminst *in;
	struct MHD_Connection *conn;
	struct simconn *sc;
	enum simreq_kind kind;
	enum simreq_state state;
	int path_idx;
	int counted;           /* counts in in_flight */
	int body_too_big;
	char *location;        /* redirect target */
	int stall_done, mid_done;
	int v1;                /* OpenAI-style errors */
	int dims;
	int suspended;
	int cancelled;
	int64_t t_entry;       /* mono */
	int64_t t_body;        /* mono: headers and body read (server TTFT starts here) */
	char *host;            /* Host header */
	struct buf body;
	/* parsed request */
	char *model_req;       /* as sent */
	struct simmodel *m;
	int stream;
	int has_keep_alive;
	int64_t keep_alive;
	int num_ctx;
	int num_predict;
	int raw;
	int no_truncate;       /* embed "truncate":false */
	int think;             /* the first third of the tokens are thinking */
	char *thinking;        /* joined thinking text for stream:false */
	int include_usage;
	int preload;           /* empty prompt/messages/input */
	int unload;
	int prompt_tokens;
	int ninputs;           /* embed inputs */
	uint64_t text_hash;
	/* structured output, tools, base64 (simgen.c) */
	char **pieces;         /* format: the fixed answer, one piece per token */
	int npieces;
	char *tool_name;       /* a tool call is the answer (JSON-escaped when printed) */
	char *tool_args;       /* its arguments, a JSON object text */
	char tool_id[24];
	int b64;               /* /v1/embeddings encoding_format "base64" */
	/* create and push (simops.c) */
	int op_step, op_layer, op_nlayers, op_nlines;
	char **op_lines;       /* create: status texts */
	struct simmodel *op_model;
	char *op_name;         /* create: the canonical new name */
	char *op_system, *op_params;
	char op_digest[65];
	uint64_t op_sizes[8], op_done[8];
	char op_dig[8][65];
	int op_fail, op_missing, op_layer_started;
	/* scheduling */
	struct simrunner *runner;
	int holds_slot;
	struct simreq *qprev, *qnext;
	struct simq *inq;
	int64_t t_granted, t_slot, t_first, t_final;
	int64_t t_pe_end;      /* nominal end of prompt eval (mono) */
	/* production */
	int ntokens;
	int natural_len;
	int tok_sent;
	int64_t next_due;
	int fault_500, fault_malformed, fault_error, fault_truncate;
	int64_t stall_ns;
	/* emission truth (sim.h, "emission"): tokens produced since the last token-carrying
	 * chunk, whether their bytes are in out (a tool call holds its tokens back), and the
	 * hand-off time of the last token-carrying chunk (em_chunks of them so far) */
	int em_tokens, em_carry;
	uint64_t em_chunks;
	int64_t t_emit;
	int stalled;
	int slowf;
	int final_sent;
	int finished;          /* producer reached the end */
	int abort_stream;      /* end with an error after pending bytes */
	struct buf out;        /* pending output */
	size_t out_off;
	struct buf text;       /* full text for stream:false */
	int64_t created_unix;
	int chatcmpl_id;
	/* pull */
	int pull_step, pull_layer, pull_nlayers;
	uint64_t pull_sizes[6];
	uint64_t pull_done[6];
	char pull_dig[6][65];
	int pull_known;
	int pull_err;
	int pull_started[6];
	char *pull_name;
	int pull_had;
	double pull_fail_at;   /* pull-cut/disk-full: share of the weights where it fails, 0 none */
	int pull_fail_disk;    /* the failure is a full disk */
	char pull_want[65];    /* the registry's digest of the model */
	/* reply */
	int status;
	struct buf reply;
	const char *reply_type;
	struct simtimer timer;
	struct simreq *allnext, *allprev; /* all requests of the instance */
};

/* Per-connection state: watches the socket for the peer going away while suspended. */
struct simev {
	int type;
	void *obj;
};

struct simconn {
	struct simev ev; /* first */
	struct siminst *in;
	int fd;
	struct simreq *req;
};

/* Emission truth of one instance (GET /_sim/stats "emission", sim.h): allocated on the
 * first token-carrying chunk of the instance, kept (and zeroed) by /_sim/reset. */
struct simemit {
	uint64_t streams, chunks, tokens;
	struct hist gaps; /* ns between hand-offs of consecutive token-carrying chunks */
	struct hist ttft; /* ns from the request read (t_body) to the first one */
};

struct siminst {
	struct simev ev;
	struct simtimer applyt; /* apply down/up from the loop */
	struct sim *sim;
	int idx;
	char *name;
	int port;
	struct sim_settings st;
	struct MHD_Daemon *d;
	int dfd;               /* daemon epoll fd in the loop, -1 when down */
	int up;
	int pending_down;      /* apply down at the next loop turn */
	int pending_up;
	struct simmodel **models;
	size_t nmodels;
	struct simrunner *runners;
	struct simq loadq;     /* serial pending queue */
	int loader_busy;       /* a load or unload in progress */
	struct simtimer kick;  /* re-run the loader */
	uint64_t rng;
	char *registry_extra;
	/* pulls cut short: bytes of each layer already on disk, resumed by the next pull */
	struct simpartial {
		char *name;
		uint64_t done[6];
	} *partials;
	size_t npartials;
	/* stats */
	uint64_t path_count[32];
	uint64_t status_count[600];
	long in_flight, generating, waiting_slot;
	size_t max_waiting_load;
	uint64_t loads, unloads, rejected, tokens;
	struct simemit *emit;  /* NULL until the first streamed token */
	struct simreq *all;
	int self_fault_delay;
};

struct sim {
	int epfd;
	struct simtimer **heap;
	size_t nheap, capheap;
	struct siminst *inst;
	size_t ninst;
	char *host;
	void (*log)(void *arg, const char *line);
	void *log_arg;
	int64_t start_wall;
	int chatcmpl_seq;
	int loopback;          /* listening on loopback: check Host like Ollama */
	int woke;              /* a connection was resumed since the last MHD_run pass */
	char err[512];
};

/* sim.c */
void simtimer_arm(struct sim *sim, struct simtimer *t, int64_t when);
void simtimer_cancel(struct sim *sim, struct simtimer *t);
void sim_logf(struct sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void simreq_wake(struct simreq *r);
int64_t siminst_delay(struct siminst *in, int64_t ns);

/* simapi.c */
/* A new request: route it, count it. */
void simapi_begin(struct simreq *r, const char *url, const char *method);
/* The body is complete: parse and answer, or hand over to the scheduler. */
void simapi_dispatch(struct simreq *r, const char *url, const char *method);
/* Append at most one unit (token line, progress line, final) if due; 1 when appended. */
int simapi_produce(struct simreq *r, int64_t now);
/* First token due on a streaming request: 1 to start streaming, 0 when a reply was set. */
int simapi_stream_start(struct simreq *r);
void simreq_on_grant(struct simreq *r);
void simreq_on_slot(struct simreq *r);
/* Answer with a native (or /v1) error and release the scheduler state. */
void simreq_fail(struct simreq *r, int status, const char *msg);
void siminst_schedule_apply(struct siminst *in, int64_t delay_ns);

/* simapi.c, for simops.c */
struct cJSON;
void simapi_error(struct simreq *r, int status, const char *msg);
int simapi_get_str(struct simreq *r, struct cJSON *j, const char *key, const char *st,
		   const char **out);
int simapi_get_bool(struct simreq *r, struct cJSON *j, const char *key, const char *st, int *out);
int simapi_roll(struct siminst *in, int kind);
#define NDJSON_TYPE "application/x-ndjson"

/* simops.c: /api/create and /api/push */
void simops_create(struct simreq *r, struct cJSON *j);
void simops_push(struct simreq *r, struct cJSON *j);
int simops_produce(struct simreq *r, int64_t now, struct buf *o);
void simops_release(struct simreq *r);
/* The layers of a model as pull and push show them: digests and sizes; returns the count. */
int simops_layers(const struct simmodel *m, char dig[][65], uint64_t *sizes, int max);

/* simemit.c: the emission truth ("emission" of GET /_sim/stats, sim.h) */
/* A chunk carrying r->em_tokens tokens is handed to libmicrohttpd at now (mono). */
void simemit_record(struct simreq *r, int64_t now);
/* {"streams":..,"chunks":..,"tokens":..,"gaps":{..},"ttft":{..}}; em NULL gives zeros. */
void simemit_json(struct buf *b, const struct simemit *em);
/* The same merged over every instance of the sim. */
void simemit_json_all(struct buf *b, struct sim *sim);
/* Zero the figures of one instance (POST /_sim/reset). */
void simemit_reset(struct siminst *in);

/* simgen.c */
/* A JSON value (text) that satisfies the schema: every property, enum/const, bounds. */
char *simgen_schema_value(const struct cJSON *schema, uint64_t seed);
/* The answer for a "format": "json" (any object) or a JSON schema. */
char *simgen_format_text(const struct cJSON *format, uint64_t seed);
/* Cut text into token-sized pieces; returns their number. */
int simgen_pieces(const char *text, char ***out);
void simgen_pieces_free(char **v, int n);
void simgen_base64(struct buf *b, const unsigned char *d, size_t n);
/* -1 when s is valid base64, else the offset of the bad byte (as Go reports it). */
long simgen_base64_bad(const char *s);

/* simsched.c */
void simsched_init(struct siminst *in);
void simsched_want_slot(struct simreq *r);
void simq_push(struct simq *q, struct simreq *r);
void simq_remove(struct simq *q, struct simreq *r);
struct simrunner *simsched_find(struct siminst *in, struct simmodel *m);
/* Start scheduling a parsed inference request; it is woken when granted (or failed). */
void simsched_submit(struct simreq *r);
/* The request is over (or cancelled): release its slot, queue place and runner. */
void simsched_release(struct simreq *r);
/* keep_alive 0 with an empty prompt: expire the model's runner. */
void simsched_expire(struct siminst *in, struct simmodel *m);
void simsched_drop_all(struct siminst *in);
void simsched_slot_done(struct simreq *r);

/* simmodel.c */
const struct simcat *simmodel_catalogue(size_t *n);
/* Canonical form of a model name ("llama3.2" -> "llama3.2:latest"); caller frees. */
char *simmodel_canonical(const char *name);
struct simmodel *simmodel_find(struct siminst *in, const char *name, int installed_only);
struct simmodel *simmodel_add(struct siminst *in, const char *canonical, int installed);
void simmodel_free(struct simmodel *m);
/* "registry.ollama.ai/library/llama3.2:latest": the full name Ollama's errors use. */
char *simmodel_fullname(const char *canonical);
int simmodel_known(struct siminst *in, const char *canonical);
uint64_t simmodel_hash(const char *s, uint64_t seed);
void simmodel_hex(uint64_t seed, const char *s, char out[65]);
uint64_t simmodel_loaded_size(const struct simmodel *m, int num_ctx, int parallel);
void simmodel_details(struct buf *b, const struct simmodel *m, int with_ctx);
const char *simmodel_word(uint64_t h, int i);
uint64_t sim_rand(uint64_t *state);
double sim_randf(uint64_t *state);

#endif
