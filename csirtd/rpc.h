/*
 * rpc.h - the Twirp layer: one table of every RPC (its handler, the roles
 * allowed to call it), authentication, decoding and encoding, and the
 * hand-off of commands to the ledger writer.  Runs on the loop thread;
 * handlers never block on disk writes.
 */
#ifndef CSIRT_RPC_H
#define CSIRT_RPC_H

#include <stdbool.h>

#include "crypto.h"
#include "csirt/v1/service.pb-c.h"
#include "server.h"
#include "writer.h"

struct index;
struct keystore;
struct rpc;

struct rpc_env {
	struct server *srv;
	struct writer *w;
	struct index *ix;    /* read-only connection, loop thread */
	struct keystore *ks; /* loop thread: token look-ups, key reads */
	/* The storage thread's own read-write connection to the keystore:
	 * every keystore write runs there (rpc_ctx.io, .io_after), never on
	 * the loop, whose connection only reads (WAL lets both go on). */
	struct keystore *ks_io;
	/* Evidence (issue 6): the data directory (staging/, ledger.git),
	 * the key-encryption key (borrowed) and the limits from config. */
	const char *data_dir;
	const struct crypto_kek *kek;
	uint64_t evidence_max_bytes;
	uint64_t evidence_upload_ttl_s;
	uint64_t evidence_uploads_max;
};

#define ROLE_BIT(r) (1u << (CSIRT__V1__ROLE__ROLE_##r))
#define ROLES_ALL                                                              \
	(ROLE_BIT(REPORTER) | ROLE_BIT(SECURITY_MANAGER) |                     \
	 ROLE_BIT(CSIRT_LEAD) | ROLE_BIT(INVESTIGATOR) | ROLE_BIT(AUDITOR) |   \
	 ROLE_BIT(ADMIN))

/* A handler returns 0 with *out set (answered now), RPC_PENDING after
 * rpc_submit() (answered when the writer is done), or a CSIRT_E* code with
 * the message set. */
#define RPC_PENDING 1

struct rpc_ctx;
typedef int (*rpc_handler)(struct rpc_ctx *ctx, const ProtobufCMessage *in,
                           ProtobufCMessage **out);
/* Builds the response of a write from the finished command. */
typedef int (*rpc_finish)(struct rpc_ctx *ctx, ProtobufCMessage **out);

struct rpc_method {
	const char *path; /* "/twirp/csirt.v1.CaseService/GetCase" */
	const ProtobufCMessageDescriptor *in;
	rpc_handler fn;
	unsigned roles;  /* ROLE_BIT()s allowed to call it */
	size_t max_body; /* largest request body; the server's
	                    max_body_bytes caps every method first */
};

struct rpc_ctx {
	struct rpc *rpc;
	const struct rpc_method *m;
	struct server_req *req;
	bool json;
	Csirt__V1__User *user; /* the authenticated caller */
	ProtobufCMessage *in;  /* the decoded request, owned */
	struct writer_cmd cmd;
	rpc_finish finish;
	void *scratch;  /* a handler's own state, freed with free() */
	double started; /* monotonic seconds, for the latency histogram */
	/* Called on the loop thread when the writer finished the command
	 * (or its io failed), whatever the outcome (rc), before io_after and
	 * `finish`: undo or complete what the handler prepared outside the
	 * ledger (uploads, cursors). */
	void (*after_write)(struct rpc_ctx *ctx, int rc);
	/* Keystore writes for this call, run on the storage thread with
	 * env->ks_io, never on the loop (each is an fsync): `io` before the
	 * command goes to the writer (a key must be durable before the event
	 * that needs it; on failure the call is answered with its error and
	 * nothing is written), `io_after` once the writer is done, with its
	 * outcome, after after_write and before the reply (remove a refused
	 * item's key, destroy a disposed item's keys).  They may touch only
	 * ctx->scratch, read ctx->cmd, and use the keystore; they return 0
	 * or a CSIRT_E* code with the message set. */
	int (*io)(struct rpc_ctx *ctx, struct keystore *ks);
	int (*io_after)(struct rpc_ctx *ctx, struct keystore *ks, int rc);
	struct rpc_item_key *item_key; /* see rpc_item_key_store() */
	/* CSIRT_ETAMPER from this call is the content's, not the daemon's:
	 * answer data_loss with the message instead of internal. */
	bool content_tamper;
};

