/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * import: nginx and HAProxy configs read back into a fleet file. Each reader builds the
 * fleet file line by line, remembering for every line the config line it came from, then
 * checks the result with the fleet file parser so that an error names the config's line.
 */
#include "../compat.h"
#include "emit-internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../banned.h"

/* ---- the fleet file being built ---- */

struct fout {
	struct buf text;
	int *src;          /* config line of each output line */
	size_t nlines;
	const char *file;
};

static void out_line(struct fout *o, int src, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void out_line(struct fout *o, int src, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	/* one output line per call: a newline in config text must not start a section; no
	 * control characters or invalid UTF-8 from the config reach the output */
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	char *clean = text_sanitize_dup(s);
	buf_adds(&o->text, clean);
	free(clean);
	buf_adds(&o->text, "\n");
	free(s);
	o->src = xrealloc(o->src, (o->nlines + 1) * sizeof(int));
	o->src[o->nlines++] = src;
}

/* A comment for a directive with no fleet-file equivalent. */
static void out_comment(struct fout *o, int line, const char *what, const char *text)
{
	out_line(o, line, "; %s:%d: %s%s%s (no fleet-file equivalent)", o->file, line, what,
		 *what ? " " : "", text);
}

/*
 * Check the built text with the fleet parser. On success *result takes the text; on
 * failure err says "file:line: message" with the config's line.
 */
static int out_finish(struct fout *o, char **result, char *err)
{
	struct fleet f;
	char e[ERR_MAX];
	int r = fleet_parse_string(&f, buf_str(&o->text), "\x01", e);
	if (r == 0) {
		fleet_release(&f);
		*result = buf_detach(&o->text);
		free(o->src);
		return 0;
	}
	/* "\x01:N: msg" or "\x01: msg" */
	const char *msg = e + 1;
	int line = 0;
	if (*msg == ':' && isdigit((unsigned char)msg[1])) {
		long n = strtol(msg + 1, (char **)&msg, 10);
		if (n >= 1 && (size_t)n <= o->nlines)
			line = o->src[n - 1];
	}
	if (*msg == ':')
		msg++;
	while (*msg == ' ')
		msg++;
	/* "(first defined at line N)" names a line of the built text: the config's instead */
	char fixed[ERR_MAX];
	const char *at = strstr(msg, "at line ");
	long n2 = at ? strtol(at + 8, NULL, 10) : 0;
	if (at && n2 >= 1 && (size_t)n2 <= o->nlines) {
		snprintf(fixed, sizeof(fixed), "%.*sat line %d%s", (int)(at - msg), msg,
			 o->src[n2 - 1], at + 8 + strspn(at + 8, "0123456789"));
		msg = fixed;
	}
	if (line > 0)
		seterr(err, "%s:%d: %s", o->file, line, msg);
	else
		seterr(err, "%s: %s", o->file, msg);
	buf_release(&o->text);
	free(o->src);
	return -1;
}

/* ---- "#@" notes ---- */

struct note {
	char *text; /* after "#@", trimmed */
	int line;
};

struct notes {
	struct note *v;
	size_t n;
};

static void notes_add(struct notes *ns, const char *s, size_t len, int line)
{
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
	ns->v[ns->n].text = xstrndup(s, len);
	ns->v[ns->n].line = line;
	ns->n++;
}

static void notes_release(struct notes *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i].text);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

/* The [fleet] keys of the file notes (before any other section). */
static void out_fleet_notes(struct fout *o, const struct notes *ns, int *has_name)
{
	int in_fleet = 1;
	*has_name = 0;
	for (size_t i = 0; i < ns->n; i++) {
		const char *t = ns->v[i].text;
		if (*t == '[') {
			in_fleet = !strncmp(t, "[fleet]", 7);
			continue;
		}
		if (!in_fleet || !*t)
			continue;
		if (!strncmp(t, "name", 4) && (t[4] == ' ' || t[4] == '='))
			*has_name = 1;
		out_line(o, ns->v[i].line, "%s", t);
	}
}

/* The other sections of the file notes ([model], [route], [slo], ...). */
static void out_section_notes(struct fout *o, const struct notes *ns)
{
	int in_fleet = 1;
	for (size_t i = 0; i < ns->n; i++) {
		const char *t = ns->v[i].text;
		if (*t == '[') {
			in_fleet = !strncmp(t, "[fleet]", 7);
			if (!in_fleet)
				out_line(o, ns->v[i].line, "%s", "");
		}
		if (!in_fleet && *t)
			out_line(o, ns->v[i].line, "%s", t);
	}
}

