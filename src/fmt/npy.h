/* Internal: the .npy header parser on a file held in memory (the fuzzing harness and
 * the tests call it; sprec_npy_inspect runs the same checks on a file on disk). */
#ifndef SPREC_NPY_H
#define SPREC_NPY_H

#include "../core/impl.h"

/* file[0..size) is the whole file: checks the magic, version, header length, the
 * header dict, and that the file holds exactly the data the header announces, with
 * the messages of sprec_npy_inspect (path names the file in them). Fills info as
 * sprec_npy_inspect does. Not collective. */
sprec_err sprec_npy_parse(const char *path, const void *file, size_t size, sprec_npy_info *info);

#endif
