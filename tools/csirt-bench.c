/*
 * csirt-bench - end-to-end load on csirtd over its real protocol.
 *
 * Opens N keep-alive connections and keeps one Twirp request (protobuf)
 * in flight on each, from one epoll thread, for a fixed time; prints
 * requests per second, latency percentiles and error counts per kind of
 * request.  It then runs the same requests, on the same number of
 * connections, against tools/evhttp-bare (a bare evhttp responder that
 * answers every request with a fixed body of the daemon's reply size)
 * and prints the daemon's throughput as a ratio of the bare one: what
 * our request path costs over libevent's HTTP alone.
 *
 * Workloads: report (所属長 files reports), note (the 情報セキュリティ管理者
 * adds 機密性低 notes; durable writes), get (GetCase by the reporter),
 * list (ListCases, 20 a page), mixed (per request: 70% get, 10% list,
 * 15% note, 5% report).
 *
 * The daemon is either started here on a fresh data directory
 * (--csirtd PATH: init, then run on 127.0.0.1 with a free port; removed
 * afterwards) or already running (--addr HOST:PORT --token ADMIN-TOKEN).
 * Either way the tool creates its own division, users and cases through
 * the DirectoryService, so it can run against any daemon an administrator
 * can reach.  Never point it at production: it writes to the ledger.
 *
 * With --csirtd it also prints the daemon's CPU time per request over the
 * measured time, by thread (csirtd names its threads: writer, commit,
 * merger...; "csirtd" is the event loop): from /proc, the process's
 * utime + stime (exited threads included) and each thread's.  Less noisy
 * than req/s on a shared machine, and it says where the time goes.
 *
 * With --probe-fsync a thread of its own writes 4 KiB and fsyncs it every
 * 20 ms in the data directory's file system (the run's own with --csirtd,
 * else the current directory), warm-up included, and the run prints that
 * probe's latencies: the device's own, with the load on it.  On this
 * project's shared machines the device stalls by itself (a probe alone
 * saw p99 21.7 ms and a 539 ms maximum in a minute), which bounds what any
 * durable write can promise there.
 *
 * Nothing here asserts timings: it prints figures.  Exit status 0 when the
 * run completed (errors are counted and printed), 1 when it could not
 * run, 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

#define MAX_CONNECTIONS 4096
#define NOTE_TEXT_LEN 200
#define MAX_CASES 100000

enum kind { K_REPORT, K_NOTE, K_GET, K_LIST, K_COUNT };

static const char *const kind_names[K_COUNT] = {"report", "note", "get",
                                                "list"};

/* Percent of requests of each kind per workload (sums to 100). */
static const struct workload {
	const char *name;
	int weight[K_COUNT];
} workloads[] = {
    {"report", {100, 0, 0, 0}}, {"note", {0, 100, 0, 0}},
    {"get", {0, 0, 100, 0}},    {"list", {0, 0, 0, 100}},
    {"mixed", {5, 15, 70, 10}},
};

struct opts {
	const char *csirtd;
	const char *bare;
	const char *addr;
	const char *token;
	const char *json;
	const struct workload *wl;
	int connections;
	int cases; /* 0: one per connection */
	double seconds;
	double warmup;
	double interval; /* 0: no figures per interval */
	bool probe;      /* --probe-fsync */
};

/* Latencies of one kind, in microseconds. */
struct samples {
	uint32_t *us;
	size_t n, cap;
	uint64_t errors;
};

struct stats {
	struct samples k[K_COUNT];
	uint64_t status[6]; /* by status / 100 */
	double elapsed;
};

/* Each connection's prepared requests (the whole HTTP message, one per
 * kind: GetCase and AddNote name the connection's own case), what it
 * sends now, and its random sequence. */
struct conn_state {
	struct buf tpl[K_COUNT];
	/* AddNote to each of the connection's cases (cases i, i + N, ...
	 * of N connections), sent in turn; tpl[K_NOTE] is unused. */
	struct buf *notes;
	size_t nnotes, next_note;
	enum kind kind;
	uint64_t rng;
};

/* The daemon's CPU time (seconds) at one moment: the whole process
 * (threads that have exited included) and each thread by name. */
#define CPU_NAMES_MAX 32
struct cpu_thread {
	char name[32];
	double s;
};
struct cpu_snap {
	double total;
	size_t n;
	struct cpu_thread t[CPU_NAMES_MAX];
};

/* What a run measured of it: seconds of CPU by thread name over the
 * measured time (`other`: threads that came or went meanwhile). */
struct cpu_use {
	bool have;
	double total, other;
	size_t n;
	struct cpu_thread t[CPU_NAMES_MAX];
};

/* The ledger writer's counters from the daemon's /metrics at one moment
 * (csirt_writer_seconds_total: where its thread's time went). */
#define WRITER_PHASES 7
static const char *const writer_phases[WRITER_PHASES] = {
    "idle", "apply", "gather", "drain", "durable", "commit", "answer"};
struct writer_snap {
	bool have;
	double batches, events, phase_s[WRITER_PHASES];
	/* csirt_writer_slow_batches_total, csirt_writer_batch_seconds_max
	 * (-1: not in /metrics: an older daemon) */
	double slow, longest_s;
};

