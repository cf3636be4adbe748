/*
 * evidence.c - evidence items folded from events, upload staging files and
 * download readers (issue 6).
 *
 * It owns the staging files under $DATA/staging/ and what they contain:
 * the secretstream ciphertext of what a client sent, encrypted as it
 * arrives under the upload's own random key, so that plaintext never
 * touches the disk and the whole file is never in memory.  It must never
 * write the ledger or the index (the writer does), never keep an item key
 * outside guarded memory, and never hand out the last bytes of a download
 * before the content's SHA-256 matched its manifest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "error.h"
#include "evidence.h"
#include "index.h"
#include "ledger.h"
#include "util.h"

/* ---- the fold ------------------------------------------------------- */

static Csirt__V1__EvidenceItem *
evidence_item_get(struct evidence_list *l, const char *id, const char *case_id)
{
	Csirt__V1__EvidenceItem *it;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i]->evidence_id, id) == 0)
			return l->items[i];
	it = (Csirt__V1__EvidenceItem *)codec_new(
	    &csirt__v1__evidence_item__descriptor);
	codec_set_string(&it->evidence_id, id);
	codec_set_string(&it->case_id, case_id);
	l->items = util_xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	l->items[l->n++] = it;
	return it;
}

static int
evidence_fold_cb(const Csirt__V1__Event *ev, const char *commit_id, void *arg)
{
	struct evidence_list *l = arg;
	Csirt__V1__EvidenceItem *it;

	(void)commit_id;
	if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED &&
	    ev->evidence_added != NULL &&
	    ev->evidence_added->manifest != NULL) {
		const Csirt__V1__EvidenceManifest *m =
		    ev->evidence_added->manifest;
		it = evidence_item_get(l, m->evidence_id, ev->case_id);
		it->versions = util_xrealloc(
		    it->versions, (it->n_versions + 1) * sizeof(*it->versions));
		it->versions[it->n_versions++] =
		    (Csirt__V1__EvidenceManifest *)codec_clone(&m->base);
		/* A new version carries the item's classification now. */
		codec_free(it->classification ? &it->classification->base
		                              : NULL);
		it->classification =
		    m->classification != NULL
		        ? (Csirt__V1__Classification *)codec_clone(
		              &m->classification->base)
		        : NULL;
	} else if (ev->payload_case ==
	               CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_RECLASSIFIED &&
	           ev->evidence_reclassified != NULL &&
	           ev->evidence_reclassified->after != NULL) {
		it = evidence_item_get(
		    l, ev->evidence_reclassified->evidence_id, ev->case_id);
		codec_free(it->classification ? &it->classification->base
		                              : NULL);
		it->classification = (Csirt__V1__Classification *)codec_clone(
		    &ev->evidence_reclassified->after->base);
	} else if (ev->payload_case ==
	               CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_DISPOSED &&
	           ev->evidence_disposed != NULL) {
		it = evidence_item_get(l, ev->evidence_disposed->evidence_id,
		                       ev->case_id);
		it->disposed = true;
		codec_set_string(&it->disposed_at, ev->time);
		codec_set_string(&it->disposed_by, ev->actor);
		codec_set_string(&it->disposal_reason,
		                 ev->evidence_disposed->reason);
	}
	return 0;
}

int
evidence_list_case(struct evidence_list *out, struct index *ix,
                   const char *case_id)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = index_events_for_case(ix, case_id, evidence_fold_cb, out);
	if (rc != 0)
		evidence_list_free(out);
	return rc;
}

const Csirt__V1__EvidenceItem *
evidence_list_find(const struct evidence_list *l, const char *evidence_id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i]->evidence_id, evidence_id) == 0)
			return l->items[i];
	return NULL;
}

void
evidence_list_free(struct evidence_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		codec_free(&l->items[i]->base);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ---- staging -------------------------------------------------------- */

/*
 * Invariant: the file holds the stream header and the ciphertext of every
 * complete frame of the `received` bytes; the partial frame is in the
 * encryptor (guarded memory), never on disk.
 */
struct evidence_stage {
	char *path;
	int fd;
	uint64_t size, received;
	struct crypto_item_key *key;
	struct crypto_stream *enc;
	struct crypto_sha256_ctx *sha;
	unsigned char digest[CRYPTO_SHA256_LEN];
	bool finished;
	bool broken;    /* a write failed: the file no longer matches */
	struct buf out; /* ciphertext on its way to the file */
};

static int
stage_write(struct evidence_stage *st)
{
	if (util_write_all(st->fd, st->out.data, st->out.len) < 0) {
		/* The encryptor moved on: this upload cannot be resumed
		 * consistently any more. */
		st->broken = true;
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "writing staging file %s: %s; begin the "
		                       "upload again",
		                       st->path, strerror(errno));
	}
	buf_reset(&st->out);
	return 0;
}

