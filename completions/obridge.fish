# SPDX-License-Identifier: GPL-3.0-or-later
# fish completion for obridge(1): every list comes from `obridge __complete`.
# Install in vendor_completions.d, or: obridge completion fish | source

function __obridge_complete
	set -l tokens (commandline -opc)
	set -l cur (commandline -ct)
	set -l out ($tokens[1] __complete -- $tokens[2..-1] "$cur" 2>/dev/null)
	switch "$out"
		case :file :dir
			set -l pre ''
			set -l arg "$cur"
			if string match -qr -- '^--[^=]*=' "$cur"
				set pre (string replace -r -- '=.*' '=' "$cur")
				set arg (string replace -r -- '^[^=]*=' '' "$cur")
			end
			if test "$out" = :dir
				for p in (__fish_complete_directories "$arg")
					echo "$pre$p"
				end
			else
				for p in (__fish_complete_path "$arg")
					echo "$pre$p"
				end
			end
		case '*'
			printf '%s\n' $out
	end
end

complete -c obridge -f -a '(__obridge_complete)'
