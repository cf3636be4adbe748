#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "error.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define SIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define SIG_END "-----END SSH SIGNATURE-----"
#define KEY_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define KEY_END "-----END OPENSSH PRIVATE KEY-----"

/*
 * Byte offsets in a decoded openssh-key-v1 file written by
 * crypto_signer_save (fixed layout up to the comment): magic (15),
 * string("none") x2, string(""), uint32(1), string(51-byte pubkey blob),
 * uint32(section length), then the private section.
 */
#define OFF_CIPHER 19 /* the 4 bytes "none" */
#define OFF_CHECK2 102
#define OFF_PRIV_PK 125   /* 32-byte public half in the private section */
#define OFF_PRIV_SEED 161 /* 32-byte seed */

static const char msg[] = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
                          "author csirtd <csirtd@localhost> 0 +0000\n\n"
                          "case 2026-0001: reported\n";

/* A small deterministic PRNG so a fuzz failure reproduces. */
static uint32_t
prng_next(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* ---- a test-local base64 codec, so tests can reshape armoured data */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
b64_encode(struct buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf_putc(out, b64_alphabet[v >> 18 & 63]);
		buf_putc(out, b64_alphabet[v >> 12 & 63]);
		buf_putc(out, i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=');
		buf_putc(out, i + 2 < n ? b64_alphabet[v & 63] : '=');
	}
}

/* Decodes the base64 between the first and the last line of `armored`. */
static void
dearmor(struct buf *out, const char *armored)
{
	const char *p = strchr(armored, '\n'),
	           *end = strstr(armored, "\n-----END");
	uint32_t acc = 0;
	int bits = 0;

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(end);
	for (; p < end; p++) {
		const char *c = strchr(b64_alphabet, *p);
		if (*p == '\n' || *p == '\r' || *p == '=')
			continue;
		ck_assert_ptr_nonnull(c);
		acc = acc << 6 | (uint32_t)(c - b64_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)(acc >> bits & 0xff));
		}
	}
}

static void
armor(struct buf *out, const char *begin, const char *end, const void *p,
      size_t n)
{
	struct buf b64 = BUF_INIT;

	b64_encode(&b64, p, n);
	buf_printf(out, "%s\n", begin);
	for (size_t off = 0; off < b64.len; off += 70)
		buf_printf(out, "%.*s\n",
		           (int)(b64.len - off < 70 ? b64.len - off : 70),
		           b64.data + off);
	buf_puts(out, end);
	buf_free(&b64);
}

/* Runs argv with stdin from `in_path`; captures stdout and stderr. */
static int
run_stdin(struct buf *out, int *status, const char *in_path,
          const char *const argv[])
{
	int pipefd[2];
	char chunk[4096];
	pid_t pid;

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open(in_path, O_RDONLY);
		char *copy[16];
		size_t n = 0;
		if (in < 0)
			_exit(126);
		dup2(in, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		for (; argv[n] != NULL && n < 15; n++)
			copy[n] = util_strdup(argv[n]);
		copy[n] = NULL;
		execvp(copy[0], copy);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t r = read(pipefd[0], chunk, sizeof(chunk));
		if (r <= 0)
			break;
		buf_put(out, chunk, (size_t)r);
	}
	close(pipefd[0]);
	return waitpid(pid, status, 0) == pid ? 0 : -1;
}

static void
write_text(const char *path, const void *data, size_t len, mode_t mode)
{
	ck_assert_int_eq(util_write_file_atomic(path, data, len, mode), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Runs `ssh-keygen -Y verify` on `sig` over the file `msg_path`; returns
 * the exit status and leaves the output in `out`. */
static int
ssh_keygen_verify(struct buf *out, const char *dir, const char *public_key,
                  const char *sig, const char *msg_path)
{
	char *allowed = util_path_join(dir, "allowed_signers");
	char *sig_path = util_path_join(dir, "msg.sig");
	struct buf line = BUF_INIT;
	const char *argv[] = {"ssh-keygen", "-Y", "verify", "-f",
	                      allowed,      "-I", "csirtd", "-n",
	                      "git",        "-s", sig_path, NULL};
	int status = -1;

	buf_printf(&line, "csirtd namespaces=\"git\" %s\n", public_key);
	write_text(allowed, line.data, line.len, 0644);
	write_text(sig_path, sig, strlen(sig), 0644);
	ck_assert_int_eq(run_stdin(out, &status, msg_path, argv), 0);
	buf_free(&line);
	free(allowed);
	free(sig_path);
	return status;
}

/* Decodes the key file at `path`, lets `edit` change byte `off` (XOR
 * `mask`), and writes it back armoured with mode 0600. */
static void
key_file_edit(const char *path, size_t off, unsigned char mask)
{
	struct buf bin = BUF_INIT, text = BUF_INIT;
	char *old = NULL;
	size_t len;

	ck_assert_int_eq(util_read_file(&old, &len, path, 65536), 0);
	dearmor(&bin, old);
	ck_assert_uint_gt(bin.len, off);
	bin.data[off] = (char)(bin.data[off] ^ mask);
	armor(&text, KEY_BEGIN, KEY_END, bin.data, bin.len);
	buf_putc(&text, '\n');
	write_text(path, text.data, text.len, 0600);
	buf_free(&bin);
	buf_free(&text);
	free(old);
}

START_TEST(test_crypto_sha256_vectors)
{
	static const char abc448[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[CRYPTO_SHA256_HEX_LEN];
	unsigned char one[CRYPTO_SHA256_LEN], inc[CRYPTO_SHA256_LEN];
	struct crypto_sha256_ctx *ctx;
	unsigned char *big = util_xmalloc(100003);

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_init(), 0); /* idempotent */
	crypto_sha256_hex(hex, "", 0);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	                      "27ae41e4649b934ca495991b7852b855");
	crypto_sha256_hex(hex, "abc", 3);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
	                      "b00361a396177a9cb410ff61f20015ad");

	/* One byte at a time across the 64-byte block boundary. */
	ctx = crypto_sha256_new();
	for (size_t i = 0; i < strlen(abc448); i++)
		crypto_sha256_update(ctx, abc448 + i, 1);
	crypto_sha256_final(ctx, inc);
	crypto_sha256(one, abc448, strlen(abc448));
	ck_assert_mem_eq(inc, one, sizeof(one));
	crypto_sha256_hex(hex, abc448, strlen(abc448));
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039"
	                      "a33ce45964ff2167f6ecedd419db06c1");

	/* Odd chunk sizes over a large random buffer. */
	crypto_random(big, 100003);
	ctx = crypto_sha256_new();
	for (size_t off = 0, step = 1; off < 100003; off += step, step += 7)
		crypto_sha256_update(ctx, big + off,
		                     100003 - off < step ? 100003 - off : step);
	crypto_sha256_final(ctx, inc);
	crypto_sha256(one, big, 100003);
	ck_assert_mem_eq(inc, one, sizeof(one));
	big[50000] ^= 1;
	crypto_sha256(inc, big, 100003);
	ck_assert(memcmp(inc, one, sizeof(one)) != 0);
	free(big);
}
END_TEST

