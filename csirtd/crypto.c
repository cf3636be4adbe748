/*
 * crypto.c - every cryptographic primitive csirtd uses, and the only file
 * that includes libsodium or OpenSSL.
 *
 * It owns random bytes, SHA-256/512, the ledger's ed25519 signing key and
 * its file format (OpenSSH's openssh-key-v1, PROTOCOL.key), git's SSH
 * signature format (OpenSSH's PROTOCOL.sshsig) and API tokens.  The formats
 * are byte-for-byte OpenSSH's so that an auditor can check the ledger with
 * stock `ssh-keygen -Y verify` and `git verify-commit`, and an operator can
 * inspect the key with `ssh-keygen -y`.
 *
 * It must never let the secret key sit in ordinary heap memory (it lives in
 * sodium_malloc'd pages; the scratch buffers of save and load are wiped),
 * never trust a length field before checking it against the bytes actually
 * present, and never accept an encrypted, foreign or inconsistent key
 * silently.  Signatures arrive from the network and from cloned ledgers, so
 * every parser here answers bad input with CSIRT_EINVAL, never an assert.
 *
 * It also owns the TLS context of the HTTPS front (certificate, key, client
 * CAs and protocol policy) and reads names out of verified client
 * certificates; server.c owns the sockets.  A TLS setting that cannot be
 * honoured exactly is a start-up error, never a silent downgrade.  For the
 * csirt CLI it owns the client side of TLS: the handshake over a socket the
 * CLI connected, and the verification of the server's chain and name,
 * which no caller can turn off.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "error.h"
#include "util.h"

#define CRYPTO_ED25519_NAME "ssh-ed25519"
#define CRYPTO_ED25519_NAME_LEN 11
/* string("ssh-ed25519") || string(pk) */
#define CRYPTO_PUBKEY_BLOB_LEN                                                 \
	(4 + CRYPTO_ED25519_NAME_LEN + 4 + crypto_sign_PUBLICKEYBYTES)

#define CRYPTO_SSHSIG_MAGIC "SSHSIG"
#define CRYPTO_SSHSIG_MAGIC_LEN 6
#define CRYPTO_SSHSIG_VERSION 1
#define CRYPTO_SSHSIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define CRYPTO_SSHSIG_END "-----END SSH SIGNATURE-----"
/* An ed25519 SSHSIG is about 300 bytes; anything near this is hostile. */
#define CRYPTO_SSHSIG_MAX 65536

#define CRYPTO_KEY_MAGIC "openssh-key-v1" /* followed by its NUL */
#define CRYPTO_KEY_MAGIC_LEN 15
#define CRYPTO_KEY_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define CRYPTO_KEY_END "-----END OPENSSH PRIVATE KEY-----"
#define CRYPTO_KEY_BLOCK 8 /* cipher "none" pads to 8 bytes */
#define CRYPTO_KEYFILE_MAX 16384
#define CRYPTO_COMMENT_MAX 1024

#define CRYPTO_ARMOR_COLS 70 /* what OpenSSH writes */
#define CRYPTO_TOKEN_PREFIX "csirt_"
#define CRYPTO_TOKEN_BYTES 32

/* SHA-1, SHA-256 and SHA-512 are OpenSSL's: its SHA-NI/AVX2 code hashed
 * 1.2 KB with SHA-256 in 0.75 us here, libsodium's portable C in 3.9 us
 * (every event's JSON, every request's token and every SSHSIG are
 * hashed).  Ed25519 stays libsodium's, faster than OpenSSL's. */
struct crypto_sha256_ctx {
	EVP_MD_CTX *md;
};

/*
 * Invariant: `sk` is seed || pk as libsodium wants it, lives in
 * sodium_malloc'd pages (guarded, locked when RLIMIT_MEMLOCK allows) and is
 * read-only once the signer is built; `pk` equals its second half.
 */
struct crypto_signer {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk;
	struct crypto_nonces *nonces; /* NULL: every signature is RFC 8032's */
};

/*
 * A bounds-checked reader over SSH wire data (RFC 4251 uint32 and string).
 * `what` names the input in error messages ("SSH signature", a path).
 */
struct crypto_rd {
	const unsigned char *p;
	size_t left;
	const char *what;
};

int
crypto_init(void)
{
	/* 1 means another thread or an earlier call already did it. */
	if (sodium_init() < 0)
		return csirt_error_set(CSIRT_EFAIL, "libsodium failed to "
		                                    "initialise");
	return 0;
}

void
crypto_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

/* Fetched once: EVP_sha1() and the like make every EVP_DigestInit_ex()
 * look the digest up in the providers again
 * (EVP_MD_fetch was 5 % of the commit thread, which hashes a few trees
 * per event). */
enum md_which { MD_SHA1, MD_SHA256, MD_SHA512, MD__COUNT };

static EVP_MD *mds[MD__COUNT];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_fetch(void)
{
	mds[MD_SHA1] = EVP_MD_fetch(NULL, "SHA1", NULL);
	mds[MD_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
	mds[MD_SHA512] = EVP_MD_fetch(NULL, "SHA512", NULL);
}

/* A context ready to hash with `which`.  Aborts when out of memory or
 * when libcrypto lacks the digest: nothing sensible can go on without. */
static EVP_MD_CTX *
md_new(enum md_which which)
{
	EVP_MD_CTX *md;
	EVP_MD *type;

	pthread_once(&md_once, md_fetch);
	type = mds[which];
	md = EVP_MD_CTX_new();
	if (type == NULL || md == NULL ||
	    EVP_DigestInit_ex(md, type, NULL) != 1)
		abort();
	return md;
}

static void
md_update(EVP_MD_CTX *md, const void *data, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(md, data, len) != 1)
		abort();
}

/* Writes the digest (`len` bytes) and frees the context. */
static void
md_final(EVP_MD_CTX *md, unsigned char *out, unsigned int len)
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != len)
		abort();
	EVP_MD_CTX_free(md);
}

/* The `len`-byte digest of data[0..n) with `which`. */
static void
md_digest(enum md_which which, unsigned char *out, unsigned int len,
          const void *data, size_t n)
{
	EVP_MD_CTX *md = md_new(which);

	md_update(md, data, n);
	md_final(md, out, len);
}

void
crypto_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *data,
              size_t len)
{
	md_digest(MD_SHA256, out, CRYPTO_SHA256_LEN, data, len);
}

void
crypto_sha256_hex(char out[CRYPTO_SHA256_HEX_LEN], const void *data, size_t len)
{
	unsigned char digest[CRYPTO_SHA256_LEN];

	crypto_sha256(digest, data, len);
	util_hex(out, digest, sizeof(digest));
}

/* Caller passes the result to crypto_sha256_final(), which frees it. */
struct crypto_sha256_ctx *
crypto_sha256_new(void)
{
	struct crypto_sha256_ctx *ctx = util_xmalloc(sizeof(*ctx));

	ctx->md = md_new(MD_SHA256);
	return ctx;
}

void
crypto_sha256_update(struct crypto_sha256_ctx *ctx, const void *data,
                     size_t len)
{
	md_update(ctx->md, data, len);
}

void
crypto_sha256_final(struct crypto_sha256_ctx *ctx,
                    unsigned char out[CRYPTO_SHA256_LEN])
{
	/* EVP_MD_CTX_free() cleanses the state. */
	md_final(ctx->md, out, CRYPTO_SHA256_LEN);
	free(ctx);
}

int
crypto_memcmp(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len);
}

void
crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

/* ---- SSH wire encoding */

