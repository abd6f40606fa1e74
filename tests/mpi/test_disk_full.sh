#!/bin/sh
# test_disk_full.sh -- a full file system (a 60 MB tmpfs), twice:
# 1. flagscale-preprocess on 2 ranks writes a dataset over an older one of the same prefix with no room left: it
#    stops with an error naming the file, and neither the half-written .bin nor the older .idx is left;
# 2. the disk fills up while a 2-rank pretraining job writes its second checkpoint (room for one 40 MB checkpoint,
#    not two): both ranks stop with the error within the time limit (no hang), the exit status is not 0, the first
#    checkpoint and the tracker pointing at it are untouched, the temporary file is gone, and a new job resumes
#    from that checkpoint;
# 3. flagscale-infer writing its -output to the full disk stops with an error naming the file.
# Skips (77) without root (mount).
. "${top_srcdir:-.}/tests/mpi/pretrain_common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to mount a small tmpfs"; exit 77; }
full=$tmp/full
mkdir -p "$full"
mount -t tmpfs -o size=60m tmpfs "$full" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs here"; exit 77; }
trap 'umount "$full" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. preprocess: an older dataset, then a new one with no room for it
"$bin/flagscale-preprocess" -input "$tmp/docs.jsonl" -output_prefix "$full/ds" -append_eod -log_interval 0 \
  > "$tmp/pp1.log" 2>&1 || { cat "$tmp/pp1.log"; fail "preprocess"; }
avail=$(df -k --output=avail "$full" | tail -n 1)
dd if=/dev/zero of="$full/filler" bs=1024 count=$((avail - 16)) 2> /dev/null  # 16 KB left
cat "$tmp/docs.jsonl" "$tmp/docs.jsonl" "$tmp/docs.jsonl" > "$tmp/docs3.jsonl"  # 3 times the older one
timeout 120 $MPIEXEC -n 2 "$bin/flagscale-preprocess" -input "$tmp/docs3.jsonl" -output_prefix "$full/ds" \
  -append_eod -log_interval 0 > "$tmp/pp2.log" 2>&1
rc=$?
grep -E "ERROR: cannot write|stopping" "$tmp/pp2.log" | cut -c1-200
[ $rc -ne 124 ] || fail "preprocess hung on the full disk"
[ $rc -ne 0 ] || fail "preprocess exited 0 on a full disk"
grep -q "cannot write .*ds_text_document" "$tmp/pp2.log" || fail "no message naming the file"
[ ! -e "$full/ds_text_document.bin" ] && [ ! -e "$full/ds_text_document.idx" ] || fail "a half-written dataset is left"
rm -f "$full/filler"

# 2. pretraining checkpoints
run="$bin/flagscale-pretrain $tiny -global_batch_size 4 -eval_iters 0"
timeout 300 $MPIEXEC -n 2 $run -train_iters 10 -save_interval 5 -save "$full/ckpt" > "$tmp/full.log" 2>&1
rc=$?
grep -v "iteration  " "$tmp/full.log" | grep -E "saving|ERROR: (checkpoint|Write)|left open|stopping|No space" | cut -c1-200
echo "exit status $rc; files: $(ls "$full/ckpt" | tr '\n' ' ')"
[ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "the job hung after the failed write (killed by timeout)"
[ $rc -ne 0 ] || fail "exit status 0 after a failed checkpoint"
[ "$(grep -c 'stopping the job after the error' "$tmp/full.log")" = 2 ] || fail "not both ranks stopped on the error"
grep -q "writing tensor .* failed" "$tmp/full.log" || fail "no message naming the tensor whose write failed"
[ "$(cat "$full/ckpt/latest_checkpointed_iteration.txt")" = 5 ] || fail "the tracker moved"
[ "$(ls "$full/ckpt" | tr '\n' ' ')" = "iter_0000005.h5 latest_checkpointed_iteration.txt " ] ||
  fail "other files than checkpoint 5 and the tracker are left"
# the checkpoint loads (checksums checked on read) and the run goes on from it
timeout 300 $MPIEXEC -n 2 $run -train_iters 10 -load "$full/ckpt" -save "$tmp/ckpt2" > "$tmp/resume.log" 2>&1 ||
  { cat "$tmp/resume.log"; fail "resume from checkpoint 5"; }
grep -q "loaded: iteration 5," "$tmp/resume.log" || { cat "$tmp/resume.log"; fail "did not resume at iteration 5"; }
[ "$(cat "$tmp/ckpt2/latest_checkpointed_iteration.txt")" = 10 ] || fail "the resumed run did not reach iteration 10"

# 3. flagscale-infer writing its results to the full disk: an error, not a silently short file
dd if=/dev/zero of="$full/filler" bs=64k 2> /dev/null  # until the disk is full
echo '{"prompt": "The state of the union", "temperature": 0}' > "$tmp/p.jsonl"
"$bin/flagscale-infer" -load "$tmp/ckpt2" -prompts_file "$tmp/p.jsonl" -max_new_tokens 4 -output "$full/out.jsonl" \
  > "$tmp/infer.log" 2>&1 && { cat "$tmp/infer.log"; fail "flagscale-infer exited 0 with its output on a full disk"; }
grep -q "cannot write .*out.jsonl" "$tmp/infer.log" || { cat "$tmp/infer.log"; fail "no message naming the output"; }
echo "ok"
