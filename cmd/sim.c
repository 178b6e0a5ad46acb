/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge sim: run a simulated Ollama fleet on loopback until SIGINT or SIGTERM. */
#include "../lib/compat.h"
#include "cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../lib/sim/sim.h"
#include "../lib/util/file.h"
#include "../lib/util/util.h"
#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge sim [-n N] [--port P] [--host ADDR] [--models LIST] [options]",
	"",
	"Run N simulated Ollama servers (gpu-1 ... gpu-N) on consecutive ports, with Ollama's",
	"wire format, scheduler and timing, and injectable faults. Runs until SIGINT/SIGTERM.",
	"",
	CMD_OPTIONS,
	"",
	"Faults (KIND): down (stop listening; up restores), hang (accept, never answer),",
	"slow (every delay x10), 500 (runner crash on inference), 503 (server busy),",
	"malformed (a broken JSON line mid-stream), error (an {\"error\"} line mid-stream),",
	"truncate (close mid-stream without done), stall=DUR (pause mid-stream),",
	"pull-cut[=SHARE] (a pull stops at SHARE of the bytes, 0.5; the next resumes),",
	"disk-full[=SHARE] (a pull fails with \"no space left on device\"), none.",
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

static const struct cmd_opt opts[] = {
	OPT_VAL("instances", 'n', 'n', CK_TEXT, "N", "number of instances (1)"),
	OPT_VAL("port", 0, OPT_PORT, CK_TEXT, "P",
		"first port (11434); instance k listens on P+k-1"),
	OPT_VAL("host", 0, OPT_HOST, CK_TEXT, "ADDR", "listen address (127.0.0.1)"),
	OPT_VAL("fleet-out", 0, OPT_FLEET_OUT, CK_FILE, "FILE",
		"write a fleet file once every instance listens"),
	OPT_VAL("models", 0, OPT_MODELS, CK_TEXT, "LIST",
		"installed models (llama3.2:latest,qwen2.5:0.5b,\nnomic-embed-text:latest); unknown names get made-up sizes"),
	OPT_VAL("registry", 0, OPT_SETTING, CK_TEXT, "LIST",
		"names /api/pull knows (it knows every well-formed name anyway)"),
	OPT_VAL("registry-missing", 0, OPT_SETTING, CK_TEXT, "LIST",
		"names the registry does not have: /api/pull answers\n"
		"Ollama's \"pull model manifest: file does not exist\""),
	OPT_VAL("store", 0, OPT_SETTING, CK_TEXT, "NAME",
		"instances with the same store name share their models (a\n"
		"shared OLLAMA_MODELS): a pull installs on all of them"),
	OPT_VAL("num-parallel", 0, OPT_SETTING, CK_TEXT, "K",
		"parallel slots per loaded model, OLLAMA_NUM_PARALLEL (1)"),
	OPT_VAL("max-queue", 0, OPT_SETTING, CK_TEXT, "Q",
		"capacity of the load queue, OLLAMA_MAX_QUEUE (512)"),
	OPT_VAL("max-loaded", 0, OPT_SETTING, CK_TEXT, "M",
		"models loaded at once, OLLAMA_MAX_LOADED_MODELS (3)"),
	OPT_VAL("keep-alive", 0, OPT_SETTING, CK_TEXT, "D",
		"default keep_alive, OLLAMA_KEEP_ALIVE (5m; negative = forever)"),
	OPT_VAL("num-ctx", 0, OPT_SETTING, CK_TEXT, "N", "default context length (4096)"),
	OPT_VAL("load-time", 0, OPT_SETTING, CK_TEXT, "D", "cold load time (1.5s)"),
	OPT_VAL("unload-time", 0, OPT_SETTING, CK_TEXT, "D",
		"time a runner takes to exit (50ms)"),
	OPT_VAL("ttft", 0, OPT_SETTING, CK_TEXT, "D",
		"fixed time to first token after prompt eval (25ms)"),
	OPT_VAL("tok-interval", 0, OPT_SETTING, CK_TEXT, "D",
		"time between tokens (20ms; 0 = as fast as possible)"),
	OPT_VAL("prefill-rate", 0, OPT_SETTING, CK_TEXT, "R",
		"prompt tokens per second (2000)"),
	OPT_VAL("tokens", 0, OPT_SETTING, CK_TEXT, "N",
		"tokens per answer, cut by num_predict/max_tokens (48)"),
	OPT_VAL("pull-time", 0, OPT_SETTING, CK_TEXT, "D", "time a pull of 2 GB takes (2s)"),
	OPT_VAL("jitter", 0, OPT_SETTING, CK_TEXT, "PCT", "random +/- PCT% on every delay (0)"),
	OPT_VAL("seed", 0, OPT_SETTING, CK_TEXT, "S", "seed of the random choices (1)"),
	OPT_VAL("vram", 0, OPT_SETTING, CK_TEXT, "SIZE",
		"GPU memory per instance (e.g. 2G): a bigger model shows\nsize_vram < size in /api/ps (default: everything on GPU)"),
	OPT_VAL("digest", 0, OPT_SETTING, CK_TEXT, "MODEL@SALT",
		"give MODEL another digest (as a differing build would)"),
	OPT_VAL("version", 0, OPT_SETTING, CK_TEXT, "V",
		"version reported by /api/version (0.33.0)"),
	OPT_VAL("fault", 0, OPT_FAULT, CK_TEXT, "SPEC",
		"inject a fault, repeatable: [INSTANCE:]KIND[=ARG][@FRACTION]"),
	OPT_VAL("instance", 0, OPT_INSTANCE, CK_TEXT, "NAME:key=value,...",
		"per-instance settings (keys: the long options\nabove without dashes, e.g. gpu-2:tok-interval=50ms,models=a,b)"),
	OPT_VAL("config", 0, OPT_CONFIG, CK_FILE, "FILE",
		"INI file: [sim] for the defaults, [instance NAME] sections\nwith the same keys (digest = MODEL@SALT gives another digest)"),
	OPT_END,
};

