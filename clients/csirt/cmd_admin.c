/*
 * cmd_admin.c - `csirt admin division|user|token ...`: the directory, for
 * administrators (who never see case content).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec.h"

#define NEW(type, desc) ((type *)codec_new(&(desc)))

/* Runs the RPC and prints the reply as JSON or with `print`. */
static int
admin_call(struct cli *cli, const char *method, ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *rdesc,
           void (*print)(const struct cli *, const ProtobufCMessage *))
{
	ProtobufCMessage *resp = NULL;
	int rc = cli_rpc(cli, method, req, rdesc, &resp);

	if (rc == CLI_OK) {
		if (cli->json)
			rc = cli_print_json(resp);
		else
			print(cli, resp);
	}
	codec_free(resp);
	codec_free(req);
	return rc;
}

static void
print_division(const struct cli *cli, const ProtobufCMessage *m)
{
	const Csirt__V1__DivisionResponse *r =
	    (const Csirt__V1__DivisionResponse *)m;

	if (r->division != NULL)
		cli_print_divisions(cli, &r->division, 1);
}

static void
print_divisions(const struct cli *cli, const ProtobufCMessage *m)
{
	const Csirt__V1__ListDivisionsResponse *r =
	    (const Csirt__V1__ListDivisionsResponse *)m;

	cli_print_divisions(cli, r->divisions, r->n_divisions);
}

static void
print_user(const struct cli *cli, const ProtobufCMessage *m)
{
	const Csirt__V1__UserResponse *r = (const Csirt__V1__UserResponse *)m;

	if (r->user != NULL)
		cli_print_user(cli, r->user);
}

static void
print_users(const struct cli *cli, const ProtobufCMessage *m)
{
	const Csirt__V1__ListUsersResponse *r =
	    (const Csirt__V1__ListUsersResponse *)m;

	cli_print_users(cli, r->users, r->n_users);
}

static void
print_token(const struct cli *cli, const ProtobufCMessage *m)
{
	const Csirt__V1__IssueTokenResponse *r =
	    (const Csirt__V1__IssueTokenResponse *)m;

	(void)cli;
	printf("%s\n", r->token);
	fprintf(stderr,
	        "token id %s: shown once, only its hash is stored; hand it to "
	        "its user (`csirt login`)\n",
	        r->token_id);
}

static void
print_tokens(const struct cli *cli, const ProtobufCMessage *m)
{
	const Csirt__V1__ListTokensResponse *r =
	    (const Csirt__V1__ListTokensResponse *)m;

	cli_print_tokens(cli, r->tokens, r->n_tokens);
}

static void
print_revoked(const struct cli *cli, const ProtobufCMessage *m)
{
	const Csirt__V1__RevokeTokenResponse *r =
	    (const Csirt__V1__RevokeTokenResponse *)m;

	if (r->token != NULL)
		cli_print_tokens(cli, &r->token, 1);
}

static int
admin_role(int *out, const char *s)
{
	if (strcmp(s, "lead") == 0)
		s = "csirt_lead";
	else if (strcmp(s, "sm") == 0)
		s = "security_manager";
	*out = cli_enum_parse(&csirt__v1__role__descriptor, "ROLE_", s);
	if (*out < 0 || *out == CSIRT__V1__ROLE__ROLE_SYSTEM) {
		cli_err("admin: --role %s: use reporter, security_manager, "
		        "csirt_lead, investigator, auditor or admin",
		        s);
		return CLI_EUSAGE;
	}
	return CLI_OK;
}

static int
admin_division(struct cli *cli, int argc, char **argv)
{
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("admin", NULL)
		                          : CLI_EUSAGE;
	if (argc - optind == 3 && strcmp(argv[optind], "create") == 0) {
		Csirt__V1__CreateDivisionRequest *r =
		    NEW(Csirt__V1__CreateDivisionRequest,
		        csirt__v1__create_division_request__descriptor);
		r->division =
		    NEW(Csirt__V1__Division, csirt__v1__division__descriptor);
		codec_set_string(&r->division->code, argv[optind + 1]);
		codec_set_string(&r->division->name, argv[optind + 2]);
		return admin_call(
		    cli, "DirectoryService/CreateDivision", &r->base,
		    &csirt__v1__division_response__descriptor, print_division);
	}
	if (argc - optind == 1 && strcmp(argv[optind], "list") == 0)
		return admin_call(
		    cli, "DirectoryService/ListDivisions",
		    codec_new(&csirt__v1__list_divisions_request__descriptor),
		    &csirt__v1__list_divisions_response__descriptor,
		    print_divisions);
	return cli_usage("admin", "division create CODE NAME | division list");
}

