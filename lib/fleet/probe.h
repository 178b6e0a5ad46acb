/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Probing the fleet: every instance in parallel, at a depth (level), into a snapshot that
 * health, top and preload read. Level 1: reachable (HEAD /, /api/version). Level 2: the
 * fleet's models installed (/api/tags, digests compared across instances) and resident
 * (/api/ps, with the fleet's num_ctx). Level 3: a timed 1-token generate (/api/embed for
 * an embedding model) per resident model that sends the fleet's num_ctx and keep_alive,
 * so the probe never causes a reload; a model that is not resident is skipped (a check
 * must not change what it checks: a load could evict a model that traffic needs) unless
 * probe_opts.load asks for it.
 *
 * Ownership: struct probe_result owns everything in it; release with probe_result_release.
 * Instance and model pointers into the fleet are borrowed: the fleet must outlive it.
 */
#ifndef OBRIDGE_FLEET_PROBE_H
#define OBRIDGE_FLEET_PROBE_H

#include <stddef.h>
#include <stdint.h>

struct fleet;
struct fleet_instance;
struct http_engine;
struct nagios_range;

/* A load_duration above this in a level-3 probe means it hit a cold load. */
#define PROBE_COLD_LOAD_NS (500LL * 1000 * 1000)

enum probe_state { PROBE_OK = 0, PROBE_WARN = 1, PROBE_CRIT = 2, PROBE_UNKNOWN = 3 };

struct probe_model {
	char *name;            /* canonical model name */
	int required;          /* in the fleet file for this instance (else: seen loaded) */
	int installed;         /* in /api/tags */
	char digest[72];       /* from /api/tags, "" when not installed */
	int drift;             /* digest differs from the fleet's majority */
	char *majority_digest; /* set when drift */
	int split;             /* the digests differ and no majority decides: none is blamed */
	char *split_list;      /* with split: "gpu-1 abcdef012345, gpu-2 ..." */
	int resident;          /* in /api/ps */
	uint64_t size, size_vram;
	int64_t context_length;/* 0 when not reported */
	int64_t expires_at;    /* wall ns; INT64_MAX for forever */
	int want_ctx;          /* the fleet's num_ctx, 0 when none */
	int embed;             /* embedding-only (capabilities): probed through /api/embed */
	/* level 3 */
	int skipped;           /* not resident (or residency unknown): not probed, see load */
	int probed;
	int gen_ok;
	int64_t gen_ns;        /* client-measured latency of the 1-token generate */
	int64_t load_ns;       /* the server's load_duration */
	int cold;              /* the probe paid a cold load */
	char gen_err[640];
};

struct probe_instance {
	const struct fleet_instance *in;
	int up;                 /* HEAD / answered 200 */
	long root_status;
	char version[48];
	int64_t root_ns;        /* HEAD / latency */
	int64_t latency_ns;     /* the figure thresholds apply to: generate (L3) or HEAD / */
	char errclass[16];      /* ollama_err_name() when down */
	char errmsg[640];       /* why down, sanitized */
	int local_err;          /* down for a local reason (no descriptor left): UNKNOWN */
	int64_t cert_expiry_s;  /* https: the certificate's notAfter (epoch s), 0 unknown */
	char tls_version[16];   /* https: "TLSv1.3", "" unknown */
	int tags_ok, ps_ok;
	char tags_err[640], ps_err[640];
	struct probe_model *models;
	size_t nmodels;
	/* evaluation (probe_evaluate) */
	enum probe_state state;
	char *summary;          /* one line: "up, 0.12.3, HEAD / 2.1ms, ..." */
	char **problems;        /* NULL-terminated human lines; empty when OK */
	size_t nproblems;
};

/* The balancer's certificate (health --cert-days with an https [fleet] balancer). */
struct probe_balancer {
	int checked;
	char url[512];
	enum probe_state state;
	char tls_version[16];
	int64_t days;           /* days left; valid when has_days */
	int has_days;
	char problem[256];      /* "" when OK */
};

struct probe_result {
	struct probe_balancer balancer;
	int level;
	int64_t started_wall_ns;
	int64_t elapsed_ns;
	struct probe_instance *inst;
	size_t n;
	enum probe_state state; /* worst instance state after probe_evaluate */
};

struct probe_opts {
	int level;              /* 1..3 */
	int64_t timeout_ns;     /* overall deadline for the whole probe */
	const char *model;      /* optional: probe this model (ad hoc -H use) */
	int load;               /* level 3: probe models that are not resident too (loads them) */
	const volatile int *cancel; /* optional: stop early when *cancel becomes non-zero */
};

/*
 * Non-blocking form, for callers that run their own event loop (top): probe_start submits
 * the first requests and returns; the caller drives the engine (http_poll) until
 * probe_done() or probe_deadline() (mono ns) has passed; probe_finish() cancels whatever
 * is still in flight, fills out (as probe_run does) and frees the state. The fleet and the
 * engine must outlive the state; o is copied.
 */
struct probe_job;
struct probe_job *probe_start(struct http_engine *e, const struct fleet *f,
				 const struct probe_opts *o);
int probe_done(const struct probe_job *st);
int64_t probe_deadline(const struct probe_job *st);
void probe_finish(struct probe_job *st, struct probe_result *out);

/* Probe every instance of f in parallel (probe_start, the loop, probe_finish).
 * Returns 0, or -1 with err on internal failure. */
int probe_run(struct http_engine *e, const struct fleet *f, const struct probe_opts *o,
	      struct probe_result *out, char *err);

/* Turn the raw result into states and problem lines; warn/crit apply to latency_ns. */
void probe_evaluate(struct probe_result *r, const struct nagios_range *warn,
		    const struct nagios_range *crit);

void probe_result_release(struct probe_result *r);

/* "ok", "warn", "crit", "unknown" (and "down" for an instance that is not up). */
const char *probe_state_word(const struct probe_instance *pi);

/*
 * After probe_evaluate: the TLS certificate of every https instance that answered, against
 * thresholds in days (check_http -C W,C): expiring within warn_days is a WARNING, within
 * crit_days (or expired) CRITICAL; TLS 1.1 or older, a WARNING. Adds the problems, raises
 * the states, and appends the TLS version and the days left to the summary. (cert.c)
 */
void probe_cert_check(struct probe_result *r, int warn_days, int crit_days, int64_t now_s);
/*
 * The same for the balancer at url (https): one GET / on a new connection for its
 * certificate, bounded by timeout_ns; fills r->balancer and folds its state into r->state.
 * (cert.c)
 */
void probe_balancer_cert(struct http_engine *e, const char *url, int64_t timeout_ns,
			 int warn_days, int crit_days, int64_t now_s, struct probe_result *r);

#endif
