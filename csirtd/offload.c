/*
 * offload.c - the storage thread behind offload.h.  A plain FIFO under a
 * mutex: the jobs are few (sealed notes, evidence commits, tokens, key
 * destruction) and each is dominated by its fsync, so one thread keeps
 * them in order without contention worth a lock-free queue.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "error.h"
#include "offload.h"
#include "server.h"
#include "util.h"

struct job {
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
	struct job *next;
};

struct offload {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	unsigned pending;
	bool running, stopping;
	pthread_t thread;
	struct server *srv;
};

struct offload *
offload_new(void)
{
	struct offload *o = util_xcalloc(1, sizeof(*o));

	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	return o;
}

static void *
offload_main(void *arg)
{
	struct offload *o = arg;

	util_thread_name("storage");
	pthread_mutex_lock(&o->mu);
	for (;;) {
		struct job *j;

		while (o->head == NULL && !o->stopping)
			pthread_cond_wait(&o->cv, &o->mu);
		if (o->head == NULL)
			break; /* stopping, and nothing left */
		j = o->head;
		o->head = j->next;
		if (o->head == NULL)
			o->tail = NULL;
		pthread_mutex_unlock(&o->mu);
		j->work(j->arg);
		if (j->done != NULL)
			server_post(o->srv, j->done, j->arg);
		free(j);
		pthread_mutex_lock(&o->mu);
		o->pending--;
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

int
offload_start(struct offload *o, struct server *srv)
{
	int err;

	o->srv = srv;
	o->stopping = false;
	if ((err = pthread_create(&o->thread, NULL, offload_main, o)) != 0)
		return csirt_error_set(
		    CSIRT_EFAIL, "cannot start the storage thread: error %d",
		    err);
	o->running = true;
	return 0;
}

void
offload_run(struct offload *o, void (*work)(void *arg), void (*done)(void *arg),
            void *arg)
{
	struct job *j;

	pthread_mutex_lock(&o->mu);
	if (!o->running || o->stopping) {
		pthread_mutex_unlock(&o->mu);
		work(arg);
		if (done != NULL)
			done(arg);
		return;
	}
	j = util_xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	if (o->tail != NULL)
		o->tail->next = j;
	else
		o->head = j;
	o->tail = j;
	o->pending++;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

void
offload_stop(struct offload *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	if (!o->running) {
		pthread_mutex_unlock(&o->mu);
		return;
	}
	o->stopping = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	pthread_join(o->thread, NULL);
	pthread_mutex_lock(&o->mu);
	o->running = false;
	pthread_mutex_unlock(&o->mu);
}

unsigned
offload_pending(struct offload *o)
{
	unsigned n;

	pthread_mutex_lock(&o->mu);
	n = o->pending;
	pthread_mutex_unlock(&o->mu);
	return n;
}

void
offload_free(struct offload *o)
{
	if (o == NULL)
		return;
	offload_stop(o);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
