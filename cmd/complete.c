/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge __complete: the option table and completion engine the shells and `shell` ask. */
#include "../lib/compat.h"
#include "complete.h"
#include "cmd.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../lib/fleet/fleet.h"
#include "../lib/store/store.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

/* What an option's value or an operand is. */
enum comp_kind {
	CK_NONE,     /* a flag: takes no value */
	CK_TEXT,     /* a number, duration, URL, ...: nothing to suggest */
	CK_FILE,     /* a file name */
	CK_DIR,      /* a directory name */
	CK_COMMAND,  /* an obridge command */
	CK_INSTANCE, /* an instance of the fleet */
	CK_GROUP,    /* a group of the fleet */
	CK_MODEL,    /* a model of the fleet file or of recent runs */
	CK_RUN,      /* a run id from the store */
	CK_RUNKIND,  /* a run kind (bench, health, ...) */
	CK_WORDS,    /* one of a fixed list of words */
};

static const char *const kind_names[] = {
	"flag", "text", "file", "dir", "command", "instance",
	"group", "model", "run", "runkind", "words",
};
_Static_assert(ARRAY_SIZE(kind_names) == CK_WORDS + 1, "kind_names follows enum comp_kind");

/*
 * One option (lng and/or shrt set) or operand (neither set) of a command; cmd NULL
 * for the global options. pos: for operands, 1 for the first, 2 for the second, ...,
 * 0 for every operand not matched by its own row.
 */
struct comp_opt {
	const char *cmd;
	const char *lng;   /* long name without "--", or NULL */
	char shrt;         /* short letter, or 0 */
	enum comp_kind kind;
	const char *words; /* CK_WORDS: the choices, separated by spaces */
	int pos;
	const char *help;  /* one line, shown by zsh and fish */
};

#define FLAG(c, l, s, h) { c, l, s, CK_NONE, NULL, 0, h }
#define OPT(c, l, s, k, h) { c, l, s, k, NULL, 0, h }
#define CHOICE(c, l, s, w, h) { c, l, s, CK_WORDS, w, 0, h }
#define ARG(c, p, k, w, h) { c, NULL, 0, k, w, p, h }

/*
 * Every option and operand of every command, as `-h` and the man page show them. A
 * command without a row here fails `make check` (t0150-man-consistency.sh), so does an
 * option that -h, this table and man/obridge-CMD.1 do not all agree on. Commands that
 * take run ids say so with ARG("show", 1, CK_RUN, NULL, "run id") (show, export) or
 * ARG("compare", 0, CK_RUN, NULL, "run id") (every operand).
 */
