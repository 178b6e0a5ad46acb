#!/bin/sh
# make install / uninstall put the binary, man pages and completions in their places.
. "$(dirname "$0")/lib.sh"

# Install the binary under test (build/ or build-san/) without rebuilding it.
build_dir=$(dirname "$OBRIDGE")
build_dir=${build_dir#"$OBRIDGE_SRC"/}
root="$TRASH/root"
san=
[ "$build_dir" = build-san ] && san=SAN=1
mk() { make -s -C "$OBRIDGE_SRC" $san BUILD="$build_dir" DESTDIR="$root" PREFIX=/usr/local "$@"; }

test_expect_success 'make install puts everything in its standard place' '
	mk install >out 2>&1 &&
	test -x "$root/usr/local/bin/obridge" &&
	test -f "$root/usr/local/share/man/man1/obridge.1" &&
	test -f "$root/usr/local/share/man/man1/obridge-health.1" &&
	test -f "$root/usr/local/share/man/man5/obridge.conf.5" &&
	test -f "$root/usr/local/share/bash-completion/completions/obridge" &&
	test -f "$root/usr/local/share/zsh/site-functions/_obridge" &&
	test -f "$root/usr/local/share/fish/vendor_completions.d/obridge.fish" &&
	"$root/usr/local/bin/obridge" --version | grep -q "^obridge "
'

test_expect_success 'every man page and completion of the tree is installed' '
	for f in "$OBRIDGE_SRC"/man/*.1; do
		test -f "$root/usr/local/share/man/man1/$(basename "$f")" || { echo "missing $f"; return 1; }
	done
'

test_expect_success 'make uninstall removes what install put there' '
	mk uninstall >out 2>&1 &&
	test ! -e "$root/usr/local/bin/obridge" &&
	test -z "$(find "$root" -type f)"
'

test_done
