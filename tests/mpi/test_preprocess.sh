#!/bin/sh
# test_preprocess.sh -- flagscale-preprocess as users run it, on the shipped corpus:
#   1 rank and 2 ranks give byte-identical .bin/.idx (the whole corpus with gpt2, -append_eod), 1/2/3 ranks on a
#   subset with aquila and two json keys; the token ids of the first documents equal Hugging Face tokenizers
#   (when numpy + tokenizers are importable); bad lines (malformed JSON, missing key, invalid UTF-8, non-string
#   value, not an object) are skipped and reported with their line numbers across ranks, or stop a 2-rank run
#   with -on_error fail (non-zero exit, no hang); -help, missing or unknown options, an empty input.
: "${MPIEXEC:=mpirun}"
app=${top_builddir:-.}/apps/flagscale-preprocess
tool=${top_builddir:-.}/tests/ref/indexed_tool
FLAGSCALE_DATA_DIR=${top_srcdir:-.}/share/flagscale
export FLAGSCALE_DATA_DIR
tok=$FLAGSCALE_DATA_DIR/tokenizers
corpus=$FLAGSCALE_DATA_DIR/data/sotu.jsonl.xz
for f in "$tok/gpt2/vocab.json" "$tok/aquila/vocab.json" "$corpus"; do
  [ -f "$f" ] || { echo "SKIP: $f is missing"; exit 77; }
done
command -v xz >/dev/null 2>&1 || { echo "SKIP: xz is not installed (apt-get install xz-utils)"; exit 77; }
if command -v timeout >/dev/null 2>&1; then to="timeout 120"; else to=; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
# run NAME NP ARGS... -- runs the app on NP ranks, output in $tmp/NAME.log, returns its exit status
run() {
  name=$1 np=$2
  shift 2
  $to $MPIEXEC -np "$np" "$app" "$@" >"$tmp/$name.log" 2>&1
}
same() { # same A B KEY... -- both prefixes hold identical datasets for every key
  a=$1 b=$2
  shift 2
  for k in "$@"; do
    for ext in bin idx; do
      if cmp "${a}_${k}_document.$ext" "${b}_${k}_document.$ext"; then :; else return 1; fi
    done
  done
}

xz -dc "$corpus" >"$tmp/sotu.jsonl" || { bad "cannot decompress $corpus"; exit 1; }

# ---- the whole corpus, gpt2, 1 vs 2 ranks
for np in 1 2; do
  if run gpt2-np$np $np -input "$tmp/sotu.jsonl" -output_prefix "$tmp/g$np" -append_eod -log_interval 100; then
    ok "gpt2 whole corpus on $np rank(s): $(grep -o 'throughput:.*' "$tmp/gpt2-np$np.log")"
  else bad "gpt2 on $np rank(s)"; cat "$tmp/gpt2-np$np.log"; fi
done
if same "$tmp/g1" "$tmp/g2" text; then ok "gpt2: 2 ranks byte-identical to 1 rank ($(wc -c <"$tmp/g1_text_document.bin") bytes .bin)"
else bad "gpt2: 1 and 2 ranks differ"; fi
grep -q 'processed 100 documents' "$tmp/gpt2-np1.log" && grep -q 'MB/s.*ETA' "$tmp/gpt2-np1.log" ||
  bad "no progress line every 100 documents"
grep -q 'done: 233 documents' "$tmp/gpt2-np2.log" || bad "expected 233 documents: $(grep done: "$tmp/gpt2-np2.log")"
if "$tool" dump "$tmp/g2_text_document" >"$tmp/g2.dump" 2>&1 && head -1 "$tmp/g2.dump" | grep -q '^8 233 234$'; then
  ok "gpt2 dataset: uint16, 233 sequences, 234 doc_idx entries"
else bad "gpt2 dataset header: $(head -2 "$tmp/g2.dump")"; fi

# ---- aquila, two keys, a subset on 1, 2, 3 ranks
head -n 40 "$tmp/sotu.jsonl" >"$tmp/sub.jsonl"
for np in 1 2 3; do
  run aq-np$np $np -input "$tmp/sub.jsonl" -output_prefix "$tmp/a$np" -tokenizer_type aquila -json_keys text,name \
    -append_eod || { bad "aquila on $np rank(s)"; cat "$tmp/aq-np$np.log"; }
done
if same "$tmp/a1" "$tmp/a2" text name && same "$tmp/a1" "$tmp/a3" text name; then
  ok "aquila, keys text,name: 1, 2, 3 ranks byte-identical"
else bad "aquila: rank counts differ"; fi
"$tool" dump "$tmp/a3_text_document" 2>&1 | head -1 | grep -q '^4 40 41$' || bad "aquila dataset is not int32 with 40 sequences"

