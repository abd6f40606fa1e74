#!/bin/sh
# test_templates.sh -- every job template parses (bash -n), has its scheduler header and names an app that exists;
# there is a Slurm and a PBS template for every app (test_slurm.sh and test_pbs.sh run them).
fail=0
src=${top_srcdir:-.}
for app in preprocess pretrain finetune convert infer serve; do
  for t in "$src/batch/slurm/$app.sbatch" "$src/batch/pbs/$app.pbs"; do
    [ -f "$t" ] || { echo "FAIL: no template $t"; fail=1; continue; }
    bash -n "$t" || { echo "FAIL: $t does not parse"; fail=1; }
    case "$t" in
      *.sbatch) grep -q '^#SBATCH --job-name=' "$t" || { echo "FAIL: $t has no #SBATCH header"; fail=1; } ;;
      *.pbs) grep -q '^#PBS -l select=' "$t" || { echo "FAIL: $t has no #PBS -l select"; fail=1; } ;;
    esac
    grep -q "fs_run flagscale-$app " "$t" || { echo "FAIL: $t does not run flagscale-$app"; fail=1; }
    [ -x "${top_builddir:-.}/apps/flagscale-$app" ] || { echo "FAIL: no app flagscale-$app"; fail=1; }
  done
done
for t in "$src"/batch/slurm/aquila-*.sbatch "$src"/batch/pbs/aquila-*.pbs; do bash -n "$t" || fail=1; done
[ $fail = 0 ] && echo "all templates parse and name their app"
exit $fail