static const struct comp_opt comp_opts[] = {
	/* global options (obridge_run), accepted before or after the command */
	OPT(NULL, "fleet", 'f', CK_FILE, "fleet file"),
	OPT(NULL, NULL, 'H', CK_TEXT, "target this Ollama host (repeatable)"),
	OPT(NULL, "db", 0, CK_FILE, "SQLite store"),
	FLAG(NULL, "json", 0, "machine-readable output"),
	FLAG(NULL, "no-color", 0, "no colour"),
	FLAG(NULL, "insecure", 0, "do not verify TLS certificates"),
	FLAG(NULL, "quiet", 'q', "print only what matters"),
	FLAG(NULL, "verbose", 'v', "log every request to stderr"),
	FLAG(NULL, "version", 0, "print the version and exit"),
	FLAG(NULL, "help", 'h', "show help"),

	FLAG("ps", "json", 0, "print JSON"),
	FLAG("ps", "help", 'h', "show this help"),

	OPT("top", "delay", 'd', CK_TEXT, "refresh interval"),
	FLAG("top", "once", 0, "print one snapshot and exit"),
	OPT("top", "iterations", 'n', CK_TEXT, "print N snapshots and exit"),
	FLAG("top", "json", 0, "JSON snapshots"),
	CHOICE("top", "level", 'l', "1 2", "1 reachable, 2 models resident"),
	OPT("top", "timeout", 0, CK_TEXT, "how long one poll waits for an instance"),
	FLAG("top", "no-color", 0, "no colour"),
	FLAG("top", "help", 'h', "show this help"),

	CHOICE("health", "level", 'l', "1 2 3", "1 reachable, 2 models resident, 3 generate"),
	OPT("health", "warning", 'w', CK_TEXT, "warning range for the probe latency"),
	OPT("health", "critical", 'c', CK_TEXT, "critical range for the probe latency"),
	CHOICE("health", "format", 0, "text json nagios prom", "output format"),
	OPT("health", "textfile", 0, CK_DIR, "also write DIR/obridge.prom"),
	OPT("health", "timeout", 0, CK_TEXT, "deadline of the whole check"),
	OPT("health", "after", 0, CK_TEXT, "run --on-fail after N failures"),
	OPT("health", "on-fail", 0, CK_TEXT, "command to run per failing instance"),
	OPT("health", "watch", 0, CK_TEXT, "repeat every D"),
	OPT("health", "lock-wait", 0, CK_TEXT, "wait for another health run"),
	OPT("health", "model", 'm', CK_MODEL, "model for the level-3 probe"),
	FLAG("health", "history", 0, "availability and incidents from the store"),
	OPT("health", "since", 0, CK_TEXT, "how far back --history looks"),
	FLAG("health", "help", 'h', "show this help"),

	ARG("preload", 0, CK_MODEL, NULL, "model"),
	OPT("preload", "keep-alive", 0, CK_TEXT, "keep_alive to send instead of the fleet's"),
	OPT("preload", "timeout", 0, CK_TEXT, "deadline for all loads"),
	FLAG("preload", "json", 0, "JSON output"),
	FLAG("preload", "help", 'h', "show this help"),

	ARG("unload", 0, CK_MODEL, NULL, "model"),
	OPT("unload", "wait", 0, CK_TEXT, "how long to wait for /api/ps"),
	FLAG("unload", "json", 0, "JSON output"),
	FLAG("unload", "help", 'h', "show this help"),

	OPT("warmup", "requests", 'n', CK_TEXT, "warm requests per instance and model"),
	OPT("warmup", "model", 'm', CK_MODEL, "warm this model (repeatable)"),
	OPT("warmup", "max-tokens", 0, CK_TEXT, "num_predict of each warm request"),
	OPT("warmup", "timeout", 0, CK_TEXT, "deadline for the loads and the requests"),
	FLAG("warmup", "json", 0, "JSON output"),
	FLAG("warmup", "help", 'h', "show this help"),

	ARG("fleet", 1, CK_WORDS, "show check", "subcommand"),
	FLAG("fleet", "json", 0, "print JSON (show)"),
	FLAG("fleet", "help", 'h', "show this help"),

	OPT("history", "kind", 'k', CK_RUNKIND, "only runs of this kind"),
	OPT("history", "limit", 'n', CK_TEXT, "show at most N runs"),
	OPT("history", "prune", 0, CK_TEXT, "delete runs older than AGE"),
	FLAG("history", "dry-run", 0, "with --prune: only count"),
	FLAG("history", "json", 0, "print JSON"),
	FLAG("history", "help", 'h', "show this help"),

	OPT("bench", "model", 'm', CK_MODEL, "model to bench"),
	OPT("bench", "concurrency", 'c', CK_TEXT, "streams per step: 1,2,4 or 1..64x2"),
	OPT("bench", "rate", 0, CK_TEXT, "open loop: requests per second per step"),
	CHOICE("bench", "arrival", 0, "fixed poisson gamma:1", "arrival schedule (open loop)"),
	OPT("bench", "duration", 'd', CK_TEXT, "length of each step"),
	OPT("bench", "requests", 'n', CK_TEXT, "requests per step instead of a duration"),
	OPT("bench", "warmup", 0, CK_TEXT, "unmeasured requests before the first step"),
	OPT("bench", "prompt-tokens", 0, CK_TEXT, "synthetic prompts of about N tokens"),
	OPT("bench", "prompt-file", 0, CK_FILE, "prompts: text lines or JSONL"),
	OPT("bench", "max-tokens", 0, CK_TEXT, "num_predict of each request"),
	OPT("bench", "seed", 0, CK_TEXT, "seed for prompts, schedules and options.seed"),
	FLAG("bench", "unique-prefix", 0, "a unique prefix per prompt (no prompt caching)"),
	CHOICE("bench", "api", 0, "generate chat openai", "API to bench"),
	CHOICE("bench", "endpoint", 0, "root version tags ps", "bench a plain GET instead"),
	OPT("bench", "instance", 0, CK_INSTANCE, "one instance instead of the balancer"),
	FLAG("bench", "each", 0, "every instance directly and in parallel"),
	OPT("bench", "max-p95", 0, CK_TEXT, "stop once p95 exceeds D"),
	FLAG("bench", "stop-on-knee", 0, "stop once the knee is found"),
	OPT("bench", "timeout", 0, CK_TEXT, "per request"),
	OPT("bench", "stall", 0, CK_TEXT, "a token gap this long is a stall"),
	OPT("bench", "cold-threshold", 0, CK_TEXT, "load_duration that marks a cold load"),
	OPT("bench", "max-in-flight", 0, CK_TEXT, "open loop: in flight per target at most"),
	FLAG("bench", "samples", 0, "also store every request"),
	FLAG("bench", "no-chart", 0, "no charts after the table"),
	FLAG("bench", "json", 0, "JSON output"),
	FLAG("bench", "csv", 0, "one CSV row per step"),
	FLAG("bench", "help", 'h', "show this help"),

	ARG("show", 1, CK_RUN, NULL, "run id"),
	OPT("show", "plot", 0, CK_FILE, "write curves to FILE.svg or FILE.png (gnuplot)"),
	FLAG("show", "no-chart", 0, "no terminal charts"),
	FLAG("show", "json", 0, "JSON output"),
	FLAG("show", "help", 'h', "show this help"),

	ARG("compare", 0, CK_RUN, NULL, "run id"),
	OPT("compare", "threshold", 0, CK_TEXT, "smallest change in percent that counts"),
	OPT("compare", "quantile", 0, CK_TEXT, "percentile to compare (50)"),
	FLAG("compare", "json", 0, "JSON output"),
	FLAG("compare", "help", 'h', "show this help"),

	ARG("export", 1, CK_RUN, NULL, "run id"),
	FLAG("export", "json", 0, "JSON (the default)"),
	FLAG("export", "csv", 0, "CSV, one row per step"),
	FLAG("export", "help", 'h', "show this help"),

	ARG("emit", 1, CK_WORDS, "nginx haproxy compose k8s systemd prometheus", "config to render"),
	OPT("emit", "output", 'o', CK_FILE, "write to FILE or DIR instead of stdout"),
	FLAG("emit", "full", 0, "a whole config instead of a snippet"),
	FLAG("emit", "help", 'h', "show this help"),

	ARG("import", 1, CK_WORDS, "nginx haproxy", "config kind"),
	ARG("import", 2, CK_FILE, NULL, "config file"),
	OPT("import", "upstream", 0, CK_TEXT, "the nginx upstream to read"),
	OPT("import", "backend", 0, CK_TEXT, "the HAProxy backend to read"),
	OPT("import", "output", 'o', CK_FILE, "write the fleet file there"),
	FLAG("import", "help", 'h', "show this help"),

	OPT("sim", "instances", 'n', CK_TEXT, "number of instances"),
	OPT("sim", "port", 0, CK_TEXT, "first port"),
	OPT("sim", "host", 0, CK_TEXT, "listen address"),
	OPT("sim", "fleet-out", 0, CK_FILE, "write a fleet file once every instance listens"),
	OPT("sim", "models", 0, CK_TEXT, "installed models, comma-separated"),
	OPT("sim", "registry", 0, CK_TEXT, "extra names /api/pull knows"),
	OPT("sim", "num-parallel", 0, CK_TEXT, "parallel slots per loaded model"),
	OPT("sim", "max-queue", 0, CK_TEXT, "capacity of the load queue"),
	OPT("sim", "max-loaded", 0, CK_TEXT, "models loaded at once"),
	OPT("sim", "keep-alive", 0, CK_TEXT, "default keep_alive"),
	OPT("sim", "num-ctx", 0, CK_TEXT, "default context length"),
	OPT("sim", "load-time", 0, CK_TEXT, "cold load time"),
	OPT("sim", "unload-time", 0, CK_TEXT, "time a runner takes to exit"),
	OPT("sim", "ttft", 0, CK_TEXT, "time to first token after prompt eval"),
	OPT("sim", "tok-interval", 0, CK_TEXT, "time between tokens"),
	OPT("sim", "prefill-rate", 0, CK_TEXT, "prompt tokens per second"),
	OPT("sim", "tokens", 0, CK_TEXT, "tokens per answer"),
	OPT("sim", "pull-time", 0, CK_TEXT, "time a pull of 2 GB takes"),
	OPT("sim", "vram", 0, CK_TEXT, "GPU memory per instance; bigger models spill to CPU"),
	OPT("sim", "jitter", 0, CK_TEXT, "random +/- percent on every delay"),
	OPT("sim", "seed", 0, CK_TEXT, "seed of the random choices"),
	OPT("sim", "version", 0, CK_TEXT, "version reported by /api/version"),
	OPT("sim", "fault", 0, CK_TEXT, "inject a fault: [INSTANCE:]KIND[=ARG][@FRACTION]"),
	OPT("sim", "instance", 0, CK_TEXT, "per-instance settings NAME:key=value,..."),
	OPT("sim", "config", 0, CK_FILE, "INI file with [sim] and [instance NAME]"),
	FLAG("sim", "help", 'h', "show this help"),

	ARG("help", 1, CK_COMMAND, NULL, "command"),
	FLAG("help", "help", 'h', "show this help"),

	FLAG("version", "json", 0, "print JSON"),
	FLAG("version", "help", 'h', "show this help"),

	FLAG("shell", "help", 'h', "show this help"),

	ARG("completion", 1, CK_WORDS, "bash zsh fish", "shell"),
	FLAG("completion", "help", 'h', "show this help"),

	/*
	 * The hidden helper's own rows: its requests, and one row per value kind, so that
	 * t0100 exercises instance, group, model and run id completion in every shell
	 * (`obridge __complete --instance <TAB>`, `obridge __complete runs <TAB>`).
	 */
	ARG("__complete", 1, CK_WORDS,
	    "-- commands options instances groups models runs runkinds check", "request"),
	ARG("__complete", 0, CK_RUN, NULL, "run id"),
	OPT("__complete", "instance", 0, CK_INSTANCE, "an instance"),
	OPT("__complete", "group", 0, CK_GROUP, "a group"),
	OPT("__complete", "model", 0, CK_MODEL, "a model"),
};

