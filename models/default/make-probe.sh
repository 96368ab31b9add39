#!/usr/bin/env bash
# How models/default/probe is made (`make models` runs this after training the target and drafter; about 3 hours on a
# shared 2-core machine, most of it the 75 probe trainings): the target's own answers to 1200 calibration problems
# (with 5 samples each for the multisampling baseline), 1200 fresh problems, and counterfactual traces of the
# problems among 5000 that the target answers exactly right (300 of them, with their controls); the
# hidden states of the target, the drafter and a randomly initialised copy of the target at every tap; then the
# study (`probe train`), which cross-validates every probe input beside the baselines, writes report.json / report.md
# and the served probe, with the stack of every target probe input that scores its lines (`--serve-stack`); and the
# README's probe tables regenerated from the report.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=models/default
work=build/probe-study
mkdir -p "$work"
# libtorch's OpenMP threads spin while they wait: on a busy machine one thread trains 4-8x faster than two
export OMP_NUM_THREADS=1
export CANDOR_JAVA_OPTS="-Xmx9g -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"

bin/candor dataset --model $out/target --problems 1200 --samples 5 --out $work/calibration.jsonl
bin/candor dataset --model $out/target --problems 1200 --samples 5 --seed 4 --out $work/fresh.jsonl
bin/candor dataset --kind COUNTERFACTUAL --model $out/target --problems 5000 --seed 5 --out $work/counterfactual.jsonl
bin/candor checkpoint --shape default-target --seed 17 --tokenizer $out/target --out $work/random-target

for set in calibration fresh counterfactual; do
  bin/candor probe extract --model $out/target --data $work/$set.jsonl --taps all --out $work/$set-target.bin
  bin/candor probe extract --model $out/drafter --data $work/$set.jsonl --taps all --out $work/$set-drafter.bin
done
bin/candor probe extract --model $work/random-target --data $work/calibration.jsonl --taps 2,4 \
  --out $work/calibration-random.bin

bin/candor probe train \
  --features target=$work/calibration-target.bin --features drafter=$work/calibration-drafter.bin \
  --features random=$work/calibration-random.bin \
  --fresh target=$work/fresh-target.bin --fresh drafter=$work/fresh-drafter.bin \
  --counterfactual target=$work/counterfactual-target.bin --counterfactual drafter=$work/counterfactual-drafter.bin \
  --variant target:tap0 --variant target:tap1 --variant target:tap2 --variant target:tap3 --variant target:tap4 \
  --variant random:tap2 --variant random:tap4 \
  --variant drafter:tap0 --variant drafter:tap1 --variant drafter:tap2 \
  --variant target:taps1,2,3,4 --variant target:tap2+logprob,entropy --variant target:tap4+logprob,entropy \
  --variant target:taps1,2,3,4+logprob,entropy --variant drafter:tap2+logprob,entropy \
  --serve-stack --cv-cache $work/cv-cache --out $out/probe
bin/candor probe readme --report $out/probe/report.json --readme README.md
