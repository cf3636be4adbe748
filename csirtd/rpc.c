/*
 * rpc.c - the Twirp v7 layer (twitchtv/twirp docs/spec_v7.md).
 *
 * Owns the method table (path -> request type, handler, roles), the order
 * of checks every call goes through, and the mapping of error codes to
 * Twirp errors.  It must never let an unauthenticated or unauthorised call
 * reach a handler, never decode a body before the caller is known, and
 * never answer a request twice.
 *
 * A call: route (bad_route) -> content type (bad_route) -> bearer token
 * (unauthenticated) -> role (permission_denied) -> decode (malformed) ->
 * handler.  Reads answer at once from the index; writes go to the ledger
 * writer and are answered on the loop thread when the writer posts back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "http.h"
#include "index.h"
#include "keystore.h"
#include "layout.h"
#include "lifecycle.h"
#include "log.h"
#include "offload.h"
#include "rpc.h"
#include "util.h"

#define CASE_READERS                                                           \
	(ROLE_BIT(REPORTER) | ROLE_BIT(SECURITY_MANAGER) |                     \
	 ROLE_BIT(CSIRT_LEAD) | ROLE_BIT(INVESTIGATOR) | ROLE_BIT(AUDITOR))
#define SM ROLE_BIT(SECURITY_MANAGER)
#define LEAD ROLE_BIT(CSIRT_LEAD)
#define CSIRT                                                                  \
	(ROLE_BIT(SECURITY_MANAGER) | ROLE_BIT(CSIRT_LEAD) |                   \
	 ROLE_BIT(INVESTIGATOR))
#define ADMIN ROLE_BIT(ADMIN)

/* Request bodies: a report or correction carries a case (description up
 * to 64 KiB, equipment, classification); a note or a case step (guidance,
 * resolution) up to 64 KiB of text; everything else a few ids. */
#define LIMIT_REPORT (256 * 1024)
#define LIMIT_NOTE (128 * 1024)
#define LIMIT_SMALL (16 * 1024)

/* An evidence chunk: 1 MiB of data, base64 in JSON (4/3), and framing. */
#define LIMIT_CHUNK (1400 * 1024 + 16 * 1024)

#define CASE(m) "/twirp/csirt.v1.CaseService/" m
#define EVID(m) "/twirp/csirt.v1.EvidenceService/" m
#define DIR(m) "/twirp/csirt.v1.DirectoryService/" m
#define IN(t) &csirt__v1__##t##__descriptor

/* Every RPC: who may call it.  Division scoping (a reporter sees and acts
 * on their own division only) and the case lifecycle are enforced below
 * this table, by the handlers and the writer. */