/* An instance's "#@ key=value ..." note as fleet-file keys; name= is returned. */
static char *out_instance_note(struct fout *o, const char *note, int line, int want_name)
{
	char *name = NULL;
	const char *p = note;
	while (p && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, " \t");
		const char *eq = memchr(p, '=', l);
		if (!eq) {
			out_line(o, line, "; %s:%d: note '%.*s' ignored (expected key=value)", o->file,
				 line, (int)l, p);
		} else if (eq - p == 4 && !strncmp(p, "name", 4)) {
			if (want_name) {
				free(name);
				name = xstrndup(eq + 1, l - 5);
			}
		} else {
			out_line(o, line, "%.*s = %.*s", (int)(eq - p), p, (int)(l - (size_t)(eq - p) - 1),
				 eq + 1);
		}
		p += l;
	}
	return name;
}

/* ---- nginx ---- */

struct ndir {
	char **args;       /* args[0] is the directive name */
	size_t nargs;
	int line;
	char *note;        /* a "#@" comment on the same line, or NULL */
	struct ndir *kids; /* a block's directives */
	size_t nkids;
	int block;
};

struct nparse {
	const char *s;
	size_t pos, len;
	int line;
	const char *file;
	char *err;
	struct notes notes;
	struct ndir *last; /* the directive ended last, for a trailing note */
	int last_line;
};

static void ndir_release(struct ndir *d)
{
	for (size_t i = 0; i < d->nargs; i++)
		free(d->args[i]);
	free(d->args);
	free(d->note);
	for (size_t i = 0; i < d->nkids; i++)
		ndir_release(&d->kids[i]);
	free(d->kids);
}

enum { NT_WORD, NT_SEMI, NT_OPEN, NT_CLOSE, NT_EOF, NT_ERR };

/* Next token; comments are consumed here ("#@" ones kept as notes). */
static int ntoken(struct nparse *p, struct buf *w, int *tline)
{
	for (;;) {
		while (p->pos < p->len && isspace((unsigned char)p->s[p->pos])) {
			if (p->s[p->pos] == '\n')
				p->line++;
			p->pos++;
		}
		if (p->pos >= p->len)
			return NT_EOF;
		if (p->s[p->pos] != '#')
			break;
		size_t st = p->pos;
		while (p->pos < p->len && p->s[p->pos] != '\n')
			p->pos++;
		if (p->pos - st >= 2 && p->s[st + 1] == '@') {
			if (p->last && p->last_line == p->line && !p->last->note) {
				struct notes tmp = { 0 };
				notes_add(&tmp, p->s + st + 2, p->pos - st - 2, p->line);
				p->last->note = tmp.v[0].text;
				free(tmp.v);
			} else {
				notes_add(&p->notes, p->s + st + 2, p->pos - st - 2, p->line);
			}
		}
	}
	*tline = p->line;
	char c = p->s[p->pos];
	if (c == ';' || c == '{' || c == '}') {
		p->pos++;
		return c == ';' ? NT_SEMI : c == '{' ? NT_OPEN : NT_CLOSE;
	}
	buf_reset(w);
	if (c == '"' || c == '\'') {
		int start = p->line;
		p->pos++;
		while (p->pos < p->len && p->s[p->pos] != c) {
			if (p->s[p->pos] == '\\' && p->pos + 1 < p->len)
				p->pos++;
			if (p->s[p->pos] == '\n')
				p->line++;
			buf_add(w, &p->s[p->pos], 1);
			p->pos++;
		}
		if (p->pos >= p->len) {
			seterr(p->err, "%s:%d: unterminated quoted string", p->file, start);
			return NT_ERR;
		}
		p->pos++;
		buf_adds(w, ""); /* an empty string is still a word */
		return NT_WORD;
	}
	while (p->pos < p->len) {
		c = p->s[p->pos];
		if (isspace((unsigned char)c) || c == ';' || c == '{' || c == '}')
			break;
		if (c == '\\' && p->pos + 1 < p->len)
			p->pos++;
		buf_add(w, &p->s[p->pos], 1);
		p->pos++;
	}
	return NT_WORD;
}

