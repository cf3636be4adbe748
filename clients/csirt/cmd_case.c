/*
 * cmd_case.c - the case-work commands: report (flags, a report file, or
 * prompts on a terminal), list, show, update, the lifecycle steps (ack,
 * guide, escalate, dismiss, investigate, resolve, close, reopen), assign and
 * history.  Each builds one request, calls cli_rpc() and prints the reply
 * for people or as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "error.h"

#define NEW(type, desc) ((type *)codec_new(&(desc)))

/* ---- report */

struct report_opts {
	const char *category, *title, *description, *description_file;
	const char *recognized_at, *division, *conf, *integ, *avail;
	const char *emergency, *file;
	const char *restrictions[32];
	size_t n_restrictions;
	const char *equipment[32];
	size_t n_equipment;
	int no_prompt;
};

/* Reads one line from the terminal after printing `prompt` (and a default
 * in brackets); the default when the line is empty.  Caller frees; NULL at
 * end of input. */
static char *
report_ask(const char *prompt, const char *def)
{
	char line[4096];
	size_t len;

	if (def != NULL && *def != '\0')
		fprintf(stderr, "%s [%s]: ", prompt, def);
	else
		fprintf(stderr, "%s: ", prompt);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	if (len == 0 && def != NULL)
		return util_strdup(def);
	return util_strdup(line);
}

static int
report_equipment(Csirt__V1__Case *c, const char *spec)
{
	char *copy = util_strdup(spec), *fields[4] = {NULL, NULL, NULL, NULL};
	char *p = copy;
	Csirt__V1__Equipment *e;
	int kind, owner = CSIRT__V1__OWNERSHIP__OWNERSHIP_OFFICIAL, n = 0;

	for (; n < 3 && p != NULL; n++) {
		fields[n] = p;
		if ((p = strchr(p, ':')) != NULL)
			*p++ = '\0';
	}
	fields[3] = p; /* the description may hold ':' */
	kind = cli_enum_parse(&csirt__v1__equipment_kind__descriptor,
	                      "EQUIPMENT_KIND_", fields[0]);
	if (kind < 0 || fields[1] == NULL || *fields[1] == '\0' ||
	    (fields[2] != NULL && *fields[2] != '\0' &&
	     (owner = cli_enum_parse(&csirt__v1__ownership__descriptor,
	                             "OWNERSHIP_", fields[2])) < 0)) {
		char *kinds = cli_enum_choices(
		    &csirt__v1__equipment_kind__descriptor, "EQUIPMENT_KIND_");
		cli_err(
		    "report: --equipment %s: expected KIND:NUMBER[:official|"
		    "personal[:DESCRIPTION]], KIND one of %s",
		    spec, kinds);
		free(kinds);
		free(copy);
		return CLI_EUSAGE;
	}
	e = NEW(Csirt__V1__Equipment, csirt__v1__equipment__descriptor);
	e->kind = (Csirt__V1__EquipmentKind)kind;
	e->owner = (Csirt__V1__Ownership)owner;
	codec_set_string(&e->management_number, fields[1]);
	codec_set_string(&e->description, fields[3]);
	c->equipment = util_xrealloc(c->equipment, (c->n_equipment + 1) *
	                                               sizeof(*c->equipment));
	c->equipment[c->n_equipment++] = e;
	free(copy);
	return CLI_OK;
}

static int
report_level(int *out, const void *desc, const char *prefix, const char *flag,
             const char *value)
{
	int v = cli_enum_parse(desc, prefix, value);

	if (v < 0) {
		char *choices = cli_enum_choices(desc, prefix);
		cli_err("report: %s %s: use one of %s", flag, value, choices);
		free(choices);
		return CLI_EUSAGE;
	}
	*out = v;
	return CLI_OK;
}

