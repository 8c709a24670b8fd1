/* The algorithm table: each algorithm by name, with its default budget and what its
 * set-up needs. Adding an algorithm is one file and one line in `algorithms`. A
 * sprec_algo handle is a pointer to its line. */
#include "algo.h"

#include <string.h>

static const struct sprec_algo_s algorithms[] = {
    /* name     run           iters fill needs_L l1 */
    {"sea",    sprec_sea,    1000,  0, 1, 0},
    {"htp",    sprec_htp,    500,   0, 0, 0},
    {"iht",    sprec_iht,    500,   0, 1, 0},
    {"omp",    sprec_omp,    0,     1, 0, 0},
    {"ompr",   sprec_ompr,   500,   1, 1, 0},
    {"els",    sprec_els,    500,   1, 0, 0},
    {"cosamp", sprec_cosamp, 500,   0, 0, 0},
    {"sp",     sprec_sp,     500,   0, 0, 0},
    {"ista",   sprec_ista,   10000, 0, 1, 1},
    {"fista",  sprec_fista,  10000, 0, 1, 1},
    {"oista",  sprec_oista,  10000, 0, 1, 1},
};
#define NALGO ((int)(sizeof algorithms / sizeof algorithms[0]))

const char *const *sprec_algorithms(void)
{
  static const char *names[NALGO + 1];
  for (int i = 0; i < NALGO; i++) names[i] = algorithms[i].name;
  names[NALGO] = NULL;
  return names;
}

sprec_algo sprec_algo_find(const char *name)
{
  for (int i = 0; name && i < NALGO; i++)
    if (!strcmp(algorithms[i].name, name)) return &algorithms[i];
  return NULL;
}

const char *sprec_algo_name(sprec_algo a) { return a->name; }

sprec_algo_class sprec_algo_class_of(sprec_algo a) { return a->l1 ? SPREC_ALGO_L1 : SPREC_ALGO_L0; }
