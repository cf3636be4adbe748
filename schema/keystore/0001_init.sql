-- keystore/0001_init.sql - the first schema of keystore.sqlite.
--
-- keystore.sqlite holds secrets only (DESIGN.md §2) and is never in git and
-- never in the index: it cannot be rebuilt from the ledger, so it is backed
-- up on its own.  Connections run with PRAGMA secure_delete=ON so that
-- deleted secrets are overwritten in the file, and the file is mode 0600.
-- Same migration rules as schema/*.sql (one transaction each, tracked with
-- PRAGMA user_version, no BEGIN/COMMIT here).

-- API bearer tokens.  Only a hash of the token is stored; the token itself
-- is shown once at creation.  A revoked token keeps its row (for audit and
-- listing) with revoked_ms set; lookups ignore it.
CREATE TABLE tokens (
    token_id   TEXT    PRIMARY KEY CHECK (token_id <> ''),
    login      TEXT    NOT NULL CHECK (login <> ''),
    hash_hex   TEXT    NOT NULL UNIQUE
               CHECK (length(hash_hex) BETWEEN 32 AND 128
                      AND hash_hex NOT GLOB '*[^0-9a-f]*'),
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER                            -- NULL while valid
) STRICT;

CREATE INDEX tokens_login ON tokens (login, created_ms);

-- Wrapped evidence/note keys (crypto-shredding, DESIGN.md §2) arrive in a
-- later migration, keystore/0002_item_keys.sql: one row per encrypted item
-- with the key wrapped by the key-encryption key; disposal deletes the row,
-- which secure_delete overwrites.
