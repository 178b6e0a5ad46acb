/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Whole-file writes: the one atomic, fsync'd file writer. */
#include "../compat.h"
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "../banned.h"

int file_write_atomic(const char *path, const void *data, size_t len, char *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
	char *tmp = xasprintf("%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) : 0, path,
			      slash ? slash + 1 : path);
	const char *p = data;
	int rc = -1;
	int fd = mkstemp(tmp);
	if (fd < 0) {
		seterr(err, "cannot create a temporary file in '%s': %s", dir, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			seterr(err, "cannot write '%s': %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		seterr(err, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		seterr(err, "cannot write '%s': %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		seterr(err, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(tmp);
	return rc;
}