int
evidence_stage_new(struct evidence_stage **out, const char *path, uint64_t size)
{
	struct evidence_stage *st = util_xcalloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	st->path = util_strdup(path);
	st->size = size;
	st->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (st->fd < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE,
		                     "creating staging file %s: %s", path,
		                     strerror(errno));
		free(st->path);
		free(st);
		return rc;
	}
	st->sha = crypto_sha256_new();
	if ((rc = crypto_item_key_new(&st->key)) != 0 ||
	    (rc = crypto_stream_enc_new(&st->enc, st->key, &st->out)) != 0 ||
	    (rc = stage_write(st)) != 0) {
		evidence_stage_free(st, false);
		return rc;
	}
	*out = st;
	return 0;
}

int
evidence_stage_append(struct evidence_stage *st, uint64_t offset,
                      const void *data, size_t len)
{
	if (st->broken)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "this upload failed to store a chunk; "
		                       "cancel it and begin again");
	if (st->finished)
		return csirt_error_set(CSIRT_ESTATE,
		                       "the upload is complete; commit it");
	if (offset != st->received)
		return csirt_error_set(CSIRT_ECONFLICT,
		                       "offset %llu: the upload continues at "
		                       "offset %llu",
		                       (unsigned long long)offset,
		                       (unsigned long long)st->received);
	if (len > st->size - st->received)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%zu bytes at offset %llu exceed the "
		                       "announced size %llu",
		                       len, (unsigned long long)offset,
		                       (unsigned long long)st->size);
	crypto_sha256_update(st->sha, data, len);
	crypto_stream_enc_update(st->enc, data, len, &st->out);
	st->received += len;
	return stage_write(st);
}

uint64_t
evidence_stage_received(const struct evidence_stage *st)
{
	return st->received;
}

int
evidence_stage_finish(struct evidence_stage *st, const char *sha256_hex)
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	int rc;

	if (st->broken)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "this upload failed to store a chunk; "
		                       "cancel it and begin again");
	if (!st->finished) {
		if (st->received != st->size)
			return csirt_error_set(
			    CSIRT_ESTATE,
			    "%llu of %llu bytes received; append the rest "
			    "from offset %llu",
			    (unsigned long long)st->received,
			    (unsigned long long)st->size,
			    (unsigned long long)st->received);
		crypto_stream_enc_final(st->enc, &st->out);
		/* No fsync: the writer makes the ledger's copy durable, and
		 * a staging file is worthless after a crash anyway. */
		if ((rc = stage_write(st)) != 0)
			return rc;
		crypto_sha256_final(st->sha, st->digest);
		st->sha = NULL;
		crypto_stream_free(st->enc);
		st->enc = NULL;
		st->finished = true;
	}
	util_hex(hex, st->digest, sizeof(st->digest));
	if (strcmp(hex, sha256_hex) != 0)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "sha256: the server computed %s over the "
		    "bytes received, the client announced "
		    "%.64s; upload again",
		    hex, sha256_hex);
	return 0;
}

const struct crypto_item_key *
evidence_stage_key(const struct evidence_stage *st)
{
	return st->key;
}

const char *
evidence_stage_path(const struct evidence_stage *st)
{
	return st->path;
}

void
evidence_stage_free(struct evidence_stage *st, bool keep)
{
	unsigned char junk[CRYPTO_SHA256_LEN];

	if (st == NULL)
		return;
	if (st->fd >= 0)
		close(st->fd);
	if (!keep)
		unlink(st->path);
	if (st->sha != NULL)
		crypto_sha256_final(st->sha, junk);
	crypto_stream_free(st->enc);
	crypto_item_key_free(st->key);
	buf_free(&st->out);
	free(st->path);
	free(st);
}

/* ---- download ------------------------------------------------------- */

/*
 * Invariant: `pend` holds plaintext decrypted but not handed out; it is
 * at most one frame plus one read of ciphertext, whatever the size of
 * the content.  `eof` is set only once the final frame opened, the length
 * matched and the SHA-256 matched the manifest.
 */
