/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge deploy: plan, then make the fleet file true on every instance. */
#include "../lib/compat.h"
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../lib/deploy/deploy.h"
#include "../lib/fleet/fleet.h"
#include "../lib/http/http.h"
#include "../lib/render/deployview.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge deploy [--plan] [--yes] [--prune] [--only NAME|GROUP]... [--parallel N]",
	"                      [--json]",
	"",
	"Make the fleet file true on every instance: ask each what it has, print a plan",
	"(models to pull, digests that differ from the pin or the fleet's majority, models",
	"to preload with the fleet's keep_alive and num_ctx, with --prune models to remove,",
	"unreachable instances, lint warnings), then apply it: pulls in parallel across",
	"instances with progress, retried and resumed; preloads; verify.",
	"",
	CMD_OPTIONS,
	"",
	"Exit: 0 the fleet matches the file, 1 some instances do, 2 none (or interrupted),",
	"3 usage or configuration error, or no --yes without a terminal.",
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_FLAG("plan", 0, 'P', "print the plan and stop (exit 0 nothing pending, 1 changes\n"
		 "pending, 2 an instance unreachable)"),
	OPT_FLAG("yes", 'y', 'y', "apply without asking (needed without a terminal)"),
	OPT_FLAG("prune", 0, 'R', "also remove models the fleet file does not list for an instance"),
	OPT_VAL("only", 0, 'o', CK_INSTANCE, "NAME",
		"only this instance, group or fleet model (repeatable)"),
	OPT_VAL("parallel", 0, 'p', CK_TEXT, "N", "pulls at once across instances (default 4)"),
	OPT_END,
};

const struct cmd_spec spec_deploy = {
	.usage = usage,
	.opts = opts,
	.json = "the plan (and the outcome) as one JSON document",
};

struct view {
	struct ctx *ctx;
	int live;              /* progress lines on the terminal (stderr) */
	int lines;             /* live lines drawn so far */
	int width;
	int64_t last;          /* mono ns of the last frame */
	int64_t run_id;        /* 0 when not recording */
};

static void draw(struct view *v, const struct deploy_plan *p)
{
	v->last = mono_ns();
	deployview_live(stderr, p, v->ctx->color, &v->lines, v->width);
}

static void on_progress(void *ud, const struct deploy_plan *p, size_t i)
{
	struct view *v = ud;
	(void)i;
	if (v->live && mono_ns() - v->last >= 100000000LL)
		draw(v, p);
}

static void on_tick(void *ud, const struct deploy_plan *p)
{
	struct view *v = ud;
	if (!v->live)
		return;
	draw(v, p);
	/* the pulls are over: the last frame stays, later steps print below it */
	int running = 0;
	for (size_t i = 0; i < p->n; i++)
		running |= (p->a[i].kind == DEPLOY_PULL || p->a[i].kind == DEPLOY_UPDATE) &&
			   (p->a[i].state == DEPLOY_PENDING || p->a[i].state == DEPLOY_RUNNING);
	if (!running)
		v->live = 0;
}

static void on_step(void *ud, const struct deploy_plan *p, size_t i)
{
	struct view *v = ud;
	char err[ERR_MAX];
	if (v->run_id && deploy_record_step(v->ctx->store, v->run_id, p, i, err) < 0)
		cmd_warn("deploy", "not recorded: %s", err);
	int pull = p->a[i].kind == DEPLOY_PULL || p->a[i].kind == DEPLOY_UPDATE;
	if (v->live && pull) {
		draw(v, p);
	} else if (!v->ctx->json && !v->ctx->quiet) {
		deployview_step(stdout, p, i, v->ctx->color);
		fflush(stdout);
	}
}