static void
crypto_be32(unsigned char out[4], uint32_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

static void
crypto_put_u32(struct buf *b, uint32_t v)
{
	unsigned char be[4];

	crypto_be32(be, v);
	buf_put(b, be, sizeof(be));
}

static void
crypto_put_string(struct buf *b, const void *p, size_t n)
{
	assert(n <= UINT32_MAX);
	crypto_put_u32(b, (uint32_t)n);
	buf_put(b, p, n);
}

static void
crypto_put_cstring(struct buf *b, const char *s)
{
	crypto_put_string(b, s, strlen(s));
}

static void
crypto_pubkey_blob(unsigned char out[CRYPTO_PUBKEY_BLOB_LEN],
                   const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	struct buf b = BUF_INIT;

	crypto_put_cstring(&b, CRYPTO_ED25519_NAME);
	crypto_put_string(&b, pk, crypto_sign_PUBLICKEYBYTES);
	assert(b.len == CRYPTO_PUBKEY_BLOB_LEN);
	memcpy(out, b.data, CRYPTO_PUBKEY_BLOB_LEN);
	buf_free(&b);
}

static int
crypto_rd_u32(uint32_t *out, struct crypto_rd *r, const char *field)
{
	if (r->left < 4)
		return csirt_error_set(CSIRT_EINVAL, "%s: truncated at %s",
		                       r->what, field);
	*out = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	       (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

/* `*out` is borrowed from the reader's input. */
static int
crypto_rd_string(const unsigned char **out, size_t *len, struct crypto_rd *r,
                 const char *field)
{
	uint32_t n = 0;
	int rc;

	if ((rc = crypto_rd_u32(&n, r, field)) < 0)
		return rc;
	if (n > r->left)
		return csirt_error_set(
		    CSIRT_EINVAL, "%s: %s claims %lu bytes, only %zu left",
		    r->what, field, (unsigned long)n, r->left);
	*out = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

/* Reads raw bytes (no length prefix) that must equal `magic`. */
static int
crypto_rd_magic(struct crypto_rd *r, const char *magic, size_t n,
                const char *field)
{
	if (r->left < n || memcmp(r->p, magic, n) != 0)
		return csirt_error_set(CSIRT_EINVAL, "%s: not %s", r->what,
		                       field);
	r->p += n;
	r->left -= n;
	return 0;
}

static int
crypto_rd_end(const struct crypto_rd *r, const char *field)
{
	if (r->left != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: %zu unexpected bytes after %s",
		                       r->what, r->left, field);
	return 0;
}

static bool
crypto_bytes_eq(const unsigned char *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/*
 * Parses string("ssh-ed25519") || string(32-byte pk) filling the whole of
 * `blob`; anything else (another key type included) is CSIRT_EINVAL.
 */
static int
crypto_pubkey_blob_parse(unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                         const unsigned char *blob, size_t len,
                         const char *what)
{
	struct crypto_rd r = {blob, len, what};
	const unsigned char *type = NULL, *key;
	size_t type_len = 0, key_len;
	int rc;

	if ((rc = crypto_rd_string(&type, &type_len, &r, "key type")) < 0)
		return rc;
	if (!crypto_bytes_eq(type, type_len, CRYPTO_ED25519_NAME))
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: not an ssh-ed25519 key", what);
	if ((rc = crypto_rd_string(&key, &key_len, &r, "public key")) < 0)
		return rc;
	if (key_len != crypto_sign_PUBLICKEYBYTES)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: ed25519 public key of %zu bytes",
		                       what, key_len);
	if ((rc = crypto_rd_end(&r, "the public key")) < 0)
		return rc;
	memcpy(pk, key, crypto_sign_PUBLICKEYBYTES);
	return 0;
}

/* ---- base64 armour (the PEM-like framing OpenSSH uses) */

/* Appends standard base64 of `p`, wrapped at `cols` (0: no wrapping). */
static void
crypto_put_base64(struct buf *b, const unsigned char *p, size_t n, size_t cols)
{
	size_t enc_len =
	    sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *enc = util_xmalloc(enc_len);
	size_t len;

	sodium_bin2base64(enc, enc_len, p, n, sodium_base64_VARIANT_ORIGINAL);
	len = strlen(enc);
	if (cols == 0)
		cols = len;
	for (size_t off = 0; off < len; off += cols) {
		if (off > 0)
			buf_putc(b, '\n');
		buf_put(b, enc + off, len - off < cols ? len - off : cols);
	}
	/* The private key passes through here. */
	sodium_memzero(enc, enc_len);
	free(enc);
}

static void
crypto_armor(struct buf *b, const char *begin, const char *end,
             const unsigned char *p, size_t n)
{
	buf_puts(b, begin);
	buf_putc(b, '\n');
	crypto_put_base64(b, p, n, CRYPTO_ARMOR_COLS);
	buf_putc(b, '\n');
	buf_puts(b, end);
}

/*
 * libsodium 1.0.18's decoder maps some bytes >= 0x80 to base64 digits and
 * treats NUL as an "ignored" character, so the alphabet is checked here
 * first; otherwise a changed byte could decode to the same signature.
 */
static bool
crypto_base64_valid(const char *p, size_t n, const char *extra)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                               "abcdefghijklmnopqrstuvwxyz"
	                               "0123456789+/=";

	for (size_t i = 0; i < n; i++)
		if (p[i] == '\0' || (strchr(alphabet, p[i]) == NULL &&
		                     strchr(extra, p[i]) == NULL))
			return false;
	return true;
}

/* Finds "\n" END at the start of a line within text[0..n). */
static const char *
crypto_armor_find_end(const char *text, size_t n, const char *end)
{
	size_t end_len = strlen(end);

	for (size_t i = 0; i + 1 + end_len <= n; i++)
		if (text[i] == '\n' && memcmp(text + i + 1, end, end_len) == 0)
			return text + i;
	return NULL;
}

/*
 * Strips BEGIN/END lines (tolerating \r\n line ends and trailing blank
 * lines, nothing else) and decodes the base64 between them into
 * out[0..cap).  Strict: no stray characters, canonical padding.
 */
static int
crypto_dearmor(unsigned char *out, size_t cap, size_t *len, const char *text,
               size_t n, const char *begin, const char *end, const char *what)
{
	size_t begin_len = strlen(begin), end_len = strlen(end);
	const char *body, *stop, *tail, *limit = text + n;

	if (n < begin_len || memcmp(text, begin, begin_len) != 0)
		return csirt_error_set(CSIRT_EINVAL, "%s: missing \"%s\"", what,
		                       begin);
	body = text + begin_len;
	if (body < limit && *body == '\r')
		body++;
	if (body >= limit || *body != '\n')
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: no line break after \"%s\"", what,
		                       begin);
	stop = crypto_armor_find_end(body, (size_t)(limit - body), end);
	if (stop == NULL)
		return csirt_error_set(CSIRT_EINVAL, "%s: missing \"%s\"", what,
		                       end);
	for (tail = stop + 1 + end_len; tail < limit; tail++)
		if (*tail != '\r' && *tail != '\n')
			return csirt_error_set(
			    CSIRT_EINVAL, "%s: text after \"%s\"", what, end);
	if (!crypto_base64_valid(body, (size_t)(stop - body), "\r\n"))
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: stray character in base64", what);
	if (sodium_base642bin(out, cap, body, (size_t)(stop - body), "\r\n",
	                      len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *len == 0)
		return csirt_error_set(CSIRT_EINVAL, "%s: invalid base64",
		                       what);
	return 0;
}

/* ---- the signing key */

static int
crypto_signer_alloc(struct crypto_signer **out)
{
	struct crypto_signer *s = util_xcalloc(1, sizeof(*s));

	*out = NULL;
	/* sodium_malloc puts guard pages around the key and mlocks it, best
	 * effort (it ignores an RLIMIT_MEMLOCK refusal, and so do we: a key
	 * that might be swapped is better than no daemon). */
	s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (s->sk == NULL) {
		free(s);
		/* Return the code itself, not csirt_error_set()'s result, so
		 * callers provably see the failure and never use *out. */
		csirt_error_set(CSIRT_EFAIL,
		                "allocating guarded key memory: %s",
		                strerror(errno));
		return CSIRT_EFAIL;
	}
	*out = s;
	return 0;
}

/* Caller frees with crypto_signer_free(). */
int
crypto_signer_generate(struct crypto_signer **out)
{
	struct crypto_signer *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = crypto_signer_alloc(&s)) < 0)
		return rc;
	crypto_sign_keypair(s->pk, s->sk);
	sodium_mprotect_readonly(s->sk);
	*out = s;
	return 0;
}

static void nonces_stop(struct crypto_nonces *p);

void
crypto_signer_free(struct crypto_signer *s)
{
	if (s == NULL)
		return;
	nonces_stop(s->nonces);
	sodium_free(s->sk); /* zeroes before unmapping */
	free(s);
}

/* ---- precomputed signing nonces
 *
 * An ed25519 signature is R || S with R = r*B and S = r + k*a (mod L),
 * k = SHA-512(R || A || M).  Nothing but r ties R to the message, so r
 * and R can be made before the message exists: the preprocessing Schnorr
 * proposed for smart cards ("Efficient signature generation by smart
 * cards", J. Cryptology 4, 1991).  Computing R is a fixed-base scalar
 * multiplication, 16-18 us of the 17-19 us a signature takes here; once
 * R is ready, what is left is one SHA-512 and two scalar operations,
 * under 1 us.  The ledger's commits are signed one after another (each
 * names its parent's id, which covers the parent's signature), so the
 * multiplication was the longest serial step of a batch.  A thread of
 * its own ("nonces") now makes R ahead at idle priority: it runs when a
 * core would otherwise wait, mostly while the writer waits for fsyncs.
 *
 * Safety rests on r: uniform, secret, never used twice.  r is
 * SHA-512(prefix || 32 random bytes || a counter || the time) reduced mod
 * L, where prefix is the secret half of SHA-512(seed) that RFC 8032
 * hashes into its own nonces: without the key, r cannot be predicted even
 * from a broken RNG, and a repeat needs the RNG, the counter and the
 * clock to repeat together.  Each nonce leaves the pool under the lock,
 * its slot wiped, and is wiped after its one signature; the pool lives in
 * sodium_malloc'd pages like the key (guarded, locked, out of core dumps)
 * and is wiped when freed.  The signatures are ordinary ed25519 ones that
 * stock ssh-keygen and git verify (tests/check_crypto.c,
 * tests/check_api.c); they are not the deterministic ones of RFC 8032,
 * which a signer without a pool, or with an empty one, still makes. */

struct crypto_nonce {
	unsigned char r[32]; /* secret scalar, < L */
	unsigned char R[32]; /* r*B, encoded */
};

/* Secret state, in one sodium_malloc'd block. */
struct crypto_nonce_secrets {
	unsigned char a[32];      /* the clamped secret scalar, reduced mod L */
	unsigned char prefix[32]; /* second half of SHA-512(seed) */
	struct crypto_nonce ring[];
};

struct crypto_nonces {
	pthread_mutex_t mu;
	pthread_cond_t room; /* the thread waits for the pool to run low */
	struct crypto_nonce_secrets *sec;
	const unsigned char *pk;
	size_t cap, n;   /* ring[0..n) are ready */
	bool stop, idle; /* idle: the thread waits on `room` */
	uint64_t pooled, fallback;
	pthread_t thread;
	pid_t pid; /* the process whose pool this is */
};

/* Derives one nonce; returns false on the (2^-250) chance that r is 0. */
static bool
nonce_make(const struct crypto_nonce_secrets *sec, uint64_t counter,
           struct crypto_nonce *out)
{
	unsigned char rnd[32], h[crypto_hash_sha512_BYTES];
	crypto_hash_sha512_state st;
	struct timespec ts;
	bool ok;

	randombytes_buf(rnd, sizeof(rnd));
	clock_gettime(CLOCK_REALTIME, &ts);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, sec->prefix, sizeof(sec->prefix));
	crypto_hash_sha512_update(&st, rnd, sizeof(rnd));
	crypto_hash_sha512_update(&st, (const unsigned char *)&counter,
	                          sizeof(counter));
	crypto_hash_sha512_update(&st, (const unsigned char *)&ts, sizeof(ts));
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(out->r, h);
	/* Fails only for r = 0 (or a result at infinity, the same thing). */
	ok = crypto_scalarmult_ed25519_base_noclamp(out->R, out->r) == 0;
	sodium_memzero(rnd, sizeof(rnd));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(&st, sizeof(st));
	return ok;
}

static void *
nonces_main(void *arg)
{
	struct crypto_nonces *p = arg;
	struct crypto_nonce nc;
	uint64_t counter = 0;

	util_thread_name("nonces");
	util_thread_idle();
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (p->n == p->cap) {
			p->idle = true;
			pthread_cond_wait(&p->room, &p->mu);
			p->idle = false;
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		if (!nonce_make(p->sec, counter++, &nc)) {
			pthread_mutex_lock(&p->mu);
			continue;
		}
		pthread_mutex_lock(&p->mu);
		if (p->n < p->cap)
			p->sec->ring[p->n++] = nc;
	}
	pthread_mutex_unlock(&p->mu);
	sodium_memzero(&nc, sizeof(nc));
	return NULL;
}

/* Takes a nonce out of the pool into *out (its slot wiped); false when
 * the pool is empty.  Wakes the thread once half the pool is used.  A
 * forked child never takes one: its copy of the pool holds the parent's
 * nonces, and a nonce signing two messages gives the key away; nor would
 * it touch the lock, which another thread may have held at the fork. */
static bool
nonce_take(struct crypto_nonces *p, struct crypto_nonce *out)
{
	bool got = false;

	if (getpid() != p->pid)
		return false;
	pthread_mutex_lock(&p->mu);
	if (p->n > 0) {
		p->n--;
		*out = p->sec->ring[p->n];
		sodium_memzero(&p->sec->ring[p->n], sizeof(*out));
		got = true;
		p->pooled++;
	} else {
		p->fallback++;
	}
	if (p->idle && p->n <= p->cap / 2)
		pthread_cond_signal(&p->room);
	pthread_mutex_unlock(&p->mu);
	return got;
}

