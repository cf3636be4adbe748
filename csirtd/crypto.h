/*
 * crypto.h - every cryptographic primitive csirtd uses (crypto.c is the only
 * includer of libsodium and of OpenSSL's libcrypto): random bytes, SHA-256/512,
 * the ledger's ed25519 signing key in OpenSSH format, git's SSH signature
 * format (SSHSIG), API tokens, and the TLS context of the HTTPS front
 * (crypto.c is also the only includer of OpenSSL's libssl).
 */
#ifndef CSIRT_CRYPTO_H
#define CSIRT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA256_HEX_LEN 65 /* with terminator */
#define CRYPTO_TOKEN_LEN 64      /* buffer size for a token, with terminator */

/* Call once before anything else (idempotent, thread-safe). */
int crypto_init(void);

void crypto_random(void *buf, size_t len);
void crypto_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *data,
                   size_t len);
void crypto_sha256_hex(char out[CRYPTO_SHA256_HEX_LEN], const void *data,
                       size_t len);

/* Incremental SHA-256 (for streamed content). */
struct crypto_sha256_ctx;
struct crypto_sha256_ctx *crypto_sha256_new(void);
void crypto_sha256_update(struct crypto_sha256_ctx *ctx, const void *data,
                          size_t len);
/* Writes the digest and frees ctx. */
void crypto_sha256_final(struct crypto_sha256_ctx *ctx,
                         unsigned char out[CRYPTO_SHA256_LEN]);

/* SHA-1, for git's pack and index checksums and the ids of the trees the
 * ledger builds (never for security decisions: the ledger's integrity
 * rests on the ed25519 signatures and SHA-256 event hashes). */
#define CRYPTO_SHA1_LEN 20
struct crypto_sha1_ctx;
struct crypto_sha1_ctx *crypto_sha1_new(void);
void crypto_sha1_update(struct crypto_sha1_ctx *ctx, const void *data,
                        size_t len);
/* Writes the digest and frees ctx. */
void crypto_sha1_final(struct crypto_sha1_ctx *ctx,
                       unsigned char out[CRYPTO_SHA1_LEN]);

/* Constant-time comparison; returns 0 when equal. */
int crypto_memcmp(const void *a, const void *b, size_t len);
/* Zeroes memory in a way the compiler cannot elide. */
void crypto_wipe(void *p, size_t len);

/* An ed25519 key pair; the secret half is kept in locked, guarded memory. */
struct crypto_signer;

int crypto_signer_generate(struct crypto_signer **out);
/* Writes the key in OpenSSH private-key format (unencrypted, mode 0600,
 * readable by `ssh-keygen -y -f PATH`) and PATH.pub ("ssh-ed25519 AAAA...
 * COMMENT"), durably. */
int crypto_signer_save(const struct crypto_signer *s, const char *path,
                       const char *comment);
int crypto_signer_load(struct crypto_signer **out, const char *path);
void crypto_signer_free(struct crypto_signer *s);
/* Starts a thread ("nonces", idle priority) that keeps up to `max` (at
 * most CRYPTO_NONCES_MAX; 0 does nothing) signing nonces ready, so that a
 * signature costs under a microsecond instead of a scalar multiplication
 * (crypto.c explains why that is sound); with the pool empty, signing
 * falls back to RFC 8032.  Fails, leaving the signer as it was, if `max`
 * is too large, the pool cannot be allocated or its self-test signature
 * does not verify.  Not thread-safe against concurrent signing: call it
 * before the signer is shared. */
int crypto_signer_precompute(struct crypto_signer *s, size_t max);
/* The daemon's pool: 64 bytes a nonce, a dozen batches' worth (about 60
 * commits each under load). */
#define CRYPTO_NONCES 1024
#define CRYPTO_NONCES_MAX 65536
struct crypto_nonce_stats {
	uint64_t pooled;   /* signatures made with a precomputed nonce */
	uint64_t fallback; /* and with RFC 8032's (the pool was empty) */
	size_t ready;      /* nonces in the pool now */
};
/* All zero for a signer without a pool. */
void crypto_signer_nonce_stats(const struct crypto_signer *s,
                               struct crypto_nonce_stats *st);