/* Asks on the terminal for every required field the flags left empty. */
static int
report_prompt(const struct cli *cli, Csirt__V1__Case *c)
{
	enum lang l = cli->lang;
	char now[UTIL_TIME_LEN];
	char *s = NULL;

	if (c->category == 0) {
		fprintf(stderr, "%s\n", label(l, "prompt.category"));
		for (int i = 1; i <= 7; i++)
			fprintf(stderr, "  %d  %s / %s\n     %s\n", i,
			        label_category_name(LANG_JA, i),
			        label_category_name(LANG_EN, i),
			        label_category_description(l, i));
		while (c->category == 0) {
			int v;

			free(s);
			if ((s = report_ask("1-7", NULL)) == NULL)
				return CLI_EUSAGE;
			v = cli_enum_parse(&csirt__v1__category__descriptor,
			                   "CATEGORY_", s);
			if (v > 0)
				c->category = (Csirt__V1__Category)v;
		}
		free(s);
	}
	while (*c->title == '\0') {
		if ((s = report_ask(label(l, "prompt.title"), NULL)) == NULL)
			return CLI_EUSAGE;
		codec_set_string(&c->title, s);
		free(s);
	}
	while (*c->description == '\0') {
		if ((s = report_ask(label(l, "prompt.description"), NULL)) ==
		    NULL)
			return CLI_EUSAGE;
		codec_set_string(&c->description, s);
		free(s);
	}
	if (*c->recognized_at == '\0') {
		int64_t ms;

		util_time_now_rfc3339(now, sizeof(now));
		for (;;) {
			if ((s = report_ask(label(l, "prompt.recognized_at"),
			                    now)) == NULL)
				return CLI_EUSAGE;
			if (util_time_parse(&ms, s) == 0)
				break;
			fprintf(stderr, "%s\n", csirt_error_msg());
			free(s);
		}
		codec_set_string(&c->recognized_at, s);
		free(s);
	}
	if (c->category == CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT &&
	    c->n_equipment == 0) {
		char *kinds = cli_enum_choices(
		    &csirt__v1__equipment_kind__descriptor, "EQUIPMENT_KIND_");
		fprintf(stderr, "%s (KIND:NUMBER[:official|personal]; %s)\n",
		        label(l, "prompt.equipment"), kinds);
		free(kinds);
		for (;;) {
			if ((s = report_ask("", "")) == NULL || *s == '\0')
				break;
			if (report_equipment(c, s) == CLI_OK)
				break;
			free(s);
		}
		free(s);
	}
	return CLI_OK;
}

/* The report file: the proto3 JSON of a Case, or of a whole
 * ReportIncidentRequest. */
static int
report_load_file(Csirt__V1__Case **out, const char *path)
{
	Csirt__V1__ReportIncidentRequest *r = NULL;
	ProtobufCMessage *m = NULL;
	char *text = NULL;
	int rc;

	if ((rc = cli_read_text(&text, path)) != CLI_OK)
		return rc;
	if (codec_from_json(&m, &csirt__v1__case__descriptor, text,
	                    strlen(text), NULL) == 0) {
		*out = (Csirt__V1__Case *)m;
	} else if (codec_from_json(
	               &m, &csirt__v1__report_incident_request__descriptor,
	               text, strlen(text), NULL) == 0 &&
	           (r = (Csirt__V1__ReportIncidentRequest *)m)->case_ != NULL) {
		*out = r->case_;
		r->case_ = NULL;
		codec_free(m);
	} else {
		codec_free(m);
		/* Re-parse as a Case for the more useful message. */
		(void)codec_from_json(&m, &csirt__v1__case__descriptor, text,
		                      strlen(text), NULL);
		cli_err("report: %s: not the JSON of a Case: %s", path,
		        csirt_error_msg());
		codec_free(m);
		free(text);
		return CLI_EUSAGE;
	}
	free(text);
	return CLI_OK;
}

