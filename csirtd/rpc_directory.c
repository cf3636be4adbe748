/*
 * rpc_directory.c - DirectoryService handlers: users, divisions, tokens.
 *
 * Users and divisions are ledger events (auditors see who was given which
 * role, and when); tokens are secrets and live only in the keystore, as
 * hashes.  A token is shown exactly once, in the IssueToken reply, and is
 * never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "index.h"
#include "keystore.h"
#include "layout.h"
#include "rpc.h"
#include "util.h"

/* Messages built here are fully owned (codec.h); `d` picks the type. */
#define msg_new(d) ((void *)codec_new(d))

RPC_HANDLER(rpc_whoami)
{
	Csirt__V1__UserResponse *r =
	    msg_new(&csirt__v1__user_response__descriptor);

	(void)in;
	r->user = (Csirt__V1__User *)codec_clone(&ctx->user->base);
	*out = &r->base;
	return 0;
}

static int
finish_division(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	Csirt__V1__DivisionResponse *r =
	    msg_new(&csirt__v1__division_response__descriptor);

	r->division = (Csirt__V1__Division *)codec_clone(
	    &ctx->cmd.ev->division_created->division->base);
	r->seq = ctx->cmd.seq;
	codec_set_string(&r->commit, ctx->cmd.commit);
	*out = &r->base;
	return 0;
}

RPC_HANDLER(rpc_create_division)
{
	const Csirt__V1__CreateDivisionRequest *r = (const void *)in;
	Csirt__V1__Event *ev;
	Csirt__V1__Division *d;

	(void)out;
	if (r->division == NULL)
		return csirt_error_set(CSIRT_EINVAL, "division is required");
	d = (Csirt__V1__Division *)codec_clone(&r->division->base);
	codec_set_string(&d->created_at, NULL); /* the server's time */
	ev = msg_new(&csirt__v1__event__descriptor);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED;
	ev->division_created =
	    msg_new(&csirt__v1__division_created__descriptor);
	ev->division_created->division = d;
	return rpc_submit(ctx, ev, NULL, finish_division);
}

struct list_state {
	ProtobufCMessage ***items;
	size_t *n;
	size_t cap;
};

static void
list_push(struct list_state *st, const ProtobufCMessage *m)
{
	if (*st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		*st->items =
		    util_xrealloc(*st->items, st->cap * sizeof(**st->items));
	}
	(*st->items)[(*st->n)++] = codec_clone(m);
}

static int
division_cb(const Csirt__V1__Division *d, void *arg)
{
	list_push(arg, &d->base);
	return 0;
}

RPC_HANDLER(rpc_list_divisions)
{
	Csirt__V1__ListDivisionsResponse *r =
	    msg_new(&csirt__v1__list_divisions_response__descriptor);
	struct list_state st = {(ProtobufCMessage ***)(void *)&r->divisions,
	                        &r->n_divisions, 0};
	int rc;

	(void)in;
	if ((rc = index_divisions_list(rpc_env(ctx)->ix, division_cb, &st)) !=
	    0) {
		codec_free(&r->base);
		return rc;
	}
	*out = &r->base;
	return 0;
}

static int
user_cb(const Csirt__V1__User *u, void *arg)
{
	list_push(arg, &u->base);
	return 0;
}

RPC_HANDLER(rpc_list_users)
{
	const Csirt__V1__ListUsersRequest *q = (const void *)in;
	Csirt__V1__ListUsersResponse *r =
	    msg_new(&csirt__v1__list_users_response__descriptor);
	struct list_state st = {(ProtobufCMessage ***)(void *)&r->users,
	                        &r->n_users, 0};
	int rc;

	if ((rc = index_users_list(rpc_env(ctx)->ix,
	                           q->division[0] ? q->division : NULL,
	                           (int)q->role, user_cb, &st)) != 0) {
		codec_free(&r->base);
		return rc;
	}
	*out = &r->base;
	return 0;
}

