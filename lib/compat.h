/* SPDX-License-Identifier: GPL-3.0-or-later */
/* First include of every .c file: feature macros and the few project-wide definitions. */
#ifndef OBRIDGE_COMPAT_H
#define OBRIDGE_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <inttypes.h>

/* Size of the caller-supplied error buffer that lib/ functions fill on failure. */
#define ERR_MAX 512

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifdef __GNUC__
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define UNUSED __attribute__((unused))
#else
#define PRINTF_LIKE(f, a)
#define UNUSED
#endif

#define OBRIDGE_VERSION_STRING "0.1.0"

#endif
