/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge sim: run a simulated Ollama fleet on loopback until SIGINT or SIGTERM. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../lib/sim/sim.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge sim [-n N] [--port P] [--host ADDR] [--models LIST] [options]",
	"",
	"Run N simulated Ollama servers (gpu-1 ... gpu-N) on consecutive ports, with Ollama's",
	"wire format, scheduler and timing, and injectable faults. Runs until SIGINT/SIGTERM.",
	"",
	"  -n, --instances N      number of instances (1)",
	"      --port P           first port (11434); instance k listens on P+k-1",
	"      --host ADDR        listen address (127.0.0.1)",
	"      --fleet-out FILE   write a fleet file once every instance listens",
	"      --models LIST      installed models (llama3.2:latest,qwen2.5:0.5b,",
	"                         nomic-embed-text:latest); unknown names get made-up sizes",
	"      --registry LIST    extra names that /api/pull knows (besides a built-in catalogue)",
	"      --num-parallel K   parallel slots per loaded model, OLLAMA_NUM_PARALLEL (1)",
	"      --max-queue Q      capacity of the load queue, OLLAMA_MAX_QUEUE (512)",
	"      --max-loaded M     models loaded at once, OLLAMA_MAX_LOADED_MODELS (3)",
	"      --keep-alive D     default keep_alive, OLLAMA_KEEP_ALIVE (5m; negative = forever)",
	"      --num-ctx N        default context length (4096)",
	"      --load-time D      cold load time (1.5s)",
	"      --unload-time D    time a runner takes to exit (50ms)",
	"      --ttft D           fixed time to first token after prompt eval (25ms)",
	"      --tok-interval D   time between tokens (20ms; 0 = as fast as possible)",
	"      --prefill-rate R   prompt tokens per second (2000)",
	"      --tokens N         tokens per answer, cut by num_predict/max_tokens (48)",
	"      --pull-time D      time a pull of 2 GB takes (2s)",
	"      --jitter PCT       random +/- PCT% on every delay (0)",
	"      --seed S           seed of the random choices (1)",
	"      --vram SIZE        GPU memory per instance (e.g. 2G): a bigger model shows",
	"                         size_vram < size in /api/ps (default: everything on GPU)",
	"      --version V        version reported by /api/version (0.33.0)",
	"      --fault SPEC       inject a fault, repeatable: [INSTANCE:]KIND[=ARG][@FRACTION]",
	"      --instance NAME:key=value,...  per-instance settings (keys: the long options",
	"                         above without dashes, e.g. gpu-2:tok-interval=50ms,models=a,b)",
	"      --config FILE      INI file: [sim] for the defaults, [instance NAME] sections",
	"                         with the same keys (digest = MODEL@SALT gives another digest)",
	"",
	"Faults (KIND): down (stop listening; up restores), hang (accept, never answer),",
	"slow (every delay x10), 500 (runner crash on inference), 503 (server busy),",
	"malformed (a broken JSON line mid-stream), error (an {\"error\"} line mid-stream),",
	"truncate (close mid-stream without done), stall=DUR (pause mid-stream), none.",
	"Examples: --fault gpu-2:hang  --fault 500@0.25  --fault gpu-1:stall=2s@0.5",
	"",
	"Control, on any instance's port:",
	"  curl -d '{\"instance\":\"gpu-2\",\"fault\":\"down\"}' http://127.0.0.1:11434/_sim/fault",
	"      (replaces the instance's faults; \"add\":true adds to them; --fault options add up)",
	"  curl http://127.0.0.1:11434/_sim/stats     (counters; shape in lib/sim/sim.h)",
	"  curl -X POST http://127.0.0.1:11434/_sim/reset",
	"",
	"Timing: load_duration = load-queue wait + cold load; first token after",
	"slot wait + prompt_tokens/prefill-rate + ttft; then one token per tok-interval.",
	"Prompt tokens = ceil(bytes/4) per text + 4 per message + 3.",
	NULL,
};

enum {
	OPT_PORT = 256,
	OPT_HOST,
	OPT_MODELS,
	OPT_FLEET_OUT,
	OPT_CONFIG,
	OPT_INSTANCE,
	OPT_FAULT,
	OPT_SETTING,
};

