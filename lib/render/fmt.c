/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pure formatting helpers for human output, matching the ollama CLI where it has one. */
#include "../compat.h"
#include "fmt.h"

#include <math.h>
#include <stdio.h>

#include "../util/units.h"
#include "../banned.h"

#define NS_PER_S 1000000000LL

char *fmt_processor(uint64_t size, uint64_t size_vram, char *out, size_t n)
{
	if (size_vram == 0) {
		snprintf(out, n, "100%% CPU");
	} else if (size_vram == size) {
		snprintf(out, n, "100%% GPU");
	} else if (size_vram > size || size == 0) {
		snprintf(out, n, "Unknown");
	} else {
		double cpu = round((double)(size - size_vram) / (double)size * 100);
		snprintf(out, n, "%d%%/%d%% CPU/GPU", (int)cpu, (int)(100 - cpu));
	}
	return out;
}

char *fmt_until(int64_t expires_ns, int64_t now_ns, char *out, size_t n)
{
	/* The CLI: time.Since(expires) > 0 -> "Stopping...", else HumanTime(). */
	if (expires_ns < now_ns) {
		snprintf(out, n, "Stopping...");
		return out;
	}
	if (expires_ns == INT64_MAX) {
		snprintf(out, n, "Forever");
		return out;
	}
	int64_t ahead = expires_ns - now_ns;
	/* int(delta.Hours())/24/365 < -20 with truncating conversions. */
	int64_t hours = ahead / (3600 * NS_PER_S);
	if (hours / 24 / 365 > 20) {
		snprintf(out, n, "Forever");
		return out;
	}
	if (ahead == 0) {
		snprintf(out, n, "Less than a second ago");
		return out;
	}
	char d[64];
	units_duration(ahead, UNITS_DUR_HUMAN, d, sizeof(d));
	snprintf(out, n, "%s from now", d);
	return out;
}
