/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge fleet show|check: the resolved fleet, and fleet file validation. */
#include "../lib/compat.h"
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fleet/fleet.h"
#include "../lib/render/render.h"
#include "../lib/util/buf.h"
#include "../lib/util/units.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge fleet show [--json]",
	"       obridge fleet check",
	"",
	"show   print the resolved fleet: instances, groups, weights, models, route and",
	"       slo settings, and where the targets came from",
	"check  validate the fleet file; exit 0 when valid, 3 with file:line: message",
	"       when not",
	"",
	"The fleet comes from -f FILE, $OBRIDGE_FLEET, ./obridge.conf or",
	"$XDG_CONFIG_HOME/obridge/obridge.conf; -H URL targets hosts ad hoc.",
	"",
	CMD_OPTIONS,
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_ARG(1, CK_WORDS, "show check", "subcommand"),
	OPT_END,
};

const struct cmd_spec spec_fleet = {
	.usage = usage,
	.opts = opts,
	.json = "print JSON (show, check)",
};

static void print_show(const struct fleet *f, int color)
{
	char tmp[64];
	printf("fleet %s", f->name);
	if (f->path)
		printf(" (%s, from %s)\n", f->path, f->source);
	else
		printf(" (from %s)\n", f->source ? f->source : "-H");
	if (f->balancer)
		printf("balancer: %s\n", f->balancer);
	if (f->api_key_file)
		printf("api key:  read from %s\n", f->api_key_file);
	putchar('\n');

	static const char *const ih[] = { "INSTANCE", "URL", "WEIGHT", "GROUP", "BACKUP",
					  "MODELS", "METRICS" };
	struct table t;
	table_init(&t, ARRAY_SIZE(ih), ih);
	table_set_align(&t, 2, TABLE_RIGHT);
	for (size_t i = 0; i < f->ninstances; i++) {
		const struct fleet_instance *in = &f->instances[i];
		size_t r = table_add_row(&t);
		table_set(&t, r, 0, "%s", in->name);
		table_set(&t, r, 1, "%s", in->url);
		table_set(&t, r, 2, "%d", in->weight);
		table_set(&t, r, 3, "%s", in->group ? in->group : "-");
		table_set(&t, r, 4, "%s", in->backup ? "yes" : "no");
		int nm = 0;
		for (size_t m = 0; m < f->nmodels; m++)
			nm += fleet_model_on_instance(&f->models[m], in);
		table_set(&t, r, 5, "%d", nm);
		table_set(&t, r, 6, "%s", in->metrics_url ? in->metrics_url : "-");
		if (in->backup)
			table_set_color(&t, r, 4, COLOR_WARN);
	}
	table_print(&t, stdout, color);
	table_release(&t);

	if (f->nmodels) {
		putchar('\n');
		static const char *const mh[] = { "MODEL", "KEEP_ALIVE", "NUM_CTX", "GROUPS",
						  "INSTANCES" };
		table_init(&t, ARRAY_SIZE(mh), mh);
		table_set_align(&t, 2, TABLE_RIGHT);
		for (size_t m = 0; m < f->nmodels; m++) {
			const struct fleet_model *md = &f->models[m];
			size_t r = table_add_row(&t);
			table_set(&t, r, 0, "%s", md->name);
			if (!md->has_keep_alive)
				table_set(&t, r, 1, "(server default)");
			else if (md->keep_alive_ns == DURATION_FOREVER)
				table_set(&t, r, 1, "forever");
			else
				table_set(&t, r, 1, "%s",
					  units_go_duration(md->keep_alive_ns, tmp, sizeof(tmp)));
			if (md->num_ctx)
				table_set(&t, r, 2, "%d", md->num_ctx);
			else
				table_set(&t, r, 2, "-");
			struct buf b = BUF_INIT;
			for (size_t g = 0; g < md->ngroups; g++)
				buf_addf(&b, "%s%s", g ? " " : "", md->groups[g]);
			table_set(&t, r, 3, "%s", md->ngroups ? buf_str(&b) : "(all)");
			buf_reset(&b);
			for (size_t i = 0; i < f->ninstances; i++)
				if (fleet_model_on_instance(md, &f->instances[i]))
					buf_addf(&b, "%s%s", b.len ? "," : "", f->instances[i].name);
			table_set(&t, r, 4, "%s", buf_str(&b));
			buf_release(&b);
		}
		table_print(&t, stdout, color);
		table_release(&t);
	}

	size_t ng;
	const char **groups = fleet_groups(f, &ng);
	if (ng) {
		putchar('\n');
		for (size_t g = 0; g < ng; g++) {
			printf("group %s:", groups[g]);
			for (size_t i = 0; i < f->ninstances; i++)
				if (f->instances[i].group && !strcmp(f->instances[i].group, groups[g]))
					printf(" %s", f->instances[i].name);
			putchar('\n');
		}
	}
	free(groups);

	if (f->long_group) {
		char sz[32];
		printf("\nroute: bodies over %s go to group %s\n",
		       units_fmt_bytes((uint64_t)f->long_prompt_bytes, sz, sizeof(sz)),
		       f->long_group);
	}
	if (f->slo.mask) {
		printf("%sslo:", f->long_group ? "" : "\n");
		for (int k = 0, n = 0; k < SLO_NKEYS; k++)
			if (f->slo.mask & (1u << k))
				printf("%s %s <= %s", n++ ? "," : "", slo_key_name(k),
				       slo_fmt_value(k, f->slo.limit[k], tmp, sizeof(tmp)));
		putchar('\n');
	}
	if (f->cost.has_instance_hour || f->cost.ngroups || f->cost.has_cloud) {
		printf("cost:");
		if (f->cost.has_instance_hour)
			printf(" %.2f an instance-hour", f->cost.instance_hour);
		for (size_t g = 0; g < f->cost.ngroups; g++)
			printf("%s %.2f in group %s", f->cost.has_instance_hour || g ? "," : "",
			       f->cost.group_hour[g], f->cost.group_names[g]);
		if (f->cost.has_cloud)
			printf("; the cloud's %.2f per 1M output tokens", f->cost.cloud_per_1m_output);
		putchar('\n');
	}
}