struct run {
	const struct workload *wl;
	struct stats *st;
	int64_t measure_from, stop;
	pid_t pid; /* the daemon, when started here: its CPU is measured */
	bool cpu_started;
	struct cpu_snap cpu0;
	struct cpu_snap cpu_tick; /* --interval: at the last interval's end */
	const char *metrics; /* the daemon's address, or NULL (evhttp-bare) */
	bool writer_started;
	struct writer_snap writer0;
	/* --interval: its length, the samples of each kind already
	 * reported, and the intervals as JSON objects (or NULL). */
	int64_t interval_us;
	size_t last_n[K_COUNT];
	uint64_t last_errors[K_COUNT];
	struct buf *intervals;
};

static void tick_cb(struct bl_load *l, int64_t now_us);
static void cpu_print(const char *label, const struct cpu_use *u,
                      uint64_t requests);
static void cpu_json(struct buf *out, const struct cpu_use *u,
                     uint64_t requests);

/* Reads the writer's counters from `addr`'s /metrics; s->have is false
 * when it does not answer them (an older daemon, say). */
static void
writer_snap(struct writer_snap *s, const char *addr)
{
	struct buf req = BUF_INIT, body = BUF_INIT;

	memset(s, 0, sizeof(*s));
	s->slow = s->longest_s = -1;
	buf_printf(&req,
	           "GET /metrics HTTP/1.1\r\nHost: %s\r\n"
	           "Connection: close\r\n\r\n",
	           addr);
	if (bl_roundtrip(addr, &req, NULL, NULL, &body) == 200) {
		int phases = 0;

		for (const char *l = body.data; l != NULL && *l != '\0';) {
			const char *nl = strchr(l, '\n');
			char name[32];
			double v;

			if (sscanf(l, "csirt_writer_batches_total %lf", &v) ==
			    1)
				s->batches = v;
			else if (sscanf(l, "csirt_writer_events_total %lf",
			                &v) == 1)
				s->events = v;
			else if (sscanf(l,
			                "csirt_writer_slow_batches_total %lf",
			                &v) == 1)
				s->slow = v;
			else if (sscanf(l, "csirt_writer_batch_seconds_max %lf",
			                &v) == 1)
				s->longest_s = v;
			else if (sscanf(
			             l,
			             "csirt_writer_seconds_total{phase=\"%31["
			             "a-z]\"} %lf",
			             name, &v) == 2)
				for (int i = 0; i < WRITER_PHASES; i++)
					if (strcmp(name, writer_phases[i]) ==
					    0) {
						s->phase_s[i] = v;
						phases++;
					}
			l = nl != NULL ? nl + 1 : NULL;
		}
		s->have = phases == WRITER_PHASES;
	}
	buf_free(&req);
	buf_free(&body);
}

/* "  writer   112 batches/s, 56.1 events a batch; ms a batch: idle 0.21,
 * ..." from two snapshots `seconds` apart (JSON too when `json`). */
static void
writer_print(const struct writer_snap *a, const struct writer_snap *b,
             double seconds, struct buf *json)
{
	double batches = b->batches - a->batches;

	if (!a->have || !b->have || batches <= 0 || seconds <= 0)
		return;
	printf("  writer   %7.1f batches/s, %.1f events a batch; ms a batch:",
	       batches / seconds, (b->events - a->events) / batches);
	buf_printf(json,
	           ",\"writer\":{\"batches_per_s\":%.2f,"
	           "\"events_per_batch\":%.2f,\"ms_per_batch\":{",
	           batches / seconds, (b->events - a->events) / batches);
	for (int i = 0; i < WRITER_PHASES; i++) {
		double ms = (b->phase_s[i] - a->phase_s[i]) * 1e3 / batches;

		printf("%s %s %.2f", i > 0 ? "," : "", writer_phases[i], ms);
		buf_printf(json, "%s\"%s\":%.3f", i > 0 ? "," : "",
		           writer_phases[i], ms);
	}
	printf("\n");
	buf_puts(json, "}");
	if (a->slow >= 0 && b->slow >= 0 && b->longest_s >= 0) {
		/* The longest is the daemon's since it started (warm-up and
		 * the fixture included). */
		printf("  slowest  batch %.1f ms so far; %.0f of a second or "
		       "more in the run\n",
		       b->longest_s * 1e3, b->slow - a->slow);
		buf_printf(json,
		           ",\"slow_batches\":%.0f,\"longest_batch_ms\":%.3f",
		           b->slow - a->slow, b->longest_s * 1e3);
	}
	buf_puts(json, "}");
}

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: csirt-bench (--csirtd PATH | --addr HOST:PORT --token "
	       "ADMIN-TOKEN)\n"
	       "                   [--workload report|note|get|list|mixed] "
	       "[--connections N]\n"
	       "                   [--cases N] [--seconds S] [--warmup S] "
	       "[--bare PATH]\n                   "
	       "[--interval S] [--probe-fsync] [--json FILE]\n"
	       "\n"
	       "  --csirtd PATH      start this csirtd on a fresh data "
	       "directory (removed after);\n"
	       "                     also prints its CPU time per request, "
	       "by thread\n"
	       "  --addr HOST:PORT   use a running daemon; needs "
	       "--token (an administrator's)\n"
	       "  --workload W       what to send (default mixed)\n"
	       "  --connections N    keep-alive connections (default 64)\n"
	       "  --cases N          cases the notes and reads go to; each "
	       "connection\n"
	       "                     writes to its share in turn (default: "
	       "one per\n"
	       "                     connection)\n"
	       "  --seconds S        measured time (default 10)\n"
	       "  --warmup S         unmeasured time first (default 1)\n"
	       "  --interval S       also print the figures of every S "
	       "seconds of the\n"
	       "                     measured time as it runs (with "
	       "--csirtd, its CPU\n"
	       "                     by thread too): a rate that sags, or a "
	       "thread whose\n"
	       "                     cost grows, after a while shows there, "
	       "not in the\n"
	       "                     totals\n"
	       "  --probe-fsync      also write 4 KiB and fsync it every 20 ms "
	       "in the data\n"
	       "                     directory's file system (the current "
	       "directory with\n"
	       "                     --addr) and print that probe's "
	       "latencies: the\n"
	       "                     device's own under the load\n"
	       "  --bare PATH        tools/evhttp-bare: run the same load "
	       "against it and print the ratio\n"
	       "  --json FILE        also write the figures as JSON (- for "
	       "stdout)\n");
}