/* Run kinds offered for --kind, besides those found in the store. */
static const char *const run_kinds[] = { "bench", "health", "warmup", "preload", "unload",
					 "deploy", "route" };

/* How many recent runs to offer as run ids (and to scan for model names). */
#define COMP_RECENT_RUNS 100

static const char *const usage[] = {
	"usage: obridge __complete -- WORD...",
	"       obridge __complete commands|instances|groups|models|runs|runkinds",
	"       obridge __complete options [COMMAND]",
	"       obridge __complete check",
	"",
	"Helper for the completion scripts and the shell (hidden).",
	"",
	"-- WORD...   candidates for the last WORD (may be empty) after the words before it,",
	"             one per line as VALUE<TAB>DESCRIPTION; a single line ':file' or ':dir'",
	"             asks the shell to complete a path",
	"commands     the commands (not hidden) and their summaries",
	"options      the options of COMMAND (of obridge itself without COMMAND), one per line:",
	"             --LONG<TAB>-S<TAB>KIND<TAB>DESCRIPTION, '-' when absent; KIND is flag,",
	"             text, file, dir, command, instance, group, model, run, runkind or",
	"             words:A,B,C",
	"instances, groups, models, runs, runkinds",
	"             the values of that kind (fleet from -f, $OBRIDGE_FLEET, ...)",
	"check        exit 3 naming any command without a row in the completion table",
	NULL,
};

