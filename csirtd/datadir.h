/*
 * datadir.h - the data directory: its layout, its lock, its creation
 * (`csirtd init`), opening it for the daemon, and `csirtd rebuild`.
 *
 *   $DATA/csirtd.lock        held (flock) by the one process using $DATA
 *   $DATA/ledger.git/        the audit trail (source of truth)
 *   $DATA/index.sqlite       query index, rebuilt from the ledger at will
 *   $DATA/keystore.sqlite    token hashes, wrapped keys (never in git)
 *   $DATA/keys/ledger_ed25519{,.pub}, keys/allowed_signers
 *   $DATA/keys/kek           key-encryption key of the item keys (0600)
 */
#ifndef CSIRT_DATADIR_H
#define CSIRT_DATADIR_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"

struct ledger;
struct index;
struct keystore;

struct datadir {
	char *path;
	int lock_fd;
	struct crypto_signer *signer;
	struct ledger *lg;
	struct index *ix;
	struct keystore *ks;
	struct crypto_kek *kek; /* wraps item keys (keys/kek) */
	bool unsynced;          /* ix is unsynced (index.unsynced) */
};

/* Creates $DATA with its keys, an empty ledger whose first signed commit
 * records the first administrator `admin_login`, the index and the
 * keystore; writes that administrator's new token to `token_out` (shown
 * once; only its hash is kept).  Refuses an initialised directory. */
int datadir_init(const char *path, const char *admin_login,
                 char token_out[CRYPTO_TOKEN_LEN]);

/* Locks and opens an initialised directory and reconciles the index with
 * the ledger (replaying what it lacks; CSIRT_ETAMPER when the ledger does
 * not descend from what the index recorded).  The index is opened unsynced
 * (index_open_unsynced) under `index.unsynced`, which names the system's
 * boot: found naming another boot, the system went down while the index
 * was unsynced, and the index is first rebuilt from the ledger.  Caller
 * frees with datadir_close(), which fsyncs the index and removes the
 * file. */
int datadir_open(struct datadir **out, const char *path);
void datadir_close(struct datadir *dd);

/* Replays the whole ledger into a fresh index and swaps it in. */
int datadir_rebuild(const char *path, uint64_t *events);
/* Break-glass: a new token for the active administrator `login`, with the
 * daemon stopped (the data directory's lock), for when every
 * administrator token is lost.  Logged with its id (never the token). */
int datadir_issue_token(const char *path, const char *login,
                        char token_out[CRYPTO_TOKEN_LEN],
                        char id_out[CRYPTO_TOKEN_ID_LEN]);

#endif