static const struct rpc_method methods[] = {
    {CASE("ReportIncident"), IN(report_incident_request), rpc_report_incident,
     ROLE_BIT(REPORTER) | SM, LIMIT_REPORT},
    {CASE("GetCase"), IN(get_case_request), rpc_get_case, CASE_READERS,
     LIMIT_SMALL},
    {CASE("ListCases"), IN(list_cases_request), rpc_list_cases, CASE_READERS,
     LIMIT_SMALL},
    {CASE("UpdateCase"), IN(update_case_request), rpc_update_case,
     ROLE_BIT(REPORTER) | SM | LEAD, LIMIT_REPORT},
    {CASE("Acknowledge"), IN(case_action_request), rpc_case_action, SM,
     LIMIT_NOTE},
    {CASE("GiveGuidance"), IN(case_action_request), rpc_case_action, SM,
     LIMIT_NOTE},
    {CASE("Escalate"), IN(case_action_request), rpc_case_action, SM,
     LIMIT_NOTE},
    {CASE("Dismiss"), IN(case_action_request), rpc_case_action, SM, LIMIT_NOTE},
    {CASE("OpenInvestigation"), IN(case_action_request), rpc_case_action, LEAD,
     LIMIT_NOTE},
    {CASE("AssignInvestigators"), IN(assign_investigators_request),
     rpc_assign_investigators, LEAD, LIMIT_SMALL},
    {CASE("AddNote"), IN(add_note_request), rpc_add_note, CSIRT, LIMIT_NOTE},
    {CASE("EditNote"), IN(edit_note_request), rpc_edit_note, CSIRT, LIMIT_NOTE},
    {CASE("GetNoteVersions"), IN(get_note_versions_request),
     rpc_get_note_versions, CASE_READERS, LIMIT_SMALL},
    {CASE("Resolve"), IN(case_action_request), rpc_case_action, LEAD,
     LIMIT_NOTE},
    {CASE("Close"), IN(case_action_request), rpc_case_action, SM | LEAD,
     LIMIT_NOTE},
    {CASE("Reopen"), IN(case_action_request), rpc_case_action, LEAD,
     LIMIT_NOTE},
    {CASE("GetHistory"), IN(get_history_request), rpc_get_history, CASE_READERS,
     LIMIT_SMALL},
    {CASE("GetStatistics"), IN(get_statistics_request), rpc_get_statistics,
     CASE_READERS, LIMIT_SMALL},
    /* Not the administrator: the directory events alone are not worth a
     * scoping rule, and case content is not theirs. */
    {CASE("WatchEvents"), IN(watch_events_request), rpc_watch_events,
     CASE_READERS, LIMIT_SMALL},
    /* 第13.2 requests and physical items (rpc_request.c): the CSIRT (the
     * lead, an investigator assigned to the case: the writer checks)
     * asks, the 所属長 of the case's division answers; auditors read. */
    {CASE("CreateRequest"), IN(create_request_request), rpc_create_request,
     LEAD | ROLE_BIT(INVESTIGATOR), LIMIT_NOTE},
    {CASE("AcknowledgeRequest"), IN(request_action_request), rpc_request_action,
     ROLE_BIT(REPORTER), LIMIT_NOTE},
    {CASE("RespondToRequest"), IN(respond_to_request_request),
     rpc_respond_to_request, ROLE_BIT(REPORTER), LIMIT_REPORT},
    {CASE("FulfilRequest"), IN(request_action_request), rpc_request_action,
     LEAD | ROLE_BIT(INVESTIGATOR), LIMIT_NOTE},
    {CASE("CancelRequest"), IN(request_action_request), rpc_request_action,
     LEAD | ROLE_BIT(INVESTIGATOR), LIMIT_NOTE},
    {CASE("ListRequests"), IN(list_requests_request), rpc_list_requests,
     CASE_READERS, LIMIT_SMALL},
    {CASE("RegisterItem"), IN(register_item_request), rpc_register_item,
     LEAD | ROLE_BIT(INVESTIGATOR), LIMIT_NOTE},
    {CASE("TransferItem"), IN(item_custody_request), rpc_item_custody,
     LEAD | ROLE_BIT(INVESTIGATOR), LIMIT_NOTE},
    {CASE("ReturnItem"), IN(item_custody_request), rpc_item_custody,
     LEAD | ROLE_BIT(INVESTIGATOR), LIMIT_NOTE},
    {CASE("DisposeItem"), IN(item_custody_request), rpc_item_custody,
     LEAD | ROLE_BIT(INVESTIGATOR), LIMIT_NOTE},
    {DIR("WhoAmI"), IN(who_am_irequest), rpc_whoami, ROLES_ALL, LIMIT_SMALL},
    {DIR("CreateDivision"), IN(create_division_request), rpc_create_division,
     ADMIN, LIMIT_SMALL},
    {DIR("ListDivisions"), IN(list_divisions_request), rpc_list_divisions,
     ROLES_ALL, LIMIT_SMALL},
    {DIR("CreateUser"), IN(create_user_request), rpc_create_user, ADMIN,
     LIMIT_SMALL},
    {DIR("UpdateUser"), IN(update_user_request), rpc_update_user, ADMIN,
     LIMIT_SMALL},
    {DIR("DisableUser"), IN(disable_user_request), rpc_disable_user, ADMIN,
     LIMIT_SMALL},
    {DIR("ListUsers"), IN(list_users_request), rpc_list_users,
     ADMIN | SM | LEAD | ROLE_BIT(AUDITOR), LIMIT_SMALL},
    {DIR("IssueToken"), IN(issue_token_request), rpc_issue_token, ADMIN,
     LIMIT_SMALL},
    {DIR("ListTokens"), IN(list_tokens_request), rpc_list_tokens, ADMIN,
     LIMIT_SMALL},
    {DIR("RevokeToken"), IN(revoke_token_request), rpc_revoke_token, ADMIN,
     LIMIT_SMALL},

    /* Evidence (issue 6): uploaded by those who may add notes; content
     * read per rpc_content_readable(); disposed (廃棄) by the lead. */
    {EVID("BeginEvidenceUpload"), IN(begin_evidence_upload_request),
     rpc_evidence_begin, CSIRT, LIMIT_SMALL},
    {EVID("AppendEvidence"), IN(append_evidence_request), rpc_evidence_append,
     CSIRT, LIMIT_CHUNK},
    {EVID("GetEvidenceUpload"), IN(get_evidence_upload_request),
     rpc_evidence_status, CSIRT, LIMIT_SMALL},
    {EVID("CancelEvidenceUpload"), IN(cancel_evidence_upload_request),
     rpc_evidence_cancel, CSIRT, LIMIT_SMALL},
    {EVID("CommitEvidenceUpload"), IN(commit_evidence_upload_request),
     rpc_evidence_commit, CSIRT, LIMIT_SMALL},
    {EVID("ListEvidence"), IN(list_evidence_request), rpc_evidence_list,
     CASE_READERS, LIMIT_SMALL},
    {EVID("GetEvidenceHistory"), IN(get_evidence_history_request),
     rpc_evidence_history, CASE_READERS, LIMIT_SMALL},
    {EVID("DownloadEvidence"), IN(download_evidence_request),
     rpc_evidence_download, CASE_READERS, LIMIT_SMALL},
    {EVID("DisposeEvidence"), IN(dispose_evidence_request),
     rpc_evidence_dispose, LEAD, LIMIT_NOTE},
    {EVID("ReclassifyEvidence"), IN(reclassify_evidence_request),
     rpc_evidence_reclassify, SM, LIMIT_NOTE},
};

