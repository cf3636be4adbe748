/*
 * csirtd.c - the daemon's entry point: options, configuration, subcommands.
 *
 *   csirtd [run]      serve the API on the configured address (default)
 *   csirtd init       create a data directory and its first administrator
 *   csirtd rebuild    rebuild the SQLite index from the ledger
 *
 * Everything else lives in the core library; this file only wires it up.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "datadir.h"
#include "deadline.h"
#include "error.h"
#include "index.h"
#include "keystore.h"
#include "ledger.h"
#include "log.h"
#include "malloc_info.h"
#include "mirror.h"
#include "rpc.h"
#include "server.h"
#include "util.h"
#include "writer.h"

enum { EXIT_USAGE = 2, EXIT_CONFIG = 3, EXIT_RUNTIME = 1 };

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: csirtd [options] [run | init | rebuild | issue-token "
	        "LOGIN]\n"
	        "\n"
	        "Incident-response case tracking for the CSIRT (第13).\n"
	        "\n"
	        "commands:\n"
	        "  run        serve the API (default)\n"
	        "  init       create the data directory and the first "
	        "administrator;\n"
	        "             prints the administrator's token once\n"
	        "  rebuild    rebuild index.sqlite from the ledger\n"
	        "  issue-token LOGIN\n"
	        "             break-glass, with the daemon stopped: a new "
	        "token for the\n"
	        "             active administrator LOGIN, printed once\n"
	        "\n"
	        "options:\n"
	        "  -c, --config FILE    read settings from FILE "
	        "(\"key = value\" lines)\n"
	        "  -d, --data DIR       data directory (default ./var)\n"
	        "  -l, --listen ADDR:PORT\n"
	        "                       address to serve on (default "
	        "127.0.0.1:8080;\n"
	        "                       port 0 picks a free port)\n"
	        "  -v, --log-level LVL  debug, info, warn or error\n"
	        "  -n                   check the configuration, print it and "
	        "exit\n"
	        "  -h, --help           show this help\n"
	        "  -V, --version        show the version\n"
	        "\n"
	        "exit status: 0 ok, 1 runtime error, 2 usage, 3 bad "
	        "configuration\n");
}

struct flag {
	const char *key;
	const char *value;
};

static int
cmd_init(const struct config *cfg)
{
	char token[CRYPTO_TOKEN_LEN];
	char *allowed = util_path_join(cfg->data_dir, "keys/allowed_signers");
	int rc;

	rc = datadir_init(cfg->data_dir, "admin", token);
	if (rc != 0) {
		fprintf(stderr, "csirtd: init: %s\n", csirt_error_msg());
		free(allowed);
		return EXIT_RUNTIME;
	}
	printf("csirtd: initialised %s\n"
	       "administrator login: admin\n"
	       "administrator token: %s\n"
	       "  (shown once; only its hash is stored. Keep it safe.)\n"
	       "ledger signing key (for auditors): %s\n",
	       cfg->data_dir, token, allowed);
	fflush(stdout);
	crypto_wipe(token, sizeof(token));
	free(allowed);
	return 0;
}

static int
cmd_rebuild(const struct config *cfg)
{
	uint64_t events = 0;

	if (datadir_rebuild(cfg->data_dir, &events) != 0) {
		fprintf(stderr, "csirtd: rebuild: %s\n", csirt_error_msg());
		return EXIT_RUNTIME;
	}
	printf("csirtd: rebuilt index.sqlite from %llu ledger events\n",
	       (unsigned long long)events);
	return 0;
}

static int
cmd_issue_token(const struct config *cfg, const char *login)
{
	char token[CRYPTO_TOKEN_LEN], id[CRYPTO_TOKEN_ID_LEN];

	if (datadir_issue_token(cfg->data_dir, login, token, id) != 0) {
		fprintf(stderr, "csirtd: issue-token: %s\n", csirt_error_msg());
		return EXIT_RUNTIME;
	}
	printf("token for %s (id %s): %s\n"
	       "  (shown once; only its hash is stored. Revoke lost ones with "
	       "RevokeToken.)\n",
	       login, id, token);
	fflush(stdout);
	crypto_wipe(token, sizeof(token));
	return 0;
}

static uint64_t
ledger_seq_cb(void *arg)
{
	return writer_last_seq(arg);
}

/* What SIGHUP re-reads: the file and the flags that override it. */
struct reload {
	const char *config_path;
	const struct flag *flags;
	size_t nflags;
	const struct config *active;
	struct server *srv;
};

