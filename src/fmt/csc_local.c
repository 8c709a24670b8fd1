/* The sparse readers' result (fmt.h: sprec_csc_local), released in one place whichever
 * reader made it. */
#include "fmt.h"

void sprec_csc_local_free(sprec_csc_local *a)
{
  free(a->colptr);
  free(a->row);
  free(a->val);
  a->colptr = a->row = NULL;
  a->val = NULL;
}
