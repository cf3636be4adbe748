/*
 * mirror.c - the mirror thread (see mirror.h).
 *
 * Owns one thread and the per-mirror counters.  It must never block the
 * caller of mirror_notify() (the writer thread), never force a push, and
 * never log a secret: mirror URLs are checked to carry no password, and
 * are logged by their position in the configuration, as in the metrics.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "ledger.h"
#include "log.h"
#include "mirror.h"

struct mirror_one {
	char *url;
	uint64_t pushed_seq;
	uint64_t pushed_gen;     /* the notification it is current with */
	int64_t behind_since_ms; /* when it first lacked an event; 0 none */
	uint64_t pushes, failures;
};

struct mirror {
	char *ledger_path;
	const struct clock *clock;
	struct mirror_one *m;
	size_t n;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t target_seq; /* newest notified */
	uint64_t gen;        /* notifications so far: a checkpoint commit
	                      * adds a commit without a new Seq */
	bool stopping, started;
	pthread_t thread;
};

int
mirror_url_check(const char *url)
{
	const char *host, *at, *colon, *slash;
	size_t len = strlen(url);

	if (len == 0 || len > MIRROR_URL_MAX)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "mirror: give a path or an ssh URL of at "
		    "most %d bytes",
		    MIRROR_URL_MAX);
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return csirt_error_set(
			    CSIRT_EINVAL, "mirror: no whitespace or control "
			                  "characters");
	if (url[0] == '-')
		return csirt_error_set(CSIRT_EINVAL,
		                       "mirror: must not start with '-'");
	if (url[0] == '/')
		return 0;
	if (strncmp(url, "ssh://", 6) == 0) {
		host = url + 6;
		slash = strchr(host, '/');
		at = strchr(host, '@');
		if (slash == NULL || slash == host || slash[1] == '\0')
			return csirt_error_set(
			    CSIRT_EINVAL, "mirror: ssh://[user@]host[:port]/"
			                  "path");
		if (at != NULL && at < slash &&
		    memchr(host, ':', (size_t)(at - host)) != NULL)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "mirror: no password in the URL (use ssh-agent)");
		return 0;
	}
	if (strstr(url, "://") != NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "mirror: only a local path or ssh is "
		                       "supported");
	/* scp-like: [user@]host:path, the host without '/'. */
	colon = strchr(url, ':');
	slash = strchr(url, '/');
	if (colon == NULL || colon == url || colon[1] == '\0' ||
	    (slash != NULL && slash < colon) || url[0] == '@')
		return csirt_error_set(CSIRT_EINVAL,
		                       "mirror: an absolute path, "
		                       "ssh://host/path or host:path");
	return 0;
}

static void
mirror_push_all(struct mirror *mr, uint64_t seq, uint64_t gen)
{
	for (size_t i = 0; i < mr->n; i++) {
		struct mirror_one *o = &mr->m[i];
		char commit[LEDGER_OID_HEX], idx[24], n[24];
		int rc;

		if (o->pushed_gen >= gen)
			continue;
		rc = ledger_push(mr->ledger_path, o->url, commit);
		snprintf(idx, sizeof(idx), "%zu", i);
		snprintf(n, sizeof(n), "%" PRIu64, seq);
		pthread_mutex_lock(&mr->mu);
		if (rc == 0) {
			o->pushed_seq = seq;
			o->pushed_gen = gen;
			o->pushes++;
			if (mr->gen <= gen)
				o->behind_since_ms = 0;
		} else {
			o->failures++;
		}
		pthread_mutex_unlock(&mr->mu);
		if (rc == 0)
			log_debug("mirror pushed", "mirror", idx, "seq", n,
			          "commit", commit);
		else
			log_error("mirror push failed", "mirror", idx, "seq", n,
			          "error", csirt_error_msg());
	}
}

static void *
mirror_main(void *arg)
{
	struct mirror *mr = arg;

	util_thread_name("mirror");
	pthread_mutex_lock(&mr->mu);
	for (;;) {
		uint64_t seq = mr->target_seq, gen = mr->gen;
		bool behind = false;
		for (size_t i = 0; i < mr->n; i++)
			behind = behind || mr->m[i].pushed_gen < gen;
		if (mr->stopping) {
			/* One last round, so that a clean stop leaves the
			 * mirrors current. */
			pthread_mutex_unlock(&mr->mu);
			if (behind)
				mirror_push_all(mr, seq, gen);
			pthread_mutex_lock(&mr->mu);
			break;
		}
		if (!behind) {
			pthread_cond_wait(&mr->cv, &mr->mu);
			continue;
		}
		pthread_mutex_unlock(&mr->mu);
		mirror_push_all(mr, seq, gen);
		pthread_mutex_lock(&mr->mu);
		/* Failed mirrors wait for the next notification. */
		if (mr->gen == gen && !mr->stopping)
			pthread_cond_wait(&mr->cv, &mr->mu);
	}
	pthread_mutex_unlock(&mr->mu);
	return NULL;
}

