/*
 * crash-test - SIGKILL csirtd under load, many times, and prove that no
 * acknowledged write is ever lost or duplicated.
 *
 * Each trial starts the daemon on the run's data directory, drives it
 * with N keep-alive connections (notes by the 情報セキュリティ管理者 and
 * reports by a 所属長, each carrying a unique marker) for a random time,
 * SIGKILLs it while requests are in flight, and restarts it (which
 * reconciles the index with the ledger) and stops it cleanly.  Then, with
 * stock git and the auditor's verifier:
 *   - every acknowledged event is in the ledger exactly once (one report
 *     event file or note file carries its marker), in the commit it was
 *     acknowledged with,
 *     under the Seq it was acknowledged with;
 *   - a request whose reply never came may be there or not, but at most
 *     once;
 *   - `git fsck --strict` is clean and `csirt-audit verify --index` passes.
 *
 *   crash-test --csirtd PATH --audit PATH [--trials N] [--connections N]
 *              [--min-ms MS] [--max-ms MS] [--fresh-every N] [--seed N]
 *              [--keep]
 *
 * Every --fresh-every trials the run starts over on a new data directory
 * (the old one is removed unless --keep): each trial's checks read the
 * whole ledger, so one ever-growing directory would make a long run
 * quadratic.
 *
 * Prints one line per trial and a summary: trials, acknowledged, lost,
 * duplicated.  Exit status 0 when nothing was lost or duplicated and
 * every check passed, 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

#define MARKER_LEN 64
#define NCASES 8

/* A write whose fate this run knows or must find out. */
struct write {
	char marker[MARKER_LEN];
	uint64_t seq;    /* acknowledged: its Seq; else 0 */
	char commit[41]; /* acknowledged: its commit */
	bool acked;
};

struct trial {
	struct write *w;
	size_t n, cap;
	uint64_t refused; /* answered, but not 200 */
	unsigned trial;
	unsigned seed;
	const struct bl_fixture *fx;
	char **cases;
	const char *addr;
};

/* Per connection: the request being sent and the write it is. */
struct conn_state {
	struct buf req;
	size_t write;
	bool report;
	unsigned count;
};

struct opts {
	const char *csirtd, *audit;
	unsigned trials, connections, min_ms, max_ms, fresh_every, seed;
	bool keep;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: crash-test --csirtd PATH --audit PATH [--trials N] "
	           "[--connections N]\n"
	           "                  [--min-ms MS] [--max-ms MS] "
	           "[--fresh-every N]\n"
	           "                  [--seed N] [--keep]\n"
	           "\n"
	           "  --csirtd PATH      the daemon to kill\n"
	           "  --audit PATH       csirt-audit, run after every restart\n"
	           "  --trials N         kills (default 200)\n"
	           "  --connections N    concurrent clients (default 16)\n"
	           "  --min-ms, --max-ms load time before each kill (default "
	           "20..400)\n"
	           "  --fresh-every N    a new data directory every N trials "
	           "(default 25)\n"
	           "  --seed N           for the kill times (default: from "
	           "the clock; printed)\n"
	           "  --keep             keep the data directories\n");
}

static unsigned
num_arg(const char *name, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "crash-test: --%s must be %u..%u\n", name, lo,
		        hi);
		exit(2);
	}
	return (unsigned)v;
}

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"csirtd", required_argument, NULL, 'c'},
	    {"audit", required_argument, NULL, 'a'},
	    {"trials", required_argument, NULL, 't'},
	    {"connections", required_argument, NULL, 'n'},
	    {"min-ms", required_argument, NULL, 'm'},
	    {"max-ms", required_argument, NULL, 'M'},
	    {"fresh-every", required_argument, NULL, 'f'},
	    {"seed", required_argument, NULL, 's'},
	    {"keep", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int ch;

	memset(o, 0, sizeof(*o));
	o->trials = 200;
	o->connections = 16;
	o->min_ms = 20;
	o->max_ms = 400;
	o->fresh_every = 25;
	o->seed = (unsigned)bl_now_us();
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->csirtd = optarg;
			break;
		case 'a':
			o->audit = optarg;
			break;
		case 't':
			o->trials = num_arg("trials", optarg, 1, 100000);
			break;
		case 'n':
			o->connections =
			    num_arg("connections", optarg, 1, 1024);
			break;
		case 'm':
			o->min_ms = num_arg("min-ms", optarg, 0, 60000);
			break;
		case 'M':
			o->max_ms = num_arg("max-ms", optarg, 1, 60000);
			break;
		case 'f':
			o->fresh_every =
			    num_arg("fresh-every", optarg, 1, 100000);
			break;
		case 's':
			o->seed = num_arg("seed", optarg, 0, UINT32_MAX);
			break;
		case 'k':
			o->keep = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || o->csirtd == NULL || o->audit == NULL ||
	    o->min_ms > o->max_ms) {
		usage(stderr);
		exit(2);
	}
}

