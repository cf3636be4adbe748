/*
 * checkpoint.h - signed checkpoints of the ledger: an RFC 6962 Merkle tree
 * over the events' hashes and its signed statement.
 *
 * The leaves are the 32-byte SHA-256 digests of the event files
 * (Event-SHA256) in Seq order: leaf hash SHA-256(0x00 || digest), node hash
 * SHA-256(0x01 || left || right), split at the largest power of two below
 * the size (RFC 6962 §2.1).  struct merkle keeps only the O(log n) roots of
 * the perfect subtrees (the frontier): enough to append and to compute the
 * root at the current size.
 *
 * A checkpoint is a C2SP tlog-checkpoint in a C2SP signed note, so that
 * standard transparency-log tooling can read it:
 *
 *   csirtd/<16 hex of SHA-256 of the public key>   origin
 *   1000                                           tree size (= last Seq)
 *   <base64 root hash>
 *   head <40 hex>                                  the commit of event 1000
 *
 *   — csirtd/<...> <base64 of key id and ed25519 signature>
 *
 * The daemon commits each one as checkpoints/<size>.txt (layout.c).
 */
#ifndef CSIRT_CHECKPOINT_H
#define CSIRT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "ledger.h"
#include "util.h"

#define MERKLE_HASH_LEN 32
#define CHECKPOINT_ORIGIN_MAX 64

struct merkle {
	uint64_t size;
	/* node[i]: the root of a perfect subtree of 2^i leaves, valid when
	 * bit i of size is set; the subtrees are in leaf order from the
	 * highest bit down. */
	unsigned char node[64][MERKLE_HASH_LEN];
};

void merkle_init(struct merkle *m);
/* Appends a leaf whose data is `data` (the leaf hash is computed here). */
void merkle_append(struct merkle *m, const void *data, size_t len);
/* Appends the leaf of an event: `hex` is its Event-SHA256 (64 lowercase
 * hex digits), the leaf data its 32 bytes.  CSIRT_EINVAL otherwise. */
int merkle_append_sha256_hex(struct merkle *m, const char *hex);
/* The root of the tree (SHA-256 of nothing for the empty tree). */
void merkle_root(const struct merkle *m, unsigned char out[MERKLE_HASH_LEN]);

/* The frontier as text, to resume the tree at start-up without reading
 * the whole ledger: "csirtd merkle frontier 1", "size N", "commit ID"
 * (the checkpoint commit it belongs to), then "node I HEX" for each set
 * bit I of N. */
void merkle_save(struct buf *out, const struct merkle *m, const char *commit);
/* Parses merkle_save()'s text.  CSIRT_EINVAL when malformed.  Whether it
 * is right is for the caller to check (against the checkpoint's root). */
int merkle_load(struct merkle *m, char commit[LEDGER_OID_HEX],
                const char *text);

struct checkpoint {
	char origin[CHECKPOINT_ORIGIN_MAX];
	uint64_t size;
	unsigned char root[MERKLE_HASH_LEN];
	char head[LEDGER_OID_HEX];
};

/* The origin (and key name) of the ledger signed by `public_key`
 * ("ssh-ed25519 AAAA..."). */
void checkpoint_origin(char out[CHECKPOINT_ORIGIN_MAX], const char *public_key);

/* Appends the signed note of `cp` (cp->origin is the key name). */
int checkpoint_sign(struct buf *out, const struct checkpoint *cp,
                    const struct crypto_signer *s);

/*
 * Parses a signed checkpoint and checks it carries a valid signature by
 * one of `keys` (n "ssh-ed25519 AAAA..." strings) named with its origin.
 * CSIRT_EINVAL names what is malformed; CSIRT_ETAMPER when no allowed key
 * signed it.  The text is at most CHECKPOINT_TEXT_MAX bytes.
 */
#define CHECKPOINT_TEXT_MAX 4096
int checkpoint_open(struct checkpoint *out, const char *note, size_t len,
                    char *const *keys, size_t nkeys);

#endif
