/*
 * writer.h - the single ledger writer with group commit (DESIGN.md §2).
 *
 * Commands (proposed events) queue up from any thread; one writer thread
 * takes everything queued (up to a batch limit), validates each command
 * against the current state, writes one signed commit per accepted event,
 * makes the batch durable (pack, ref, SQLite), and only then completes each
 * command through its callback.  A rejected command never reaches the
 * ledger.  The queue is bounded: a full queue answers CSIRT_EBUSY.
 *
 * The same code replays the ledger into the index (start-up reconciliation
 * and `csirtd rebuild`), so the live index and a rebuilt one are produced by
 * one fold.
 */
#ifndef CSIRT_WRITER_H
#define CSIRT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "csirt/v1/domain.pb-c.h"
#include "ledger.h"

struct clock;
struct index;
struct writer;

struct writer_cmd;
typedef void (*writer_done_cb)(struct writer_cmd *cmd, void *arg);

struct writer_cmd {
	/* In: the proposed event, fully owned by the command.  The writer
	 * fills seq, time, type and (for a report) case_id. */
	Csirt__V1__Event *ev;
	/* Note text for note.added and note.edited (borrowed; valid until
	 * `done`).  Only 機密性低 text is accepted until note encryption
	 * exists.  A note.edited needs only note_id (and a reason): the
	 * writer looks the note up and assigns version, path and digest;
	 * only the note's author or the CSIRT lead may edit it. */
	const char *note_text;
	/* evidence.added: the staging file holding the version's ciphertext
	 * (borrowed; valid until `done`).  The writer streams it into the
	 * ledger as content.enc and fills the manifest's content_path,
	 * content_blob, content_size, key_id, uploader and uploaded_at; it
	 * checks the version follows the item's newest and the item was not
	 * disposed.  evidence.disposed: the writer fills key_ids. */
	const char *content_file;
	/* A 機密性高・中 note (add or edit): its text sealed by the RPC layer
	 * under a new key stored as note_key_id (borrowed; valid until
	 * `done`).  The writer stores the ciphertext as notes/<id>.md.enc
	 * and keeps note_text only to check and hash it; for a 機密性低 note
	 * these must be NULL. */
	const void *note_cipher;
	size_t note_cipher_len;
	const char *note_key_id;
	/* ...and the keyed digest of its text (crypto_item_key_mac_hex()),
	 * borrowed likewise. */
	const char *note_text_mac;
	writer_done_cb done; /* called on the writer thread */
	void *arg;

	/* Out, valid in `done`: rc 0 or a CSIRT_E* code with `err`. */
	int rc;
	char err[256];
	uint64_t seq;
	char commit[LEDGER_OID_HEX];
	Csirt__V1__Case *case_after; /* owned by the command when set */

	struct writer_cmd *next; /* queue link, private */
};

/* Frees what the command owns (ev, case_after) but not the command. */
void writer_cmd_release(struct writer_cmd *cmd);

/* `lg` and `ix` are borrowed and used only by the writer from now on. */
int writer_new(struct writer **out, struct ledger *lg, struct index *ix,
               size_t queue_depth, size_t batch_max);

/*
 * What the writer applies to reports (DESIGN.md §4; config.c
 * report_delay_limit_min and auto_escalate_categories).  The defaults of
 * writer_new() are all zero: no limit recorded, no automatic escalation.
 */
struct writer_policy {
	/* Written into every IncidentReported as report_delay_limit_seconds
	 * (0: none), from which the fold sets Case.report_late. */
	int64_t report_delay_limit_s;
	/* Bit (1u << category): a report of such a category is followed, in
	 * the same batch, by a case.escalated event by the daemon (actor
	 * WRITER_SYSTEM_ACTOR, ROLE_SYSTEM).  The command then completes
	 * with case_after in state ESCALATED and seq of the report. */
	uint32_t auto_escalate;
};

/* The actor of the daemon's own events (deadlines, auto-escalation). */
#define WRITER_SYSTEM_ACTOR "csirtd"

/* The three setters below are called before writer_start() (or between
 * writer_run_once() calls); `p` is copied, `clk` borrowed (NULL:
 * clock_system), used for every event time. */
void writer_set_policy(struct writer *w, const struct writer_policy *p);
void writer_set_clock(struct writer *w, const struct clock *clk);
/* `fn(arg)` runs on the writer thread after each durable batch, before the
 * batch's commands complete (the deadline scheduler re-arms from it). */
