/*
 * checkpoint.c - the Merkle tree of the ledger's events and the signed
 * checkpoint note (see checkpoint.h).
 *
 * Pure computation over bytes handed in: no I/O, no clock.  The writer
 * feeds the tree and commits the notes; csirt-audit recomputes the tree
 * from the repository and opens the notes.  Parsing is strict, because a
 * checkpoint is pinned by auditors and fed back to us as untrusted input.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"

#define EM_DASH "\xe2\x80\x94"
#define CHECKPOINT_SIGS_MAX 16

static void
merkle_node(unsigned char out[MERKLE_HASH_LEN],
            const unsigned char left[MERKLE_HASH_LEN],
            const unsigned char right[MERKLE_HASH_LEN])
{
	unsigned char in[1 + 2 * MERKLE_HASH_LEN];

	in[0] = 0x01;
	memcpy(in + 1, left, MERKLE_HASH_LEN);
	memcpy(in + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	crypto_sha256(out, in, sizeof(in));
}

void
merkle_init(struct merkle *m)
{
	memset(m, 0, sizeof(*m));
}

void
merkle_append(struct merkle *m, const void *data, size_t len)
{
	unsigned char h[MERKLE_HASH_LEN];
	struct crypto_sha256_ctx *ctx = crypto_sha256_new();
	const unsigned char zero = 0x00;
	unsigned i = 0;

	crypto_sha256_update(ctx, &zero, 1);
	crypto_sha256_update(ctx, data, len);
	crypto_sha256_final(ctx, h);
	/* Each set low bit is a complete left sibling: merge upwards, as a
	 * binary counter carries. */
	for (; m->size & ((uint64_t)1 << i); i++)
		merkle_node(h, m->node[i], h);
	memcpy(m->node[i], h, MERKLE_HASH_LEN);
	m->size++;
}

/* Decodes 64 lowercase hex digits (exactly) into 32 bytes. */
static bool
hex32(unsigned char out[MERKLE_HASH_LEN], const char *hex)
{
	if (hex == NULL || strlen(hex) != 2 * MERKLE_HASH_LEN ||
	    strspn(hex, "0123456789abcdef") != 2 * MERKLE_HASH_LEN)
		return false;
	for (size_t i = 0; i < MERKLE_HASH_LEN; i++) {
		int hi = hex[2 * i], lo = hex[2 * i + 1];
		hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

int
merkle_append_sha256_hex(struct merkle *m, const char *hex)
{
	unsigned char raw[MERKLE_HASH_LEN];

	if (!hex32(raw, hex))
		return csirt_error_set(CSIRT_EINVAL,
		                       "\"%.64s\" is not a SHA-256 in hex",
		                       hex ? hex : "");
	merkle_append(m, raw, sizeof(raw));
	return 0;
}

void
merkle_root(const struct merkle *m, unsigned char out[MERKLE_HASH_LEN])
{
	unsigned char r[MERKLE_HASH_LEN];
	bool have = false;

	if (m->size == 0) {
		crypto_sha256(out, "", 0);
		return;
	}
	/* RFC 6962 splits at the largest power of two below n, so the
	 * smallest subtree is the rightmost leaf group and each larger one
	 * is a left child of what is folded so far. */
	for (unsigned i = 0; i < 64; i++) {
		if (!(m->size & ((uint64_t)1 << i)))
			continue;
		if (!have) {
			memcpy(r, m->node[i], MERKLE_HASH_LEN);
			have = true;
		} else {
			merkle_node(r, m->node[i], r);
		}
	}
	memcpy(out, r, MERKLE_HASH_LEN);
}

void
merkle_save(struct buf *out, const struct merkle *m, const char *commit)
{
	char hex[2 * MERKLE_HASH_LEN + 1];

	buf_printf(out,
	           "csirtd merkle frontier 1\nsize %" PRIu64 "\ncommit %s\n",
	           m->size, commit);
	for (unsigned i = 0; i < 64; i++) {
		if (!(m->size & ((uint64_t)1 << i)))
			continue;
		util_hex(hex, m->node[i], MERKLE_HASH_LEN);
		buf_printf(out, "node %u %s\n", i, hex);
	}
}

int
merkle_load(struct merkle *m, char commit[LEDGER_OID_HEX], const char *text)
{
	const char *p = text;
	unsigned long long size = 0;
	int n = 0;

	merkle_init(m);
	if (sscanf(
	        p,
	        "csirtd merkle frontier 1\nsize %llu\ncommit %40[0-9a-f]\n%n",
	        &size, commit, &n) != 2 ||
	    n == 0 || strlen(commit) != LEDGER_OID_HEX - 1)
		goto bad;
	p += n;
	m->size = size;
	for (unsigned i = 0; i < 64; i++) {
		unsigned idx = 0;
		char hex[2 * MERKLE_HASH_LEN + 1];
		if (!(m->size & ((uint64_t)1 << i)))
			continue;
		n = 0;
		if (sscanf(p, "node %u %64[0-9a-f]\n%n", &idx, hex, &n) != 2 ||
		    n == 0 || idx != i || !hex32(m->node[i], hex))
			goto bad;
		p += n;
	}
	if (*p != '\0')
		goto bad;
	return 0;
bad:
	merkle_init(m);
	return csirt_error_set(CSIRT_EINVAL, "malformed Merkle frontier");
}

void
checkpoint_origin(char out[CHECKPOINT_ORIGIN_MAX], const char *public_key)
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	size_t n = strcspn(public_key, " \t");

	/* The key without its comment: "ssh-ed25519 AAAA...". */
	n += strspn(public_key + n, " \t");
	n += strcspn(public_key + n, " \t\r\n");
	crypto_sha256_hex(hex, public_key, n);
	snprintf(out, CHECKPOINT_ORIGIN_MAX, "csirtd/%.16s", hex);
}

/* The note text: every line before the blank line. */
static void
checkpoint_text(struct buf *out, const struct checkpoint *cp)
{
	buf_printf(out, "%s\n%" PRIu64 "\n", cp->origin, cp->size);
	crypto_base64_encode(out, cp->root, MERKLE_HASH_LEN);
	buf_printf(out, "\nhead %s\n", cp->head);
}

int
checkpoint_sign(struct buf *out, const struct checkpoint *cp,
                const struct crypto_signer *s)
{
	struct buf text = BUF_INIT;
	int rc;

	checkpoint_text(&text, cp);
	buf_put(out, text.data, text.len);
	buf_printf(out, "\n" EM_DASH " %s ", cp->origin);
	rc = crypto_note_sign(s, cp->origin, text.data, text.len, out);
	buf_putc(out, '\n');
	buf_free(&text);
	return rc;
}

static bool
is_hex40(const char *p, size_t n)
{
	return n == LEDGER_OID_HEX - 1 &&
	       strspn(p, "0123456789abcdef") >= LEDGER_OID_HEX - 1;
}

/* One line of [p, end): its length, and *next past its '\n'.  -1 when
 * there is no '\n'. */
static long
line_of(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL)
		return -1;
	*next = nl + 1;
	return nl - p;
}