void comp_list_release(struct comp_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].value);
		free(l->items[i].desc);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

/* True when s is fit to offer: not empty, no whitespace or control bytes, no ':' first. */
static int comp_safe(const char *s)
{
	if (!s || !*s || *s == ':')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* Add value (if it starts with prefix, is safe and not yet listed) with desc. */
static void comp_add(struct comp_list *l, const char *prefix, const char *value,
		     const char *desc)
{
	if (!comp_safe(value) || strncmp(value, prefix, strlen(prefix)) != 0)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].value, value))
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->n].value = xstrdup(value);
	l->items[l->n].desc = desc && *desc ? text_sanitize_dup(desc) : NULL;
	if (l->items[l->n].desc)
		for (char *p = l->items[l->n].desc; *p; p++)
			if (*p == '\t' || *p == '\n')
				*p = ' ';
	l->n++;
}

/* Where the words say the targets and the store are. */
struct comp_env {
	const char *fleet_path;
	const char **hosts;
	size_t nhosts;
	const char *db_path;
	int fleet_loaded;
	struct fleet fleet;
};

static const struct fleet *comp_fleet(struct comp_env *env)
{
	char err[ERR_MAX];
	if (!env->fleet_loaded) {
		env->fleet_loaded = 1;
		if (fleet_resolve(&env->fleet, env->fleet_path, env->hosts, env->nhosts, err) < 0) {
			fleet_release(&env->fleet);
			env->fleet_loaded = -1;
		}
	}
	return env->fleet_loaded > 0 ? &env->fleet : NULL;
}