START_TEST(test_crypto_memcmp_and_wipe)
{
	unsigned char a[32], b[32], zero[32] = {0};

	ck_assert_int_eq(crypto_init(), 0);
	crypto_random(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	ck_assert_int_eq(crypto_memcmp(a, b, sizeof(a)), 0);
	b[31] ^= 0x80;
	ck_assert_int_ne(crypto_memcmp(a, b, sizeof(a)), 0);
	ck_assert(memcmp(a, zero, sizeof(a)) != 0); /* 2^-256 to fail */
	crypto_wipe(a, sizeof(a));
	ck_assert_mem_eq(a, zero, sizeof(a));
}
END_TEST

START_TEST(test_crypto_sshsig_verified_by_ssh_keygen)
{
	struct crypto_signer *s = NULL;
	struct buf sig = BUF_INIT, out = BUF_INIT;
	char *dir = tu_tmpdir();
	char *msg_path = util_path_join(dir, "msg");
	char *bad_path = util_path_join(dir, "bad");
	char *pub;
	char bad[sizeof(msg)];
	const char *line;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	pub = crypto_signer_public(s);
	ck_assert_int_eq(
	    strncmp(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 37), 0);
	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &sig), 0);

	/* Shape: armour lines, 70 columns, no trailing newline. */
	ck_assert_int_eq(strncmp(sig.data, SIG_BEGIN "\n", 30), 0);
	ck_assert_uint_gt(sig.len, strlen(SIG_END));
	ck_assert_str_eq(sig.data + sig.len - strlen(SIG_END), SIG_END);
	ck_assert_int_eq(sig.data[sig.len - strlen(SIG_END) - 1], '\n');
	for (line = sig.data; line != NULL;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		ck_assert_uint_le(n, 70);
		line = nl ? nl + 1 : NULL;
	}

	write_text(msg_path, msg, sizeof(msg) - 1, 0644);
	ck_assert_int_eq(ssh_keygen_verify(&out, dir, pub, sig.data, msg_path),
	                 0);
	ck_assert_msg(strstr(out.data, "Good \"git\" signature for csirtd") !=
	                  NULL,
	              "ssh-keygen said: %s", out.data);

	memcpy(bad, msg, sizeof(msg));
	bad[5] ^= 1;
	write_text(bad_path, bad, sizeof(bad) - 1, 0644);
	buf_reset(&out);
	ck_assert_int_ne(ssh_keygen_verify(&out, dir, pub, sig.data, bad_path),
	                 0);
	ck_assert_ptr_null(strstr(out.data, "Good"));

	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git", msg,
	                                      sizeof(msg) - 1, pub),
	                 0);
	tu_rmrf(dir);
	crypto_signer_free(s);
	buf_free(&sig);
	buf_free(&out);
	free(pub);
	free(msg_path);
	free(bad_path);
	free(dir);
}
END_TEST

/* Waits (5 s at most) until `s`'s pool holds `n` nonces. */
static void
nonces_wait(const struct crypto_signer *s, size_t n)
{
	struct crypto_nonce_stats st;

	for (int i = 0; i < 500; i++) {
		crypto_signer_nonce_stats(s, &st);
		if (st.ready >= n)
			return;
		usleep(10000);
	}
	ck_abort_msg("the nonce pool holds %zu of %zu", st.ready, n);
}

/* The 64-byte ed25519 signature inside a signed-note line's BASE64. */
static void
note_sig_raw(unsigned char sig[64], const struct buf *b64)
{
	unsigned char raw[4 + 64];
	size_t n = 0;

	ck_assert_int_eq(
	    crypto_base64_decode(raw, sizeof(raw), &n, b64->data, b64->len), 0);
	ck_assert_uint_eq(n, sizeof(raw));
	memcpy(sig, raw + 4, 64);
}

/*
 * Signatures made with precomputed nonces (crypto_signer_precompute) are
 * ordinary ed25519 ones: ssh-keygen and crypto_sshsig_verify accept them,
 * a changed message is refused, signed notes verify too.  Unlike RFC
 * 8032's they differ for the same message, and no nonce (R, the first
 * half of a signature) is ever used twice.
 */
