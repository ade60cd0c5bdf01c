/* The enqueue hook (store_enqueue.h): how the code that writes outbox rows wakes this process's
 * dispatcher. One function pointer and its context, set at start-up and cleared at shutdown;
 * both are atomics so that a call racing with the set is still well defined. */
#include <stdatomic.h>
#include <stddef.h>

#include "segmentd/store_enqueue.h"

static _Atomic(sd_enqueue_hook) hook_fn;
static _Atomic(void *) hook_ctx;

void sd_store_set_enqueue_hook(sd_enqueue_hook fn, void *ctx)
{
    /* The context is published before the function that reads it; unsetting leaves the old
     * context in place, so a caller that loaded the old function still passes its own context. */
    if (fn == NULL) {
        atomic_store_explicit(&hook_fn, NULL, memory_order_release);
        return;
    }
    atomic_store_explicit(&hook_ctx, ctx, memory_order_release);
    atomic_store_explicit(&hook_fn, fn, memory_order_release);
}

void sd_store_enqueued(void)
{
    sd_enqueue_hook fn = atomic_load_explicit(&hook_fn, memory_order_acquire);
    if (fn != NULL)
        fn(atomic_load_explicit(&hook_ctx, memory_order_acquire));
}
