#!/bin/sh
# Monte Carlo references for tests/power.rs: each test's rejection rate in 4,000 data sets
# simulated and analysed by `emslab power --simulate` (balanced data from the design with
# the given components and effects; F tests as `analyze` applies them, synthetic ones as F′
# with Satterthwaite df from the observed mean squares). Run from the repository root:
#   sh tests/data/power/make_simulated.sh
# (emslab at the commit that adds this file; python3 only to flatten the JSON.)
set -e
cargo build --release --no-default-features --quiet
out=tests/data/power/simulated.csv
echo "case,design,model,sigma2,effects,levels,seed,replicates,term,test,empirical_power,se" > "$out"
run() {
  case_name=$1 design=$2 model=$3 sigma2=$4 effects=$5 levels=$6 seed=$7
  set -- power "designs/$design" --model "$model" --simulate 4000 --seed "$seed" --format json
  for s in $(echo "$sigma2" | tr ';' ' '); do set -- "$@" --sigma2 "$s"; done
  for e in $(echo "$effects" | tr '|' ' '); do set -- "$@" --effect "$e"; done
  for l in $(echo "$levels" | tr ';' ' '); do set -- "$@" --levels "$l"; done
  ./target/release/emslab "$@" | python3 -c "
import json, sys
j = json.load(sys.stdin)
tests = {r['term']: r['test'] for r in j['power']}
for r in j['simulation']['rows']:
    print(','.join(['$case_name', '$design', '$model', '$sigma2', '\"$effects\"', '$levels', '$seed',
                    str(j['simulation']['replicates']), r['term'], tests[r['term']],
                    repr(r['empirical_power']), repr(r['se'])]))
" >> "$out"
}
run mixed-restricted three_factor_mixed.toml restricted \
  "Residual=1;B=0.5;C=0.3;A:B=0.3;A:C=0.3;B:C=0.1;A:B:C=0.05" "A=-0.4,0,0.4" "B=6;C=6" 11
run random three_factor_random.toml restricted \
  "Residual=1;A=0.6;B=0.5;C=0.4;A:B=0.3;A:C=0.3;B:C=0.3;A:B:C=0.05" "" "A=6;B=6;C=6" 12
run mixed-unrestricted three_factor_mixed.toml unrestricted \
  "Residual=1;B=0.5;C=0.4;A:B=0.3;A:C=0.3;B:C=0.3;A:B:C=0.05" "A=-0.4,0,0.4" "B=6;C=6" 13
