#!/bin/sh
# fuzz.sh PKG FUZZTIME TARGET...: runs each fuzz target of package PKG for
# FUZZTIME (go test -fuzz), stopping at the first that fails.
#
# Go 1.26's fuzzing coordinator can fail a run at the very end of a
# duration -fuzztime with "context deadline exceeded" although no input
# failed (go.dev/issue/75804, fixed in Go 1.27): on a loaded machine a
# worker is still mid-call when the deadline fires. Such a run wrote no
# failing input; it is run once more, and fails the second time. A run
# that wrote a failing input (testdata/fuzz/TARGET/...) fails at once.
set -u
pkg=$1 fuzztime=$2
shift 2
go=${GO:-go}
for t in "$@"; do
	try=1
	while :; do
		out=$($go test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		[ $rc -eq 0 ] && break
		if [ $try -eq 1 ] && printf '%s\n' "$out" | grep -q 'context deadline exceeded' &&
			! printf '%s\n' "$out" | grep -q 'Failing input written'; then
			echo "fuzz.sh: $t ended on the coordinator's deadline race (go.dev/issue/75804), no failing input: once more"
			try=2
			continue
		fi
		exit 1
	done
done
