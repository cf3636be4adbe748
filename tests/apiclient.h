/*
 * apiclient.h - a test client for the real daemon's Twirp API: start a
 * daemon with an initialised data directory and a seeded directory of
 * users (one token each), and call RPCs in protobuf or raw bytes.
 */
#ifndef CSIRT_APICLIENT_H
#define CSIRT_APICLIENT_H

#include "csirt/v1/service.pb-c.h"
#include "testutil.h"

struct apic {
	char *dir, *data;
	char *conf; /* apic_start_conf()'s file, or NULL */
	struct tu_daemon d;
	/* Tokens: admin, rep1 (所属長 of d1), rep2 (所属長 of d2), sm, lead,
	 * inv, aud. */
	char admin[80], rep1[80], rep2[80], sm[80], lead[80], inv[80], aud[80];
};

void *apic_msg_new(const ProtobufCMessageDescriptor *d);
void apic_start(struct apic *a);
/* With extra csirtd arguments (NULL-terminated), e.g. --config FILE. */
void apic_start_args(struct apic *a, const char *const *extra);
/* With `conf_text` as its --config file (a->conf, removed by apic_stop();
 * rewrite it and send SIGHUP to reload). */
void apic_start_conf(struct apic *a, const char *conf_text);
/* The ledger sequence number from /healthz. */
uint64_t apic_ledger_seq(struct apic *a);
void apic_stop(struct apic *a);
/* The two halves of apic_stop(): stop the daemon (cleanly, asserted),
 * then remove its directory (after a look at its data or log). */
void apic_halt(struct apic *a);
void apic_free(struct apic *a);
/* POSTs `req` as protobuf to "Service/Method"; a 200 reply is decoded into
 * *resp when given, an error body is kept in `err` when given.  Returns
 * the HTTP status. */
int apic_call(struct apic *a, const char *token, const char *method,
              const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **resp,
              struct buf *err);
/* Creates a user and issues a token into `token`. */
void apic_create_user(struct apic *a, const char *login, Csirt__V1__Role role,
                      const char *division, char token[80]);
/* A 機器の紛失事案 report (機密性中), recognised 15 minutes ago; caller frees
 * with codec_free(). */
Csirt__V1__ReportIncidentRequest *apic_report_request(const char *title);
/* Files a 機器の紛失事案 report as `token`; returns the new id (caller
 * frees) or NULL when the status is not 200. */
char *apic_report(struct apic *a, const char *token, const char *title);

/* A counter or gauge from the daemon's /metrics ("name{labels}" or
 * "name"), as written (seconds have decimals); fails the test when it
 * is not there. */
double apic_metric(struct apic *a, const char *name);
/* A CaseActionRequest to "CaseService/<method>"; returns the status. */
int apic_action(struct apic *a, const char *token, const char *method,
                const char *id, const char *text);

#endif
