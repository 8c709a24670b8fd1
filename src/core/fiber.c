/* Fibers: functions that run on their own stack and hand control back and forth with
 * the code that resumes them (cooperative, one thread, no preemption). The batched
 * solver runs each problem as a fiber so that the algorithms keep their plain loops:
 * a fiber that needs Aᵀr yields, and the driver makes one pass over A for all the
 * fibers waiting. Built on POSIX ucontext; stacks are mapped lazily (only the pages a
 * fiber touches use memory), with a guard page below each.
 *
 * Under AddressSanitizer every switch is announced, as its fiber API requires, and
 * swapcontext (which ASan intercepts, with a warning on stderr) is spelled as the
 * getcontext/setcontext pair it stands for. */
#include "impl.h"

#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SPREC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPREC_ASAN 1
#endif
#endif
#ifdef SPREC_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define UNPOISON(p, n) __asan_unpoison_memory_region(p, n)
#define START_SWITCH(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define FINISH_SWITCH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define START_SWITCH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define FINISH_SWITCH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

struct sprec_fiber_s {
  ucontext_t self, caller;
  void *map;           /* guard page + stack                          */
  size_t map_size, page;
  void (*fn)(void *);
  void *arg;
  int done;
  const void *caller_bottom; /* the resumer's stack (for the sanitizer) */
  size_t caller_size;
  void *fake_stack;
};

/* Save the current context in from, continue in to; returns when from is resumed. */
static void switch_context(ucontext_t *from, ucontext_t *to)
{
#ifdef SPREC_ASAN
  volatile int back = 0;
  getcontext(from);
  if (!back) {
    back = 1;
    setcontext(to);
  }
#else
  swapcontext(from, to);
#endif
}

static void trampoline(unsigned hi, unsigned lo)
{
  sprec_fiber *f = (sprec_fiber *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
  FINISH_SWITCH(NULL, &f->caller_bottom, &f->caller_size);
  f->fn(f->arg);
  f->done = 1;
  START_SWITCH(NULL, f->caller_bottom, f->caller_size); /* this stack is finished */
  setcontext(&f->caller);
}

sprec_err sprec_fiber_create(void (*fn)(void *), void *arg, size_t stack_size, sprec_fiber **out)
{
  sprec_fiber *f;
  *out = NULL;
  SPREC_ALLOC(f, 1);
  f->page = (size_t)sysconf(_SC_PAGESIZE);
  f->map_size = (stack_size + 2 * f->page - 1) / f->page * f->page;
  f->map = mmap(NULL, f->map_size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (f->map == MAP_FAILED) {
    free(f);
    return SPREC_ERROR(SPREC_ERR_MEM, "cannot map a %zu-byte fiber stack", stack_size);
  }
  mprotect(f->map, f->page, PROT_NONE); /* the stack grows down into the guard page */
  f->fn = fn;
  f->arg = arg;
  if (getcontext(&f->self) != 0) {
    munmap(f->map, f->map_size);
    free(f);
    return SPREC_ERROR(SPREC_ERR_MEM, "getcontext failed");
  }
  f->self.uc_stack.ss_sp = (char *)f->map + f->page;
  f->self.uc_stack.ss_size = f->map_size - f->page;
  f->self.uc_link = NULL;
  uintptr_t p = (uintptr_t)f;
  makecontext(&f->self, (void (*)(void))trampoline, 2, (unsigned)(p >> 16 >> 16),
              (unsigned)(p & 0xffffffffu));
  *out = f;
  return SPREC_OK;
}

void sprec_fiber_resume(sprec_fiber *f)
{
  void *save = NULL;
  START_SWITCH(&save, f->self.uc_stack.ss_sp, f->self.uc_stack.ss_size);
  switch_context(&f->caller, &f->self);
  FINISH_SWITCH(save, NULL, NULL);
}

void sprec_fiber_yield(sprec_fiber *f)
{
  START_SWITCH(&f->fake_stack, f->caller_bottom, f->caller_size);
  switch_context(&f->self, &f->caller);
  FINISH_SWITCH(f->fake_stack, &f->caller_bottom, &f->caller_size);
}

int sprec_fiber_done(const sprec_fiber *f) { return f->done; }

void sprec_fiber_destroy(sprec_fiber **f)
{
  if (!f || !*f) return;
  /* A fiber destroyed before it finished (a batch stopped by a signal) leaves the
   * sanitizer's red zones of its suspended frames on its stack; a stack mapped later
   * at the same address would inherit them (false reports of overflows). */
  UNPOISON((char *)(*f)->map + (*f)->page, (*f)->map_size - (*f)->page);
  munmap((*f)->map, (*f)->map_size);
  free(*f);
  *f = NULL;
}
