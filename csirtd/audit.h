/*
 * audit.h - the independent verifier of a ledger (csirt-audit verify).
 *
 * Reads only the repository (and, when asked, an index to compare): it
 * trusts nothing csirtd recorded elsewhere.  The rules, checked in this
 * order and reported with the first commit that breaks one:
 *   1 refs       refs/heads/ledger exists and is the only ref;
 *   2 linear     every commit has at most one parent (one root);
 *   3 signature  every commit carries a "git" SSHSIG by an allowed key
 *                over the commit without its gpgsig header;
 *   4 files      each commit adds exactly its one event file, touches only
 *                its case's directory (or directory/), and never modifies
 *                or deletes a file under events/;
 *   5 event      Seq contiguous from 1, the event parses, its SHA-256 is
 *                Event-SHA256 and its seq, case and type agree with the
 *                trailers;
 *   6 case       each case.json written is the fold of the case's events;
 *   7 anchor     the anchor commit is in the history with the given Seq;
 *   8 index      the index equals one replayed from the ledger;
 *   9 checkpoint each checkpoint commit adds only checkpoints/<size>.txt,
 *                its size is the number of events before it, its head the
 *                commit before it, its root the Merkle root recomputed from
 *                the events, and it is signed by an allowed key;
 *  10 pinned     a checkpoint pinned out of band (a file) is signed by an
 *                allowed key, the ledger holds at least its size, and the
 *                recomputed root at that size and the commit of that event
 *                are the pinned ones.
 * Checkpoint commits carry no Seq: rules 4 to 6 apply to event commits.
 */
#ifndef CSIRT_AUDIT_H
#define CSIRT_AUDIT_H

#include <stdint.h>

#include "checkpoint.h"
#include "ledger.h"

enum audit_rule {
	AUDIT_OK = 0,
	AUDIT_REFS = 1,
	AUDIT_LINEAR,
	AUDIT_SIGNATURE,
	AUDIT_FILES,
	AUDIT_EVENT,
	AUDIT_CASE,
	AUDIT_ANCHOR,
	AUDIT_INDEX,
	AUDIT_CHECKPOINT,
	AUDIT_PINNED,
};

struct audit_options {
	const char *ledger;          /* path of ledger.git */
	const char *allowed_signers; /* git's allowed-signers file */
	uint64_t anchor_seq;         /* with anchor_commit */
	const char *anchor_commit;   /* NULL: no anchor; a full id or prefix */
	const char *index;           /* index.sqlite to compare, or NULL */
	const char *checkpoint;      /* a pinned checkpoint file, or NULL */
	/* Called every `progress_every` commits (0: never). */
	void (*progress)(uint64_t commits, uint64_t total, void *arg);
	uint64_t progress_every;
	void *progress_arg;
};

struct audit_report {
	enum audit_rule rule;        /* AUDIT_OK when the ledger verifies */
	char commit[LEDGER_OID_HEX]; /* the first bad commit, or "" */
	char message[512];
	uint64_t commits, events;
	char head[LEDGER_OID_HEX];
	uint64_t checkpoints;                     /* checkpoint commits */
	char checkpoint[CHECKPOINT_TEXT_MAX + 1]; /* the newest, or "" */
};

/* "refs", "linear", ...; "ok" for AUDIT_OK.  Static storage. */
const char *audit_rule_name(enum audit_rule rule);

/* Verifies the ledger.  Returns 0 when it verifies, CSIRT_ETAMPER when a
 * rule is broken (*out says which, where and why), another CSIRT_E* code
 * when it could not be checked (unreadable allowed-signers file, I/O). */
int audit_verify(struct audit_report *out, const struct audit_options *opt);

#endif
