/*
 * evidence.h - digital evidence (issue 6): the fold of a case's evidence
 * events into items and versions, the upload staging file (content is
 * encrypted as it arrives, never written in plaintext) and the download
 * cursor (ledger blob -> decrypt -> verify).  No network, no index writes,
 * no ledger writes: the writer commits, rpc_evidence.c serves.
 */
#ifndef CSIRT_EVIDENCE_H
#define CSIRT_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "csirt/v1/domain.pb-c.h"
#include "csirt/v1/service.pb-c.h"

struct index;

#define EVIDENCE_CHUNK_MAX (1u << 20) /* bytes per append or download */
#define EVIDENCE_ENCRYPTION "secretstream-xchacha20poly1305-64k"

/* ---- the fold of evidence events */

struct evidence_list {
	Csirt__V1__EvidenceItem **items; /* fully owned, in order of addition */
	size_t n;
};

/* Folds the evidence events of `case_id` from the index (the writer's
 * connection sees its open batch).  Free with evidence_list_free(). */
int evidence_list_case(struct evidence_list *out, struct index *ix,
                       const char *case_id);
/* Borrowed from `l`; NULL when absent. */
const Csirt__V1__EvidenceItem *evidence_list_find(const struct evidence_list *l,
                                                  const char *evidence_id);
void evidence_list_free(struct evidence_list *l);

/* ---- upload staging */

struct evidence_stage;

/*
 * Creates the staging file `path` (mode 0600, O_EXCL) and a fresh random
 * item key: what arrives is hashed (SHA-256 of the plaintext) and
 * encrypted in fixed-size frames straight into the file.  Caller frees
 * with evidence_stage_free().
 */
int evidence_stage_new(struct evidence_stage **out, const char *path,
                       uint64_t size);
/* Takes `len` bytes at `offset`, which must equal the bytes received
 * (CSIRT_ECONFLICT naming the expected offset otherwise); CSIRT_EINVAL
 * beyond the announced size. */
int evidence_stage_append(struct evidence_stage *st, uint64_t offset,
                          const void *data, size_t len);
uint64_t evidence_stage_received(const struct evidence_stage *st);
/* When all bytes arrived: seals the final frame into the file (no fsync:
 * the writer makes the ledger's copy durable) and compares the SHA-256 with
 * `sha256_hex` (CSIRT_EINVAL on a mismatch, the upload is then useless).
 * Idempotent once it succeeded. */
int evidence_stage_finish(struct evidence_stage *st, const char *sha256_hex);
/* The item key (borrowed; valid until free). */
const struct crypto_item_key *
evidence_stage_key(const struct evidence_stage *st);
const char *evidence_stage_path(const struct evidence_stage *st);
/* Zeroes the key, removes the file unless `keep`, frees; NULL no-op. */
void evidence_stage_free(struct evidence_stage *st, bool keep);

/* ---- download */

struct evidence_reader;

/*
 * Opens version `m` for reading: its blob from the ledger at `repo`
 * (ledger.git) and the item key `key` (borrowed for the call).  Reads
 * decrypt frame by frame, insist on the final tag, and check the SHA-256
 * against the manifest at the end.  Caller frees with
 * evidence_reader_free().
 */
int evidence_reader_open(struct evidence_reader **out, const char *repo,
                         const Csirt__V1__EvidenceManifest *m,
                         const struct crypto_item_key *key);
/* Appends up to `max` plaintext bytes to `out` and sets *eof when the
 * content ended (and verified).  CSIRT_ETAMPER on any integrity error. */
int evidence_reader_read(struct evidence_reader *r, struct buf *out, size_t max,
                         bool *eof);
/* Plaintext bytes handed out so far (the offset of the next read). */
uint64_t evidence_reader_offset(const struct evidence_reader *r);
void evidence_reader_free(struct evidence_reader *r);

#endif
