/*
 * layout.h - where things live in the ledger (DESIGN.md §3) and how commit
 * messages are shaped.  Pure functions: no I/O, no libraries.
 *
 *   cases/<yyyy>/<nn>/<nn>/<case-id>/case.json
 *   cases/<yyyy>/<nn>/<nn>/<case-id>/events/<seq/1000>/<seq>.json
 *   cases/<yyyy>/<nn>/<nn>/<case-id>/notes/<k/100>/n<k>.md[.enc]
 *   cases/<yyyy>/<nn>/<nn>/<case-id>/evidence/<evidence-id>/v<N>/
 *       manifest.json, content.enc     (issue 6)
 *   directory/events/<seq/1000>/<seq>.json
 *   directory/users/<login>.json
 *   directory/divisions/<code>.json
 *
 * The two <nn> levels are the case counter's first and second pairs of
 * digits ("2026-012345" lives in cases/2026/01/23/), so no tree above a
 * case holds more than 100 entries even at a million cases a year: every
 * commit rewrites the trees on its path, and a tree of N entries costs
 * about 40·N bytes to hash and store (one flat level of 1,000 buckets made
 * every commit write ~40 KB).  <seq> is zero-padded to 10 digits so
 * listings sort.
 *
 * A case's events and notes are bucketed for the same reason: a case
 * gains a file per event, and a flat events/ (and notes/) tree was
 * rewritten whole by each of them: at a few hundred events a case that was
 * most of a commit's cost and 12 KB of pack per event (csirt-bench note,
 * 64 cases).  An event's bucket is its seq's first 7 digits (1,000 seqs:
 * a case holds at most 1,000 files in one, usually a few); a note's is its
 * number / 100 (000 for n1..n99).  Ledgers written before the buckets
 * keep their flat events/<seq>.json: replay and the auditor accept both
 * (layout_event_path_flat; replay tries first the layout it found last);
 * a note's path is in its event.
 */
#ifndef CSIRT_LAYOUT_H
#define CSIRT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define LAYOUT_CASE_ID_LEN 12 /* "2026-000123" + terminator */

/* Validates "YYYY-NNNNNN" and splits it. */
int layout_case_id_parse(const char *id, int *year, uint32_t *counter);
void layout_case_id_format(char out[LAYOUT_CASE_ID_LEN], int year,
                           uint32_t counter);

void layout_case_dir(struct buf *out, const char *case_id);
void layout_case_json(struct buf *out, const char *case_id);
/* An event's file.  `case_id` NULL or "" for directory events, which are
 * in buckets of the seq: directory/events/<seq/1000>/<seq>.json.  A case's
 * event is in a bucket of its number in the case, `case_seq` (the
 * "Case-Seq" trailer; 1 for case.reported): <case dir>/events/
 * <case_seq/100, 3 digits>/<seq>.json, so that no tree of a case grows
 * past ~100 entries however its events interleave with other cases'.
 * case_seq 0 (a commit without the trailer, written before it existed):
 * the seq's bucket, as directory events. */
void layout_event_path(struct buf *out, const char *case_id, uint64_t seq,
                       uint64_t case_seq);
/* Where ledgers written before the event buckets keep an event. */
void layout_event_path_flat(struct buf *out, const char *case_id, uint64_t seq);
/* Note number `number` (1, 2, ...) of a case; `sealed`: 機密性高・中. */
void layout_note_path(struct buf *out, const char *case_id, uint32_t number,
                      bool sealed);
void layout_user_path(struct buf *out, const char *login);
void layout_division_path(struct buf *out, const char *code);

/* Evidence ids: the case id, "-ev" and 8 lowercase hex digits
 * ("2026-000123-ev3f9a2c1d"), so that the case follows from the id. */
#define LAYOUT_EVIDENCE_ID_LEN 23 /* with terminator */
/* Validates an evidence id; copies its case id to `case_id` when not
 * NULL.  CSIRT_EINVAL with a message otherwise. */
int layout_evidence_id_parse(const char *id, char case_id[LAYOUT_CASE_ID_LEN]);
/* "<case dir>/evidence/<evidence-id>/v<version>" (no trailing slash). */
void layout_evidence_dir(struct buf *out, const char *evidence_id,
                         uint32_t version);

/* Logins and division codes: 1-64 of [a-z0-9._-], starting with a letter
 * or digit (safe in paths, git identities and logs). */
bool layout_name_valid(const char *s);

/* The type name of an event payload (a Csirt__V1__Event__PayloadCase),
 * e.g. "case.reported", and whether it belongs to a case (else to the
 * directory).  CSIRT_EINVAL for an unknown payload. */
int layout_event_type(int payload, const char **type, bool *is_case);

/* The trailers csirtd writes and reads back. */
struct layout_trailers {
	char event[64];
	char case_id[LAYOUT_CASE_ID_LEN];
	uint64_t seq;
	uint64_t case_seq; /* "Case-Seq", 0 when absent (layout_event_path) */
	char actor[80];
	char role[40];
	char event_sha256[65];
};

void layout_message(struct buf *out, const char *summary,
                    const struct layout_trailers *t);
/* Parses the trailers of a commit message; CSIRT_ETAMPER when a required
 * one (Event, Seq, Actor, Role, Event-SHA256) is missing or malformed. */
int layout_trailers_parse(struct layout_trailers *out, const char *message);

/* ---- checkpoints (checkpoint.h): a commit of the daemon that adds only
 * checkpoints/<size>.txt, with the trailers "Event: ledger.checkpoint",
 * "Checkpoint-Size: N", "Actor: csirtd" and "Role: ROLE_SYSTEM".  It is
 * not an event: it has no Seq and no event file, and the events' Seq run
 * on across it. */
#define LAYOUT_CHECKPOINT_EVENT "ledger.checkpoint"
#define LAYOUT_CHECKPOINT_DIR "checkpoints/"

void layout_checkpoint_path(struct buf *out, uint64_t size);
void layout_checkpoint_message(struct buf *out, uint64_t size);
/* 0 with *size when `message` is a checkpoint commit's; CSIRT_ENOTFOUND
 * when it is not one (no "Event: ledger.checkpoint" trailer);
 * CSIRT_ETAMPER when it claims to be one but is malformed. */
int layout_checkpoint_parse(uint64_t *size, const char *message);

#endif