static int
finish_user(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	const Csirt__V1__Event *ev = ctx->cmd.ev;
	const Csirt__V1__User *u =
	    ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_USER_CREATED
	        ? ev->user_created->user
	        : ev->user_updated->user;
	Csirt__V1__UserResponse *r =
	    msg_new(&csirt__v1__user_response__descriptor);

	r->user = (Csirt__V1__User *)codec_clone(&u->base);
	r->seq = ctx->cmd.seq;
	codec_set_string(&r->commit, ctx->cmd.commit);
	*out = &r->base;
	return 0;
}

static int
submit_user(struct rpc_ctx *ctx, const Csirt__V1__User *in_user, bool create)
{
	Csirt__V1__User *u = (Csirt__V1__User *)codec_clone(&in_user->base);
	Csirt__V1__Event *ev = msg_new(&csirt__v1__event__descriptor);

	codec_set_string(&u->created_at, NULL);
	if (create) {
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_CREATED;
		ev->user_created =
		    msg_new(&csirt__v1__user_created__descriptor);
		ev->user_created->user = u;
	} else {
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_UPDATED;
		ev->user_updated =
		    msg_new(&csirt__v1__user_updated__descriptor);
		ev->user_updated->user = u;
	}
	return rpc_submit(ctx, ev, NULL, finish_user);
}

RPC_HANDLER(rpc_create_user)
{
	const Csirt__V1__CreateUserRequest *r = (const void *)in;

	(void)out;
	if (r->user == NULL)
		return csirt_error_set(CSIRT_EINVAL, "user is required");
	return submit_user(ctx, r->user, true);
}

RPC_HANDLER(rpc_update_user)
{
	const Csirt__V1__UpdateUserRequest *r = (const void *)in;

	(void)out;
	if (r->user == NULL)
		return csirt_error_set(CSIRT_EINVAL, "user is required");
	return submit_user(ctx, r->user, false);
}

RPC_HANDLER(rpc_disable_user)
{
	const Csirt__V1__DisableUserRequest *r = (const void *)in;
	Csirt__V1__User *u = NULL;
	int rc;

	(void)out;
	if (!layout_name_valid(r->login))
		return csirt_error_set(CSIRT_EINVAL, "login is invalid");
	if (strcmp(r->login, ctx->user->login) == 0)
		return csirt_error_set(
		    CSIRT_ESTATE,
		    "an administrator cannot disable their own account");
	if ((rc = index_user_get(&u, rpc_env(ctx)->ix, r->login)) != 0) {
		if (rc == CSIRT_ENOTFOUND)
			csirt_error_set(rc, "user %s not found", r->login);
		return rc;
	}
	u->disabled = 1;
	rc = submit_user(ctx, u, false);
	codec_free(&u->base);
	return rc;
}

/* A token being issued: the storage thread stores its hash, the reply
 * shows the token once; wiped on every path. */
struct issue {
	char token[CRYPTO_TOKEN_LEN], hash[CRYPTO_SHA256_HEX_LEN];
	char id[CRYPTO_TOKEN_ID_LEN];
	char login[128];
};

static int
issue_token_io(struct rpc_ctx *ctx, struct keystore *ks)
{
	struct issue *is = ctx->scratch;
	int rc = keystore_token_add(ks, is->id, is->login, is->hash,
	                            util_time_now_ms());

	if (rc != 0)
		crypto_wipe(is->token, sizeof(is->token));
	return rc;
}

static int
issue_token_finish(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	struct issue *is = ctx->scratch;
	Csirt__V1__IssueTokenResponse *resp =
	    msg_new(&csirt__v1__issue_token_response__descriptor);

	codec_set_string(&resp->token_id, is->id);
	codec_set_string(&resp->token, is->token);
	crypto_wipe(is->token, sizeof(is->token));
	*out = &resp->base;
	return 0;
}