/* Open the store read-mostly: never create one just to complete a word. */
static struct store *comp_store(const struct comp_env *env)
{
	char path[4096], err[ERR_MAX];
	struct stat st;
	struct store *s = NULL;
	if (env->db_path)
		strlcpy_(path, env->db_path, sizeof(path));
	else if (store_default_path(path, sizeof(path), err) < 0)
		return NULL;
	if (strcmp(path, ":memory:") == 0 || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	if (store_open(&s, path, err) != STORE_OK)
		return NULL;
	return s;
}

/*
 * Model names anywhere in a run's JSON: "model": "NAME", "models": ["NAME", ...] or
 * "models": [{"name": "NAME", ...}, ...] (health records what each instance holds).
 */
static void models_from_item(struct comp_list *l, const char *prefix, const cJSON *item,
			     const char *desc, int depth)
{
	const cJSON *it, *m;
	if (depth > 8)
		return;
	cJSON_ArrayForEach(it, item) {
		const char *key = item->type == cJSON_Object ? it->string : NULL;
		if (key && !strcmp(key, "model") && cJSON_IsString(it)) {
			comp_add(l, prefix, it->valuestring, desc);
		} else if (key && !strcmp(key, "models") && cJSON_IsArray(it)) {
			cJSON_ArrayForEach(m, it) {
				const cJSON *name = cJSON_IsObject(m)
					? cJSON_GetObjectItemCaseSensitive(m, "name") : m;
				if (cJSON_IsString(name))
					comp_add(l, prefix, name->valuestring, desc);
			}
		} else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			models_from_item(l, prefix, it, desc, depth + 1);
		}
	}
}

static void models_from_json(struct comp_list *l, const char *prefix, const char *json,
			     const char *desc)
{
	cJSON *root = json ? cJSON_Parse(json) : NULL;
	if (!root)
		return;
	if (cJSON_IsObject(root) || cJSON_IsArray(root))
		models_from_item(l, prefix, root, desc, 0);
	cJSON_Delete(root);
}