START_TEST(test_crypto_precomputed_nonces)
{
	enum { POOL = 8, MANY = 300 };
	struct crypto_signer *s = NULL, *plain = NULL;
	struct crypto_nonce_stats st;
	struct buf sig1 = BUF_INIT, sig2 = BUF_INIT, out = BUF_INIT,
	           b64 = BUF_INIT;
	char *dir = tu_tmpdir();
	char *msg_path = util_path_join(dir, "msg");
	char *bad_path = util_path_join(dir, "bad");
	char *pub;
	char bad[sizeof(msg)];
	unsigned char(*rs)[64] = util_xcalloc(MANY, 64);

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	ck_assert_int_eq(crypto_signer_generate(&plain), 0);
	pub = crypto_signer_public(s);
	crypto_signer_nonce_stats(plain, &st);
	ck_assert_uint_eq(st.pooled + st.fallback + st.ready, 0);
	ck_assert_int_eq(crypto_signer_precompute(s, CRYPTO_NONCES_MAX + 1),
	                 CSIRT_EINVAL);
	crypto_signer_nonce_stats(s, &st);
	ck_assert_uint_eq(st.ready, 0); /* refused: no pool */
	ck_assert_int_eq(crypto_signer_precompute(s, POOL), 0);
	nonces_wait(s, POOL);

	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &sig1), 0);
	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &sig2), 0);
	crypto_signer_nonce_stats(s, &st);
	ck_assert_uint_eq(st.pooled, 2);
	ck_assert_uint_eq(st.fallback, 0);
	ck_assert_str_ne(sig1.data, sig2.data);
	write_text(msg_path, msg, sizeof(msg) - 1, 0644);
	memcpy(bad, msg, sizeof(msg));
	bad[7] ^= 1;
	write_text(bad_path, bad, sizeof(bad) - 1, 0644);
	for (int i = 0; i < 2; i++) {
		const char *sig = i ? sig2.data : sig1.data;
		size_t len = i ? sig2.len : sig1.len;

		buf_reset(&out);
		ck_assert_msg(
		    ssh_keygen_verify(&out, dir, pub, sig, msg_path) == 0,
		    "ssh-keygen said: %s", out.data);
		ck_assert_ptr_nonnull(
		    strstr(out.data, "Good \"git\" signature for csirtd"));
		buf_reset(&out);
		ck_assert_int_ne(
		    ssh_keygen_verify(&out, dir, pub, sig, bad_path), 0);
		ck_assert_int_eq(crypto_sshsig_verify(sig, len, "git", msg,
		                                      sizeof(msg) - 1, pub),
		                 0);
		ck_assert_int_eq(crypto_sshsig_verify(sig, len, "git", bad,
		                                      sizeof(bad) - 1, pub),
		                 CSIRT_ETAMPER);
	}

	/* Without a pool: RFC 8032, the same signature every time. */
	buf_reset(&sig1);
	buf_reset(&sig2);
	ck_assert_int_eq(
	    crypto_sshsig_sign(plain, "git", msg, sizeof(msg) - 1, &sig1), 0);
	ck_assert_int_eq(
	    crypto_sshsig_sign(plain, "git", msg, sizeof(msg) - 1, &sig2), 0);
	ck_assert_str_eq(sig1.data, sig2.data);

	/* Many signed notes, faster than the pool refills: each verifies,
	 * whichever way it was made, and no R repeats (RFC 8032's would
	 * for a repeated text, so each text differs). */
	for (int i = 0; i < MANY; i++) {
		char text[64];
		int tl = snprintf(text, sizeof(text), "checkpoint %d\n", i);

		buf_reset(&b64);
		ck_assert_int_eq(
		    crypto_note_sign(s, "csirtd", text, (size_t)tl, &b64), 0);
		ck_assert_int_eq(crypto_note_verify("csirtd", b64.data, b64.len,
		                                    text, (size_t)tl, pub),
		                 0);
		text[0] ^= 1;
		ck_assert_int_eq(crypto_note_verify("csirtd", b64.data, b64.len,
		                                    text, (size_t)tl, pub),
		                 CSIRT_ETAMPER);
		note_sig_raw(rs[i], &b64);
		for (int j = 0; j < i; j++)
			ck_assert_msg(memcmp(rs[i], rs[j], 32) != 0,
			              "signatures %d and %d share R", j, i);
	}
	crypto_signer_nonce_stats(s, &st);
	ck_assert_uint_eq(st.pooled + st.fallback, 2 + MANY);
	ck_assert_uint_ge(st.pooled, POOL);
	ck_assert_uint_le(st.ready, POOL);

	tu_rmrf(dir);
	crypto_signer_free(s); /* stops the thread, wipes the pool */
	crypto_signer_free(plain);
	buf_free(&sig1);
	buf_free(&sig2);
	buf_free(&out);
	buf_free(&b64);
	free(rs);
	free(pub);
	free(msg_path);
	free(bad_path);
	free(dir);
}
END_TEST

/* A forked child never signs with its copy of the parent's nonces (one
 * nonce over two messages gives the key away): it signs RFC 8032's way,
 * the same signature twice, and frees the signer without the parent's
 * thread. */
START_TEST(test_crypto_precomputed_nonces_not_after_fork)
{
	struct crypto_signer *s = NULL;
	struct crypto_nonce_stats st;
	struct buf sig = BUF_INIT;
	char *pub;
	pid_t pid;
	int status = -1;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	pub = crypto_signer_public(s);
	ck_assert_int_eq(crypto_signer_precompute(s, 8), 0);
	nonces_wait(s, 8);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct buf a = BUF_INIT, b = BUF_INIT;
		int ok = crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1,
		                            &a) == 0 &&
		         crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1,
		                            &b) == 0 &&
		         strcmp(a.data, b.data) == 0 &&
		         crypto_sshsig_verify(a.data, a.len, "git", msg,
		                              sizeof(msg) - 1, pub) == 0;
		crypto_signer_free(s);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "child status %d", status);
	/* The parent's pool is untouched and still used. */
	crypto_signer_nonce_stats(s, &st);
	ck_assert_uint_eq(st.ready, 8);
	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &sig), 0);
	crypto_signer_nonce_stats(s, &st);
	ck_assert_uint_eq(st.pooled, 1);
	crypto_signer_free(s);
	buf_free(&sig);
	free(pub);
}
END_TEST

START_TEST(test_crypto_sshsig_verifies_ssh_keygen_signature)
{
	struct crypto_signer *s = NULL;
	struct buf ours = BUF_INIT, crlf = BUF_INIT, out = BUF_INIT;
	char *dir = tu_tmpdir();
	char *key = util_path_join(dir, "ledger_key");
	char *msg_path = util_path_join(dir, "msg");
	char *sig_path = util_path_join(dir, "msg.sig");
	char *theirs = NULL, *pub;
	const char *argv[] = {"ssh-keygen", "-Y",  "sign",   "-f", key,
	                      "-n",         "git", msg_path, NULL};
	const char *argv256[] = {
	    "ssh-keygen", "-Y",  "sign",   "-O", "hashalg=sha256", "-f", key,
	    "-n",         "git", msg_path, NULL};
	size_t len;
	int status = -1;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	pub = crypto_signer_public(s);
	ck_assert_int_eq(crypto_signer_save(s, key, "csirtd ledger"), 0);
	write_text(msg_path, msg, sizeof(msg) - 1, 0644);
	ck_assert_int_eq(tu_run(&out, &status, argv), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(util_read_file(&theirs, &len, sig_path, 65536), 0);

	/* As ssh-keygen writes it: with a trailing newline. */
	ck_assert_int_eq(
	    crypto_sshsig_verify(theirs, len, "git", msg, sizeof(msg) - 1, pub),
	    0);
	/* ed25519 is deterministic, so the formats must agree byte for
	 * byte (ours has no trailing newline). */
	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &ours), 0);
	ck_assert_uint_eq(len, ours.len + 1);
	ck_assert_int_eq(memcmp(theirs, ours.data, ours.len), 0);

	/* CRLF line ends (a signature that went through a Windows tool). */
	for (size_t i = 0; i < len; i++) {
		if (theirs[i] == '\n')
			buf_putc(&crlf, '\r');
		buf_putc(&crlf, theirs[i]);
	}
	ck_assert_int_eq(crypto_sshsig_verify(crlf.data, crlf.len, "git", msg,
	                                      sizeof(msg) - 1, pub),
	                 0);
	/* Theirs is refused for a message other than the one signed. */
	ck_assert_int_eq(
	    crypto_sshsig_verify(theirs, len, "git", msg, sizeof(msg) - 2, pub),
	    CSIRT_ETAMPER);

	/* PROTOCOL.sshsig also allows sha256 as the message hash. */
	free(theirs);
	theirs = NULL;
	ck_assert_int_eq(unlink(sig_path), 0);
	ck_assert_int_eq(tu_run(&out, &status, argv256), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(util_read_file(&theirs, &len, sig_path, 65536), 0);
	ck_assert_int_ne(memcmp(theirs, ours.data, ours.len), 0);
	ck_assert_int_eq(
	    crypto_sshsig_verify(theirs, len, "git", msg, sizeof(msg) - 1, pub),
	    0);
	ck_assert_int_eq(
	    crypto_sshsig_verify(theirs, len, "git", msg, sizeof(msg) - 2, pub),
	    CSIRT_ETAMPER);
	tu_rmrf(dir);
	crypto_signer_free(s);
	buf_free(&ours);
	buf_free(&crlf);
	buf_free(&out);
	free(theirs);
	free(pub);
	free(key);
	free(msg_path);
	free(sig_path);
	free(dir);
}
END_TEST

