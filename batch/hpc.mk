# batch/hpc.mk -- HPC integration: Slurm/PBS job templates, the environment modulefile, man pages, tests/hpc.
# To add an app: list it in FS_MAN_APPS (its man page is generated from -help; optional hand-written sections in
# doc/man/APP.sections), and add batch/slurm/APP.sbatch + batch/pbs/APP.pbs to the template lists below.

# ---- job templates (installed under share/flagscale/batch; they source batch/fs-job.sh from there)
fsbatchdir = $(pkgdatadir)/batch
dist_fsbatch_DATA = batch/fs-job.sh
fsslurmdir = $(pkgdatadir)/batch/slurm
dist_fsslurm_DATA = batch/slurm/preprocess.sbatch batch/slurm/pretrain.sbatch batch/slurm/finetune.sbatch batch/slurm/convert.sbatch batch/slurm/infer.sbatch batch/slurm/serve.sbatch \
	batch/slurm/aquila-7b.sbatch batch/slurm/aquila-34b.sbatch batch/slurm/aquila-70b.sbatch
fspbsdir = $(pkgdatadir)/batch/pbs
dist_fspbs_DATA = batch/pbs/preprocess.pbs batch/pbs/pretrain.pbs batch/pbs/finetune.pbs batch/pbs/convert.pbs batch/pbs/infer.pbs batch/pbs/serve.pbs \
	batch/pbs/aquila-7b.pbs batch/pbs/aquila-34b.pbs batch/pbs/aquila-70b.pbs

# ---- environment modulefile, installed as PREFIX/share/modulefiles/flagscale/VERSION (module use
# PREFIX/share/modulefiles; module load flagscale).  The paths are substituted at make time, and the file is
# rebuilt on every make, so `make install prefix=/x` (or DESTDIR=) installs one that points at /x.
modulefiledir = $(datadir)/modulefiles/flagscale
EXTRA_DIST += share/flagscale/modulefiles/flagscale.in
CLEANFILES += flagscale.modulefile
all-local: flagscale.modulefile
flagscale.modulefile: $(srcdir)/share/flagscale/modulefiles/flagscale.in
	$(AM_V_GEN)sed -e 's|@VERSION[@]|$(PACKAGE_VERSION)|g' -e 's|@prefix[@]|$(prefix)|g' -e 's|@bindir[@]|$(bindir)|g' \
	  -e 's|@libdir[@]|$(libdir)|g' -e 's|@includedir[@]|$(includedir)|g' -e 's|@mandir[@]|$(mandir)|g' \
	  -e 's|@pkgdatadir[@]|$(pkgdatadir)|g' $(srcdir)/share/flagscale/modulefiles/flagscale.in > $@.tmp && mv $@.tmp $@
.PHONY: flagscale.modulefile
install-data-local: flagscale.modulefile
	$(MKDIR_P) '$(DESTDIR)$(modulefiledir)'
	$(INSTALL_DATA) flagscale.modulefile '$(DESTDIR)$(modulefiledir)/$(PACKAGE_VERSION)'
# flagscale.pc is made by configure, so `make install prefix=/x` would install one pointing at the configure-time
# prefix: rewrite its directory lines with this make's values (pkg-config then works with the module)
install-data-hook:
	pc='$(DESTDIR)$(pkgconfigdir)/flagscale.pc'; if test -f "$$pc"; then \
	  sed -e 's|^prefix=.*|prefix=$(prefix)|' -e 's|^exec_prefix=.*|exec_prefix=$(exec_prefix)|' \
	    -e 's|^libdir=.*|libdir=$(libdir)|' -e 's|^includedir=.*|includedir=$(includedir)|' "$$pc" > "$$pc.tmp" \
	  && mv "$$pc.tmp" "$$pc"; fi
uninstall-local:
	rm -f '$(DESTDIR)$(modulefiledir)/$(PACKAGE_VERSION)'

# ---- man pages: one per executable, generated from its -help (so they cannot drift) + doc/man/APP.sections
FS_MAN_APPS = flagscale-preprocess flagscale-pretrain flagscale-finetune flagscale-convert flagscale-infer flagscale-serve
nodist_man_MANS = doc/man/flagscale-preprocess.1 doc/man/flagscale-pretrain.1 doc/man/flagscale-convert.1 \
	doc/man/flagscale-infer.1 doc/man/flagscale-serve.1 doc/man/flagscale-finetune.1
EXTRA_DIST += doc/man/gen-man.sh doc/man/flagscale-preprocess.sections doc/man/flagscale-pretrain.sections \
	doc/man/flagscale-convert.sections doc/man/flagscale-infer.sections doc/man/flagscale-serve.sections \
	doc/man/flagscale-finetune.sections
CLEANFILES += $(nodist_man_MANS)
doc/man/%.1: apps/% $(srcdir)/doc/man/gen-man.sh $(srcdir)/doc/man/%.sections
	$(AM_V_GEN)$(MKDIR_P) doc/man && \
	$(SHELL) $(srcdir)/doc/man/gen-man.sh apps/$* $(PACKAGE_VERSION) $(srcdir)/doc/man/$*.sections > $@.tmp && mv $@.tmp $@

# ---- tests
TESTS += tests/hpc/test_man.sh tests/hpc/test_modulefile.sh tests/hpc/test_slurm.sh tests/hpc/test_slurm_requeue.sh \
	tests/hpc/test_pbs.sh tests/hpc/test_templates.sh
EXTRA_DIST += tests/hpc/test_man.sh tests/hpc/test_modulefile.sh tests/hpc/test_slurm.sh tests/hpc/test_slurm_requeue.sh \
	tests/hpc/test_pbs.sh tests/hpc/test_templates.sh \
	tests/hpc/slurm_local.sh tests/hpc/hpc_common.sh
CLEANFILES += .hpc-install.lock