static void log_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

/* --fault [INSTANCE:]SPEC */
static int add_fault(struct sim_config *cfg, const char *arg, char *err)
{
	const char *colon = strchr(arg, ':');
	if (colon) {
		char *name = xstrndup(arg, (size_t)(colon - arg));
		struct sim_settings tmp;
		sim_settings_copy(&tmp, &cfg->defaults);
		int rc = sim_fault_apply(&tmp, colon + 1, err);
		sim_settings_release(&tmp);
		if (rc == 0)
			sim_config_override(cfg, name, "fault", colon + 1);
		free(name);
		return rc;
	}
	return sim_fault_apply(&cfg->defaults, arg, err);
}

struct ini_state {
	struct sim_config *cfg;
	const char *path;
	char err[ERR_MAX];
	int failed;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	char e2[ERR_MAX];
	if (st->failed)
		return 0;
	if (!strcmp(section, "sim") || !*section) {
		int rc;
		if (!strcmp(name, "instances") || !strcmp(name, "n")) {
			char *end;
			long n = strtol(value, &end, 10);
			if (*end || n < 1 || n > 1000)
				rc = seterr(e2, "invalid instances '%s'", value);
			else
				rc = 0, st->cfg->n = (int)n;
		} else if (!strcmp(name, "port")) {
			char *end;
			long p = strtol(value, &end, 10);
			if (*end || p < 1 || p > 65535)
				rc = seterr(e2, "invalid port '%s'", value);
			else
				rc = 0, st->cfg->port = (int)p;
		} else if (!strcmp(name, "fault")) {
			rc = add_fault(st->cfg, value, e2);
		} else {
			rc = sim_settings_set(&st->cfg->defaults, name, value, e2);
		}
		if (rc < 0) {
			seterr(st->err, "%s: %s", st->path, e2);
			st->failed = 1;
			return 0;
		}
		return 1;
	}
	if (!strncmp(section, "instance ", 9)) {
		const char *inst = section + 9;
		while (*inst == ' ')
			inst++;
		struct sim_settings tmp;
		sim_settings_copy(&tmp, &st->cfg->defaults);
		int rc = sim_settings_set(&tmp, name, value, e2);
		sim_settings_release(&tmp);
		if (rc < 0) {
			seterr(st->err, "%s: [%s] %s", st->path, section, e2);
			st->failed = 1;
			return 0;
		}
		sim_config_override(st->cfg, inst, name, value);
		return 1;
	}
	seterr(st->err, "%s: unknown section [%s]", st->path, section);
	st->failed = 1;
	return 0;
}

static int load_config(struct sim_config *cfg, const char *path, char *err)
{
	struct ini_state st = { cfg, path, "", 0 };
	int rc = ini_parse(path, ini_cb, &st);
	if (rc < 0)
		return seterr(err, "cannot read '%s': %s", path, strerror(errno));
	if (st.failed)
		return seterr(err, "%s", st.err);
	if (rc > 0)
		return seterr(err, "%s:%d: syntax error", path, rc);
	return 0;
}

