/*
 * pipeline.h - an ordered parallel map for the read-only passes over the
 * whole ledger (csirt-audit verify, `csirtd rebuild`).
 *
 * Items 0..n-1 are worked on by worker threads, out of order, each with
 * its own per-thread state (a repository handle), and taken by one
 * consumer strictly in order.  At most `window` items are in flight, so
 * memory stays bounded whatever n is.  Libc and pthreads only.
 */
#ifndef CSIRT_PIPELINE_H
#define CSIRT_PIPELINE_H

#include <stddef.h>

struct pipeline;

struct pipeline_ops {
	/* Per-worker state, made on the worker's thread; may be NULL. */
	void *(*thread_init)(void *arg);
	void (*thread_fini)(void *state, void *arg);
	/* The result for item i; never NULL (errors travel in it). */
	void *(*work)(size_t i, void *state, void *arg);
	/* Frees a result that pipeline_stop() finds untaken. */
	void (*discard)(void *result, void *arg);
};

/* Starts `nthreads` (at least 1) workers over `n` items.  A worker claims
 * `batch` consecutive items at a time (what it read for one stays in its
 * caches for the next). */
void pipeline_start(struct pipeline **out, size_t n, size_t nthreads,
                    size_t window, size_t batch, const struct pipeline_ops *ops,
                    void *arg);

/* Waits for and returns item i's result, which the caller then owns.  i
 * must be the next item in order (0, 1, 2, ...). */
void *pipeline_take(struct pipeline *p, size_t i);

/* Stops the workers early or at the end, joins them and discards what was
 * not taken.  NULL is a no-op. */
void pipeline_stop(struct pipeline *p);

/* Workers for a pass: the online CPUs, at least 1, at most `max`. */
size_t pipeline_threads(size_t max);

#endif
