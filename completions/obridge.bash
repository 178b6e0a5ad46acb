# SPDX-License-Identifier: GPL-3.0-or-later
# bash completion for obridge(1): every list comes from `obridge __complete`.
# Install as .../bash-completion/completions/obridge, or: source <(obridge completion bash)

_obridge()
{
	local line=${COMP_LINE:0:COMP_POINT} words=() n=-1 i w glued
	# Rejoin what bash split at ':' and '=' (model names, --option=value).
	for ((i = 0; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]-}
		glued=1
		while [[ $line == [[:space:]]* ]]; do
			line=${line:1}
			glued=0
		done
		if ((i == COMP_CWORD)); then
			w=$line
		else
			line=${line:${#w}}
		fi
		if ((glued && n >= 0)); then
			words[n]+=$w
		else
			words[++n]=$w
		fi
	done
	local cur=${words[n]} trim= bin=${words[0]} out
	[[ $cur == *[:=]* ]] && trim=${cur%"${cur##*[:=]}"}
	[[ $bin == "~/"* ]] && bin=$HOME/${bin:2}
	out=$("$bin" __complete -- "${words[@]:1}" 2>/dev/null) || return
	COMPREPLY=()
	case $out in
	:file | :dir)
		local IFS=$'\n'
		compopt -o filenames 2>/dev/null
		if [[ $out == :dir ]]; then
			COMPREPLY=($(compgen -d -- "${cur#"$trim"}"))
		else
			COMPREPLY=($(compgen -f -- "${cur#"$trim"}"))
		fi
		return
		;;
	esac
	while IFS= read -r w; do
		[[ -n $w ]] && COMPREPLY+=("${w%%$'\t'*}")
	done <<<"$out"
	[[ -n $trim ]] && COMPREPLY=("${COMPREPLY[@]#"$trim"}")
	return 0
}
complete -F _obridge obridge
