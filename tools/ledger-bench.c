/*
 * ledger-bench - durable append throughput of the ledger writer.
 *
 * N submitter threads each submit note events (a 200-byte 機密性低 note)
 * one at a time and wait for the durable acknowledgement, as RPC handlers
 * will.  Prints events/s, latency percentiles, batch sizes and fsyncs per
 * event.  fsync/fdatasync are counted by interposition: this executable
 * defines them, and calls from libgit2 and SQLite resolve here first.
 *
 *   ledger-bench [--submitters N] [--events N] [--batch N] [--json]
 *
 * With --audit it measures the auditor instead: it builds a ledger of
 * --events events quickly (the writer fed in bulk, no ack waits; cases of
 * a report, three steps and notes; a checkpoint every 1000 events), times
 * the rebuild of the checkpoint tree a restart performs, then runs
 * `csirt-audit verify` on it --runs times and `csirtd rebuild` of its index
 * --runs times, and prints the medians.
 *
 *   ledger-bench --audit [--events N] [--runs N] [--audit-bin PATH]
 *                        [--keep DIR | --reuse DIR]
 *
 * --keep DIR builds the data directory at DIR (which must not exist) and
 * leaves it there; --reuse DIR opens one kept before, tops it up to
 * --events through the same writer and leaves it too, so a large ledger
 * is built once and verified (or rebuilt) many times.  --runs 0 only
 * builds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "datadir.h"
#include "error.h"
#include "util.h"
#include "writer.h"

static atomic_ulong fsyncs;

int fsync(int fd);
int fdatasync(int fd);

int
fsync(int fd)
{
	atomic_fetch_add(&fsyncs, 1);
	return (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
	atomic_fetch_add(&fsyncs, 1);
	return (int)syscall(SYS_fdatasync, fd);
}

#define CASES_PER_SUBMITTER 16

struct submitter {
	pthread_t thread;
	struct writer *w;
	pthread_barrier_t *ready;
	char case_id[CASES_PER_SUBMITTER][16];
	size_t count;
	double *lat_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int errors;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static Csirt__V1__Event *
event_new(const char *actor, Csirt__V1__Role role)
{
	Csirt__V1__Event *ev = util_xcalloc(1, sizeof(*ev));

	csirt__v1__event__init(ev);
	codec_set_string(&ev->actor, actor);
	ev->role = role;
	return ev;
}

static Csirt__V1__Classification *
low(void)
{
	Csirt__V1__Classification *cl = util_xcalloc(1, sizeof(*cl));

	csirt__v1__classification__init(cl);
	cl->confidentiality = CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	cl->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	cl->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	return cl;
}

static void
done_cb(struct writer_cmd *cmd, void *arg)
{
	struct submitter *s = arg;

	(void)cmd;
	pthread_mutex_lock(&s->mu);
	s->done = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Submits one command and waits for its durable completion. */
static int
submit_wait(struct submitter *s, Csirt__V1__Event *ev, const char *note,
            char *case_id_out)
{
	struct writer_cmd cmd;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.ev = ev;
	cmd.note_text = note;
	cmd.done = done_cb;
	cmd.arg = s;
	s->done = false;
	while ((rc = writer_submit(s->w, &cmd)) == CSIRT_EBUSY)
		usleep(100);
	if (rc != 0) {
		writer_cmd_release(&cmd);
		return rc;
	}
	pthread_mutex_lock(&s->mu);
	while (!s->done)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	rc = cmd.rc;
	if (rc != 0 && s->errors++ == 0)
		fprintf(stderr, "ledger-bench: first error: %s\n", cmd.err);
	if (case_id_out != NULL && rc == 0)
		snprintf(case_id_out, 16, "%s", cmd.ev->case_id);
	writer_cmd_release(&cmd);
	return rc;
}

static const char note_body[] =
    "聴取記録: 対象職員は当日18時頃に端末を持ち出し、帰宅途中の電車内に"
    "置き忘れたと説明。遺失届は提出済み。";

static int seed_cases(struct submitter *s);

/* A note.added by the investigator; the text travels in the command. */
static Csirt__V1__Event *
note_event(const char *case_id)
{
	Csirt__V1__Event *ev =
	    event_new("inv", CSIRT__V1__ROLE__ROLE_INVESTIGATOR);
	Csirt__V1__NoteAdded *n = util_xcalloc(1, sizeof(*n));

	csirt__v1__note_added__init(n);
	n->classification = low();
	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED;
	ev->note_added = n;
	return ev;
}

