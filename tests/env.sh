# tests/env.sh -- sourced by tests/driver.sh: what Open MPI needs to run tests as root on a small machine,
# and hermetic PETSc options (no stray petscrc or PETSC_OPTIONS changes a test).
: "${MPIEXEC:=mpirun}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
unset PETSC_OPTIONS
export PETSC_OPTIONS="-skip_petscrc"
: "${PYTHON:=python3}"
export MPIEXEC PYTHON
# ASan's leak checker cannot follow Open MPI's and PETSc's allocations: report errors, not leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
