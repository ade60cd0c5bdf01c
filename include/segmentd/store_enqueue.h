/* The transactional outbox's writing side: webhook deliveries are inserted by the same pipeline
 * that records the transitions that trigger them (SPEC §3), so a committed transition always has
 * its deliveries and a rolled-back one never has.
 *
 * The dispatcher of this process wants to hear at once when rows were enqueued; other processes
 * learn it from a NOTIFY (scheduler batches) or from polling. */
#ifndef SEGMENTD_STORE_ENQUEUE_H
#define SEGMENTD_STORE_ENQUEUE_H

#include "segmentd/db.h"

/* The LISTEN/NOTIFY channel that hints "deliveries are due" (polling stays the truth). */
#define SD_OUTBOX_CHANNEL "segmentd_outbox"

/* Called (from any thread, after the statement that enqueued rows has run — possibly before its
 * transaction commits, so the callee must only wake, never read) whenever deliveries were
 * enqueued. Set once at start-up, before any thread runs; NULL unsets. */
typedef void (*sd_enqueue_hook)(void *ctx);
void sd_store_set_enqueue_hook(sd_enqueue_hook fn, void *ctx);
/* Invokes the hook if one is set. */
void sd_store_enqueued(void);

#endif
