/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge __complete: the option table and completion engine the shells and `shell` ask. */
#include "../lib/compat.h"
#include "complete.h"
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../lib/fleet/fleet.h"
#include "../lib/store/store.h"
#include "../lib/util/json.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const kind_names[] = {
	"flag", "text", "file", "dir", "command", "instance",
	"group", "model", "run", "runkind", "words",
};
_Static_assert(ARRAY_SIZE(kind_names) == CK_WORDS + 1, "kind_names follows enum comp_kind");

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
	"check        exit 3 naming any option table with two rows for one option",
	NULL,
};

/*
 * Its own rows: the requests, and one row per value kind, so that t0100 exercises
 * instance, group, model and run id completion in every shell
 * (`obridge __complete --instance <TAB>`, `obridge __complete runs <TAB>`).
 */
static const struct cmd_opt opts[] = {
	OPT_ARG(1, CK_WORDS, "-- commands options instances groups models runs runkinds check",
		"request"),
	OPT_ARG(0, CK_RUN, NULL, "run id"),
	OPT_VAL("instance", 0, 0, CK_INSTANCE, "NAME", "an instance"),
	OPT_VAL("group", 0, 0, CK_GROUP, "NAME", "a group"),
	OPT_VAL("model", 0, 0, CK_MODEL, "NAME", "a model"),
	OPT_END,
};

const struct cmd_spec spec___complete = { .usage = usage, .opts = opts };

/* The option table of cmd, or the global one for NULL (an unknown command has none). */
static const struct cmd_opt *opts_of(const char *cmd)
{
	static const struct cmd_opt none[] = { OPT_END };
	const struct cmd *c = cmd ? cmd_lookup(cmd) : NULL;
	return !cmd ? global_opts : c ? c->spec->opts : none;
}

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

struct model_add {
	struct comp_list *l;
	const char *prefix, *desc;
};

static void model_add(void *ud, const char *name)
{
	struct model_add *m = ud;
	comp_add(m->l, m->prefix, name, m->desc);
}

/* Model names anywhere in a run's JSON (health records what each instance holds). */
static void models_from_json(struct comp_list *l, const char *prefix, const char *json,
			     const char *desc)
{
	struct model_add m = { l, prefix, desc };
	json_scan_models(json, model_add, &m);
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
static const struct cmd_opt *opt_find(const char *cmd, const char *lng, size_t len, char shrt)
{
	for (const struct cmd_opt *o = opts_of(cmd); !OPT_IS_END(o); o++) {
		if (lng && o->lng && strlen(o->lng) == len && !strncmp(o->lng, lng, len))
			return o;
		if (!lng && shrt && o->shrt == shrt)
			return o;
	}
	return NULL;
}

/* An option of the command or a global one. */
static const struct cmd_opt *opt_lookup(const char *cmd, const char *lng, size_t len, char shrt)
{
	const struct cmd_opt *o = cmd ? opt_find(cmd, lng, len, shrt) : NULL;
	return o ? o : opt_find(NULL, lng, len, shrt);
}

/* The operand row of cmd for position pos (1-based). */
static const struct cmd_opt *arg_find(const char *cmd, int pos)
{
	const struct cmd_opt *any = NULL;
	for (const struct cmd_opt *o = opts_of(cmd); !OPT_IS_END(o); o++) {
		if (o->lng || o->shrt)
			continue;
		if (o->pos == pos)
			return o;
		if (o->pos == 0)
			any = o;
	}
	return any;
}

/* Record the value of a global option that decides where completions come from. */
static void note_global(struct comp_env *env, const struct cmd_opt *o, const char *val)
{
	int global = 0;
	for (const struct cmd_opt *g = global_opts; !OPT_IS_END(g); g++)
		global |= g == o;
	if (!global)
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
	for (int pass = cmd ? 0 : 1; pass < 2; pass++) {
		for (const struct cmd_opt *o = opts_of(pass ? NULL : cmd); !OPT_IS_END(o); o++) {
			if (!o->lng && !o->shrt)
				continue;
			/* --version only makes sense before a command */
			if (pass == 1 && cmd && o->lng && !strcmp(o->lng, "version"))
				continue;
			char name[64];
			if (o->lng)
				snprintf(name, sizeof(name), "--%s", o->lng);
			else
				snprintf(name, sizeof(name), "-%c", o->shrt);
			char help[128];
			snprintf(help, sizeof(help), "%.*s", (int)strcspn(o->help, "\n"), o->help);
			comp_add(out, prefix, name, help);
		}
	}
}

enum comp_result complete_words(int nwords, char **words, const struct ctx *ctx,
				struct comp_list *out)
{
	struct comp_env env = { 0 };
	const struct cmd_opt *pending = NULL;
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
			const struct cmd_opt *o = opt_lookup(cmd ? cmd->name : NULL, w + 2, len, 0);
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
				const struct cmd_opt *o = opt_lookup(cmd ? cmd->name : NULL, NULL, 0, *p);
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
		const struct cmd_opt *o = opt_lookup(cmd ? cmd->name : NULL, cur + 2, len, 0);
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
		const struct cmd_opt *a = arg_find(cmd->name, npos + 1);
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

/* `options [COMMAND]`: the option rows of one command, or the global ones. */
static int print_options(const char *cmd)
{
	if (cmd && !cmd_lookup(cmd)) {
		cmd_error("__complete", "no command '%s'", cmd);
		return EXIT_UNKNOWN;
	}
	for (const struct cmd_opt *o = opts_of(cmd); !OPT_IS_END(o); o++) {
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
		printf("\t%.*s\n", (int)strcspn(o->help, "\n"), o->help);
	}
	return EXIT_OK;
}

/* Two rows of one table, or a command row and a global one, naming the same option. */
static int clash(const char *cmd, const struct cmd_opt *a, const struct cmd_opt *b)
{
	const char *why = NULL;
	if (a->lng && b->lng && !strcmp(a->lng, b->lng))
		why = "long name";
	else if (a->shrt && a->shrt == b->shrt)
		why = "short letter";
	if (!why)
		return 0;
	cmd_error("__complete", "%s: --%s and --%s share a %s", cmd ? cmd : "global options",
		  a->lng ? a->lng : "?", b->lng ? b->lng : "?", why);
	return 1;
}

/* `check`: no option is declared twice, and each table fits the parser. */
static int check_table(void)
{
	int bad = 0;
	for (size_t i = 0; i < ncommands; i++) {
		const struct cmd_opt *t = commands[i].spec->opts;
		size_t n = 0;
		for (const struct cmd_opt *a = t; !OPT_IS_END(a); a++, n++) {
			if (!a->lng && !a->shrt)
				continue;
			for (const struct cmd_opt *b = a + 1; !OPT_IS_END(b); b++)
				bad += (b->lng || b->shrt) && clash(commands[i].name, a, b);
			for (const struct cmd_opt *g = global_opts; !OPT_IS_END(g); g++)
				/* --version and -h are global only before the command */
				bad += g->shrt != 'h' && !(g->lng && !strcmp(g->lng, "version")) &&
				       clash(commands[i].name, a, g);
			if (!a->help || (a->kind != CK_NONE && !a->meta)) {
				cmd_error("__complete", "%s: --%s needs help text%s", commands[i].name,
					  a->lng ? a->lng : "?", a->kind != CK_NONE ? " and a value name" : "");
				bad++;
			}
		}
		if (n > CMD_OPTS_MAX) {
			cmd_error("__complete", "%s: %zu options, more than CMD_OPTS_MAX", commands[i].name, n);
			bad++;
		}
	}
	return bad ? EXIT_UNKNOWN : EXIT_OK;
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