/* sig = R || S for message m with a precomputed nonce. */
static void
nonce_sign(const struct crypto_nonces *p, const struct crypto_nonce *nc,
           unsigned char sig[crypto_sign_BYTES], const unsigned char *m,
           size_t mlen)
{
	unsigned char h[crypto_hash_sha512_BYTES], k[32], ka[32];
	crypto_hash_sha512_state st;

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, nc->R, sizeof(nc->R));
	crypto_hash_sha512_update(&st, p->pk, crypto_sign_PUBLICKEYBYTES);
	crypto_hash_sha512_update(&st, m, mlen);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(k, h);
	crypto_core_ed25519_scalar_mul(ka, k, p->sec->a);
	memcpy(sig, nc->R, 32);
	crypto_core_ed25519_scalar_add(sig + 32, ka, nc->r);
	sodium_memzero(ka, sizeof(ka));
}

/* Every ed25519 signature of a signer: with a pooled nonce when there is
 * one, else RFC 8032's deterministic one. */
static void
signer_sign(const struct crypto_signer *s, unsigned char sig[crypto_sign_BYTES],
            const unsigned char *m, size_t mlen)
{
	struct crypto_nonce nc;

	if (s->nonces != NULL && nonce_take(s->nonces, &nc)) {
		nonce_sign(s->nonces, &nc, sig, m, mlen);
		sodium_memzero(&nc, sizeof(nc));
		return;
	}
	crypto_sign_detached(sig, NULL, m, mlen, s->sk);
}

static void
nonces_free(struct crypto_nonces *p)
{
	sodium_free(p->sec); /* zeroes before unmapping */
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->room);
	free(p);
}

static void
nonces_stop(struct crypto_nonces *p)
{
	if (p == NULL)
		return;
	if (getpid() != p->pid) {
		/* A forked child: the thread and any lock holder are the
		 * parent's. */
		sodium_free(p->sec);
		free(p);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->room);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	nonces_free(p);
}

int
crypto_signer_precompute(struct crypto_signer *s, size_t max)
{
	unsigned char az[crypto_hash_sha512_BYTES], wide[64] = {0};
	unsigned char probe[crypto_sign_BYTES];
	static const unsigned char msg[] = "csirtd nonce self-test";
	struct crypto_nonces *p;
	struct crypto_nonce nc;
	bool ok;

	if (s->nonces != NULL || max == 0)
		return 0;
	if (max > CRYPTO_NONCES_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "a pool of %zu nonces (at most %d)", max,
		                       CRYPTO_NONCES_MAX);
	p = util_xcalloc(1, sizeof(*p));
	p->sec = sodium_malloc(sizeof(*p->sec) + max * sizeof(p->sec->ring[0]));
	if (p->sec == NULL) {
		free(p);
		csirt_error_set(CSIRT_EFAIL,
		                "allocating guarded nonce memory: %s",
		                strerror(errno));
		return CSIRT_EFAIL;
	}
	/* a and prefix exactly as libsodium's crypto_sign derives them. */
	crypto_hash_sha512(az, s->sk, 32);
	az[0] &= 248;
	az[31] &= 127;
	az[31] |= 64;
	memcpy(wide, az, 32);
	crypto_core_ed25519_scalar_reduce(p->sec->a, wide);
	memcpy(p->sec->prefix, az + 32, 32);
	sodium_memzero(az, sizeof(az));
	sodium_memzero(wide, sizeof(wide));
	p->pk = s->pk;
	p->cap = max;
	p->pid = getpid();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->room, NULL);

	/* Pairwise self-test: a pooled signature must verify, or the pool
	 * is never used. */
	ok = nonce_make(p->sec, UINT64_MAX, &nc);
	if (ok) {
		nonce_sign(p, &nc, probe, msg, sizeof(msg) - 1);
		ok = crypto_sign_verify_detached(probe, msg, sizeof(msg) - 1,
		                                 s->pk) == 0;
	}
	sodium_memzero(&nc, sizeof(nc));
	if (!ok || pthread_create(&p->thread, NULL, nonces_main, p) != 0) {
		nonces_free(p);
		return csirt_error_set(CSIRT_EFAIL,
		                       ok ? "cannot start the nonce thread"
		                          : "precomputed signature self-test "
		                            "failed");
	}
	s->nonces = p;
	return 0;
}

void
crypto_signer_nonce_stats(const struct crypto_signer *s,
                          struct crypto_nonce_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (s->nonces == NULL)
		return;
	pthread_mutex_lock(&s->nonces->mu);
	st->pooled = s->nonces->pooled;
	st->fallback = s->nonces->fallback;
	st->ready = s->nonces->n;
	pthread_mutex_unlock(&s->nonces->mu);
}

/* Caller frees. */
char *
crypto_signer_public(const struct crypto_signer *s)
{
	unsigned char blob[CRYPTO_PUBKEY_BLOB_LEN];
	struct buf b = BUF_INIT;

	buf_puts(&b, CRYPTO_ED25519_NAME " ");
	crypto_pubkey_blob(blob, s->pk);
	crypto_put_base64(&b, blob, sizeof(blob), 0);
	return buf_detach(&b);
}

/* Frees a buffer that held secret material. */
static void
crypto_buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		sodium_memzero(b->data, b->cap);
	buf_free(b);
}

static int
crypto_comment_check(const char *comment)
{
	size_t len = strlen(comment);

	if (len > CRYPTO_COMMENT_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "key comment longer than %d bytes",
		                       CRYPTO_COMMENT_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)comment[i];
		if (c < 0x20 || c == 0x7f)
			return csirt_error_set(CSIRT_EINVAL,
			                       "key comment must be one line "
			                       "without control characters");
	}
	if (!util_utf8_valid(comment, len))
		return csirt_error_set(CSIRT_EINVAL,
		                       "key comment is not valid UTF-8");
	return 0;
}

/*
 * The file layout is PROTOCOL.key with cipher and kdf "none":
 *   "openssh-key-v1\0" string("none") string("none") string("") uint32(1)
 *   string(pubkey blob) string(private section)
 * where the private section is
 *   uint32(check) uint32(check) string("ssh-ed25519") string(pk)
 *   string(seed || pk) string(comment) padding 1, 2, 3 ... to 8 bytes.
 */
int
crypto_signer_save(const struct crypto_signer *s, const char *path,
                   const char *comment)
{
	unsigned char blob[CRYPTO_PUBKEY_BLOB_LEN];
	struct buf bin = BUF_INIT, text = BUF_INIT, pub = BUF_INIT;
	struct buf pub_path = BUF_INIT;
	char *public_key = NULL;
	size_t bin_max, priv_at;
	uint32_t check;
	int rc;

	if (comment == NULL)
		comment = "";
	if ((rc = crypto_comment_check(comment)) < 0)
		return rc;
	/* Sized up front so no realloc leaves a copy of the secret behind:
	 * 256 bytes covers every fixed field and the padding, and the armour
	 * is 4/3 of that plus line breaks and the two marker lines. */
	bin_max = 256 + strlen(comment);
	buf_grow(&bin, bin_max);
	buf_grow(&text, 2 * bin_max + 128);
#ifndef NDEBUG
	/* Only the assert below reads these. */
	const char *bin_data = bin.data, *text_data = text.data;
#endif

	crypto_pubkey_blob(blob, s->pk);
	buf_put(&bin, CRYPTO_KEY_MAGIC, CRYPTO_KEY_MAGIC_LEN);
	crypto_put_cstring(&bin, "none");
	crypto_put_cstring(&bin, "none");
	crypto_put_string(&bin, "", 0);
	crypto_put_u32(&bin, 1);
	crypto_put_string(&bin, blob, sizeof(blob));
	priv_at = bin.len;
	crypto_put_u32(&bin, 0); /* the section's length, patched below */
	crypto_random(&check, sizeof(check));
	crypto_put_u32(&bin, check);
	crypto_put_u32(&bin, check);
	crypto_put_cstring(&bin, CRYPTO_ED25519_NAME);
	crypto_put_string(&bin, s->pk, crypto_sign_PUBLICKEYBYTES);
	crypto_put_string(&bin, s->sk, crypto_sign_SECRETKEYBYTES);
	crypto_put_cstring(&bin, comment);
	for (char pad = 1; (bin.len - priv_at - 4) % CRYPTO_KEY_BLOCK; pad++)
		buf_putc(&bin, pad);
	crypto_be32((unsigned char *)bin.data + priv_at,
	            (uint32_t)(bin.len - priv_at - 4));
	crypto_armor(&text, CRYPTO_KEY_BEGIN, CRYPTO_KEY_END,
	             (const unsigned char *)bin.data, bin.len);
	buf_putc(&text, '\n');
	assert(bin.data == bin_data && text.data == text_data);

	if ((rc = util_write_file_atomic(path, text.data, text.len, 0600)) < 0)
		goto done;
	public_key = crypto_signer_public(s);
	buf_puts(&pub, public_key);
	if (*comment != '\0')
		buf_printf(&pub, " %s", comment);
	buf_putc(&pub, '\n');
	buf_printf(&pub_path, "%s.pub", path);
	rc = util_write_file_atomic(pub_path.data, pub.data, pub.len, 0644);
done:
	crypto_buf_wipe(&bin);
	crypto_buf_wipe(&text);
	buf_free(&pub);
	buf_free(&pub_path);
	free(public_key);
	return rc;
}

/*
 * Reads the whole key file into `text` (CRYPTO_KEYFILE_MAX + 1 bytes of
 * guarded memory), refusing a file others could read: the check is on the
 * open descriptor, so the file cannot be swapped between check and read.
 */
static int
crypto_keyfile_read(unsigned char *text, size_t *len, const char *path)
{
	struct stat st;
	size_t n = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return csirt_error_set(errno == ENOENT   ? CSIRT_ENOTFOUND
		                       : errno == EACCES ? CSIRT_EDENIED
		                                         : CSIRT_EUNAVAILABLE,
		                       "open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "stat %s: %s", path,
		                     strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "%s: private key is not a regular file",
		                     path);
		goto done;
	}
	if ((st.st_mode & 077) != 0) {
		rc = csirt_error_set(
		    CSIRT_EDENIED,
		    "%s: private key is accessible by group or "
		    "others (mode %04o); refusing it, chmod 600 "
		    "it and replace the key if others had access",
		    path, (unsigned)(st.st_mode & 07777));
		goto done;
	}
	for (;;) {
		ssize_t r = read(fd, text + n, CRYPTO_KEYFILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = csirt_error_set(CSIRT_EUNAVAILABLE, "read %s: %s",
			                     path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CRYPTO_KEYFILE_MAX) {
			rc = csirt_error_set(
			    CSIRT_EINVAL,
			    "%s: larger than any ed25519 private "
			    "key (%d bytes)",
			    path, CRYPTO_KEYFILE_MAX);
			goto done;
		}
	}
	*len = n;
	rc = 0;
done:
	close(fd);
	return rc;
}