void writer_set_commit_hook(struct writer *w, void (*fn)(void *arg), void *arg);
/* In the commit hook: whether the batch just committed holds an event that
 * can move a deadline, which is any but a note's (note.added, note.edited;
 * an idle checkpoint holds none).  Under a note load most batches hold
 * only notes, and the deadline scan is two queries on the loop. */
bool writer_batch_moved_deadlines(const struct writer *w);

/*
 * Signed checkpoints (checkpoint.h): at the end of a batch, when events
 * were added since the last checkpoint and `every` events (0: no count
 * trigger) or `interval_s` seconds by the writer's clock (0: no time
 * trigger) have passed, the writer commits a checkpoint signed with
 * `signer` (borrowed) in the same durable batch; an idle writer thread
 * wakes up for one due by time (writer_run_once() checks at its end).
 * The Merkle frontier is saved to `frontier_path` (NULL: never) after each
 * checkpoint; at this call it is resumed from there when the saved tree
 * matches the signed checkpoint it names (then only later commits are
 * read), else rebuilt by walking every commit message of the ledger.
 * Call after reconciliation and writer_set_clock(), before writer_start().
 * CSIRT_ETAMPER when the ledger's events do not run 1, 2, ... up to the
 * index's position.
 */
int writer_set_checkpoints(struct writer *w, const struct crypto_signer *signer,
                           uint64_t every, uint64_t interval_s,
                           const char *frontier_path);

int writer_start(struct writer *w);
/* Queues a command; CSIRT_EBUSY when the queue is full, CSIRT_EUNAVAILABLE
 * when stopping or broken.  On success the callback always runs once. */
int writer_submit(struct writer *w, struct writer_cmd *cmd);
/* Processes every queued command in the calling thread (no thread needed;
 * used by `csirtd init` and tests). */
int writer_run_once(struct writer *w);
/* Finishes queued commands, then stops the thread. */
void writer_stop(struct writer *w);
void writer_free(struct writer *w);

uint64_t writer_last_seq(struct writer *w);

/* The writer thread's phases, in the order of a batch: waiting for a
 * first command; applying the commands (validation, fold, index rows,
 * files); waiting within the batch for more commands to join it; draining
 * the commit thread and the batch's last index rows; the durable write
 * (pack, ref, fsyncs; the index's pages written meanwhile); the index's
 * COMMIT; answering the batch's commands. */
enum writer_phase {
	WRITER_IDLE,
	WRITER_APPLY,
	WRITER_GATHER,
	WRITER_DRAIN,
	WRITER_DURABLE,
	WRITER_COMMIT,
	WRITER_ANSWER,
	WRITER_PHASES
};
extern const char *const writer_phase_names[WRITER_PHASES];

/* A batch this long is logged ("slow ledger batch", by phase): a disk that
 * stalls shows there, in `durable`. */
#define WRITER_SLOW_BATCH_MS 1000

struct writer_stats {
	uint64_t batches;         /* durable batches */
	uint64_t events;          /* events made durable */
	uint64_t rejected;        /* commands refused by validation */
	uint64_t failed;          /* commands failed by storage errors */
	uint64_t max_batch;       /* largest batch */
	uint64_t checkpoints;     /* checkpoints written since start */
	uint64_t checkpoint_size; /* tree size of the newest one, or 0 */
	uint64_t joined;          /* commands that joined a batch under way */
	/* Batches that took WRITER_SLOW_BATCH_MS or more (waiting for the
	 * first command not counted), each also logged with its phases, and
	 * the longest batch so far in microseconds. */
	uint64_t slow_batches;
	uint64_t longest_batch_us;
	/* Where the writer thread's time went, in microseconds since it
	 * started (WRITER_PHASES, writer_phase_names). */
	uint64_t phase_us[WRITER_PHASES];
};

void writer_get_stats(struct writer *w, struct writer_stats *out);
size_t writer_queue_len(struct writer *w);

/* Replays the ledger commits the index has not seen into it.  Refuses
 * (CSIRT_ETAMPER) when the ledger head does not descend from the commit
 * the index recorded.  `replayed` may be NULL. */
int writer_reconcile(struct ledger *lg, struct index *ix, uint64_t *replayed);

/*
 * writer_reconcile() into a fresh, private index that is thrown away on
 * failure (`csirtd rebuild`, csirt-audit --index): one transaction in
 * index_bulk_begin()'s mode, the secondary indexes built at the end.
 * The caller fsyncs the file before it trusts it.
 */
int writer_replay_bulk(struct ledger *lg, struct index *ix, uint64_t *replayed);

#endif
