#!/bin/sh
# doc/gen-options.sh BUILD_DIR > doc/options.md -- the options reference, generated from each app's -help
# (tests/unit/test_doc_options.sh checks that doc/options.md is up to date).
b=${1:-build}
echo "# Options reference"
echo
echo "Generated from \`-help\` by \`doc/gen-options.sh\`; every app also takes \`-help\`, \`-version\` and"
echo "\`-options_file FILE\`. Defaults that are paths show the build's install prefix."
for app in flagscale-preprocess flagscale-pretrain flagscale-finetune flagscale-convert flagscale-infer flagscale-serve; do
  echo
  echo "## $app"
  echo
  echo '```'
  FLAGSCALE_DATA_DIR= "$b/apps/$app" -help | sed -e 's/[[:space:]]*$//'
  echo '```'
done