/* Parses the decoded key file into `s` (see crypto_signer_save). */
static int
crypto_keyfile_parse(struct crypto_signer *s, const unsigned char *bin,
                     size_t len, const char *path)
{
	struct crypto_rd r = {bin, len, path}, priv;
	const unsigned char *p = NULL, *blob, *sec, *pk_file, *sk_file;
	size_t n = 0, blob_len, sec_len, pk_len, sk_len;
	unsigned char pk_blob[crypto_sign_PUBLICKEYBYTES];
	unsigned char pk_derived[crypto_sign_PUBLICKEYBYTES];
	uint32_t nkeys = 0, check1 = 0, check2 = 0;
	int rc;

	if ((rc = crypto_rd_magic(&r, CRYPTO_KEY_MAGIC, CRYPTO_KEY_MAGIC_LEN,
	                          "an openssh-key-v1 private key")) < 0)
		return rc;
	if ((rc = crypto_rd_string(&p, &n, &r, "cipher name")) < 0)
		return rc;
	if (!crypto_bytes_eq(p, n, "none"))
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: private key is encrypted; csirtd "
		                       "needs an unencrypted key (protect it "
		                       "with file permissions)",
		                       path);
	if ((rc = crypto_rd_string(&p, &n, &r, "kdf name")) < 0)
		return rc;
	if (!crypto_bytes_eq(p, n, "none"))
		return csirt_error_set(
		    CSIRT_EINVAL, "%s: private key has a kdf but no cipher",
		    path);
	if ((rc = crypto_rd_string(&p, &n, &r, "kdf options")) < 0)
		return rc;
	if (n != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: kdf options without a kdf", path);
	if ((rc = crypto_rd_u32(&nkeys, &r, "key count")) < 0)
		return rc;
	if (nkeys != 1)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: holds %lu keys, expected 1", path,
		                       (unsigned long)nkeys);
	if ((rc = crypto_rd_string(&blob, &blob_len, &r, "public key")) < 0 ||
	    (rc = crypto_pubkey_blob_parse(pk_blob, blob, blob_len, path)) <
	        0 ||
	    (rc = crypto_rd_string(&sec, &sec_len, &r, "private section")) <
	        0 ||
	    (rc = crypto_rd_end(&r, "the private section")) < 0)
		return rc;

	priv = (struct crypto_rd){sec, sec_len, path};
	if (sec_len % CRYPTO_KEY_BLOCK != 0)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "%s: private section of %zu bytes is not "
		    "padded to %d",
		    path, sec_len, CRYPTO_KEY_BLOCK);
	if ((rc = crypto_rd_u32(&check1, &priv, "check bytes")) < 0 ||
	    (rc = crypto_rd_u32(&check2, &priv, "check bytes")) < 0)
		return rc;
	if (check1 != check2)
		return csirt_error_set(
		    CSIRT_EINVAL, "%s: check bytes differ (corrupt key)", path);
	if ((rc = crypto_rd_string(&p, &n, &priv, "key type")) < 0)
		return rc;
	if (!crypto_bytes_eq(p, n, CRYPTO_ED25519_NAME))
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: not an ssh-ed25519 key", path);
	if ((rc = crypto_rd_string(&pk_file, &pk_len, &priv, "public key")) <
	        0 ||
	    (rc = crypto_rd_string(&sk_file, &sk_len, &priv, "secret key")) <
	        0 ||
	    (rc = crypto_rd_string(&p, &n, &priv, "comment")) < 0)
		return rc;
	if (pk_len != crypto_sign_PUBLICKEYBYTES ||
	    sk_len != crypto_sign_SECRETKEYBYTES)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: ed25519 key halves of %zu and %zu "
		                       "bytes",
		                       path, pk_len, sk_len);
	if (priv.left >= CRYPTO_KEY_BLOCK)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: %zu bytes after the comment", path,
		                       priv.left);
	for (size_t i = 0; i < priv.left; i++)
		if (priv.p[i] != (unsigned char)(i + 1))
			return csirt_error_set(CSIRT_EINVAL, "%s: bad padding",
			                       path);

	/* Rebuild seed || pk from the seed alone, so a file whose halves
	 * disagree cannot make us sign with a key it does not name.  The
	 * signer is fresh from crypto_signer_alloc, so `sk` is writable. */
	crypto_sign_seed_keypair(pk_derived, s->sk, sk_file);
	sodium_mprotect_readonly(s->sk);
	if (sodium_memcmp(pk_derived, pk_file, sizeof(pk_derived)) != 0 ||
	    sodium_memcmp(pk_derived, pk_blob, sizeof(pk_derived)) != 0 ||
	    sodium_memcmp(pk_derived, sk_file + crypto_sign_SEEDBYTES,
	                  sizeof(pk_derived)) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: public key does not match the "
		                       "secret key",
		                       path);
	memcpy(s->pk, pk_derived, sizeof(s->pk));
	return 0;
}

/* Caller frees with crypto_signer_free(). */
int
crypto_signer_load(struct crypto_signer **out, const char *path)
{
	struct crypto_signer *s = NULL;
	unsigned char *text = NULL, *bin = NULL;
	size_t text_len = 0, bin_len = 0;
	int rc;

	*out = NULL;
	/* Guarded, locked scratch: both hold the secret key. */
	text = sodium_malloc(CRYPTO_KEYFILE_MAX + 1);
	bin = sodium_malloc(CRYPTO_KEYFILE_MAX);
	if (text == NULL || bin == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL,
		                     "allocating guarded key memory: %s",
		                     strerror(errno));
		goto done;
	}
	if ((rc = crypto_keyfile_read(text, &text_len, path)) < 0)
		goto done;
	if ((rc = crypto_dearmor(bin, CRYPTO_KEYFILE_MAX, &bin_len,
	                         (const char *)text, text_len, CRYPTO_KEY_BEGIN,
	                         CRYPTO_KEY_END, path)) < 0)
		goto done;
	if ((rc = crypto_signer_alloc(&s)) < 0)
		goto done;
	if ((rc = crypto_keyfile_parse(s, bin, bin_len, path)) < 0)
		goto done;
	*out = s;
	s = NULL;
done:
	crypto_signer_free(s);
	sodium_free(text); /* sodium_free zeroes; NULL is a no-op */
	sodium_free(bin);
	return rc;
}

/* ---- SSHSIG (PROTOCOL.sshsig) */

/*
 * The bytes ed25519 actually signs:
 *   "SSHSIG" string(namespace) string("") string(hash_alg) string(H(msg))
 * The reserved field is always signed empty, as OpenSSH does.
 */
static void
crypto_sshsig_signed_data(struct buf *b, const char *namespace,
                          const char *hash_alg, const unsigned char *digest,
                          size_t digest_len)
{
	buf_put(b, CRYPTO_SSHSIG_MAGIC, CRYPTO_SSHSIG_MAGIC_LEN);
	crypto_put_cstring(b, namespace);
	crypto_put_string(b, "", 0);
	crypto_put_cstring(b, hash_alg);
	crypto_put_string(b, digest, digest_len);
}

