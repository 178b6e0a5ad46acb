/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge route test: check the balancer in front of the fleet against the fleet file. */
#include "../lib/compat.h"
#include "cmd.h"

#include <inttypes.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fleet/fleet.h"
#include "../lib/http/http.h"
#include "../lib/render/render.h"
#include "../lib/render/routeview.h"
#include "../lib/route/route.h"
#include "../lib/store/store.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge route test [--balancer URL] [-n N] [--checks LIST]",
	"                          [--down-cmd CMD --up-cmd CMD] [--slo-failover D] [--json]",
	"",
	"Check the real balancer in front of the fleet from outside: every request is traced",
	"to an instance (by a header such as X-Upstream or X-Server, else by the instances'",
	"/api/ps expires_at), then the checks: attribution, weights (chi-square against the",
	"fleet's weights), backup (traffic only when every primary is down), failover (time",
	"and lost requests under steady load with one primary down), length (bodies above",
	"[route] long_prompt_bytes reach long_group), stream (tokens arrive as they are made)",
	"and cold (a cold load is not cut by the proxy's read timeout). Instances are taken",
	"down with --down-cmd/--up-cmd or, for an obridge sim fleet, its control endpoint;",
	"without either, backup and failover are skipped and say so. The cold check unloads",
	"the model on every instance and loads it back where it was.",
	"",
	CMD_OPTIONS,
	"",
	"Exit status: 0 every check passed or was skipped, 1 some failed, 2 the balancer",
	"does not answer, 3 usage or configuration error.",
	NULL,
};

enum { O_BALANCER = 256, O_CHECKS, O_DOWN, O_UP, O_SLO, O_HEADER, O_ALPHA, O_TIMEOUT };

static const struct cmd_opt opts[] = {
	OPT_ARG(1, CK_WORDS, "test", "subcommand"),
	OPT_VAL("balancer", 0, O_BALANCER, CK_TEXT, "URL",
		"the balancer (default: the fleet file's [fleet] balancer)"),
	OPT_VAL("requests", 'n', 'n', CK_TEXT, "N", "requests of the weights check (200)"),
	OPT_VAL("checks", 0, O_CHECKS, CK_TEXT, "LIST",
		"attribution,weights,backup,failover,length,stream,cold\n(default all)"),
	OPT_VAL("down-cmd", 0, O_DOWN, CK_TEXT, "CMD",
		"take an instance down: a shell command, with OBRIDGE_INSTANCE,\n"
		"OBRIDGE_URL and OBRIDGE_HOST in its environment"),
	OPT_VAL("up-cmd", 0, O_UP, CK_TEXT, "CMD", "bring it back (the same environment)"),
	OPT_VAL("slo-failover", 0, O_SLO, CK_TEXT, "D", "failover passes within D (15s)"),
	OPT_VAL("header", 0, O_HEADER, CK_TEXT, "NAME",
		"a response header that names the upstream, tried first"),
	OPT_VAL("model", 'm', 'm', CK_MODEL, "M",
		"model for stream, cold and length (default: the fleet's first)"),
	OPT_VAL("alpha", 0, O_ALPHA, CK_TEXT, "A", "significance of the weights test (0.01)"),
	OPT_VAL("timeout", 0, O_TIMEOUT, CK_TEXT, "D", "per request (30s; cold loads 10m)"),
	OPT_END,
};

const struct cmd_spec spec_route = {
	.usage = usage,
	.opts = opts,
	.json = "the report as JSON",
};

static void progress(void *ud, const char *msg)
{
	(void)ud;
	routeview_progress(stderr, msg);
}

