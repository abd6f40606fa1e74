#!/bin/sh
# test_core_opt.sh -- the options layer as users meet it: defaults, command line, -options_file (later
# command-line options win), -help lists every option with its default, unused or malformed options fail
# on every rank count, -version prints the build.
demo=${top_builddir:-.}/tests/unit/opt_demo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # expect NAME EXPECTED-RC PATTERN -- command...
  name=$1 want=$2 pat=$3
  shift 3
  "$@" >"$tmp/out" 2>&1
  rc=$?
  if [ "$want" = 0 ] && [ $rc -ne 0 ] || [ "$want" != 0 ] && [ $rc -eq 0 ] || ! grep -q -e "$pat" "$tmp/out"; then
    echo "FAIL $name (rc=$rc, wanted ${want}, pattern '$pat'):"; cat "$tmp/out"; fail=1
  else echo "ok   $name"; fi
}
expect defaults 0 'num_layers=2 lr=0.0003 flag=0 name=tiny style=2' $demo
expect cmdline 0 'num_layers=12 lr=0.001 flag=1 name=x style=1' $demo -num_layers 12 -lr 1e-3 -flag -name x -lr_decay_style linear
printf -- '-num_layers 7\n-name fromfile\n' >"$tmp/a.opts"
expect optfile 0 'num_layers=9 lr=0.0003 flag=0 name=fromfile' $demo -options_file "$tmp/a.opts" -num_layers 9
expect help 0 '-num_layers <2> *number of layers' $demo -help
expect help-enum 0 '-lr_decay_style <cosine>.*(constant|linear|cosine)' $demo -help
expect unused 1 'option -num_layer 3 was set but opt_demo does not use it' $demo -num_layer 3
expect unused-np2 1 'was set but opt_demo does not use it' $MPIEXEC -np 2 $demo -typo 1
expect bad-int 1 'expects an integer' $demo -num_layers 12x
expect bad-enum 1 "'square' is not one of" $demo -lr_decay_style square
expect version 0 'HDF5: .*(parallel)' $demo -version
exit $fail
