#!/usr/bin/env bash
# Process start to first matrix product, median of N runs (default 21):
#   bash examples/MetaGrad.AotDemo/measure-startup.sh out/aot/MetaGrad.AotDemo                          # NativeAOT
#   bash examples/MetaGrad.AotDemo/measure-startup.sh dotnet examples/MetaGrad.AotDemo/bin/Release/net10.0/MetaGrad.AotDemo.dll   # JIT
# Each run is given the launcher's clock just before it starts (date +%s%N), so the figure covers
# the exec, the runtime's start-up, Main and the product; the program prints it and stops.
set -eu
runs="${RUNS:-21}"
times=()
for _ in $(seq "$runs"); do
  line=$("$@" --startup-only --started-at-ns "$(date +%s%N)" | head -n 1)
  times+=("$(sed -E 's/.*: ([0-9.]+) ms .*/\1/' <<<"$line")")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "runs: $(tr '\n' ' ' <<<"$sorted")"
echo "median of $runs: $(sed -n "$(( (runs + 1) / 2 ))p" <<<"$sorted") ms (min $(head -n 1 <<<"$sorted"), max $(tail -n 1 <<<"$sorted"))"