/* Parse directives until '}' (depth > 0) or the end of the file (depth 0). */
static int nblock(struct nparse *p, struct ndir **out, size_t *nout, int depth, int open_line)
{
	struct buf w = BUF_INIT;
	struct ndir cur = { 0 };
	int rc = 0;
	for (;;) {
		int tl = 0;
		int t = ntoken(p, &w, &tl);
		if (t == NT_ERR) {
			rc = -1;
			break;
		}
		if (t == NT_WORD) {
			if (!cur.nargs)
				cur.line = tl;
			cur.args = xrealloc(cur.args, (cur.nargs + 1) * sizeof(char *));
			cur.args[cur.nargs++] = xstrdup(buf_str(&w));
			continue;
		}
		if (t == NT_EOF) {
			if (cur.nargs) {
				rc = seterr(p->err, "%s:%d: unexpected end of file: '%s' has no ';'",
					    p->file, cur.line, cur.args[0]);
			} else if (depth > 0) {
				rc = seterr(p->err, "%s:%d: unexpected end of file: the block opened "
						    "here has no '}'", p->file, open_line);
			}
			break;
		}
		if (t == NT_CLOSE) {
			if (cur.nargs) {
				rc = seterr(p->err, "%s:%d: '%s' has no ';' before '}'", p->file,
					    cur.line, cur.args[0]);
			} else if (depth == 0) {
				rc = seterr(p->err, "%s:%d: unexpected '}'", p->file, tl);
			}
			break;
		}
		if (!cur.nargs) {
			rc = seterr(p->err, "%s:%d: unexpected '%c'", p->file, tl,
				    t == NT_SEMI ? ';' : '{');
			break;
		}
		if (t == NT_OPEN) {
			cur.block = 1;
			if (nblock(p, &cur.kids, &cur.nkids, depth + 1, tl) < 0) {
				rc = -1;
				break;
			}
		}
		*out = xrealloc(*out, (*nout + 1) * sizeof(**out));
		(*out)[*nout] = cur;
		p->last = &(*out)[*nout];
		p->last_line = p->line;
		(*nout)++;
		memset(&cur, 0, sizeof(cur));
	}
	ndir_release(&cur);
	buf_release(&w);
	p->last = NULL;
	return rc;
}

static void nfind(struct ndir *d, size_t n, const char *name, struct ndir ***v, size_t *nv)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(d[i].args[0], name)) {
			*v = xrealloc(*v, (*nv + 1) * sizeof(**v));
			(*v)[(*nv)++] = &d[i];
		}
		nfind(d[i].kids, d[i].nkids, name, v, nv);
	}
}

static char *join_args(const struct ndir *d, size_t from)
{
	struct buf b = BUF_INIT;
	for (size_t i = from; i < d->nargs; i++) {
		const char *a = d->args[i];
		int q = !*a || strpbrk(a, " \t;{}#") != NULL;
		buf_addf(&b, "%s%s%s%s", i > from ? " " : "", q ? "\"" : "", a, q ? "\"" : "");
	}
	return buf_detach(&b);
}

/* Every directive of a block, flattened, as comments. */
static void ncomment_all(struct fout *o, const struct ndir *d, size_t n, const char *skip)
{
	for (size_t i = 0; i < n; i++) {
		if (skip && !strcmp(d[i].args[0], skip))
			continue;
		char *a = join_args(&d[i], 0);
		if (d[i].block) {
			out_line(o, d[i].line, "; %s:%d: %s { ... } (no fleet-file equivalent)",
				 o->file, d[i].line, a);
			ncomment_all(o, d[i].kids, d[i].nkids, NULL);
		} else {
			out_comment(o, d[i].line, "", a);
		}
		free(a);
	}
}