static int write_fleet(const char *path, const char *text, char *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		seterr(err, "cannot write '%s': %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		seterr(err, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int cmd_sim(int argc, char **argv, struct ctx *ctx)
{
	static const struct option longopts[] = {
		{ "instances", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "models", required_argument, NULL, OPT_MODELS },
		{ "fleet-out", required_argument, NULL, OPT_FLEET_OUT },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "instance", required_argument, NULL, OPT_INSTANCE },
		{ "fault", required_argument, NULL, OPT_FAULT },
		{ "num-parallel", required_argument, NULL, OPT_SETTING },
		{ "max-queue", required_argument, NULL, OPT_SETTING },
		{ "max-loaded", required_argument, NULL, OPT_SETTING },
		{ "keep-alive", required_argument, NULL, OPT_SETTING },
		{ "load-time", required_argument, NULL, OPT_SETTING },
		{ "unload-time", required_argument, NULL, OPT_SETTING },
		{ "ttft", required_argument, NULL, OPT_SETTING },
		{ "tok-interval", required_argument, NULL, OPT_SETTING },
		{ "prefill-rate", required_argument, NULL, OPT_SETTING },
		{ "tokens", required_argument, NULL, OPT_SETTING },
		{ "jitter", required_argument, NULL, OPT_SETTING },
		{ "seed", required_argument, NULL, OPT_SETTING },
		{ "version", required_argument, NULL, OPT_SETTING },
		{ "registry", required_argument, NULL, OPT_SETTING },
		{ "num-ctx", required_argument, NULL, OPT_SETTING },
		{ "pull-time", required_argument, NULL, OPT_SETTING },
		{ "digest", required_argument, NULL, OPT_SETTING },
		{ "vram", required_argument, NULL, OPT_SETTING },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	(void)ctx;
	struct sim_config cfg;
	sim_config_init(&cfg);
	const char *fleet_out = NULL;
	char err[ERR_MAX];
	int c, idx, rc = EXIT_OK;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hn:", longopts, &idx)) != -1) {
		char *end;
		long v;
		switch (c) {
		case 'h':
			cmd_print_usage(stdout, usage);
			sim_config_release(&cfg);
			return EXIT_OK;
		case 'n':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 1000) {
				rc = cmd_usage_error("sim", "invalid number of instances '%s'",
						     optarg);
				goto out;
			}
			cfg.n = (int)v;
			break;
		case OPT_PORT:
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 65535) {
				rc = cmd_usage_error("sim", "invalid port '%s'", optarg);
				goto out;
			}
			cfg.port = (int)v;
			break;
		case OPT_HOST:
			free(cfg.host);
			cfg.host = xstrdup(optarg);
			break;
		case OPT_MODELS:
			if (sim_settings_set(&cfg.defaults, "models", optarg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_FLEET_OUT:
			fleet_out = optarg;
			break;
		case OPT_CONFIG:
			if (load_config(&cfg, optarg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_INSTANCE:
			if (sim_config_instance_arg(&cfg, optarg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_FAULT:
			if (add_fault(&cfg, optarg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_SETTING:
			if (sim_settings_set(&cfg.defaults, longopts[idx].name, optarg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case ':':
			rc = cmd_usage_error("sim", "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			rc = cmd_usage_error("sim", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		rc = cmd_usage_error("sim", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	/* Instance overrides are checked against copies before anything listens. */
	for (size_t i = 0; i < cfg.nov; i++) {
		struct sim_settings tmp;
		sim_settings_copy(&tmp, &cfg.defaults);
		int bad = sim_settings_set(&tmp, cfg.ov[i].key, cfg.ov[i].value, err);
		sim_settings_release(&tmp);
		if (bad < 0) {
			rc = cmd_usage_error("sim", "instance %s: %s", cfg.ov[i].instance, err);
			goto out;
		}
		char *endp;
		long k = strncmp(cfg.ov[i].instance, "gpu-", 4)
				 ? 0
				 : strtol(cfg.ov[i].instance + 4, &endp, 10);
		if (k < 1 || k > cfg.n) {
			rc = cmd_usage_error("sim",
					     "no instance '%s' (instances are gpu-1 ... gpu-%d)",
					     cfg.ov[i].instance, cfg.n);
			goto out;
		}
	}
	cfg.log = log_line;
	cfg.log_arg = NULL;

	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		cmd_error("sim", "signalfd: %s", strerror(errno));
		rc = EXIT_UNKNOWN;
		goto out;
	}
	struct sim *sim = sim_start(&cfg, err);
	if (!sim) {
		cmd_error("sim", "%s", err);
		close(sfd);
		rc = EXIT_CRIT;
		goto out;
	}
	if (fleet_out) {
		char *text = sim_fleet_text(sim);
		if (write_fleet(fleet_out, text, err) < 0) {
			cmd_error("sim", "%s", err);
			free(text);
			sim_free(sim);
			close(sfd);
			rc = EXIT_CRIT;
			goto out;
		}
		free(text);
	}
	if (sim_run(sim, sfd, err) < 0) {
		cmd_error("sim", "%s", err);
		rc = EXIT_CRIT;
	}
	sim_free(sim);
	/* consume the pending signal so that unblocking does not deliver it */
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof(si)) < 0)
		si.ssi_signo = 0;
	close(sfd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
out:
	sim_config_release(&cfg);
	return rc;
}
