/*
 * fixtures.h - builders of proposed events for the writer, and a synchronous
 * submit, shared by the ledger suites and the benchmark.
 */
#ifndef CSIRT_FIXTURES_H
#define CSIRT_FIXTURES_H

#include "clock.h"
#include "csirt/v1/domain.pb-c.h"
#include "util.h"
#include "writer.h"

struct datadir;

Csirt__V1__Event *fx_division(const char *code, const char *name);
Csirt__V1__Event *fx_user(const char *login, Csirt__V1__Role role,
                          const char *division);
/* A 第13.1 report by `actor` (a reporter of `division`). */
Csirt__V1__Event *fx_report(const char *actor, const char *division,
                            Csirt__V1__Category category, const char *title);
/* A case event with the given payload case (ack, escalate, ...); fills the
 * payload's reason/comment/text fields with `text`. */
Csirt__V1__Event *fx_case_event(const char *case_id,
                                Csirt__V1__Event__PayloadCase payload,
                                const char *actor, Csirt__V1__Role role,
                                const char *text);
/* Assigns `login` as the only investigator. */
Csirt__V1__Event *fx_assign(const char *case_id, const char *actor,
                            const char *login);
/* A 機密性低 note; the text travels in cmd->note_text. */
Csirt__V1__Event *fx_note(const char *case_id, const char *actor,
                          Csirt__V1__Role role);
/* An edit of note `note_id`; the writer fills version, path and digest,
 * the new text travels in cmd->note_text. */
Csirt__V1__Event *fx_note_edit(const char *case_id, const char *note_id,
                               const char *actor, Csirt__V1__Role role,
                               const char *reason);

/* 第13.2: a request of `kind` due at `due_ms` by `actor` (a summons comes
 * with who, at, place and purpose in Japanese). */
Csirt__V1__Event *fx_request(const char *case_id, const char *actor,
                             Csirt__V1__Role role, Csirt__V1__RequestKind kind,
                             int64_t due_ms);
/* Acknowledge, respond (text only), fulfil or cancel request `request_id`
 * (payload REQUEST_ACKNOWLEDGED ... REQUEST_CANCELLED). */
Csirt__V1__Event *fx_request_step(const char *case_id,
                                  Csirt__V1__Event__PayloadCase payload,
                                  const char *request_id, const char *actor,
                                  Csirt__V1__Role role, const char *text);
/* A personal mobile phone (私有) for a response or a registration. */
Csirt__V1__PhysicalItem *fx_item(const char *serial, const char *seal);
/* Transfer (payload ITEM_TRANSFERRED), return or dispose item `item_id`. */
Csirt__V1__Event *fx_custody(const char *case_id,
                             Csirt__V1__Event__PayloadCase payload,
                             const char *item_id, const char *actor,
                             const char *to, const char *purpose);
/* The whole 第13.2 flow on a new case of d1 (investigated by "inv"): a
 * summons acknowledged and fulfilled, a device request answered with a
 * device registered, transferred, fulfilled, the device returned, a
 * material request cancelled and an item registered by the CSIRT and
 * disposed of.  `case_id_out` (may be NULL, 12 bytes) gets the case. */
void fx_request_history(struct writer *w, char *case_id_out);

/* Submits and runs the writer in this thread; returns cmd.rc.  The command
 * is released; `case_id_out` (may be NULL, 12 bytes) gets the case id. */
int fx_submit(struct writer *w, Csirt__V1__Event *ev, const char *note_text,
              char *case_id_out, char *commit_out);

/* Reports a case of d1 as rep1 (fx_report()) and requires it accepted;
 * `case_id_out` (may be NULL, 12 bytes) gets the case id. */
void fx_report_d1(struct writer *w, Csirt__V1__Category category,
                  const char *title, char *case_id_out);

/* Seeds a division "d1" (and "d2"), and users: rep1 (reporter, d1), rep2
 * (reporter, d2), sm (security manager), lead, inv (investigator). */
void fx_seed_directory(struct writer *w);

/* The whole life of `ncases` cases at once (report, acknowledge, escalate,
 * open, assign, note, two note edits, resolve, close, reopen, then
 * `guidance` rounds of guidance), each step submitted for every case and
 * committed as one batch, as concurrent clients would: ncases * (11 +
 * guidance) events. */
void fx_history_batched(struct writer *w, int ncases, int guidance);

/* A data directory in a fresh temporary directory: fx_env_init creates it
 * (csirtd init), fx_env_open opens it with a writer (no thread),
 * fx_env_close closes it, fx_env_free closes and removes it. */
struct fx_env {
	char *dir, *data, *repo;
	struct datadir *dd;
	struct writer *w;
};
void fx_env_init(struct fx_env *e);
void fx_env_open(struct fx_env *e);
void fx_env_close(struct fx_env *e);
void fx_env_free(struct fx_env *e);

/* A clock the test sets (clock.h): fx_clock_init(&c, ms), then pass &c.clk
 * and move c.now. */
struct fx_clock {
	int64_t now;
	struct clock clk;
};
void fx_clock_init(struct fx_clock *c, int64_t now_ms);

/* Runs `csirt-audit CMD <the env's ledger> ARGS`; returns its exit status
 * with its output (stderr included) in `out`. */
int fx_audit(struct buf *out, const struct fx_env *e, const char *cmd,
             const char *args);

#endif
