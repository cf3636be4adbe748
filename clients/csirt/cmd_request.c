/*
 * cmd_request.c - `csirt request create|list|show|ack|respond|fulfil|cancel`
 * (第13.2 investigation requests to the reporting division) and `csirt
 * custody` (the physical items submitted under them: register, transfer,
 * return, dispose, and the chain of custody as a table).
 *
 * Requests and items are named CASE/ID: "2026-000001/r1", "2026-000001/i2".
 * Writes answer with the case; the line printed is the request or item
 * with its new state and the ledger sequence number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "codec.h"
#include "table.h"

#define NEW(type, desc) ((type *)codec_new(&(desc)))

/* Splits "CASE/ID" into its parts (copied into the buffers). */
static int
ref_parse(const char *cmd, const char *s, char case_id[32], char id[32])
{
	const char *slash = s != NULL ? strchr(s, '/') : NULL;

	if (slash == NULL || slash == s || slash[1] == '\0' ||
	    (size_t)(slash - s) >= 32 || strlen(slash + 1) >= 32)
		return cli_usage(cmd, "expected CASE/ID, e.g. 2026-000001/r1");
	memcpy(case_id, s, (size_t)(slash - s));
	case_id[slash - s] = '\0';
	strcpy(id, slash + 1);
	return CLI_OK;
}

/* A due time: RFC 3339, or "+N" with a unit d, h or m from now. */
static int
due_parse(char out[UTIL_TIME_LEN], const char *s)
{
	char *end = NULL;
	long n;
	int64_t ms, unit;

	if (s[0] != '+') {
		if (util_time_parse(&ms, s) != 0)
			return -1;
		util_time_format_ms(out, UTIL_TIME_LEN, ms);
		return 0;
	}
	n = strtol(s + 1, &end, 10);
	if (end == s + 1 || n <= 0 || n > 100000 || end[0] == '\0' ||
	    end[1] != '\0')
		return -1;
	unit = end[0] == 'd'   ? 86400000
	       : end[0] == 'h' ? 3600000
	       : end[0] == 'm' ? 60000
	                       : 0;
	if (unit == 0)
		return -1;
	util_time_format_ms(out, UTIL_TIME_LEN,
	                    util_time_now_ms() + (int64_t)n * unit);
	return 0;
}

/* KIND:SERIAL:OWNERSHIP:OWNER_NAME:SEAL (OWNER_NAME may be empty for an
 * official device). */