START_TEST(test_crypto_sshsig_rejects_forgery)
{
	struct crypto_signer *s = NULL, *other = NULL;
	struct buf sig = BUF_INIT;
	char *pub, *other_pub, *with_comment;
	char bad[sizeof(msg)];

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	ck_assert_int_eq(crypto_signer_generate(&other), 0);
	pub = crypto_signer_public(s);
	other_pub = crypto_signer_public(other);
	ck_assert_str_ne(pub, other_pub);
	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &sig), 0);

	/* The key may carry a comment, as in authorized_keys. */
	with_comment = util_xmalloc(strlen(pub) + 32);
	sprintf(with_comment, "%s  csirtd@host\n", pub);
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git", msg,
	                                      sizeof(msg) - 1, with_comment),
	                 0);

	for (size_t i = 0; i < sizeof(msg) - 1; i += 13) {
		memcpy(bad, msg, sizeof(msg));
		bad[i] ^= 0x20;
		ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git",
		                                      bad, sizeof(msg) - 1,
		                                      pub),
		                 CSIRT_ETAMPER);
	}
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git", msg,
	                                      sizeof(msg) - 1, other_pub),
	                 CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "another key"));
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "file", msg,
	                                      sizeof(msg) - 1, pub),
	                 CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "namespace"));
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "gi", msg,
	                                      sizeof(msg) - 1, pub),
	                 CSIRT_ETAMPER);
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "", msg,
	                                      sizeof(msg) - 1, pub),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(crypto_sshsig_sign(s, "", msg, 1, &sig), CSIRT_EINVAL);
	crypto_signer_free(s);
	crypto_signer_free(other);
	buf_free(&sig);
	free(pub);
	free(other_pub);
	free(with_comment);
}
END_TEST

/* Re-armours `blob` after `edit` and expects `want` from verify. */
static void
expect_blob(const struct buf *blob, const char *pub, int want, const char *what)
{
	struct buf text = BUF_INIT;
	int rc;

	armor(&text, SIG_BEGIN, SIG_END, blob->data, blob->len);
	rc = crypto_sshsig_verify(text.data, text.len, "git", msg,
	                          sizeof(msg) - 1, pub);
	ck_assert_msg(rc == want, "%s: got %d (%s), want %d", what, rc,
	              csirt_error_msg(), want);
	buf_free(&text);
}

START_TEST(test_crypto_sshsig_rejects_malformed)
{
	struct crypto_signer *s = NULL;
	struct buf sig = BUF_INIT, blob = BUF_INIT, edit = BUF_INIT,
	           text = BUF_INIT;
	char *pub;
	/* Offsets in the blob: "SSHSIG" version string(pubkey 51)
	 * string("git") string("") string("sha512") string(sig 83). */
	const size_t off_version = 6, off_key = 10, off_ns = 65, off_hash = 76,
	             off_sig = 86;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	pub = crypto_signer_public(s);
	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &sig), 0);
	dearmor(&blob, sig.data);
	ck_assert_uint_eq(blob.len, off_sig + 4 + 83);
	ck_assert_int_eq(memcmp(blob.data + off_hash + 4, "sha512", 6), 0);
	expect_blob(&blob, pub, 0, "re-armoured original");

	/* Every truncation of the armour. */
	for (size_t n = 0; n < sig.len; n++)
		ck_assert_msg(crypto_sshsig_verify(sig.data, n, "git", msg,
		                                   sizeof(msg) - 1,
		                                   pub) == CSIRT_EINVAL,
		              "accepted a signature cut at %zu", n);
	/* Garbled armour. */
	buf_puts(&text, sig.data);
	text.data[40] = '!';
	ck_assert_int_eq(crypto_sshsig_verify(text.data, text.len, "git", msg,
	                                      sizeof(msg) - 1, pub),
	                 CSIRT_EINVAL);
	buf_reset(&text);
	buf_printf(&text, "%s\ntrailing garbage\n", sig.data);
	ck_assert_int_eq(crypto_sshsig_verify(text.data, text.len, "git", msg,
	                                      sizeof(msg) - 1, pub),
	                 CSIRT_EINVAL);
	buf_reset(&text);
	buf_printf(&text, " %s", sig.data);
	ck_assert_int_eq(crypto_sshsig_verify(text.data, text.len, "git", msg,
	                                      sizeof(msg) - 1, pub),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(crypto_sshsig_verify(SIG_BEGIN "\n" SIG_END,
	                                      strlen(SIG_BEGIN "\n" SIG_END),
	                                      "git", msg, sizeof(msg) - 1, pub),
	                 CSIRT_EINVAL);
	/* Bytes outside the base64 alphabet anywhere in the body (the
	 * fuzz test found libsodium decoding some bytes >= 0x80 as digits). */
	for (size_t at = strlen(SIG_BEGIN) + 1;
	     at < sig.len - strlen(SIG_END) - 1; at++) {
		static const char stray[] = {'\x80', '\xbb', '\xc1', '\xff',
		                             ' ',    '-',    '\t'};
		if (sig.data[at] == '\n')
			continue;
		for (size_t k = 0; k < sizeof(stray); k++) {
			buf_reset(&text);
			buf_put(&text, sig.data, sig.len);
			text.data[at] = stray[k];
			ck_assert_msg(crypto_sshsig_verify(
			                  text.data, text.len, "git", msg,
			                  sizeof(msg) - 1, pub) == CSIRT_EINVAL,
			              "accepted byte %d at %zu", stray[k], at);
		}
	}
	/* An embedded NUL inside the base64. */
	buf_reset(&text);
	buf_put(&text, sig.data, sig.len);
	text.data[35] = '\0';
	ck_assert_int_eq(crypto_sshsig_verify(text.data, text.len, "git", msg,
	                                      sizeof(msg) - 1, pub),
	                 CSIRT_EINVAL);

	/* Absurd length fields, each in its own copy. */
	static const size_t len_fields[] = {10, 65, 72, 76, 86, 90, 105};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(len_fields); i++) {
		static const unsigned char huge[][4] = {
		    {0xff, 0xff, 0xff, 0xff},
		    {0x7f, 0xff, 0xff, 0xff},
		    {0x00, 0x00, 0x01, 0x00}};
		for (size_t h = 0; h < UTIL_ARRAY_LEN(huge); h++) {
			buf_reset(&edit);
			buf_put(&edit, blob.data, blob.len);
			memcpy(edit.data + len_fields[i], huge[h], 4);
			expect_blob(&edit, pub, CSIRT_EINVAL, "absurd length");
		}
	}
	/* Version 2. */
	buf_reset(&edit);
	buf_put(&edit, blob.data, blob.len);
	edit.data[off_version + 3] = 2;
	expect_blob(&edit, pub, CSIRT_EINVAL, "version 2");
	/* Not "SSHSIG". */
	edit.data[off_version + 3] = 1;
	edit.data[0] = 'X';
	expect_blob(&edit, pub, CSIRT_EINVAL, "magic");
	/* Unknown hash algorithm, same length. */
	buf_reset(&edit);
	buf_put(&edit, blob.data, blob.len);
	memcpy(edit.data + off_hash + 4, "sha999", 6);
	expect_blob(&edit, pub, CSIRT_EINVAL, "hash algorithm");
	/* A key type other than ed25519 (same length). */
	buf_reset(&edit);
	buf_put(&edit, blob.data, blob.len);
	memcpy(edit.data + off_key + 8, "ssh-ed44444", 11);
	expect_blob(&edit, pub, CSIRT_ETAMPER, "foreign key type");
	/* Signature type other than ed25519. */
	buf_reset(&edit);
	buf_put(&edit, blob.data, blob.len);
	edit.data[off_sig + 8] = 'x';
	expect_blob(&edit, pub, CSIRT_EINVAL, "signature type");
	/* Trailing byte. */
	buf_reset(&edit);
	buf_put(&edit, blob.data, blob.len);
	buf_putc(&edit, 0);
	expect_blob(&edit, pub, CSIRT_EINVAL, "trailing byte");
	/* A namespace byte changed: well-formed but not for "git". */
	buf_reset(&edit);
	buf_put(&edit, blob.data, blob.len);
	edit.data[off_ns + 4] = 'h';
	expect_blob(&edit, pub, CSIRT_ETAMPER, "namespace");
	/* A non-empty reserved field is ignored, as OpenSSH does. */
	buf_reset(&edit);
	buf_put(&edit, blob.data, off_ns + 7);
	buf_put(&edit, "\0\0\0\3abc", 7);
	buf_put(&edit, blob.data + off_ns + 11, blob.len - off_ns - 11);
	expect_blob(&edit, pub, 0, "reserved field");

	/* A malformed public key argument. */
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git", msg,
	                                      sizeof(msg) - 1,
	                                      "ssh-rsa AAAAB3NzaC1yc2E"),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git", msg,
	                                      sizeof(msg) - 1,
	                                      "ssh-ed25519 AAAA!!!"),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git", msg,
	                                      sizeof(msg) - 1, "ssh-ed25519"),
	                 CSIRT_EINVAL);
	crypto_signer_free(s);
	buf_free(&sig);
	buf_free(&blob);
	buf_free(&edit);
	buf_free(&text);
	free(pub);
}
END_TEST