/* "ssh-ed25519 AAAA..." (no comment); caller frees. */
char *crypto_signer_public(const struct crypto_signer *s);

/* Appends to `out` the armoured SSH signature ("-----BEGIN SSH
 * SIGNATURE-----" ... "-----END SSH SIGNATURE-----", no trailing newline)
 * of `msg` under `namespace` with sha512, as `ssh-keygen -Y sign` and
 * `git -c gpg.format=ssh` produce it. */
int crypto_sshsig_sign(const struct crypto_signer *s, const char *namespace,
                       const void *msg, size_t len, struct buf *out);

/* Verifies an armoured SSHSIG over `msg` against `public_key` ("ssh-ed25519
 * AAAA..." with or without a comment).  Returns 0 when valid, CSIRT_ETAMPER
 * when the signature does not verify or was made by another key or
 * namespace, CSIRT_EINVAL when it is malformed. */
int crypto_sshsig_verify(const char *armored, size_t armored_len,
                         const char *namespace, const void *msg, size_t len,
                         const char *public_key);

/* A new API token: "csirt_" followed by 43 base64url characters (256 bits
 * of entropy).  Shown once; only its hash is stored. */
void crypto_token_new(char out[CRYPTO_TOKEN_LEN]);
/* A token to issue: a new token, its hash (what the keystore keeps) and a
 * random public id "t" + 12 hex digits (what ListTokens shows). */
#define CRYPTO_TOKEN_ID_LEN 24
void crypto_token_issue(char token[CRYPTO_TOKEN_LEN],
                        char hash[CRYPTO_SHA256_HEX_LEN],
                        char id[CRYPTO_TOKEN_ID_LEN]);
/* Hex SHA-256 of the token (tokens are high-entropy, so a fast hash is
 * enough; nothing reversible is stored). */
void crypto_token_hash(char out[CRYPTO_SHA256_HEX_LEN], const char *token);

/* ---- TLS for the HTTPS front.  server.c hands the per-connection SSL to
 * libevent as the `struct ssl_st *` that event2/bufferevent_ssl.h
 * forward-declares, so neither side includes the other's library. */
struct crypto_tls;
struct ssl_st;

/* Longest name crypto_tls_peer_name() returns, with its terminator. */
#define CRYPTO_TLS_NAME_MAX 256

/*
 * Loads and checks the server's certificate chain (PEM, leaf first) and
 * private key (unencrypted PEM): refuses an unreadable or empty file, a key
 * that does not match the certificate, and a certificate that is expired
 * or not yet valid; every error names the setting and the file.  With
 * `client_ca` (a PEM CA bundle; NULL or "" for none) every client must
 * present a certificate that chains to it (mTLS).  TLS 1.2 or later, AEAD
 * ciphers with forward secrecy, no compression, no renegotiation.  Caller
 * frees with crypto_tls_free().
 */
int crypto_tls_new(struct crypto_tls **out, const char *cert, const char *key,
                   const char *client_ca);
void crypto_tls_free(struct crypto_tls *tls);

/* Whether clients must present a certificate. */
int crypto_tls_mtls(const struct crypto_tls *tls);

/* A fresh server-side SSL for one accepted connection; the caller (the
 * bufferevent it is given to) frees it.  Aborts when out of memory. */
struct ssl_st *crypto_tls_ssl_new(struct crypto_tls *tls);

/*
 * The name in the connection's verified client certificate, for mapping
 * to a user: its subject CN, or when it has none its first DNS or e-mail
 * subjectAltName.  Copies it (UTF-8, no control characters) to `out`.
 * CSIRT_ENOTFOUND when there is no client certificate (or `ssl` is NULL),
 * CSIRT_EUNAUTHENTICATED when it did not verify, CSIRT_EINVAL when it names
 * nobody, several CNs, or a name that does not fit in `size`.
 */
int crypto_tls_peer_name(struct ssl_st *ssl, char *out, size_t size);

/* ---- TLS for clients (the csirt CLI).  One connection over a socket the
 * caller connected; the caller keeps and closes the socket. */
struct crypto_tls_client;

