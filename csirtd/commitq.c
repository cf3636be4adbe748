/*
 * commitq.c - the writer's ledger commits, on a thread of their own.
 *
 * One producer (the writer thread), one consumer (this module's thread):
 * jobs go from `todo` to `done` in order under one mutex, and each side
 * signals the other only when it sleeps.  A failed commit stops the
 * thread from running the rest of the batch (they would build on a
 * commit that does not exist); the drain reports the first failure.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commitq.h"
#include "error.h"
#include "util.h"

struct job {
	struct ledger_file files[4];
	size_t nfiles;
	struct buf own[COMMITQ_OWN];
	size_t nown;
	struct buf author, message;
	int64_t time_ms;
	uint64_t tag;
	size_t origin;
	char *out;

	bool ran; /* not after an earlier failure */
	int rc;
	char err[256];
	char commit[LEDGER_OID_HEX];
	struct job *next;
};

struct commitq {
	struct ledger *lg;
	pthread_mutex_t mu;
	pthread_cond_t work; /* the thread waits for jobs */
	pthread_cond_t idle; /* the drain waits for the thread */
	struct job *todo, *todo_tail;
	struct job *done, *done_tail;
	bool running;  /* the thread holds a job */
	bool sleeping; /* the thread waits on `work` */
	bool draining; /* the caller waits on `idle` */
	bool failed;   /* a job of this batch failed: run no more */
	bool stop, started;
	pthread_t thread;
};

void
commitq_new(struct commitq **out, struct ledger *lg)
{
	struct commitq *q = util_xcalloc(1, sizeof(*q));

	q->lg = lg;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->idle, NULL);
	*out = q;
}

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->nown; i++)
		buf_free(&j->own[i]);
	buf_free(&j->author);
	buf_free(&j->message);
	free(j);
}

static void
job_run(struct commitq *q, struct job *j)
{
	struct ledger_commit_info info = {j->author.data, j->time_ms,
	                                  j->message.data};

	j->ran = true;
	j->rc = ledger_commit(q->lg, &info, j->files, j->nfiles, j->commit);
	if (j->rc != 0)
		snprintf(j->err, sizeof(j->err), "%s", csirt_error_msg());
}

/* Appends `j` to the list (`head`, `tail`): the to-do or the done one;
 * the caller holds the lock. */
static void
job_push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail != NULL)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *
commitq_main(void *arg)
{
	struct commitq *q = arg;

	util_thread_name("commit");
	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct job *j = q->todo;

		if (j == NULL) {
			if (q->draining)
				pthread_cond_signal(&q->idle);
			if (q->stop)
				break;
			q->sleeping = true;
			pthread_cond_wait(&q->work, &q->mu);
			q->sleeping = false;
			continue;
		}
		q->todo = j->next;
		if (q->todo == NULL)
			q->todo_tail = NULL;
		if (!q->failed) {
			q->running = true;
			pthread_mutex_unlock(&q->mu);
			job_run(q, j);
			pthread_mutex_lock(&q->mu);
			q->running = false;
			if (j->rc != 0)
				q->failed = true;
		}
		job_push(&q->done, &q->done_tail, j);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
commitq_start(struct commitq *q)
{
	if (pthread_create(&q->thread, NULL, commitq_main, q) != 0)
		return csirt_error_set(CSIRT_EFAIL,
		                       "cannot start the ledger commit thread");
	q->started = true;
	return 0;
}

void
commitq_commit(struct commitq *q, const char *author, int64_t time_ms,
               struct buf *message, const struct ledger_file *files,
               size_t nfiles, struct buf *const *own, size_t nown, uint64_t tag,
               size_t origin, char *out)
{
	struct job *j = util_xcalloc(1, sizeof(*j));

	/* Callers pass at most 4 files and COMMITQ_OWN bufs (writer.c). */
	if (nfiles > UTIL_ARRAY_LEN(j->files))
		nfiles = UTIL_ARRAY_LEN(j->files);
	if (nown > COMMITQ_OWN)
		nown = COMMITQ_OWN;
	memcpy(j->files, files, nfiles * sizeof(files[0]));
	j->nfiles = nfiles;
	for (size_t i = 0; i < nown; i++) {
		j->own[i] = *own[i];
		*own[i] = (struct buf)BUF_INIT;
	}
	j->nown = nown;
	buf_puts(&j->author, author);
	j->message = *message;
	*message = (struct buf)BUF_INIT;
	j->time_ms = time_ms;
	j->tag = tag;
	j->origin = origin;
	j->out = out;

	if (!q->started) {
		if (!q->failed) {
			job_run(q, j);
			q->failed = j->rc != 0;
		}
		job_push(&q->done, &q->done_tail, j);
		return;
	}
	pthread_mutex_lock(&q->mu);
	job_push(&q->todo, &q->todo_tail, j);
	if (q->sleeping)
		pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
}

/* Takes the done list; with `wait`, once the thread has nothing left
 * (and the batch's failure flag is then cleared). */
static struct job *
take_done(struct commitq *q, bool wait)
{
	struct job *list;

	pthread_mutex_lock(&q->mu);
	if (wait && q->started) {
		q->draining = true;
		while (q->todo != NULL || q->running)
			pthread_cond_wait(&q->idle, &q->mu);
		q->draining = false;
	}
	list = q->done;
	q->done = q->done_tail = NULL;
	if (wait)
		q->failed = false;
	pthread_mutex_unlock(&q->mu);
	return list;
}

/* Reports the jobs of `j` in order (see commitq_drain()), from `*rc` on,
 * and frees them. */
static void
report(struct job *j, commitq_done_fn fn, void *arg, size_t *failed, int *rc)
{
	while (j != NULL) {
		struct job *next = j->next;

		if (*rc == 0 && (!j->ran || j->rc != 0)) {
			/* The first failure runs before any commit not run. */
			*rc = j->ran ? csirt_error_set(j->rc, "%s", j->err)
			             : csirt_error_set(CSIRT_EFAIL,
			                               "ledger commit not run");
			if (failed != NULL)
				*failed = j->origin;
		} else if (*rc == 0) {
			if (j->out != NULL)
				memcpy(j->out, j->commit, LEDGER_OID_HEX);
			if (fn != NULL &&
			    (*rc = fn(arg, j->tag, j->commit)) != 0 &&
			    failed != NULL)
				*failed = SIZE_MAX;
		}
		job_free(j);
		j = next;
	}
}

/* The jobs already done are reported before the wait for the rest: the
 * caller's work on them (the writer's index rows) overlaps the thread's
 * last commits instead of following them. */
int
commitq_drain(struct commitq *q, commitq_done_fn fn, void *arg, size_t *failed)
{
	int rc = 0;

	if (failed != NULL)
		*failed = SIZE_MAX;
	report(take_done(q, false), fn, arg, failed, &rc);
	report(take_done(q, true), fn, arg, failed, &rc);
	return rc;
}

void
commitq_discard(struct commitq *q)
{
	struct job *j = take_done(q, true);

	while (j != NULL) {
		struct job *next = j->next;
		job_free(j);
		j = next;
	}
}

void
commitq_free(struct commitq *q)
{
	if (q == NULL)
		return;
	if (q->started) {
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->thread, NULL);
		q->started = false;
	}
	commitq_discard(q);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->idle);
	free(q);
}