int
mirror_new(struct mirror **out, const char *ledger_path,
           const char *const *urls, size_t n, const struct clock *clk)
{
	struct mirror *mr = util_xcalloc(1, sizeof(*mr));
	int rc;

	*out = NULL;
	mr->ledger_path = util_strdup(ledger_path);
	mr->clock = clk;
	mr->n = n;
	mr->m = util_xcalloc(n ? n : 1, sizeof(*mr->m));
	pthread_mutex_init(&mr->mu, NULL);
	pthread_cond_init(&mr->cv, NULL);
	for (size_t i = 0; i < n; i++) {
		if ((rc = mirror_url_check(urls[i])) != 0) {
			mirror_free(mr);
			return rc;
		}
		mr->m[i].url = util_strdup(urls[i]);
	}
	if (n > 0) {
		if (pthread_create(&mr->thread, NULL, mirror_main, mr) != 0) {
			mirror_free(mr);
			return csirt_error_set(
			    CSIRT_EFAIL, "cannot start the mirror thread");
		}
		mr->started = true;
	}
	*out = mr;
	return 0;
}

void
mirror_notify(struct mirror *mr, uint64_t seq)
{
	int64_t now;

	if (mr == NULL || mr->n == 0)
		return;
	now = clock_now_ms(mr->clock);
	pthread_mutex_lock(&mr->mu);
	if (seq > mr->target_seq)
		mr->target_seq = seq;
	mr->gen++;
	for (size_t i = 0; i < mr->n; i++)
		if (mr->m[i].behind_since_ms == 0)
			mr->m[i].behind_since_ms = now;
	pthread_cond_signal(&mr->cv);
	pthread_mutex_unlock(&mr->mu);
}

void
mirror_free(struct mirror *mr)
{
	if (mr == NULL)
		return;
	if (mr->started) {
		pthread_mutex_lock(&mr->mu);
		mr->stopping = true;
		pthread_cond_broadcast(&mr->cv);
		pthread_mutex_unlock(&mr->mu);
		pthread_join(mr->thread, NULL);
	}
	pthread_mutex_destroy(&mr->mu);
	pthread_cond_destroy(&mr->cv);
	for (size_t i = 0; i < mr->n; i++)
		free(mr->m[i].url);
	free(mr->m);
	free(mr->ledger_path);
	free(mr);
}

size_t
mirror_count(const struct mirror *mr)
{
	return mr == NULL ? 0 : mr->n;
}

void
mirror_get_stats(struct mirror *mr, size_t i, struct mirror_stats *out)
{
	int64_t now = clock_now_ms(mr->clock);

	pthread_mutex_lock(&mr->mu);
	out->pushed_seq = mr->m[i].pushed_seq;
	out->lag_events = mr->target_seq > mr->m[i].pushed_seq
	                      ? mr->target_seq - mr->m[i].pushed_seq
	                      : 0;
	out->lag_seconds =
	    mr->m[i].behind_since_ms != 0 && mr->m[i].pushed_gen < mr->gen
	        ? (double)(now - mr->m[i].behind_since_ms) / 1000.0
	        : 0.0;
	out->pushes = mr->m[i].pushes;
	out->failures = mr->m[i].failures;
	pthread_mutex_unlock(&mr->mu);
}

void
mirror_metrics_write(struct mirror *mr, struct buf *out)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
	    {"csirt_mirror_lag_events", "gauge",
	     "Events the mirror lacks, by mirror (its position in the "
	     "configuration)."},
	    {"csirt_mirror_lag_seconds", "gauge",
	     "Age of the oldest event the mirror lacks."},
	    {"csirt_mirror_pushes_total", "counter", "Successful pushes."},
	    {"csirt_mirror_failures_total", "counter",
	     "Failed pushes (unreachable, diverged, refused)."},
	};

	if (mirror_count(mr) == 0)
		return;
	for (size_t k = 0; k < UTIL_ARRAY_LEN(m); k++) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m[k].name,
		           m[k].help, m[k].name, m[k].type);
		for (size_t i = 0; i < mr->n; i++) {
			struct mirror_stats st;
			mirror_get_stats(mr, i, &st);
			if (k == 1)
				buf_printf(out, "%s{mirror=\"%zu\"} %.3f\n",
				           m[k].name, i, st.lag_seconds);
			else
				buf_printf(out,
				           "%s{mirror=\"%zu\"} %" PRIu64 "\n",
				           m[k].name, i,
				           k == 0   ? st.lag_events
				           : k == 2 ? st.pushes
				                    : st.failures);
		}
	}
}