/* The server block that serves upstream up: a proxy_pass naming it, or through a map. */
static const struct ndir *nserver_for(struct ndir *all, size_t n, const char *up)
{
	struct ndir **servers = NULL, **maps = NULL;
	size_t ns = 0, nm = 0;
	nfind(all, n, "server", &servers, &ns);
	nfind(all, n, "map", &maps, &nm);
	const struct ndir *best = NULL;
	for (size_t i = 0; i < ns && !best; i++) {
		if (!servers[i]->block)
			continue;
		struct ndir **pp = NULL;
		size_t np = 0;
		nfind(servers[i]->kids, servers[i]->nkids, "proxy_pass", &pp, &np);
		for (size_t k = 0; k < np && !best; k++) {
			if (pp[k]->nargs < 2)
				continue;
			const char *a = strstr(pp[k]->args[1], "://");
			a = a ? a + 3 : pp[k]->args[1];
			size_t l = strcspn(a, "/");
			if (strlen(up) == l && !strncmp(a, up, l))
				best = servers[i];
			else if (*a == '$') /* a variable: a map that yields up */
				for (size_t m = 0; m < nm && !best; m++)
					if (maps[m]->nargs >= 3 && !strncmp(maps[m]->args[2], a, l))
						for (size_t e = 0; e < maps[m]->nkids; e++)
							if (maps[m]->kids[e].nargs >= 2 &&
							    !strcmp(maps[m]->kids[e].args[1], up))
								best = servers[i];
		}
		free(pp);
	}
	free(servers);
	free(maps);
	return best;
}

/* nginx listen / HAProxy bind address as a fleet URL. */
static int listen_url(const char *addr, int tls, char *out, size_t n)
{
	const char *scheme = tls ? "https" : "http";
	if (!strncmp(addr, "unix:", 5))
		return -1;
	if (addr[0] == '[' || strchr(addr, ':')) {
		const char *colon = addr[0] == '[' ? strstr(addr, "]:") : strrchr(addr, ':');
		if (!colon)
			return -1;
		if (addr[0] == '[')
			colon++;
		size_t hl = (size_t)(colon - addr);
		if (hl == 0 || (hl == 1 && addr[0] == '*'))
			snprintf(out, n, "%s://0.0.0.0:%s", scheme, colon + 1);
		else
			snprintf(out, n, "%s://%.*s:%s", scheme, (int)hl, addr, colon + 1);
		return 0;
	}
	if (strspn(addr, "0123456789") == strlen(addr))
		snprintf(out, n, "%s://0.0.0.0:%s", scheme, addr);
	else
		snprintf(out, n, "%s://%s:%d", scheme, addr, tls ? 443 : 80);
	return 0;
}

