# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced by tests/e2e/t83xx after lib.sh: install the pinned client libraries (once), or skip
# the whole script with the reason; client CASE... runs tests/clients/run.mjs against the sim.
if ! _why=$(sh "$OBRIDGE_SRC/tests/clients/install.sh" 2>&1); then
	echo "1..0 # SKIP the Ollama and OpenAI client libraries cannot be installed: $(printf '%s' "$_why" | tr '\n' ' ')"
	exit 0
fi
client() {
	SIM_URL=$SIM_URL SIM_URL2="http://127.0.0.1:$((SIM_PORT + 1))" \
		node "$OBRIDGE_SRC/tests/clients/run.mjs" "$@"
}