/* Local time "2026-11-23 18:40" of a run. */
static void fmt_when(int64_t ns, char *out, size_t n)
{
	time_t secs = (time_t)(ns / 1000000000LL);
	struct tm tm;
	if (ns <= 0 || !localtime_r(&secs, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, n, "-");
}

/* Add the values of kind (words for CK_WORDS) that start with prefix. */
static enum comp_result comp_values(struct comp_env *env, enum comp_kind kind, const char *words,
				    const char *prefix, struct comp_list *out)
{
	const struct fleet *f;
	struct store *s;
	struct store_run *runs = NULL;
	size_t nruns = 0;
	char err[ERR_MAX], when[32];

	switch (kind) {
	case CK_NONE:
	case CK_TEXT:
		break;
	case CK_FILE:
		return COMP_FILES;
	case CK_DIR:
		return COMP_DIRS;
	case CK_COMMAND:
		for (size_t i = 0; i < ncommands; i++)
			if (!(commands[i].flags & HIDDEN))
				comp_add(out, prefix, commands[i].name, commands[i].summary);
		break;
	case CK_INSTANCE:
		if ((f = comp_fleet(env)))
			for (size_t i = 0; i < f->ninstances; i++)
				comp_add(out, prefix, f->instances[i].name, f->instances[i].url);
		break;
	case CK_GROUP:
		if ((f = comp_fleet(env))) {
			size_t ng;
			const char **g = fleet_groups(f, &ng);
			for (size_t i = 0; i < ng; i++)
				comp_add(out, prefix, g[i], "group");
			free(g);
		}
		break;
	case CK_MODEL:
		if ((f = comp_fleet(env)))
			for (size_t i = 0; i < f->nmodels; i++)
				comp_add(out, prefix, f->models[i].name, "fleet file");
		if ((s = comp_store(env))) {
			if (store_runs_list(s, NULL, COMP_RECENT_RUNS, &runs, &nruns, err) == STORE_OK) {
				for (size_t i = 0; i < nruns; i++) {
					char *d = xasprintf("seen in %s run %" PRId64, runs[i].kind,
							    runs[i].id);
					models_from_json(out, prefix, runs[i].params, d);
					models_from_json(out, prefix, runs[i].fingerprint, d);
					models_from_json(out, prefix, runs[i].summary, d);
					free(d);
				}
				store_runs_free(runs, nruns);
			}
			store_close(s);
		}
		break;
	case CK_RUN:
		if ((s = comp_store(env))) {
			if (store_runs_list(s, NULL, COMP_RECENT_RUNS, &runs, &nruns, err) == STORE_OK) {
				for (size_t i = 0; i < nruns; i++) {
					char id[32];
					snprintf(id, sizeof(id), "%" PRId64, runs[i].id);
					fmt_when(runs[i].started_ns, when, sizeof(when));
					char *d = xasprintf("%s %s %s%s%s", runs[i].kind, when,
							    runs[i].status ? runs[i].status : "",
							    runs[i].target ? " " : "",
							    runs[i].target ? runs[i].target : "");
					comp_add(out, prefix, id, d);
					free(d);
				}
				store_runs_free(runs, nruns);
			}
			store_close(s);
		}
		break;
	case CK_RUNKIND:
		for (size_t i = 0; i < ARRAY_SIZE(run_kinds); i++)
			comp_add(out, prefix, run_kinds[i], "run kind");
		if ((s = comp_store(env))) {
			if (store_runs_list(s, NULL, COMP_RECENT_RUNS, &runs, &nruns, err) == STORE_OK) {
				for (size_t i = 0; i < nruns; i++)
					comp_add(out, prefix, runs[i].kind, "run kind");
				store_runs_free(runs, nruns);
			}
			store_close(s);
		}
		break;
	case CK_WORDS:
		for (const char *p = words; p && *p;) {
			size_t len = strcspn(p, " ");
			char *w = xstrndup(p, len);
			comp_add(out, prefix, w, NULL);
			free(w);
			p += len;
			p += strspn(p, " ");
		}
		break;
	}
	return COMP_WORDS_LIST;
}

/* The row of cmd (NULL: global) for a long name (len bytes) or a short letter. */
static const struct comp_opt *opt_find(const char *cmd, const char *lng, size_t len, char shrt)
{
	for (size_t i = 0; i < ARRAY_SIZE(comp_opts); i++) {
		const struct comp_opt *o = &comp_opts[i];
		if (!o->cmd != !cmd || (cmd && strcmp(o->cmd, cmd) != 0))
			continue;
		if (lng && o->lng && strlen(o->lng) == len && !strncmp(o->lng, lng, len))
			return o;
		if (!lng && shrt && o->shrt == shrt)
			return o;
	}
	return NULL;
}

/* An option of the command or a global one. */
static const struct comp_opt *opt_lookup(const char *cmd, const char *lng, size_t len, char shrt)
{
	const struct comp_opt *o = cmd ? opt_find(cmd, lng, len, shrt) : NULL;
	return o ? o : opt_find(NULL, lng, len, shrt);
}

/* The operand row of cmd for position pos (1-based). */
static const struct comp_opt *arg_find(const char *cmd, int pos)
{
	const struct comp_opt *any = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(comp_opts); i++) {
		const struct comp_opt *o = &comp_opts[i];
		if (!o->cmd || strcmp(o->cmd, cmd) != 0 || o->lng || o->shrt)
			continue;
		if (o->pos == pos)
			return o;
		if (o->pos == 0)
			any = o;
	}
	return any;
}

/* Record the value of a global option that decides where completions come from. */
static void note_global(struct comp_env *env, const struct comp_opt *o, const char *val)
{
	if (o->cmd)
		return;
	if (o->shrt == 'f')
		env->fleet_path = val;
	else if (o->lng && !strcmp(o->lng, "db"))
		env->db_path = val;
	else if (o->shrt == 'H') {
		env->hosts = xrealloc(env->hosts, (env->nhosts + 1) * sizeof(char *));
		env->hosts[env->nhosts++] = val;
	}
}