static void
samples_add(struct samples *s, int64_t us)
{
	if (s->n == s->cap) {
		s->cap = s->cap != 0 ? s->cap * 2 : 4096;
		s->us = util_xrealloc(s->us, s->cap * sizeof(*s->us));
	}
	s->us[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* utime + stime of /proc/.../stat (`path`) in seconds; its comm (in
 * parentheses, may hold anything) is skipped.  -1 when unreadable. */
static double
cpu_read_stat(const char *path)
{
	char line[1024], *p;
	unsigned long long ut, st;
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* After "pid (comm) ": state, then fields 4..13, then utime and
	 * stime (fields 14 and 15 of proc(5)). */
	if ((p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 1,
	           " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	           &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A thread's CPU time in seconds: schedstat's nanoseconds when the
 * kernel has them (a short run's threads use a few clock ticks at most),
 * else its stat.  -1 when unreadable. */
static double
cpu_read_task(pid_t pid, const char *tid)
{
	char path[128];
	unsigned long long ns;
	FILE *f;
	int got;

	snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid,
	         tid);
	if ((f = fopen(path, "r")) != NULL) {
		got = fscanf(f, "%llu", &ns);
		fclose(f);
		if (got == 1)
			return (double)ns / 1e9;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat", (int)pid, tid);
	return cpu_read_stat(path);
}

/* The daemon's CPU time now; false when /proc cannot tell (not Linux). */
static bool
cpu_snap(struct cpu_snap *c, pid_t pid)
{
	char path[128];
	DIR *d;
	struct dirent *de;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((c->total = cpu_read_stat(path)) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		char name[32] = "";
		double s;
		size_t i;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm",
		         (int)pid, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue; /* gone meanwhile */
		if (fgets(name, sizeof(name), f) != NULL)
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
		if ((s = cpu_read_task(pid, de->d_name)) < 0)
			continue;
		for (i = 0; i < c->n && strcmp(c->t[i].name, name) != 0; i++)
			;
		if (i == c->n) {
			if (c->n == CPU_NAMES_MAX)
				continue; /* counted in "other" */
			snprintf(c->t[c->n++].name, sizeof(c->t[0].name), "%s",
			         name);
		}
		c->t[i].s += s;
	}
	closedir(d);
	return true;
}

/* b - a by thread name, largest first. */
static void
cpu_diff(struct cpu_use *u, const struct cpu_snap *a, const struct cpu_snap *b)
{
	double named = 0;

	memset(u, 0, sizeof(*u));
	u->have = true;
	u->total = b->total - a->total;
	for (size_t i = 0; i < b->n; i++) {
		double before = 0;
		size_t k;

		for (size_t j = 0; j < a->n; j++)
			if (strcmp(a->t[j].name, b->t[i].name) == 0)
				before = a->t[j].s;
		if (b->t[i].s - before < 0)
			continue;
		/* Insertion by size. */
		for (k = u->n; k > 0 && u->t[k - 1].s < b->t[i].s - before; k--)
			u->t[k] = u->t[k - 1];
		snprintf(u->t[k].name, sizeof(u->t[k].name), "%s",
		         b->t[i].name);
		u->t[k].s = b->t[i].s - before;
		u->n++;
		named += b->t[i].s - before;
	}
	u->other = u->total - named > 0 ? u->total - named : 0;
}

static void
next_cb(struct bl_conn *c, void *arg)
{
	struct run *run = arg;
	struct conn_state *cs = c->user;
	int r, k;

	/* The daemon's CPU is counted from the first request of the
	 * measured time. */
	if (run->pid > 0 && !run->cpu_started &&
	    bl_now_us() >= run->measure_from) {
		run->cpu_started = cpu_snap(&run->cpu0, run->pid);
		run->cpu_tick = run->cpu0;
	}
	if (run->metrics != NULL && !run->writer_started &&
	    bl_now_us() >= run->measure_from) {
		writer_snap(&run->writer0, run->metrics);
		run->writer_started = true;
	}

	/* xorshift64: cheap, and each connection has its own sequence. */
	cs->rng ^= cs->rng << 13;
	cs->rng ^= cs->rng >> 7;
	cs->rng ^= cs->rng << 17;
	r = (int)(cs->rng % 100);
	for (k = 0; k < K_COUNT - 1 && r >= run->wl->weight[k]; k++)
		r -= run->wl->weight[k];
	cs->kind = (enum kind)k;
	if (k == K_NOTE) {
		c->req = &cs->notes[cs->next_note];
		cs->next_note = (cs->next_note + 1) % cs->nnotes;
	} else {
		c->req = &cs->tpl[k];
	}
}

static void
done_cb(struct bl_conn *c, int status, const char *body, size_t len,
        int64_t now, void *arg)
{
	const struct run *run = arg;
	const struct conn_state *cs = c->user;
	struct samples *s = &run->st->k[cs->kind];

	(void)body;
	(void)len;
	if (c->t0_us < run->measure_from || now >= run->stop)
		return;
	samples_add(s, now - c->t0_us);
	if (status != 200)
		s->errors++;
	if (status >= 100 && status < 600)
		run->st->status[status / 100]++;
}

static void
lost_cb(struct bl_conn *c, void *arg)
{
	const struct run *run = arg;
	const struct conn_state *cs = c->user;

	if (c->t0_us >= run->measure_from)
		run->st->k[cs->kind].errors++;
}

/* Runs the load for warmup + seconds; samples only what was sent after
 * the warm-up and completed in time.  With `writer` (csirtd, not
 * evhttp-bare), its counters at the start and the end of the measured
 * time.  Returns the reconnections. */
static uint64_t
run_load(struct stats *st, struct cpu_use *cpu, pid_t pid, const char *addr,
         struct bl_conn *conns, int n, const struct workload *wl, double warmup,
         double seconds, double interval, struct buf *intervals,
         struct writer_snap writer[2])
{
	struct run run = {.wl = wl,
	                  .st = st,
	                  .pid = pid,
	                  .metrics = writer != NULL ? addr : NULL,
	                  .interval_us = (int64_t)(interval * 1e6),
	                  .intervals = intervals};
	struct bl_load l = {0};
	struct cpu_snap end;

	memset(st, 0, sizeof(*st));
	run.measure_from = bl_now_us() + (int64_t)(warmup * 1e6);
	run.stop = run.measure_from + (int64_t)(seconds * 1e6);
	l.addr = addr;
	l.conns = conns;
	l.nconn = n;
	l.next = next_cb;
	l.done = done_cb;
	l.lost = lost_cb;
	l.arg = &run;
	if (run.interval_us > 0) {
		l.tick = tick_cb;
		l.tick_at = run.measure_from + run.interval_us;
	}
	bl_load_run(&l, run.stop);
	if (l.tick != NULL && l.tick_at != 0)
		l.tick(&l, bl_now_us()); /* the interval that ends at stop */
	st->elapsed = seconds;
	memset(cpu, 0, sizeof(*cpu));
	if (run.cpu_started && cpu_snap(&end, pid))
		cpu_diff(cpu, &run.cpu0, &end);
	if (writer != NULL) {
		writer[0] = run.writer0;
		writer_snap(&writer[1], addr);
	}
	return l.reconnects;
}

/* ---- figures */

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct figures {
	uint64_t n, errors;
	double rps, p50, p95, p99, max; /* latencies in ms */
};

static double
pct(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

/* --interval: the requests completed since the last call, printed as
 * they come (and kept as JSON). */
static void
tick_cb(struct bl_load *l, int64_t now_us)
{
	struct run *run = l->arg;
	double secs = (double)run->interval_us / 1e6, t;
	struct cpu_snap now;
	struct cpu_use cpu = {0};
	uint64_t errors = 0;
	uint32_t *v;
	size_t n = 0;

	(void)now_us;
	for (int k = 0; k < K_COUNT; k++)
		n += run->st->k[k].n - run->last_n[k];
	v = util_xmalloc((n != 0 ? n : 1) * sizeof(*v));
	n = 0;
	for (int k = 0; k < K_COUNT; k++) {
		const struct samples *s = &run->st->k[k];
		size_t m = s->n - run->last_n[k];

		if (m != 0) /* s->us is NULL before the first sample */
			memcpy(v + n, s->us + run->last_n[k], m * sizeof(*v));
		n += m;
		errors += s->errors - run->last_errors[k];
		run->last_n[k] = s->n;
		run->last_errors[k] = s->errors;
	}
	qsort(v, n, sizeof(*v), u32_cmp);
	t = (double)(l->tick_at - run->measure_from) / 1e6;
	printf("  %7.1f s %8.0f req/s  p50 %7.2f  p99 %7.2f  max %8.2f ms  "
	       "%" PRIu64 " errors\n",
	       t, (double)n / secs, pct(v, n, 0.50), pct(v, n, 0.99),
	       n != 0 ? v[n - 1] / 1000.0 : 0, errors);
	/* The daemon's CPU over this interval, by thread: a cost that grows
	 * with the ledger (the merges of ever larger packs, say) shows here,
	 * where the run's total averages it away. */
	if (run->cpu_started && cpu_snap(&now, run->pid)) {
		cpu_diff(&cpu, &run->cpu_tick, &now);
		run->cpu_tick = now;
		cpu_print("            CPU", &cpu, n);
	}
	fflush(stdout);
	if (run->intervals != NULL) {
		buf_printf(run->intervals,
		           "%s{\"t\":%.1f,\"requests\":%zu,\"errors\":%" PRIu64
		           ",\"rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
		           "\"max_ms\":%.3f",
		           run->intervals->len != 0 ? "," : "", t, n, errors,
		           (double)n / secs, pct(v, n, 0.50), pct(v, n, 0.99),
		           n != 0 ? v[n - 1] / 1000.0 : 0);
		if (cpu.have)
			cpu_json(run->intervals, &cpu, n);
		buf_puts(run->intervals, "}");
	}
	free(v);
	l->tick_at += run->interval_us;
	if (l->tick_at > run->stop)
		l->tick_at = 0;
}

static struct figures
figures_of(struct samples *s, double elapsed)
{
	struct figures f = {0};

	if (s->n > 1) /* s->us is NULL before the first sample */
		qsort(s->us, s->n, sizeof(*s->us), u32_cmp);
	f.n = s->n;
	f.errors = s->errors;
	f.rps = elapsed > 0 ? (double)s->n / elapsed : 0;
	f.p50 = pct(s->us, s->n, 0.50);
	f.p95 = pct(s->us, s->n, 0.95);
	f.p99 = pct(s->us, s->n, 0.99);
	f.max = s->n != 0 ? s->us[s->n - 1] / 1000.0 : 0;
	return f;
}

/* All kinds of a run merged into one set of samples. */
static struct figures
figures_total(struct stats *st)
{
	struct samples all = {0};
	struct figures f;
	int k;

	for (k = 0; k < K_COUNT; k++) {
		for (size_t i = 0; i < st->k[k].n; i++)
			samples_add(&all, st->k[k].us[i]);
		all.errors += st->k[k].errors;
	}
	f = figures_of(&all, st->elapsed);
	free(all.us);
	return f;
}

static void
figures_print(const char *label, const struct figures *f)
{
	printf("  %-8s %9.0f req/s  p50 %7.2f  p95 %7.2f  p99 %7.2f  max "
	       "%8.2f ms  %" PRIu64 " requests, %" PRIu64 " errors\n",
	       label, f->rps, f->p50, f->p95, f->p99, f->max, f->n, f->errors);
}

static void
figures_json(struct buf *out, const char *key, const struct figures *f)
{
	buf_printf(out,
	           "\"%s\":{\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
	           ",\"rps\":%.1f,\"p50_ms\":%.3f,\"p95_ms\":%.3f,"
	           "\"p99_ms\":%.3f,\"max_ms\":%.3f}",
	           key, f->n, f->errors, f->rps, f->p50, f->p95, f->p99,
	           f->max);
}

/* "  CPU 180 us/request: writer 62, commit 48, ..." after `label`. */
static void
cpu_print(const char *label, const struct cpu_use *u, uint64_t requests)
{
	double per = requests > 0 ? 1e6 / (double)requests : 0;

	if (!u->have)
		return;
	printf("%s %7.0f us/request:", label, u->total * per);
	for (size_t i = 0; i < u->n; i++)
		printf("%s %s %.0f", i > 0 ? "," : "", u->t[i].name,
		       u->t[i].s * per);
	if (u->other > 0)
		printf(", threads that came or went %.0f", u->other * per);
	printf("\n");
}

static void
cpu_json(struct buf *out, const struct cpu_use *u, uint64_t requests)
{
	double per = requests > 0 ? 1e6 / (double)requests : 0;

	buf_printf(out, ",\"cpu_us_per_request\":{\"total\":%.1f",
	           u->total * per);
	for (size_t i = 0; i < u->n; i++) {
		/* Names are the daemon's own: no escaping to do, but a
		 * quote or backslash in one would break the JSON. */
		if (strpbrk(u->t[i].name, "\"\\") != NULL)
			continue;
		buf_printf(out, ",\"%s\":%.1f", u->t[i].name, u->t[i].s * per);
	}
	buf_printf(out, ",\"other\":%.1f}", u->other * per);
}

/* ---- setup */

/* Each connection works on one of the fixture's cases. */
static void
conns_prepare(struct bl_conn *conns, struct conn_state *cs, int n,
              const struct bl_fixture *fx, char **cases, int ncases,
              const char *addr)
{
	Csirt__V1__ReportIncidentRequest *r =
	    bl_report_new("ベンチマーク: 業務用端末の紛失");
	Csirt__V1__GetCaseRequest *get = BL_NEW(get_case_request);
	Csirt__V1__ListCasesRequest *list = BL_NEW(list_cases_request);
	char text[NOTE_TEXT_LEN + 1];

	memset(text, 'x', NOTE_TEXT_LEN);
	text[NOTE_TEXT_LEN] = '\0';
	memcpy(text, "負荷試験メモ ", strlen("負荷試験メモ "));
	list->page_size = 20;
	for (int i = 0; i < n; i++) {
		const char *id = cases[i % ncases];

		cs[i].nnotes = 0;
		for (int j = i % ncases; j < ncases || cs[i].nnotes == 0;
		     j += n)
			cs[i].nnotes++;
		cs[i].notes = util_xcalloc(cs[i].nnotes, sizeof(*cs[i].notes));
		for (size_t j = 0; j < cs[i].nnotes; j++) {
			Csirt__V1__AddNoteRequest *note = bl_note_new(
			    cases[((size_t)(i % ncases) + j * (size_t)n) %
			          (size_t)ncases],
			    text);
			bl_request(&cs[i].notes[j], addr, BL_CASE("AddNote"),
			           fx->sm, &note->base);
			codec_free(&note->base);
		}
		conns[i].fd = -1;
		conns[i].user = &cs[i];
		cs[i].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		codec_set_string(&get->id, id);
		bl_request(&cs[i].tpl[K_REPORT], addr,
		           BL_CASE("ReportIncident"), fx->rep, &r->base);
		bl_request(&cs[i].tpl[K_GET], addr, BL_CASE("GetCase"), fx->rep,
		           &get->base);
		bl_request(&cs[i].tpl[K_LIST], addr, BL_CASE("ListCases"),
		           fx->rep, &list->base);
	}
	codec_free(&r->base);
	codec_free(&get->base);
	codec_free(&list->base);
}

/* The size of a GetCase reply: what the bare responder answers with. */
static size_t
reply_size(const char *addr, const struct conn_state *cs)
{
	struct buf body = BUF_INIT;
	size_t n;

	if (bl_roundtrip(addr, &cs->tpl[K_GET], NULL, NULL, &body) != 200)
		bl_die("GetCase failed during setup");
	n = body.len;
	buf_free(&body);
	return n;
}

static void
print_run(const char *who, struct stats *st, uint64_t reconnects,
          struct figures *total, struct figures kf[K_COUNT])
{
	*total = figures_total(st);
	printf("%s:\n", who);
	figures_print("all", total);
	for (int k = 0; k < K_COUNT; k++) {
		kf[k] = figures_of(&st->k[k], st->elapsed);
		if (kf[k].n != 0 && kf[k].n != total->n)
			figures_print(kind_names[k], &kf[k]);
	}
	printf("  status 2xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %" PRIu64
	       ", reconnects %" PRIu64 "\n",
	       st->status[2], st->status[4], st->status[5], reconnects);
}

/* --probe-fsync: a write and an fsync of PROBE_BYTES every PROBE_EVERY_US
 * in a file of its own, on a thread of its own, until stopped. */
#define PROBE_BYTES 4096
#define PROBE_EVERY_US 20000

struct probe {
	char *path;
	int fd;
	pthread_t thread;
	atomic_bool stop;
	struct samples s; /* s.errors: failed writes or fsyncs */
	char err[256];    /* the first failure */
};

static void *
probe_main(void *arg)
{
	struct probe *p = arg;
	char block[PROBE_BYTES];

	memset(block, 'p', sizeof(block));
	while (!atomic_load(&p->stop)) {
		int64_t t0 = bl_now_us(), left;

		if (pwrite(p->fd, block, sizeof(block), 0) !=
		        (ssize_t)sizeof(block) ||
		    fsync(p->fd) != 0) {
			if (p->s.errors++ == 0)
				snprintf(p->err, sizeof(p->err), "%s: %s",
				         p->path, strerror(errno));
		} else {
			samples_add(&p->s, bl_now_us() - t0);
		}
		left = PROBE_EVERY_US - (bl_now_us() - t0);
		if (left > 0)
			usleep((useconds_t)left);
	}
	return NULL;
}

static void
probe_start(struct probe *p, const char *dir)
{
	memset(p, 0, sizeof(*p));
	{
		char name[64];

		/* Its own name: two runs may share a directory. */
		snprintf(name, sizeof(name), "csirt-bench-fsync-probe.%d",
		         (int)getpid());
		p->path = util_path_join(dir, name);
	}
	p->fd = open(p->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (p->fd < 0)
		bl_die("--probe-fsync: cannot create %s: %s", p->path,
		       strerror(errno));
	atomic_init(&p->stop, false);
	if (pthread_create(&p->thread, NULL, probe_main, p) != 0)
		bl_die("--probe-fsync: cannot start its thread");
}

/* Stops the probe, prints its figures and adds them to `json` (when not
 * NULL), and removes its file. */
static void
probe_finish(struct probe *p, double elapsed, struct buf *json)
{
	struct figures f;

	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	close(p->fd);
	unlink(p->path);
	f = figures_of(&p->s, elapsed);
	printf("  fsync    %9" PRIu64 " probes  p50 %7.2f  p95 %7.2f  p99 "
	       "%7.2f  max %8.2f ms  %" PRIu64 " errors (%d KiB written "
	       "and fsynced every %d ms beside the load)\n",
	       f.n, f.p50, f.p95, f.p99, f.max, f.errors, PROBE_BYTES / 1024,
	       PROBE_EVERY_US / 1000);
	if (f.errors > 0)
		printf("  fsync probe failed: %s\n", p->err);
	if (json != NULL)
		buf_printf(json,
		           ",\"fsync_probe\":{\"probes\":%" PRIu64
		           ",\"errors\":%" PRIu64 ",\"p50_ms\":%.3f,"
		           "\"p95_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}",
		           f.n, f.errors, f.p50, f.p95, f.p99, f.max);
	free(p->s.us);
	free(p->path);
}

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"csirtd", required_argument, NULL, 'c'},
	    {"addr", required_argument, NULL, 'a'},
	    {"token", required_argument, NULL, 't'},
	    {"workload", required_argument, NULL, 'w'},
	    {"connections", required_argument, NULL, 'n'},
	    {"cases", required_argument, NULL, 'C'},
	    {"seconds", required_argument, NULL, 's'},
	    {"warmup", required_argument, NULL, 'W'},
	    {"interval", required_argument, NULL, 'i'},
	    {"bare", required_argument, NULL, 'b'},
	    {"json", required_argument, NULL, 'j'},
	    {"probe-fsync", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	o->wl = &workloads[4];
	o->connections = 64;
	o->seconds = 10;
	o->warmup = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->csirtd = optarg;
			break;
		case 'a':
			o->addr = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'w':
			o->wl = NULL;
			for (size_t i = 0;
			     i < sizeof(workloads) / sizeof(workloads[0]); i++)
				if (strcmp(optarg, workloads[i].name) == 0)
					o->wl = &workloads[i];
			if (o->wl == NULL) {
				fprintf(stderr,
				        "csirt-bench: unknown workload "
				        "\"%s\"\n",
				        optarg);
				exit(2);
			}
			break;
		case 'n':
			o->connections = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->connections < 1 ||
			    o->connections > MAX_CONNECTIONS) {
				fprintf(stderr,
				        "csirt-bench: --connections must be "
				        "1..%d\n",
				        MAX_CONNECTIONS);
				exit(2);
			}
			break;
		case 'C':
			o->cases = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->cases < 1 ||
			    o->cases > MAX_CASES) {
				fprintf(stderr,
				        "csirt-bench: --cases must be 1..%d\n",
				        MAX_CASES);
				exit(2);
			}
			break;
		case 's':
		case 'W': {
			double v = strtod(optarg, &end);
			if (*end != '\0' || !(v >= 0 && v <= 86400) ||
			    (ch == 's' && v == 0)) {
				fprintf(stderr,
				        "csirt-bench: --%s must be a number of "
				        "seconds\n",
				        ch == 's' ? "seconds" : "warmup");
				exit(2);
			}
			*(ch == 's' ? &o->seconds : &o->warmup) = v;
			break;
		}
		case 'i': {
			double v = strtod(optarg, &end);
			if (*end != '\0' || !(v >= 0.1 && v <= 86400)) {
				fprintf(stderr,
				        "csirt-bench: --interval must be "
				        "0.1 seconds or more\n");
				exit(2);
			}
			o->interval = v;
			break;
		}
		case 'b':
			o->bare = optarg;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'p':
			o->probe = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || (o->csirtd == NULL) == (o->addr == NULL) ||
	    (o->addr != NULL && o->token == NULL)) {
		usage(stderr);
		exit(2);
	}
	if (o->interval > o->seconds) {
		fprintf(stderr, "csirt-bench: --interval is longer than "
		                "--seconds\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct bl_child daemon = {0}, bare = {0};
	struct bl_fixture fx = {0};
	struct stats st, bst;
	struct figures total, kf[K_COUNT], btotal = {0}, bkf[K_COUNT];
	struct cpu_use cpu, bcpu;
	struct bl_conn *conns;
	struct conn_state *cs;
	struct buf json = BUF_INIT, intervals = BUF_INIT,
	           writer_json = BUF_INIT, probe_json = BUF_INIT;
	struct probe probe;
	struct writer_snap writer[2];
	char *dir = NULL, *data = NULL, *log = NULL, *admin = NULL;
	char **cases;
	const char *addr;
	uint64_t reconnects, breconnects = 0;
	size_t reply_bytes;
	int k, ncases;

	bl_prog = "csirt-bench";
	parse_opts(&o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (o.csirtd != NULL) {
		char tmpl[] = "/tmp/csirt-bench.XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			bl_die("mkdtemp: %s", strerror(errno));
		dir = util_strdup(tmpl);
		data = util_path_join(dir, "var");
		log = util_path_join(dir, "csirtd.log");
		admin = bl_csirtd_init(o.csirtd, data, log);
		bl_csirtd_start(&daemon, o.csirtd, data, log);
		addr = daemon.addr;
	} else {
		addr = o.addr;
		admin = util_strdup(o.token);
	}
	conns = util_xcalloc((size_t)o.connections, sizeof(*conns));
	cs = util_xcalloc((size_t)o.connections, sizeof(*cs));
	bl_fixture_setup(&fx, addr, admin);
	ncases = o.cases != 0 ? o.cases : o.connections;
	cases = util_xcalloc((size_t)ncases, sizeof(*cases));
	for (k = 0; k < ncases; k++)
		cases[k] = bl_report(&fx, addr, "ベンチマーク: 対象事案");
	conns_prepare(conns, cs, o.connections, &fx, cases, ncases, addr);
	reply_bytes = reply_size(addr, &cs[0]);

	printf("csirt-bench: workload %s, %d connections, %.0f s (+%.0f s "
	       "warm-up), csirtd at %s\n",
	       o.wl->name, o.connections, o.seconds, o.warmup, addr);
	fflush(stdout);
	if (o.probe)
		probe_start(&probe, dir != NULL ? dir : ".");
	reconnects = run_load(&st, &cpu, o.csirtd != NULL ? daemon.pid : 0,
	                      addr, conns, o.connections, o.wl, o.warmup,
	                      o.seconds, o.interval, &intervals, writer);
	print_run("csirtd", &st, reconnects, &total, kf);
	cpu_print("  CPU     ", &cpu, total.n);
	writer_print(&writer[0], &writer[1], st.elapsed, &writer_json);
	if (o.probe)
		probe_finish(&probe, st.elapsed + o.warmup, &probe_json);

	if (o.bare != NULL) {
		char size[32];
		const char *argv_b[] = {o.bare, "--size", size, NULL};

		snprintf(size, sizeof(size), "%zu", reply_bytes);
		bl_child_start(&bare, argv_b, NULL);
		breconnects =
		    run_load(&bst, &bcpu, 0, bare.addr, conns, o.connections,
		             o.wl, o.warmup, o.seconds, 0, NULL, NULL);
		bl_child_stop(&bare, SIGTERM);
		printf("bare evhttp responder, %zu-byte replies to the same "
		       "requests:\n",
		       reply_bytes);
		print_run("evhttp-bare", &bst, breconnects, &btotal, bkf);
		printf("ratio csirtd/bare: %.3f of the throughput, p99 %.1fx "
		       "the latency\n",
		       btotal.rps > 0 ? total.rps / btotal.rps : 0,
		       btotal.p99 > 0 ? total.p99 / btotal.p99 : 0);
	}

	if (o.json != NULL) {
		FILE *f =
		    strcmp(o.json, "-") == 0 ? stdout : fopen(o.json, "w");

		if (f == NULL)
			bl_die("cannot write %s: %s", o.json, strerror(errno));
		buf_printf(&json,
		           "{\"workload\":\"%s\",\"connections\":%d,"
		           "\"seconds\":%.1f,",
		           o.wl->name, o.connections, st.elapsed);
		figures_json(&json, "all", &total);
		for (k = 0; k < K_COUNT; k++) {
			if (kf[k].n == 0)
				continue;
			buf_putc(&json, ',');
			figures_json(&json, kind_names[k], &kf[k]);
		}
		if (o.bare != NULL) {
			buf_putc(&json, ',');
			figures_json(&json, "bare", &btotal);
			buf_printf(&json, ",\"ratio\":%.4f",
			           btotal.rps > 0 ? total.rps / btotal.rps : 0);
		}
		if (cpu.have)
			cpu_json(&json, &cpu, total.n);
		if (writer_json.len > 0)
			buf_put(&json, writer_json.data, writer_json.len);
		if (probe_json.len > 0)
			buf_put(&json, probe_json.data, probe_json.len);
		if (o.interval > 0)
			buf_printf(&json, ",\"intervals\":[%s]",
			           intervals.data != NULL ? intervals.data
			                                  : "");
		buf_printf(&json, ",\"reconnects\":%" PRIu64 "}\n",
		           reconnects + breconnects);
		fputs(json.data, f);
		if (f != stdout && fclose(f) != 0)
			bl_die("cannot write %s", o.json);
	}

	bl_child_stop(&daemon, SIGTERM);
	if (dir != NULL)
		bl_rmrf(dir);
	for (k = 0; k < K_COUNT; k++) {
		free(st.k[k].us);
		if (o.bare != NULL)
			free(bst.k[k].us);
	}
	for (int i = 0; i < o.connections; i++) {
		buf_free(&conns[i].in);
		for (k = 0; k < K_COUNT; k++)
			buf_free(&cs[i].tpl[k]);
		for (size_t j = 0; j < cs[i].nnotes; j++)
			buf_free(&cs[i].notes[j]);
		free(cs[i].notes);
	}
	for (k = 0; k < ncases; k++)
		free(cases[k]);
	free(cases);
	free(conns);
	free(cs);
	buf_free(&json);
	buf_free(&intervals);
	buf_free(&writer_json);
	buf_free(&probe_json);
	free(dir);
	free(data);
	free(log);
	free(admin);
	return 0;
}