# ---- token ids against Hugging Face tokenizers (optional)
hf() {
  "$PYTHON" "${top_srcdir:-.}/tests/mpi/test_preprocess_hf.py" "$@" >"$tmp/hf.log" 2>&1
  rc=$?
  if [ $rc = 0 ]; then ok "$(tail -1 "$tmp/hf.log")"
  elif [ $rc = 77 ]; then echo "skip HF comparison: $(cat "$tmp/hf.log")"
  else bad "HF comparison"; cat "$tmp/hf.log"; fi
}
hf "$tmp/g2" "$tmp/sotu.jsonl" text "$tok/gpt2/vocab.json" "$tok/gpt2/merges.txt" - 50256 40
hf "$tmp/a2" "$tmp/sub.jsonl" text "$tok/aquila/vocab.json" "$tok/aquila/merges.txt" "$tok/aquila/special_tokens.txt" \
  100007 40
hf "$tmp/a2" "$tmp/sub.jsonl" name "$tok/aquila/vocab.json" "$tok/aquila/merges.txt" "$tok/aquila/special_tokens.txt" \
  100007 40

# ---- bad lines: reported with line numbers (across ranks), skipped; the same output on 1 and 2 ranks
{
  echo '{"text": "first good document"}'
  echo '{"text": "unterminated"'
  echo ''
  i=0
  while [ $i -lt 30 ]; do echo "{\"text\": \"good document $i\"}"; i=$((i + 1)); done
  echo '{"other": "no text key"}'
  printf '{"text": "bad byte \377 here"}\n'
  echo '{"text": 5}'
  echo '[1, 2]'
  echo '{"text": ""}'
  echo '   '
  echo '{"text": "last good document"}'
} >"$tmp/bad.jsonl"
for np in 1 2; do
  if run bad-np$np $np -input "$tmp/bad.jsonl" -output_prefix "$tmp/b$np"; then :; else
    bad "skip mode on $np rank(s) failed"; cat "$tmp/bad-np$np.log"; fi
done
for pat in 'bad.jsonl:2: malformed JSON' 'bad.jsonl:34: missing key: no key "text"' 'bad.jsonl:35: invalid UTF-8: byte 0xff at column 20' \
  'bad.jsonl:36: non-string value' 'bad.jsonl:37: not a JSON object' '5 bad lines skipped' 'done: 33 documents.* 1 empty documents dropped'; do
  grep -q -e "$pat" "$tmp/bad-np2.log" || bad "2-rank report lacks '$pat'"
done
[ $fail = 0 ] && ok "bad lines reported with line numbers on 2 ranks"
"$tool" dump "$tmp/b2_text_document" 2>&1 | head -1 | grep -q '^8 32 33$' || bad "bad-line input: expected 32 sequences"
same "$tmp/b1" "$tmp/b2" text && ok "bad-line input: 1 and 2 ranks byte-identical" || bad "bad-line input: ranks differ"
run fail-np2 2 -input "$tmp/bad.jsonl" -output_prefix "$tmp/f" -on_error fail
rc=$?
if [ $rc != 0 ] && [ $rc != 124 ] && grep -q 'bad.jsonl:2: malformed JSON' "$tmp/fail-np2.log"; then
  ok "-on_error fail on 2 ranks: exit $rc, no hang"
else bad "-on_error fail on 2 ranks: exit $rc"; cat "$tmp/fail-np2.log"; fi

# ---- options and edge cases
run help 1 -help && grep -q -e '-on_error <skip>' "$tmp/help.log" && grep -q -e '-tokenizer_type <gpt2bpe>' "$tmp/help.log" &&
  ok "-help lists the options" || bad "-help"
run noinput 1 -output_prefix "$tmp/x"
[ $? != 0 ] && grep -q 'needs -input' "$tmp/noinput.log" && ok "missing -input is an error" || bad "missing -input"
run typo 1 -input "$tmp/sub.jsonl" -output_prefix "$tmp/x" -append_eos
[ $? != 0 ] && grep -q 'append_eos' "$tmp/typo.log" && ok "unknown option is an error" || bad "unknown option"
run nofile 2 -input "$tmp/none.jsonl" -output_prefix "$tmp/x"
[ $? != 0 ] && grep -q 'cannot open the input' "$tmp/nofile.log" && ok "missing input file is an error" || bad "missing input file"
: >"$tmp/empty.jsonl"
if run empty 2 -input "$tmp/empty.jsonl" -output_prefix "$tmp/e" && "$tool" dump "$tmp/e_text_document" | head -1 | grep -q '^8 0 1$'; then
  ok "empty input: an empty dataset"
else bad "empty input"; cat "$tmp/empty.log"; fi
exit $fail