START_TEST(test_crypto_sshsig_fuzz_flips)
{
	struct crypto_signer *s = NULL;
	struct buf sig = BUF_INIT, blob = BUF_INIT, edit = BUF_INIT,
	           text = BUF_INIT;
	uint32_t state = 0x2545f491;
	char *pub;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	pub = crypto_signer_public(s);
	ck_assert_int_eq(
	    crypto_sshsig_sign(s, "git", msg, sizeof(msg) - 1, &sig), 0);
	dearmor(&blob, sig.data);

	/* Any single changed byte of the decoded blob must be refused. */
	for (int i = 0; i < 400; i++) {
		size_t at = prng_next(&state) % blob.len;
		unsigned char x = (unsigned char)(prng_next(&state) % 255 + 1);
		int rc;
		buf_reset(&edit);
		buf_put(&edit, blob.data, blob.len);
		edit.data[at] = (char)(edit.data[at] ^ x);
		buf_reset(&text);
		armor(&text, SIG_BEGIN, SIG_END, edit.data, edit.len);
		rc = crypto_sshsig_verify(text.data, text.len, "git", msg,
		                          sizeof(msg) - 1, pub);
		ck_assert_msg(rc == CSIRT_EINVAL || rc == CSIRT_ETAMPER,
		              "blob byte %zu ^ %u: got %d", at, x, rc);
	}
	/* And any changed byte of the armour, except swapping one line
	 * break for another (\r is ignored, so that is the same text). */
	for (int i = 0; i < 400; i++) {
		size_t at = prng_next(&state) % sig.len;
		char c = (char)(prng_next(&state) % 256);
		int rc;
		if (c == sig.data[at] ||
		    ((c == '\r' || c == '\n') && sig.data[at] == '\n'))
			continue;
		buf_reset(&text);
		buf_put(&text, sig.data, sig.len);
		text.data[at] = c;
		rc = crypto_sshsig_verify(text.data, text.len, "git", msg,
		                          sizeof(msg) - 1, pub);
		ck_assert_msg(rc == CSIRT_EINVAL || rc == CSIRT_ETAMPER,
		              "armour byte %zu = %d: got %d", at, c, rc);
	}
	crypto_signer_free(s);
	buf_free(&sig);
	buf_free(&blob);
	buf_free(&edit);
	buf_free(&text);
	free(pub);
}
END_TEST

