/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fleet rendered as the configs of the engines around it (nginx, HAProxy, docker
 * compose, Kubernetes, systemd, Prometheus rules), and nginx/HAProxy configs read back
 * into a fleet file. Pure functions: they fill buffers or return an error; no printing.
 */
#ifndef OBRIDGE_EMIT_EMIT_H
#define OBRIDGE_EMIT_EMIT_H

#include <stddef.h>
#include <stdint.h>

struct fleet;

enum emit_kind {
	EMIT_NGINX,
	EMIT_HAPROXY,
	EMIT_COMPOSE,
	EMIT_K8S,
	EMIT_SYSTEMD,
	EMIT_PROMETHEUS,
};

struct emit_opts {
	int full;            /* nginx: a whole nginx.conf; haproxy: with global and defaults */
	const char *version; /* obridge's version, for the header comment */
};

/* One output file: a file name (used with -o DIR) and its text. */
struct emit_file {
	char *name;
	char *text;
};

struct emit_out {
	struct emit_file *files;
	size_t nfiles;
};

/* The kind named s ("nginx", ...), or -1. */
int emit_kind_parse(const char *s);
const char *emit_kind_name(enum emit_kind k);

/*
 * Render the fleet for kind into out (one or more files, in a fixed order). The same
 * fleet gives the same bytes. Returns 0, or -1 with a message in err (ERR_MAX) naming
 * what in the fleet cannot be expressed.
 */
int emit_render(enum emit_kind kind, const struct fleet *f, const struct emit_opts *o,
		struct emit_out *out, char *err);
void emit_out_release(struct emit_out *out);

/* ERE (nginx map syntax, without anchors) matching decimal numbers greater than n. */
char *emit_regex_greater(uint64_t n);

enum import_kind { IMPORT_NGINX, IMPORT_HAPROXY };

/*
 * Read an nginx config (text, named file in messages) and return the fleet file for one
 * upstream (name NULL: the only one, or the one with the most servers) in *fleet_text
 * (caller frees). HAProxy: the same for a backend (NULL: the frontend's default_backend,
 * else the only one). Directives with no fleet-file equivalent become comments; "#@"
 * comments written by emit carry the settings the engine has no directive for.
 * Returns 0, or -1 with "file:line: message" in err.
 */
int emit_import(enum import_kind kind, const char *text, const char *file, const char *name,
		const char *version, char **fleet_text, char *err);

#endif