/* Metrics, touched on the loop thread only. */
static const char *const metric_codes[] = {"ok",
                                           "invalid_argument",
                                           "malformed",
                                           "unauthenticated",
                                           "permission_denied",
                                           "not_found",
                                           "bad_route",
                                           "already_exists",
                                           "failed_precondition",
                                           "resource_exhausted",
                                           "unimplemented",
                                           "unavailable",
                                           "internal"};
#define NCODES UTIL_ARRAY_LEN(metric_codes)
#define NMETHODS UTIL_ARRAY_LEN(methods)
static const double metric_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS UTIL_ARRAY_LEN(metric_buckets)

/* Token lookups the loop thread made, by the token's hash (direct-mapped):
 * the keystore's read is a statement and a lock of its own per call (7 %
 * of csirt-bench get).  An entry holds while no token has been revoked
 * since it was made (keystore_token_generation()); a user disabled is
 * still refused, by the index's row read on every call. */
#define RPC_TOKEN_SLOTS 64
struct token_slot {
	char hash[CRYPTO_SHA256_HEX_LEN];
	char *login;
	uint64_t generation;
};

struct rpc {
	struct rpc_env env;
	struct token_slot tokens[RPC_TOKEN_SLOTS];
	/* [method or NMETHODS for unrouted][code] */
	uint64_t calls[NMETHODS + 1][NCODES];
	uint64_t hist[NBUCKETS + 1];
	double seconds;
	uint64_t answered;
	struct rpc_watch *watch;       /* parked WatchEvents calls */
	struct rpc_evidence *evidence; /* uploads and download cursors */
	struct offload *io;            /* the storage thread */
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts one answer (called once per request, on the loop thread). */
static void
metrics_count(struct rpc *r, const struct rpc_method *m, const char *code,
              double started)
{
	size_t mi = m != NULL ? (size_t)(m - methods) : NMETHODS, ci = NCODES;
	double secs = mono_now() - started;
	size_t b = 0;

	for (size_t i = 0; i < NCODES; i++)
		if (strcmp(metric_codes[i], code) == 0)
			ci = i;
	if (ci == NCODES)
		ci = NCODES - 1; /* anything else counts as internal */
	r->calls[mi][ci]++;
	while (b < NBUCKETS && secs > metric_buckets[b])
		b++;
	r->hist[b]++;
	r->seconds += secs;
	r->answered++;
}

void
rpc_metrics_write(struct rpc *r, struct buf *out)
{
	struct writer_stats ws;
	uint64_t cum = 0;

	buf_puts(out, "# HELP csirt_requests_total Twirp calls answered, by "
	              "method and code.\n"
	              "# TYPE csirt_requests_total counter\n");
	for (size_t m = 0; m <= NMETHODS; m++)
		for (size_t c = 0; c < NCODES; c++)
			if (r->calls[m][c] != 0)
				buf_printf(out,
				           "csirt_requests_total{method=\"%s\","
				           "code=\"%s\"} %llu\n",
				           m < NMETHODS ? methods[m].path + 7
				                        : "unrouted",
				           metric_codes[c],
				           (unsigned long long)r->calls[m][c]);
	buf_puts(out, "# HELP csirt_request_duration_seconds Time from "
	              "request to answer.\n"
	              "# TYPE csirt_request_duration_seconds histogram\n");
	for (size_t b = 0; b < NBUCKETS; b++) {
		cum += r->hist[b];
		buf_printf(out,
		           "csirt_request_duration_seconds_bucket{le=\"%g\"} "
		           "%llu\n",
		           metric_buckets[b], (unsigned long long)cum);
	}
	buf_printf(out,
	           "csirt_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	           "csirt_request_duration_seconds_sum %.6f\n"
	           "csirt_request_duration_seconds_count %llu\n",
	           (unsigned long long)r->answered, r->seconds,
	           (unsigned long long)r->answered);
	writer_get_stats(r->env.w, &ws);
	buf_printf(
	    out,
	    "# HELP csirt_ledger_seq Sequence number of the last durable "
	    "event.\n# TYPE csirt_ledger_seq gauge\ncsirt_ledger_seq %llu\n"
	    "# HELP csirt_writer_queue_depth Commands waiting for the "
	    "ledger writer.\n# TYPE csirt_writer_queue_depth gauge\n"
	    "csirt_writer_queue_depth %zu\n"
	    "# HELP csirt_writer_batches_total Durable batches.\n"
	    "# TYPE csirt_writer_batches_total counter\n"
	    "csirt_writer_batches_total %llu\n"
	    "# HELP csirt_writer_events_total Events made durable.\n"
	    "# TYPE csirt_writer_events_total counter\n"
	    "csirt_writer_events_total %llu\n"
	    "# HELP csirt_writer_batch_max Largest batch so far.\n"
	    "# TYPE csirt_writer_batch_max gauge\n"
	    "csirt_writer_batch_max %llu\n"
	    "# HELP csirt_writer_rejected_total Commands refused by "
	    "validation.\n# TYPE csirt_writer_rejected_total counter\n"
	    "csirt_writer_rejected_total %llu\n"
	    "# HELP csirt_writer_failed_total Commands failed by storage "
	    "errors.\n# TYPE csirt_writer_failed_total counter\n"
	    "csirt_writer_failed_total %llu\n"
	    "# HELP csirt_writer_slow_batches_total Batches that took a "
	    "second or more (each is logged with its phases).\n"
	    "# TYPE csirt_writer_slow_batches_total counter\n"
	    "csirt_writer_slow_batches_total %llu\n"
	    "# HELP csirt_writer_batch_seconds_max The longest batch so "
	    "far.\n# TYPE csirt_writer_batch_seconds_max gauge\n"
	    "csirt_writer_batch_seconds_max %llu.%06llu\n",
	    (unsigned long long)writer_last_seq(r->env.w),
	    writer_queue_len(r->env.w), (unsigned long long)ws.batches,
	    (unsigned long long)ws.events, (unsigned long long)ws.max_batch,
	    (unsigned long long)ws.rejected, (unsigned long long)ws.failed,
	    (unsigned long long)ws.slow_batches,
	    (unsigned long long)(ws.longest_batch_us / 1000000),
	    (unsigned long long)(ws.longest_batch_us % 1000000));
	buf_puts(out, "# HELP csirt_writer_seconds_total The ledger writer "
	              "thread's time, by phase of its batches.\n"
	              "# TYPE csirt_writer_seconds_total counter\n");
	for (size_t i = 0; i < WRITER_PHASES; i++)
		buf_printf(out,
		           "csirt_writer_seconds_total{phase=\"%s\"} "
		           "%llu.%06llu\n",
		           writer_phase_names[i],
		           (unsigned long long)(ws.phase_us[i] / 1000000),
		           (unsigned long long)(ws.phase_us[i] % 1000000));
	buf_printf(out,
	           "# HELP csirt_storage_queue_depth Keystore writes queued "
	           "or running on the storage thread.\n"
	           "# TYPE csirt_storage_queue_depth gauge\n"
	           "csirt_storage_queue_depth %u\n",
	           offload_pending(r->io));
}

/* Answers with a Twirp error: always JSON, whatever the request's type. */
static void
reply_error(struct server_req *req, const char *code, const char *msg)
{
	/* Counted by the caller (metrics_count). */
	struct buf b = BUF_INIT;

	int status = http_twirp_error(&b, code, msg, NULL, NULL);

	server_req_reply(req, status, "application/json", b.data, b.len);
	buf_free(&b);
}

static const char *
code_of(int rc)
{
	if (rc == CSIRT_ETAMPER)
		return "internal";
	return csirt_error_code_name(rc);
}

static void
ctx_free(struct rpc_ctx *ctx)
{
	if (ctx == NULL)
		return;
	writer_cmd_release(&ctx->cmd);
	codec_free(ctx->in);
	codec_free(ctx->user ? &ctx->user->base : NULL);
	free(ctx->scratch);
	free(ctx);
}

static void
finish_call(struct rpc_ctx *ctx, int rc, ProtobufCMessage *out)
{
	struct buf b = BUF_INIT;

	metrics_count(ctx->rpc, ctx->m,
	              rc == 0 ? "ok"
	                      : (rc == CSIRT_EFAIL || rc == CSIRT_ETAMPER
	                             ? "internal"
	                             : code_of(rc)),
	              ctx->started);

	/* Every permission_denied is logged here, whoever decided it (the
	 * method table, a handler, or the writer's lifecycle checks). */
	if (rc == CSIRT_EDENIED)
		rpc_deny_log(ctx, csirt_error_msg());
	if (rc == CSIRT_ETAMPER && ctx->content_tamper) {
		/* Content that fails its integrity checks: say so. */
		log_error("content failed verification", "id",
		          server_req_id(ctx->req), "error", csirt_error_msg());
		reply_error(ctx->req, "data_loss", csirt_error_msg());
	} else if (rc != 0) {
		/* Internal errors keep their detail in the log only. */
		if (rc == CSIRT_EFAIL || rc == CSIRT_ETAMPER) {
			log_error("rpc failed", "id", server_req_id(ctx->req),
			          "error", csirt_error_msg());
			reply_error(ctx->req, "internal",
			            "internal error; the request id is in the "
			            "X-Request-Id header for the operators");
		} else {
			reply_error(ctx->req, code_of(rc), csirt_error_msg());
		}
	} else if (ctx->json) {
		if (codec_to_json(&b, out, 0) != 0)
			reply_error(ctx->req, "internal", "encoding failed");
		else
			server_req_reply(ctx->req, 200, "application/json",
			                 b.data, b.len);
	} else {
		if (codec_pack(&b, out) != 0)
			reply_error(ctx->req, "internal", "encoding failed");
		else
			server_req_reply(ctx->req, 200, "application/protobuf",
			                 b.data, b.len);
	}
	buf_free(&b);
	codec_free(out);
	ctx_free(ctx);
}

void
rpc_reply(struct rpc_ctx *ctx, int rc, ProtobufCMessage *out)
{
	finish_call(ctx, rc, out);
}

struct rpc_watch *
rpc_watch_of(const struct rpc_ctx *ctx)
{
	return ctx->rpc->watch;
}

struct rpc_evidence *
rpc_evidence_of(const struct rpc_ctx *ctx)
{
	return ctx->rpc->evidence;
}

void
rpc_commit_kick(void *rpc)
{
	struct rpc *r = rpc;

	rpc_watch_kick(r->watch, r->env.srv);
}

void
rpc_stop_cb(void *rpc)
{
	struct rpc *r = rpc;

	rpc_watch_stop(r->watch);
	rpc_evidence_stop(r->evidence);
	/* Its queued jobs finish and post their completions, which the
	 * server still runs; later ones run at once on the loop. */
	offload_stop(r->io);
}

void
rpc_deny_log(const struct rpc_ctx *ctx, const char *reason)
{
	log_warn("denied", "id", server_req_id(ctx->req), "actor",
	         ctx->user ? ctx->user->login : "-", "method",
	         ctx->m ? ctx->m->path + 7 : server_req_path(ctx->req),
	         "reason", reason);
}

const struct rpc_env *
rpc_env(const struct rpc_ctx *ctx)
{
	return &ctx->rpc->env;
}

const char *
rpc_method_name(const struct rpc_ctx *ctx)
{
	return strrchr(ctx->m->path, '/') + 1;
}

int
rpc_case_visible(struct rpc_ctx *ctx, const char *id, Csirt__V1__Case **out)
{
	Csirt__V1__Case *c = NULL;
	int rc;

	*out = NULL;
	if (layout_case_id_parse(id, NULL, NULL) != 0)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "id: \"%.40s\" is not a case id like 2026-000123", id);
	rc = index_case_get(&c, ctx->rpc->env.ix, id);
	if (rc == CSIRT_ENOTFOUND ||
	    (rc == 0 && ctx->user->role == CSIRT__V1__ROLE__ROLE_REPORTER &&
	     strcmp(c->division, ctx->user->division) != 0)) {
		if (rc == 0)
			rpc_deny_log(ctx, "case of another division");
		case_free(c);
		return csirt_error_set(CSIRT_ENOTFOUND, "case %s not found",
		                       id);
	}
	if (rc != 0)
		return rc;
	*out = c;
	return 0;
}

