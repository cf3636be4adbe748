/*
 * mirror.h - pushes the ledger to configured mirrors (config `mirror`),
 * asynchronously and fast-forward only.
 *
 * The writer's commit hook calls mirror_notify() after each durable batch;
 * it only records the new sequence number and wakes the mirror thread, so
 * neither the loop nor the writer ever waits for a push.  The thread pushes
 * refs/heads/ledger to each mirror in turn (ledger_push()); notifications
 * that arrive while it pushes coalesce into one more round.  A mirror that
 * fails (unreachable, diverged, a hook's refusal) is logged and counted and
 * retried on the next notification (and at shutdown); it is never
 * forced.
 */
#ifndef CSIRT_MIRROR_H
#define CSIRT_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct clock;
struct mirror;

/* Longest mirror URL or path accepted by mirror_url_check(). */
#define MIRROR_URL_MAX 1024

/* Whether `url` is an acceptable mirror: an absolute path, an
 * ssh://[user@]host[:port]/path URL or an scp-like [user@]host:path, with
 * no password, whitespace, control character or leading '-'.  CSIRT_EINVAL
 * names the problem. */
int mirror_url_check(const char *url);

/* `urls` is a list of `n` mirrors (copied).  `clk` (borrowed; NULL: the
 * system clock) times the lag.  Starts the thread when n > 0. */
int mirror_new(struct mirror **out, const char *ledger_path,
               const char *const *urls, size_t n, const struct clock *clk);
/* Any thread: the ledger moved (a batch, or a checkpoint commit) and
 * holds events up to `seq`. */
void mirror_notify(struct mirror *m, uint64_t seq);
/* Stops the thread after one last round for the mirrors that lag (so a
 * clean shutdown leaves them current).  NULL is a no-op. */
void mirror_free(struct mirror *m);

struct mirror_stats {
	uint64_t pushed_seq; /* events the mirror holds (as last pushed) */
	uint64_t lag_events; /* events it lacks */
	double lag_seconds;  /* since the oldest notification it lacks
	                      * (0: current) */
	uint64_t pushes;     /* successful pushes */
	uint64_t failures;   /* failed pushes */
};
size_t mirror_count(const struct mirror *m);
void mirror_get_stats(struct mirror *m, size_t i, struct mirror_stats *out);
/* Appends the Prometheus text of every mirror's stats to `out`. */
void mirror_metrics_write(struct mirror *m, struct buf *out);

#endif
