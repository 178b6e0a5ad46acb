/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The cells of `ollama ps` that obridge shows the same way: PROCESSOR and UNTIL (fmt.c). */
#ifndef OBRIDGE_RENDER_FMT_H
#define OBRIDGE_RENDER_FMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The PROCESSOR column of `ollama ps`: size_vram 0 -> "100% CPU", equal -> "100% GPU",
 * size_vram > size or size 0 -> "Unknown", else "48%/52% CPU/GPU" with
 * cpu% = round((size - size_vram) / size * 100). Returns out.
 */
char *fmt_processor(uint64_t size, uint64_t size_vram, char *out, size_t n);
/*
 * The UNTIL column of `ollama ps` for a wall-clock expiry: "Forever" more than 20 years
 * ahead (INT64_MAX included), "Stopping..." when in the past, else
 * "<units_duration(UNITS_DUR_HUMAN)> from now". Both arguments are wall ns since the epoch.
 */
char *fmt_until(int64_t expires_ns, int64_t now_ns, char *out, size_t n);

#endif