/* The reply of a call whose command (and keystore work) is done: loop
 * thread. */
static void
complete_reply(void *arg)
{
	struct rpc_ctx *ctx = arg;
	ProtobufCMessage *out = NULL;
	int rc = ctx->cmd.rc;

	if (rc != 0)
		csirt_error_set(rc, "%s", ctx->cmd.err);
	else
		rc = ctx->finish(ctx, &out);
	finish_call(ctx, rc, out);
}

/* Keeps a storage-thread failure for the loop thread (errors are per
 * thread). */
static void
io_failed(struct rpc_ctx *ctx, int rc)
{
	ctx->cmd.rc = rc;
	snprintf(ctx->cmd.err, sizeof(ctx->cmd.err), "%s", csirt_error_msg());
}

static void
io_after_work(void *arg)
{
	struct rpc_ctx *ctx = arg;
	int rc = ctx->io_after(ctx, ctx->rpc->env.ks_io, ctx->cmd.rc);

	/* The command's outcome stands; a cleanup failure is logged. */
	if (rc != 0)
		log_error("keystore work after a command failed", "method",
		          rpc_method_name(ctx), "error", csirt_error_msg());
}

/* The writer finished a command (or ctx->io failed, or the writer
 * refused it): loop thread.  after_write, then io_after on the storage
 * thread, then the reply. */