int rpc_new(struct rpc **out, const struct rpc_env *env);
/* The server is created after the RPC layer (it needs rpc_handle). */
void rpc_set_server(struct rpc *r, struct server *srv);
void rpc_free(struct rpc *r);
/* Prometheus text exposition of the RPC and writer metrics. */
void rpc_metrics_write(struct rpc *r, struct buf *out);
/* The server's entry point for /twirp/ requests. */
void rpc_handle(void *arg, struct server_req *req);

/* Authenticates "Bearer <token>" (the Authorization header; NULL when
 * absent) against the keystore and the index: 0 with *out set to the
 * active user (caller frees with codec_free()), CSIRT_EUNAUTHENTICATED
 * with the message set, or a storage error.  Loop thread; logs nothing,
 * so the caller logs the denial. */
int rpc_authenticate_bearer(Csirt__V1__User **out, struct rpc *r,
                            const char *header);

/* Any thread (the writer's commit hook, `void *` for that): parked
 * WatchEvents calls look again on the loop thread. */
void rpc_commit_kick(void *rpc);
/* Loop thread (the server's stop hook): answers every parked call, and
 * later ones at once. */
void rpc_stop_cb(void *rpc);

/* For handlers: */
/* Answers a call its handler left RPC_PENDING; takes ownership of `out`
 * (NULL when rc != 0) and frees ctx.  Loop thread. */
void rpc_reply(struct rpc_ctx *ctx, int rc, ProtobufCMessage *out);
const struct rpc_env *rpc_env(const struct rpc_ctx *ctx);
/* Queues `ev` (ownership passes) as the caller, after ctx->io when set;
 * `finish` builds the reply.  RPC_PENDING, or an error when the writer
 * refuses at once (never with ctx->io set: that refusal comes later, to
 * io_after and after_write like any other outcome). */
int rpc_submit(struct rpc_ctx *ctx, Csirt__V1__Event *ev, const char *note_text,
               rpc_finish finish);
/* An item's new key (a sealed note version's, an evidence version's),
 * wrapped, waiting to be stored: part of the handler's scratch. */
struct rpc_item_key {
	const char *kind; /* "note", "evidence" */
	char key_id[64];
	unsigned char wrapped[CRYPTO_WRAPPED_KEY_LEN];
};
/* Sets the call's io and io_after for `k` (borrowed from ctx->scratch):
 * stored on the storage thread before the event is queued, so that an
 * acknowledged item is always readable; removed there again if the writer
 * refuses the event; the wrapped copy wiped either way. */
void rpc_item_key_store(struct rpc_ctx *ctx, struct rpc_item_key *k);
/* A call with keystore work and no ledger event: runs `io` on the storage
 * thread, then `finish` on the loop.  Returns RPC_PENDING. */
int rpc_io(struct rpc_ctx *ctx, int (*io)(struct rpc_ctx *, struct keystore *),
           rpc_finish finish);
/* Logs a denial with actor, method and reason (every denial is logged). */
void rpc_deny_log(const struct rpc_ctx *ctx, const char *reason);

/* Returns the case if the caller may see it, else CSIRT_ENOTFOUND (a
 * reporter asking for another division's case learns nothing).  Caller
 * frees with case_free(). */
int rpc_case_visible(struct rpc_ctx *ctx, const char *id,
                     Csirt__V1__Case **out);

/* rpc_case.c, shared with rpc_request.c: a case event with `case_id`
 * (caller owns it), and the finish of a write answered with the case after
 * the event (CaseResponse). */
Csirt__V1__Event *rpc_event_new(const char *case_id);
int rpc_finish_case(struct rpc_ctx *ctx, ProtobufCMessage **out);

/* Handlers (rpc_case.c, rpc_stats.c, rpc_directory.c); the table in rpc.c maps
 * paths to them. */
#define RPC_HANDLER(name)                                                      \
	int name(struct rpc_ctx *ctx, const ProtobufCMessage *in,              \
	         ProtobufCMessage **out)
