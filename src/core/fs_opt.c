/* fs_opt.c -- registered options over PETSc's options database */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include "fs_opt.h"

struct fs_opt_entry {
  char name[64], section[64], type[16], def[128], help[512];
};

#define FS_OPT_MAX 512
static struct fs_opt_entry g_opts[FS_OPT_MAX];
static int g_n_opts;
static char g_section[64] = "Options";
static PetscBool g_help;

void fs_opt_section(const char *title) { snprintf(g_section, sizeof g_section, "%s", title); }
void fs_opt_request_help(PetscBool on) { g_help = on; }
PetscBool fs_opt_help_requested(void) { return g_help; }
void fs_opt_reset_registry(void)
{
  g_n_opts = 0;
  snprintf(g_section, sizeof g_section, "Options");
}

static PetscErrorCode reg(const char *name, const char *type, const char *def, const char *help)
{
  PetscFunctionBegin;
  FSCheck(name[0] == '-', PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "option name %s must start with '-'", name);
  for (int i = 0; i < g_n_opts; i++)
    if (!strcmp(g_opts[i].name, name)) PetscFunctionReturn(PETSC_SUCCESS); /* read twice: listed once */
  FSCheck(g_n_opts < FS_OPT_MAX, PETSC_COMM_SELF, PETSC_ERR_PLIB, "too many options");
  struct fs_opt_entry *e = &g_opts[g_n_opts++];
  snprintf(e->name, sizeof e->name, "%s", name);
  snprintf(e->section, sizeof e->section, "%s", g_section);
  snprintf(e->type, sizeof e->type, "%s", type);
  snprintf(e->def, sizeof e->def, "%s", def ? def : "none");
  snprintf(e->help, sizeof e->help, "%s", help);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_opt_string(const char *name, const char *def, const char *help, char *value, PetscBool *set)
{
  PetscBool flg = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(reg(name, "string", def, help));
  snprintf(value, FS_OPT_STRLEN, "%s", def ? def : "");
  PetscCall(PetscOptionsGetString(NULL, NULL, name, value, FS_OPT_STRLEN, &flg));
  if (set) *set = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_opt_int(const char *name, int64_t def, const char *help, int64_t *value, PetscBool *set)
{
  char d[32], s[FS_OPT_STRLEN];
  PetscBool flg = PETSC_FALSE;

  PetscFunctionBegin;
  snprintf(d, sizeof d, "%" PRId64, def);
  PetscCall(reg(name, "int", d, help));
  s[0] = 0;
  PetscCall(PetscOptionsGetString(NULL, NULL, name, s, sizeof s, &flg));
  *value = def;
  if (flg) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end == 'e' || *end == 'E' || *end == '.') { /* 1e6 and 2.0 are fine when they are whole numbers */
      double r = strtod(s, &end);
      v = (long long)r;
      FSCheck((double)v == r, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "option %s expects an integer, got '%s'", name,
              s);
    }
    FSCheck(s[0] && !*end && !errno, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "option %s expects an integer, got '%s'",
            name, s);
    *value = (int64_t)v;
  }
  if (set) *set = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_opt_real(const char *name, double def, const char *help, double *value, PetscBool *set)
{
  char d[32], s[FS_OPT_STRLEN];
  PetscBool flg = PETSC_FALSE;

  PetscFunctionBegin;
  snprintf(d, sizeof d, "%g", def);
  PetscCall(reg(name, "real", d, help));
  s[0] = 0;
  PetscCall(PetscOptionsGetString(NULL, NULL, name, s, sizeof s, &flg));
  *value = def;
  if (flg) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    FSCheck(s[0] && !*end && !errno, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "option %s expects a number, got '%s'",
            name, s);
    *value = v;
  }
  if (set) *set = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_opt_bool(const char *name, PetscBool def, const char *help, PetscBool *value, PetscBool *set)
{
  PetscBool flg = PETSC_FALSE;

  PetscFunctionBegin;
  PetscCall(reg(name, "bool", def ? "true" : "false", help));
  *value = def;
  PetscCall(PetscOptionsGetBool(NULL, NULL, name, value, &flg));
  if (set) *set = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode fs_opt_enum(const char *name, const char *choices, int def, const char *help, int *index,
                           PetscBool *set)
{
  char words[FS_OPT_MAXLIST][64], s[FS_OPT_STRLEN], h[512];
  int n = 0;
  PetscBool flg = PETSC_FALSE;

  PetscFunctionBegin;
  for (const char *p = choices; *p && n < FS_OPT_MAXLIST; n++) {
    size_t len = strcspn(p, "|");
    snprintf(words[n], sizeof words[n], "%.*s", (int)len, p);
    p += len + (p[len] == '|');
  }
  FSCheck(def >= 0 && def < n, PETSC_COMM_SELF, PETSC_ERR_PLIB, "bad default for %s", name);
  snprintf(h, sizeof h, "%s (%s)", help, choices);
  PetscCall(reg(name, "choice", words[def], h));
  *index = def;
  s[0] = 0;
  PetscCall(PetscOptionsGetString(NULL, NULL, name, s, sizeof s, &flg));
  if (flg) {
    int found = -1;
    for (int i = 0; i < n; i++)
      if (!strcmp(words[i], s)) found = i;
    FSCheck(found >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "option %s: '%s' is not one of %s", name, s,
            choices);
    *index = found;
  }
  if (set) *set = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void fs_opt_free_list(char ***items, int n)
{
  if (!*items) return;
  for (int i = 0; i < n; i++) free((*items)[i]);
  free(*items);
  *items = NULL;
}

PetscErrorCode fs_opt_string_list(const char *name, const char *def, const char *help, char ***items, int *n,
                                  PetscBool *set)
{
  char s[FS_OPT_STRLEN];
  PetscBool flg;

  PetscFunctionBegin;
  PetscCall(fs_opt_string(name, def, help, s, &flg));
  *n = 0;
  FSCalloc(FS_OPT_MAXLIST * sizeof(char *), items);
  for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    FSCheck(*n < FS_OPT_MAXLIST, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "option %s: more than %d items", name,
            FS_OPT_MAXLIST);
    (*items)[*n] = strdup(tok);
    FSCheck((*items)[*n], PETSC_COMM_SELF, PETSC_ERR_MEM, "out of memory");
    (*n)++;
  }
  if (set) *set = flg;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void print_help(const char *app, const char *summary)
{
  const char *last = "";
  printf("%s -- %s\n\nUsage: [mpirun -np N] %s [options]   (also -options_file FILE, PETSC_OPTIONS)\n", app, summary,
         app);
  for (int i = 0; i < g_n_opts; i++) {
    const struct fs_opt_entry *e = &g_opts[i];
    if (strcmp(e->section, last)) printf("\n%s:\n", e->section);
    last = e->section;
    char lhs[200];
    snprintf(lhs, sizeof lhs, "  %s <%s>", e->name, e->def);
    printf("%-40s %s [%s]\n", lhs, e->help, e->type);
  }
  printf("\nGeneral:\n  %-38s %s\n  %-38s %s\n  %-38s %s\n", "-help", "print this list and exit", "-version",
         "print version and build options and exit", "-options_file FILE", "read options from FILE (one per line)");
}

PetscErrorCode fs_opt_finish(MPI_Comm comm, const char *app, const char *summary, PetscBool *stop)
{
  PetscMPIInt rank;
  PetscInt n_left = 0;
  char **names = NULL, **values = NULL;

  PetscFunctionBegin;
  *stop = PETSC_FALSE;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (g_help) {
    if (!rank) print_help(app, summary);
    *stop = PETSC_TRUE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  /* PETSc reads -skip_petscrc from argv before its database exists; it is not a stray option */
  PetscCall(PetscOptionsHasName(NULL, NULL, "-skip_petscrc", &stop[0]));
  *stop = PETSC_FALSE;
  PetscCall(PetscOptionsLeftGet(NULL, &n_left, &names, &values));
  PetscInt n_unused = n_left;
  if (n_left && !rank) {
    for (PetscInt i = 0; i < n_left; i++)
      fprintf(stderr, "error: option -%s%s%s was set but %s does not use it\n", names[i], values[i] ? " " : "",
              values[i] ? values[i] : "", app);
    fprintf(stderr, "(a misspelt option must not silently run the wrong job; see %s -help)\n", app);
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n_left, &names, &values));
  FSCheck(n_unused == 0, comm, PETSC_ERR_ARG_WRONG, "%d unused option(s); see the list above", (int)n_unused);
  PetscFunctionReturn(PETSC_SUCCESS);
}