static void
complete_loop_cb(void *arg)
{
	struct rpc_ctx *ctx = arg;

	if (ctx->after_write != NULL)
		ctx->after_write(ctx, ctx->cmd.rc);
	if (ctx->io_after != NULL) {
		offload_run(ctx->rpc->io, io_after_work, complete_reply, ctx);
		return;
	}
	complete_reply(ctx);
}

static void
command_done_cb(struct writer_cmd *cmd, void *arg)
{
	struct rpc_ctx *ctx = arg;

	(void)cmd;
	server_post(ctx->rpc->env.srv, complete_loop_cb, ctx);
}

static void
io_work(void *arg)
{
	struct rpc_ctx *ctx = arg;
	int rc = ctx->io(ctx, ctx->rpc->env.ks_io);

	if (rc != 0)
		io_failed(ctx, rc);
}

/* ctx->io is done: queue the command, or answer. */
static void
io_done(void *arg)
{
	struct rpc_ctx *ctx = arg;
	int rc;

	if (ctx->cmd.rc == 0 && ctx->cmd.ev != NULL) {
		if ((rc = writer_submit(ctx->rpc->env.w, &ctx->cmd)) == 0)
			return; /* command_done_cb follows */
		io_failed(ctx, rc);
	}
	complete_loop_cb(ctx);
}