int
crypto_sshsig_sign(const struct crypto_signer *s, const char *namespace,
                   const void *msg, size_t len, struct buf *out)
{
	unsigned char digest[crypto_hash_sha512_BYTES];
	unsigned char sig[crypto_sign_BYTES];
	unsigned char blob[CRYPTO_PUBKEY_BLOB_LEN];
	struct buf data = BUF_INIT, inner = BUF_INIT, sshsig = BUF_INIT;

	if (namespace == NULL || *namespace == '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "SSH signature needs a namespace");
	md_digest(MD_SHA512, digest, sizeof(digest), msg, len);
	crypto_sshsig_signed_data(&data, namespace, "sha512", digest,
	                          sizeof(digest));
	signer_sign(s, sig, (const unsigned char *)data.data, data.len);

	crypto_pubkey_blob(blob, s->pk);
	crypto_put_cstring(&inner, CRYPTO_ED25519_NAME);
	crypto_put_string(&inner, sig, sizeof(sig));
	buf_put(&sshsig, CRYPTO_SSHSIG_MAGIC, CRYPTO_SSHSIG_MAGIC_LEN);
	crypto_put_u32(&sshsig, CRYPTO_SSHSIG_VERSION);
	crypto_put_string(&sshsig, blob, sizeof(blob));
	crypto_put_cstring(&sshsig, namespace);
	crypto_put_string(&sshsig, "", 0);
	crypto_put_cstring(&sshsig, "sha512");
	crypto_put_string(&sshsig, inner.data, inner.len);
	crypto_armor(out, CRYPTO_SSHSIG_BEGIN, CRYPTO_SSHSIG_END,
	             (const unsigned char *)sshsig.data, sshsig.len);

	buf_free(&data);
	buf_free(&inner);
	buf_free(&sshsig);
	return 0;
}

/* Parses "ssh-ed25519 AAAA... [comment]" (an authorized_keys line). */
static int
crypto_public_parse(unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                    const char *text)
{
	unsigned char blob[CRYPTO_PUBKEY_BLOB_LEN + 1];
	const char *b64;
	size_t b64_len, blob_len;

	if (text == NULL ||
	    strncmp(text, CRYPTO_ED25519_NAME, CRYPTO_ED25519_NAME_LEN) != 0 ||
	    (text[CRYPTO_ED25519_NAME_LEN] != ' ' &&
	     text[CRYPTO_ED25519_NAME_LEN] != '\t'))
		return csirt_error_set(
		    CSIRT_EINVAL, "public key is not \"ssh-ed25519 AAAA...\"");
	b64 = text + CRYPTO_ED25519_NAME_LEN;
	b64 += strspn(b64, " \t");
	b64_len = strcspn(b64, " \t\r\n");
	if (!crypto_base64_valid(b64, b64_len, "") ||
	    sodium_base642bin(blob, sizeof(blob), b64, b64_len, NULL, &blob_len,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "public key: invalid base64");
	return crypto_pubkey_blob_parse(pk, blob, blob_len, "public key");
}

/* The fields of a decoded SSHSIG blob, borrowed from it. */
struct crypto_sshsig {
	const unsigned char *key, *ns, *hash_alg, *sig;
	size_t key_len, ns_len, hash_alg_len, sig_len;
};

/* Structure only: every length checked, nothing trusted yet. */
static int
crypto_sshsig_parse(struct crypto_sshsig *out, const unsigned char *blob,
                    size_t len)
{
	struct crypto_rd r = {blob, len, "SSH signature"};
	const unsigned char *reserved;
	size_t reserved_len;
	uint32_t version = 0;
	int rc;

	if ((rc = crypto_rd_magic(&r, CRYPTO_SSHSIG_MAGIC,
	                          CRYPTO_SSHSIG_MAGIC_LEN, "an SSHSIG blob")) <
	        0 ||
	    (rc = crypto_rd_u32(&version, &r, "version")) < 0)
		return rc;
	if (version != CRYPTO_SSHSIG_VERSION)
		return csirt_error_set(CSIRT_EINVAL,
		                       "SSH signature: unsupported version %lu",
		                       (unsigned long)version);
	/* The reserved field is ignored, as PROTOCOL.sshsig says. */
	if ((rc = crypto_rd_string(&out->key, &out->key_len, &r,
	                           "public key")) < 0 ||
	    (rc = crypto_rd_string(&out->ns, &out->ns_len, &r, "namespace")) <
	        0 ||
	    (rc = crypto_rd_string(&reserved, &reserved_len, &r, "reserved")) <
	        0 ||
	    (rc = crypto_rd_string(&out->hash_alg, &out->hash_alg_len, &r,
	                           "hash algorithm")) < 0 ||
	    (rc = crypto_rd_string(&out->sig, &out->sig_len, &r, "signature")) <
	        0 ||
	    (rc = crypto_rd_end(&r, "the signature")) < 0)
		return rc;
	return 0;
}

/*
 * Checks a parsed SSHSIG against the expected key and namespace and
 * verifies it.  Order matters for the codes: malformed parts are
 * CSIRT_EINVAL, a well-formed signature that is not ours is CSIRT_ETAMPER.
 */
static int
crypto_sshsig_check(const struct crypto_sshsig *sg,
                    const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                    const char *namespace, const void *msg, size_t len)
{
	struct crypto_rd kr = {sg->key, sg->key_len, "SSH signature key"};
	struct crypto_rd sr = {sg->sig, sg->sig_len, "SSH signature"};
	unsigned char digest[crypto_hash_sha512_BYTES];
	unsigned char sig_pk[crypto_sign_PUBLICKEYBYTES];
	const unsigned char *type, *sig, *sig_type;
	size_t type_len, sig_len, sig_type_len, digest_len;
	const char *hash_alg;
	struct buf data = BUF_INIT;
	int rc;

	if (crypto_bytes_eq(sg->hash_alg, sg->hash_alg_len, "sha512")) {
		hash_alg = "sha512";
		digest_len = crypto_hash_sha512_BYTES;
		md_digest(MD_SHA512, digest, crypto_hash_sha512_BYTES, msg,
		          len);
	} else if (crypto_bytes_eq(sg->hash_alg, sg->hash_alg_len, "sha256")) {
		hash_alg = "sha256";
		digest_len = crypto_hash_sha256_BYTES;
		md_digest(MD_SHA256, digest, crypto_hash_sha256_BYTES, msg,
		          len);
	} else {
		return csirt_error_set(CSIRT_EINVAL,
		                       "SSH signature: unsupported hash "
		                       "algorithm");
	}
	if ((rc = crypto_rd_string(&sig_type, &sig_type_len, &sr,
	                           "signature type")) < 0 ||
	    (rc = crypto_rd_string(&sig, &sig_len, &sr, "signature bytes")) <
	        0 ||
	    (rc = crypto_rd_end(&sr, "the signature bytes")) < 0)
		return rc;
	if ((rc = crypto_rd_string(&type, &type_len, &kr, "key type")) < 0)
		return rc;
	if (!crypto_bytes_eq(type, type_len, CRYPTO_ED25519_NAME))
		return csirt_error_set(
		    CSIRT_ETAMPER, "SSH signature was made by a key that is "
		                   "not ssh-ed25519");
	if ((rc = crypto_pubkey_blob_parse(sig_pk, sg->key, sg->key_len,
	                                   "SSH signature key")) < 0)
		return rc;
	if (!crypto_bytes_eq(sig_type, sig_type_len, CRYPTO_ED25519_NAME) ||
	    sig_len != crypto_sign_BYTES)
		return csirt_error_set(CSIRT_EINVAL,
		                       "SSH signature: not an ed25519 "
		                       "signature");
	if (sodium_memcmp(sig_pk, pk, crypto_sign_PUBLICKEYBYTES) != 0)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "SSH signature was made by another key");
	if (sg->ns_len != strlen(namespace) ||
	    memcmp(sg->ns, namespace, sg->ns_len) != 0)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "SSH signature is not for namespace "
		                       "\"%s\"",
		                       namespace);

	crypto_sshsig_signed_data(&data, namespace, hash_alg, digest,
	                          digest_len);
	if (crypto_sign_verify_detached(sig, (const unsigned char *)data.data,
	                                data.len, pk) != 0)
		rc = csirt_error_set(CSIRT_ETAMPER,
		                     "SSH signature does not verify");
	buf_free(&data);
	return rc;
}

int
crypto_sshsig_verify(const char *armored, size_t armored_len,
                     const char *namespace, const void *msg, size_t len,
                     const char *public_key)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	struct crypto_sshsig sg;
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	int rc;

	if (namespace == NULL || *namespace == '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "SSH signature needs a namespace");
	if (armored == NULL)
		return csirt_error_set(CSIRT_EINVAL, "no SSH signature");
	if (armored_len > CRYPTO_SSHSIG_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "SSH signature larger than %d bytes",
		                       CRYPTO_SSHSIG_MAX);
	if ((rc = crypto_public_parse(pk, public_key)) < 0)
		return rc;
	blob = util_xmalloc(armored_len + 1);
	if ((rc = crypto_dearmor(blob, armored_len + 1, &blob_len, armored,
	                         armored_len, CRYPTO_SSHSIG_BEGIN,
	                         CRYPTO_SSHSIG_END, "SSH signature")) < 0 ||
	    (rc = crypto_sshsig_parse(&sg, blob, blob_len)) < 0 ||
	    (rc = crypto_sshsig_check(&sg, pk, namespace, msg, len)) < 0)
		goto done;
	rc = 0;
done:
	free(blob);
	return rc;
}

/* ---- API tokens */

void
crypto_token_new(char out[CRYPTO_TOKEN_LEN])
{
	unsigned char raw[CRYPTO_TOKEN_BYTES];
	size_t prefix = strlen(CRYPTO_TOKEN_PREFIX);

	static_assert(sizeof(CRYPTO_TOKEN_PREFIX) - 1 +
	                      sodium_base64_ENCODED_LEN(
	                          CRYPTO_TOKEN_BYTES,
	                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) <=
	                  CRYPTO_TOKEN_LEN,
	              "CRYPTO_TOKEN_LEN too small");
	crypto_random(raw, sizeof(raw));
	memcpy(out, CRYPTO_TOKEN_PREFIX, prefix);
	sodium_bin2base64(out + prefix, CRYPTO_TOKEN_LEN - prefix, raw,
	                  sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
crypto_token_issue(char token[CRYPTO_TOKEN_LEN],
                   char hash[CRYPTO_SHA256_HEX_LEN],
                   char id[CRYPTO_TOKEN_ID_LEN])
{
	unsigned char rnd[6];

	crypto_token_new(token);
	crypto_token_hash(hash, token);
	crypto_random(rnd, sizeof(rnd));
	snprintf(id, CRYPTO_TOKEN_ID_LEN, "t%02x%02x%02x%02x%02x%02x", rnd[0],
	         rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

void
crypto_token_hash(char out[CRYPTO_SHA256_HEX_LEN], const char *token)
{
	crypto_sha256_hex(out, token, strlen(token));
}

/* ---- SHA-1 (git pack checksums) ------------------------------------ */

/* libsodium has no SHA-1; git's pack format needs it. */
struct crypto_sha1_ctx {
	EVP_MD_CTX *md;
};

struct crypto_sha1_ctx *
crypto_sha1_new(void)
{
	struct crypto_sha1_ctx *ctx = util_xmalloc(sizeof(*ctx));

	ctx->md = md_new(MD_SHA1);
	return ctx;
}

void
crypto_sha1_update(struct crypto_sha1_ctx *ctx, const void *data, size_t len)
{
	md_update(ctx->md, data, len);
}

void
crypto_sha1_final(struct crypto_sha1_ctx *ctx,
                  unsigned char out[CRYPTO_SHA1_LEN])
{
	md_final(ctx->md, out, CRYPTO_SHA1_LEN);
	free(ctx);
}

/* ---- TLS ------------------------------------------------------------- */

#define CRYPTO_TLS_FILE_MAX (1 << 20)
#define CRYPTO_TLS_VERIFY_DEPTH 8
/* TLS 1.2 suites: ECDHE key exchange and AEAD only (TLS 1.3 suites are
 * OpenSSL's defaults, which are all of that kind). */
#define CRYPTO_TLS12_CIPHERS                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct crypto_tls {
	SSL_CTX *ctx;
	int mtls;
};

/* The reason of the most recent OpenSSL error, for a message; empties
 * this thread's error queue so that a stale error cannot be blamed on a
 * later, unrelated call. */
static const char *
crypto_tls_reason(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, size, "%s", r != NULL ? r : "unknown error");
	ERR_clear_error();
	return buf;
}

/* Never prompts for a passphrase: an encrypted key fails to load. */
static int
crypto_tls_no_passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* Reads a PEM file into a memory BIO; `setting` names it in errors.  The
 * BIO is secure memory (cleared when freed) since it may hold the key.
 * Caller frees with BIO_free(). */
static int
crypto_tls_bio_read(BIO **out, const char *setting, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = util_read_file(&text, &len, path, CRYPTO_TLS_FILE_MAX)) != 0)
		return csirt_error_wrap(rc, "%s", setting);
	*out = BIO_new(BIO_s_secmem());
	if (*out == NULL || BIO_write(*out, text, (int)len) != (int)len)
		abort(); /* out of memory */
	crypto_wipe(text, len);
	free(text);
	return 0;
}

/* Refuses a certificate outside its validity period. */
static int
crypto_tls_cert_dates(X509 *x, const char *path, int nth)
{
	const ASN1_TIME *after = X509_get0_notAfter(x);
	const ASN1_TIME *before = X509_get0_notBefore(x);
	struct tm tm;
	char when[32] = "?";

	if (X509_cmp_current_time(after) < 0) {
		if (ASN1_TIME_to_tm(after, &tm) == 1)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
			         &tm);
		return csirt_error_set(CSIRT_EINVAL,
		                       "tls_cert %s: certificate %d of the "
		                       "chain expired on %s",
		                       path, nth, when);
	}
	if (X509_cmp_current_time(before) > 0) {
		if (ASN1_TIME_to_tm(before, &tm) == 1)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
			         &tm);
		return csirt_error_set(CSIRT_EINVAL,
		                       "tls_cert %s: certificate %d of the "
		                       "chain is not valid before %s",
		                       path, nth, when);
	}
	return 0;
}