/* List the options of cmd (and the global ones) that start with prefix. */
static void comp_options(const char *cmd, const char *prefix, struct comp_list *out)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ARRAY_SIZE(comp_opts); i++) {
			const struct comp_opt *o = &comp_opts[i];
			if (!o->lng && !o->shrt)
				continue;
			if (pass == 0 && (!cmd || !o->cmd || strcmp(o->cmd, cmd) != 0))
				continue;
			if (pass == 1 && o->cmd)
				continue;
			/* --version only makes sense before a command */
			if (pass == 1 && cmd && o->lng && !strcmp(o->lng, "version"))
				continue;
			char name[64];
			if (o->lng)
				snprintf(name, sizeof(name), "--%s", o->lng);
			else
				snprintf(name, sizeof(name), "-%c", o->shrt);
			comp_add(out, prefix, name, o->help);
		}
	}
}

enum comp_result complete_words(int nwords, char **words, const struct ctx *ctx,
				struct comp_list *out)
{
	struct comp_env env = { 0 };
	const struct comp_opt *pending = NULL;
	const struct cmd *cmd = NULL;
	const char *cur = nwords > 0 ? words[nwords - 1] : "";
	int literal = 0, npos = 0;
	enum comp_result res = COMP_WORDS_LIST;

	for (int i = 0; i < nwords - 1; i++) {
		const char *w = words[i];
		if (pending) {
			note_global(&env, pending, w);
			pending = NULL;
			continue;
		}
		if (!literal && !strcmp(w, "--")) {
			literal = 1;
			continue;
		}
		if (!literal && w[0] == '-' && w[1] == '-') {
			size_t len = strcspn(w + 2, "=");
			const struct comp_opt *o = opt_lookup(cmd ? cmd->name : NULL, w + 2, len, 0);
			if (o && o->kind != CK_NONE) {
				if (w[2 + len] == '=')
					note_global(&env, o, w + 3 + len);
				else
					pending = o;
			}
			continue;
		}
		if (!literal && w[0] == '-' && w[1]) {
			for (const char *p = w + 1; *p; p++) {
				const struct comp_opt *o = opt_lookup(cmd ? cmd->name : NULL, NULL, 0, *p);
				if (o && o->kind != CK_NONE) {
					if (p[1])
						note_global(&env, o, p + 1);
					else
						pending = o;
					break;
				}
			}
			continue;
		}
		if (!cmd) {
			cmd = cmd_lookup(w);
			if (!cmd)
				goto done; /* not a command: nothing sensible to offer */
			literal = 0;
			continue;
		}
		npos++;
	}

	if (ctx && !env.fleet_path && !env.nhosts) {
		env.fleet_path = ctx->fleet_path;
		for (size_t i = 0; i < ctx->nhosts; i++)
			note_global(&env, opt_find(NULL, NULL, 0, 'H'), ctx->hosts[i]);
	}
	if (ctx && !env.db_path)
		env.db_path = ctx->db_path;

	if (pending) {
		res = comp_values(&env, pending->kind, pending->words, cur, out);
	} else if (!literal && cur[0] == '-' && cur[1] == '-' && strchr(cur, '=')) {
		size_t len = strcspn(cur + 2, "=");
		const struct comp_opt *o = opt_lookup(cmd ? cmd->name : NULL, cur + 2, len, 0);
		if (o && o->kind != CK_NONE) {
			struct comp_list vals = COMP_LIST_INIT;
			res = comp_values(&env, o->kind, o->words, cur + 3 + len, &vals);
			for (size_t i = 0; i < vals.n; i++) {
				char *v = xasprintf("%.*s%s", (int)(len + 3), cur, vals.items[i].value);
				comp_add(out, "", v, vals.items[i].desc);
				free(v);
			}
			comp_list_release(&vals);
		}
	} else if (!literal && cur[0] == '-') {
		comp_options(cmd ? cmd->name : NULL, cur, out);
	} else if (!cmd) {
		res = comp_values(&env, CK_COMMAND, NULL, cur, out);
	} else {
		const struct comp_opt *a = arg_find(cmd->name, npos + 1);
		if (a)
			res = comp_values(&env, a->kind, a->words, cur, out);
	}
done:
	if (env.fleet_loaded > 0)
		fleet_release(&env.fleet);
	free(env.hosts);
	return res;
}