int
rpc_submit(struct rpc_ctx *ctx, Csirt__V1__Event *ev, const char *note_text,
           rpc_finish finish)
{
	int rc;

	codec_set_string(&ev->actor, ctx->user->login);
	ev->role = ctx->user->role;
	ctx->cmd.ev = ev;
	ctx->cmd.note_text = note_text;
	ctx->cmd.done = command_done_cb;
	ctx->cmd.arg = ctx;
	ctx->finish = finish;
	if (ctx->io != NULL) {
		ctx->cmd.rc = 0;
		offload_run(ctx->rpc->io, io_work, io_done, ctx);
		return RPC_PENDING;
	}
	if ((rc = writer_submit(ctx->rpc->env.w, &ctx->cmd)) != 0)
		return rc;
	return RPC_PENDING;
}

static int
item_key_put(struct rpc_ctx *ctx, struct keystore *ks)
{
	const struct rpc_item_key *k = ctx->item_key;

	return keystore_key_put(ks, k->key_id, k->kind, k->wrapped,
	                        sizeof(k->wrapped), util_time_now_ms());
}

static int
item_key_after(struct rpc_ctx *ctx, struct keystore *ks, int rc)
{
	struct rpc_item_key *k = ctx->item_key;
	int err;

	crypto_wipe(k->wrapped, sizeof(k->wrapped));
	if (rc == 0)
		return 0;
	err = keystore_key_destroy(ks, k->key_id);
	return err == CSIRT_ENOTFOUND ? 0 : err;
}