START_TEST(test_crypto_signer_save_load_roundtrip)
{
	struct crypto_signer *s = NULL, *loaded = NULL, *theirs = NULL;
	struct buf out = BUF_INIT, sig = BUF_INIT, want = BUF_INIT;
	char *dir = tu_tmpdir();
	char *key = util_path_join(dir, "ledger_key");
	char *key_pub = util_path_join(dir, "ledger_key.pub");
	char *ssh_key = util_path_join(dir, "ssh_key");
	char *ssh_key_pub = util_path_join(dir, "ssh_key.pub");
	char *pub, *loaded_pub, *theirs_pub, *text = NULL;
	const char *argv_y[] = {"ssh-keygen", "-y", "-f", key, NULL};
	const char *argv_gen[] = {
	    "ssh-keygen",         "-q", "-t",    "ed25519", "-N", "", "-C",
	    "made by ssh-keygen", "-f", ssh_key, NULL};
	struct stat st;
	size_t len;
	int status = -1;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	pub = crypto_signer_public(s);
	ck_assert_int_eq(crypto_signer_save(s, key, "csirtd ledger"), 0);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(key_pub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0022, 0);
	ck_assert_int_eq(util_read_file(&text, &len, key_pub, 4096), 0);
	buf_printf(&want, "%s csirtd ledger\n", pub);
	ck_assert_str_eq(text, want.data);
	free(text);
	ck_assert_int_eq(util_read_file(&text, &len, key, 4096), 0);
	ck_assert_int_eq(strncmp(text, KEY_BEGIN "\n", strlen(KEY_BEGIN) + 1),
	                 0);
	ck_assert_str_eq(text + len - strlen(KEY_END) - 1, KEY_END "\n");
	free(text);

	/* ssh-keygen reads the private key and derives the same public. */
	ck_assert_int_eq(tu_run(&out, &status, argv_y), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strncmp(out.data, pub, strlen(pub)) == 0,
	              "ssh-keygen -y: %s", out.data);

	ck_assert_int_eq(crypto_signer_load(&loaded, key), 0);
	loaded_pub = crypto_signer_public(loaded);
	ck_assert_str_eq(loaded_pub, pub);
	ck_assert_int_eq(
	    crypto_sshsig_sign(loaded, "git", msg, sizeof(msg) - 1, &sig), 0);
	ck_assert_int_eq(crypto_sshsig_verify(sig.data, sig.len, "git", msg,
	                                      sizeof(msg) - 1, pub),
	                 0);

	/* A key ssh-keygen generated loads too. */
	ck_assert_int_eq(tu_run(NULL, &status, argv_gen), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(crypto_signer_load(&theirs, ssh_key), 0);
	theirs_pub = crypto_signer_public(theirs);
	ck_assert_int_eq(util_read_file(&text, &len, ssh_key_pub, 4096), 0);
	buf_reset(&want);
	buf_printf(&want, "%s made by ssh-keygen\n", theirs_pub);
	ck_assert_str_eq(text, want.data);
	free(text);

	/* Comments must be one printable line. */
	ck_assert_int_eq(crypto_signer_save(s, key, "two\nlines"),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(crypto_signer_save(s, key, NULL), 0);
	ck_assert_int_eq(util_read_file(&text, &len, key_pub, 4096), 0);
	buf_reset(&want);
	buf_printf(&want, "%s\n", pub);
	ck_assert_str_eq(text, want.data);
	free(text);

	tu_rmrf(dir);
	crypto_signer_free(s);
	crypto_signer_free(loaded);
	crypto_signer_free(theirs);
	crypto_signer_free(NULL);
	buf_free(&out);
	buf_free(&sig);
	buf_free(&want);
	free(pub);
	free(loaded_pub);
	free(theirs_pub);
	free(key);
	free(key_pub);
	free(ssh_key);
	free(ssh_key_pub);
	free(dir);
}
END_TEST

/* Saves a fresh key to `path` and expects load to fail with `want` after
 * flipping byte `off` of the decoded file with `mask`. */
static void
expect_edited_key(const char *path, size_t off, unsigned char mask, int want,
                  const char *why)
{
	struct crypto_signer *s = NULL, *loaded = NULL;
	int rc;

	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	ck_assert_int_eq(crypto_signer_save(s, path, "csirtd-test"), 0);
	key_file_edit(path, off, mask);
	rc = crypto_signer_load(&loaded, path);
	ck_assert_msg(rc == want, "byte %zu: got %d (%s)", off, rc,
	              csirt_error_msg());
	ck_assert_ptr_null(loaded);
	ck_assert_msg(strstr(csirt_error_msg(), why) != NULL, "message: %s",
	              csirt_error_msg());
	crypto_signer_free(s);
}

START_TEST(test_crypto_signer_load_rejects_bad_files)
{
	struct crypto_signer *s = NULL, *loaded = NULL;
	char *dir = tu_tmpdir();
	char *key = util_path_join(dir, "key");
	char *other = util_path_join(dir, "other");
	char *missing = util_path_join(dir, "missing");
	char *text = NULL, *big;
	const char *argv_enc[] = {"ssh-keygen", "-q", "-t",  "ed25519", "-N",
	                          "passphrase", "-f", other, NULL};
	const char *argv_ecdsa[] = {"ssh-keygen", "-q", "-t",  "ecdsa", "-N",
	                            "",           "-f", other, NULL};
	size_t len;
	int status = -1;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	ck_assert_int_eq(crypto_signer_save(s, key, "csirtd-test"), 0);
	ck_assert_int_eq(crypto_signer_load(&loaded, key), 0);
	crypto_signer_free(loaded);
	loaded = NULL;

	/* Readable by others. */
	ck_assert_int_eq(chmod(key, 0644), 0);
	ck_assert_int_eq(crypto_signer_load(&loaded, key), CSIRT_EDENIED);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "group or others"));
	ck_assert_int_eq(chmod(key, 0640), 0);
	ck_assert_int_eq(crypto_signer_load(&loaded, key), CSIRT_EDENIED);
	ck_assert_int_eq(chmod(key, 0600), 0);
	ck_assert_int_eq(crypto_signer_load(&loaded, missing), CSIRT_ENOTFOUND);
	ck_assert_int_eq(crypto_signer_load(&loaded, dir), CSIRT_EINVAL);

	/* Truncated at many points. */
	ck_assert_int_eq(util_read_file(&text, &len, key, 65536), 0);
	for (size_t n = 0; n < len - 1; n += 7) {
		write_text(other, text, n, 0600);
		ck_assert_msg(crypto_signer_load(&loaded, other) ==
		                  CSIRT_EINVAL,
		              "accepted a key cut at %zu", n);
	}
	/* Garbage, and a file far too large. */
	write_text(other, "garbage\n", 8, 0600);
	ck_assert_int_eq(crypto_signer_load(&loaded, other), CSIRT_EINVAL);
	big = util_xcalloc(1, 20000);
	memset(big, 'A', 19999);
	write_text(other, big, 19999, 0600);
	ck_assert_int_eq(crypto_signer_load(&loaded, other), CSIRT_EINVAL);
	free(big);
	free(text);
	ck_assert_ptr_null(loaded);

	/* A real passphrase-protected key, and a crafted one. */
	unlink(other);
	ck_assert_int_eq(tu_run(NULL, &status, argv_enc), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(crypto_signer_load(&loaded, other), CSIRT_EINVAL);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "encrypted"));
	expect_edited_key(key, OFF_CIPHER, 0x01, CSIRT_EINVAL, "encrypted");
	/* Another key type. */
	unlink(other);
	ck_assert_int_eq(tu_run(NULL, &status, argv_ecdsa), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(crypto_signer_load(&loaded, other), CSIRT_EINVAL);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "ssh-ed25519"));

	/* Inconsistent contents. */
	expect_edited_key(key, OFF_CHECK2, 0x01, CSIRT_EINVAL, "check bytes");
	expect_edited_key(key, OFF_PRIV_PK + 3, 0x10, CSIRT_EINVAL,
	                  "does not match");
	expect_edited_key(key, OFF_PRIV_SEED, 0x10, CSIRT_EINVAL,
	                  "does not match");
	expect_edited_key(key, 35 + 3, 0x03, CSIRT_EINVAL, "keys");
	expect_edited_key(key, 94 + 2, 0x40, CSIRT_EINVAL, "private section");
	/* Padding: the section is 142 bytes + 1, 2; corrupt the last. */
	expect_edited_key(key, 98 + 143, 0x04, CSIRT_EINVAL, "padding");

	tu_rmrf(dir);
	crypto_signer_free(s);
	free(key);
	free(other);
	free(missing);
	free(dir);
}
END_TEST

