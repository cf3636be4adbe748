/*
 * keystore.h - keystore.sqlite, the daemon's secrets: API token hashes now,
 * wrapped per-item encryption keys later (crypto-shredding, DESIGN.md §2).
 *
 * Nothing here is ever written to git or to the index, and nothing here can
 * be rebuilt from the ledger.  The file is mode 0600; connections run with
 * PRAGMA secure_delete=ON so deleted secrets are overwritten, WAL,
 * synchronous=FULL, foreign keys on.  One connection, one thread.
 * Implemented in index.c (the only includer of SQLite).
 */
#ifndef CSIRT_KEYSTORE_H
#define CSIRT_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

struct keystore;

/* Opens (creating if needed) and migrates.  The file's mode is forced to
 * 0600.  Caller frees with keystore_close(). */
int keystore_open(struct keystore **out, const char *path);

/* NULL is a no-op. */
void keystore_close(struct keystore *ks);

/* Verifies the connection still has its guarantees (secure_delete and
 * foreign keys on, schema current); CSIRT_EFAIL naming the first that is
 * not.  For start-up checks and tests. */
int keystore_check(struct keystore *ks);

/* ---- API tokens.  `hash_hex` is the lowercase hex digest of the bearer
 * token (the token itself is never stored). */

/* CSIRT_ECONFLICT if token_id or hash_hex already exists; CSIRT_EINVAL for
 * an empty id/login or a hash that is not 32-128 lowercase hex digits. */
int keystore_token_add(struct keystore *ks, const char *token_id,
                       const char *login, const char *hash_hex,
                       int64_t created_ms);

/* CSIRT_ENOTFOUND when absent or revoked.  Caller frees both strings (either
 * out pointer may be NULL when not wanted). */
int keystore_token_lookup(struct keystore *ks, const char *hash_hex,
                          char **login_out, char **token_id_out);

/* CSIRT_ENOTFOUND for an unknown token.  Revoking a revoked token succeeds
 * and keeps the first revocation time. */
int keystore_token_revoke(struct keystore *ks, const char *token_id,
                          int64_t when_ms);
/* A counter that every successful revocation advances (in this process,
 * on any connection): a cache of lookups is valid while it stands still. */
uint64_t keystore_token_generation(void);

/*
 * Calls `cb` for each token of `login` (NULL: all) ordered by creation time
 * then id; revoked_ms is 0 for a valid token.  Strings are borrowed for the
 * call.  A non-zero return from `cb` stops the walk and is returned.
 */
int keystore_tokens_list(struct keystore *ks, const char *login,
                         int (*cb)(const char *token_id, const char *login,
                                   int64_t created_ms, int64_t revoked_ms,
                                   void *arg),
                         void *arg);

/* ---- Wrapped item keys (evidence versions, 機密性高・中 notes), migration
 * schema/keystore/0002_item_keys.sql.  `wrapped` is what
 * crypto_item_key_wrap() produced (1-256 bytes); the keystore never sees
 * an unwrapped key. */

/* CSIRT_ECONFLICT when item_id already has a key (items are write-once);
 * CSIRT_EINVAL for an empty id, an unknown kind ("evidence", "note") or a
 * bad length. */
int keystore_key_put(struct keystore *ks, const char *item_id, const char *kind,
                     const void *wrapped, size_t len, int64_t created_ms);

/* Copies the wrapped key into `out` (`size` bytes) and its length into
 * *len.  CSIRT_ENOTFOUND when there is none (never stored, or destroyed). */
int keystore_key_get(struct keystore *ks, const char *item_id,
                     unsigned char *out, size_t size, size_t *len);

/*
 * Crypto-shredding: deletes the row of item_id under secure_delete (the
 * freed cell is overwritten with zeros) and checkpoints the WAL with
 * TRUNCATE so the -wal file keeps no copy either.  CSIRT_ENOTFOUND when
 * there is no key; CSIRT_EBUSY when a reader kept the checkpoint from
 * completing (the row is gone from the database either way; call again).
 */
int keystore_key_destroy(struct keystore *ks, const char *item_id);

#endif