RPC_HANDLER(rpc_issue_token)
{
	const Csirt__V1__IssueTokenRequest *r = (const void *)in;
	Csirt__V1__User *u = NULL;
	struct issue *is;
	int rc;

	(void)out;
	if ((rc = index_user_get(&u, rpc_env(ctx)->ix, r->login)) != 0) {
		if (rc == CSIRT_ENOTFOUND)
			csirt_error_set(rc, "user %.64s not found", r->login);
		return rc;
	}
	rc = u->disabled ? csirt_error_set(CSIRT_ESTATE, "user %s is disabled",
	                                   r->login)
	                 : 0;
	codec_free(&u->base);
	if (rc != 0)
		return rc;
	is = util_xcalloc(1, sizeof(*is));
	snprintf(is->login, sizeof(is->login), "%s", r->login);
	crypto_token_issue(is->token, is->hash, is->id);
	ctx->scratch = is;
	return rpc_io(ctx, issue_token_io, issue_token_finish);
}

static Csirt__V1__TokenInfo *
token_info(const char *id, const char *login, int64_t created_ms,
           int64_t revoked_ms)
{
	Csirt__V1__TokenInfo *t = msg_new(&csirt__v1__token_info__descriptor);
	char ts[UTIL_TIME_LEN];

	codec_set_string(&t->token_id, id);
	codec_set_string(&t->login, login);
	util_time_format_ms(ts, sizeof(ts), created_ms);
	codec_set_string(&t->created_at, ts);
	if (revoked_ms > 0) {
		util_time_format_ms(ts, sizeof(ts), revoked_ms);
		codec_set_string(&t->revoked_at, ts);
	}
	return t;
}

static int
token_cb(const char *id, const char *login, int64_t created_ms,
         int64_t revoked_ms, void *arg)
{
	Csirt__V1__TokenInfo *t = token_info(id, login, created_ms, revoked_ms);

	list_push(arg, &t->base);
	codec_free(&t->base);
	return 0;
}

RPC_HANDLER(rpc_list_tokens)
{
	const Csirt__V1__ListTokensRequest *q = (const void *)in;
	Csirt__V1__ListTokensResponse *r =
	    msg_new(&csirt__v1__list_tokens_response__descriptor);
	struct list_state st = {(ProtobufCMessage ***)(void *)&r->tokens,
	                        &r->n_tokens, 0};
	int rc;

	if ((rc = keystore_tokens_list(rpc_env(ctx)->ks,
	                               q->login[0] ? q->login : NULL, token_cb,
	                               &st)) != 0) {
		codec_free(&r->base);
		return rc;
	}
	(void)ctx;
	*out = &r->base;
	return 0;
}

struct find_token {
	const char *id;
	Csirt__V1__TokenInfo *found;
};

static int
find_token_cb(const char *id, const char *login, int64_t created_ms,
              int64_t revoked_ms, void *arg)
{
	struct find_token *f = arg;

	if (strcmp(id, f->id) == 0 && f->found == NULL)
		f->found = token_info(id, login, created_ms, revoked_ms);
	return 0;
}

struct revoke {
	Csirt__V1__TokenInfo *found;
	char token_id[]; /* as given: an unknown one is not_found */
};

static int
revoke_token_io(struct rpc_ctx *ctx, struct keystore *ks)
{
	struct revoke *rv = ctx->scratch;
	struct find_token f = {rv->token_id, NULL};
	int rc;

	if ((rc = keystore_token_revoke(ks, rv->token_id,
	                                util_time_now_ms())) != 0)
		return rc;
	if ((rc = keystore_tokens_list(ks, NULL, find_token_cb, &f)) != 0) {
		codec_free(f.found != NULL ? &f.found->base : NULL);
		return rc;
	}
	rv->found = f.found;
	return 0;
}

static int
revoke_token_finish(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	struct revoke *rv = ctx->scratch;
	Csirt__V1__RevokeTokenResponse *r =
	    msg_new(&csirt__v1__revoke_token_response__descriptor);

	r->token = rv->found;
	rv->found = NULL;
	*out = &r->base;
	return 0;
}

RPC_HANDLER(rpc_revoke_token)
{
	const Csirt__V1__RevokeTokenRequest *q = (const void *)in;
	size_t n = strlen(q->token_id);
	struct revoke *rv = util_xcalloc(1, sizeof(*rv) + n + 1);

	(void)out;
	memcpy(rv->token_id, q->token_id, n + 1);
	ctx->scratch = rv;
	return rpc_io(ctx, revoke_token_io, revoke_token_finish);
}
