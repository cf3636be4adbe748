/*
 * offload.h - one thread for the blocking storage work the event loop
 * must not wait on (keystore writes: each is a SQLite transaction with an
 * fsync, and a key's destruction checkpoints the WAL).
 *
 * A job's `work` runs on the offload thread, in submission order; its
 * `done` then runs on the loop thread (server_post()).  Before
 * offload_start() and after offload_stop(), offload_run() runs both at
 * once on the calling thread, so a job is never lost.
 */
#ifndef CSIRT_OFFLOAD_H
#define CSIRT_OFFLOAD_H

struct offload;
struct server;

struct offload *offload_new(void);
/* Starts the thread; completions are posted to `srv`.  0 or CSIRT_EFAIL. */
int offload_start(struct offload *o, struct server *srv);
/* `done` may be NULL. */
void offload_run(struct offload *o, void (*work)(void *arg),
                 void (*done)(void *arg), void *arg);
/* Runs what is queued, posts its completions and joins the thread. */
void offload_stop(struct offload *o);
void offload_free(struct offload *o);
/* Jobs queued or running, for /metrics. */
unsigned offload_pending(struct offload *o);

#endif
