#!/bin/sh
# Every EXAMPLES section of the man pages, run as written: each "$ obridge ..." line (and
# the obridge command of each crontab line) in page order, against obridge sim, must exit
# 0 or 1 (never a usage, configuration or internal error); the fleet file example of
# obridge.conf(5) must pass `fleet check`. The deviations, each with its reason, are in
# deviate() and skip_reason() below.
. "$(dirname "$0")/lib.sh"

MAN=$OBRIDGE_SRC/man
mkdir -p bin && ln -s "$OBRIDGE" bin/obridge && PATH="$TRASH/bin:$PATH"

# The fleet the examples name: prod.conf (and ./obridge.conf for the ones without -f) is
# a one-instance sim in group gpu; "$BASELINE" and "$RUN" (compare) are two alike runs on it.
sim_start --num-parallel 4 --tokens 8 --tok-interval 2ms --ttft 5ms --load-time 50ms || exit 1
sed "s/^url = .*/&\ngroup = gpu/" "$SIM_FLEET" >prod.conf && cp prod.conf obridge.conf
BASELINE=$(obridge -f prod.conf bench -c 1,2 -n 4 --json | jq .run)
RUN=$(obridge -f prod.conf bench -c 1,2 -n 4 --json | jq .run)
export BASELINE RUN

# Lines of EXAMPLES: "cmd TEXT" ("$ " lines and lines that start with obridge), "input
# TEXT" (obridge> lines: the shell's input), "conf TEXT" (the literal lines of a section 5
# page: a fleet file) and "other TEXT" (commands of other tools, such as nginx -t: not
# run here), roff escapes undone. examples PAGE CONF (1 for a section 5 page).
examples() {
	awk '
		/^\.Sh EXAMPLES/ { on = 1; next }
		/^\.Sh / { on = 0 }
		!on { next }
		/^\.Bd -literal/ { lit = 1; next }
		/^\.Ed/ { lit = 0; next }
		/^\.Dl / { sub(/^\.Dl /, ""); line($0); next }
		lit { line($0) }
		function line(s) {
			gsub(/\\-/, "-", s); gsub(/\\e/, "\\", s)
			if (cont != "") { s = cont " " s; cont = "" }
			if (s ~ /\\$/) { sub(/[ \t]*\\$/, "", s); cont = s; return }
			sub(/^[ \t]+/, "", s)
			if (s ~ /^\$ /) { sub(/^\$ /, "", s); print "cmd " s }
			else if (s ~ /^obridge> /) { sub(/^obridge> /, "", s); print "input " s }
			else if (s ~ /^obridge /) { print "cmd " s }
			else if (s ~ /^[0-9*\/,-]+ [0-9*\/,-]+ [0-9*\/,-]+ [0-9*\/,-]+ [0-9*\/,-]+ obridge /) {
				for (i = 0; i < 5; i++) sub(/^[^ ]+ /, "", s)
				print "cmd " s
			}
			else if (conf) print "conf " s
			else if (s ~ /[^ \t]/) print "other " s
		}
	' conf="$2" "$1"
}

# Why an example cannot run here, or nothing.
skip_reason() {
	case $1 in
	*/etc/nginx/*) echo "it reads or writes /etc/nginx: a system path" ;;
	*" route test") echo "it needs a balancer in front of the sim (t5000 and t5100 run route test through nginx and HAProxy)" ;;
	*"route test --checks"*ssh*) echo "it takes instances down over ssh with systemctl" ;;
	*/etc/obridge/*) echo "it reads /etc/obridge and writes /var/lib/node_exporter: system paths" ;;
	*"-H gpu-1:11434"*) echo "it names the reader's hosts gpu-1 and gpu-2" ;;
	*" top -d 1") echo "the full-screen view needs a terminal (t7100 drives it in tmux)" ;;
	esac
}

# The example as run: sims get a free port (11434 may be taken on a shared machine);
# long steps and long recordings are shortened (90 s and 60 s otherwise).
deviate() {
	printf '%s' "$1" | sed -e "s/^obridge sim /obridge sim --port $2 /" \
		-e 's/ -d 30s$/ -d 1s/' -e 's/ top -n 60 / top -n 2 /'
}

pages=$(ls "$MAN"/*.[1-8])
for page in $pages; do
	name=$(basename "$page")
	case $name in *.5) examples "$page" 1 >ex ;; *) examples "$page" 0 >ex ;; esac
	[ -s ex ] || continue
	if grep -q "^conf " ex; then
		sed -n "s/^conf //p" ex >example.conf
		test_expect_success "$name: the fleet file example passes fleet check" '
			obridge -f example.conf fleet check
		'
	fi
	: >sims
	grep -n "^cmd " ex >cmds
	while IFS= read -r l; do
		n=${l%%:*}
		c=${l#*:cmd }
		title="$name: $(printf '%s' "$c" | tr -d '\\\\')"
		why=$(skip_reason "$c")
		if [ -n "$why" ]; then
			test_skip "$title ($why)"
			continue
		fi
		run=$(deviate "$c" 0)
		# the obridge> lines right after a shell command are its input
		sed -n "$((n + 1)),\$p" ex | awk '/^input /{sub(/^input /,""); print; next} {exit}' >stdin
		case $run in
		"obridge sim "*)
			rm -f sim.conf
			test_expect_success "$title" '
				# another port when this one is taken (other tests run meanwhile)
				# up means listening and, with --fleet-out, the file written (once every
				# instance listens: a later instance may find its port taken)
				for try in 1 2 3 4 5; do
					run=$(deviate "$c" $(_rand_port))
					fo=$(printf "%s" "$run" | sed -n "s/.*--fleet-out \([^ ]*\).*/\1/p")
					: >sim.out
					sh -c "exec ${run% &}" >>sim.out 2>&1 &
					pid=$!
					i=0
					while [ $i -lt 400 ] && kill -0 $pid 2>/dev/null &&
					      ! { grep -q listening sim.out && { [ -z "$fo" ] || [ -s "$fo" ]; }; }; do
						sleep 0.05; i=$((i+1))
					done
					grep -q listening sim.out && { [ -z "$fo" ] || [ -s "$fo" ]; } && break
					kill $pid 2>/dev/null; wait $pid 2>/dev/null
				done
				echo $pid >>sims; echo $pid >>"$TRASH/.sim-pids"
				grep -q listening sim.out && { [ -z "$fo" ] || [ -s "$fo" ]; } ||
					{ echo "the sim did not come up (with its fleet file $fo):"; cat sim.out; false; }
			'
			# a sim in the foreground runs until interrupted: stop it once it listens
			case $run in *'&') ;; *) kill "$(tail -n 1 sims)" 2>/dev/null ;; esac
			;;
		*)
			test_expect_success "$title" '
				sh -c "$run" <stdin >out 2>&1; rc=$?
				test $rc -le 1 || { echo "exit $rc: $run"; cat out; false; }
			'
			;;
		esac
	done <cmds
	for p in $(cat sims); do kill "$p" 2>/dev/null; done
done

test_done
