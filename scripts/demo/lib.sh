# shellcheck shell=bash
# The demo's step harness: numbered steps, narration, checks that record PASS/FAIL per step, and a
# summary. A step fails when any of its checks fails; the demo exits non-zero naming those steps.

STEP_TITLES=()
STEP_FAILS=()
STEP_SECONDS=()
STEP_CUR=-1
STEP_STARTED=0
DEMO_STARTED=$SECONDS

_step_close() {
	if [ "$STEP_CUR" -ge 0 ]; then
		STEP_SECONDS[STEP_CUR]=$((SECONDS - STEP_STARTED))
	fi
}

# step TITLE: start the next step.
step() {
	_step_close
	STEP_CUR=${#STEP_TITLES[@]}
	STEP_TITLES+=("$1")
	STEP_FAILS+=("")
	STEP_STARTED=$SECONDS
	printf '\n== Step %d: %s\n' "$((STEP_CUR + 1))" "$1"
}

# say TEXT...: narration.
say() { printf '%s\n' "$*"; }

# show CMD...: print the command, run it with its output shown, return its status.
show() {
	printf '$ %s\n' "$*"
	"$@"
}

# pass/fail DESCRIPTION: record one check's result in the current step.
pass() { printf '   ok   %s\n' "$*"; }
fail() {
	printf '   FAIL %s\n' "$*"
	if [ "$STEP_CUR" -ge 0 ]; then
		STEP_FAILS[STEP_CUR]+="$*"$'\n'
	else
		STEP_TITLES+=("setup")
		STEP_FAILS+=("$*"$'\n')
		STEP_SECONDS+=(0)
	fi
}

# check DESCRIPTION CMD...: run CMD; pass if it exits 0, else fail and show what it printed.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$desc"
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/        /'
		return 0
	fi
	fail "$desc"
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/        /'
	return 1
}

# step_failed: true when the current step has a failed check so far.
step_failed() { [ -n "${STEP_FAILS[STEP_CUR]}" ]; }

# summary: one line per step, then the failing checks; returns 1 when any step failed.
summary() {
	local i failed=0 total=$((SECONDS - DEMO_STARTED))
	_step_close
	printf '\n== Summary\n'
	for i in "${!STEP_TITLES[@]}"; do
		if [ -z "${STEP_FAILS[i]}" ]; then
			printf '  PASS  %d. %-62s %4ss\n' "$((i + 1))" "${STEP_TITLES[i]}" "${STEP_SECONDS[i]:-0}"
		else
			failed=1
			printf '  FAIL  %d. %-62s %4ss\n' "$((i + 1))" "${STEP_TITLES[i]}" "${STEP_SECONDS[i]:-0}"
			printf '%s' "${STEP_FAILS[i]}" | sed 's/^/          - /'
		fi
	done
	printf '  total %ss\n' "$total"
	return "$failed"
}