/* The leaf, then every further certificate in the file as its chain. */
static int
crypto_tls_load_cert(SSL_CTX *ctx, const char *path)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	char why[256];
	int rc, n = 1;

	if ((rc = crypto_tls_bio_read(&bio, "tls_cert", path)) != 0)
		return rc;
	x = PEM_read_bio_X509_AUX(bio, NULL, crypto_tls_no_passphrase_cb, NULL);
	if (x == NULL) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "tls_cert %s: no PEM certificate (%s)",
		                     path, crypto_tls_reason(why, sizeof(why)));
		goto done;
	}
	if ((rc = crypto_tls_cert_dates(x, path, n)) != 0)
		goto done;
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "tls_cert %s: certificate refused (%s)",
		                     path, crypto_tls_reason(why, sizeof(why)));
		goto done;
	}
	X509_free(x); /* the context holds its own reference */
	x = NULL;
	while ((x = PEM_read_bio_X509(bio, NULL, crypto_tls_no_passphrase_cb,
	                              NULL)) != NULL) {
		n++;
		if ((rc = crypto_tls_cert_dates(x, path, n)) != 0)
			goto done;
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			rc = csirt_error_set(
			    CSIRT_EINVAL,
			    "tls_cert %s: chain certificate %d "
			    "refused (%s)",
			    path, n, crypto_tls_reason(why, sizeof(why)));
			goto done;
		}
		x = NULL; /* the context owns it */
	}
	/* The loop ends at the end of the file, or at something that is not
	 * a certificate. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "tls_cert %s: certificate %d is not valid "
		                     "PEM (%s)",
		                     path, n + 1,
		                     crypto_tls_reason(why, sizeof(why)));
		goto done;
	}
	ERR_clear_error();
	rc = 0;
done:
	X509_free(x);
	BIO_free(bio);
	return rc;
}

static int
crypto_tls_load_key(SSL_CTX *ctx, const char *path, const char *cert)
{
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	char why[256];
	int rc;

	if ((rc = crypto_tls_bio_read(&bio, "tls_key", path)) != 0)
		return rc;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, crypto_tls_no_passphrase_cb,
	                               NULL);
	if (pkey == NULL) {
		rc = csirt_error_set(
		    CSIRT_EINVAL,
		    "tls_key %s: no unencrypted PEM private key "
		    "(%s)",
		    path, crypto_tls_reason(why, sizeof(why)));
		goto done;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		rc =
		    csirt_error_set(CSIRT_EINVAL,
		                    "tls_key %s does not match the certificate "
		                    "in tls_cert %s",
		                    path, cert);
		goto done;
	}
	rc = 0;
done:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

/* Trusts the CAs in `path` for client certificates, names them in the
 * CertificateRequest, and requires a certificate from every client. */
static int
crypto_tls_load_client_ca(SSL_CTX *ctx, const char *path)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	BIO *bio = NULL;
	X509 *x = NULL;
	char why[256];
	int rc, n = 0;

	if (names == NULL)
		abort(); /* out of memory */
	if ((rc = crypto_tls_bio_read(&bio, "tls_client_ca", path)) != 0)
		goto done;
	while ((x = PEM_read_bio_X509(bio, NULL, crypto_tls_no_passphrase_cb,
	                              NULL)) != NULL) {
		X509_NAME *name = X509_NAME_dup(X509_get_subject_name(x));
		n++;
		if (name == NULL || sk_X509_NAME_push(names, name) <= 0)
			abort(); /* out of memory */
		if (X509_STORE_add_cert(store, x) != 1) {
			rc = csirt_error_set(
			    CSIRT_EINVAL,
			    "tls_client_ca %s: certificate %d "
			    "refused (%s)",
			    path, n, crypto_tls_reason(why, sizeof(why)));
			goto done;
		}
		X509_free(x);
	}
	if (n == 0) {
		ERR_clear_error();
		rc = csirt_error_set(
		    CSIRT_EINVAL, "tls_client_ca %s: no PEM certificate", path);
		goto done;
	}
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "tls_client_ca %s: certificate %d is not "
		                     "valid PEM (%s)",
		                     path, n + 1,
		                     crypto_tls_reason(why, sizeof(why)));
		goto done;
	}
	ERR_clear_error();
	SSL_CTX_set_client_CA_list(ctx, names);
	names = NULL;
	SSL_CTX_set_verify(
	    ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, CRYPTO_TLS_VERIFY_DEPTH);
	rc = 0;
done:
	X509_free(x);
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	BIO_free(bio);
	return rc;
}

int
crypto_tls_new(struct crypto_tls **out, const char *cert, const char *key,
               const char *client_ca)
{
	static const unsigned char sid_ctx[] = "csirtd";
	struct crypto_tls *tls = NULL;
	int rc;

	*out = NULL;
	assert(cert != NULL && key != NULL);
	tls = util_xcalloc(1, sizeof(*tls));
	ERR_clear_error();
	tls->ctx = SSL_CTX_new(TLS_server_method());
	if (tls->ctx == NULL) {
		rc =
		    csirt_error_set(CSIRT_EFAIL, "cannot create a TLS context");
		goto done;
	}
	if (SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(tls->ctx, CRYPTO_TLS12_CIPHERS) != 1) {
		rc = csirt_error_set(CSIRT_EFAIL, "cannot set the TLS policy");
		goto done;
	}
	SSL_CTX_set_options(tls->ctx, SSL_OP_NO_COMPRESSION |
	                                  SSL_OP_NO_RENEGOTIATION |
	                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Sessions may be resumed only by this daemon's context; OpenSSL
	 * refuses resumption with client verification without one. */
	SSL_CTX_set_session_id_context(tls->ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_default_passwd_cb(tls->ctx, crypto_tls_no_passphrase_cb);
	if ((rc = crypto_tls_load_cert(tls->ctx, cert)) != 0 ||
	    (rc = crypto_tls_load_key(tls->ctx, key, cert)) != 0)
		goto done;
	if (client_ca != NULL && *client_ca != '\0') {
		if ((rc = crypto_tls_load_client_ca(tls->ctx, client_ca)) != 0)
			goto done;
		tls->mtls = 1;
	}
	*out = tls;
	tls = NULL;
	rc = 0;
done:
	ERR_clear_error();
	crypto_tls_free(tls);
	return rc;
}

void
crypto_tls_free(struct crypto_tls *tls)
{
	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	free(tls);
}

int
crypto_tls_mtls(const struct crypto_tls *tls)
{
	return tls->mtls;
}

struct ssl_st *
crypto_tls_ssl_new(struct crypto_tls *tls)
{
	SSL *ssl = SSL_new(tls->ctx);

	if (ssl == NULL)
		abort(); /* only fails when out of memory */
	return ssl;
}

/* Copies an ASN.1 string as UTF-8 if it is a plain, printable name. */
static int
crypto_tls_name_copy(char *out, size_t size, const ASN1_STRING *s,
                     const char *what)
{
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, s);
	int rc = 0;

	if (len <= 0) {
		ERR_clear_error();
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "client certificate: unreadable %s", what);
		goto done;
	}
	for (int i = 0; i < len; i++) {
		if (utf8[i] < 0x20 || utf8[i] == 0x7f) {
			rc = csirt_error_set(CSIRT_EINVAL,
			                     "client certificate: %s holds a "
			                     "control character",
			                     what);
			goto done;
		}
	}
	if ((size_t)len >= size) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "client certificate: %s longer than %zu "
		                     "bytes",
		                     what, size - 1);
		goto done;
	}
	if (!util_utf8_valid((const char *)utf8, (size_t)len)) {
		rc = csirt_error_set(
		    CSIRT_EINVAL, "client certificate: %s is not UTF-8", what);
		goto done;
	}
	memcpy(out, utf8, (size_t)len);
	out[len] = '\0';
done:
	OPENSSL_free(utf8);
	return rc;
}

/* The first DNS or e-mail subjectAltName; CSIRT_ENOTFOUND if none. */
static int
crypto_tls_peer_san(X509 *peer, char *out, size_t size)
{
	GENERAL_NAMES *sans =
	    X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
	int rc = CSIRT_ENOTFOUND;

	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_DNS || g->type == GEN_EMAIL) {
			rc = crypto_tls_name_copy(out, size, g->d.ia5,
			                          "subjectAltName");
			break;
		}
	}
	GENERAL_NAMES_free(sans);
	ERR_clear_error();
	if (rc == CSIRT_ENOTFOUND)
		return csirt_error_set(CSIRT_EINVAL,
		                       "client certificate names nobody (no "
		                       "CN, DNS or e-mail subjectAltName)");
	return rc;
}

int
crypto_tls_peer_name(struct ssl_st *ssl, char *out, size_t size)
{
	X509 *peer;
	const X509_NAME *subject;
	long verify;
	int cn;

	assert(size > 0);
	out[0] = '\0';
	if (ssl == NULL)
		return csirt_error_set(CSIRT_ENOTFOUND, "not a TLS connection");
	peer = SSL_get0_peer_certificate(ssl);
	if (peer == NULL)
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "no client certificate");
	/* With mTLS a failed verification ends the handshake; this guards
	 * a context that asked for a certificate without requiring it. */
	verify = SSL_get_verify_result(ssl);
	if (verify != X509_V_OK)
		return csirt_error_set(CSIRT_EUNAUTHENTICATED,
		                       "client certificate not verified: %s",
		                       X509_verify_cert_error_string(verify));
	subject = X509_get_subject_name(peer);
	cn = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (cn < 0)
		return crypto_tls_peer_san(peer, out, size);
	if (X509_NAME_get_index_by_NID(subject, NID_commonName, cn) >= 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "client certificate has several CNs");
	return crypto_tls_name_copy(
	    out, size,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn)), "CN");
}

/* ---- TLS client ------------------------------------------------------ */

struct crypto_tls_client {
	SSL_CTX *ctx;
	SSL *ssl;
};

/* Why an SSL call failed, for a message: the verification result when the
 * handshake failed on the certificate, else OpenSSL's reason or errno. */
static int
crypto_tls_client_fail(struct crypto_tls_client *c, int ret, const char *what)
{
	char why[256];
	int err = SSL_get_error(c->ssl, ret);
	long verify = SSL_get_verify_result(c->ssl);

	if (verify != X509_V_OK) {
		ERR_clear_error();
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "TLS %s: server certificate verify "
		                       "failed: %s",
		                       what,
		                       X509_verify_cert_error_string(verify));
	}
	if (err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
		return csirt_error_set(
		    CSIRT_EUNAVAILABLE, "TLS %s: %s", what,
		    errno != 0 ? strerror(errno) : "connection closed by peer");
	if (err == SSL_ERROR_ZERO_RETURN)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "TLS %s: connection closed by peer",
		                       what);
	return csirt_error_set(CSIRT_EUNAVAILABLE, "TLS %s: %s", what,
	                       crypto_tls_reason(why, sizeof(why)));
}