static int
config_build(struct config *cfg, const char *path, const struct flag *flags,
             size_t nflags)
{
	if (path != NULL && config_load_file(cfg, path) != 0)
		return -1;
	for (size_t i = 0; i < nflags; i++)
		if (config_set(cfg, flags[i].key, flags[i].value) != 0)
			return -1;
	return config_validate(cfg);
}

/* SIGHUP: the log level and the request limits change at once; the
 * address, data directory and TLS files need a restart (said in the
 * log).  A bad file keeps the running configuration. */
static void
reload_cb(void *arg)
{
	struct reload *r = arg;
	struct config next;

	config_init(&next);
	if (config_build(&next, r->config_path, r->flags, r->nflags) != 0) {
		log_error("reload refused; keeping the running configuration",
		          "error", csirt_error_msg());
		goto done;
	}
	log_set_level(next.log_level);
	server_set_limits(r->srv, &next);
	if (strcmp(next.listen, r->active->listen) != 0 ||
	    strcmp(next.data_dir, r->active->data_dir) != 0 ||
	    strcmp(next.tls_cert, r->active->tls_cert) != 0 ||
	    strcmp(next.tls_key, r->active->tls_key) != 0 ||
	    strcmp(next.tls_client_ca, r->active->tls_client_ca) != 0)
		log_warn("listen, data and tls_* changes need a restart");
	if (next.report_delay_limit_min != r->active->report_delay_limit_min ||
	    config_ack_limit_ms(&next) != config_ack_limit_ms(r->active) ||
	    strcmp(next.auto_escalate_categories,
	           r->active->auto_escalate_categories) != 0)
		log_warn("deadline and auto_escalate_categories changes need a "
		         "restart");
	if (next.checkpoint_events != r->active->checkpoint_events ||
	    next.checkpoint_interval_s != r->active->checkpoint_interval_s ||
	    strcmp(next.mirrors, r->active->mirrors) != 0)
		log_warn("checkpoint_* and mirror changes need a restart");
	log_info("reloaded", "log_level",
	         next.log_level == LOGL_DEBUG  ? "debug"
	         : next.log_level == LOGL_INFO ? "info"
	         : next.log_level == LOGL_WARN ? "warn"
	                                       : "error");
done:
	config_free(&next);
}

/* The deadline scheduler's hooks into the server (deadline.h). */
static void
deadline_arm_cb(void *arg, int64_t delay_ms)
{
	server_timer_set(arg, delay_ms);
}

static void
deadline_post_cb(void *arg, void (*fn)(void *fn_arg), void *fn_arg)
{
	server_post(arg, fn, fn_arg);
}

/* `arg` points at the scheduler variable of cmd_run(). */
/* The listeners of the writer's commit hook (writer thread): the deadline
 * scheduler (a new report may be the next deadline) and the parked
 * WatchEvents calls.  Both only post to the loop. */
struct commit_listeners {
	struct deadline_sched *ds;
	struct rpc *rpc;
	struct writer *w;
	struct mirror *mirror; /* pushes after each batch (may be NULL) */
};

static void
commit_hook_cb(void *arg)
{
	struct commit_listeners *cl = arg;

	if (writer_batch_moved_deadlines(cl->w))
		deadline_sched_kick(cl->ds);
	rpc_commit_kick(cl->rpc);
	mirror_notify(cl->mirror, writer_last_seq(cl->w));
}

static void
deadline_timer_cb(void *arg)
{
	struct deadline_sched **ds = arg;

	if (*ds != NULL)
		deadline_sched_run(*ds);
}

/* What /metrics reports beyond the RPC layer's own. */
struct metrics_env {
	struct rpc *rpc;
	struct writer *w;
	struct mirror *mirror;
	const struct crypto_signer *signer;
};