#define BAD(...)                                                               \
	do {                                                                   \
		rc =                                                           \
		    csirt_error_set(CSIRT_EINVAL, "checkpoint: " __VA_ARGS__); \
		goto done;                                                     \
	} while (0)

int
checkpoint_open(struct checkpoint *out, const char *note, size_t len,
                char *const *keys, size_t nkeys)
{
	const char *p = note, *end = note + len, *next = NULL, *text_end;
	unsigned char root[MERKLE_HASH_LEN + 1];
	size_t rlen = 0, nsigs = 0;
	char num[24];
	char *e;
	long n;
	int rc = 0;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > CHECKPOINT_TEXT_MAX || memchr(note, '\0', len))
		BAD("empty, over %d bytes or binary", CHECKPOINT_TEXT_MAX);
	if (!util_utf8_valid(note, len))
		BAD("not UTF-8");
	/* origin */
	if ((n = line_of(p, end, &next)) <= 0 ||
	    (size_t)n >= sizeof(out->origin))
		BAD("line 1 must be the origin");
	memcpy(out->origin, p, (size_t)n);
	p = next;
	/* size: decimal, no leading zero */
	if ((n = line_of(p, end, &next)) <= 0 || (size_t)n >= sizeof(num) ||
	    (p[0] == '0' && n > 1) || strspn(p, "0123456789") != (size_t)n)
		BAD("line 2 must be the tree size");
	memcpy(num, p, (size_t)n);
	num[n] = '\0';
	out->size = strtoull(num, &e, 10);
	p = next;
	/* root */
	if ((n = line_of(p, end, &next)) <= 0 ||
	    crypto_base64_decode(root, sizeof(root), &rlen, p, (size_t)n) !=
	        0 ||
	    rlen != MERKLE_HASH_LEN)
		BAD("line 3 must be the base64 of a 32-byte root hash");
	memcpy(out->root, root, MERKLE_HASH_LEN);
	p = next;
	/* head */
	if ((n = line_of(p, end, &next)) < 5 || strncmp(p, "head ", 5) != 0 ||
	    !is_hex40(p + 5, (size_t)n - 5))
		BAD("line 4 must be \"head\" and a commit id");
	memcpy(out->head, p + 5, LEDGER_OID_HEX - 1);
	p = next;
	text_end = p;
	if ((n = line_of(p, end, &next)) != 0)
		BAD("the text must end after the head line, then a blank "
		    "line");
	p = next;
	/* signatures: "— NAME BASE64" */
	for (; p < end; p = next) {
		const char *name, *sp, *b64;
		char key_name[CHECKPOINT_ORIGIN_MAX];
		if ((n = line_of(p, end, &next)) < 0)
			BAD("a signature line lacks its newline");
		if (++nsigs > CHECKPOINT_SIGS_MAX)
			BAD("more than %d signatures", CHECKPOINT_SIGS_MAX);
		if ((size_t)n < strlen(EM_DASH " ") ||
		    strncmp(p, EM_DASH " ", strlen(EM_DASH " ")) != 0)
			BAD("a signature line must start with \"" EM_DASH
			    " \"");
		name = p + strlen(EM_DASH " ");
		sp = memchr(name, ' ', (size_t)(p + n - name));
		if (sp == NULL || sp == name)
			BAD("a signature line must be \"" EM_DASH
			    " NAME SIGNATURE\"");
		b64 = sp + 1;
		if ((size_t)(sp - name) != strlen(out->origin) ||
		    memcmp(name, out->origin, (size_t)(sp - name)) != 0)
			continue; /* a cosigner's: not ours to check */
		snprintf(key_name, sizeof(key_name), "%s", out->origin);
		for (size_t k = 0; k < nkeys && !ok; k++)
			ok = crypto_note_verify(
			         key_name, b64, (size_t)(p + n - b64), note,
			         (size_t)(text_end - note), keys[k]) == 0;
	}
	if (nsigs == 0)
		BAD("no signature line");
	if (!ok) {
		rc = csirt_error_set(CSIRT_ETAMPER,
		                     "checkpoint: no valid signature by an "
		                     "allowed key (origin %s)",
		                     out->origin);
		goto done;
	}
	rc = 0;
done:
	return rc;
}
