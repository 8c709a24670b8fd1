/* A request's options: the library's (sprec_opts_set, sprec_opts_check) and the two
 * run-control fields that the service's API has accepted since it was first published,
 * monitor and checkpoint_every. They are not options of the library (run control is
 * set on the solver), and a service has no use for them: it reports no progress, and a
 * request has no checkpoint file of its own. They stay accepted with their old checks
 * and their old place at the end of a request's canonical key, so that clients, and
 * requests stored by an earlier version, are served as before. */
#include "serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

sprec_err serve_opts_set(sprec_opts *o, serve_run_fields *rf, const char *name, const char *value)
{
  int *f = !strcmp(name, "monitor") ? &rf->monitor
           : !strcmp(name, "checkpoint_every") ? &rf->checkpoint_every : NULL;
  if (!f) return sprec_opts_set(o, name, value);
  char *end = NULL;
  errno = 0;
  long long x = strtoll(value, &end, 10);
  SPREC_CHECK(*value && !*end && !errno, SPREC_ERR_ARG, "%s: '%s' is not an integer", name, value);
  SPREC_CHECK(x >= -2147483647 && x <= 2147483647, SPREC_ERR_ARG, "%s: %s is too large", name, value);
  *f = (int)x;
  return SPREC_OK;
}

sprec_err serve_opts_check(const sprec_opts *o, const serve_run_fields *rf, int64_t m, int64_t n)
{
  SPREC_CALL(sprec_opts_check(o, m, n));
  SPREC_CHECK(rf->monitor >= 0, SPREC_ERR_ARG, "monitor must be >= 0 (got %d)", rf->monitor);
  SPREC_CHECK(rf->checkpoint_every >= 0, SPREC_ERR_ARG, "checkpoint_every must be >= 0 (got %d)",
              rf->checkpoint_every);
  SPREC_CHECK(!rf->checkpoint_every, SPREC_ERR_ARG, "checkpoint_every needs checkpoint FILE");
  return SPREC_OK;
}
