#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Copy the scripts in completions/ into cmd/completion.c (one C string per line), which
# `obridge completion SHELL` prints; t0100-completion.sh checks the two agree.
# Run from the top of the source tree after editing a script: sh completions/embed.sh
set -e
conv() {
	echo "static const char *const $1[] = {"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' -e 's/^/	"/' -e 's/$/",/' "$2"
	echo "	NULL,"
	echo "};"
}
tmp=cmd/completion.c.tmp
{
	sed -n '1,/^\/\* BEGIN SCRIPTS/p' cmd/completion.c
	conv bash_script completions/obridge.bash
	echo
	conv zsh_script completions/_obridge
	echo
	conv fish_script completions/obridge.fish
	sed -n '/^\/\* END SCRIPTS/,$p' cmd/completion.c
} >"$tmp"
mv "$tmp" cmd/completion.c