void
rpc_item_key_store(struct rpc_ctx *ctx, struct rpc_item_key *k)
{
	ctx->item_key = k;
	ctx->io = item_key_put;
	ctx->io_after = item_key_after;
}

int
rpc_io(struct rpc_ctx *ctx, int (*io)(struct rpc_ctx *, struct keystore *),
       rpc_finish finish)
{
	ctx->io = io;
	ctx->finish = finish;
	ctx->cmd.rc = 0;
	offload_run(ctx->rpc->io, io_work, io_done, ctx);
	return RPC_PENDING;
}

static int
authenticate(struct rpc_ctx *ctx)
{
	const char *h = server_req_header(ctx->req, "Authorization");
	int rc;

	/* mTLS: a verified client certificate names the user (its CN or
	 * first SAN is the login); a bearer token, when also sent, wins. */
	if (h == NULL && server_req_peer_name(ctx->req) != NULL) {
		const char *peer = server_req_peer_name(ctx->req);
		rc = index_user_get(&ctx->user, ctx->rpc->env.ix, peer);
		if (rc == 0 && !ctx->user->disabled)
			return 0;
		if (rc != 0 && rc != CSIRT_ENOTFOUND)
			return rc;
		rpc_deny_log(ctx, "client certificate names no active user");
		return csirt_error_set(
		    CSIRT_EUNAUTHENTICATED,
		    "the client certificate \"%.64s\" names no active user",
		    peer);
	}
	rc = rpc_authenticate_bearer(&ctx->user, ctx->rpc, h);
	if (rc == CSIRT_EUNAUTHENTICATED)
		rpc_deny_log(ctx, h == NULL || strncmp(h, "Bearer ", 7) != 0
		                      ? "no bearer token"
		                      : "unknown, revoked or disabled token");
	return rc;
}

/* The login of the token whose hash is `hash` (caller frees), from the
 * cache or the keystore. */
static int
token_lookup(struct rpc *r, const char *hash, char **login)
{
	struct token_slot *t =
	    &r->tokens[((unsigned char)hash[0] * 31u + (unsigned char)hash[1]) %
	               RPC_TOKEN_SLOTS];
	uint64_t gen = keystore_token_generation();
	char *token_id = NULL;
	int rc;

	if (t->login != NULL && t->generation == gen &&
	    strcmp(t->hash, hash) == 0) {
		*login = util_strdup(t->login);
		return 0;
	}
	/* `gen` was read first: a revocation during the look-up leaves the
	 * entry stale at once. */
	rc = keystore_token_lookup(r->env.ks, hash, login, &token_id);
	free(token_id);
	if (rc == 0) {
		free(t->login);
		memcpy(t->hash, hash, sizeof(t->hash));
		t->login = util_strdup(*login);
		t->generation = gen;
	}
	return rc;
}

int
rpc_authenticate_bearer(Csirt__V1__User **out, struct rpc *r,
                        const char *header)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	char *login = NULL;
	int rc;

	*out = NULL;
	if (header == NULL || strncmp(header, "Bearer ", 7) != 0 ||
	    strlen(header) > 200)
		return csirt_error_set(
		    CSIRT_EUNAUTHENTICATED,
		    "missing \"Authorization: Bearer <token>\" header");
	crypto_token_hash(hash, header + 7);
	rc = token_lookup(r, hash, &login);
	if (rc == 0)
		rc = index_user_get(out, r->env.ix, login);
	if (rc == 0 && (*out)->disabled)
		rc = CSIRT_ENOTFOUND;
	free(login);
	if (rc != 0) {
		codec_free(*out ? &(*out)->base : NULL);
		*out = NULL;
	}
	if (rc == CSIRT_ENOTFOUND)
		return csirt_error_set(
		    CSIRT_EUNAUTHENTICATED,
		    "the token is not valid (unknown, revoked, or its user is "
		    "disabled)");
	return rc;
}

