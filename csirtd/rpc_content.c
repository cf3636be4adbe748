/*
 * rpc_content.c - the text of 機密性高・中 notes (issue 6): sealed on the
 * loop thread before the writer sees it, opened for those the
 * content-access table allows.
 *
 * Sealing: a fresh random key per note version, the text encrypted with
 * secretstream (crypto.c), the key wrapped with the KEK under a random key
 * id and stored in the keystore by the storage thread before the event is
 * queued (so an acknowledged note is always readable); if the writer
 * refuses the event the key row is removed again, on that thread too.
 * Opening: the version's blob is read straight from the ledger's packs
 * (no tree walk), decrypted, and checked against the event's keyed digest
 * (text_mac: a plain hash of a secret text in the ledger would let anyone
 * with a copy confirm a guessed text).  The plaintext never reaches git,
 * the index or the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "index.h"
#include "keystore.h"
#include "ledger.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define NOTE_SEALED_MAX (1u << 20) /* a note's text is at most 64 KiB */

struct note_seal {
	struct rpc_item_key key;
	struct buf cipher;
	char mac[CRYPTO_SHA256_HEX_LEN];
};

static void
note_seal_after_write(struct rpc_ctx *ctx, int rc)
{
	struct note_seal *s = ctx->scratch;

	(void)rc;
	crypto_wipe(s->cipher.data, s->cipher.len);
	buf_free(&s->cipher);
}

int
rpc_note_seal(struct rpc_ctx *ctx, const char *text)
{
	const struct rpc_env *env = rpc_env(ctx);
	unsigned char rnd[8];
	struct crypto_item_key *key = NULL;
	struct crypto_stream *enc = NULL;
	struct note_seal *s;
	char hex[17];
	int rc;

	if (env->kek == NULL)
		return csirt_error_set(CSIRT_EUNIMPLEMENTED,
		                       "no key-encryption key: 機密性高・中 "
		                       "notes cannot be stored here");
	s = util_xcalloc(1, sizeof(*s));
	crypto_random(rnd, sizeof(rnd));
	util_hex(hex, rnd, sizeof(rnd));
	s->key.kind = "note";
	snprintf(s->key.key_id, sizeof(s->key.key_id), "note-%s", hex);
	if ((rc = crypto_item_key_new(&key)) != 0 ||
	    (rc = crypto_stream_enc_new(&enc, key, &s->cipher)) != 0)
		goto fail;
	crypto_stream_enc_update(enc, text, strlen(text), &s->cipher);
	crypto_stream_enc_final(enc, &s->cipher);
	crypto_item_key_mac_hex(s->mac, key, text, strlen(text));
	crypto_item_key_wrap(s->key.wrapped, env->kek, key, s->key.key_id);
	crypto_stream_free(enc);
	crypto_item_key_free(key);
	/* The keystore write is the storage thread's (rpc_submit runs
	 * ctx->io before queueing the event). */
	ctx->scratch = s;
	rpc_item_key_store(ctx, &s->key);
	ctx->after_write = note_seal_after_write;
	ctx->cmd.note_cipher = s->cipher.data;
	ctx->cmd.note_cipher_len = s->cipher.len;
	ctx->cmd.note_key_id = s->key.key_id;
	ctx->cmd.note_text_mac = s->mac;
	return 0;
fail:
	crypto_stream_free(enc);
	crypto_item_key_free(key);
	buf_free(&s->cipher);
	free(s);
	return rc;
}

int
rpc_note_open(char **out, struct rpc_ctx *ctx, const char *blob,
              const char *key_id, const char *digest_hex)
{
	const struct rpc_env *env = rpc_env(ctx);
	struct ledger_blob_reader *r = NULL;
	struct crypto_item_key *key = NULL;
	struct crypto_stream *dec = NULL;
	unsigned char wrapped[256], chunk[16384];
	char *repo = NULL, sha[CRYPTO_SHA256_HEX_LEN],
	     mac[CRYPTO_SHA256_HEX_LEN];
	struct buf plain = BUF_INIT;
	uint64_t size = 0;
	size_t wlen = 0, got = 0;
	int rc;

	*out = NULL;
	if (env->kek == NULL || env->data_dir == NULL)
		return csirt_error_set(CSIRT_EUNIMPLEMENTED,
		                       "encrypted notes are not served here");
	rc = keystore_key_get(env->ks, key_id, wrapped, sizeof(wrapped), &wlen);
	if (rc == CSIRT_ENOTFOUND)
		return csirt_error_set(CSIRT_ESTATE,
		                       "the key of this note version is gone: "
		                       "its text cannot be decrypted");
	if (rc != 0)
		return rc;
	rc = crypto_item_key_unwrap(&key, env->kek, key_id, wrapped, wlen);
	crypto_wipe(wrapped, sizeof(wrapped));
	if (rc != 0)
		return rc;
	repo = util_path_join(env->data_dir, "ledger.git");
	if ((rc = ledger_blob_open(&r, repo, blob, &size)) != 0 ||
	    (rc = crypto_stream_dec_new(&dec, key)) != 0)
		goto done;
	if (size > NOTE_SEALED_MAX) {
		rc = csirt_error_set(CSIRT_ETAMPER, "sealed note of %llu bytes",
		                     (unsigned long long)size);
		goto done;
	}
	do {
		if ((rc = ledger_blob_read(r, chunk, sizeof(chunk), &got)) !=
		        0 ||
		    (got > 0 && (rc = crypto_stream_dec_update(dec, chunk, got,
		                                               &plain)) != 0))
			goto done;
	} while (got > 0);
	if ((rc = crypto_stream_dec_final(dec, &plain)) != 0)
		goto done;
	/* The version's keyed digest, or the plain SHA-256 that events
	 * written before text_mac carry. */
	crypto_item_key_mac_hex(mac, key, plain.data != NULL ? plain.data : "",
	                        plain.len);
	crypto_sha256_hex(sha, plain.data != NULL ? plain.data : "", plain.len);
	if ((strcmp(mac, digest_hex) != 0 && strcmp(sha, digest_hex) != 0) ||
	    memchr(plain.data != NULL ? plain.data : "", '\0', plain.len) !=
	        NULL) {
		rc = csirt_error_set(CSIRT_ETAMPER,
		                     "the decrypted note does not match its "
		                     "digest");
		goto done;
	}
	buf_putc(&plain, '\0');
	*out = buf_detach(&plain);
	rc = 0;
done:
	if (plain.data != NULL)
		crypto_wipe(plain.data, plain.len);
	buf_free(&plain);
	ledger_blob_close(r);
	crypto_stream_free(dec);
	crypto_item_key_free(key);
	free(repo);
	return rc;
}
