/*
 * commitq.h - the writer's ledger commits, on a thread of their own.
 *
 * The writer thread validates a command, folds its case, renders its files
 * and applies it to the index; building the signed commit from those
 * files (blob hashes and deflate, the changed trees, the SSH signature)
 * is as much work again and needs nothing back but the commit id.  So the
 * writer queues each commit here and goes on with the next command while
 * this thread builds it, in order, on the ledger's open batch; at the end
 * of the batch the writer drains the queue, learns the commit ids, and
 * only then makes the batch durable (csirt-bench note: see DESIGN.md §2).
 *
 * Ownership: the ledger is this thread's between a commit being queued and
 * the next commitq_drain() or commitq_discard(); the caller must not touch
 * it in between.  Without commitq_start() every commit runs at once on the
 * caller's thread (writer_run_once(), tests): the same code either way.
 */
#ifndef CSIRT_COMMITQ_H
#define CSIRT_COMMITQ_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "util.h"

struct commitq;

void commitq_new(struct commitq **out, struct ledger *lg);
/* Starts the thread. */
int commitq_start(struct commitq *q);
/* Waits for the queue to empty, stops the thread and frees. */
void commitq_free(struct commitq *q);

/*
 * Queues one commit of `files` by `author` at `time_ms` with `message`.
 * The files' paths and contents must stay valid until the drain: either
 * the caller keeps them, or they point into bufs listed in `own` (at most
 * COMMITQ_OWN), which move into the queue (each is reset to BUF_INIT).
 * `message` moves likewise.  `tag` and `origin` are the caller's: the drain
 * hands back `tag` with the commit id, and names `origin` on failure.  When
 * `out` is not NULL the drain copies the commit id there.
 */
#define COMMITQ_OWN 8
void commitq_commit(struct commitq *q, const char *author, int64_t time_ms,
                    struct buf *message, const struct ledger_file *files,
                    size_t nfiles, struct buf *const *own, size_t nown,
                    uint64_t tag, size_t origin, char *out);

/* Called by the drain for each commit, in order. */
typedef int (*commitq_done_fn)(void *arg, uint64_t tag,
                               const char commit[LEDGER_OID_HEX]);

/*
 * Calls `fn` (may be NULL) for each queued commit in order and copies the
 * ids out: for those already run at once, then, once the thread has run
 * the rest, for them.  Returns 0, or the first
 * failure: a commit's (with its error message, and its `origin` in
 * *failed when not NULL; later commits did not run) or `fn`'s (*failed
 * SIZE_MAX).  Either way the queue is empty afterwards.
 */
int commitq_drain(struct commitq *q, commitq_done_fn fn, void *arg,
                  size_t *failed);

/* Waits for what runs, drops the rest unrun and unreported.  For a batch
 * being aborted. */
void commitq_discard(struct commitq *q);

#endif