static Csirt__V1__PhysicalItem *
device_parse(const char *cmd, const char *spec)
{
	char *copy = util_strdup(spec), *f[5] = {NULL}, *p = copy;
	Csirt__V1__PhysicalItem *it = NULL;
	int kind, owner;
	size_t n = 0;

	while (n < 5) {
		f[n++] = p;
		p = strchr(p, ':');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (n != 5 || p != NULL) {
		cli_usage(cmd,
		          "--device KIND:SERIAL:OWNERSHIP:OWNER_NAME:SEAL");
		goto done;
	}
	kind = cli_enum_parse(&csirt__v1__equipment_kind__descriptor,
	                      "EQUIPMENT_KIND_", f[0]);
	owner = cli_enum_parse(&csirt__v1__ownership__descriptor, "OWNERSHIP_",
	                       f[2]);
	if (kind <= 0 || owner <= 0) {
		cli_err("%s: --device %s: KIND is terminal, external_media, "
		        "uid, digital_camera or mobile_phone; OWNERSHIP "
		        "official or personal",
		        cmd, spec);
		goto done;
	}
	it = NEW(Csirt__V1__PhysicalItem, csirt__v1__physical_item__descriptor);
	it->kind = (Csirt__V1__EquipmentKind)kind;
	codec_set_string(&it->serial, f[1]);
	it->owner = (Csirt__V1__Ownership)owner;
	codec_set_string(&it->owner_name, f[3]);
	codec_set_string(&it->seal_number, f[4]);
done:
	free(copy);
	return it;
}

static const Csirt__V1__InvestigationRequest *
case_request(const Csirt__V1__Case *c, const char *id)
{
	for (size_t i = 0; c != NULL && i < c->n_requests; i++)
		if (strcmp(c->requests[i]->id, id) == 0)
			return c->requests[i];
	return NULL;
}

static const Csirt__V1__PhysicalItem *
case_item(const Csirt__V1__Case *c, const char *id)
{
	for (size_t i = 0; c != NULL && i < c->n_items; i++)
		if (strcmp(c->items[i]->id, id) == 0)
			return c->items[i];
	return NULL;
}

/* GetCase; NULL with *rc set (message printed) on failure. */
static Csirt__V1__GetCaseResponse *
get_case(struct cli *cli, const char *case_id, int *rc)
{
	Csirt__V1__GetCaseRequest *req = NEW(
	    Csirt__V1__GetCaseRequest, csirt__v1__get_case_request__descriptor);
	Csirt__V1__GetCaseResponse *resp = NULL;

	codec_set_string(&req->id, case_id);
	*rc = cli_rpc(cli, "CaseService/GetCase", &req->base,
	              &csirt__v1__get_case_response__descriptor,
	              (ProtobufCMessage **)&resp);
	codec_free(&req->base);
	return resp;
}

/* The request (item: the item) that CASE/ID `ref` names: CLI_OK with
 * *resp (caller frees) and *out (inside it) set, else the exit code with a
 * message printed. */
static int
ref_lookup(struct cli *cli, const char *cmd, const char *ref, int item,
           Csirt__V1__GetCaseResponse **resp, const ProtobufCMessage **out)
{
	char case_id[32], id[32];
	int rc;

	*resp = NULL;
	*out = NULL;
	if ((rc = ref_parse(cmd, ref, case_id, id)) != CLI_OK)
		return rc;
	if ((*resp = get_case(cli, case_id, &rc)) == NULL)
		return rc;
	if (item) {
		const Csirt__V1__PhysicalItem *it =
		    case_item((*resp)->case_, id);
		*out = it != NULL ? &it->base : NULL;
	} else {
		const Csirt__V1__InvestigationRequest *r =
		    case_request((*resp)->case_, id);
		*out = r != NULL ? &r->base : NULL;
	}
	if (*out == NULL) {
		cli_err("%s: %s not found", cmd, ref);
		codec_free(&(*resp)->base);
		*resp = NULL;
		return CLI_ENOTFOUND;
	}
	return CLI_OK;
}

/* Calls a write; prints the request or item `id` (NULL: the newest
 * request) after it, or the whole response with --json. */
static int
write_call(struct cli *cli, const char *method, ProtobufCMessage *req,
           const char *id, int item)
{
	Csirt__V1__CaseResponse *resp = NULL;
	const Csirt__V1__Case *c;
	int rc;

	rc = cli_rpc(cli, method, req, &csirt__v1__case_response__descriptor,
	             (ProtobufCMessage **)&resp);
	codec_free(req);
	if (rc != CLI_OK)
		return rc;
	c = resp->case_;
	if (cli->json) {
		rc = cli_print_json(&resp->base);
	} else if (item) {
		const Csirt__V1__PhysicalItem *it = case_item(c, id);
		if (it != NULL)
			printf("%s/%s  %s  (%s %llu)\n", c->id, it->id,
			       cli_enum_label(
			           cli, &csirt__v1__item_state__descriptor,
			           (int)it->state),
			       label(cli->lang, "event.seq"),
			       (unsigned long long)resp->seq);
	} else {
		const Csirt__V1__InvestigationRequest *r =
		    id != NULL ? case_request(c, id)
		    : c != NULL && c->n_requests > 0
		        ? c->requests[c->n_requests - 1]
		        : NULL;
		if (r != NULL)
			printf("%s/%s  %s  (%s %llu)\n", c->id, r->id,
			       cli_enum_label(
			           cli, &csirt__v1__request_state__descriptor,
			           (int)r->state),
			       label(cli->lang, "event.seq"),
			       (unsigned long long)resp->seq);
		for (size_t i = 0; r != NULL && id != NULL && i < r->n_item_ids;
		     i++)
			printf("%s/%s  %s\n", c->id, r->item_ids[i],
			       label(cli->lang, "item.registered"));
	}
	codec_free(&resp->base);
	return rc;
}

static int
req_create(struct cli *cli, int argc, char **argv, const char *method)
{
	enum { O_KIND = 1, O_DUE, O_WHO, O_AT, O_PLACE, O_PURPOSE };
	static const struct option opts[] = {
	    {"kind", required_argument, NULL, O_KIND},
	    {"due", required_argument, NULL, O_DUE},
	    {"description", required_argument, NULL, 'd'},
	    {"who", required_argument, NULL, O_WHO},
	    {"at", required_argument, NULL, O_AT},
	    {"place", required_argument, NULL, O_PLACE},
	    {"purpose", required_argument, NULL, O_PURPOSE},
	    {NULL, 0, NULL, 0},
	};
	const char *kind = NULL, *due = NULL, *desc = NULL, *who = NULL,
	           *at = NULL, *place = NULL, *purpose = NULL;
	Csirt__V1__CreateRequestRequest *req;
	char due_s[UTIL_TIME_LEN];
	int ch, k;

	(void)method;

	while ((ch = cli_getopt(cli, argc, argv, "d:h", opts)) != -1) {
		switch (ch) {
		case O_KIND:
			kind = optarg;
			break;
		case O_DUE:
			due = optarg;
			break;
		case 'd':
			desc = optarg;
			break;
		case O_WHO:
			who = optarg;
			break;
		case O_AT:
			at = optarg;
			break;
		case O_PLACE:
			place = optarg;
			break;
		case O_PURPOSE:
			purpose = optarg;
			break;
		case CLI_OPT_HELP:
			return cli_usage("request", NULL);
		default:
			return CLI_EUSAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage("request", "create: expected a case id");
	if (kind == NULL || due == NULL)
		return cli_usage("request", "create: --kind and --due are "
		                            "required");
	if ((k = cli_enum_parse(&csirt__v1__request_kind__descriptor,
	                        "REQUEST_KIND_", kind)) <= 0)
		return cli_usage("request",
		                 "--kind: summons, material or device");
	if (due_parse(due_s, due) != 0)
		return cli_usage("request", "--due: RFC 3339, or +N with d, h "
		                            "or m (+7d)");
	req = NEW(Csirt__V1__CreateRequestRequest,
	          csirt__v1__create_request_request__descriptor);
	codec_set_string(&req->case_id, argv[optind]);
	req->kind = (Csirt__V1__RequestKind)k;
	codec_set_string(&req->description, desc);
	codec_set_string(&req->due, due_s);
	if (who != NULL || at != NULL || place != NULL || purpose != NULL) {
		Csirt__V1__Summons *s =
		    NEW(Csirt__V1__Summons, csirt__v1__summons__descriptor);
		codec_set_string(&s->who, who);
		codec_set_string(&s->at, at);
		codec_set_string(&s->place, place);
		codec_set_string(&s->purpose, purpose);
		req->summons = s;
	}
	return write_call(cli, "CaseService/CreateRequest", &req->base, NULL,
	                  0);
}

/* ack, fulfil, cancel: CASE/rN [-m TEXT]. */
static int
req_action(struct cli *cli, int argc, char **argv, const char *method)
{
	static const struct option opts[] = {
	    {"message", required_argument, NULL, 'm'},
	    {"reason", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__RequestActionRequest *req;
	const char *text = NULL;
	char case_id[32], id[32];
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, "m:h", opts)) != -1) {
		if (ch == 'm')
			text = optarg;
		else
			return ch == CLI_OPT_HELP ? cli_usage("request", NULL)
			                          : CLI_EUSAGE;
	}
	if (argc - optind != 1)
		return cli_usage("request", "expected CASE/rN");
	if ((rc = ref_parse("request", argv[optind], case_id, id)) != CLI_OK)
		return rc;
	req = NEW(Csirt__V1__RequestActionRequest,
	          csirt__v1__request_action_request__descriptor);
	codec_set_string(&req->case_id, case_id);
	codec_set_string(&req->request_id, id);
	codec_set_string(&req->text, text);
	return write_call(cli, method, &req->base, id, 0);
}

static int
req_respond(struct cli *cli, int argc, char **argv, const char *method)
{
	static const struct option opts[] = {
	    {"message", required_argument, NULL, 'm'},
	    {"file", required_argument, NULL, 'F'},
	    {"device", required_argument, NULL, 'D'},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__RespondToRequestRequest *req = NULL;
	const char *msg = NULL, *file = NULL;
	char case_id[32], id[32], *text = NULL;
	int ch, rc = CLI_EUSAGE;

	(void)method;

	req = NEW(Csirt__V1__RespondToRequestRequest,
	          csirt__v1__respond_to_request_request__descriptor);
	while ((ch = cli_getopt(cli, argc, argv, "m:F:D:h", opts)) != -1) {
		switch (ch) {
		case 'm':
			msg = optarg;
			break;
		case 'F':
			file = optarg;
			break;
		case 'D': {
			Csirt__V1__PhysicalItem *it =
			    device_parse("request", optarg);
			if (it == NULL)
				goto done;
			req->items =
			    util_xrealloc(req->items, (req->n_items + 1) *
			                                  sizeof(*req->items));
			req->items[req->n_items++] = it;
			break;
		}
		case CLI_OPT_HELP:
			rc = cli_usage("request", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage("request", "respond: expected CASE/rN");
		goto done;
	}
	if ((rc = ref_parse("request", argv[optind], case_id, id)) != CLI_OK)
		goto done;
	if (msg != NULL)
		text = util_strdup(msg);
	else if (file != NULL && (rc = cli_read_text(&text, file)) != CLI_OK)
		goto done;
	if (text == NULL) {
		rc = cli_usage("request", "respond: give the response with -m "
		                          "TEXT or -F FILE");
		goto done;
	}
	codec_set_string(&req->case_id, case_id);
	codec_set_string(&req->request_id, id);
	codec_set_string(&req->text, text);
	free(text);
	rc = write_call(cli, "CaseService/RespondToRequest", &req->base, id, 0);
	return rc;
done:
	codec_free(&req->base);
	return rc;
}

static void
print_requests(const struct cli *cli, Csirt__V1__InvestigationRequest *const *v,
               size_t n)
{
	static const char *const keys[] = {
	    "request.id",   "request.kind",  "request.state", "request.due",
	    "case.overdue", "case.division", "request.what"};
	struct table *t = table_new(UTIL_ARRAY_LEN(keys));
	char ref[80];

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		table_header(t, i, label(cli->lang, keys[i]));
	table_set_max_width(t, 6, 40);
	for (size_t i = 0; i < n; i++) {
		const Csirt__V1__InvestigationRequest *r = v[i];
		snprintf(ref, sizeof(ref), "%s/%s", r->case_id, r->id);
		const char *cells[7] = {
		    ref,
		    cli_enum_label(cli, &csirt__v1__request_kind__descriptor,
		                   (int)r->kind),
		    cli_enum_label(cli, &csirt__v1__request_state__descriptor,
		                   (int)r->state),
		    r->due,
		    r->overdue ? r->overdue_since : "",
		    r->division,
		    r->summons != NULL ? r->summons->who : r->description};
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

static int
req_list(struct cli *cli, int argc, char **argv, const char *method)
{
	enum { O_OVERDUE = 1, O_DIVISION };
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"overdue", no_argument, NULL, O_OVERDUE},
	    {"division", required_argument, NULL, O_DIVISION},
	    {"limit", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__ListRequestsRequest *req =
	    NEW(Csirt__V1__ListRequestsRequest,
	        csirt__v1__list_requests_request__descriptor);
	Csirt__V1__ListRequestsResponse *resp = NULL;
	int ch, rc = CLI_EUSAGE, s;

	(void)method;

	while ((ch = cli_getopt(cli, argc, argv, "s:n:h", opts)) != -1) {
		switch (ch) {
		case 'n': {
			char *end = NULL;
			long n = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || n < 1 || n > 500) {
				rc = cli_usage("request",
				               "--limit: a page of 1 to 500");
				goto done;
			}
			req->page_size = (uint32_t)n;
			break;
		}
		case 's':
			s = cli_enum_parse(
			    &csirt__v1__request_state__descriptor,
			    "REQUEST_STATE_", optarg);
			if (s <= 0) {
				rc = cli_usage(
				    "request",
				    "--state: open, acknowledged, "
				    "responded, fulfilled or cancelled");
				goto done;
			}
			req->states = util_xrealloc(req->states,
			                            (req->n_states + 1) *
			                                sizeof(*req->states));
			req->states[req->n_states++] =
			    (Csirt__V1__RequestState)s;
			break;
		case O_OVERDUE:
			req->overdue = 1;
			break;
		case O_DIVISION:
			codec_set_string(&req->division, optarg);
			break;
		case CLI_OPT_HELP:
			rc = cli_usage("request", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (argc - optind > 1) {
		rc = cli_usage("request", "list: at most one case id");
		goto done;
	}
	if (argc - optind == 1)
		codec_set_string(&req->case_id, argv[optind]);
	if ((rc = cli_rpc(cli, "CaseService/ListRequests", &req->base,
	                  &csirt__v1__list_requests_response__descriptor,
	                  (ProtobufCMessage **)&resp)) != CLI_OK)
		goto done;
	/* Every page, gathered into the first. */
	while (resp->next_page_token[0] != '\0') {
		Csirt__V1__ListRequestsResponse *more = NULL;

		codec_set_string(&req->page_token, resp->next_page_token);
		if ((rc =
		         cli_rpc(cli, "CaseService/ListRequests", &req->base,
		                 &csirt__v1__list_requests_response__descriptor,
		                 (ProtobufCMessage **)&more)) != CLI_OK)
			goto done;
		resp->requests = util_xrealloc(
		    resp->requests, (resp->n_requests + more->n_requests) *
		                            sizeof(*resp->requests) +
		                        1);
		for (size_t i = 0; i < more->n_requests; i++)
			resp->requests[resp->n_requests++] = more->requests[i];
		more->n_requests = 0;
		codec_set_string(&resp->next_page_token, more->next_page_token);
		codec_free(&more->base);
	}
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else
		print_requests(cli, resp->requests, resp->n_requests);
done:
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

static int
req_show(struct cli *cli, int argc, char **argv, const char *method)
{
	Csirt__V1__GetCaseResponse *resp;
	const Csirt__V1__InvestigationRequest *r;
	const ProtobufCMessage *m;
	struct cli_record *rec;
	int ch, rc;

	(void)method;
	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("request", NULL)
		                          : CLI_EUSAGE;
	if (argc - optind != 1)
		return cli_usage("request", "show: expected CASE/rN");
	if ((rc = ref_lookup(cli, "request", argv[optind], 0, &resp, &m)) !=
	    CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(m);
		codec_free(&resp->base);
		return rc;
	}
	r = (const void *)m;
	rec = cli_record_new();
	cli_record_add(rec, label(cli->lang, "request.id"), argv[optind]);
	cli_record_add(rec, label(cli->lang, "request.kind"),
	               cli_enum_label(cli, &csirt__v1__request_kind__descriptor,
	                              (int)r->kind));
	cli_record_add(rec, label(cli->lang, "request.state"),
	               cli_enum_label(cli,
	                              &csirt__v1__request_state__descriptor,
	                              (int)r->state));
	cli_record_add(rec, label(cli->lang, "request.due"), r->due);
	if (r->overdue)
		cli_record_add(rec, label(cli->lang, "case.overdue"),
		               r->overdue_since);
	cli_record_add(rec, label(cli->lang, "request.what"), r->description);
	if (r->summons != NULL) {
		cli_record_add(rec, label(cli->lang, "summons.who"),
		               r->summons->who);
		cli_record_add(rec, label(cli->lang, "summons.at"),
		               r->summons->at);
		cli_record_add(rec, label(cli->lang, "summons.place"),
		               r->summons->place);
		cli_record_add(rec, label(cli->lang, "summons.purpose"),
		               r->summons->purpose);
	}
	cli_record_add(rec, label(cli->lang, "request.created_by"),
	               r->created_by);
	cli_record_add(rec, label(cli->lang, "request.acknowledged_by"),
	               r->acknowledged_by);
	cli_record_add(rec, label(cli->lang, "request.response"), r->response);
	for (size_t i = 0; i < r->n_item_ids; i++)
		cli_record_add(rec, label(cli->lang, "item.id"),
		               r->item_ids[i]);
	cli_record_add(rec, label(cli->lang, "request.closed_by"),
	               r->closed_by);
	cli_record_add(rec, label(cli->lang, "request.closing_text"),
	               r->closing_text);
	cli_record_print(rec, stdout);
	cli_record_free(rec);
	codec_free(&resp->base);
	return CLI_OK;
}

/* A subcommand of `request` or `custody`; `method` is the RPC of the
 * write subcommands that share a function. */
struct sub {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv, const char *method);
	const char *method;
};

/* Runs the subcommand argv[optind] of `cmd` from `subs`; without a match,
 * `other` (may be NULL) gets the remaining words, else it is a usage
 * error naming `expected`. */
static int
sub_dispatch(struct cli *cli, int argc, char **argv, const char *cmd,
             const struct sub *subs, size_t n, const char *expected,
             int (*other)(struct cli *cli, int argc, char **argv))
{
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "+h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage(cmd, NULL) : CLI_EUSAGE;
	if (optind >= argc)
		return cli_usage(cmd, expected);
	argc -= optind;
	argv += optind;
	optind = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[0], subs[i].name) == 0)
			return subs[i].run(cli, argc, argv, subs[i].method);
	return other != NULL ? other(cli, argc, argv)
	                     : cli_usage(cmd, expected);
}

int
cmd_request(struct cli *cli, int argc, char **argv)
{
	static const struct sub subs[] = {
	    {"create", req_create, NULL},
	    {"list", req_list, NULL},
	    {"show", req_show, NULL},
	    {"ack", req_action, "CaseService/AcknowledgeRequest"},
	    {"respond", req_respond, NULL},
	    {"fulfil", req_action, "CaseService/FulfilRequest"},
	    {"cancel", req_action, "CaseService/CancelRequest"},
	};

	return sub_dispatch(cli, argc, argv, "request", subs,
	                    UTIL_ARRAY_LEN(subs),
	                    "expected create, list, show, ack, respond, "
	                    "fulfil or cancel",
	                    NULL);
}

/* ---- csirt custody -------------------------------------------------- */

static int
custody_register(struct cli *cli, int argc, char **argv, const char *method)
{
	enum { O_DESC = 1, O_HOLDER };
	static const struct option opts[] = {
	    {"device", required_argument, NULL, 'D'},
	    {"description", required_argument, NULL, O_DESC},
	    {"holder", required_argument, NULL, O_HOLDER},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__RegisterItemRequest *req;
	Csirt__V1__PhysicalItem *it = NULL;
	const char *desc = NULL, *holder = NULL;
	int ch;

	(void)method;

	while ((ch = cli_getopt(cli, argc, argv, "D:h", opts)) != -1) {
		switch (ch) {
		case 'D':
			codec_free(it != NULL ? &it->base : NULL);
			if ((it = device_parse("custody", optarg)) == NULL)
				return CLI_EUSAGE;
			break;
		case O_DESC:
			desc = optarg;
			break;
		case O_HOLDER:
			holder = optarg;
			break;
		default:
			codec_free(it != NULL ? &it->base : NULL);
			return ch == CLI_OPT_HELP ? cli_usage("custody", NULL)
			                          : CLI_EUSAGE;
		}
	}
	if (argc - optind != 1 || it == NULL) {
		codec_free(it != NULL ? &it->base : NULL);
		return cli_usage("custody", "register: expected a case id and "
		                            "--device");
	}
	codec_set_string(&it->description, desc);
	codec_set_string(&it->holder, holder);
	req = NEW(Csirt__V1__RegisterItemRequest,
	          csirt__v1__register_item_request__descriptor);
	codec_set_string(&req->case_id, argv[optind]);
	req->item = it;
	{
		/* The new item is the case's last. */
		Csirt__V1__CaseResponse *resp = NULL;
		int rc = cli_rpc(cli, "CaseService/RegisterItem", &req->base,
		                 &csirt__v1__case_response__descriptor,
		                 (ProtobufCMessage **)&resp);
		codec_free(&req->base);
		if (rc != CLI_OK)
			return rc;
		if (cli->json)
			rc = cli_print_json(&resp->base);
		else if (resp->case_ != NULL && resp->case_->n_items > 0)
			printf("%s/%s  %s  (%s %llu)\n", resp->case_->id,
			       resp->case_->items[resp->case_->n_items - 1]->id,
			       label(cli->lang, "item.registered"),
			       label(cli->lang, "event.seq"),
			       (unsigned long long)resp->seq);
		codec_free(&resp->base);
		return rc;
	}
}

/* transfer, return, dispose: CASE/iN with the custody fields. */
static int
custody_step(struct cli *cli, int argc, char **argv, const char *method)
{
	enum { O_FROM = 1, O_TO, O_AT, O_PLACE, O_PURPOSE };
	static const struct option opts[] = {
	    {"from", required_argument, NULL, O_FROM},
	    {"to", required_argument, NULL, O_TO},
	    {"at", required_argument, NULL, O_AT},
	    {"place", required_argument, NULL, O_PLACE},
	    {"purpose", required_argument, NULL, O_PURPOSE},
	    {"method", required_argument, NULL, O_PURPOSE},
	    {NULL, 0, NULL, 0},
	};
	const char *v[6] = {NULL};
	Csirt__V1__ItemCustodyRequest *req;
	char case_id[32], id[32];
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, "h", opts)) != -1) {
		if (ch >= O_FROM && ch <= O_PURPOSE)
			v[ch] = optarg;
		else
			return ch == CLI_OPT_HELP ? cli_usage("custody", NULL)
			                          : CLI_EUSAGE;
	}
	if (argc - optind != 1)
		return cli_usage("custody", "expected CASE/iN");
	if ((rc = ref_parse("custody", argv[optind], case_id, id)) != CLI_OK)
		return rc;
	req = NEW(Csirt__V1__ItemCustodyRequest,
	          csirt__v1__item_custody_request__descriptor);
	codec_set_string(&req->case_id, case_id);
	codec_set_string(&req->item_id, id);
	codec_set_string(&req->from, v[O_FROM]);
	codec_set_string(&req->to, v[O_TO]);
	codec_set_string(&req->at, v[O_AT]);
	codec_set_string(&req->place, v[O_PLACE]);
	codec_set_string(&req->purpose, v[O_PURPOSE]);
	return write_call(cli, method, &req->base, id, 1);
}

/* The chain of custody of one item, as a table. */
static int
custody_show(struct cli *cli, const char *ref)
{
	static const char *const keys[] = {
	    "event.seq",  "custody.action", "custody.from",    "custody.to",
	    "custody.at", "custody.place",  "custody.purpose", "event.actor"};
	Csirt__V1__GetCaseResponse *resp;
	const Csirt__V1__PhysicalItem *it;
	const ProtobufCMessage *m;
	struct cli_record *rec;
	struct table *t;
	char seq[24];
	int rc;

	if ((rc = ref_lookup(cli, "custody", ref, 1, &resp, &m)) != CLI_OK)
		return rc;
	if (cli->json) {
		rc = cli_print_json(m);
		codec_free(&resp->base);
		return rc;
	}
	it = (const void *)m;
	rec = cli_record_new();
	cli_record_add(rec, label(cli->lang, "item.id"), ref);
	cli_record_add(rec, label(cli->lang, "equipment.kind"),
	               cli_enum_label(cli,
	                              &csirt__v1__equipment_kind__descriptor,
	                              (int)it->kind));
	cli_record_add(rec, label(cli->lang, "item.serial"), it->serial);
	cli_record_add(rec, label(cli->lang, "equipment.owner"),
	               cli_enum_label(cli, &csirt__v1__ownership__descriptor,
	                              (int)it->owner));
	cli_record_add(rec, label(cli->lang, "item.owner_name"),
	               it->owner_name);
	cli_record_add(rec, label(cli->lang, "item.seal_number"),
	               it->seal_number);
	cli_record_add(rec, label(cli->lang, "item.state"),
	               cli_enum_label(cli, &csirt__v1__item_state__descriptor,
	                              (int)it->state));
	cli_record_add(rec, label(cli->lang, "item.holder"), it->holder);
	cli_record_add(rec, label(cli->lang, "request.id"), it->request_id);
	cli_record_print(rec, stdout);
	cli_record_free(rec);
	printf("\n");
	t = table_new(UTIL_ARRAY_LEN(keys));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		table_header(t, i, label(cli->lang, keys[i]));
	table_set_max_width(t, 6, 40);
	for (size_t i = 0; i < it->n_custody; i++) {
		const Csirt__V1__CustodyEntry *e = it->custody[i];
		char key[40];
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
		snprintf(key, sizeof(key), "custody.%s", e->action);
		const char *cells[8] = {seq,        label(cli->lang, key),
		                        e->from,    e->to,
		                        e->at,      e->place,
		                        e->purpose, e->by};
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	codec_free(&resp->base);
	return CLI_OK;
}

/* `csirt custody CASE/iN`: the one word that is not a subcommand. */
static int
custody_show_args(struct cli *cli, int argc, char **argv)
{
	if (argc != 1)
		return cli_usage("custody", "expected CASE/iN");
	return custody_show(cli, argv[0]);
}

int
cmd_custody(struct cli *cli, int argc, char **argv)
{
	static const struct sub subs[] = {
	    {"register", custody_register, NULL},
	    {"transfer", custody_step, "CaseService/TransferItem"},
	    {"return", custody_step, "CaseService/ReturnItem"},
	    {"dispose", custody_step, "CaseService/DisposeItem"},
	};

	return sub_dispatch(cli, argc, argv, "custody", subs,
	                    UTIL_ARRAY_LEN(subs),
	                    "expected CASE/iN or register, transfer, return, "
	                    "dispose",
	                    custody_show_args);
}
