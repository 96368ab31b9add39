#!/usr/bin/env bash
# Runs Candor's fuzz targets in fuzzing mode (Jazzer 0.30, JUnit integration), one Maven run per target because Jazzer
# fuzzes one @FuzzTest per JVM, and writes a JSON summary: executions, executions per second and findings per target.
#
#   engine/src/test/java/dev/candor/engine/fuzz/fuzz.sh [SECONDS] [SUMMARY] [TARGET...]
#
# SECONDS   fuzzing time per target (default 20); Jazzer reads it from JAZZER_MAX_DURATION, which overrides
#           @FuzzTest(maxDuration)
# SUMMARY   where the JSON summary goes (default engine/target/fuzz/summary.json)
# TARGET    Class#method names (default: all of them, listed below)
#
# Environment: FUZZ_WORK (default engine/target/fuzz: corpora, logs, findings, reproducers; all outside the source
# tree), FUZZ_TIMEOUT (seconds one input may run before it counts as a hang, default 10), FUZZ_EXECUTIONS (stop a
# target after this many executions even if SECONDS are left; Jazzer's JAZZER_MAX_EXECUTIONS), JAVA_HOME (a JDK 25).
# Exits 1 if any target found a crash, a hang or a broken invariant (or failed to run), else 0.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../../../../../.." && pwd)
seconds=${1:-20}
summary=${2:-$root/engine/target/fuzz/summary.json}
shift $(( $# < 2 ? $# : 2 ))
work=${FUZZ_WORK:-$root/engine/target/fuzz}
timeout=${FUZZ_TIMEOUT:-10}
executions=${FUZZ_EXECUTIONS:-0}

if [[ -z "${JAVA_HOME:-}" || ! -x "$JAVA_HOME/bin/java" ]] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25'; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)
fi
export JAVA_HOME

all_targets=(
  RequestParserFuzzTest#rawBody
  RequestParserFuzzTest#generatedBody
  SafeTensorsFuzzTest#rawFile
  SafeTensorsFuzzTest#framedHeader
  SafeTensorsFuzzTest#generatedHeader
  SafeTensorsFuzzTest#tensorRangesTileTheData
  SafeTensorsFuzzTest#headerIsStrictJson
  ConfigFuzzTest#fromJson
  ConfigFuzzTest#readFile
  ConfigFuzzTest#parameterCountIsExact
  ConfigFuzzTest#loadsWithinBudget
  ChatTemplateFuzzTest#qwenMessages
  ChatTemplateFuzzTest#templateText
  DetokenizerFuzzTest#tokenIds
  DetokenizerFuzzTest#byteStream
)
targets=("$@")
if (( ${#targets[@]} == 0 )); then
  targets=("${all_targets[@]}")
fi

# Classes Jazzer instruments for coverage, besides Candor's own: the library that does the parsing.
# (Chat templates are rendered by Candor's own interpreter, dev.candor.engine.tokenizer.jinja.)
instrument_for() {
  case "$1" in
    ChatTemplateFuzzTest#*|DetokenizerFuzzTest#*) echo 'dev.candor.**' ;;
    *) echo 'dev.candor.**,com.fasterxml.jackson.core.**' ;;
  esac
}

json_string() { # a JSON string literal of $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/}
  s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}

mkdir -p "$work/logs" "$(dirname "$summary")"
cd "$root" || exit 2
# Compile once, so that each target's time goes to fuzzing.
if ! nice ./mvnw -q -B -o -pl engine test-compile > "$work/logs/compile.log" 2>&1; then
  echo "fuzz.sh: test-compile failed, see $work/logs/compile.log" >&2
  exit 2
fi

entries=()
failures=0
for target in "${targets[@]}"; do
  name=${target//#/.}
  log="$work/logs/$name.log"
  base="$work/runs/$name" # Jazzer's base directory: the generated corpus (kept between runs) and crash files
  findings="$work/findings/$name"
  mkdir -p "$base" "$findings" "$base/reproducers"
  echo "fuzzing $target for ${seconds}s$( (( executions > 0 )) && echo " or $executions executions") ..." >&2
  start=$(date +%s)
  JAZZER_FUZZ=1 JAZZER_MAX_DURATION="${seconds}s" JAZZER_MAX_EXECUTIONS="$executions" \
    JAZZER_INSTRUMENT="$(instrument_for "$target")" \
    JAZZER_REPRODUCER_PATH="$base/reproducers" \
    nice ./mvnw -q -B -o -pl engine test -Dtest="dev.candor.engine.fuzz.$target" \
      -Dsurefire.failIfNoSpecifiedTests=false -Djazzer.internal.basedir="$base" \
      -Djunit.jupiter.execution.timeout.testtemplate.method.default="${timeout}s" \
      -Djunit.jupiter.execution.timeout.mode=disabled > "$log" 2>&1
  rc=$?
  wall=$(( $(date +%s) - start ))

  # libFuzzer's status lines: "#71131  DONE   cov: 92 ft: 540 corp: 79/3090b lim: 389 exec/s: 3387 rss: 2671Mb"
  status=$(grep -aE '^#[0-9]+[[:space:]]' "$log" | tail -1)
  execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$status")
  rate=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<< "$status")
  done_runs=$(sed -nE 's/^Done ([0-9]+) runs in.*/\1/p' "$log" | tail -1)
  if [[ -n "$done_runs" && ( -z "$execs" || "$done_runs" -gt "$execs" ) ]]; then execs=$done_runs; fi
  fuzzed_seconds=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" | tail -1)

  # Findings: Jazzer writes crash-*/timeout-*/slow-unit-* under the base directory; move them out of its way.
  artifacts=()
  for f in "$base"/crash-* "$base"/timeout-* "$base"/slow-unit-* "$base"/oom-* "$base"/leak-*; do
    [[ -e "$f" ]] || continue
    mv -f "$f" "$findings/" && artifacts+=("$findings/$(basename "$f")")
  done
  for f in "$base"/reproducers/*.java; do
    [[ -e "$f" ]] && mv -f "$f" "$findings/"
  done
  # In JUnit mode a finding fails the test with FuzzTestFindingException: <the finding>.
  finding=$(grep -aoE 'FuzzTestFindingException: .*' "$log" | head -1 | sed -E 's/^FuzzTestFindingException: //')
  [[ -n "$finding" ]] || finding=$(grep -aA1 -E '^== Java (Exception|Assertion Error)' "$log" \
    | grep -avE '^(== Java|--)' | head -1)
  if [[ -z "$finding" ]] && grep -aqE 'ERROR: libFuzzer: (timeout|deadly signal|out-of-memory)' "$log"; then
    finding=$(grep -aoE 'ERROR: libFuzzer: [a-z -]+' "$log" | head -1)
  fi
  crashed=false
  if [[ $rc -ne 0 || -n "$finding" || ${#artifacts[@]} -gt 0 ]]; then
    crashed=true
    failures=$((failures + 1))
    [[ -n "$finding" ]] || finding=$(grep -aE '\[ERROR\]' "$log" | head -3 | tr '\n' ' ')
    echo "  FINDING in $target: $finding" >&2
  fi
  echo "  ${execs:-0} executions, ${rate:-0}/s, log $log" >&2

  artifact_json=""
  for a in "${artifacts[@]+"${artifacts[@]}"}"; do
    artifact_json+="${artifact_json:+, }$(json_string "$a")"
  done
  entries+=("    {\"target\": $(json_string "$target"), \"executions\": ${execs:-0}, \"exec_per_second\": ${rate:-0}, \
\"fuzzed_seconds\": ${fuzzed_seconds:-0}, \"wall_seconds\": $wall, \"exit_code\": $rc, \"crashed\": $crashed, \
\"finding\": $(json_string "$finding"), \"artifacts\": [$artifact_json], \"log\": $(json_string "$log")}")
done

{
  echo "{"
  echo "  \"seconds_per_target\": $seconds,"
  echo "  \"targets_with_findings\": $failures,"
  echo "  \"targets\": ["
  for i in "${!entries[@]}"; do
    sep=","
    (( i == ${#entries[@]} - 1 )) && sep=""
    echo "${entries[$i]}$sep"
  done
  echo "  ]"
  echo "}"
} > "$summary"
echo "summary: $summary ($failures of ${#targets[@]} targets with findings)" >&2
(( failures == 0 ))
