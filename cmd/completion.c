/* SPDX-License-Identifier: GPL-3.0-or-later */
/* obridge completion bash|zsh|fish: print the completion script for a shell. */
#include "../lib/compat.h"
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "../lib/banned.h"

static const char *const usage[] = {
	"usage: obridge completion bash|zsh|fish",
	"",
	"Print the completion script for a shell. The scripts ask obridge itself for",
	"commands, options, instances, groups, models and run ids, so they follow the",
	"binary they run with.",
	"",
	"  bash: source <(obridge completion bash)",
	"  zsh:  source <(obridge completion zsh)      (after compinit)",
	"  fish: obridge completion fish | source",
	"",
	"`make install` puts them where each shell looks.",
	"",
	CMD_OPTIONS,
	NULL,
};

static const struct cmd_opt opts[] = {
	OPT_ARG(1, CK_WORDS, "bash zsh fish", "shell"),
	OPT_END,
};

const struct cmd_spec spec_completion = { .usage = usage, .opts = opts };

/*
 * The scripts below are completions/obridge.bash, completions/_obridge and
 * completions/obridge.fish, one string per line; t0100-completion.sh fails when they
 * differ. Edit the files in completions/, then run `sh completions/embed.sh`.
 */
/* BEGIN SCRIPTS */
static const char *const bash_script[] = {
	"# SPDX-License-Identifier: GPL-3.0-or-later",
	"# bash completion for obridge(1): every list comes from `obridge __complete`.",
	"# Install as .../bash-completion/completions/obridge, or: source <(obridge completion bash)",
	"",
	"_obridge()",
	"{",
	"\tlocal line=${COMP_LINE:0:COMP_POINT} words=() n=-1 i w glued",
	"\t# Rejoin what bash split at ':' and '=' (model names, --option=value).",
	"\tfor ((i = 0; i <= COMP_CWORD; i++)); do",
	"\t\tw=${COMP_WORDS[i]-}",
	"\t\tglued=1",
	"\t\twhile [[ $line == [[:space:]]* ]]; do",
	"\t\t\tline=${line:1}",
	"\t\t\tglued=0",
	"\t\tdone",
	"\t\tif ((i == COMP_CWORD)); then",
	"\t\t\tw=$line",
	"\t\telse",
	"\t\t\tline=${line:${#w}}",
	"\t\tfi",
	"\t\tif ((glued && n >= 0)); then",
	"\t\t\twords[n]+=$w",
	"\t\telse",
	"\t\t\twords[++n]=$w",
	"\t\tfi",
	"\tdone",
	"\tlocal cur=${words[n]} trim= bin=${words[0]} out",
	"\t[[ $cur == *[:=]* ]] && trim=${cur%\"${cur##*[:=]}\"}",
	"\t[[ $bin == \"~/\"* ]] && bin=$HOME/${bin:2}",
	"\tout=$(\"$bin\" __complete -- \"${words[@]:1}\" 2>/dev/null) || return",
	"\tCOMPREPLY=()",
	"\tcase $out in",
	"\t:file | :dir)",
	"\t\tlocal IFS=$'\\n'",
	"\t\tcompopt -o filenames 2>/dev/null",
	"\t\tif [[ $out == :dir ]]; then",
	"\t\t\tCOMPREPLY=($(compgen -d -- \"${cur#\"$trim\"}\"))",
	"\t\telse",
	"\t\t\tCOMPREPLY=($(compgen -f -- \"${cur#\"$trim\"}\"))",
	"\t\tfi",
	"\t\treturn",
	"\t\t;;",
	"\tesac",
	"\twhile IFS= read -r w; do",
	"\t\t[[ -n $w ]] && COMPREPLY+=(\"${w%%$'\\t'*}\")",
	"\tdone <<<\"$out\"",
	"\t[[ -n $trim ]] && COMPREPLY=(\"${COMPREPLY[@]#\"$trim\"}\")",
	"\treturn 0",
	"}",
	"complete -F _obridge obridge",
	NULL,
};