static void dispatch(struct rpc_ctx *ctx);

void
rpc_handle(void *arg, struct server_req *req)
{
	struct rpc *r = arg;
	struct rpc_ctx *ctx = util_xcalloc(1, sizeof(*ctx));
	const char *path = server_req_path(req), *ct;

	ctx->rpc = r;
	ctx->req = req;
	ctx->started = mono_now();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(methods); i++)
		if (strcmp(methods[i].path, path) == 0)
			ctx->m = &methods[i];
	if (ctx->m == NULL || strcmp(server_req_method(req), "POST") != 0) {
		reply_error(req, "bad_route",
		            ctx->m == NULL ? "no such method"
		                           : "Twirp methods take POST");
		ctx_free(ctx);
		return;
	}
	server_req_log(req, "method", ctx->m->path + 7);
	ct = server_req_header(req, "Content-Type");
	if (ct != NULL && strncmp(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';')) {
		ctx->json = true;
	} else if (ct == NULL || strncmp(ct, "application/protobuf", 20) != 0 ||
	           (ct[20] != '\0' && ct[20] != ';')) {
		reply_error(
		    req, "bad_route",
		    "unexpected Content-Type: use application/protobuf or "
		    "application/json");
		ctx_free(ctx);
		return;
	}
	/* One read transaction for the whole call (authentication, the
	 * method's reads): SQLite takes and drops its WAL read lock with
	 * fcntl() per transaction, and a statement on its own is one (19 %
	 * of the loop thread under csirt-bench get).  Ended before the
	 * loop goes on, so a later call sees every write acknowledged by
	 * then. */
	index_read_begin(r->env.ix);
	dispatch(ctx);
	index_read_end(r->env.ix);
}

/* rpc_handle() once the route and content type are known. */
static void
dispatch(struct rpc_ctx *ctx)
{
	struct rpc *r = ctx->rpc;
	struct server_req *req = ctx->req;
	ProtobufCMessage *out = NULL;
	const void *body;
	size_t len;
	int rc;

	if ((rc = authenticate(ctx)) != 0)
		goto fail;
	server_req_log(req, "actor", ctx->user->login);
	if ((ctx->m->roles & (1u << ctx->user->role)) == 0) {
		rc = csirt_error_set(
		    CSIRT_EDENIED, "%s may not call %s",
		    codec_enum_name(&csirt__v1__role__descriptor,
		                    ctx->user->role),
		    rpc_method_name(ctx));
		goto fail;
	}
	body = server_req_body(req, &len);
	if (len > ctx->m->max_body) {
		reply_error(req, "malformed",
		            "request body too large for this method");
		metrics_count(r, ctx->m, "malformed", ctx->started);
		ctx_free(ctx);
		return;
	}
	rc = ctx->json ? codec_from_json(&ctx->in, ctx->m->in, body, len, NULL)
	               : codec_unpack(&ctx->in, ctx->m->in, body, len, NULL);
	if (rc != 0) {
		reply_error(req, "malformed", csirt_error_msg());
		metrics_count(r, ctx->m, "malformed", ctx->started);
		ctx_free(ctx);
		return;
	}
	rc = ctx->m->fn(ctx, ctx->in, &out);
	if (rc == RPC_PENDING)
		return; /* the writer answers */
	finish_call(ctx, rc, out);
	return;
fail:
	finish_call(ctx, rc, NULL);
}

int
rpc_new(struct rpc **out, const struct rpc_env *env)
{
	struct rpc *r = util_xcalloc(1, sizeof(*r));

	r->env = *env;
	r->watch = rpc_watch_new(r);
	r->evidence = rpc_evidence_new(&r->env);
	r->io = offload_new();
	*out = r;
	return 0;
}

void
rpc_set_server(struct rpc *r, struct server *srv)
{
	r->env.srv = srv;
	/* Without the thread every job runs inline: slower, never wrong. */
	if (offload_start(r->io, srv) != 0)
		log_error("keystore writes will block the loop", "error",
		          csirt_error_msg());
}

void
rpc_free(struct rpc *r)
{
	if (r == NULL)
		return;
	rpc_watch_free(r->watch);
	rpc_evidence_free(r->evidence);
	offload_free(r->io);
	for (size_t i = 0; i < RPC_TOKEN_SLOTS; i++)
		free(r->tokens[i].login);
	free(r);
}
