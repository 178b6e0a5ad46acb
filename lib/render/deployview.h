/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The views of obridge deploy: the plan, the live pull progress, step lines, the result. */
#ifndef OBRIDGE_RENDER_DEPLOYVIEW_H
#define OBRIDGE_RENDER_DEPLOYVIEW_H

#include <stdio.h>

struct deploy_plan;

/* The plan per instance (what to pull, update, preload, remove; unreachable), the lints
 * as warnings and the summary line. Server text is sanitized. */
void deployview_plan(FILE *out, const struct deploy_plan *p, int color);

/* One line for a finished action ("gpu-1 pull llama3.2:latest: ok in 2.1s, 2.0 GB"). */
void deployview_step(FILE *out, const struct deploy_plan *p, size_t i, int color);

/*
 * Live progress on a terminal: one line per pull (instance x model) with the layer,
 * percent, bytes, rate and ETA, redrawn in place. *drawn holds the number of lines the
 * last call drew (start at 0); the lines stay on the screen after the last call.
 * width: the terminal's columns (lines are cut one short of it).
 */
void deployview_live(FILE *tty, const struct deploy_plan *p, int color, int *drawn, int width);

/* Verify per instance and the closing line. */
void deployview_result(FILE *out, const struct deploy_plan *p, int color);

/* A stored run (show): its header, the actions with their outcome, the result. */
void deployview_run(FILE *out, long long id, const char *status, const char *target,
		    const char *started, const struct deploy_plan *p, int color);

#endif