static int
cmp_token(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

START_TEST(test_crypto_token_format)
{
	char(*tokens)[CRYPTO_TOKEN_LEN] = util_xcalloc(1000, CRYPTO_TOKEN_LEN);
	char hash[CRYPTO_SHA256_HEX_LEN], again[CRYPTO_SHA256_HEX_LEN];

	ck_assert_int_eq(crypto_init(), 0);
	for (int i = 0; i < 1000; i++) {
		crypto_token_new(tokens[i]);
		ck_assert_int_eq(strncmp(tokens[i], "csirt_", 6), 0);
		ck_assert_uint_eq(strlen(tokens[i]), 6 + 43);
		ck_assert_uint_eq(strspn(tokens[i] + 6,
		                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                         "abcdefghijklmnopqrstuvwxyz"
		                         "0123456789-_"),
		                  43);
	}
	qsort(tokens, 1000, CRYPTO_TOKEN_LEN, cmp_token);
	for (int i = 1; i < 1000; i++)
		ck_assert_str_ne(tokens[i - 1], tokens[i]);

	crypto_token_hash(hash, tokens[0]);
	crypto_token_hash(again, tokens[0]);
	ck_assert_uint_eq(strlen(hash), 64);
	ck_assert_uint_eq(strspn(hash, "0123456789abcdef"), 64);
	ck_assert_str_eq(hash, again);
	crypto_token_hash(again, tokens[1]);
	ck_assert_str_ne(hash, again);
	crypto_token_hash(hash, "abc");
	ck_assert_str_eq(hash, "ba7816bf8f01cfea414140de5dae2223"
	                       "b00361a396177a9cb410ff61f20015ad");
	free(tokens);
}
END_TEST

/* ---- encryption at rest (issue 6) */

/* Encrypts `len` bytes of `plain` under `key`, fed in pieces of `step`. */
static void
stream_seal(struct buf *out, const struct crypto_item_key *key,
            const unsigned char *plain, size_t len, size_t step)
{
	struct crypto_stream *s = NULL;

	ck_assert_int_eq(crypto_stream_enc_new(&s, key, out), 0);
	for (size_t at = 0; at < len; at += step)
		crypto_stream_enc_update(
		    s, plain + at, len - at < step ? len - at : step, out);
	crypto_stream_enc_final(s, out);
	ck_assert_uint_eq(crypto_stream_plain_len(s), len);
	crypto_stream_free(s);
}

/* Decrypts `len` bytes of ciphertext fed in pieces of `step`; returns the
 * first error (0 when the whole stream opened). */
static int
stream_open(struct buf *plain, const struct crypto_item_key *key,
            const void *cipher, size_t len, size_t step)
{
	const unsigned char *c = cipher;
	struct crypto_stream *s = NULL;
	int rc = 0;

	ck_assert_int_eq(crypto_stream_dec_new(&s, key), 0);
	for (size_t at = 0; rc == 0 && at < len; at += step)
		rc = crypto_stream_dec_update(
		    s, c + at, len - at < step ? len - at : step, plain);
	if (rc == 0)
		rc = crypto_stream_dec_final(s, plain);
	crypto_stream_free(s);
	return rc;
}

START_TEST(test_crypto_stream_roundtrip_sizes)
{
	static const size_t sizes[] = {0,
	                               1,
	                               CRYPTO_STREAM_FRAME - 1,
	                               CRYPTO_STREAM_FRAME,
	                               CRYPTO_STREAM_FRAME + 1,
	                               3 * CRYPTO_STREAM_FRAME + 12345};
	static const size_t steps[] = {1 << 20, 4096, 777};
	size_t max = 3 * CRYPTO_STREAM_FRAME + 12345;
	unsigned char *plain = util_xmalloc(max);
	struct crypto_item_key *key = NULL;
	uint32_t st = 42;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_item_key_new(&key), 0);
	for (size_t i = 0; i < max; i++)
		plain[i] = (unsigned char)prng_next(&st);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(sizes); i++) {
		for (size_t j = 0; j < UTIL_ARRAY_LEN(steps); j++) {
			struct buf c = BUF_INIT, p = BUF_INIT;

			stream_seal(&c, key, plain, sizes[i], steps[j]);
			ck_assert_uint_eq(c.len,
			                  crypto_stream_cipher_len(sizes[i]));
			/* Encrypted: the plaintext is not in there. */
			if (sizes[i] >= 64)
				ck_assert(
				    !tu_memfind(c.data, c.len, plain, 64));
			ck_assert_int_eq(stream_open(&p, key, c.data, c.len,
			                             steps[(j + 1) % 3]),
			                 0);
			ck_assert_uint_eq(p.len, sizes[i]);
			ck_assert(sizes[i] == 0 ||
			          memcmp(p.data, plain, sizes[i]) == 0);
			buf_free(&c);
			buf_free(&p);
		}
	}
	crypto_item_key_free(key);
	free(plain);
}
END_TEST