/* ---- the load: every request is a new write with its own marker */

static void
next_cb(struct bl_conn *c, void *arg)
{
	struct trial *t = arg;
	struct conn_state *cs = c->user;
	struct write *w;

	if (t->n == t->cap) {
		t->cap = t->cap != 0 ? t->cap * 2 : 1024;
		t->w = util_xrealloc(t->w, t->cap * sizeof(*t->w));
	}
	w = &t->w[t->n];
	memset(w, 0, sizeof(*w));
	snprintf(w->marker, sizeof(w->marker), "crash-test t%u c%d n%u.",
	         t->trial, c->index, cs->count++);
	cs->write = t->n++;
	cs->report = rand_r(&t->seed) % 5 == 0;
	buf_reset(&cs->req);
	if (cs->report) {
		Csirt__V1__ReportIncidentRequest *r = bl_report_new(w->marker);
		bl_request(&cs->req, t->addr, BL_CASE("ReportIncident"),
		           t->fx->rep, &r->base);
		codec_free(&r->base);
	} else {
		Csirt__V1__AddNoteRequest *n = bl_note_new(
		    t->cases[(unsigned)c->index % NCASES], w->marker);
		bl_request(&cs->req, t->addr, BL_CASE("AddNote"), t->fx->sm,
		           &n->base);
		codec_free(&n->base);
	}
	c->req = &cs->req;
}

static void
done_cb(struct bl_conn *c, int status, const char *body, size_t len,
        int64_t now, void *arg)
{
	struct trial *t = arg;
	struct conn_state *cs = c->user;
	struct write *w = &t->w[cs->write];
	ProtobufCMessage *m = NULL;
	uint64_t seq;
	const char *commit;

	(void)now;
	if (status != 200) {
		t->refused++;
		return;
	}
	if (codec_unpack(&m,
	                 cs->report ? &csirt__v1__case_response__descriptor
	                            : &csirt__v1__note_response__descriptor,
	                 body, len, NULL) != 0)
		bl_die("trial %u: undecodable acknowledgement", t->trial);
	if (cs->report) {
		seq = ((Csirt__V1__CaseResponse *)m)->seq;
		commit = ((Csirt__V1__CaseResponse *)m)->commit;
	} else {
		seq = ((Csirt__V1__NoteResponse *)m)->seq;
		commit = ((Csirt__V1__NoteResponse *)m)->commit;
	}
	w->acked = true;
	w->seq = seq;
	snprintf(w->commit, sizeof(w->commit), "%s", commit);
	codec_free(m);
}

/* ---- checks with stock git and csirt-audit */

/* Runs a shell command; its stdout goes to `out` when given.  Returns the
 * exit status (-1 if it did not exit). */
