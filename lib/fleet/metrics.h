/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GPU figures from a Prometheus exposition (NVIDIA dcgm-exporter, with node_exporter's
 * memory figures as a fallback), fetched from an instance's metrics_url for top's GPU
 * columns. Ollama itself exports neither utilisation nor memory.
 *
 * Ownership: struct metrics is plain data (no pointers); copy it freely.
 */
#ifndef OBRIDGE_FLEET_METRICS_H
#define OBRIDGE_FLEET_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct http_engine;

#define METRICS_GPU_MAX 16

enum metrics_has {
	METRICS_UTIL = 1 << 0,    /* DCGM_FI_DEV_GPU_UTIL, percent */
	METRICS_FB_USED = 1 << 1, /* DCGM_FI_DEV_FB_USED, MiB */
	METRICS_FB_FREE = 1 << 2, /* DCGM_FI_DEV_FB_FREE, MiB */
	METRICS_TEMP = 1 << 3,    /* DCGM_FI_DEV_GPU_TEMP, degrees C */
	METRICS_POWER = 1 << 4,   /* DCGM_FI_DEV_POWER_USAGE, W */
};

struct metrics_gpu {
	char id[16];              /* the gpu label ("0"), sanitized */
	char model[48];           /* the modelName label, "" when absent */
	unsigned has;             /* enum metrics_has */
	double util, fb_used_mib, fb_free_mib, temp_c, power_w;
};

struct metrics {
	struct metrics_gpu gpu[METRICS_GPU_MAX];
	size_t ngpu;
	/* node_exporter fallback (no GPU series): host memory */
	int has_mem;
	double mem_total_bytes, mem_avail_bytes;
	size_t nsamples;          /* sample lines understood */
	size_t nmalformed;        /* lines skipped as malformed */
};

/*
 * Parse exposition text (format 0.0.4). Comments and unknown series are skipped;
 * malformed lines are skipped and counted. Returns 0, or -1 with err when the text holds
 * no sample at all of a known series and at least one malformed line (not an exposition).
 */
int metrics_parse(const char *text, size_t len, struct metrics *out, char *err);

/* Aggregates over the GPUs of one instance; each returns -1 when unknown. */
double metrics_util_avg(const struct metrics *m);      /* percent */
double metrics_fb_used_mib(const struct metrics *m);   /* sum */
double metrics_fb_total_mib(const struct metrics *m);  /* sum of used + free */
double metrics_temp_max(const struct metrics *m);
double metrics_power_sum(const struct metrics *m);

/*
 * GET url (a metrics_url) through the engine; cb runs once with the parsed figures
 * (ok = 1) or an error message (ok = 0). Returns the request id or -1 with err.
 */
long metrics_fetch(struct http_engine *e, const char *url, int64_t timeout_ns,
		   void (*cb)(void *ud, int ok, const struct metrics *m, const char *msg),
		   void *ud, char *err);

#endif