static const char *const zsh_script[] = {
	"#compdef obridge",
	"# SPDX-License-Identifier: GPL-3.0-or-later",
	"# zsh completion for obridge(1): every list comes from `obridge __complete`.",
	"# Install as _obridge in a directory of $fpath, or: source <(obridge completion zsh)",
	"",
	"_obridge() {",
	"\tlocal out line val desc",
	"\tlocal -a cands",
	"\tout=$(\"${(Q)words[1]}\" __complete -- \"${(@Q)words[2,CURRENT-1]}\" \"${(Q)PREFIX}\" \\",
	"\t\t2>/dev/null) || return 1",
	"\tcase $out in",
	"\t(:file|:dir)",
	"\t\t[[ $PREFIX == --*=* ]] && compset -P '*='",
	"\t\tif [[ $out == :dir ]]; then",
	"\t\t\t_files -/",
	"\t\telse",
	"\t\t\t_files",
	"\t\tfi",
	"\t\treturn",
	"\t\t;;",
	"\tesac",
	"\tfor line in \"${(@f)out}\"; do",
	"\t\t[[ -n $line ]] || continue",
	"\t\tval=${line%%$'\\t'*}",
	"\t\tdesc=",
	"\t\t[[ $line == *$'\\t'* ]] && desc=${line#*$'\\t'}",
	"\t\tval=${val//:/\\\\:}",
	"\t\tif [[ -n $desc ]]; then",
	"\t\t\tcands+=(\"$val:$desc\")",
	"\t\telse",
	"\t\t\tcands+=(\"$val\")",
	"\t\tfi",
	"\tdone",
	"\t(( ${#cands} )) || return 1",
	"\t_describe -t obridge-values 'obridge' cands",
	"}",
	"",
	"if [[ $funcstack[1] == _obridge ]]; then",
	"\t_obridge \"$@\"",
	"else",
	"\tcompdef _obridge obridge",
	"fi",
	NULL,
};

static const char *const fish_script[] = {
	"# SPDX-License-Identifier: GPL-3.0-or-later",
	"# fish completion for obridge(1): every list comes from `obridge __complete`.",
	"# Install in vendor_completions.d, or: obridge completion fish | source",
	"",
	"function __obridge_complete",
	"\tset -l tokens (commandline -opc)",
	"\tset -l cur (commandline -ct)",
	"\tset -l out ($tokens[1] __complete -- $tokens[2..-1] \"$cur\" 2>/dev/null)",
	"\tswitch \"$out\"",
	"\t\tcase :file :dir",
	"\t\t\tset -l pre ''",
	"\t\t\tset -l arg \"$cur\"",
	"\t\t\tif string match -qr -- '^--[^=]*=' \"$cur\"",
	"\t\t\t\tset pre (string replace -r -- '=.*' '=' \"$cur\")",
	"\t\t\t\tset arg (string replace -r -- '^[^=]*=' '' \"$cur\")",
	"\t\t\tend",
	"\t\t\tif test \"$out\" = :dir",
	"\t\t\t\tfor p in (__fish_complete_directories \"$arg\")",
	"\t\t\t\t\techo \"$pre$p\"",
	"\t\t\t\tend",
	"\t\t\telse",
	"\t\t\t\tfor p in (__fish_complete_path \"$arg\")",
	"\t\t\t\t\techo \"$pre$p\"",
	"\t\t\t\tend",
	"\t\t\tend",
	"\t\tcase '*'",
	"\t\t\tprintf '%s\\n' $out",
	"\tend",
	"end",
	"",
	"complete -c obridge -f -a '(__obridge_complete)'",
	NULL,
};
/* END SCRIPTS */

int cmd_completion(int argc, char **argv, struct ctx *ctx)
{
	static const struct {
		const char *shell;
		const char *const *script;
	} scripts[] = {
		{ "bash", bash_script },
		{ "zsh", zsh_script },
		{ "fish", fish_script },
	};
	(void)ctx;
	struct cmd_getopt g;
	int c;
	cmd_getopt_init(&g, argc, argv);
	if ((c = cmd_getopt_next(&g)) != CMD_OPT_END)
		return cmd_getopt_exit(c);
	if (argc - g.optind != 1)
		return cmd_usage_error("completion", "expected one shell: bash, zsh or fish");
	const char *sh = argv[g.optind];
	for (size_t i = 0; i < ARRAY_SIZE(scripts); i++) {
		if (strcmp(sh, scripts[i].shell) != 0)
			continue;
		cmd_print_usage(stdout, scripts[i].script);
		return EXIT_OK;
	}
	return cmd_usage_error("completion", "unknown shell '%s' (expected bash, zsh or fish)",
			       sh);
}