/*
 * Performs the TLS handshake (1.2 or later) on the connected socket `fd`
 * and verifies the server: its chain against `cafile` (a PEM bundle; NULL
 * or "" for the system store) and its name against `host` (a DNS name or
 * an IP address literal).  There is no way to skip verification.
 * CSIRT_EUNAVAILABLE with a message naming the problem ("certificate
 * verify failed: self-signed certificate ...", "cannot read CA file ...")
 * on failure.  Caller frees with crypto_tls_client_free().
 */
int crypto_tls_client_connect(struct crypto_tls_client **out, int fd,
                              const char *host, const char *cafile);
/* Writes all `len` bytes; 0 or CSIRT_EUNAVAILABLE with a message. */
int crypto_tls_client_write(struct crypto_tls_client *c, const void *data,
                            size_t len);
/* Reads up to `size` bytes: the count, 0 at the end of the stream (also
 * when the peer closed without close_notify, as libevent does: frame the
 * data, e.g. by Content-Length, to detect truncation), or
 * CSIRT_EUNAVAILABLE with a message. */
long crypto_tls_client_read(struct crypto_tls_client *c, void *buf,
                            size_t size);
/* Sends close_notify and frees; does not close the socket.  NULL is a
 * no-op. */
void crypto_tls_client_free(struct crypto_tls_client *c);

/* ---- Encryption at rest (DESIGN.md §2; issue 6).
 *
 * The key-encryption key (KEK) lives in $DATA/keys/kek (mode 0600) and only
 * ever wraps item keys.  Each encrypted item (an evidence version, a
 * 機密性高・中 note) gets its own random item key from the CSPRNG, never
 * derived from a long-lived key; it is wrapped with XChaCha20-Poly1305
 * (IETF AEAD) under the KEK with the item id as associated data, so a
 * wrapped key copied to another item's row does not unwrap.  Key material
 * lives in sodium_malloc'd pages and is zeroed when freed. */

#define CRYPTO_ITEM_KEY_LEN 32
/* version byte || 24-byte nonce || 32-byte key ciphertext || 16-byte tag */
#define CRYPTO_WRAPPED_KEY_LEN (1 + 24 + CRYPTO_ITEM_KEY_LEN + 16)

struct crypto_kek;
struct crypto_item_key;

int crypto_kek_generate(struct crypto_kek **out);
/* Writes the KEK ("csirtd-kek-v1 <64 hex>\n"), mode 0600, durably. */
int crypto_kek_save(const struct crypto_kek *kek, const char *path);
/* CSIRT_ENOTFOUND when the file is absent, CSIRT_EDENIED when group or
 * others can access it, CSIRT_EINVAL when it is not a KEK.  Caller frees
 * with crypto_kek_free(). */
int crypto_kek_load(struct crypto_kek **out, const char *path);
/* Zeroes and frees; NULL is a no-op. */
void crypto_kek_free(struct crypto_kek *kek);

/* A fresh random item key.  Caller frees with crypto_item_key_free(). */
int crypto_item_key_new(struct crypto_item_key **out);
/* Zeroes (sodium_memzero via sodium_free) and frees; NULL is a no-op. */
void crypto_item_key_free(struct crypto_item_key *key);

/* Wraps `key` under `kek` for item `item_id` (the associated data). */
void crypto_item_key_wrap(unsigned char out[CRYPTO_WRAPPED_KEY_LEN],
                          const struct crypto_kek *kek,
                          const struct crypto_item_key *key,
                          const char *item_id);
/* Unwraps; CSIRT_ETAMPER when the wrapped key was altered, belongs to
 * another item or another KEK; CSIRT_EINVAL for a bad length or version.
 * Caller frees with crypto_item_key_free(). */
int crypto_item_key_unwrap(struct crypto_item_key **out,
                           const struct crypto_kek *kek, const char *item_id,
                           const unsigned char *wrapped, size_t len);

/* ---- Content encryption: libsodium secretstream XChaCha20-Poly1305.
 *
 * Format: the 24-byte stream header, then the plaintext cut into frames of
 * exactly CRYPTO_STREAM_FRAME bytes, each sealed with tag MESSAGE, then one
 * last frame of 0 to CRYPTO_STREAM_FRAME - 1 bytes sealed with tag FINAL.
 * Every frame adds CRYPTO_STREAM_ABYTES.  A reader authenticates every
 * frame and insists on the FINAL tag at the end and nowhere else, so a
 * truncated, reordered, spliced or altered stream is rejected
 * (CSIRT_ETAMPER).  Memory use is one frame whatever the content's size.
 */
