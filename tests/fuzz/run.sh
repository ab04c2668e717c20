#!/bin/sh
# Runs libFuzzer targets: each one's regression inputs (tests/fuzz/regressions/TARGET, inputs
# that once crashed) once, then SECONDS of fuzzing from tests/fuzz/seeds/TARGET and the corpus
# kept in BUILD/fuzz/corpus/TARGET. Fails on any crash, leak or undefined behaviour, whose input
# stays in BUILD/fuzz/crash-TARGET-*.   usage: run.sh BUILD SECONDS TARGET...
set -u
build=$1
secs=$2
shift 2
fail=0
for t in "$@"; do
	bin=$build/fuzz/fuzz_$t
	reg=tests/fuzz/regressions/$t
	corpus=$build/fuzz/corpus/$t
	log=$build/fuzz/$t.log
	mkdir -p "$corpus"
	if ls "$reg"/* >/dev/null 2>&1; then
		if ! "$bin" "$reg"/* >"$log" 2>&1; then
			echo "fuzz_$t: a regression input fails again:"
			tail -40 "$log"
			fail=1
			continue
		fi
		echo "fuzz_$t: $(ls "$reg" | wc -l) regression inputs pass"
	fi
	if "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$build/fuzz/crash-$t-" \
		"$corpus" "tests/fuzz/seeds/$t" >"$log" 2>&1; then
		runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
		echo "fuzz_$t: $runs inputs in $secs s, corpus of $(ls "$corpus" | wc -l): no crash, leak or undefined behaviour"
	else
		echo "fuzz_$t FAILED:"
		grep -m1 -A40 "==ERROR\|runtime error\|deadly signal\|ERROR: libFuzzer" "$log" | head -50
		ls "$build/fuzz/crash-$t-"* 2>/dev/null
		fail=1
	fi
done
exit $fail