struct evidence_reader {
	struct ledger_blob_reader *blob;
	struct crypto_stream *dec;
	struct crypto_sha256_ctx *sha;
	char want_sha[CRYPTO_SHA256_HEX_LEN];
	uint64_t size, produced, offset;
	bool ended;
	struct buf pend;
	size_t pend_at;
	unsigned char cbuf[65536];
};

int
evidence_reader_open(struct evidence_reader **out, const char *repo,
                     const Csirt__V1__EvidenceManifest *m,
                     const struct crypto_item_key *key)
{
	struct evidence_reader *r = util_xcalloc(1, sizeof(*r));
	uint64_t blob_size = 0;
	int rc;

	*out = NULL;
	snprintf(r->want_sha, sizeof(r->want_sha), "%s", m->sha256);
	r->size = m->size;
	if ((rc = ledger_blob_open(&r->blob, repo, m->content_blob,
	                           &blob_size)) != 0 ||
	    (rc = crypto_stream_dec_new(&r->dec, key)) != 0) {
		evidence_reader_free(r);
		return rc;
	}
	if (blob_size != crypto_stream_cipher_len(m->size)) {
		evidence_reader_free(r);
		return csirt_error_set(
		    CSIRT_ETAMPER,
		    "evidence %s v%u: the ciphertext has %llu "
		    "bytes, not the %llu its manifest implies",
		    m->evidence_id, m->version, (unsigned long long)blob_size,
		    (unsigned long long)crypto_stream_cipher_len(m->size));
	}
	r->sha = crypto_sha256_new();
	*out = r;
	return 0;
}

/* Decrypts at least one more piece into `pend`, or ends the stream. */
static int
reader_fill(struct evidence_reader *r)
{
	unsigned char digest[CRYPTO_SHA256_LEN];
	char hex[CRYPTO_SHA256_HEX_LEN];
	size_t got = 0, before = r->pend.len;
	int rc;

	if ((rc = ledger_blob_read(r->blob, r->cbuf, sizeof(r->cbuf), &got)) !=
	    0)
		return rc;
	if (got > 0)
		rc = crypto_stream_dec_update(r->dec, r->cbuf, got, &r->pend);
	else
		rc = crypto_stream_dec_final(r->dec, &r->pend);
	if (rc != 0)
		return rc;
	crypto_sha256_update(r->sha, r->pend.data + before,
	                     r->pend.len - before);
	r->produced += r->pend.len - before;
	if (r->produced > r->size)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "evidence content is longer than its "
		                       "manifest's size");
	if (got == 0) {
		crypto_sha256_final(r->sha, digest);
		r->sha = NULL;
		util_hex(hex, digest, sizeof(digest));
		if (r->produced != r->size)
			return csirt_error_set(
			    CSIRT_ETAMPER, "evidence content is shorter than "
			                   "its manifest's size");
		if (strcmp(hex, r->want_sha) != 0)
			return csirt_error_set(
			    CSIRT_ETAMPER, "evidence content does not match "
			                   "the SHA-256 of its manifest");
		r->ended = true;
	}
	return 0;
}

int
evidence_reader_read(struct evidence_reader *r, struct buf *out, size_t max,
                     bool *eof)
{
	int rc;

	*eof = false;
	while (r->pend.len - r->pend_at < max && !r->ended)
		if ((rc = reader_fill(r)) != 0)
			return rc;
	if (r->pend.len > 0) {
		size_t n = r->pend.len - r->pend_at;
		if (n > max)
			n = max;
		buf_put(out, r->pend.data + r->pend_at, n);
		crypto_wipe(r->pend.data + r->pend_at, n);
		r->pend_at += n;
		r->offset += n;
		/* Keep what is left at the front: `pend` stays bounded. */
		memmove(r->pend.data, r->pend.data + r->pend_at,
		        r->pend.len - r->pend_at);
		r->pend.len -= r->pend_at;
		r->pend_at = 0;
	}
	*eof = r->ended && r->pend.len == r->pend_at;
	return 0;
}

uint64_t
evidence_reader_offset(const struct evidence_reader *r)
{
	return r->offset;
}

void
evidence_reader_free(struct evidence_reader *r)
{
	unsigned char junk[CRYPTO_SHA256_LEN];

	if (r == NULL)
		return;
	ledger_blob_close(r->blob);
	crypto_stream_free(r->dec);
	if (r->sha != NULL)
		crypto_sha256_final(r->sha, junk);
	if (r->pend.data != NULL)
		crypto_wipe(r->pend.data, r->pend.len);
	buf_free(&r->pend);
	free(r);
}