static int import_nginx(const char *text, const char *file, const char *want,
			const char *version, char **result, char *err)
{
	struct nparse p = { 0 };
	p.s = text;
	p.len = strlen(text);
	p.line = 1;
	p.file = file;
	p.err = err;
	struct ndir *all = NULL;
	size_t nall = 0;
	struct ndir **ups = NULL;
	int rc = -1;
	size_t nups = 0;
	if (nblock(&p, &all, &nall, 0, 0) < 0)
		goto out;
	nfind(all, nall, "upstream", &ups, &nups);
	const struct ndir *up = NULL;
	for (size_t i = 0; i < nups; i++) {
		if (!ups[i]->block || ups[i]->nargs != 2) {
			seterr(err, "%s:%d: upstream needs one name and a { } block", file,
			       ups[i]->line);
			goto out;
		}
		if (want && !strcmp(ups[i]->args[1], want))
			up = ups[i];
	}
	if (!nups) {
		seterr(err, "%s: no upstream block", file);
		goto out;
	}
	if (want && !up) {
		struct buf names = BUF_INIT;
		for (size_t i = 0; i < nups; i++)
			buf_addf(&names, "%s%s", i ? ", " : "", ups[i]->args[1]);
		seterr(err, "%s: no upstream '%s' (there is %s)", file, want, buf_str(&names));
		buf_release(&names);
		goto out;
	}
	if (!up) {
		/* the one with the most servers; the first on ties */
		size_t best = 0;
		for (size_t i = 0; i < nups; i++) {
			size_t k = 0;
			for (size_t j = 0; j < ups[i]->nkids; j++)
				k += !strcmp(ups[i]->kids[j].args[0], "server");
			if (!up || k > best) {
				up = ups[i];
				best = k;
			}
		}
	}
	const struct ndir *srv = nserver_for(all, nall, up->args[1]);
	int tls_up = 0;
	if (srv) {
		struct ndir **pp = NULL;
		size_t np = 0;
		nfind(srv->kids, srv->nkids, "proxy_pass", &pp, &np);
		tls_up = np && pp[0]->nargs >= 2 && !strncmp(pp[0]->args[1], "https://", 8);
		free(pp);
	}

	struct fout o = { BUF_INIT, NULL, 0, file };
	out_line(&o, 0, "; Imported by obridge %s from nginx config %s, upstream %s.", version,
		 file, up->args[1]);
	out_line(&o, 0, "[fleet]");
	int has_name = 0;
	out_fleet_notes(&o, &p.notes, &has_name);
	if (!has_name)
		out_line(&o, up->line, "name = %s", up->args[1]);
	if (srv) {
		for (size_t i = 0; i < srv->nkids; i++) {
			const struct ndir *l = &srv->kids[i];
			if (strcmp(l->args[0], "listen"))
				continue;
			if (l->nargs < 2) {
				seterr(err, "%s:%d: listen without an address", file, l->line);
				buf_release(&o.text);
				free(o.src);
				goto out;
			}
			int tls = 0;
			for (size_t k = 2; k < l->nargs; k++)
				tls |= !strcmp(l->args[k], "ssl");
			char url[400];
			if (l->note && !strcmp(l->note, "default")) {
				out_line(&o, l->line, "; %s:%d: listen %s is emit's default, not a "
						      "[fleet] balancer", file, l->line, l->args[1]);
			} else if (listen_url(l->args[1], tls, url, sizeof(url)) < 0) {
				out_comment(&o, l->line, "listen", l->args[1]);
			} else {
				out_line(&o, l->line, "balancer = %s", url);
			}
			break; /* the first listen is the front door */
		}
		ncomment_all(&o, srv->kids, srv->nkids, "listen");
	} else {
		out_line(&o, 0, "; no server block proxies to upstream %s: no balancer", up->args[1]);
	}
	for (size_t i = 0; i < up->nkids; i++) {
		const struct ndir *d = &up->kids[i];
		if (strcmp(d->args[0], "server")) {
			char *a = join_args(d, 0);
			out_comment(&o, d->line, "", a);
			free(a);
		}
	}
	for (size_t i = 0; i < up->nkids; i++) {
		const struct ndir *d = &up->kids[i];
		if (strcmp(d->args[0], "server"))
			continue;
		if (d->nargs < 2) {
			seterr(err, "%s:%d: server without an address", file, d->line);
			buf_release(&o.text);
			free(o.src);
			goto out;
		}
		const char *addr = d->args[1];
		if (!strncmp(addr, "unix:", 5)) {
			seterr(err, "%s:%d: server %s: a unix socket cannot be a fleet instance", file,
			       d->line, addr);
			buf_release(&o.text);
			free(o.src);
			goto out;
		}
		struct fout keys = { BUF_INIT, NULL, 0, file };
		char *name = d->note ? out_instance_note(&keys, d->note, d->line, 1) : NULL;
		if (!name) {
			/* named by its address, without IPv6 brackets */
			name = xstrdup(addr);
			size_t k = 0;
			for (const char *c = addr; *c; c++)
				if (*c != '[' && *c != ']')
					name[k++] = *c;
			name[k] = '\0';
		}
		out_line(&o, d->line, "%s", "");
		out_line(&o, d->line, "[instance %s]", name);
		int has_port = addr[0] == '[' ? strstr(addr, "]:") != NULL : strchr(addr, ':') != NULL;
		out_line(&o, d->line, "url = %s://%s%s", tls_up ? "https" : "http", addr,
			 has_port ? "" : (tls_up ? ":443" : ":80"));
		for (size_t k = 2; k < d->nargs; k++) {
			const char *a = d->args[k];
			if (!strncmp(a, "weight=", 7))
				out_line(&o, d->line, "weight = %s", a + 7);
			else if (!strcmp(a, "backup"))
				out_line(&o, d->line, "backup = true");
			else
				out_comment(&o, d->line, "server parameter", a);
		}
		/* the note's keys, with their lines */
		const char *s = buf_str(&keys.text);
		for (size_t k = 0; k < keys.nlines; k++) {
			size_t l = strcspn(s, "\n");
			out_line(&o, keys.src[k], "%.*s", (int)l, s);
			s += l + 1;
		}
		buf_release(&keys.text);
		free(keys.src);
		free(name);
	}
	out_section_notes(&o, &p.notes);
	rc = out_finish(&o, result, err);
out:
	free(ups);
	for (size_t i = 0; i < nall; i++)
		ndir_release(&all[i]);
	free(all);
	notes_release(&p.notes);
	return rc;
}