/* Options into c; returns -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct route_cfg *c, const char **balancer)
{
	struct cmd_getopt g;
	char err[ERR_MAX], *end;
	int ch;
	cmd_getopt_init(&g, argc, argv);
	while ((ch = cmd_getopt_next(&g)) >= 0) {
		switch (ch) {
		case O_BALANCER: *balancer = g.arg; break;
		case 'n':
			c->n = (int)strtol(g.arg, &end, 10);
			if (*end || end == g.arg || c->n < 10 || c->n > 100000)
				return cmd_usage_error("route", "-n must be 10 to 100000, not '%s'", g.arg);
			break;
		case O_CHECKS:
			if (route_checks_parse(g.arg, &c->checks, err) < 0)
				return cmd_usage_error("route", "--checks: %s", err);
			break;
		case O_DOWN: c->down_cmd = g.arg; break;
		case O_UP: c->up_cmd = g.arg; break;
		case O_SLO:
		case O_TIMEOUT: {
			int64_t *d = ch == O_SLO ? &c->slo_failover_ns : &c->timeout_ns;
			if (units_parse_duration(g.arg, d, 0, err) < 0 || *d <= 0)
				return cmd_usage_error("route", "--%s: bad duration '%s'",
						       ch == O_SLO ? "slo-failover" : "timeout", g.arg);
			break;
		}
		case O_HEADER:
			if (!*g.arg || strpbrk(g.arg, ":, \t\r\n"))
				return cmd_usage_error("route", "--header takes a header name, not '%s'",
						       g.arg);
			c->header = g.arg;
			break;
		case 'm': c->model = g.arg; break;
		case O_ALPHA:
			c->alpha = strtod(g.arg, &end);
			if (*end || !(c->alpha > 0 && c->alpha < 0.5))
				return cmd_usage_error("route", "--alpha must be between 0 and 0.5, not '%s'",
						       g.arg);
			break;
		}
	}
	if (ch != CMD_OPT_END)
		return cmd_getopt_exit(ch);
	if (g.optind >= argc)
		return cmd_usage_error("route", "missing subcommand: route test");
	if (strcmp(argv[g.optind], "test") != 0)
		return cmd_usage_error("route", "unknown subcommand '%s' (expected test)",
				       argv[g.optind]);
	if (g.optind + 1 < argc)
		return cmd_usage_error("route", "unexpected argument '%s'", argv[g.optind + 1]);
	if (!c->down_cmd != !c->up_cmd)
		return cmd_usage_error("route", "--down-cmd and --up-cmd go together");
	return -1;
}

/* The run, its checks as steps, and the report as its summary. */
static void record(struct ctx *ctx, const struct route_cfg *c, const struct route_report *r,
		   int rc)
{
	char err[ERR_MAX];
	int64_t id;
	struct buf params = BUF_INIT, doc = BUF_INIT;
	buf_addf(&params, "{\"requests\":%d,\"checks\":%u,\"slo_failover_ns\":%" PRId64
		 ",\"alpha\":%g}", c->n, c->checks, c->slo_failover_ns, c->alpha);
	route_report_json(r, c, &doc);
	if (ctx_open_store(ctx, "route") < 0 ||
	    store_run_begin(ctx->store, "route", c->balancer,
			    "{\"obridge\":\"" OBRIDGE_VERSION_STRING "\"}", buf_str(&params), &id,
			    err) < 0) {
		if (ctx->store)
			cmd_warn("route", "run not recorded: %s", err);
	} else {
		int k = 0;
		for (int i = 0; i < ROUTE__N; i++)
			if (r->ran[i] &&
			    store_step_add(ctx->store, id, k++, route_check_name((enum route_check)i),
					   r->r[i].json.len ? buf_str((struct buf *)&r->r[i].json) :
							      "{}", NULL, 0, err) < 0)
				cmd_warn("route", "step not recorded: %s", err);
		const char *status = r->interrupted ? "interrupted" : rc == EXIT_OK ? "ok" :
				     rc == EXIT_WARN ? "warn" : "failed";
		if (store_run_finish(ctx->store, id, status, buf_str(&doc), err) < 0)
			cmd_warn("route", "run not recorded: %s", err);
	}
	buf_release(&params);
	buf_release(&doc);
}

int cmd_route(int argc, char **argv, struct ctx *ctx)
{
	struct route_cfg c = {
		.fleet = ctx->fleet, .n = 200, .checks = ROUTE_ALL,
		.slo_failover_ns = 15000000000LL, .alpha = 0.01, .timeout_ns = 30000000000LL,
		.stop = &cmd_interrupted,
	};
	const char *balancer = NULL;
	char err[ERR_MAX], url[1024];
	int rc = parse_options(argc, argv, &c, &balancer);
	if (rc >= 0)
		return rc;
	if (balancer) {
		if (fleet_host_url(balancer, url, sizeof(url), err) < 0)
			return cmd_usage_error("route", "--balancer: %s", err);
		c.balancer = url;
	} else if (ctx->fleet->balancer) {
		c.balancer = ctx->fleet->balancer;
	} else {
		cmd_error("route", "no balancer: give --balancer URL or [fleet] balancer in the "
				   "fleet file (%s)", ctx->fleet->source);
		return EXIT_UNKNOWN;
	}
	if (isatty(STDERR_FILENO) && !ctx->quiet)
		c.progress = progress;
	struct http_engine *e = ctx_http_engine(ctx, "route");
	if (!e)
		return EXIT_UNKNOWN;
	struct route_report r;
	cmd_trap_interrupt(1);
	int tr = route_test(e, &c, &r, err);
	cmd_trap_interrupt(0);
	if (c.progress)
		routeview_progress(stderr, NULL);
	if (tr < 0) {
		cmd_error("route", "%s", err);
		rc = EXIT_CRIT;
		if (ctx->json)
			printf("{\"balancer\":\"%s\",\"error\":\"balancer does not answer\"}\n", c.balancer);
	} else {
		int pass, fail, skip;
		route_report_counts(&r, &pass, &fail, &skip);
		rc = fail || r.interrupted ? EXIT_WARN : EXIT_OK;
		record(ctx, &c, &r, rc);
		if (ctx->json) {
			struct buf doc = BUF_INIT;
			route_report_json(&r, &c, &doc);
			printf("%s\n", buf_str(&doc));
			buf_release(&doc);
		} else {
			const char *cs = nl_langinfo(CODESET);
			routeview_print(stdout, &r, c.balancer, ctx->color, cs && !strcmp(cs, "UTF-8"),
					ctx->quiet);
		}
	}
	route_report_release(&r);
	http_engine_free(e);
	return rc;
}
