#include "json.h"

#include <math.h>

static void sep(sprec_json *j, const char *key)
{
  fputs(j->first[j->depth] ? "\n" : ",\n", j->f);
  j->first[j->depth] = 0;
  fprintf(j->f, "%*s", 2 * j->depth, "");
  if (key) {
    fputc('"', j->f);
    for (const char *c = key; *c; c++) fputc(*c, j->f);
    fputs("\": ", j->f);
  }
}

static void put_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void put_num(FILE *f, double v)
{
  if (isfinite(v)) fprintf(f, "%.17g", v);
  else fputs("null", f);
}

void sprec_json_begin(sprec_json *j, FILE *f)
{
  j->f = f;
  j->depth = 1;
  j->first[1] = 1;
  fputc('{', f);
}

void sprec_json_end(sprec_json *j)
{
  fputs("\n}\n", j->f);
  j->depth = 0;
}

void sprec_json_object(sprec_json *j, const char *key)
{
  sep(j, key);
  fputc('{', j->f);
  j->depth++;
  j->first[j->depth] = 1;
}

void sprec_json_close(sprec_json *j)
{
  j->depth--;
  fprintf(j->f, "\n%*s}", 2 * j->depth, "");
}

void sprec_json_array(sprec_json *j, const char *key)
{
  sep(j, key);
  fputc('[', j->f);
  j->depth++;
  j->first[j->depth] = 1;
}

void sprec_json_array_close(sprec_json *j)
{
  j->depth--;
  fprintf(j->f, "\n%*s]", 2 * j->depth, "");
}

void sprec_json_str(sprec_json *j, const char *key, const char *v)
{
  sep(j, key);
  put_str(j->f, v);
}

void sprec_json_num(sprec_json *j, const char *key, double v)
{
  sep(j, key);
  put_num(j->f, v);
}

void sprec_json_int(sprec_json *j, const char *key, int64_t v)
{
  sep(j, key);
  fprintf(j->f, "%lld", (long long)v);
}

void sprec_json_bool(sprec_json *j, const char *key, int v)
{
  sep(j, key);
  fputs(v ? "true" : "false", j->f);
}

void sprec_json_null(sprec_json *j, const char *key)
{
  sep(j, key);
  fputs("null", j->f);
}

void sprec_json_int_array(sprec_json *j, const char *key, int64_t n, const int64_t *v)
{
  sep(j, key);
  fputc('[', j->f);
  for (int64_t i = 0; i < n; i++) fprintf(j->f, i ? ", %lld" : "%lld", (long long)v[i]);
  fputc(']', j->f);
}

void sprec_json_num_array(sprec_json *j, const char *key, int64_t n, const double *v)
{
  sep(j, key);
  fputc('[', j->f);
  for (int64_t i = 0; i < n; i++) {
    if (i) fputs(", ", j->f);
    put_num(j->f, v[i]);
  }
  fputc(']', j->f);
}