int cmd_fleet(int argc, char **argv, struct ctx *ctx)
{
	struct cmd_getopt g;
	int c;
	cmd_getopt_init(&g, argc, argv);
	if ((c = cmd_getopt_next(&g)) != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (g.optind >= argc)
		return cmd_usage_error("fleet", "missing subcommand (show or check)");
	const char *sub = argv[g.optind];
	if (g.optind + 1 < argc)
		return cmd_usage_error("fleet", "unexpected argument '%s'", argv[g.optind + 1]);

	const struct fleet *f = ctx->fleet;
	if (!strcmp(sub, "show")) {
		if (ctx->json) {
			char *j = fleet_to_json(f);
			puts(j);
			free(j);
		} else {
			print_show(f, ctx->color);
		}
		return EXIT_OK;
	}
	if (!strcmp(sub, "check")) {
		/* Loading already validated it (main exits 3 with file:line otherwise). */
		if (!f->path) {
			cmd_error("fleet", "no fleet file found (looked at -f, $OBRIDGE_FLEET, "
					   "./obridge.conf, $XDG_CONFIG_HOME/obridge/obridge.conf)");
			return EXIT_UNKNOWN;
		}
		if (ctx->json)
			printf("{\"path\":\"%s\",\"valid\":true,\"instances\":%zu,\"models\":%zu}\n",
			       f->path, f->ninstances, f->nmodels);
		else if (!ctx->quiet)
			printf("%s: ok (%zu instance%s, %zu model%s)\n", f->path, f->ninstances,
			       f->ninstances == 1 ? "" : "s", f->nmodels, f->nmodels == 1 ? "" : "s");
		return EXIT_OK;
	}
	return cmd_usage_error("fleet", "unknown subcommand '%s' (expected show or check)", sub);
}
