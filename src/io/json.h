/* A small streaming JSON writer (objects, arrays, numbers, strings). */
#ifndef SPREC_JSON_H
#define SPREC_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
  FILE *f;
  int depth;
  int first[32];
} sprec_json;

void sprec_json_begin(sprec_json *j, FILE *f);              /* { */
void sprec_json_end(sprec_json *j);                         /* } and newline at top */
void sprec_json_object(sprec_json *j, const char *key);     /* "key": { */
void sprec_json_close(sprec_json *j);                       /* } */
void sprec_json_array(sprec_json *j, const char *key);      /* "key": [ (elements: key NULL) */
void sprec_json_array_close(sprec_json *j);                 /* ] */
void sprec_json_str(sprec_json *j, const char *key, const char *v);
void sprec_json_num(sprec_json *j, const char *key, double v); /* null if not finite */
void sprec_json_int(sprec_json *j, const char *key, int64_t v);
void sprec_json_bool(sprec_json *j, const char *key, int v);
void sprec_json_null(sprec_json *j, const char *key);
void sprec_json_int_array(sprec_json *j, const char *key, int64_t n, const int64_t *v);
void sprec_json_num_array(sprec_json *j, const char *key, int64_t n, const double *v);

#endif