static void *
submitter_main(void *arg)
{
	struct submitter *s = arg;
	char text[256];

	/* Each submitter reports and advances its own cases, in parallel;
	 * the clock starts when all are ready. */
	if (seed_cases(s) != 0)
		s->errors++;
	pthread_barrier_wait(s->ready);

	/* 200 bytes of note text. */
	snprintf(
	    text, sizeof(text), "%s%s", note_body,
	    "................................................................");
	text[200] = '\0';
	for (size_t i = 0; i < s->count; i++) {
		Csirt__V1__Event *ev =
		    note_event(s->case_id[i % CASES_PER_SUBMITTER]);
		double t0 = now_s();

		(void)submit_wait(s, ev, text, NULL);
		s->lat_ms[i] = (now_s() - t0) * 1000.0;
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The steps that move a new case to INVESTIGATING with "inv" assigned,
 * so notes by the investigator are accepted. */
static const struct {
	Csirt__V1__Event__PayloadCase pc;
	const char *actor;
	Csirt__V1__Role role;
} steps[] = {
    {CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED, "sm",
     CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER},
    {CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED, "lead",
     CSIRT__V1__ROLE__ROLE_CSIRT_LEAD},
    {CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED, "lead",
     CSIRT__V1__ROLE__ROLE_CSIRT_LEAD},
};

static Csirt__V1__Event *
step_event(const char *id, size_t i)
{
	Csirt__V1__Event *ev = event_new(steps[i].actor, steps[i].role);

	codec_set_string(&ev->case_id, id);
	ev->payload_case = steps[i].pc;
	switch (steps[i].pc) {
	case CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED:
		ev->case_escalated =
		    util_xcalloc(1, sizeof(*ev->case_escalated));
		csirt__v1__case_escalated__init(ev->case_escalated);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED:
		ev->investigation_opened =
		    util_xcalloc(1, sizeof(*ev->investigation_opened));
		csirt__v1__investigation_opened__init(ev->investigation_opened);
		break;
	default:
		ev->investigators_assigned =
		    util_xcalloc(1, sizeof(*ev->investigators_assigned));
		csirt__v1__investigators_assigned__init(
		    ev->investigators_assigned);
		ev->investigators_assigned->n_assignees = 1;
		ev->investigators_assigned->assignees =
		    util_xcalloc(1, sizeof(char *));
		ev->investigators_assigned->assignees[0] = util_strdup("inv");
	}
	return ev;
}

static int
advance(struct submitter *s0, const char *id)
{
	int rc;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++)
		if ((rc = submit_wait(s0, step_event(id, i), NULL, NULL)) != 0)
			return rc;
	return 0;
}

static int
seed_directory(struct submitter *s0)
{
	static const struct {
		const char *login;
		Csirt__V1__Role role;
	} users[] = {{"rep1", CSIRT__V1__ROLE__ROLE_REPORTER},
	             {"sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER},
	             {"lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD},
	             {"inv", CSIRT__V1__ROLE__ROLE_INVESTIGATOR}};
	Csirt__V1__Event *ev;
	int rc;

	ev = event_new("admin", CSIRT__V1__ROLE__ROLE_ADMIN);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED;
	ev->division_created = util_xcalloc(1, sizeof(*ev->division_created));
	csirt__v1__division_created__init(ev->division_created);
	ev->division_created->division =
	    util_xcalloc(1, sizeof(Csirt__V1__Division));
	csirt__v1__division__init(ev->division_created->division);
	codec_set_string(&ev->division_created->division->code, "d1");
	codec_set_string(&ev->division_created->division->name, "情報管理課");
	if ((rc = submit_wait(s0, ev, NULL, NULL)) != 0)
		return rc;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(users); i++) {
		ev = event_new("admin", CSIRT__V1__ROLE__ROLE_ADMIN);
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_CREATED;
		ev->user_created = util_xcalloc(1, sizeof(*ev->user_created));
		csirt__v1__user_created__init(ev->user_created);
		Csirt__V1__User *u = util_xcalloc(1, sizeof(*u));
		csirt__v1__user__init(u);
		codec_set_string(&u->login, users[i].login);
		codec_set_string(&u->division,
		                 users[i].role == CSIRT__V1__ROLE__ROLE_REPORTER
		                     ? "d1"
		                     : "");
		u->role = users[i].role;
		ev->user_created->user = u;
		if ((rc = submit_wait(s0, ev, NULL, NULL)) != 0)
			return rc;
	}
	return 0;
}

/* A 機器の紛失事案 report by rep1 of d1. */
static Csirt__V1__Event *
report_event(void)
{
	char recognized[UTIL_TIME_LEN];
	Csirt__V1__Case *c = util_xcalloc(1, sizeof(*c));
	Csirt__V1__Event *ev =
	    event_new("rep1", CSIRT__V1__ROLE__ROLE_REPORTER);

	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
	ev->incident_reported = util_xcalloc(1, sizeof(*ev->incident_reported));
	csirt__v1__incident_reported__init(ev->incident_reported);
	csirt__v1__case__init(c);
	util_time_format_ms(recognized, sizeof(recognized),
	                    util_time_now_ms() - 60000);
	c->category = CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT;
	codec_set_string(&c->title, "機器の紛失事案");
	codec_set_string(&c->description, "ベンチマーク用");
	codec_set_string(&c->recognized_at, recognized);
	codec_set_string(&c->division, "d1");
	codec_set_string(&c->reporter, "rep1");
	c->classification = low();
	ev->incident_reported->case_ = c;
	return ev;
}

static int
seed_cases(struct submitter *s)
{
	int rc;

	for (size_t i = 0; i < CASES_PER_SUBMITTER; i++) {
		if ((rc = submit_wait(s, report_event(), NULL,
		                      s->case_id[i])) != 0 ||
		    (rc = advance(s, s->case_id[i])) != 0)
			return rc;
	}
	return 0;
}

/* ---- --audit ---------------------------------------------------------- */

#define AUDIT_NOTES_PER_CASE 96
#define AUDIT_ROUND 4096 /* commands queued at once */

struct bulk {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t left;
	int errors;
};

static void
bulk_done_cb(struct writer_cmd *cmd, void *arg)
{
	struct bulk *b = arg;

	pthread_mutex_lock(&b->mu);
	if (cmd->rc != 0 && b->errors++ == 0)
		fprintf(stderr, "ledger-bench: first error: %s\n", cmd->err);
	b->left--;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Queues every command of `cmds` (events built, done/arg set here) and
 * waits until all are durable or refused. */
static int
bulk_run(struct writer *w, struct writer_cmd *cmds, size_t n, const char *note)
{
	struct bulk b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, n,
	                 0};
	int rc;

	for (size_t i = 0; i < n; i++) {
		cmds[i].note_text = note;
		cmds[i].done = bulk_done_cb;
		cmds[i].arg = &b;
		while ((rc = writer_submit(w, &cmds[i])) == CSIRT_EBUSY)
			usleep(1000);
		if (rc != 0) {
			fprintf(stderr, "ledger-bench: %s\n",
			        csirt_error_msg());
			exit(1); /* the queued commands point at our stack */
		}
	}
	pthread_mutex_lock(&b.mu);
	while (b.left > 0)
		pthread_cond_wait(&b.cv, &b.mu);
	pthread_mutex_unlock(&b.mu);
	return b.errors;
}

/* Builds about `nevents` events: rounds of up to AUDIT_ROUND new cases,
 * each reported, advanced and given notes, one event per case per
 * step, so that every batch touches many cases. */
static int
audit_build(struct writer *w, size_t nevents)
{
	const size_t per_case =
	    1 + UTIL_ARRAY_LEN(steps) + AUDIT_NOTES_PER_CASE;
	struct writer_cmd *cmds = util_xcalloc(AUDIT_ROUND, sizeof(*cmds));
	char(*ids)[16] = util_xcalloc(AUDIT_ROUND, sizeof(*ids));
	size_t done = writer_last_seq(w);
	int errors = 0;

	while (done < nevents && errors == 0) {
		size_t ncases = (nevents - done + per_case - 1) / per_case;
		if (ncases > AUDIT_ROUND)
			ncases = AUDIT_ROUND;
		for (size_t step = 0; step < per_case && errors == 0; step++) {
			memset(cmds, 0, ncases * sizeof(*cmds));
			for (size_t i = 0; i < ncases; i++)
				cmds[i].ev = step == 0 ? report_event()
				             : step <= UTIL_ARRAY_LEN(steps)
				                 ? step_event(ids[i], step - 1)
				                 : note_event(ids[i]);
			errors += bulk_run(
			    w, cmds, ncases,
			    step > UTIL_ARRAY_LEN(steps) ? note_body : NULL);
			for (size_t i = 0; i < ncases; i++) {
				if (step == 0)
					snprintf(ids[i], sizeof(ids[i]), "%s",
					         cmds[i].ev->case_id);
				writer_cmd_release(&cmds[i]);
			}
			done += ncases;
			if (done / 100000 != (done - ncases) / 100000)
				fprintf(stderr, "ledger-bench: %zu events\n",
				        done);
		}
	}
	free(cmds);
	free(ids);
	return errors;
}

static int
audit_bench(size_t nevents, size_t batch, size_t runs, const char *bin,
            int json, const char *keep, bool reuse)
{
	char dir[] = "/tmp/ledger-bench-XXXXXX", token[CRYPTO_TOKEN_LEN];
	char *data = NULL, *repo = NULL;
	bool fresh = !reuse;
	struct datadir *dd = NULL;
	struct writer *w = NULL;
	double *secs = util_xcalloc(runs + 1, sizeof(double));
	double *rsecs = util_xcalloc(runs + 1, sizeof(double));
	double t0, build_s = 0, tree_s = 0, resume_s = 0;
	char *frontier = NULL;
	uint64_t events = 0;
	int rc = 1;

	if (keep != NULL) {
		data = util_strdup(keep);
	} else if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		goto done;
	} else {
		data = util_path_join(dir, "var");
	}
	repo = util_path_join(data, "ledger.git");
	frontier = util_path_join(data, "checkpoint.frontier");
	t0 = now_s();
	if ((fresh && datadir_init(data, "admin", token) != 0) ||
	    datadir_open(&dd, data) != 0 ||
	    crypto_signer_precompute(dd->signer, CRYPTO_NONCES) != 0 ||
	    writer_new(&w, dd->lg, dd->ix, AUDIT_ROUND, batch) != 0 ||
	    writer_set_checkpoints(w, dd->signer, 1000, 0, frontier) != 0 ||
	    writer_start(w) != 0) {
		fprintf(stderr, "ledger-bench: %s\n", csirt_error_msg());
		goto done;
	}
	if (fresh) {
		struct submitter s0;
		memset(&s0, 0, sizeof(s0));
		s0.w = w;
		pthread_mutex_init(&s0.mu, NULL);
		pthread_cond_init(&s0.cv, NULL);
		if (seed_directory(&s0) != 0)
			goto done;
	}
	if (audit_build(w, nevents) != 0)
		goto done;
	events = writer_last_seq(w);
	writer_free(w);
	w = NULL;
	build_s = now_s() - t0;
	/* What a restart pays for the checkpoint tree: from the saved
	 * frontier, and walking the whole ledger (no saved frontier). */
	for (int k = 0; k < 2; k++) {
		if (writer_new(&w, dd->lg, dd->ix, 1, 1) != 0)
			goto done;
		t0 = now_s();
		if (writer_set_checkpoints(w, dd->signer, 1000, 0,
		                           k == 0 ? frontier : NULL) != 0) {
			fprintf(stderr, "ledger-bench: %s\n",
			        csirt_error_msg());
			goto done;
		}
		*(k == 0 ? &resume_s : &tree_s) = now_s() - t0;
		writer_free(w);
		w = NULL;
	}
	datadir_close(dd);
	dd = NULL;

	for (size_t r = 0; r < runs; r++) {
		char cmd[1024];
		int st;
		snprintf(cmd, sizeof(cmd), "'%s' verify '%s' >/dev/null", bin,
		         repo);
		t0 = now_s();
		st = system(cmd);
		secs[r] = now_s() - t0;
		if (st != 0) {
			fprintf(stderr, "ledger-bench: csirt-audit failed\n");
			goto done;
		}
		fprintf(stderr, "ledger-bench: verify run %zu: %.2f s\n", r + 1,
		        secs[r]);
	}
	/* `csirtd rebuild` of the index, as the command runs it. */
	for (size_t r = 0; r < runs; r++) {
		uint64_t n = 0;
		t0 = now_s();
		if (datadir_rebuild(data, &n) != 0) {
			fprintf(stderr, "ledger-bench: rebuild: %s\n",
			        csirt_error_msg());
			goto done;
		}
		rsecs[r] = now_s() - t0;
		fprintf(stderr, "ledger-bench: rebuild run %zu: %.2f s\n",
		        r + 1, rsecs[r]);
	}
	if (runs == 0) {
		printf("ledger-bench --audit: %" PRIu64 " events in %s\n"
		       "  build        %.1f s\n"
		       "  tree resume  %.3f s\n  tree rebuild %.3f s\n",
		       events, data, build_s, resume_s, tree_s);
		rc = 0;
		goto done;
	}
	qsort(secs, runs, sizeof(double), cmp_double);
	qsort(rsecs, runs, sizeof(double), cmp_double);
	{
		double med = secs[runs / 2], rmed = rsecs[runs / 2];
		if (json)
			printf("{\"events\":%" PRIu64 ",\"build_s\":%.2f,"
			       "\"tree_resume_s\":%.3f,"
			       "\"tree_rebuild_s\":%.3f,\"verify_runs\":%zu,"
			       "\"verify_median_s\":%.2f,\"verify_min_s\":%.2f,"
			       "\"verify_events_per_s\":%.0f,"
			       "\"rebuild_median_s\":%.2f,"
			       "\"rebuild_min_s\":%.2f}\n",
			       events, build_s, resume_s, tree_s, runs, med,
			       secs[0], (double)events / med, rmed, rsecs[0]);
		else
			printf("ledger-bench --audit: %" PRIu64 " events\n"
			       "  build        %.1f s (%.0f events/s)\n"
			       "  tree resume  %.3f s (start-up, from the "
			       "saved frontier)\n"
			       "  tree rebuild %.3f s (start-up, walking the "
			       "whole ledger)\n"
			       "  verify       median %.2f s of %zu runs (min "
			       "%.2f s), %.0f events/s\n"
			       "  rebuild      median %.2f s of %zu runs (min "
			       "%.2f s), %.0f events/s\n",
			       events, build_s, (double)events / build_s,
			       resume_s, tree_s, med, runs, secs[0],
			       (double)events / med, rmed, runs, rsecs[0],
			       (double)events / rmed);
	}
	rc = 0;
done:
	writer_free(w);
	datadir_close(dd);
	if (data != NULL && keep == NULL &&
	    getenv("LEDGER_BENCH_KEEP") == NULL) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "ledger-bench: could not remove %s\n",
			        dir);
	} else if (data != NULL) {
		fprintf(stderr, "ledger-bench: kept %s\n", repo);
	}
	free(secs);
	free(rsecs);
	free(data);
	free(repo);
	free(frontier);
	return rc;
}