/* ---- HAProxy ---- */

struct hline {
	char **w;
	size_t nw;
	int line;
	char *note;
};

struct hsection {
	char *kind; /* global, defaults, frontend, backend, listen, ... */
	char *name;
	int line;
	struct hline *lines;
	size_t nlines;
};

static const char *const hsection_kinds[] = {
	"global", "defaults", "frontend", "backend", "listen", "userlist", "peers", "resolvers",
	"mailers", "program", "http-errors", "ring", "cache", "fcgi-app",
};

/* Split one line into words (quotes and backslashes as HAProxy reads them); the comment
 * part, when it starts with "#@", goes to *note. */
static int hsplit(const char *s, struct hline *hl, const char *file, int line, char *err)
{
	struct buf w = BUF_INIT;
	int inword = 0;
	char q = 0;
	for (const char *p = s;; p++) {
		char c = *p;
		if (q) {
			if (!c) {
				buf_release(&w);
				return seterr(err, "%s:%d: unterminated quoted string", file, line);
			}
			if (c == q) {
				q = 0;
			} else if (c == '\\' && q == '"' && p[1]) {
				buf_add(&w, ++p, 1);
			} else {
				buf_add(&w, p, 1);
			}
			continue;
		}
		if (!c || c == '\n' || c == '#' || c == ' ' || c == '\t' || c == '\r') {
			if (inword) {
				hl->w = xrealloc(hl->w, (hl->nw + 1) * sizeof(char *));
				hl->w[hl->nw++] = xstrdup(buf_str(&w));
				buf_reset(&w);
				inword = 0;
			}
			if (c == '#') {
				if (p[1] == '@') {
					struct notes tmp = { 0 };
					notes_add(&tmp, p + 2, strcspn(p + 2, "\n"), line);
					hl->note = tmp.v[0].text;
					free(tmp.v);
				}
				break;
			}
			if (!c || c == '\n')
				break;
			continue;
		}
		inword = 1;
		if (c == '"' || c == '\'') {
			q = c;
			buf_adds(&w, "");
		} else if (c == '\\' && p[1]) {
			buf_add(&w, ++p, 1);
		} else {
			buf_add(&w, p, 1);
		}
	}
	buf_release(&w);
	return 0;
}

static void hline_release(struct hline *l)
{
	for (size_t i = 0; i < l->nw; i++)
		free(l->w[i]);
	free(l->w);
	free(l->note);
}

static char *hjoin(const struct hline *l, size_t from)
{
	struct buf b = BUF_INIT;
	for (size_t i = from; i < l->nw; i++)
		buf_addf(&b, "%s%s", i > from ? " " : "", l->w[i]);
	return buf_detach(&b);
}

