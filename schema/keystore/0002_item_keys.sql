-- keystore/0002_item_keys.sql - wrapped per-item encryption keys (issue 6).
--
-- One row per encrypted item: an evidence version ("evidence") or a
-- 機密性高・中 note ("note").  `wrapped` is the item's random key sealed
-- with the key-encryption key in $DATA/keys/kek (XChaCha20-Poly1305, the
-- item id as associated data: crypto_item_key_wrap), never the key itself.
-- Disposal (廃棄, 別表第3) deletes the row: secure_delete overwrites the
-- cell, and keystore_key_destroy() checkpoints the WAL with TRUNCATE so no
-- copy of the row stays in the -wal file.  Without the row the ciphertext
-- in the ledger can never be decrypted again (crypto-shredding).
CREATE TABLE item_keys (
    item_id    TEXT    PRIMARY KEY CHECK (item_id <> ''),
    kind       TEXT    NOT NULL CHECK (kind IN ('evidence', 'note')),
    wrapped    BLOB    NOT NULL CHECK (length(wrapped) BETWEEN 1 AND 256),
    created_ms INTEGER NOT NULL
) STRICT;