int
crypto_tls_client_connect(struct crypto_tls_client **out, int fd,
                          const char *host, const char *cafile)
{
	char sni[256];
	struct crypto_tls_client *c = NULL;
	unsigned char addr[16];
	char why[256];
	int rc, ret, is_ip;

	*out = NULL;
	assert(host != NULL);
	c = util_xcalloc(1, sizeof(*c));
	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL) {
		rc =
		    csirt_error_set(CSIRT_EFAIL, "cannot create a TLS context");
		goto done;
	}
	if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1) {
		rc = csirt_error_set(CSIRT_EFAIL, "cannot set the TLS policy");
		goto done;
	}
	/* libevent closes HTTPS connections without close_notify; a cut
	 * reply is caught by the caller's Content-Length check instead
	 * (cli_http.c requires one over TLS). */
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION |
	                                SSL_OP_NO_RENEGOTIATION |
	                                SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (cafile != NULL && *cafile != '\0') {
		if (access(cafile, R_OK) != 0) {
			rc = csirt_error_set(CSIRT_EUNAVAILABLE,
			                     "cannot read CA file %s: %s",
			                     cafile, strerror(errno));
			goto done;
		}
		if (SSL_CTX_load_verify_locations(c->ctx, cafile, NULL) != 1) {
			rc = csirt_error_set(
			    CSIRT_EUNAVAILABLE,
			    "CA file %s: no usable PEM certificate (%s)",
			    cafile, crypto_tls_reason(why, sizeof(why)));
			goto done;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE,
		                     "cannot load the system CA store (%s)",
		                     crypto_tls_reason(why, sizeof(why)));
		goto done;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(c->ctx, CRYPTO_TLS_VERIFY_DEPTH);
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		rc =
		    csirt_error_set(CSIRT_EFAIL, "cannot create a TLS session");
		goto done;
	}
	is_ip = inet_pton(AF_INET, host, addr) == 1 ||
	        inet_pton(AF_INET6, host, addr) == 1;
	if (is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		                                  host) != 1) {
			rc = csirt_error_set(CSIRT_EFAIL,
			                     "cannot verify address %s", host);
			goto done;
		}
	} else if (snprintf(sni, sizeof(sni), "%s", host) >= (int)sizeof(sni) ||
	           /* the macro casts its argument to void *: pass a
	            * writable copy, not the const host */
	           SSL_set_tlsext_host_name(c->ssl, sni) != 1 ||
	           SSL_set1_host(c->ssl, host) != 1) {
		rc =
		    csirt_error_set(CSIRT_EFAIL, "cannot verify host %s", host);
		goto done;
	}
	errno = 0;
	ret = SSL_connect(c->ssl);
	if (ret != 1) {
		rc = crypto_tls_client_fail(c, ret, "handshake");
		goto done;
	}
	*out = c;
	c = NULL;
	rc = 0;
done:
	ERR_clear_error();
	if (c != NULL) {
		SSL_free(c->ssl);
		SSL_CTX_free(c->ctx);
		free(c);
	}
	return rc;
}

int
crypto_tls_client_write(struct crypto_tls_client *c, const void *data,
                        size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		int chunk = len > (1 << 30) ? (1 << 30) : (int)len;
		int n;

		errno = 0;
		n = SSL_write(c->ssl, p, chunk);
		if (n <= 0)
			return crypto_tls_client_fail(c, n, "write");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long
crypto_tls_client_read(struct crypto_tls_client *c, void *buf, size_t size)
{
	int chunk = size > (1 << 30) ? (1 << 30) : (int)size;
	int n;

	errno = 0;
	n = SSL_read(c->ssl, buf, chunk);
	if (n > 0)
		return n;
	if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		return 0;
	}
	return crypto_tls_client_fail(c, n, "read");
}

void
crypto_tls_client_free(struct crypto_tls_client *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	free(c);
}

/* ---- Encryption at rest: the KEK and item keys.
 *
 * Invariant: key bytes live only in sodium_malloc'd pages (guarded, locked
 * best effort) and in scratch buffers that are wiped before return. */

#define CRYPTO_KEK_MAGIC "csirtd-kek-v1 "
#define CRYPTO_KEK_MAGIC_LEN 14
#define CRYPTO_KEK_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define CRYPTO_WRAP_VERSION 1

struct crypto_kek {
	unsigned char *k; /* CRYPTO_KEK_LEN bytes, sodium_malloc'd */
};

struct crypto_item_key {
	unsigned char *k; /* CRYPTO_ITEM_KEY_LEN bytes, sodium_malloc'd */
};

static unsigned char *
crypto_secret_alloc(size_t len)
{
	unsigned char *p = sodium_malloc(len);

	if (p == NULL)
		csirt_error_set(CSIRT_EFAIL,
		                "allocating guarded key memory: %s",
		                strerror(errno));
	return p;
}

static int
crypto_kek_alloc(struct crypto_kek **out)
{
	struct crypto_kek *kek = util_xcalloc(1, sizeof(*kek));

	*out = NULL;
	if ((kek->k = crypto_secret_alloc(CRYPTO_KEK_LEN)) == NULL) {
		free(kek);
		return CSIRT_EFAIL;
	}
	*out = kek;
	return 0;
}

int
crypto_kek_generate(struct crypto_kek **out)
{
	int rc;

	if ((rc = crypto_kek_alloc(out)) < 0)
		return rc;
	crypto_aead_xchacha20poly1305_ietf_keygen((*out)->k);
	return 0;
}

int
crypto_kek_save(const struct crypto_kek *kek, const char *path)
{
	char text[CRYPTO_KEK_MAGIC_LEN + 2 * CRYPTO_KEK_LEN + 2];
	int rc;

	memcpy(text, CRYPTO_KEK_MAGIC, CRYPTO_KEK_MAGIC_LEN);
	sodium_bin2hex(text + CRYPTO_KEK_MAGIC_LEN, 2 * CRYPTO_KEK_LEN + 1,
	               kek->k, CRYPTO_KEK_LEN);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	rc = util_write_file_atomic(path, text, sizeof(text) - 1, 0600);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int
crypto_kek_load(struct crypto_kek **out, const char *path)
{
	unsigned char *text = NULL;
	struct crypto_kek *kek = NULL;
	size_t len = 0, bin_len = 0;
	const char *end = NULL;
	int rc;

	*out = NULL;
	text = util_xmalloc(CRYPTO_KEYFILE_MAX + 1);
	if ((rc = crypto_keyfile_read(text, &len, path)) < 0)
		goto done;
	if (len != CRYPTO_KEK_MAGIC_LEN + 2 * CRYPTO_KEK_LEN + 1 ||
	    memcmp(text, CRYPTO_KEK_MAGIC, CRYPTO_KEK_MAGIC_LEN) != 0 ||
	    text[len - 1] != '\n') {
		rc = csirt_error_set(
		    CSIRT_EINVAL, "%s: not a csirtd key-encryption key", path);
		goto done;
	}
	if ((rc = crypto_kek_alloc(&kek)) < 0)
		goto done;
	if (sodium_hex2bin(kek->k, CRYPTO_KEK_LEN,
	                   (const char *)text + CRYPTO_KEK_MAGIC_LEN,
	                   2 * CRYPTO_KEK_LEN, NULL, &bin_len, &end) != 0 ||
	    bin_len != CRYPTO_KEK_LEN || end != (const char *)text + len - 1) {
		rc = csirt_error_set(
		    CSIRT_EINVAL, "%s: not a csirtd key-encryption key", path);
		goto done;
	}
	*out = kek;
	kek = NULL;
	rc = 0;
done:
	crypto_kek_free(kek);
	sodium_memzero(text, CRYPTO_KEYFILE_MAX + 1);
	free(text);
	return rc;
}

void
crypto_kek_free(struct crypto_kek *kek)
{
	if (kek == NULL)
		return;
	sodium_free(kek->k); /* zeroes before unmapping */
	free(kek);
}

static int
crypto_item_key_alloc(struct crypto_item_key **out)
{
	struct crypto_item_key *key = util_xcalloc(1, sizeof(*key));

	*out = NULL;
	if ((key->k = crypto_secret_alloc(CRYPTO_ITEM_KEY_LEN)) == NULL) {
		free(key);
		return CSIRT_EFAIL;
	}
	*out = key;
	return 0;
}

int
crypto_item_key_new(struct crypto_item_key **out)
{
	int rc;

	if ((rc = crypto_item_key_alloc(out)) < 0)
		return rc;
	randombytes_buf((*out)->k, CRYPTO_ITEM_KEY_LEN);
	return 0;
}

void
crypto_item_key_free(struct crypto_item_key *key)
{
	if (key == NULL)
		return;
	sodium_free(key->k);
	free(key);
}

void
crypto_item_key_mac_hex(char out[CRYPTO_SHA256_HEX_LEN],
                        const struct crypto_item_key *key, const void *data,
                        size_t len)
{
	unsigned char sub[crypto_generichash_KEYBYTES];
	unsigned char mac[32];

	static_assert(CRYPTO_ITEM_KEY_LEN == crypto_kdf_KEYBYTES,
	              "item keys are KDF master keys");
	crypto_kdf_derive_from_key(sub, sizeof(sub), 1, "csirtmac", key->k);
	crypto_generichash(mac, sizeof(mac), data, len, sub, sizeof(sub));
	sodium_memzero(sub, sizeof(sub));
	sodium_bin2hex(out, CRYPTO_SHA256_HEX_LEN, mac, sizeof(mac));
}

void
crypto_item_key_wrap(unsigned char out[CRYPTO_WRAPPED_KEY_LEN],
                     const struct crypto_kek *kek,
                     const struct crypto_item_key *key, const char *item_id)
{
	unsigned char *nonce = out + 1;
	unsigned long long clen = 0;

	out[0] = CRYPTO_WRAP_VERSION;
	randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, key->k,
	    CRYPTO_ITEM_KEY_LEN, (const unsigned char *)item_id,
	    strlen(item_id), NULL, nonce, kek->k);
	assert(clen ==
	       CRYPTO_ITEM_KEY_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES);
}