RPC_HANDLER(rpc_report_incident);
RPC_HANDLER(rpc_get_case);
RPC_HANDLER(rpc_list_cases);
RPC_HANDLER(rpc_update_case);
RPC_HANDLER(rpc_case_action);
RPC_HANDLER(rpc_assign_investigators);
RPC_HANDLER(rpc_add_note);
RPC_HANDLER(rpc_edit_note);
RPC_HANDLER(rpc_get_note_versions);
RPC_HANDLER(rpc_get_history);
RPC_HANDLER(rpc_get_statistics); /* rpc_stats.c */
RPC_HANDLER(rpc_watch_events);   /* rpc_watch.c */
/* rpc_request.c: 第13.2 requests and physical items */
RPC_HANDLER(rpc_create_request);
RPC_HANDLER(rpc_request_action);
RPC_HANDLER(rpc_respond_to_request);
RPC_HANDLER(rpc_list_requests);
RPC_HANDLER(rpc_register_item);
RPC_HANDLER(rpc_item_custody);
RPC_HANDLER(rpc_whoami);
RPC_HANDLER(rpc_create_division);
RPC_HANDLER(rpc_list_divisions);
RPC_HANDLER(rpc_create_user);
RPC_HANDLER(rpc_update_user);
RPC_HANDLER(rpc_disable_user);
RPC_HANDLER(rpc_list_users);
RPC_HANDLER(rpc_issue_token);
RPC_HANDLER(rpc_list_tokens);
RPC_HANDLER(rpc_revoke_token);

/* rpc_watch.c: the parked WatchEvents calls of one struct rpc. */
struct rpc_watch;
struct rpc_watch *rpc_watch_of(const struct rpc_ctx *ctx);
/* Caller frees with rpc_watch_free() once nothing is parked. */
struct rpc_watch *rpc_watch_new(struct rpc *r);
void rpc_watch_free(struct rpc_watch *wl);
/* Any thread: posts one re-query of the parked calls to the loop. */
void rpc_watch_kick(struct rpc_watch *wl, struct server *srv);
/* Loop thread: answers every parked call (empty), and later ones at once. */
void rpc_watch_stop(struct rpc_watch *wl);

/* rpc_evidence.c: EvidenceService (issue 6) and its loop-side state
 * (staging uploads, download cursors) of one struct rpc. */
RPC_HANDLER(rpc_evidence_begin);
RPC_HANDLER(rpc_evidence_append);
RPC_HANDLER(rpc_evidence_status);
RPC_HANDLER(rpc_evidence_cancel);
RPC_HANDLER(rpc_evidence_commit);
RPC_HANDLER(rpc_evidence_list);
RPC_HANDLER(rpc_evidence_history);
RPC_HANDLER(rpc_evidence_download);
RPC_HANDLER(rpc_evidence_dispose);
RPC_HANDLER(rpc_evidence_reclassify);
struct rpc_evidence;
struct rpc_evidence *rpc_evidence_of(const struct rpc_ctx *ctx);
/* Removes staging files left by an earlier run (their keys died with
 * it).  Caller frees with rpc_evidence_free(). */
struct rpc_evidence *rpc_evidence_new(const struct rpc_env *env);
void rpc_evidence_free(struct rpc_evidence *ev);
/* Loop thread, before the server is freed: drops the sweep timer for
 * good (rpc_stop_cb() calls it). */
void rpc_evidence_stop(struct rpc_evidence *ev);
/* Loop thread, about once a minute: drops expired uploads. */
void rpc_evidence_sweep(struct rpc_evidence *ev);

/*
 * The content-access rule (README "Classification and content access"):
 * classify_may_read() for the caller's role and the content's 機密性, an
 * investigator only on a case they are assigned to (a reporter's division
 * is already checked by rpc_case_visible()).  0 or CSIRT_EDENIED.
 */
int rpc_content_readable(struct rpc_ctx *ctx, const Csirt__V1__Case *c,
                         const Csirt__V1__Classification *cl);

/* rpc_content.c: 機密性高・中 note text (issue 6).  rpc_note_seal()
 * encrypts `text` under a new key and sets the command's note_cipher
 * fields and the call's io (stores the wrapped key before the event is
 * queued), io_after (removes it if the writer refuses the event) and
 * after_write; the handler then calls rpc_submit(), which answers through
 * them whatever happens.  rpc_note_open() decrypts one version from its
 * blob and key and checks it against `digest_hex` (its text_mac, or the
 * text_sha256 of an older event); caller frees *out. */
int rpc_note_seal(struct rpc_ctx *ctx, const char *text);
int rpc_note_open(char **out, struct rpc_ctx *ctx, const char *blob,
                  const char *key_id, const char *digest_hex);

/* The method of the current request ("Escalate"), for shared handlers. */
const char *rpc_method_name(const struct rpc_ctx *ctx);

#endif