static int
admin_user(struct cli *cli, int argc, char **argv)
{
	enum { O_DIVISION = 1, O_NAME, O_REASON, O_ROLE };
	static const struct option opts[] = {
	    {"role", required_argument, NULL, O_ROLE},
	    {"division", required_argument, NULL, O_DIVISION},
	    {"name", required_argument, NULL, O_NAME},
	    {"reason", required_argument, NULL, O_REASON},
	    {NULL, 0, NULL, 0},
	};
	const char *division = NULL, *name = NULL, *reason = NULL, *verb;
	int ch, role = 0;

	while ((ch = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
		switch (ch) {
		case O_ROLE:
			if (admin_role(&role, optarg) != CLI_OK)
				return CLI_EUSAGE;
			break;
		case O_DIVISION:
			division = optarg;
			break;
		case O_NAME:
			name = optarg;
			break;
		case O_REASON:
			reason = optarg;
			break;
		case CLI_OPT_HELP:
			return cli_usage("admin", NULL);
		default:
			return CLI_EUSAGE;
		}
	}
	if (optind >= argc)
		return cli_usage("admin", "user create|update|disable|list");
	verb = argv[optind];
	if (strcmp(verb, "list") == 0 && argc - optind == 1) {
		Csirt__V1__ListUsersRequest *r =
		    NEW(Csirt__V1__ListUsersRequest,
		        csirt__v1__list_users_request__descriptor);
		codec_set_string(&r->division, division);
		r->role = (Csirt__V1__Role)role;
		return admin_call(cli, "DirectoryService/ListUsers", &r->base,
		                  &csirt__v1__list_users_response__descriptor,
		                  print_users);
	}
	if (argc - optind != 2)
		return cli_usage("admin", "user create|update|disable LOGIN");
	if (strcmp(verb, "disable") == 0) {
		Csirt__V1__DisableUserRequest *r =
		    NEW(Csirt__V1__DisableUserRequest,
		        csirt__v1__disable_user_request__descriptor);
		if (reason == NULL) {
			codec_free(&r->base);
			return cli_usage("admin",
			                 "user disable needs --reason");
		}
		codec_set_string(&r->login, argv[optind + 1]);
		codec_set_string(&r->reason, reason);
		return admin_call(cli, "DirectoryService/DisableUser", &r->base,
		                  &csirt__v1__user_response__descriptor,
		                  print_user);
	}
	if (strcmp(verb, "create") == 0 || strcmp(verb, "update") == 0) {
		int create = verb[0] == 'c';
		Csirt__V1__CreateUserRequest *r;
		Csirt__V1__User *u;

		if (create && role == 0)
			return cli_usage("admin", "user create needs --role");
		/* CreateUserRequest and UpdateUserRequest are both
		 * { User user = 1; }. */
		r = (Csirt__V1__CreateUserRequest *)codec_new(
		    create ? &csirt__v1__create_user_request__descriptor
		           : &csirt__v1__update_user_request__descriptor);
		u = r->user = NEW(Csirt__V1__User, csirt__v1__user__descriptor);
		codec_set_string(&u->login, argv[optind + 1]);
		codec_set_string(&u->display_name, name);
		codec_set_string(&u->division, division);
		u->role = (Csirt__V1__Role)role;
		return admin_call(cli,
		                  create ? "DirectoryService/CreateUser"
		                         : "DirectoryService/UpdateUser",
		                  &r->base,
		                  &csirt__v1__user_response__descriptor,
		                  print_user);
	}
	return cli_usage("admin", "user create|update|disable|list");
}

static int
admin_token(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"description", required_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0},
	};
	const char *desc = NULL, *verb;
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "d:h", opts)) != -1) {
		if (ch == 'd')
			desc = optarg;
		else
			return ch == CLI_OPT_HELP ? cli_usage("admin", NULL)
			                          : CLI_EUSAGE;
	}
	if (optind >= argc)
		return cli_usage("admin", "token issue|list|revoke");
	verb = argv[optind];
	if (strcmp(verb, "issue") == 0 && argc - optind == 2) {
		Csirt__V1__IssueTokenRequest *r =
		    NEW(Csirt__V1__IssueTokenRequest,
		        csirt__v1__issue_token_request__descriptor);
		codec_set_string(&r->login, argv[optind + 1]);
		codec_set_string(&r->description, desc);
		return admin_call(cli, "DirectoryService/IssueToken", &r->base,
		                  &csirt__v1__issue_token_response__descriptor,
		                  print_token);
	}
	if (strcmp(verb, "list") == 0 && argc - optind <= 2) {
		Csirt__V1__ListTokensRequest *r =
		    NEW(Csirt__V1__ListTokensRequest,
		        csirt__v1__list_tokens_request__descriptor);
		if (argc - optind == 2)
			codec_set_string(&r->login, argv[optind + 1]);
		return admin_call(cli, "DirectoryService/ListTokens", &r->base,
		                  &csirt__v1__list_tokens_response__descriptor,
		                  print_tokens);
	}
	if (strcmp(verb, "revoke") == 0 && argc - optind == 2) {
		Csirt__V1__RevokeTokenRequest *r =
		    NEW(Csirt__V1__RevokeTokenRequest,
		        csirt__v1__revoke_token_request__descriptor);
		codec_set_string(&r->token_id, argv[optind + 1]);
		return admin_call(cli, "DirectoryService/RevokeToken", &r->base,
		                  &csirt__v1__revoke_token_response__descriptor,
		                  print_revoked);
	}
	return cli_usage("admin", "token issue LOGIN | token list [LOGIN] | "
	                          "token revoke TOKEN_ID");
}

int
cmd_admin(struct cli *cli, int argc, char **argv)
{
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "+h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("admin", NULL)
		                          : CLI_EUSAGE;
	if (optind >= argc)
		return cli_usage("admin", "expected division, user or token");
	argc -= optind;
	argv += optind;
	optind = 0;
	if (strcmp(argv[0], "division") == 0)
		return admin_division(cli, argc, argv);
	if (strcmp(argv[0], "user") == 0)
		return admin_user(cli, argc, argv);
	if (strcmp(argv[0], "token") == 0)
		return admin_token(cli, argc, argv);
	return cli_usage("admin", "expected division, user or token");
}