/* Print a list as VALUE<TAB>DESCRIPTION lines. */
static void print_list(const struct comp_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->items[i].desc)
			printf("%s\t%s\n", l->items[i].value, l->items[i].desc);
		else
			printf("%s\n", l->items[i].value);
	}
}

/* `options [COMMAND]`: the table rows of one command, or the global ones. */
static int print_options(const char *cmd)
{
	int found = 0;
	for (size_t i = 0; i < ARRAY_SIZE(comp_opts); i++) {
		const struct comp_opt *o = &comp_opts[i];
		if (!o->cmd != !cmd || (cmd && strcmp(o->cmd, cmd) != 0))
			continue;
		found = 1;
		if (!o->lng && !o->shrt)
			continue;
		printf("%s%s\t", o->lng ? "--" : "-", o->lng ? o->lng : "");
		if (o->shrt)
			printf("-%c\t", o->shrt);
		else
			fputs("-\t", stdout);
		fputs(kind_names[o->kind], stdout);
		if (o->kind == CK_WORDS) {
			putchar(':');
			for (const char *p = o->words; *p; p++)
				putchar(*p == ' ' ? ',' : *p);
		}
		printf("\t%s\n", o->help);
	}
	if (!found) {
		cmd_error("__complete", "no completion entry for '%s' in cmd/complete.c", cmd);
		return EXIT_UNKNOWN;
	}
	return EXIT_OK;
}

/* `check`: every command has rows, every row names a command. */
static int check_table(void)
{
	int rc = EXIT_OK;
	for (size_t i = 0; i < ncommands; i++) {
		if (commands[i].flags & HIDDEN)
			continue;
		int found = 0;
		for (size_t j = 0; j < ARRAY_SIZE(comp_opts) && !found; j++)
			found = comp_opts[j].cmd && !strcmp(comp_opts[j].cmd, commands[i].name);
		if (!found) {
			cmd_error("__complete", "command '%s' has no completion entry in cmd/complete.c",
				  commands[i].name);
			rc = EXIT_UNKNOWN;
		}
	}
	for (size_t j = 0; j < ARRAY_SIZE(comp_opts); j++) {
		if (comp_opts[j].cmd && !cmd_lookup(comp_opts[j].cmd)) {
			cmd_error("__complete", "completion entry for unknown command '%s'",
				  comp_opts[j].cmd);
			rc = EXIT_UNKNOWN;
		}
	}
	return rc;
}

int cmd___complete(int argc, char **argv, struct ctx *ctx)
{
	struct comp_list l = COMP_LIST_INIT;
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cmd_print_usage(argc < 2 ? stderr : stdout, usage);
		return argc < 2 ? EXIT_UNKNOWN : EXIT_OK;
	}
	const char *what = argv[1];
	if (!strcmp(what, "--")) {
		char *empty[] = { "", NULL };
		enum comp_result r = argc > 2 ? complete_words(argc - 2, argv + 2, ctx, &l)
					      : complete_words(1, empty, ctx, &l);
		if (r == COMP_FILES)
			puts(":file");
		else if (r == COMP_DIRS)
			puts(":dir");
		else
			print_list(&l);
		comp_list_release(&l);
		return EXIT_OK;
	}
	if (!strcmp(what, "options") && argc <= 3)
		return print_options(argc == 3 ? argv[2] : NULL);
	if (!strcmp(what, "check") && argc == 2)
		return check_table();

	static const struct {
		const char *name;
		enum comp_kind kind;
	} lists[] = {
		{ "commands", CK_COMMAND }, { "instances", CK_INSTANCE }, { "groups", CK_GROUP },
		{ "models", CK_MODEL },     { "runs", CK_RUN },           { "runkinds", CK_RUNKIND },
	};
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		if (strcmp(what, lists[i].name) != 0 || argc != 2)
			continue;
		struct comp_env env = { 0 };
		env.fleet_path = ctx->fleet_path;
		env.hosts = ctx->hosts;
		env.nhosts = ctx->nhosts;
		env.db_path = ctx->db_path;
		comp_values(&env, lists[i].kind, NULL, "", &l);
		if (env.fleet_loaded > 0)
			fleet_release(&env.fleet);
		print_list(&l);
		comp_list_release(&l);
		return EXIT_OK;
	}
	return cmd_usage_error("__complete", "unknown request '%s'", what);
}