int
crypto_item_key_unwrap(struct crypto_item_key **out,
                       const struct crypto_kek *kek, const char *item_id,
                       const unsigned char *wrapped, size_t len)
{
	const unsigned char *nonce = wrapped + 1;
	struct crypto_item_key *key = NULL;
	unsigned long long mlen = 0;
	int rc;

	*out = NULL;
	if (len != CRYPTO_WRAPPED_KEY_LEN || wrapped[0] != CRYPTO_WRAP_VERSION)
		return csirt_error_set(
		    CSIRT_EINVAL, "wrapped key of %s: unknown format", item_id);
	if ((rc = crypto_item_key_alloc(&key)) < 0)
		return rc;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        key->k, &mlen, NULL,
	        nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	        CRYPTO_WRAPPED_KEY_LEN - 1 -
	            crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	        (const unsigned char *)item_id, strlen(item_id), nonce,
	        kek->k) != 0 ||
	    mlen != CRYPTO_ITEM_KEY_LEN) {
		crypto_item_key_free(key);
		return csirt_error_set(
		    CSIRT_ETAMPER,
		    "wrapped key of %s does not open with this "
		    "key-encryption key (altered, another "
		    "item's, or another KEK's)",
		    item_id);
	}
	*out = key;
	return 0;
}

/* ---- Content encryption (secretstream).
 *
 * Invariant: `buf` holds less than one whole frame between calls (plaintext
 * for an encryptor; for a decryptor, first the header, then ciphertext of
 * less than one full frame), so memory is bounded by one frame. */

#define CRYPTO_SS_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define CRYPTO_SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define CRYPTO_SS_FULL (CRYPTO_STREAM_FRAME + CRYPTO_SS_ABYTES)

struct crypto_stream {
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	bool decrypt;
	bool started;  /* decryptor: header read */
	bool finished; /* FINAL sealed or opened */
	uint64_t plain_len;
	size_t used;
	unsigned char buf[CRYPTO_SS_FULL];
	unsigned char frame[CRYPTO_SS_FULL];
};

_Static_assert(CRYPTO_STREAM_HEADER_LEN == CRYPTO_SS_HEADER, "header size");
_Static_assert(CRYPTO_STREAM_ABYTES == CRYPTO_SS_ABYTES, "frame overhead");
_Static_assert(CRYPTO_ITEM_KEY_LEN ==
                   crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "item keys are secretstream keys");

uint64_t
crypto_stream_cipher_len(uint64_t plain_len)
{
	return CRYPTO_SS_HEADER +
	       plain_len / CRYPTO_STREAM_FRAME * CRYPTO_SS_FULL +
	       plain_len % CRYPTO_STREAM_FRAME + CRYPTO_SS_ABYTES;
}

static int
crypto_stream_alloc(struct crypto_stream **out, bool decrypt)
{
	struct crypto_stream *s = sodium_malloc(sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return csirt_error_set(CSIRT_EFAIL,
		                       "allocating guarded stream memory: %s",
		                       strerror(errno));
	memset(s, 0, sizeof(*s));
	s->decrypt = decrypt;
	*out = s;
	return 0;
}

void
crypto_stream_free(struct crypto_stream *s)
{
	sodium_free(s); /* zeroes, NULL-safe */
}

uint64_t
crypto_stream_plain_len(const struct crypto_stream *s)
{
	return s->plain_len;
}

int
crypto_stream_enc_new(struct crypto_stream **out,
                      const struct crypto_item_key *key, struct buf *header_out)
{
	unsigned char header[CRYPTO_SS_HEADER];
	int rc;

	if ((rc = crypto_stream_alloc(out, false)) < 0)
		return rc;
	crypto_secretstream_xchacha20poly1305_init_push(&(*out)->st, header,
	                                                key->k);
	buf_put(header_out, header, sizeof(header));
	return 0;
}

static void
crypto_stream_seal(struct crypto_stream *s, size_t len, unsigned char tag,
                   struct buf *out)
{
	unsigned long long clen = 0;

	crypto_secretstream_xchacha20poly1305_push(&s->st, s->frame, &clen,
	                                           s->buf, len, NULL, 0, tag);
	buf_put(out, s->frame, (size_t)clen);
	sodium_memzero(s->buf, len);
}

void
crypto_stream_enc_update(struct crypto_stream *s, const void *data, size_t len,
                         struct buf *out)
{
	const unsigned char *p = data;

	assert(!s->decrypt && !s->finished);
	s->plain_len += len;
	while (len > 0) {
		size_t n = CRYPTO_STREAM_FRAME - s->used;

		if (n > len)
			n = len;
		memcpy(s->buf + s->used, p, n);
		s->used += n;
		p += n;
		len -= n;
		if (s->used == CRYPTO_STREAM_FRAME) {
			crypto_stream_seal(
			    s, CRYPTO_STREAM_FRAME,
			    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
			    out);
			s->used = 0;
		}
	}
}

void
crypto_stream_enc_final(struct crypto_stream *s, struct buf *out)
{
	assert(!s->decrypt && !s->finished);
	crypto_stream_seal(
	    s, s->used, crypto_secretstream_xchacha20poly1305_TAG_FINAL, out);
	s->used = 0;
	s->finished = true;
}

int
crypto_stream_dec_new(struct crypto_stream **out,
                      const struct crypto_item_key *key)
{
	int rc;

	if ((rc = crypto_stream_alloc(out, true)) < 0)
		return rc;
	memcpy((*out)->key, key->k, sizeof((*out)->key));
	return 0;
}

/* Opens the `s->used` buffered bytes as one frame; `last` says whether it
 * must be the FINAL frame (and, when false, must not be). */
static int
crypto_stream_open(struct crypto_stream *s, bool last, struct buf *plain)
{
	unsigned long long mlen = 0;
	unsigned char tag = 0;

	if (s->used < CRYPTO_SS_ABYTES ||
	    crypto_secretstream_xchacha20poly1305_pull(
	        &s->st, s->frame, &mlen, &tag, s->buf, s->used, NULL, 0) != 0)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "encrypted content: frame at plaintext "
		                       "offset %llu does not authenticate "
		                       "(altered, truncated or wrong key)",
		                       (unsigned long long)s->plain_len);
	if (last != (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL))
		return csirt_error_set(
		    CSIRT_ETAMPER,
		    last ? "encrypted content is truncated: no final frame"
		         : "encrypted content continues after its final frame");
	buf_put(plain, s->frame, (size_t)mlen);
	sodium_memzero(s->frame, (size_t)mlen);
	s->plain_len += mlen;
	s->used = 0;
	s->finished = last;
	return 0;
}

int
crypto_stream_dec_update(struct crypto_stream *s, const void *data, size_t len,
                         struct buf *plain)
{
	const unsigned char *p = data;
	int rc;

	assert(s->decrypt);
	if (s->finished && len > 0)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "encrypted content continues after its "
		                       "final frame");
	while (len > 0) {
		size_t want = s->started ? CRYPTO_SS_FULL : CRYPTO_SS_HEADER;
		size_t n = want - s->used;

		if (n > len)
			n = len;
		memcpy(s->buf + s->used, p, n);
		s->used += n;
		p += n;
		len -= n;
		if (s->used < want)
			break;
		if (!s->started) {
			if (crypto_secretstream_xchacha20poly1305_init_pull(
			        &s->st, s->buf, s->key) != 0)
				return csirt_error_set(
				    CSIRT_ETAMPER,
				    "encrypted content: bad stream header");
			sodium_memzero(s->key, sizeof(s->key));
			s->started = true;
			s->used = 0;
			continue;
		}
		/* A full-size frame is never the last one: the final frame
		 * is always shorter (see the format above). */
		if ((rc = crypto_stream_open(s, false, plain)) < 0)
			return rc;
	}
	return 0;
}

int
crypto_stream_dec_final(struct crypto_stream *s, struct buf *plain)
{
	assert(s->decrypt);
	if (s->finished)
		return 0;
	if (!s->started)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "encrypted content is truncated: no "
		                       "stream header");
	return crypto_stream_open(s, true, plain);
}

/* ---- signed notes (C2SP signed-note) */

#define CRYPTO_NOTE_ID_LEN 4
#define CRYPTO_NOTE_ED25519 0x01 /* the signed-note signature type */

void
crypto_base64_encode(struct buf *out, const void *p, size_t n)
{
	crypto_put_base64(out, p, n, 0);
}

int
crypto_base64_decode(unsigned char *out, size_t cap, size_t *len,
                     const char *text, size_t n)
{
	const char *end = NULL;

	if (!crypto_base64_valid(text, n, "") ||
	    sodium_base642bin(out, cap, text, n, NULL, len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != text + n)
		return csirt_error_set(CSIRT_EINVAL, "invalid base64");
	return 0;
}

static void
crypto_note_key_id(unsigned char out[CRYPTO_NOTE_ID_LEN], const char *name,
                   const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	const unsigned char sep[2] = {'\n', CRYPTO_NOTE_ED25519};

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)name,
	                          strlen(name));
	crypto_hash_sha256_update(&st, sep, sizeof(sep));
	crypto_hash_sha256_update(&st, pk, crypto_sign_PUBLICKEYBYTES);
	crypto_hash_sha256_final(&st, digest);
	memcpy(out, digest, CRYPTO_NOTE_ID_LEN);
}

int
crypto_note_sign(const struct crypto_signer *s, const char *name,
                 const void *text, size_t len, struct buf *out)
{
	unsigned char raw[CRYPTO_NOTE_ID_LEN + crypto_sign_BYTES];

	if (name == NULL || *name == '\0' || strpbrk(name, " +\n") != NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "signed note: bad key name");
	crypto_note_key_id(raw, name, s->pk);
	signer_sign(s, raw + CRYPTO_NOTE_ID_LEN, (const unsigned char *)text,
	            len);
	crypto_put_base64(out, raw, sizeof(raw), 0);
	return 0;
}

int
crypto_note_verify(const char *name, const char *sig_b64, size_t sig_len,
                   const void *text, size_t len, const char *public_key)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char raw[CRYPTO_NOTE_ID_LEN + crypto_sign_BYTES + 1];
	unsigned char id[CRYPTO_NOTE_ID_LEN];
	size_t n = 0;
	int rc;

	if ((rc = crypto_public_parse(pk, public_key)) != 0)
		return rc;
	if (crypto_base64_decode(raw, sizeof(raw), &n, sig_b64, sig_len) != 0 ||
	    n != CRYPTO_NOTE_ID_LEN + crypto_sign_BYTES)
		return csirt_error_set(CSIRT_EINVAL,
		                       "signed note: malformed signature");
	crypto_note_key_id(id, name, pk);
	if (memcmp(id, raw, CRYPTO_NOTE_ID_LEN) != 0)
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "signed note: signature by another key");
	if (crypto_sign_verify_detached(raw + CRYPTO_NOTE_ID_LEN,
	                                (const unsigned char *)text, len,
	                                pk) != 0)
		return csirt_error_set(
		    CSIRT_ETAMPER, "signed note: signature does not verify");
	return 0;
}