static void
metrics_cb(void *arg, struct buf *out)
{
	struct metrics_env *me = arg;
	struct writer_stats ws;
	struct crypto_nonce_stats ns;
	struct index_wal_io wal;
	struct ledger_merge_io mio;

	rpc_metrics_write(me->rpc, out);
	writer_get_stats(me->w, &ws);
	buf_printf(out,
	           "# HELP csirt_checkpoints_total Signed checkpoints "
	           "committed since start.\n"
	           "# TYPE csirt_checkpoints_total counter\n"
	           "csirt_checkpoints_total %" PRIu64 "\n"
	           "# HELP csirt_checkpoint_size Tree size of the newest "
	           "checkpoint committed since start.\n"
	           "# TYPE csirt_checkpoint_size gauge\n"
	           "csirt_checkpoint_size %" PRIu64 "\n",
	           ws.checkpoints, ws.checkpoint_size);
	crypto_signer_nonce_stats(me->signer, &ns);
	buf_printf(out,
	           "# HELP csirt_signatures_total Ledger signatures since "
	           "start, by nonce: made ahead by the nonces thread, or "
	           "RFC 8032's on the spot (the pool was empty).\n"
	           "# TYPE csirt_signatures_total counter\n"
	           "csirt_signatures_total{nonce=\"precomputed\"} %" PRIu64 "\n"
	           "csirt_signatures_total{nonce=\"rfc8032\"} %" PRIu64 "\n"
	           "# HELP csirt_signing_nonces_ready Precomputed signing "
	           "nonces in the pool.\n"
	           "# TYPE csirt_signing_nonces_ready gauge\n"
	           "csirt_signing_nonces_ready %zu\n",
	           ns.pooled, ns.fallback, ns.ready);
	index_wal_io(&wal);
	buf_printf(out,
	           "# HELP csirt_index_wal_bytes_total Bytes the index's "
	           "connections read from and wrote to its WAL, by way: "
	           "through its mapping, or by pread and pwrite.\n"
	           "# TYPE csirt_index_wal_bytes_total counter\n"
	           "csirt_index_wal_bytes_total{op=\"read\",via=\"mapping\"} "
	           "%" PRIu64 "\n"
	           "csirt_index_wal_bytes_total{op=\"read\",via=\"syscall\"} "
	           "%" PRIu64 "\n"
	           "csirt_index_wal_bytes_total{op=\"write\",via=\"mapping\"} "
	           "%" PRIu64 "\n"
	           "csirt_index_wal_bytes_total{op=\"write\",via=\"syscall\"} "
	           "%" PRIu64 "\n",
	           wal.read_mapped, wal.read_syscall, wal.written_mapped,
	           wal.written_syscall);
	ledger_merge_io(&mio);
	buf_printf(
	    out,
	    "# HELP csirt_ledger_merge_bytes_total Bytes the pack "
	    "merges read from their sources and wrote to the merged "
	    "packs, by way: sources mapped or read with O_DIRECT, "
	    "merged packs written with O_DIRECT or through the page "
	    "cache.\n"
	    "# TYPE csirt_ledger_merge_bytes_total counter\n"
	    "csirt_ledger_merge_bytes_total{op=\"read\",via=\"mapping\"} "
	    "%" PRIu64 "\n"
	    "csirt_ledger_merge_bytes_total{op=\"read\",via=\"direct\"} "
	    "%" PRIu64 "\n"
	    "csirt_ledger_merge_bytes_total{op=\"write\",via=\"direct\"} "
	    "%" PRIu64 "\n"
	    "csirt_ledger_merge_bytes_total{op=\"write\",via=\"cache\"} "
	    "%" PRIu64 "\n",
	    mio.read_mapped, mio.read_direct, mio.written_direct,
	    mio.written_buffered);
	mirror_metrics_write(me->mirror, out);
}

/* Who may clone the ledger (DESIGN.md §2): auditors and the CSIRT lead,
 * with a bearer token like any Twirp call. */
#define LEDGER_READERS (ROLE_BIT(AUDITOR) | ROLE_BIT(CSIRT_LEAD))

