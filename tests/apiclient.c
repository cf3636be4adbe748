/*
 * apiclient.c - see apiclient.h.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "apiclient.h"
#include "codec.h"

void *
apic_msg_new(const ProtobufCMessageDescriptor *d)
{
	return codec_new(d);
}

int
apic_call(struct apic *a, const char *token, const char *method,
          const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
          ProtobufCMessage **resp, struct buf *err)
{
	struct buf body = BUF_INIT, out = BUF_INIT, hdr = BUF_INIT,
	           path = BUF_INIT;
	int status;

	ck_assert_int_eq(codec_pack(&body, req), 0);
	buf_printf(&hdr, "Content-Type: application/protobuf\r\n");
	if (token != NULL)
		buf_printf(&hdr, "Authorization: Bearer %s\r\n", token);
	buf_printf(&path, "/twirp/csirt.v1.%s", method);
	status = tu_http(a->d.addr, "POST", path.data, hdr.data, body.data,
	                 body.len, &out);
	if (status == 200 && resp != NULL && rdesc != NULL)
		ck_assert_msg(
		    codec_unpack(resp, rdesc, out.data, out.len, NULL) == 0,
		    "%s: undecodable reply", method);
	if (status != 200 && err != NULL)
		buf_put(err, out.data, out.len);
	buf_free(&body);
	buf_free(&out);
	buf_free(&hdr);
	buf_free(&path);
	return status;
}

static void
create_division(struct apic *a, const char *code, const char *name)
{
	Csirt__V1__CreateDivisionRequest *r =
	    apic_msg_new(&csirt__v1__create_division_request__descriptor);
	struct buf err = BUF_INIT;

	r->division = apic_msg_new(&csirt__v1__division__descriptor);
	codec_set_string(&r->division->code, code);
	codec_set_string(&r->division->name, name);
	ck_assert_msg(apic_call(a, a->admin, "DirectoryService/CreateDivision",
	                        &r->base, NULL, NULL, &err) == 200,
	              "%s", err.data);
	codec_free(&r->base);
	buf_free(&err);
}

void
apic_create_user(struct apic *a, const char *login, Csirt__V1__Role role,
                 const char *division, char token[80])
{
	Csirt__V1__CreateUserRequest *r =
	    apic_msg_new(&csirt__v1__create_user_request__descriptor);
	Csirt__V1__IssueTokenRequest *t =
	    apic_msg_new(&csirt__v1__issue_token_request__descriptor);
	Csirt__V1__IssueTokenResponse *tr = NULL;
	struct buf err = BUF_INIT;

	r->user = apic_msg_new(&csirt__v1__user__descriptor);
	codec_set_string(&r->user->login, login);
	codec_set_string(&r->user->display_name, login);
	codec_set_string(&r->user->division, division);
	r->user->role = role;
	ck_assert_msg(apic_call(a, a->admin, "DirectoryService/CreateUser",
	                        &r->base, NULL, NULL, &err) == 200,
	              "%s", err.data);
	codec_set_string(&t->login, login);
	ck_assert_int_eq(apic_call(a, a->admin, "DirectoryService/IssueToken",
	                           &t->base,
	                           &csirt__v1__issue_token_response__descriptor,
	                           (ProtobufCMessage **)&tr, NULL),
	                 200);
	ck_assert(strncmp(tr->token, "csirt_", 6) == 0);
	snprintf(token, 80, "%s", tr->token);
	codec_free(&r->base);
	codec_free(&t->base);
	codec_free(&tr->base);
	buf_free(&err);
}

void
apic_start(struct apic *a)
{
	apic_start_args(a, NULL);
}

uint64_t
apic_ledger_seq(struct apic *a)
{
	struct buf out = BUF_INIT;
	const char *p;
	uint64_t seq;

	ck_assert_int_eq(
	    tu_http(a->d.addr, "GET", "/healthz", NULL, NULL, 0, &out), 200);
	p = strstr(out.data, "\"ledger_seq\":\"");
	ck_assert_ptr_nonnull(p);
	seq = strtoull(p + 14, NULL, 10);
	buf_free(&out);
	return seq;
}

void
apic_start_args(struct apic *a, const char *const *extra)
{
	struct buf out = BUF_INIT;
	const char *argv[5];
	int status;
	char *p;

	memset(a, 0, sizeof(*a));
	a->dir = tu_tmpdir();
	a->data = util_path_join(a->dir, "var");
	argv[0] = CSIRTD_BIN;
	argv[1] = "--data";
	argv[2] = a->data;
	argv[3] = "init";
	argv[4] = NULL;
	ck_assert_int_eq(tu_run(&out, &status, argv), 0);
	ck_assert_int_eq(status, 0);
	p = strstr(out.data, "administrator token: ");
	ck_assert_ptr_nonnull(p);
	p += strlen("administrator token: ");
	snprintf(a->admin, sizeof(a->admin), "%.*s", (int)strcspn(p, "\n"), p);
	buf_free(&out);
	ck_assert_int_eq(tu_daemon_start(&a->d, a->data, extra), 0);
	create_division(a, "d1", "生活安全総務課");
	create_division(a, "d2", "交通総務課");
	apic_create_user(a, "rep1", CSIRT__V1__ROLE__ROLE_REPORTER, "d1",
	                 a->rep1);
	apic_create_user(a, "rep2", CSIRT__V1__ROLE__ROLE_REPORTER, "d2",
	                 a->rep2);
	apic_create_user(a, "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "",
	                 a->sm);
	apic_create_user(a, "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD, "",
	                 a->lead);
	apic_create_user(a, "inv", CSIRT__V1__ROLE__ROLE_INVESTIGATOR, "",
	                 a->inv);
	apic_create_user(a, "aud", CSIRT__V1__ROLE__ROLE_AUDITOR, "", a->aud);
}

void
apic_start_conf(struct apic *a, const char *conf_text)
{
	const char *extra[] = {"--config", NULL, NULL};
	char *dir = tu_tmpdir(), *conf = util_path_join(dir, "csirtd.conf");

	ck_assert_int_eq(
	    util_write_file_atomic(conf, conf_text, strlen(conf_text), 0600),
	    0);
	extra[1] = conf;
	apic_start_args(a, extra);
	a->conf = conf;
	free(dir);
}

void
apic_halt(struct apic *a)
{
	int status = tu_daemon_stop(&a->d, SIGTERM, 10000);

	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	                  WEXITSTATUS(status) == 0,
	              "csirtd did not stop cleanly; log: %s", a->d.log_path);
}

void
apic_free(struct apic *a)
{
	tu_rmrf(a->dir);
	free(a->data);
	free(a->dir);
	if (a->conf != NULL) {
		char *dir = util_strdup(a->conf);

		*strrchr(dir, '/') = '\0';
		tu_rmrf(dir);
		free(dir);
		free(a->conf);
	}
}

void
apic_stop(struct apic *a)
{
	apic_halt(a);
	apic_free(a);
}

Csirt__V1__ReportIncidentRequest *
apic_report_request(const char *title)
{
	Csirt__V1__ReportIncidentRequest *r =
	    apic_msg_new(&csirt__v1__report_incident_request__descriptor);
	Csirt__V1__Case *c = apic_msg_new(&csirt__v1__case__descriptor);
	char recognized[UTIL_TIME_LEN];

	util_time_format_ms(recognized, sizeof(recognized),
	                    util_time_now_ms() - 15 * 60 * 1000);
	c->category = CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT;
	codec_set_string(&c->title, title);
	codec_set_string(&c->description,
	                 "出張先で業務用モバイルPCを紛失した。");
	codec_set_string(&c->recognized_at, recognized);
	c->classification =
	    apic_msg_new(&csirt__v1__classification__descriptor);
	c->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM;
	c->classification->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	c->classification->availability =
	    CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	r->case_ = c;
	return r;
}

char *
apic_report(struct apic *a, const char *token, const char *title)
{
	Csirt__V1__ReportIncidentRequest *r = apic_report_request(title);
	Csirt__V1__CaseResponse *resp = NULL;
	char *id = NULL;

	if (apic_call(a, token, "CaseService/ReportIncident", &r->base,
	              &csirt__v1__case_response__descriptor,
	              (ProtobufCMessage **)&resp, NULL) == 200) {
		id = util_strdup(resp->case_->id);
		codec_free(&resp->base);
	}
	codec_free(&r->base);
	return id;
}

int
apic_action(struct apic *a, const char *token, const char *method,
            const char *id, const char *text)
{
	Csirt__V1__CaseActionRequest *r =
	    apic_msg_new(&csirt__v1__case_action_request__descriptor);
	int status;

	codec_set_string(&r->id, id);
	codec_set_string(&r->text, text);
	status = apic_call(a, token, method, &r->base, NULL, NULL, NULL);
	codec_free(&r->base);
	return status;
}

double
apic_metric(struct apic *a, const char *name)
{
	struct buf body = BUF_INIT, key = BUF_INIT;
	const char *p;
	char *end;
	double v;

	ck_assert_int_eq(
	    tu_http(a->d.addr, "GET", "/metrics", NULL, NULL, 0, &body), 200);
	buf_printf(&key, "\n%s ", name);
	p = strstr(body.data, key.data);
	ck_assert_msg(p != NULL, "no %s in /metrics", name);
	v = strtod(p + key.len, &end);
	ck_assert_msg(end > p + key.len && *end == '\n', "%s: bad value", name);
	buf_free(&body);
	buf_free(&key);
	return v;
}