static int import_haproxy(const char *text, const char *file, const char *want,
			  const char *version, char **result, char *err)
{
	struct hsection *secs = NULL;
	size_t nsecs = 0;
	struct notes notes = { 0 };
	int rc = -1, line = 0;
	for (const char *p = text; *p;) {
		line++;
		size_t l = strcspn(p, "\n");
		char *s = xstrndup(p, l);
		p += l + (p[l] == '\n');
		struct hline hl = { 0 };
		hl.line = line;
		const char *t = s + strspn(s, " \t");
		if (t[0] == '#' && t[1] == '@') {
			notes_add(&notes, t + 2, strlen(t + 2), line);
			free(s);
			continue;
		}
		int r = hsplit(s, &hl, file, line, err);
		free(s);
		if (r < 0) {
			hline_release(&hl);
			goto out;
		}
		if (!hl.nw) {
			hline_release(&hl);
			continue;
		}
		int is_sec = 0;
		for (size_t i = 0; i < ARRAY_SIZE(hsection_kinds); i++)
			is_sec |= !strcmp(hl.w[0], hsection_kinds[i]);
		if (is_sec) {
			secs = xrealloc(secs, (nsecs + 1) * sizeof(*secs));
			struct hsection *sc = &secs[nsecs++];
			memset(sc, 0, sizeof(*sc));
			sc->kind = xstrdup(hl.w[0]);
			sc->name = hl.nw > 1 ? xstrdup(hl.w[1]) : NULL;
			sc->line = line;
			if (!strcmp(sc->kind, "listen") && hl.nw > 2) {
				/* "listen NAME ADDR": the bind in the header */
				struct hline b = { 0 };
				b.line = line;
				b.w = xcalloc(2, sizeof(char *));
				b.w[0] = xstrdup("bind");
				b.w[1] = xstrdup(hl.w[2]);
				b.nw = 2;
				sc->lines = xrealloc(sc->lines, sizeof(*sc->lines));
				sc->lines[sc->nlines++] = b;
			}
			if ((!strcmp(sc->kind, "frontend") || !strcmp(sc->kind, "backend") ||
			     !strcmp(sc->kind, "listen")) && !sc->name) {
				seterr(err, "%s:%d: %s needs a name", file, line, sc->kind);
				hline_release(&hl);
				goto out;
			}
			hline_release(&hl);
			continue;
		}
		if (!nsecs) {
			seterr(err, "%s:%d: '%s' outside any section (global, defaults, frontend, "
				    "backend, listen)", file, line, hl.w[0]);
			hline_release(&hl);
			goto out;
		}
		struct hsection *sc = &secs[nsecs - 1];
		sc->lines = xrealloc(sc->lines, (sc->nlines + 1) * sizeof(*sc->lines));
		sc->lines[sc->nlines++] = hl;
	}

	/* the backend: by name, else the first frontend's default_backend, else the only one */
	struct hsection *be = NULL, *fe = NULL;
	size_t nbe = 0;
	for (size_t i = 0; i < nsecs; i++) {
		int isbe = !strcmp(secs[i].kind, "backend") || !strcmp(secs[i].kind, "listen");
		nbe += isbe;
		if (isbe && want && !strcmp(secs[i].name, want))
			be = &secs[i];
	}
	if (want && !be) {
		seterr(err, "%s: no backend '%s'", file, want);
		goto out;
	}
	if (!nbe) {
		seterr(err, "%s: no backend or listen section", file);
		goto out;
	}
	if (!be) {
		for (size_t i = 0; i < nsecs && !be; i++) {
			if (strcmp(secs[i].kind, "frontend"))
				continue;
			for (size_t k = 0; k < secs[i].nlines && !be; k++) {
				const struct hline *hl = &secs[i].lines[k];
				if (hl->nw >= 2 && !strcmp(hl->w[0], "default_backend"))
					for (size_t j = 0; j < nsecs; j++)
						if (!strcmp(secs[j].kind, "backend") &&
						    !strcmp(secs[j].name, hl->w[1]))
							be = &secs[j];
			}
		}
		for (size_t i = 0; i < nsecs && !be; i++)
			if (nbe == 1 && (!strcmp(secs[i].kind, "backend") ||
					 !strcmp(secs[i].kind, "listen")))
				be = &secs[i];
		if (!be) {
			seterr(err, "%s: several backends and no frontend's default_backend: name one "
				    "with --backend", file);
			goto out;
		}
	}
	if (!strcmp(be->kind, "listen")) {
		fe = be;
	} else {
		for (size_t i = 0; i < nsecs && !fe; i++) {
			if (strcmp(secs[i].kind, "frontend"))
				continue;
			for (size_t k = 0; k < secs[i].nlines; k++) {
				const struct hline *hl = &secs[i].lines[k];
				if (hl->nw >= 2 && (!strcmp(hl->w[0], "default_backend") ||
						    !strcmp(hl->w[0], "use_backend")) &&
				    !strcmp(hl->w[1], be->name))
					fe = &secs[i];
			}
		}
	}

	struct fout o = { BUF_INIT, NULL, 0, file };
	out_line(&o, 0, "; Imported by obridge %s from HAProxy config %s, backend %s.", version,
		 file, be->name);
	out_line(&o, 0, "[fleet]");
	int has_name = 0;
	out_fleet_notes(&o, &notes, &has_name);
	if (!has_name)
		out_line(&o, be->line, "name = %s", be->name);
	int have_bind = 0;
	if (fe) {
		for (size_t k = 0; k < fe->nlines; k++) {
			const struct hline *hl = &fe->lines[k];
			if (!strcmp(hl->w[0], "bind") && hl->nw >= 2 && !have_bind) {
				have_bind = 1;
				int tls = 0;
				for (size_t j = 2; j < hl->nw; j++)
					tls |= !strcmp(hl->w[j], "ssl");
				char url[400];
				if (hl->note && !strcmp(hl->note, "default"))
					out_line(&o, hl->line, "; %s:%d: bind %s is emit's default, not "
							       "a [fleet] balancer", file, hl->line,
						 hl->w[1]);
				else if (listen_url(hl->w[1], tls, url, sizeof(url)) < 0)
					out_comment(&o, hl->line, "bind", hl->w[1]);
				else
					out_line(&o, hl->line, "balancer = %s", url);
			} else if (fe != be || strcmp(hl->w[0], "server")) {
				char *a = hjoin(hl, 0);
				out_comment(&o, hl->line, fe == be ? "listen:" : "frontend:", a);
				free(a);
			}
		}
	}
	if (fe != be)
		for (size_t k = 0; k < be->nlines; k++) {
			const struct hline *hl = &be->lines[k];
			if (strcmp(hl->w[0], "server")) {
				char *a = hjoin(hl, 0);
				out_comment(&o, hl->line, "backend:", a);
				free(a);
			}
		}
	for (size_t k = 0; k < be->nlines; k++) {
		const struct hline *hl = &be->lines[k];
		if (strcmp(hl->w[0], "server"))
			continue;
		if (hl->nw < 3) {
			seterr(err, "%s:%d: server needs a name and an address", file, hl->line);
			buf_release(&o.text);
			free(o.src);
			goto out;
		}
		const char *addr = hl->w[2];
		if (addr[0] == '/' || !strncmp(addr, "unix@", 5) || !strncmp(addr, "abns@", 5)) {
			seterr(err, "%s:%d: server %s: a unix socket cannot be a fleet instance", file,
			       hl->line, hl->w[1]);
			buf_release(&o.text);
			free(o.src);
			goto out;
		}
		int tls = 0;
		for (size_t j = 3; j < hl->nw; j++)
			tls |= !strcmp(hl->w[j], "ssl");
		out_line(&o, hl->line, "%s", "");
		out_line(&o, hl->line, "[instance %s]", hl->w[1]);
		const char *colon = addr[0] == '[' ? strstr(addr, "]:") : strrchr(addr, ':');
		out_line(&o, hl->line, "url = %s://%s%s", tls ? "https" : "http", addr,
			 colon ? "" : (tls ? ":443" : ":80"));
		struct buf other = BUF_INIT;
		for (size_t j = 3; j < hl->nw; j++) {
			const char *a = hl->w[j];
			int has_val = j + 1 < hl->nw;
			if (!strcmp(a, "weight") && has_val) {
				out_line(&o, hl->line, "weight = %s", hl->w[++j]);
			} else if (!strcmp(a, "maxconn") && has_val) {
				out_line(&o, hl->line, "num_parallel = %s", hl->w[++j]);
			} else if (!strcmp(a, "backup")) {
				out_line(&o, hl->line, "backup = true");
			} else {
				buf_addf(&other, "%s%s", other.len ? " " : "", a);
			}
		}
		if (other.len)
			out_comment(&o, hl->line, "server parameters", buf_str(&other));
		buf_release(&other);
		if (hl->note) {
			char *nm = out_instance_note(&o, hl->note, hl->line, 0);
			free(nm);
		}
	}
	out_section_notes(&o, &notes);
	rc = out_finish(&o, result, err);
out:
	for (size_t i = 0; i < nsecs; i++) {
		free(secs[i].kind);
		free(secs[i].name);
		for (size_t k = 0; k < secs[i].nlines; k++)
			hline_release(&secs[i].lines[k]);
		free(secs[i].lines);
	}
	free(secs);
	notes_release(&notes);
	return rc;
}

int emit_import(enum import_kind kind, const char *text, const char *file, const char *name,
		const char *version, char **fleet_text, char *err)
{
	*fleet_text = NULL;
	int r = kind == IMPORT_NGINX ? import_nginx(text, file, name, version, fleet_text, err) :
				       import_haproxy(text, file, name, version, fleet_text, err);
	if (r < 0) /* messages quote the config: keep escape sequences off the terminal */
		text_sanitize(err, ERR_MAX, err);
	return r;
}
