/* A request's options: the library's (sprec_opts_set, sprec_opts_check) and the two
 * run-control fields that the service's API has accepted since it was first published,
 * monitor and checkpoint_every. They are not options of the library (run control is
 * set on the solver), and a service has no use for them: it reports no progress, and a
 * request has no checkpoint file of its own. They stay accepted with their old checks
 * and their old place at the end of a request's canonical key, so that clients, and
 * requests stored by an earlier version, are served as before. */
#include "serve.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sprec_err serve_opts_set(sprec_opts *o, serve_run_fields *rf, const char *name, const char *value, int given)
{
  int *f = !strcmp(name, "monitor") ? &rf->monitor
           : !strcmp(name, "checkpoint_every") ? &rf->checkpoint_every : NULL;
  if (!f) {
    SPREC_CALL(sprec_opts_set(o, name, value));
    return given ? sprec_opts_check_given(o, name) : SPREC_OK;
  }
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

/* Every member's value becomes text for serve_opts_set: numbers exactly. */
sprec_err serve_request_options(const cJSON *obj, int64_t m, int64_t n, int64_t max_k, sprec_opts *o,
                                char *key, size_t keylen, cJSON *canon, char *field, size_t flen)
{
  serve_run_fields rf = {0, 0};
  sprec_opts_default(o);
  for (const cJSON *it = obj->child; it; it = it->next) {
    if (!strcmp(it->string, "y")) continue;
    char v[64];
    snprintf(field, flen, "%s", it->string);
    if (cJSON_IsString(it)) snprintf(v, sizeof v, "%s", it->valuestring);
    else if (cJSON_IsBool(it)) snprintf(v, sizeof v, "%s", cJSON_IsTrue(it) ? "true" : "false");
    else if (cJSON_IsNumber(it)) {
      double d = it->valuedouble;
      if (d == floor(d) && fabs(d) < 9e15) snprintf(v, sizeof v, "%.0f", d);
      else snprintf(v, sizeof v, "%.17g", d);
    } else
      return SPREC_ERROR(SPREC_ERR_ARG, "%s: must be a number, a string or true/false", it->string);
    SPREC_CALL(serve_opts_set(o, &rf, it->string, v, 1));
  }
  sprec_err err = serve_opts_check(o, &rf, m, n);
  if (err) { /* the message starts with the option */
    snprintf(field, flen, "%.*s", (int)strcspn(sprec_errmsg(), " :"), sprec_errmsg());
    return err;
  }
  if (sprec_algo_class_of(o->algo) == SPREC_ALGO_L0 && o->k > max_k)
    return snprintf(field, flen, "k"), SPREC_ERROR(SPREC_ERR_ARG, "k: at most %lld here (got %lld)",
                                                   (long long)max_k, (long long)o->k);
  /* The canonical key (every option, in table order, then the run-control fields) and
   * the stored options. */
  key[0] = '\0';
  for (const char *const *n = sprec_opts_names(); *n; n++) {
    char v[64];
    sprec_opts_get(o, *n, v, sizeof v);
    snprintf(key + strlen(key), keylen - strlen(key), "%s=%s;", *n, v);
    cJSON_AddStringToObject(canon, *n, v);
  }
  char v[2][16];
  snprintf(v[0], sizeof v[0], "%d", rf.monitor);
  snprintf(v[1], sizeof v[1], "%d", rf.checkpoint_every);
  snprintf(key + strlen(key), keylen - strlen(key), "monitor=%s;checkpoint_every=%s;", v[0], v[1]);
  cJSON_AddStringToObject(canon, "monitor", v[0]);
  cJSON_AddStringToObject(canon, "checkpoint_every", v[1]);
  return SPREC_OK;
}
