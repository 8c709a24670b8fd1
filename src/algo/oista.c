/* Placeholder: being written. */
#include "algo.h"

sprec_err sprec_oista(sprec_work *w, sprec_sparse *x)
{
  (void)x;
  (void)w;
  return SPREC_ERROR(SPREC_ERR_ARG, "--algo oista is not available yet");
}
