/* fs_ckpt_read.c -- the checkpoint reader: format checks, truncation report from the index, collective
 * hyperslab reads verified against the tensors' block checksums, bf16 widened to fp32. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include "fs_ckpt_impl.h"
#include "fs_log.h"

/* rank 0: a file shorter than the size its index records is truncated; name the tensors that lost data */
static PetscErrorCode check_truncation(const char *path)
{
  struct stat sb;
  char *block = NULL, *line, *save = NULL, lost[1536] = "";
  long long recorded = -1;
  int n_lost = 0, n_listed = 0;
  size_t n, len = 0;
  FILE *f;

  PetscFunctionBegin;
  FSCheck(stat(path, &sb) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open checkpoint %s: %s", path,
          strerror(errno));
  f = fopen(path, "rb");
  FSCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open checkpoint %s: %s", path, strerror(errno));
  FSCalloc(FS_CKPT_USERBLOCK + 1, &block);
  n = fread(block, 1, FS_CKPT_USERBLOCK, f);
  fclose(f);
  block[n] = 0;
  if (strncmp(block, FS_CKPT_INDEX_MAGIC, strlen(FS_CKPT_INDEX_MAGIC))) { /* no index: HDF5 checks the rest */
    free(block);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (line = strtok_r(block + strlen(FS_CKPT_INDEX_MAGIC), "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    long long first, end;
    int off = 0;
    if (sscanf(line, "file_size %lld", &recorded) == 1) continue;
    if (sscanf(line, "T %lld %lld %n", &first, &end, &off) == 2 && off > 0 && recorded >= 0 &&
        end > (long long)sb.st_size) {
      n_lost++;
      if (len + strlen(line + off) + 8 < sizeof lost - 32) {
        len += (size_t)sprintf(lost + len, "%s%s", n_listed ? ", " : "", line + off);
        n_listed++;
      }
    }
  }
  free(block);
  if (recorded >= 0 && (long long)sb.st_size < recorded) {
    if (n_lost > n_listed) sprintf(lost + len, " and %d more", n_lost - n_listed);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "checkpoint %s is truncated: %lld of %lld bytes on disk; tensors whose data is cut off: %s. Load an "
            "earlier checkpoint",
            path, (long long)sb.st_size, recorded, n_lost ? lost : "(none; HDF5 metadata at the end is lost)");
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode attr_string(hid_t file, const char *name, char **value)
{
  hid_t attr, type, mem;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBegin;
  *value = NULL;
  FSCkptH5(attr = H5Aopen(file, name, H5P_DEFAULT), "attribute %s", name);
  type = H5Aget_type(attr);
  if (type < 0 || H5Tget_class(type) != H5T_STRING) {
    if (type >= 0) H5Tclose(type);
    H5Aclose(attr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "attribute %s is not a string", name);
  }
  if (H5Tis_variable_str(type) > 0) {
    char *s = NULL;
    mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type)); /* HDF5 converts no charsets */
    if (H5Aread(attr, mem, &s) < 0 || !s) ierr = PETSC_ERR_LIB;
    else *value = strdup(s);
    if (s) H5free_memory(s);
    H5Tclose(mem);
  } else {
    size_t n = H5Tget_size(type);
    char *s = calloc(n + 1, 1);
    mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, n + 1);
    H5Tset_cset(mem, H5Tget_cset(type));
    if (!s || H5Aread(attr, mem, s) < 0) ierr = PETSC_ERR_LIB;
    *value = s;
    H5Tclose(mem);
  }
  H5Tclose(type);
  H5Aclose(attr);
  FSCheck(!ierr && *value, PETSC_COMM_SELF, PETSC_ERR_LIB, "reading string attribute %s failed", name);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* reads a scalar attribute as class cls (H5T_INTEGER or H5T_FLOAT) into memtype */
static PetscErrorCode attr_scalar(struct fs_ckpt_reader *r, const char *name, H5T_class_t cls, hid_t memtype,
                                  void *value)
{
  hid_t attr, type;
  htri_t exists;
  H5T_class_t c;

  PetscFunctionBegin;
  FSCkptH5(exists = H5Aexists(r->file, name), "checkpoint %s: attribute %s", r->path, name);
  FSCheck(exists > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "checkpoint %s has no attribute '%s'", r->path,
          name);
  FSCkptH5(attr = H5Aopen(r->file, name, H5P_DEFAULT), "checkpoint %s: attribute %s", r->path, name);
  type = H5Aget_type(attr);
  c = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  if (type >= 0) H5Tclose(type);
  if (c != cls) {
    H5Aclose(attr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "checkpoint %s: attribute '%s' is not %s", r->path, name,
            cls == H5T_INTEGER ? "an integer" : "a floating-point number");
  }
  herr_t st = H5Aread(attr, memtype, value);
  H5Aclose(attr);
  FSCkptH5(st, "checkpoint %s: reading attribute %s", r->path, name);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode open_file(struct fs_ckpt_reader *r)
{
  hid_t fapl;
  char *format = NULL;
  htri_t has_format, has_version;
  int64_t version;

  PetscFunctionBegin;
  FSCkptH5(fapl = H5Pcreate(H5P_FILE_ACCESS), "checkpoint %s", r->path);
  FSCkptH5(H5Pset_fapl_mpio(fapl, r->comm, MPI_INFO_NULL), "checkpoint %s", r->path);
  FSCkptH5(H5Pset_all_coll_metadata_ops(fapl, 1), "checkpoint %s", r->path);
  H5E_BEGIN_TRY { r->file = H5Fopen(r->path, H5F_ACC_RDONLY, fapl); } H5E_END_TRY;
  H5Pclose(fapl);
  if (r->file < 0) {
    char h5[256];
    fs_ckpt_h5_error(h5, sizeof h5);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "cannot open checkpoint %s: not an HDF5 file, or damaged (HDF5: %s). Load an earlier checkpoint", r->path,
            h5);
  }
  FSCkptH5(r->dxpl = H5Pcreate(H5P_DATASET_XFER), "checkpoint %s", r->path);
  FSCkptH5(H5Pset_dxpl_mpio(r->dxpl, H5FD_MPIO_COLLECTIVE), "checkpoint %s", r->path);
  r->fd = open(r->path, O_RDONLY);
  FSCheck(r->fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open checkpoint %s: %s", r->path, strerror(errno));
  FSCkptH5(has_format = H5Aexists(r->file, "format"), "checkpoint %s", r->path);
  FSCkptH5(has_version = H5Aexists(r->file, "format_version"), "checkpoint %s", r->path);
  FSCheck(has_format > 0 && has_version > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s is an HDF5 file but not a FlagScale checkpoint (no 'format'/'format_version' attributes on /)", r->path);
  PetscCall(attr_string(r->file, "format", &format));
  int same = !strcmp(format, FS_CKPT_FORMAT_NAME);
  if (!same) {
    char shown[128];
    snprintf(shown, sizeof shown, "%s", format);
    free(format);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: format is '%s', expected '%s'", r->path, shown,
            FS_CKPT_FORMAT_NAME);
  }
  free(format);
  PetscCall(attr_scalar(r, "format_version", H5T_INTEGER, H5T_NATIVE_INT64, &version));
  FSCheck(version == FS_CKPT_FORMAT_VERSION, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "%s has checkpoint format_version %lld; this build reads version %d only (was it written by a different "
          "FlagScale version?)",
          r->path, (long long)version, FS_CKPT_FORMAT_VERSION);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void reader_free(struct fs_ckpt_reader *r)
{
  if (!r) return;
  if (r->dxpl > 0) H5Pclose(r->dxpl);
  if (r->file > 0) H5Fclose(r->file);
  if (r->fd >= 0) close(r->fd);
  free(r->path);
  if (r->comm != MPI_COMM_NULL) MPI_Comm_free(&r->comm);
  free(r);
}

PetscErrorCode fs_ckpt_open(MPI_Comm comm, const char *path, struct fs_ckpt_reader **out)
{
  struct fs_ckpt_reader *r;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *out = NULL;
  FSCheck(path && *path, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "fs_ckpt_open: empty path");
  FSCalloc(sizeof *r, &r);
  r->comm = MPI_COMM_NULL;
  r->file = r->dxpl = r->fd = -1;
  PetscCallMPI(MPI_Comm_dup(comm, &r->comm));
  MPI_Comm_rank(r->comm, &r->rank);
  MPI_Comm_size(r->comm, &r->size);
  r->path = strdup(path);
  ierr = fs_ckpt_agree(r->comm, r->rank ? PETSC_SUCCESS : check_truncation(path));
  if (!ierr) ierr = fs_ckpt_agree(r->comm, open_file(r));
  if (ierr) {
    reader_free(r);
    PetscCall(ierr);
  }
  *out = r;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_close(struct fs_ckpt_reader **pr)
{
  struct fs_ckpt_reader *r = *pr;
  double v[2], s[2];

  PetscFunctionBegin;
  if (!r) PetscFunctionReturn(PETSC_SUCCESS);
  *pr = NULL;
  v[0] = r->n_bytes;
  v[1] = r->seconds;
  MPI_Reduce(v, s, 2, MPI_DOUBLE, MPI_SUM, 0, r->comm);
  if (r->n_bytes > 0 || r->rank == 0) {
    if (!r->rank && s[0] > 0)
      fs_log_info("checkpoint %s: %.3f GB read by %d ranks in %.2f s per rank on average (%.2f GB/s)", r->path,
                  s[0] / 1e9, r->size, s[1] / r->size, s[1] > 0 ? s[0] / 1e9 / (s[1] / r->size) : 0.0);
  }
  reader_free(r);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_ckpt_read_stats(const struct fs_ckpt_reader *r, double *n_bytes, double *seconds)
{
  *n_bytes = r->n_bytes;
  *seconds = r->seconds;
}

PetscErrorCode fs_ckpt_has_attr(struct fs_ckpt_reader *r, const char *name, PetscBool *has)
{
  htri_t e;

  PetscFunctionBegin;
  FSCkptH5(e = H5Aexists(r->file, name), "checkpoint %s: attribute %s", r->path, name);
  *has = e > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_get_attr_int64(struct fs_ckpt_reader *r, const char *name, int64_t *value)
{
  PetscFunctionBegin;
  PetscCall(fs_ckpt_agree(r->comm, attr_scalar(r, name, H5T_INTEGER, H5T_NATIVE_INT64, value)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_get_attr_double(struct fs_ckpt_reader *r, const char *name, double *value)
{
  PetscFunctionBegin;
  PetscCall(fs_ckpt_agree(r->comm, attr_scalar(r, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, value)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode get_string(struct fs_ckpt_reader *r, const char *name, char **value)
{
  htri_t exists;

  PetscFunctionBegin;
  FSCkptH5(exists = H5Aexists(r->file, name), "checkpoint %s: attribute %s", r->path, name);
  FSCheck(exists > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "checkpoint %s has no attribute '%s'", r->path,
          name);
  PetscCall(attr_string(r->file, name, value));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_get_attr_string(struct fs_ckpt_reader *r, const char *name, char **value)
{
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *value = NULL;
  ierr = fs_ckpt_agree(r->comm, get_string(r, name, value));
  if (ierr) {
    free(*value);
    *value = NULL;
  }
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* walks the path one link at a time (H5Lexists fails, rather than answers no, for a missing parent) */
static PetscErrorCode has_dataset(struct fs_ckpt_reader *r, const char *name, PetscBool *has)
{
  char buf[1024];
  size_t n = strlen(name);

  PetscFunctionBegin;
  *has = PETSC_FALSE;
  if (!n || name[0] != '/' || n >= sizeof buf) PetscFunctionReturn(PETSC_SUCCESS);
  memcpy(buf, name, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char c = buf[i];
    htri_t e;
    buf[i] = 0;
    H5E_BEGIN_TRY { e = H5Lexists(r->file, buf, H5P_DEFAULT); } H5E_END_TRY;
    buf[i] = c;
    if (e <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  }
  hid_t obj;
  H5E_BEGIN_TRY { obj = H5Oopen(r->file, name, H5P_DEFAULT); } H5E_END_TRY;
  if (obj < 0) PetscFunctionReturn(PETSC_SUCCESS);
  *has = H5Iget_type(obj) == H5I_DATASET ? PETSC_TRUE : PETSC_FALSE;
  H5Oclose(obj);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_has(struct fs_ckpt_reader *r, const char *name, PetscBool *has)
{
  PetscFunctionBegin;
  PetscCall(fs_ckpt_agree(r->comm, has_dataset(r, name, has)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode dataset_shape(struct fs_ckpt_reader *r, const char *name, hid_t *dset_out, int *ndim,
                                    int64_t shape[], enum fs_dtype *dtype)
{
  PetscBool has;
  hid_t dset, space, type;
  hsize_t dims[FS_CKPT_MAX_NDIM + 8];
  int nd;

  PetscFunctionBegin;
  PetscCall(has_dataset(r, name, &has));
  FSCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "checkpoint %s has no tensor %s", r->path, name);
  FSCkptH5(dset = H5Dopen2(r->file, name, H5P_DEFAULT), "checkpoint %s: tensor %s", r->path, name);
  space = H5Dget_space(dset);
  nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (nd >= 1 && nd <= FS_CKPT_MAX_NDIM) H5Sget_simple_extent_dims(space, dims, NULL);
  if (space >= 0) H5Sclose(space);
  type = H5Dget_type(dset);
  *dtype = type >= 0 ? fs_ckpt_dtype_of(type) : FS_DTYPE_COUNT;
  if (type >= 0) H5Tclose(type);
  if (nd < 1 || nd > FS_CKPT_MAX_NDIM || *dtype == FS_DTYPE_COUNT) {
    H5Dclose(dset);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "checkpoint %s: tensor %s has %d dimensions or an element type that is not f32/bf16", r->path, name, nd);
  }
  *ndim = nd;
  for (int d = 0; d < nd; d++) shape[d] = (int64_t)dims[d];
  if (dset_out) *dset_out = dset;
  else H5Dclose(dset);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_shape(struct fs_ckpt_reader *r, const char *name, int *ndim, int64_t shape[],
                             enum fs_dtype *file_dtype)
{
  enum fs_dtype t;

  PetscFunctionBegin;
  PetscCall(fs_ckpt_agree(r->comm, dataset_shape(r, name, NULL, ndim, shape, &t)));
  if (file_dtype) *file_dtype = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void shape_text(char *buf, size_t n, int ndim, const int64_t shape[])
{
  size_t len = (size_t)snprintf(buf, n, "(");
  for (int d = 0; d < ndim && len < n; d++)
    len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? ", " : "", (long long)shape[d]);
  if (len < n) snprintf(buf + len, n - len, ")");
}

static PetscErrorCode read_check_args(struct fs_ckpt_reader *r, const char *name, int ndim, const int64_t shape[],
                                      const int64_t start[], const int64_t count[], const float *out)
{
  int64_t n = 1;

  PetscFunctionBegin;
  FSCheck(name && ndim >= 1 && ndim <= FS_CKPT_MAX_NDIM, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
          "checkpoint %s: reading %s: ndim %d is not 1 or 2", r->path, name ? name : "(null)", ndim);
  for (int d = 0; d < ndim; d++) {
    FSCheck(start[d] >= 0 && count[d] >= 0 && start[d] + count[d] <= shape[d], PETSC_COMM_SELF,
            PETSC_ERR_ARG_OUTOFRANGE,
            "checkpoint %s: reading %s: block start %lld count %lld on dim %d does not fit the size %lld", r->path,
            name, (long long)start[d], (long long)count[d], d, (long long)shape[d]);
    n *= count[d];
  }
  FSCheck(n == 0 || out, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "checkpoint %s: reading %s: NULL output", r->path, name);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* what a read needs to know of one tensor */
struct tensor_io {
  hid_t dset;
  enum fs_dtype dtype;
  int ndim;
  int64_t shape[FS_CKPT_MAX_NDIM], n_global;
  int64_t block, n_blocks; /* checksum blocks; block 0 = the tensor has no checksums (not written by us) */
  uint64_t *stored;        /* [n_blocks] */
  int64_t data_offset;     /* byte offset of the data in the file, -1 if none */
};

static void tensor_io_free(struct tensor_io *t)
{
  if (t->dset >= 0) H5Dclose(t->dset);
  t->dset = -1;
  free(t->stored);
  t->stored = NULL;
}

/* phase 1: the tensor exists with the expected shape; its checksums (same answer on every rank) */
static PetscErrorCode read_open(struct fs_ckpt_reader *r, const char *name, int ndim, const int64_t shape[],
                                struct tensor_io *t)
{
  int fnd, same;
  int64_t fshape[FS_CKPT_MAX_NDIM];
  htri_t has_sum, has_block;

  PetscFunctionBegin;
  PetscCall(dataset_shape(r, name, &t->dset, &fnd, fshape, &t->dtype));
  same = fnd == ndim;
  for (int d = 0; same && d < ndim; d++) same = fshape[d] == shape[d];
  if (!same) {
    char want[96], have[96];
    shape_text(want, sizeof want, ndim, shape);
    shape_text(have, sizeof have, fnd, fshape);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "checkpoint %s: tensor %s has shape %s in the file but %s is expected (was it written for a different "
            "model configuration?)",
            r->path, name, have, want);
  }
  t->ndim = ndim;
  t->n_global = 1;
  for (int d = 0; d < ndim; d++) t->n_global *= (t->shape[d] = shape[d]);
  haddr_t addr = H5Dget_offset(t->dset);
  t->data_offset = addr == HADDR_UNDEF ? -1 : (int64_t)addr; /* H5Dget_offset: from the start of the file */
  FSCkptH5(has_sum = H5Aexists(t->dset, "checksum"), "checkpoint %s: tensor %s", r->path, name);
  FSCkptH5(has_block = H5Aexists(t->dset, "checksum_block"), "checkpoint %s: tensor %s", r->path, name);
  if (has_sum <= 0 || has_block <= 0) PetscFunctionReturn(PETSC_SUCCESS); /* a foreign file: nothing to verify */
  hid_t a = H5Aopen(t->dset, "checksum_block", H5P_DEFAULT);
  herr_t st = a < 0 ? -1 : H5Aread(a, H5T_NATIVE_INT64, &t->block);
  if (a >= 0) H5Aclose(a);
  FSCkptH5(st, "checkpoint %s: tensor %s: checksum_block", r->path, name);
  FSCheck(t->block >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "checkpoint %s: tensor %s: bad checksum_block %lld",
          r->path, name, (long long)t->block);
  t->n_blocks = t->n_global ? (t->n_global + t->block - 1) / t->block : 1;
  a = H5Aopen(t->dset, "checksum", H5P_DEFAULT);
  hid_t space = a < 0 ? -1 : H5Aget_space(a);
  hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
  if (space >= 0) H5Sclose(space);
  t->stored = n > 0 && n == t->n_blocks ? malloc((size_t)n * sizeof *t->stored) : NULL;
  st = t->stored ? H5Aread(a, H5T_NATIVE_UINT64, t->stored) : -1;
  if (a >= 0) H5Aclose(a);
  FSCheck(st >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
          "checkpoint %s: tensor %s: its checksum attribute is unreadable or has %lld blocks instead of %lld (damaged "
          "metadata)",
          r->path, name, (long long)n, (long long)t->n_blocks);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* phase 2: the collective read, and this rank's checksums of what it read (sums/counts [n_blocks]) */
static PetscErrorCode read_data(struct fs_ckpt_reader *r, const char *name, struct tensor_io *t,
                                const int64_t start[], const int64_t count[], float *out, uint64_t *sums,
                                int64_t *counts)
{
  hsize_t hstart[FS_CKPT_MAX_NDIM], hcount[FS_CKPT_MAX_NDIM], mdim;
  hid_t fspace = -1, mspace = -1, type = -1;
  int64_t n_elem = 1;
  void *buf = out;
  herr_t st;
  char h5[256] = "";

  PetscFunctionBegin;
  for (int d = 0; d < t->ndim; d++) {
    hstart[d] = (hsize_t)start[d];
    hcount[d] = (hsize_t)count[d];
    n_elem *= count[d];
  }
  mdim = (hsize_t)(n_elem ? n_elem : 1);
  if (t->dtype == FS_DTYPE_BF16 && n_elem) {
    buf = malloc((size_t)n_elem * 2);
    FSCheck(buf, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory reading %s (%lld elements)", name,
            (long long)n_elem);
  }
  /* read the stored representation (no HDF5 conversion): that is what the checksums cover */
  type = t->dtype == FS_DTYPE_BF16 ? fs_ckpt_bf16_type() : H5Tcopy(H5T_IEEE_F32LE);
  fspace = H5Dget_space(t->dset);
  mspace = H5Screate_simple(1, &mdim, NULL);
  st = (type < 0 || fspace < 0 || mspace < 0) ? -1 : 0;
  if (st >= 0) st = n_elem ? H5Sselect_hyperslab(fspace, H5S_SELECT_SET, hstart, NULL, hcount, NULL)
                           : H5Sselect_none(fspace);
  if (st >= 0 && !n_elem) st = H5Sselect_none(mspace);
  if (st >= 0 && t->n_global) {
    H5E_BEGIN_TRY { st = H5Dread(t->dset, type, mspace, fspace, r->dxpl, buf); } H5E_END_TRY;
  }
  if (st < 0) fs_ckpt_h5_error(h5, sizeof h5);
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  if (type >= 0) H5Tclose(type);
  if (st >= 0 && n_elem && t->block)
    fs_ckpt_sum_block(sums, counts, t->block, t->ndim, t->shape, start, count, buf, fs_dtype_size(t->dtype));
  if (st >= 0 && buf != out) fs_convert_bf16_to_fp32(out, buf, n_elem);
  if (buf != out) free(buf);
  FSCheck(st >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
          "checkpoint %s: tensor %s: reading the data failed (HDF5: %s). Load an earlier checkpoint", r->path, name, h5);
  r->n_bytes += (double)n_elem * (double)fs_dtype_size(t->dtype);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* phase 3, local part: every block some rank read is verified by exactly one rank: the lowest rank that read
 * all of it (its sum is already computed), else rank b % size, which reads the whole block (column splits) */
static PetscErrorCode verify_blocks(struct fs_ckpt_reader *r, const char *name, const struct tensor_io *t,
                                    const uint64_t *sums, const int *full_rank, const int *touched)
{
  size_t elsize = fs_dtype_size(t->dtype);
  unsigned char *raw = NULL;
  uint64_t *scratch = NULL;

  PetscFunctionBegin;
  for (int64_t b = 0; b < t->n_blocks; b++) {
    int64_t first = b * t->block, len = t->n_global - first < t->block ? t->n_global - first : t->block;
    uint64_t sum;
    if (len <= 0) continue;
    if (full_rank[b] == r->rank) {
      sum = sums[b];
    } else if (full_rank[b] == r->size && touched[b] && b % r->size == r->rank) {
      int64_t one[1] = {first}, cnt[1] = {len}, all[1] = {t->n_global};
      size_t n_bytes = (size_t)len * elsize;
      if (!raw) raw = malloc((size_t)t->block * elsize);
      FSCheck(raw, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory verifying %s", name);
      ssize_t got = pread(r->fd, raw, n_bytes, (off_t)(t->data_offset + first * (int64_t)elsize));
      if (got != (ssize_t)n_bytes) {
        free(raw);
        free(scratch);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
                "checkpoint %s: tensor %s: elements [%lld, %lld) cannot be read back (%s); the file is damaged", r->path,
                name, (long long)first, (long long)(first + len), got < 0 ? strerror(errno) : "short read");
      }
      if (!scratch) scratch = calloc((size_t)t->n_blocks, sizeof *scratch);
      if (!scratch) free(raw);
      FSCheck(scratch, PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory verifying %s", name);
      fs_ckpt_sum_block(scratch, NULL, t->block, 1, all, one, cnt, raw, elsize); /* adds to scratch[b] only */
      sum = scratch[b];
    } else {
      continue;
    }
    if (sum != t->stored[b]) {
      free(raw);
      free(scratch);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
              "checkpoint %s: tensor %s: data is corrupt in elements [%lld, %lld) (checksum mismatch); the file was "
              "damaged after it was written. Load an earlier checkpoint",
              r->path, name, (long long)first, (long long)(first + len));
    }
  }
  free(raw);
  free(scratch);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_ckpt_read(struct fs_ckpt_reader *r, const char *name, int ndim, const int64_t shape[],
                            const int64_t start[], const int64_t count[], float *out)
{
  struct tensor_io t = {.dset = -1};
  double t0 = MPI_Wtime();
  uint64_t *sums = NULL;
  int64_t *counts = NULL;
  int *full_rank = NULL, *touched = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  FSCheck(r && r->file > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "fs_ckpt_read: reader is not open");
  PetscCall(fs_ckpt_agree(r->comm, read_check_args(r, name, ndim, shape, start, count, out)));
  ierr = fs_ckpt_agree(r->comm, read_open(r, name, ndim, shape, &t));
  if (ierr) tensor_io_free(&t);
  PetscCall(ierr);
  int64_t nb = t.block ? t.n_blocks : 1;
  sums = calloc((size_t)nb, sizeof *sums);
  counts = calloc((size_t)nb, sizeof *counts);
  full_rank = malloc((size_t)nb * sizeof *full_rank);
  touched = malloc((size_t)nb * sizeof *touched);
  ierr = sums && counts && full_rank && touched ? PETSC_SUCCESS : PETSC_ERR_MEM;
  if (!ierr) ierr = read_data(r, name, &t, start, count, out, sums, counts);
  ierr = fs_ckpt_agree(r->comm, ierr);
  if (!ierr && t.block) {
    for (int64_t b = 0; b < nb; b++) {
      int64_t len = t.n_global - b * t.block < t.block ? t.n_global - b * t.block : t.block;
      full_rank[b] = counts[b] == len ? r->rank : r->size;
      touched[b] = counts[b] > 0;
    }
    ierr = MPI_Allreduce(MPI_IN_PLACE, full_rank, (int)nb, MPI_INT, MPI_MIN, r->comm) ||
               MPI_Allreduce(MPI_IN_PLACE, touched, (int)nb, MPI_INT, MPI_MAX, r->comm)
             ? PETSC_ERR_MPI
             : PETSC_SUCCESS;
    if (!ierr) ierr = fs_ckpt_agree(r->comm, verify_blocks(r, name, &t, sums, full_rank, touched));
  }
  free(sums);
  free(counts);
  free(full_rank);
  free(touched);
  tensor_io_free(&t);
  PetscCall(ierr);
  r->seconds += MPI_Wtime() - t0;
  PetscFunctionReturn(PETSC_SUCCESS);
}