int cmd_deploy(int argc, char **argv, struct ctx *ctx)
{
	int plan_only = 0, yes = 0, parallel = 4, c;
	struct deploy_opts o = { 0 };
	const char **only = xcalloc((size_t)argc + 1, sizeof(char *));
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		switch (c) {
		case 'P':
			plan_only = 1;
			break;
		case 'y':
			yes = 1;
			break;
		case 'R':
			o.prune = 1;
			break;
		case 'o':
			only[o.nonly++] = g.arg;
			break;
		case 'p': {
			char *end;
			long n = strtol(g.arg, &end, 10);
			if (!*g.arg || *end || n < 1 || n > 256) {
				free(only);
				return cmd_usage_error("deploy", "--parallel: '%s' is not a number "
						       "from 1 to 256", g.arg);
			}
			parallel = (int)n;
			break;
		}
		}
	}
	if (c != CMD_OPT_END) {
		free(only);
		return cmd_getopt_exit(c);
	}
	if (g.optind < argc) {
		free(only);
		return cmd_usage_error("deploy", "unexpected argument '%s'", argv[g.optind]);
	}
	o.only = only;
	struct http_engine *e = ctx_http_engine(ctx, "deploy");
	if (!e) {
		free(only);
		return EXIT_UNKNOWN;
	}
	const struct fleet *f = ctx->fleet;
	struct deploy_actual *act = xcalloc(f->ninstances + 1, sizeof(*act));
	struct deploy_plan p;
	char err[ERR_MAX];
	int rc = EXIT_OK;
	deploy_probe(e, f, 10000000000LL, act);
	if (deploy_plan_make(f, act, &o, &p, err) < 0) {
		rc = cmd_usage_error("deploy", "%s", err);
		goto out_act;
	}
	struct buf b = BUF_INIT;
	if (plan_only || !ctx->json) {
		if (ctx->json) {
			deploy_plan_json(&b, &p);
			puts(buf_str(&b));
		} else if (!ctx->quiet || plan_only) {
			deployview_plan(stdout, &p, ctx->color);
		}
		fflush(stdout);
	}
	if (plan_only) {
		rc = deploy_plan_exit(&p);
		goto out;
	}
	if (p.n && !yes) {
		if (!isatty(STDIN_FILENO)) {
			cmd_error("deploy", "not applying without a terminal to confirm on: "
				  "use --yes, or --plan to only look");
			rc = EXIT_UNKNOWN;
			goto out;
		}
		if (!shell_confirm("Apply this plan? [y/N] ")) {
			fprintf(stderr, "obridge deploy: nothing changed\n");
			rc = EXIT_WARN;
			goto out;
		}
	}
	struct view v = { 0 };
	v.ctx = ctx;
	v.live = isatty(STDERR_FILENO) && !ctx->quiet && (p.count[DEPLOY_PULL] ||
							  p.count[DEPLOY_UPDATE]);
	v.width = 100;
	struct winsize ws;
	if (v.live && !ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 20)
		v.width = ws.ws_col;
	if (ctx_open_store(ctx, "deploy") == 0 &&
	    deploy_record_begin(ctx->store, f->name, &o, parallel, &v.run_id, err) < 0) {
		cmd_warn("deploy", "not recorded: %s", err);
		v.run_id = 0;
	}
	struct deploy_hooks h = { on_progress, on_step, on_tick, &v };
	struct deploy_apply_opts ao = { parallel, 0, (const volatile int *)&cmd_interrupted };
	cmd_trap_interrupt(1);
	rc = deploy_apply(e, f, &p, &ao, &h);
	cmd_trap_interrupt(0);
	if (v.run_id && deploy_record_finish(ctx->store, v.run_id, &p, rc, err) < 0)
		cmd_warn("deploy", "not recorded: %s", err);
	if (ctx->json) {
		buf_reset(&b);
		deploy_plan_json(&b, &p);
		if (v.run_id) {
			/* the stored document plus the run's id */
			b.data[b.len - 1] = '\0';
			b.len--;
			buf_addf(&b, ",\"run\":%" PRId64 "}", v.run_id);
		}
		puts(buf_str(&b));
	} else {
		deployview_result(stdout, &p, ctx->color);
		if (v.run_id && !ctx->quiet)
			printf("recorded as run %" PRId64 "\n", v.run_id);
	}
out:
	buf_release(&b);
	deploy_plan_release(&p);
out_act:
	for (size_t i = 0; i < f->ninstances; i++)
		deploy_actual_release(&act[i]);
	free(act);
	http_engine_free(e);
	free(only);
	return rc;
}
