/* fs_sft_pack.c -- SFT samples with several conversations each (packing) and the samples' tokens, masks and
 * positions (fs_sft.h) */
#include <stdlib.h>
#include <string.h>
#include "fs_sft.h"

/* conversation d's tokens */
static int64_t doc_len(const struct fs_sft_dataset *ds, int64_t d) { return ds->offset[d + 1] - ds->offset[d]; }

void fs_sft_sample_pos(const struct fs_sft_dataset *ds, int64_t i, int32_t *tokens, uint8_t *loss_mask, int32_t *pos)
{
  const int64_t T = ds->opts.seq_length, *po = ds->pack_offset;
  const int64_t first = po ? po[i] : i, last = po ? po[i + 1] : i + 1; /* its conversations: items first .. last */
  int64_t j = 0;                                                       /* tokens filled */
  for (int64_t e = first; e < last; e++) {
    const int64_t d = po ? ds->pack_item[e] : e, at = ds->offset[d], n = doc_len(ds, d); /* j + n <= T + 1 */
    for (int64_t u = 0; u < n; u++, j++) {
      tokens[j] = ds->ids[at + u];
      if (j > 0) loss_mask[j - 1] = u > 0 && ds->trained[at + u]; /* never the first token of a conversation */
      if (pos && j < T) pos[j] = (int32_t)u;
    }
  }
  for (int64_t p = 0; j <= T; j++, p++) { /* padding: never trained; packed, it is one more document */
    tokens[j] = ds->opts.pad_id;
    if (j > 0) loss_mask[j - 1] = 0;
    if (pos && j < T) pos[j] = (int32_t)(po ? p : j);
  }
}

PetscErrorCode fs_sft_pack(struct fs_sft_dataset *ds)
{
  const int64_t cap = (int64_t)ds->opts.seq_length + 1, nd = ds->n_docs;
  int64_t *bin, *room, open[FS_SFT_PACK_OPEN], n_open = 0, n_bins = 0;

  PetscFunctionBegin;
  FSCheck(!ds->pack_offset, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "SFT data packed twice");
  FSMalloc(nd * sizeof(int64_t), &bin);
  FSMalloc(nd * sizeof(int64_t), &room);
  for (int64_t d = 0; d < nd; d++) { /* first fit over the open samples, oldest first */
    const int64_t n = doc_len(ds, d);
    int64_t k = 0;
    while (k < n_open && room[open[k]] < n) k++;
    if (k == n_open) { /* a new sample; the oldest open one closes when too many are open */
      if (n_open == FS_SFT_PACK_OPEN) memmove(open, open + 1, (size_t)--n_open * sizeof *open), k--;
      room[n_bins] = cap;
      open[n_open++] = n_bins++;
    }
    const int64_t b = open[k];
    bin[d] = b;
    room[b] -= n;
    if (room[b] < 2) memmove(open + k, open + k + 1, (size_t)(--n_open - k) * sizeof *open); /* full */
  }
  /* counting sort by sample, file order inside each */
  PetscErrorCode ierr = fs_calloc_((size_t)(n_bins + 1) * sizeof(int64_t), (void **)&ds->pack_offset, "samples");
  if (!ierr) ierr = fs_malloc_((size_t)(nd > 0 ? nd : 1) * sizeof(int64_t), (void **)&ds->pack_item, "samples");
  if (!ierr) {
    for (int64_t d = 0; d < nd; d++) ds->pack_offset[bin[d] + 1]++;
    for (int64_t b = 0; b < n_bins; b++) ds->pack_offset[b + 1] += ds->pack_offset[b];
    for (int64_t b = 0; b < n_bins; b++) room[b] = ds->pack_offset[b];
    for (int64_t d = 0; d < nd; d++) ds->pack_item[room[bin[d]]++] = d;
    ds->n = n_bins;
    ds->perm_epoch = -1;
  }
  free(bin), free(room);
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

double fs_sft_efficiency(const struct fs_sft_dataset *ds)
{
  return (double)ds->offset[ds->n_docs] / ((double)ds->n * ((double)ds->opts.seq_length + 1));
}