#define CRYPTO_STREAM_FRAME 65536
#define CRYPTO_STREAM_HEADER_LEN 24
#define CRYPTO_STREAM_ABYTES 17

/* The ciphertext length of `plain_len` bytes of content. */
uint64_t crypto_stream_cipher_len(uint64_t plain_len);

/* The digest a sealed text is checked against after decryption: keyed
 * BLAKE2b-256 (hex) of `data` under a subkey derived from the item's key
 * (crypto_kdf, context "csirtmac").  A plain hash of a 機密性高・中 text in
 * the ledger would let anyone holding a copy confirm a guessed text; this
 * one needs the key, which only the keystore holds. */
void crypto_item_key_mac_hex(char out[CRYPTO_SHA256_HEX_LEN],
                             const struct crypto_item_key *key,
                             const void *data, size_t len);

struct crypto_stream;

/* An encryptor under `key` (borrowed only for the call); appends the
 * header to `out`.  Caller frees with crypto_stream_free(). */
int crypto_stream_enc_new(struct crypto_stream **out,
                          const struct crypto_item_key *key,
                          struct buf *header_out);
/* Appends to `out` the ciphertext of every frame `data` completes. */
void crypto_stream_enc_update(struct crypto_stream *s, const void *data,
                              size_t len, struct buf *out);
/* Seals the buffered rest as the FINAL frame into `out`; the encryptor
 * takes nothing more. */
void crypto_stream_enc_final(struct crypto_stream *s, struct buf *out);

/* A decryptor under `key` (borrowed only for the call).  Feed it the
 * ciphertext from its first byte (the header included) in pieces of any
 * size.  Caller frees with crypto_stream_free(). */
int crypto_stream_dec_new(struct crypto_stream **out,
                          const struct crypto_item_key *key);
/* Appends to `plain` the content of every frame `data` completes.
 * CSIRT_ETAMPER when a frame does not authenticate or data follows the
 * FINAL frame. */
int crypto_stream_dec_update(struct crypto_stream *s, const void *data,
                             size_t len, struct buf *plain);
/* At the end of the ciphertext: opens the last frame, which must carry the
 * FINAL tag (CSIRT_ETAMPER "truncated" otherwise). */
int crypto_stream_dec_final(struct crypto_stream *s, struct buf *plain);

/* Plaintext bytes taken in (encryptor) or given out (decryptor). */
uint64_t crypto_stream_plain_len(const struct crypto_stream *s);

/* Zeroes the state and frees; NULL is a no-op. */
void crypto_stream_free(struct crypto_stream *s);

/* ---- signed notes (C2SP signed-note) made with the ledger key, for the
 * ledger's checkpoints (checkpoint.c).  A signature line is
 * "\u2014 NAME BASE64\n" where BASE64 encodes the 4-byte key id
 * (SHA-256(NAME || "\n" || 0x01 || ed25519 public key)[:4]) followed by
 * the 64-byte ed25519 signature of the note text. */

/* Appends standard base64 (with padding, no line breaks). */
void crypto_base64_encode(struct buf *out, const void *p, size_t n);
/* Decodes strict standard base64 of exactly `n` characters into at most
 * `cap` bytes.  CSIRT_EINVAL on anything else. */
int crypto_base64_decode(unsigned char *out, size_t cap, size_t *len,
                         const char *text, size_t n);

/* Appends the BASE64 of a signature line (key id and signature) of `text`
 * under key name `name`. */
int crypto_note_sign(const struct crypto_signer *s, const char *name,
                     const void *text, size_t len, struct buf *out);
/* Checks the BASE64 of one signature line of `text` named `name` against
 * `public_key` ("ssh-ed25519 AAAA...").  0 when valid; CSIRT_ENOTFOUND
 * when its key id is not that key's; CSIRT_ETAMPER when it does not
 * verify; CSIRT_EINVAL when it is malformed. */
int crypto_note_verify(const char *name, const char *sig_b64, size_t sig_len,
                       const void *text, size_t len, const char *public_key);

#endif