const struct cmd_spec spec_sim = {
	.usage = usage,
	.opts = opts,
	.in_order = 1,
};

static void log_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

int cmd_sim(int argc, char **argv, struct ctx *ctx)
{
	(void)ctx;
	struct sim_config cfg;
	sim_config_init(&cfg);
	const char *fleet_out = NULL;
	char err[ERR_MAX];
	int c, rc = EXIT_OK;
	struct cmd_getopt g;
	cmd_getopt_init(&g, argc, argv);
	while ((c = cmd_getopt_next(&g)) >= 0) {
		char *end;
		long v;
		switch (c) {
		case 'n':
			v = strtol(g.arg, &end, 10);
			if (*end || end == g.arg || v < 1 || v > 1000) {
				rc = cmd_usage_error("sim", "invalid number of instances '%s'",
						     g.arg);
				goto out;
			}
			cfg.n = (int)v;
			break;
		case OPT_PORT:
			v = strtol(g.arg, &end, 10);
			if (*end || end == g.arg || v < 1 || v > 65535) {
				rc = cmd_usage_error("sim", "invalid port '%s'", g.arg);
				goto out;
			}
			cfg.port = (int)v;
			break;
		case OPT_HOST:
			free(cfg.host);
			cfg.host = xstrdup(g.arg);
			break;
		case OPT_MODELS:
			if (sim_settings_set(&cfg.defaults, "models", g.arg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_FLEET_OUT:
			fleet_out = g.arg;
			break;
		case OPT_CONFIG:
			if (sim_config_load(&cfg, g.arg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_INSTANCE:
			if (sim_config_instance_arg(&cfg, g.arg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_FAULT:
			if (sim_config_fault_arg(&cfg, g.arg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		case OPT_SETTING:
			if (sim_settings_set(&cfg.defaults, g.lng, g.arg, err) < 0) {
				rc = cmd_usage_error("sim", "%s", err);
				goto out;
			}
			break;
		}
	}
	if (c != CMD_OPT_END) {
		rc = cmd_getopt_exit(c);
		goto out;
	}
	if (g.optind < argc) {
		rc = cmd_usage_error("sim", "unexpected argument '%s'", argv[g.optind]);
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
		if (file_write_atomic(fleet_out, text, strlen(text), err) < 0) {
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
