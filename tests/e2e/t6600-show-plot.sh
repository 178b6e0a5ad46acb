#!/bin/sh
# show --plot: the gnuplot script starts the latency and throughput axes (and the rate
# axis of open-loop runs) at zero, so a flat line is drawn flat. A stand-in gnuplot on
# $PATH keeps the script it was given and writes the output file.
. "$(dirname "$0")/lib.sh"

sim_start --num-parallel 2 --tokens 4 --tok-interval 2ms --ttft 5ms --load-time 20ms || exit 1

mkdir -p bin
cat >bin/gnuplot <<'EOS'
#!/bin/sh
cp "$1" "$TRASH/plot.gp"
out=$(sed -n "s/^set output '\(.*\)'$/\1/p" "$1")
echo "<svg></svg>" >"$out"
EOS
chmod +x bin/gnuplot

test_expect_success 'closed loop: latency and throughput axes start at zero' '
	R=$("$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 -c 1,2 -n 4 --json | jq .run) &&
	PATH="$TRASH/bin:$PATH" TRASH="$TRASH" "$OBRIDGE" show $R --plot c.svg &&
	test -s c.svg &&
	test "$(grep -c "^set yrange \[0:\*\]" plot.gp)" = 2 &&
	grep -q "^set logscale x 2" plot.gp
'

test_expect_success 'open loop: the rate axis starts at zero too' '
	R=$("$OBRIDGE" -H "$SIM_URL" bench -m llama3.2 --rate 2,4 -n 4 --json | jq .run) &&
	PATH="$TRASH/bin:$PATH" TRASH="$TRASH" "$OBRIDGE" show $R --plot r.svg &&
	test "$(grep -c "^set yrange \[0:\*\]" plot.gp)" = 2 &&
	grep -q "^set xrange \[0:\*\]" plot.gp && ! grep -q "logscale" plot.gp
'

test_done