static int
sh(struct buf *out, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char chunk[65536];
	size_t r;
	int st;

	if (p == NULL)
		bl_die("cannot run: %s", cmd);
	if (out != NULL)
		buf_reset(out);
	while ((r = fread(chunk, 1, sizeof(chunk), p)) > 0)
		if (out != NULL)
			buf_put(out, chunk, r);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits `b` into its lines (in place) and sorts them; returns the
 * array (caller frees) and its length. */
static char **
lines_sorted(struct buf *b, size_t *n)
{
	char **v = NULL, *p = b->data, *nl;
	size_t cap = 0;

	*n = 0;
	while (p != NULL && *p != '\0' && (nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		if (*n == cap) {
			cap = cap != 0 ? cap * 2 : 1024;
			v = util_xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = p;
		p = nl + 1;
	}
	if (*n != 0)
		qsort(v, *n, sizeof(*v), str_cmp);
	return v;
}

/* How many of the sorted lines are `key` followed by `end`. */
static unsigned
lines_count(char **v, size_t n, const char *key, char end)
{
	size_t lo = 0, hi = n, kl = strlen(key);
	unsigned count = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && strncmp(v[lo], key, kl) == 0 && v[lo][kl] == end; lo++)
		count++;
	return count;
}

struct totals {
	uint64_t acked, lost, dup, unacked_present, unacked_absent, refused,
	    wrong_commit, fsck, verify;
};

static int
trial_check(struct trial *t, const char *data, const char *audit,
            struct totals *tot)
{
	struct buf cmd = BUF_INIT, grep = BUF_INIT, log = BUF_INIT,
	           out = BUF_INIT;
	char *ledger = util_path_join(data, "ledger.git");
	uint64_t lost = 0, dup = 0, wrong = 0, acked = 0, present = 0;
	char **markers, **commits, key[64];
	size_t nmarkers, ncommits;
	int failed = 0;

	/* Every file carrying one of this trial's markers, once per file
	 * and marker: "<marker> <path>" lines.  A report's title is in its
	 * event file (and case.json, not searched); a note's text in its own
	 * file, the note event holding only its hash. */
	buf_printf(&cmd,
	           "git -C '%s' grep -o -E 'crash-test t%u c[0-9]+ n[0-9]+\\.' "
	           "ledger -- ':(glob)cases/**/events/**/*.json' "
	           "':(glob)cases/**/notes/**/*.md' 2>/dev/null | "
	           "sed 's/^\\([^:]*\\):\\([^:]*\\):\\(.*\\)$/\\3 \\2/' | "
	           "sort -u",
	           ledger, t->trial);
	sh(&grep, cmd.data);
	markers = lines_sorted(&grep, &nmarkers);
	/* "<commit> <seq>" of the newest commits: this trial's are among
	 * them (a restart writes at most a few events of its own). */
	buf_reset(&cmd);
	buf_printf(&cmd,
	           "git -C '%s' log -n %zu --format='%%H "
	           "%%(trailers:key=Seq,valueonly,separator=)' ledger",
	           ledger, t->n + 64);
	sh(&log, cmd.data);
	commits = lines_sorted(&log, &ncommits);
	for (size_t i = 0; i < t->n; i++) {
		struct write *w = &t->w[i];
		unsigned n = lines_count(markers, nmarkers, w->marker, ' ');

		if (n > 1)
			dup++;
		if (w->acked) {
			acked++;
			snprintf(key, sizeof(key), "%s %" PRIu64, w->commit,
			         w->seq);
			if (n == 0)
				lost++;
			else if (lines_count(commits, ncommits, key, '\0') != 1)
				wrong++;
		} else if (n != 0) {
			present++;
		}
	}
	free(markers);
	free(commits);
	tot->acked += acked;
	tot->lost += lost;
	tot->dup += dup;
	tot->wrong_commit += wrong;
	tot->unacked_present += present;
	tot->refused += t->refused;
	buf_reset(&cmd);
	buf_printf(&cmd, "git -C '%s' fsck --strict --no-progress 2>&1",
	           ledger);
	if (sh(&out, cmd.data) != 0) {
		tot->fsck++;
		failed = 1;
		fprintf(stderr, "trial %u: git fsck: %s\n", t->trial,
		        out.data != NULL ? out.data : "");
	}
	buf_reset(&cmd);
	buf_printf(&cmd, "'%s' verify '%s' --index '%s/index.sqlite' 2>&1",
	           audit, ledger, data);
	if (sh(&out, cmd.data) != 0) {
		tot->verify++;
		failed = 1;
		fprintf(stderr, "trial %u: csirt-audit: %s\n", t->trial,
		        out.data != NULL ? out.data : "");
	}
	printf("trial %4u: %5zu sent, %5" PRIu64 " acknowledged, %" PRIu64
	       " lost, %" PRIu64 " duplicated, %" PRIu64
	       " unacknowledged but durable%s\n",
	       t->trial, t->n, acked, lost, dup, present,
	       failed ? ", CHECKS FAILED" : "");
	fflush(stdout);
	buf_free(&cmd);
	buf_free(&grep);
	buf_free(&log);
	buf_free(&out);
	free(ledger);
	return lost != 0 || dup != 0 || wrong != 0 || failed;
}

/* One data directory of a run: the daemon's, its users and its cases. */
struct gen {
	char *dir, *data, *log, *admin;
	struct bl_fixture fx;
	char *cases[NCASES];
};

/* Creates generation `n` under `root` and starts the daemon on it. */
static void
gen_start(struct gen *g, const struct opts *o, const char *root, unsigned n,
          struct bl_child *d)
{
	char name[32];

	memset(g, 0, sizeof(*g));
	snprintf(name, sizeof(name), "run%u", n);
	g->dir = util_path_join(root, name);
	if (mkdir(g->dir, 0700) != 0)
		bl_die("mkdir %s: %s", g->dir, strerror(errno));
	g->data = util_path_join(g->dir, "var");
	g->log = util_path_join(g->dir, "csirtd.log");
	g->admin = bl_csirtd_init(o->csirtd, g->data, g->log);
	bl_csirtd_start(d, o->csirtd, g->data, g->log);
	bl_fixture_setup(&g->fx, d->addr, g->admin);
	for (unsigned i = 0; i < NCASES; i++)
		g->cases[i] =
		    bl_report(&g->fx, d->addr, "crash-test: 対象事案");
}

/* Frees generation `g`, removing its directory unless `keep`. */
static void
gen_end(struct gen *g, bool keep)
{
	if (!keep)
		bl_rmrf(g->dir);
	for (unsigned i = 0; i < NCASES; i++)
		free(g->cases[i]);
	free(g->dir);
	free(g->data);
	free(g->log);
	free(g->admin);
	memset(g, 0, sizeof(*g));
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct bl_child d = {0};
	struct gen g;
	struct totals tot = {0};
	struct bl_conn *conns;
	struct conn_state *cs;
	char tmpl[] = "/tmp/crash-test.XXXXXX";
	unsigned seed, i, ngen = 1;
	int bad = 0;

	bl_prog = "crash-test";
	parse_opts(&o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	seed = o.seed;
	if (mkdtemp(tmpl) == NULL)
		bl_die("mkdtemp: %s", strerror(errno));
	gen_start(&g, &o, tmpl, ngen, &d);
	printf("crash-test: %u trials, %u connections, %u..%u ms of load, "
	       "seed %u, a new data directory every %u trials under %s\n",
	       o.trials, o.connections, o.min_ms, o.max_ms, o.seed,
	       o.fresh_every, tmpl);
	conns = util_xcalloc(o.connections, sizeof(*conns));
	cs = util_xcalloc(o.connections, sizeof(*cs));
	for (i = 0; i < o.connections; i++)
		conns[i].user = &cs[i];
	for (unsigned k = 1; k <= o.trials && !bad; k++) {
		struct trial t = {0};
		struct bl_load l = {0};
		unsigned ms =
		    o.min_ms + rand_r(&seed) % (o.max_ms - o.min_ms + 1);

		t.trial = k;
		t.seed = rand_r(&seed);
		t.fx = &g.fx;
		t.cases = g.cases;
		t.addr = d.addr;
		for (i = 0; i < o.connections; i++)
			conns[i].fd = -1;
		l.addr = d.addr;
		l.conns = conns;
		l.nconn = (int)o.connections;
		l.next = next_cb;
		l.done = done_cb;
		l.arg = &t;
		bl_load_run(&l, bl_now_us() + (int64_t)ms * 1000);
		bl_child_stop(&d, SIGKILL);
		/* The restart reconciles the index with the ledger; then a
		 * clean stop, so that the checks do not race the daemon's own
		 * writes (deadline.missed events once reports are 30 minutes
		 * old), and a start again for the next trial. */
		bl_csirtd_start(&d, o.csirtd, g.data, g.log);
		bl_child_stop(&d, SIGTERM);
		bad = trial_check(&t, g.data, o.audit, &tot);
		free(t.w);
		if (bad || k == o.trials)
			continue;
		if (k % o.fresh_every == 0) {
			gen_end(&g, o.keep);
			gen_start(&g, &o, tmpl, ++ngen, &d);
		} else {
			bl_csirtd_start(&d, o.csirtd, g.data, g.log);
		}
	}
	bl_child_stop(&d, SIGTERM);
	printf("crash-test: %u trials, %" PRIu64 " acknowledged, %" PRIu64
	       " lost, %" PRIu64 " duplicated, %" PRIu64
	       " acknowledged with a wrong commit, %" PRIu64
	       " unacknowledged but durable, %" PRIu64 " refused, %" PRIu64
	       " fsck and %" PRIu64 " verify failures\n",
	       o.trials, tot.acked, tot.lost, tot.dup, tot.wrong_commit,
	       tot.unacked_present, tot.refused, tot.fsck, tot.verify);
	if (bad)
		printf("crash-test: FAILED; data kept in %s (seed %u)\n", g.dir,
		       o.seed);
	gen_end(&g, true);
	if (!bad && !o.keep)
		bl_rmrf(tmpl);
	for (i = 0; i < o.connections; i++) {
		buf_free(&cs[i].req);
		buf_free(&conns[i].in);
	}
	free(conns);
	free(cs);
	return bad;
}