/* csirt-audit next to this executable. */
static char *
audit_bin_default(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return util_strdup("csirt-audit");
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	return util_path_join(self, "csirt-audit");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"submitters", required_argument, NULL, 's'},
	    {"events", required_argument, NULL, 'e'},
	    {"batch", required_argument, NULL, 'b'},
	    {"json", no_argument, NULL, 'j'},
	    {"audit", no_argument, NULL, 'a'},
	    {"runs", required_argument, NULL, 'r'},
	    {"audit-bin", required_argument, NULL, 'B'},
	    {"keep", required_argument, NULL, 'K'},
	    {"reuse", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	size_t nsub = 64, nevents = 20000, batch = 512, runs = 3;
	int json = 0, audit = 0, ch, rc = 1;
	const char *audit_bin = NULL, *keep = NULL;
	bool reuse = false;
	char dir[] = "/tmp/ledger-bench-XXXXXX", token[CRYPTO_TOKEN_LEN];
	char *data = NULL;
	struct datadir *dd = NULL;
	struct writer *w = NULL;
	struct submitter *subs = NULL;
	pthread_barrier_t ready;
	double *all = NULL, t0, secs;
	unsigned long f0;
	struct writer_stats st0, st;
	size_t per, total = 0;
	int errors = 0;

	while ((ch = getopt_long(argc, argv, "s:e:b:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			nsub = strtoul(optarg, NULL, 10);
			break;
		case 'e':
			nevents = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			batch = strtoul(optarg, NULL, 10);
			break;
		case 'j':
			json = 1;
			break;
		case 'a':
			audit = 1;
			break;
		case 'r':
			runs = strtoul(optarg, NULL, 10);
			break;
		case 'B':
			audit_bin = optarg;
			break;
		case 'K':
		case 'R':
			keep = optarg;
			reuse = ch == 'R';
			break;
		case 'h':
			printf(
			    "usage: ledger-bench [--submitters N] [--events "
			    "N] [--batch N] [--json]\n"
			    "Durable note appends through the ledger "
			    "writer; prints events/s,\nlatency "
			    "percentiles, batch sizes and fsyncs per "
			    "event.\n"
			    "       ledger-bench --audit [--events N] [--runs "
			    "N] [--audit-bin PATH] [--json]\n"
			    "                    [--keep DIR | --reuse DIR]\n"
			    "Builds a ledger of N events and prints the "
			    "median time of csirt-audit verify.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (audit) {
		char *bin =
		    audit_bin ? util_strdup(audit_bin) : audit_bin_default();
		if (nevents == 0 || batch == 0 || (runs == 0 && keep == NULL)) {
			free(bin);
			return 2;
		}
		rc = audit_bench(nevents, batch, runs, bin, json, keep, reuse);
		free(bin);
		return rc;
	}
	if (nsub == 0 || nevents < nsub || batch == 0) {
		fprintf(stderr,
		        "ledger-bench: need events >= submitters > 0\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	data = util_path_join(dir, "var");
	if (datadir_init(data, "admin", token) != 0 ||
	    datadir_open(&dd, data) != 0 ||
	    crypto_signer_precompute(dd->signer, CRYPTO_NONCES) != 0 ||
	    writer_new(&w, dd->lg, dd->ix, nsub * 4, batch) != 0 ||
	    writer_start(w) != 0) {
		fprintf(stderr, "ledger-bench: %s\n", csirt_error_msg());
		goto done;
	}
	subs = util_xcalloc(nsub, sizeof(*subs));
	per = nevents / nsub;
	pthread_barrier_init(&ready, NULL, (unsigned)nsub + 1);
	for (size_t i = 0; i < nsub; i++) {
		subs[i].w = w;
		subs[i].ready = &ready;
		subs[i].count = per;
		subs[i].lat_ms = util_xcalloc(per, sizeof(double));
		pthread_mutex_init(&subs[i].mu, NULL);
		pthread_cond_init(&subs[i].cv, NULL);
	}
	if (seed_directory(&subs[0]) != 0) {
		fprintf(stderr, "ledger-bench: seeding failed\n");
		goto done;
	}
	for (size_t i = 0; i < nsub; i++)
		pthread_create(&subs[i].thread, NULL, submitter_main, &subs[i]);
	pthread_barrier_wait(&ready);
	writer_get_stats(w, &st0);
	f0 = atomic_load(&fsyncs);
	t0 = now_s();
	for (size_t i = 0; i < nsub; i++)
		pthread_join(subs[i].thread, NULL);
	secs = now_s() - t0;
	writer_get_stats(w, &st);

	all = util_xcalloc(per * nsub, sizeof(double));
	for (size_t i = 0; i < nsub; i++) {
		memcpy(all + total, subs[i].lat_ms, per * sizeof(double));
		total += per;
		errors += subs[i].errors;
	}
	qsort(all, total, sizeof(double), cmp_double);
	{
		double p50 = all[total / 2], p99 = all[total * 99 / 100],
		       max = all[total - 1];
		double eps = (double)total / secs;
		unsigned long nf = atomic_load(&fsyncs) - f0;
		uint64_t batches = st.batches - st0.batches;
		double fpe = (double)nf / (double)total;
		if (json)
			printf("{\"submitters\":%zu,\"events\":%zu,"
			       "\"seconds\":%.3f,\"events_per_s\":%.0f,"
			       "\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
			       "\"max_ms\":%.3f,\"batches\":%" PRIu64
			       ",\"mean_batch\":%.1f,\"max_batch\":%" PRIu64
			       ",\"fsyncs_per_event\":%.4f,\"errors\":%d}\n",
			       nsub, total, secs, eps, p50, p99, max, batches,
			       (double)total / (double)(batches ? batches : 1),
			       st.max_batch, fpe, errors);
		else
			printf("ledger-bench: %zu durable note events, %zu "
			       "submitters, batch limit %zu\n"
			       "  throughput   %.0f events/s (%.2f s)\n"
			       "  latency      p50 %.2f ms  p99 %.2f ms  max "
			       "%.2f ms\n"
			       "  batches      %" PRIu64
			       " (mean %.1f, max %" PRIu64 " events)\n"
			       "  fsyncs       %lu (%.4f per event)\n"
			       "  errors       %d\n",
			       total, nsub, batch, eps, secs, p50, p99, max,
			       batches,
			       (double)total / (double)(batches ? batches : 1),
			       st.max_batch, nf, fpe, errors);
	}
	rc = errors == 0 ? 0 : 1;
done:
	writer_free(w);
	datadir_close(dd);
	for (size_t i = 0; subs != NULL && i < nsub; i++)
		free(subs[i].lat_ms);
	free(subs);
	free(all);
	if (data != NULL) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "ledger-bench: could not remove %s\n",
			        dir);
	}
	free(data);
	return rc;
}