START_TEST(test_crypto_stream_rejects_tampering)
{
	size_t len = 2 * CRYPTO_STREAM_FRAME + 100;
	unsigned char *plain = util_xcalloc(1, len);
	struct crypto_item_key *key = NULL, *other = NULL;
	struct buf c = BUF_INIT, p = BUF_INIT, x = BUF_INIT;
	size_t full = CRYPTO_STREAM_FRAME + CRYPTO_STREAM_ABYTES;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_item_key_new(&key), 0);
	ck_assert_int_eq(crypto_item_key_new(&other), 0);
	stream_seal(&c, key, plain, len, 5000);

	/* One flipped bit anywhere: header, a middle frame, the last. */
	for (size_t at = 0; at < c.len; at += c.len / 7) {
		buf_reset(&x);
		buf_put(&x, c.data, c.len);
		x.data[at] ^= 0x01;
		buf_reset(&p);
		ck_assert_int_eq(stream_open(&p, key, x.data, x.len, 4096),
		                 CSIRT_ETAMPER);
	}
	/* Truncated at a frame boundary (the classic truncation attack):
	 * every frame authenticates but the FINAL tag is missing. */
	buf_reset(&p);
	ck_assert_int_eq(stream_open(&p, key, c.data,
	                             CRYPTO_STREAM_HEADER_LEN + 2 * full, 4096),
	                 CSIRT_ETAMPER);
	ck_assert(strstr(csirt_error_msg(), "truncated") != NULL);
	/* Truncated mid-frame, and nothing but the header. */
	buf_reset(&p);
	ck_assert_int_eq(stream_open(&p, key, c.data, c.len - 1, 4096),
	                 CSIRT_ETAMPER);
	buf_reset(&p);
	ck_assert_int_eq(
	    stream_open(&p, key, c.data, CRYPTO_STREAM_HEADER_LEN, 4096),
	    CSIRT_ETAMPER);
	/* Data after the final frame. */
	buf_reset(&x);
	buf_put(&x, c.data, c.len);
	buf_put(&x, "x", 1);
	buf_reset(&p);
	ck_assert_int_eq(stream_open(&p, key, x.data, x.len, 4096),
	                 CSIRT_ETAMPER);
	/* Another item's key. */
	buf_reset(&p);
	ck_assert_int_eq(stream_open(&p, other, c.data, c.len, 4096),
	                 CSIRT_ETAMPER);
	/* Frames swapped. */
	buf_reset(&x);
	buf_put(&x, c.data, CRYPTO_STREAM_HEADER_LEN);
	buf_put(&x, c.data + CRYPTO_STREAM_HEADER_LEN + full, full);
	buf_put(&x, c.data + CRYPTO_STREAM_HEADER_LEN, full);
	buf_put(&x, c.data + CRYPTO_STREAM_HEADER_LEN + 2 * full,
	        c.len - CRYPTO_STREAM_HEADER_LEN - 2 * full);
	buf_reset(&p);
	ck_assert_int_eq(stream_open(&p, key, x.data, x.len, 4096),
	                 CSIRT_ETAMPER);
	buf_free(&c);
	buf_free(&p);
	buf_free(&x);
	crypto_item_key_free(key);
	crypto_item_key_free(other);
	free(plain);
}
END_TEST

START_TEST(test_crypto_item_key_wrap)
{
	char *dir = tu_tmpdir();
	char *path = util_path_join(dir, "kek");
	struct crypto_kek *kek = NULL, *loaded = NULL, *other = NULL;
	struct crypto_item_key *key = NULL, *back = NULL;
	unsigned char w1[CRYPTO_WRAPPED_KEY_LEN], w2[CRYPTO_WRAPPED_KEY_LEN];
	struct buf c = BUF_INIT, p = BUF_INIT;
	static const char secret[] = "CANARY-wrap-roundtrip";
	struct stat st;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_kek_generate(&kek), 0);
	ck_assert_int_eq(crypto_kek_generate(&other), 0);
	ck_assert_int_eq(crypto_kek_save(kek, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(crypto_kek_load(&loaded, path), 0);

	ck_assert_int_eq(crypto_item_key_new(&key), 0);
	stream_seal(&c, key, (const unsigned char *)secret, strlen(secret), 7);
	crypto_item_key_wrap(w1, kek, key, "e1.v1");
	crypto_item_key_wrap(w2, kek, key, "e1.v1");
	/* A fresh nonce each time. */
	ck_assert(memcmp(w1, w2, sizeof(w1)) != 0);

	/* The reloaded KEK opens it, and the key decrypts the content. */
	ck_assert_int_eq(
	    crypto_item_key_unwrap(&back, loaded, "e1.v1", w1, sizeof(w1)), 0);
	ck_assert_int_eq(stream_open(&p, back, c.data, c.len, 3), 0);
	ck_assert_uint_eq(p.len, strlen(secret));
	ck_assert(memcmp(p.data, secret, p.len) == 0);
	crypto_item_key_free(back);
	back = NULL;

	/* Another item's id, another KEK, a flipped bit, a bad length or
	 * version: refused. */
	ck_assert_int_eq(
	    crypto_item_key_unwrap(&back, kek, "e2.v1", w1, sizeof(w1)),
	    CSIRT_ETAMPER);
	ck_assert_int_eq(
	    crypto_item_key_unwrap(&back, other, "e1.v1", w1, sizeof(w1)),
	    CSIRT_ETAMPER);
	w2[30] ^= 0x80;
	ck_assert_int_eq(
	    crypto_item_key_unwrap(&back, kek, "e1.v1", w2, sizeof(w2)),
	    CSIRT_ETAMPER);
	ck_assert_int_eq(
	    crypto_item_key_unwrap(&back, kek, "e1.v1", w1, sizeof(w1) - 1),
	    CSIRT_EINVAL);
	w1[0] = 9;
	ck_assert_int_eq(
	    crypto_item_key_unwrap(&back, kek, "e1.v1", w1, sizeof(w1)),
	    CSIRT_EINVAL);
	ck_assert_ptr_null(back);

	/* The KEK file: group-readable, garbage and absent are refused. */
	ck_assert_int_eq(chmod(path, 0640), 0);
	crypto_kek_free(loaded);
	ck_assert_int_eq(crypto_kek_load(&loaded, path), CSIRT_EDENIED);
	ck_assert_int_eq(
	    util_write_file_atomic(path, "csirtd-kek-v1 zz\n", 17, 0600), 0);
	ck_assert_int_eq(crypto_kek_load(&loaded, path), CSIRT_EINVAL);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(crypto_kek_load(&loaded, path), CSIRT_ENOTFOUND);
	ck_assert_ptr_null(loaded);

	buf_free(&c);
	buf_free(&p);
	crypto_item_key_free(key);
	crypto_kek_free(kek);
	crypto_kek_free(other);
	tu_rmrf(dir);
	free(path);
	free(dir);
}
END_TEST

Suite *
crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_crypto_sha256_vectors);
	tcase_add_test(tc, test_crypto_memcmp_and_wipe);
	tcase_add_test(tc, test_crypto_sshsig_verified_by_ssh_keygen);
	tcase_add_test(tc, test_crypto_sshsig_verifies_ssh_keygen_signature);
	tcase_add_test(tc, test_crypto_precomputed_nonces);
	tcase_add_test(tc, test_crypto_precomputed_nonces_not_after_fork);
	tcase_add_test(tc, test_crypto_sshsig_rejects_forgery);
	tcase_add_test(tc, test_crypto_sshsig_rejects_malformed);
	tcase_add_test(tc, test_crypto_sshsig_fuzz_flips);
	tcase_add_test(tc, test_crypto_signer_save_load_roundtrip);
	tcase_add_test(tc, test_crypto_signer_load_rejects_bad_files);
	tcase_add_test(tc, test_crypto_token_format);
	tcase_add_test(tc, test_crypto_stream_roundtrip_sizes);
	tcase_add_test(tc, test_crypto_stream_rejects_tampering);
	tcase_add_test(tc, test_crypto_item_key_wrap);
	suite_add_tcase(s, tc);
	return s;
}