static int
ledger_auth_cb(void *arg, const char *authorization, char *actor,
               size_t actor_size)
{
	Csirt__V1__User *user = NULL;
	int rc = rpc_authenticate_bearer(&user, arg, authorization);

	if (rc != 0)
		return rc;
	snprintf(actor, actor_size, "%s", user->login);
	if ((LEDGER_READERS & (1u << user->role)) == 0)
		rc = csirt_error_set(CSIRT_EDENIED,
		                     "%s may not read the ledger", user->login);
	codec_free(&user->base);
	return rc;
}

/* The mirrors of the configuration (one per line of cfg->mirrors). */
static int
start_mirrors(struct mirror **out, const struct config *cfg,
              const char *ledger_dir)
{
	char *list = util_strdup(cfg->mirrors), *save = NULL, *line;
	const char **urls = NULL;
	size_t n = 0;
	int rc;

	for (line = strtok_r(list, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		urls = util_xrealloc(urls, (n + 1) * sizeof(*urls));
		urls[n++] = line;
	}
	rc = mirror_new(out, ledger_dir, urls, n, NULL);
	if (rc == 0 && n > 0) {
		char count[24];
		snprintf(count, sizeof(count), "%zu", n);
		log_info("mirroring the ledger", "mirrors", count);
	}
	free(urls);
	free(list);
	return rc;
}

/* `tls` is borrowed (NULL serves plain HTTP). */
static int
cmd_run(const struct config *cfg, struct crypto_tls *tls, struct reload *reload)
{
	struct datadir *dd = NULL;
	struct writer *w = NULL;
	struct server *srv = NULL;
	struct index *ix_read = NULL;
	struct keystore *ks_io = NULL;
	struct rpc *rpc = NULL;
	struct rpc_env env;
	struct server_ops ops = {0};
	struct writer_policy policy = {0};
	struct deadline_limits limits = {config_ack_limit_ms(cfg)};
	struct deadline_sched *ds = NULL;
	struct deadline_sched_ops ds_ops;
	struct commit_listeners cl;
	struct mirror *mirror = NULL;
	struct metrics_env me;
	char alloc[96];
	bool alloc_in_use;
	char *ixp = util_path_join(cfg->data_dir, "index.sqlite");
	char *ledger_dir = util_path_join(cfg->data_dir, "ledger.git");
	int rc = EXIT_RUNTIME;

	if (datadir_open(&dd, cfg->data_dir) != 0) {
		log_error("cannot open data directory", "path", cfg->data_dir,
		          "error", csirt_error_msg());
		goto done;
	}
	/* Ledger signatures with nonces made ahead (crypto.c); without the
	 * pool they are only slower. */
	if (crypto_signer_precompute(dd->signer, CRYPTO_NONCES) != 0)
		log_warn("signing without precomputed nonces", "error",
		         csirt_error_msg());
	if (writer_new(&w, dd->lg, dd->ix, cfg->writer_queue_depth,
	               cfg->writer_batch_max) != 0) {
		log_error("cannot start the ledger writer", "error",
		          csirt_error_msg());
		goto done;
	}
	policy.report_delay_limit_s = (int64_t)cfg->report_delay_limit_min * 60;
	if (config_category_mask(&policy.auto_escalate,
	                         cfg->auto_escalate_categories) != 0) {
		log_error("bad configuration", "error", csirt_error_msg());
		goto done;
	}
	writer_set_policy(w, &policy);
	{
		char *frontier =
		    util_path_join(cfg->data_dir, "checkpoint.frontier");
		int cprc = writer_set_checkpoints(
		    w, dd->signer, cfg->checkpoint_events,
		    cfg->checkpoint_interval_s, frontier);
		free(frontier);
		if (cprc != 0) {
			log_error("cannot rebuild the checkpoint tree", "error",
			          csirt_error_msg());
			goto done;
		}
	}
	/* Reads run on the loop thread on their own connection (WAL lets
	 * them proceed while the writer commits). */
	if (index_open_readonly(&ix_read, ixp) != 0) {
		log_error("cannot open the index for reading", "error",
		          csirt_error_msg());
		goto done;
	}
	/* Keystore writes run on the storage thread, on a connection of
	 * their own (rpc.h: rpc_ctx.io). */
	{
		char *ksp = util_path_join(cfg->data_dir, "keystore.sqlite");
		int ksrc = keystore_open(&ks_io, ksp);
		free(ksp);
		if (ksrc != 0) {
			log_error("cannot open the keystore", "error",
			          csirt_error_msg());
			goto done;
		}
	}
	memset(&env, 0, sizeof(env));
	env.w = w;
	env.ix = ix_read;
	env.ks = dd->ks;
	env.ks_io = ks_io;
	env.data_dir = cfg->data_dir;
	env.kek = dd->kek;
	env.evidence_max_bytes = cfg->evidence_max_bytes;
	env.evidence_upload_ttl_s = cfg->evidence_upload_ttl_s;
	env.evidence_uploads_max = cfg->evidence_uploads_max;
	rpc_new(&rpc, &env);
	ops.arg = w;
	ops.ledger_seq = ledger_seq_cb;
	ops.rpc = rpc_handle;
	ops.rpc_arg = rpc;
	ops.metrics = metrics_cb;
	me.rpc = rpc;
	me.w = w;
	me.mirror = NULL;
	me.signer = dd->signer;
	ops.metrics_arg = &me;
	ops.reload = reload_cb;
	ops.reload_arg = reload;
	ops.timer = deadline_timer_cb;
	ops.timer_arg = &ds;
	ops.tls = tls;
	ops.ledger_dir = ledger_dir;
	ops.ledger_auth = ledger_auth_cb;
	ops.ledger_auth_arg = rpc;
	ops.stop = rpc_stop_cb;
	ops.stop_arg = rpc;
	if (server_new(&srv, cfg, &ops) != 0) {
		log_error("cannot start", "error", csirt_error_msg());
		goto done;
	}
	/* Before the writer runs: its commit hook reaches the server. */
	rpc_set_server(rpc, srv);
	/* Deadlines scan the loop's read connection; the writer kicks a scan
	 * after every batch (a new report may be the next deadline). */
	ds_ops.arm = deadline_arm_cb;
	ds_ops.post = deadline_post_cb;
	ds_ops.arg = srv;
	deadline_sched_new(&ds, ix_read, w, NULL, &limits, &ds_ops);
	cl.ds = ds;
	cl.rpc = rpc;
	cl.w = w;
	cl.mirror = NULL;
	if (start_mirrors(&mirror, cfg, ledger_dir) != 0) {
		log_error("cannot start the mirrors", "error",
		          csirt_error_msg());
		goto done;
	}
	cl.mirror = mirror;
	me.mirror = mirror;
	writer_set_commit_hook(w, commit_hook_cb, &cl);
	if (writer_start(w) != 0) {
		log_error("cannot start the ledger writer", "error",
		          csirt_error_msg());
		goto done;
	}
	deadline_sched_run(ds);                    /* re-arm from the index */
	mirror_notify(mirror, writer_last_seq(w)); /* catch up after a stop */
	reload->srv = srv;
	malloc_info_name(alloc, sizeof(alloc), &alloc_in_use);
	log_info("listening", "scheme", server_scheme(srv), "addr",
	         server_address(srv), "client_certs",
	         tls != NULL && crypto_tls_mtls(tls) ? "required" : "no",
	         "data", cfg->data_dir, "version", CSIRT_VERSION, "allocator",
	         alloc_in_use ? alloc : "system");
	printf("csirtd listening on %s://%s\n", server_scheme(srv),
	       server_address(srv));
	fflush(stdout);
	if (server_run(srv) != 0) {
		log_error("event loop failed", "error", csirt_error_msg());
		goto done;
	}
	log_info("stopped");
	rc = 0;
done:
	/* The writer finishes queued commands first; their replies are
	 * posted to the server, which sends what it can as it closes.  The
	 * scheduler stops submitting first; its last completions run in
	 * server_free().  Parked watchers were answered by the server's
	 * stop hook; this covers a loop that failed instead. */
	if (srv != NULL)
		rpc_stop_cb(rpc);
	deadline_sched_stop(ds);
	writer_stop(w);
	mirror_free(mirror); /* after the writer: pushes its last batch */
	server_free(srv);
	deadline_sched_free(ds);
	rpc_free(rpc);
	keystore_close(ks_io);
	index_close(ix_read);
	writer_free(w);
	datadir_close(dd);
	free(ixp);
	free(ledger_dir);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"data", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"log-level", required_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct config cfg;
	struct crypto_tls *tls = NULL;
	struct flag flags[8];
	size_t nflags = 0;
	const char *config_path = NULL, *command = "run", *token_login = NULL;
	int ch, check_only = 0, rc = EXIT_RUNTIME;

	config_init(&cfg);
	while ((ch = getopt_long(argc, argv, "c:d:l:v:nhV", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			flags[nflags++] = (struct flag){"data", optarg};
			break;
		case 'l':
			flags[nflags++] = (struct flag){"listen", optarg};
			break;
		case 'v':
			flags[nflags++] = (struct flag){"log_level", optarg};
			break;
		case 'n':
			check_only = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto done;
		case 'V': {
			char alloc[96];
			bool in_use;

			malloc_info_name(alloc, sizeof(alloc), &in_use);
			printf("csirtd %s\nallocator: %s%s\n", CSIRT_VERSION,
			       alloc, in_use ? "" : " (linked, not in use)");
			rc = 0;
			goto done;
		}
		default:
			usage(stderr);
			rc = EXIT_USAGE;
			goto done;
		}
		if (nflags == UTIL_ARRAY_LEN(flags)) {
			fprintf(stderr, "csirtd: too many options\n");
			rc = EXIT_USAGE;
			goto done;
		}
	}
	if (optind < argc)
		command = argv[optind++];
	if (strcmp(command, "issue-token") == 0) {
		if (optind == argc) {
			fprintf(stderr, "csirtd: issue-token needs the "
			                "administrator's LOGIN\n");
			usage(stderr);
			rc = EXIT_USAGE;
			goto done;
		}
		token_login = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "csirtd: unexpected argument \"%s\"\n",
		        argv[optind]);
		usage(stderr);
		rc = EXIT_USAGE;
		goto done;
	}
	if (strcmp(command, "run") != 0 && strcmp(command, "init") != 0 &&
	    strcmp(command, "rebuild") != 0 && token_login == NULL) {
		fprintf(stderr, "csirtd: unknown command \"%s\"\n", command);
		usage(stderr);
		rc = EXIT_USAGE;
		goto done;
	}

	if (config_build(&cfg, config_path, flags, nflags) != 0)
		goto config_error;
	/* The certificate and key are part of the configuration: a bad pair
	 * is a configuration error (status 3) for -n and for run alike. */
	if ((check_only || strcmp(command, "run") == 0) &&
	    config_tls_enabled(&cfg) &&
	    crypto_tls_new(&tls, cfg.tls_cert, cfg.tls_key,
	                   cfg.tls_client_ca) != 0)
		goto config_error;
	log_set_level(cfg.log_level);
	if (check_only) {
		config_print(&cfg, stdout);
		if (tls != NULL)
			printf("# TLS OK%s\n", crypto_tls_mtls(tls)
			                           ? ", client certificates "
			                             "required"
			                           : "");
		printf("# configuration OK\n");
		rc = 0;
		goto done;
	}

	signal(SIGPIPE, SIG_IGN);
	if (strcmp(command, "init") == 0)
		rc = cmd_init(&cfg);
	else if (strcmp(command, "rebuild") == 0)
		rc = cmd_rebuild(&cfg);
	else if (token_login != NULL)
		rc = cmd_issue_token(&cfg, token_login);
	else
		rc = cmd_run(
		    &cfg, tls,
		    &(struct reload){config_path, flags, nflags, &cfg, NULL});
	goto done;

config_error:
	fprintf(stderr, "csirtd: %s\n", csirt_error_msg());
	rc = EXIT_CONFIG;
done:
	crypto_tls_free(tls);
	config_free(&cfg);
	return rc;
}