int
cmd_report(struct cli *cli, int argc, char **argv)
{
	enum {
		O_DESC_FILE = 1,
		O_DIVISION,
		O_CONF,
		O_INTEG,
		O_AVAIL,
		O_RESTRICTION,
		O_EMERGENCY,
		O_NO_PROMPT
	};
	static const struct option opts[] = {
	    {"category", required_argument, NULL, 'c'},
	    {"title", required_argument, NULL, 't'},
	    {"description", required_argument, NULL, 'd'},
	    {"description-file", required_argument, NULL, O_DESC_FILE},
	    {"recognized-at", required_argument, NULL, 'r'},
	    {"division", required_argument, NULL, O_DIVISION},
	    {"confidentiality", required_argument, NULL, O_CONF},
	    {"integrity", required_argument, NULL, O_INTEG},
	    {"availability", required_argument, NULL, O_AVAIL},
	    {"restriction", required_argument, NULL, O_RESTRICTION},
	    {"equipment", required_argument, NULL, 'e'},
	    {"emergency", required_argument, NULL, O_EMERGENCY},
	    {"file", required_argument, NULL, 'f'},
	    {"no-prompt", no_argument, NULL, O_NO_PROMPT},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__ReportIncidentRequest *req =
	    NEW(Csirt__V1__ReportIncidentRequest,
	        csirt__v1__report_incident_request__descriptor);
	Csirt__V1__CaseResponse *resp = NULL;
	Csirt__V1__Case *c = NULL;
	Csirt__V1__Classification *cl;
	struct report_opts o;
	int ch, rc = CLI_EUSAGE, v;
	char *text = NULL;

	memset(&o, 0, sizeof(o));
	while ((ch = cli_getopt(cli, argc, argv, "c:t:d:r:e:f:h", opts)) !=
	       -1) {
		switch (ch) {
		case 'c':
			o.category = optarg;
			break;
		case 't':
			o.title = optarg;
			break;
		case 'd':
			o.description = optarg;
			break;
		case O_DESC_FILE:
			o.description_file = optarg;
			break;
		case 'r':
			o.recognized_at = optarg;
			break;
		case O_DIVISION:
			o.division = optarg;
			break;
		case O_CONF:
			o.conf = optarg;
			break;
		case O_INTEG:
			o.integ = optarg;
			break;
		case O_AVAIL:
			o.avail = optarg;
			break;
		case O_RESTRICTION:
			if (o.n_restrictions < UTIL_ARRAY_LEN(o.restrictions))
				o.restrictions[o.n_restrictions++] = optarg;
			break;
		case 'e':
			if (o.n_equipment < UTIL_ARRAY_LEN(o.equipment))
				o.equipment[o.n_equipment++] = optarg;
			break;
		case O_EMERGENCY:
			o.emergency = optarg;
			break;
		case 'f':
			o.file = optarg;
			break;
		case O_NO_PROMPT:
			o.no_prompt = 1;
			break;
		case CLI_OPT_HELP:
			rc = cli_usage("report", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (optind < argc) {
		rc = cli_usage("report", "unexpected argument");
		goto done;
	}
	if (o.file != NULL) {
		if ((rc = report_load_file(&c, o.file)) != CLI_OK)
			goto done;
		rc = CLI_EUSAGE;
	} else
		c = NEW(Csirt__V1__Case, csirt__v1__case__descriptor);
	req->case_ = c;
	if (o.category != NULL) {
		v = cli_enum_parse(&csirt__v1__category__descriptor,
		                   "CATEGORY_", o.category);
		if (v < 0) {
			char *ch2 = cli_enum_choices(
			    &csirt__v1__category__descriptor, "CATEGORY_");
			cli_err("report: --category %s: use 1-7 or one of %s",
			        o.category, ch2);
			free(ch2);
			goto done;
		}
		c->category = (Csirt__V1__Category)v;
	}
	if (o.title != NULL)
		codec_set_string(&c->title, o.title);
	if (o.description_file != NULL) {
		if ((rc = cli_read_text(&text, o.description_file)) != CLI_OK)
			goto done;
		rc = CLI_EUSAGE;
		codec_set_string(&c->description, text);
	} else if (o.description != NULL)
		codec_set_string(&c->description, o.description);
	if (o.recognized_at != NULL) {
		int64_t ms;

		if (util_time_parse(&ms, o.recognized_at) != 0) {
			cli_err("report: --recognized-at: %s (use RFC 3339, "
			        "e.g. 2026-04-01T09:30:00+09:00)",
			        csirt_error_msg());
			goto done;
		}
		codec_set_string(&c->recognized_at, o.recognized_at);
	}
	if (o.division != NULL)
		codec_set_string(&c->division, o.division);
	for (size_t i = 0; i < o.n_equipment; i++)
		if (report_equipment(c, o.equipment[i]) != CLI_OK)
			goto done;
	if (o.emergency != NULL) {
		if (c->emergency == NULL)
			c->emergency = NEW(Csirt__V1__Emergency,
			                   csirt__v1__emergency__descriptor);
		c->emergency->flag = 1;
		codec_set_string(&c->emergency->instruction, o.emergency);
	}
	if (c->classification == NULL)
		c->classification = NEW(Csirt__V1__Classification,
		                        csirt__v1__classification__descriptor);
	cl = c->classification;
	if (o.conf != NULL &&
	    report_level(&v, &csirt__v1__confidentiality__descriptor,
	                 "CONFIDENTIALITY_", "--confidentiality",
	                 o.conf) != CLI_OK)
		goto done;
	if (o.conf != NULL)
		cl->confidentiality = (Csirt__V1__Confidentiality)v;
	if (o.integ != NULL &&
	    report_level(&v, &csirt__v1__integrity__descriptor, "INTEGRITY_",
	                 "--integrity", o.integ) != CLI_OK)
		goto done;
	if (o.integ != NULL)
		cl->integrity = (Csirt__V1__Integrity)v;
	if (o.avail != NULL &&
	    report_level(&v, &csirt__v1__availability__descriptor,
	                 "AVAILABILITY_", "--availability", o.avail) != CLI_OK)
		goto done;
	if (o.avail != NULL)
		cl->availability = (Csirt__V1__Availability)v;
	/* 要機密情報 by default: a report describes an incident. */
	if (cl->confidentiality == 0)
		cl->confidentiality =
		    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM;
	if (cl->integrity == 0)
		cl->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	if (cl->availability == 0)
		cl->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	if (o.n_restrictions > 0) {
		cl->handling_restrictions = util_xrealloc(
		    cl->handling_restrictions,
		    (cl->n_handling_restrictions + o.n_restrictions) *
		        sizeof(char *));
		for (size_t i = 0; i < o.n_restrictions; i++)
			cl->handling_restrictions
			    [cl->n_handling_restrictions++] =
			    util_strdup(o.restrictions[i]);
	}
	if (!o.no_prompt && isatty(STDIN_FILENO) &&
	    (rc = report_prompt(cli, c)) != CLI_OK)
		goto done;
	rc = CLI_EUSAGE;
	if (c->category == 0 || *c->title == '\0' || *c->description == '\0') {
		cli_err("report: --category, --title and --description are "
		        "required (or a report file with -f, or run it on a "
		        "terminal to be asked)\nTry `csirt report --help`.");
		goto done;
	}
	if (*c->recognized_at == '\0') {
		char now[UTIL_TIME_LEN];

		util_time_now_rfc3339(now, sizeof(now));
		codec_set_string(&c->recognized_at, now);
	}
	if ((rc = cli_rpc(cli, "CaseService/ReportIncident", &req->base,
	                  &csirt__v1__case_response__descriptor,
	                  (ProtobufCMessage **)&resp)) != CLI_OK)
		goto done;
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else if (resp->case_ != NULL)
		cli_print_case(cli, resp->case_);
done:
	free(text);
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

/* ---- list, show, history */

int
cmd_list(struct cli *cli, int argc, char **argv)
{
	enum {
		O_DIVISION = 1,
		O_MINCONF,
		O_TEXT,
		O_AFTER,
		O_BEFORE,
		O_OVERDUE,
		O_PAGE
	};
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"category", required_argument, NULL, 'c'},
	    {"division", required_argument, NULL, O_DIVISION},
	    {"min-confidentiality", required_argument, NULL, O_MINCONF},
	    {"text", required_argument, NULL, O_TEXT},
	    {"after", required_argument, NULL, O_AFTER},
	    {"before", required_argument, NULL, O_BEFORE},
	    {"overdue", no_argument, NULL, O_OVERDUE},
	    {"limit", required_argument, NULL, 'n'},
	    {"page-token", required_argument, NULL, O_PAGE},
	    {"all", no_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__ListCasesRequest *req =
	    NEW(Csirt__V1__ListCasesRequest,
	        csirt__v1__list_cases_request__descriptor);
	Csirt__V1__ListCasesResponse *all =
	    NEW(Csirt__V1__ListCasesResponse,
	        csirt__v1__list_cases_response__descriptor);
	Csirt__V1__ListCasesResponse *page = NULL;
	int ch, rc = CLI_EUSAGE, v, follow = 0;
	char *end;

	while ((ch = cli_getopt(cli, argc, argv, "s:c:n:ah", opts)) != -1) {
		switch (ch) {
		case 's':
			v = cli_enum_parse(&csirt__v1__case_state__descriptor,
			                   "CASE_STATE_", optarg);
			if (v < 0) {
				char *s = cli_enum_choices(
				    &csirt__v1__case_state__descriptor,
				    "CASE_STATE_");
				cli_err("list: --state %s: use one of %s",
				        optarg, s);
				free(s);
				goto done;
			}
			req->states = util_xrealloc(req->states,
			                            (req->n_states + 1) *
			                                sizeof(*req->states));
			req->states[req->n_states++] = (Csirt__V1__CaseState)v;
			break;
		case 'c':
			v = cli_enum_parse(&csirt__v1__category__descriptor,
			                   "CATEGORY_", optarg);
			if (v < 0) {
				cli_err("list: --category %s: use 1-7 or a "
				        "name",
				        optarg);
				goto done;
			}
			req->categories = util_xrealloc(
			    req->categories,
			    (req->n_categories + 1) * sizeof(*req->categories));
			req->categories[req->n_categories++] =
			    (Csirt__V1__Category)v;
			break;
		case O_DIVISION:
			codec_set_string(&req->division, optarg);
			break;
		case O_MINCONF:
			if (report_level(
			        &v, &csirt__v1__confidentiality__descriptor,
			        "CONFIDENTIALITY_", "--min-confidentiality",
			        optarg) != CLI_OK)
				goto done;
			req->min_confidentiality =
			    (Csirt__V1__Confidentiality)v;
			break;
		case O_TEXT:
			codec_set_string(&req->text, optarg);
			break;
		case O_AFTER:
			codec_set_string(&req->reported_after, optarg);
			break;
		case O_BEFORE:
			codec_set_string(&req->reported_before, optarg);
			break;
		case O_OVERDUE:
			req->overdue = 1;
			break;
		case 'n':
			req->page_size = (uint32_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || req->page_size == 0) {
				cli_err("list: --limit %s: a positive number",
				        optarg);
				goto done;
			}
			break;
		case O_PAGE:
			codec_set_string(&req->page_token, optarg);
			break;
		case 'a':
			follow = 1;
			break;
		case CLI_OPT_HELP:
			rc = cli_usage("list", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (optind < argc) {
		rc = cli_usage("list", "unexpected argument");
		goto done;
	}
	do {
		if ((rc = cli_rpc(cli, "CaseService/ListCases", &req->base,
		                  &csirt__v1__list_cases_response__descriptor,
		                  (ProtobufCMessage **)&page)) != CLI_OK)
			goto done;
		/* Move the page's cases into `all`. */
		all->cases = util_xrealloc(all->cases,
		                           (all->n_cases + page->n_cases + 1) *
		                               sizeof(*all->cases));
		if (page->n_cases > 0)
			memcpy(all->cases + all->n_cases, page->cases,
			       page->n_cases * sizeof(*page->cases));
		all->n_cases += page->n_cases;
		page->n_cases = 0;
		codec_set_string(&all->next_page_token, page->next_page_token);
		codec_set_string(&req->page_token, page->next_page_token);
		codec_free(&page->base);
		page = NULL;
	} while (follow && *req->page_token != '\0');
	if (cli->json)
		rc = cli_print_json(&all->base);
	else {
		cli_print_cases(cli, all->cases, all->n_cases);
		if (*all->next_page_token != '\0')
			fprintf(stderr, "(more: --page-token %s, or --all)\n",
			        all->next_page_token);
	}
done:
	codec_free(&req->base);
	codec_free(&all->base);
	return rc;
}

/* Parses "CMD ID" with no options but the common ones. */
static int
case_id_arg(struct cli *cli, int argc, char **argv, const char **id)
{
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1) {
		if (ch == CLI_OPT_HELP)
			return cli_usage(argv[0], NULL) == CLI_OK ? -1 : -2;
		return CLI_EUSAGE;
	}
	if (argc - optind != 1)
		return cli_usage(argv[0], "expected one case id");
	*id = argv[optind];
	return CLI_OK;
}

int
cmd_show(struct cli *cli, int argc, char **argv)
{
	Csirt__V1__GetCaseRequest *req = NEW(
	    Csirt__V1__GetCaseRequest, csirt__v1__get_case_request__descriptor);
	Csirt__V1__GetCaseResponse *resp = NULL;
	const char *id = NULL;
	int rc;

	if ((rc = case_id_arg(cli, argc, argv, &id)) != CLI_OK) {
		rc = rc == -1 ? CLI_OK : rc;
		goto done;
	}
	codec_set_string(&req->id, id);
	if ((rc = cli_rpc(cli, "CaseService/GetCase", &req->base,
	                  &csirt__v1__get_case_response__descriptor,
	                  (ProtobufCMessage **)&resp)) != CLI_OK)
		goto done;
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else if (resp->case_ != NULL)
		cli_print_case(cli, resp->case_);
done:
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

int
cmd_history(struct cli *cli, int argc, char **argv)
{
	Csirt__V1__GetHistoryRequest *req =
	    NEW(Csirt__V1__GetHistoryRequest,
	        csirt__v1__get_history_request__descriptor);
	Csirt__V1__GetHistoryResponse *resp = NULL;
	const char *id = NULL;
	int rc;

	if ((rc = case_id_arg(cli, argc, argv, &id)) != CLI_OK) {
		rc = rc == -1 ? CLI_OK : rc;
		goto done;
	}
	codec_set_string(&req->case_id, id);
	if ((rc = cli_rpc(cli, "CaseService/GetHistory", &req->base,
	                  &csirt__v1__get_history_response__descriptor,
	                  (ProtobufCMessage **)&resp)) != CLI_OK)
		goto done;
	if (cli->json)
		rc = cli_print_json(&resp->base);
	else
		cli_print_history(cli, resp);
done:
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

/* ---- changes */

static int
case_done(struct cli *cli, Csirt__V1__CaseResponse *resp)
{
	if (cli->json)
		return cli_print_json(&resp->base);
	cli_print_case_done(cli, resp->case_, resp->seq);
	return CLI_OK;
}

int
cmd_update(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"title", required_argument, NULL, 't'},
	    {"description", required_argument, NULL, 'd'},
	    {"category", required_argument, NULL, 'c'},
	    {"reason", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	Csirt__V1__UpdateCaseRequest *req =
	    NEW(Csirt__V1__UpdateCaseRequest,
	        csirt__v1__update_case_request__descriptor);
	Csirt__V1__CaseResponse *resp = NULL;
	int ch, rc = CLI_EUSAGE, v;

	while ((ch = cli_getopt(cli, argc, argv, "t:d:c:m:h", opts)) != -1) {
		switch (ch) {
		case 't':
			codec_set_string(&req->title, optarg);
			break;
		case 'd':
			codec_set_string(&req->description, optarg);
			break;
		case 'c':
			v = cli_enum_parse(&csirt__v1__category__descriptor,
			                   "CATEGORY_", optarg);
			if (v < 0) {
				cli_err("update: --category %s: use 1-7 or a "
				        "name",
				        optarg);
				goto done;
			}
			req->category = (Csirt__V1__Category)v;
			break;
		case 'm':
			codec_set_string(&req->reason, optarg);
			break;
		case CLI_OPT_HELP:
			rc = cli_usage("update", NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage("update", "expected one case id");
		goto done;
	}
	codec_set_string(&req->id, argv[optind]);
	if ((rc = cli_rpc(cli, "CaseService/UpdateCase", &req->base,
	                  &csirt__v1__case_response__descriptor,
	                  (ProtobufCMessage **)&resp)) == CLI_OK)
		rc = case_done(cli, resp);
done:
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

/* The lifecycle steps that take a case id and one text. */
static const struct {
	const char *cmd, *method, *flag;
	int text_required;
} case_actions[] = {
    {"ack", "CaseService/Acknowledge", "comment", 0},
    {"guide", "CaseService/GiveGuidance", "text", 1},
    {"escalate", "CaseService/Escalate", "reason", 0},
    {"dismiss", "CaseService/Dismiss", "reason", 1},
    {"investigate", "CaseService/OpenInvestigation", "reason", 0},
    {"resolve", "CaseService/Resolve", "summary", 0},
    {"close", "CaseService/Close", "comment", 0},
    {"reopen", "CaseService/Reopen", "reason", 1},
};

int
cmd_action(struct cli *cli, int argc, char **argv)
{
	struct option opts[2] = {{NULL, required_argument, NULL, 'm'},
	                         {NULL, 0, NULL, 0}};
	Csirt__V1__CaseActionRequest *req =
	    NEW(Csirt__V1__CaseActionRequest,
	        csirt__v1__case_action_request__descriptor);
	Csirt__V1__CaseResponse *resp = NULL;
	char *text = NULL;
	size_t i;
	int ch, rc = CLI_EUSAGE;

	for (i = 0; i < UTIL_ARRAY_LEN(case_actions); i++)
		if (strcmp(argv[0], case_actions[i].cmd) == 0)
			break;
	if (i == UTIL_ARRAY_LEN(case_actions))
		abort(); /* the command table names an action not here */
	opts[0].name = case_actions[i].flag;
	while ((ch = cli_getopt(cli, argc, argv, "m:h", opts)) != -1) {
		switch (ch) {
		case 'm':
			free(text);
			text = util_strdup(optarg);
			break;
		case CLI_OPT_HELP:
			rc = cli_usage(argv[0], NULL);
			goto done;
		default:
			goto done;
		}
	}
	if (argc - optind < 1) {
		rc = cli_usage(argv[0], "expected a case id");
		goto done;
	}
	if (text == NULL)
		text = cli_join_args(argc, argv, optind + 1);
	else if (argc - optind > 1) {
		rc = cli_usage(argv[0], "give the text either with -m or as "
		                        "arguments, not both");
		goto done;
	}
	if (case_actions[i].text_required && (text == NULL || *text == '\0')) {
		cli_err("%s: a %s is required: csirt %s ID -m TEXT", argv[0],
		        case_actions[i].flag, argv[0]);
		goto done;
	}
	codec_set_string(&req->id, argv[optind]);
	codec_set_string(&req->text, text);
	if ((rc = cli_rpc(cli, case_actions[i].method, &req->base,
	                  &csirt__v1__case_response__descriptor,
	                  (ProtobufCMessage **)&resp)) == CLI_OK)
		rc = case_done(cli, resp);
done:
	free(text);
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

int
cmd_assign(struct cli *cli, int argc, char **argv)
{
	Csirt__V1__AssignInvestigatorsRequest *req =
	    NEW(Csirt__V1__AssignInvestigatorsRequest,
	        csirt__v1__assign_investigators_request__descriptor);
	Csirt__V1__CaseResponse *resp = NULL;
	int ch, rc = CLI_EUSAGE;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1) {
		if (ch == CLI_OPT_HELP)
			rc = cli_usage("assign", NULL);
		goto done;
	}
	if (argc - optind < 2) {
		rc = cli_usage("assign", "expected a case id and at least one "
		                         "login");
		goto done;
	}
	codec_set_string(&req->id, argv[optind]);
	req->assignees =
	    util_xcalloc((size_t)(argc - optind - 1), sizeof(char *));
	for (int i = optind + 1; i < argc; i++)
		req->assignees[req->n_assignees++] = util_strdup(argv[i]);
	if ((rc = cli_rpc(cli, "CaseService/AssignInvestigators", &req->base,
	                  &csirt__v1__case_response__descriptor,
	                  (ProtobufCMessage **)&resp)) == CLI_OK)
		rc = case_done(cli, resp);
done:
	codec_free(&req->base);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}
