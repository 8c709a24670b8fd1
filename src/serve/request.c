/* What a solve request must be, beyond its options (options.c): its y, read from JSON
 * or from a .npy body; no member given twice; an Idempotency-Key of a bounded form; and
 * the hash that binds a key to what its request asked for. */
#include "serve.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Keys are made by clients (a UUID, "run-42/y7"), and travel in a header: printable
 * ASCII without spaces (HTTP strips a header value's edges, and a key must come back
 * byte for byte), and at most 255 characters, as payment APIs bound theirs. */
sprec_err serve_idem_key_check(const char *key)
{
  size_t n = strlen(key);
  SPREC_CHECK(n >= 1 && n <= SERVE_IDEM_MAX, SPREC_ERR_ARG,
              "Idempotency-Key: must have 1 to %d characters (has %zu)", SERVE_IDEM_MAX, n);
  for (size_t i = 0; i < n; i++)
    SPREC_CHECK((unsigned char)key[i] > 0x20 && (unsigned char)key[i] < 0x7f, SPREC_ERR_ARG,
                "Idempotency-Key: character %zu is not printable ASCII without spaces (! to ~)", i + 1);
  return SPREC_OK;
}

typedef struct {
  const char *name;
  size_t at; /* its place in the object */
} member;

static int by_name_then_place(const void *a, const void *b)
{
  const member *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Sorted by name (n log n: a body may hold millions of members), the repeats are
 * neighbours; the one named is the earliest second occurrence in the text. */
sprec_err serve_request_repeated(const cJSON *obj, const char **name)
{
  size_t n = 0, at = SIZE_MAX;
  *name = NULL;
  for (const cJSON *it = obj->child; it; it = it->next) n++;
  if (n < 2) return SPREC_OK;
  member *v = malloc(n * sizeof *v);
  SPREC_CHECK(v, SPREC_ERR_MEM, "body: out of memory for %zu members", n);
  n = 0;
  for (const cJSON *it = obj->child; it; it = it->next, n++) v[n] = (member){it->string, n};
  qsort(v, n, sizeof *v, by_name_then_place);
  for (size_t i = 1; i < n; i++)
    if (!strcmp(v[i].name, v[i - 1].name) && v[i].at < at) at = v[i].at, *name = v[i].name;
  free(v);
  return SPREC_OK;
}

sprec_err serve_y_from_json(const cJSON *obj, int64_t m, double *y)
{
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "y");
  SPREC_CHECK(a, SPREC_ERR_ARG, "y: missing");
  SPREC_CHECK(cJSON_IsArray(a), SPREC_ERR_ARG, "y: must be an array of %lld numbers", (long long)m);
  int64_t n = cJSON_GetArraySize(a), i = 0;
  SPREC_CHECK(n == m, SPREC_ERR_ARG, "y: has %lld entries, the dictionary has m = %lld rows",
              (long long)n, (long long)m);
  for (const cJSON *e = a->child; e; e = e->next, i++) {
    SPREC_CHECK(cJSON_IsNumber(e), SPREC_ERR_ARG, "y: entry %lld is not a number", (long long)i);
    SPREC_CHECK(isfinite(e->valuedouble), SPREC_ERR_ARG, "y: entry %lld is not finite", (long long)i);
    y[i] = e->valuedouble;
  }
  return SPREC_OK;
}

sprec_err serve_y_from_npy(const char *body, size_t len, int64_t m, double *y)
{
  sprec_npy_info in;
  SPREC_CALL(sprec_npy_parse("y", body, len, &in));
  int64_t n = in.ndim == 1 ? in.shape[0] : in.shape[1] == 1 ? in.shape[0] : -1;
  SPREC_CHECK(n == m, SPREC_ERR_ARG, "y: a .npy of shape %lld%s%lld, but m = %lld values are needed",
              (long long)in.shape[0], in.ndim == 2 ? " x " : "",
              in.ndim == 2 ? (long long)in.shape[1] : 0LL, (long long)m);
  const char *d = body + in.data_offset;
  for (int64_t i = 0; i < n; i++) {
    if (in.elsize == 8) memcpy(&y[i], d + 8 * i, 8);
    else {
      float f;
      memcpy(&f, d + 4 * i, 4);
      y[i] = f;
    }
    SPREC_CHECK(isfinite(y[i]), SPREC_ERR_ARG, "y: entry %lld is not finite", (long long)i);
  }
  return SPREC_OK;
}

/* Over the canonical key (every option, defaults included, in table order: "k": 4 and
 * "k": 4.0, or a default spelled out, ask the same) and y as it will be solved (a .npy
 * of float32 and the same values in JSON ask the same). SHA-256: a retry that differs
 * must not pass for the first request, whoever made it differ. */
sprec_err serve_request_hash(const char *key, const double *y, int64_t m, char hex[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, key, strlen(key) + 1) &&
           EVP_DigestUpdate(c, y, sizeof *y * (size_t)m) && EVP_DigestFinal_ex(c, md, &len) && len == 32;
  EVP_MD_CTX_free(c);
  SPREC_CHECK(ok, SPREC_ERR_MEM, "cannot hash the request (OpenSSL)");
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < 32; i++) hex[2 * i] = digits[md[i] >> 4], hex[2 * i + 1] = digits[md[i] & 15];
  hex[64] = '\0';
  return SPREC_OK;
}

sprec_err serve_read_request(const char *ctype, const char *body, size_t len, cJSON *query, int64_t m,
                             int64_t n, int64_t max_k, char *key, size_t keylen, char **opts, double *y,
                             char field[64])
{
  int npy = ctype && !strncmp(ctype, "application/x-npy", 17);
  const char *twice = NULL;
  *opts = NULL;
  if (!npy && (!ctype || strncmp(ctype, "application/json", 16)))
    return snprintf(field, 64, "Content-Type"),
           SPREC_ERROR(SPREC_ERR_ARG, "Content-Type must be application/json or application/x-npy");
  cJSON *req = npy ? query : cJSON_ParseWithLength(body ? body : "", len);
  if (!req || !cJSON_IsObject(req)) {
    cJSON_Delete(req);
    return snprintf(field, 64, "body"), SPREC_ERROR(SPREC_ERR_ARG, "the body is not a JSON object");
  }
  sprec_opts o;
  cJSON *canon = cJSON_CreateObject();
  snprintf(field, 64, "body");
  sprec_err err = canon ? serve_request_repeated(req, &twice) : SPREC_ERROR(SPREC_ERR_MEM, "out of memory");
  if (!err && twice)
    snprintf(field, 64, "%s", twice), err = SPREC_ERROR(SPREC_ERR_ARG, "%s: given more than once", twice);
  if (!err) err = serve_request_options(req, m, n, max_k, &o, key, keylen, canon, field, 64);
  if (!err && (err = npy ? serve_y_from_npy(body, len, m, y) : serve_y_from_json(req, m, y)))
    snprintf(field, 64, "y");
  if (!err && !(*opts = cJSON_PrintUnformatted(canon)))
    snprintf(field, 64, "body"), err = SPREC_ERROR(SPREC_ERR_MEM, "out of memory");
  if (!npy) cJSON_Delete(req);
  cJSON_Delete(canon);
  return err;
}
