#!/usr/bin/env bash
# The offline calibration study, every stage in order, each timed (seconds to stderr).
#   bash benchmarks/run_study.sh [WORK_DIR] [PRESET]      (defaults: runs/study-cpu cpu)
# Needs the train extra and the packaged models of the preset (docs/study.md: "Install").
# Stages resume: rerunning after an interruption redoes only unfinished models.
set -euo pipefail
WORK=${1:-runs/study-cpu}
PRESET=${2:-cpu}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ ! -f "$WORK/study.json" ]; then
  rmpredict study prepare --work "$WORK" --preset "$PRESET"
fi
for stage in prepare bench train score presence collect evaluate; do
  start=$(date +%s)
  rmpredict study "$stage" --work "$WORK"
  echo "stage $stage: $(( $(date +%s) - start )) s" >&2
done
