/*
 * fuzz_checkpoint.c - libFuzzer target: what csirt-audit and the daemon read
 * back about checkpoints (checkpoint.h, layout.h), all of it untrusted:
 *   - a signed checkpoint note (a file pinned by an auditor, or
 *     checkpoints/<size>.txt in a ledger) opened with checkpoint_open();
 *   - the saved Merkle frontier (DATA/checkpoint.frontier), merkle_load();
 *   - a checkpoint commit's message, layout_checkpoint_parse().
 * The whole input is tried as each.  Accepted frontiers and messages must
 * survive merkle_save() / layout_checkpoint_message() unchanged.  The key
 * is generated on the first call, which also checks that a note it signs
 * opens under it and not under another key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "crypto.h"
#include "error.h"
#include "fuzz.h"
#include "layout.h"
#include "util.h"

static char *fuzz_keys[2];

static void
fuzz_check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz: %s (%s)\n", what, csirt_error_msg());
		abort();
	}
}

static void
fuzz_init(void)
{
	struct crypto_signer *s = NULL, *other = NULL;
	struct checkpoint cp, got;
	struct buf note = BUF_INIT;

	fuzz_check(crypto_init() == 0, "crypto_init");
	fuzz_check(crypto_signer_generate(&s) == 0 &&
	               crypto_signer_generate(&other) == 0,
	           "crypto_signer_generate");
	fuzz_keys[0] = crypto_signer_public(s);
	fuzz_keys[1] = crypto_signer_public(other);
	memset(&cp, 0, sizeof(cp));
	checkpoint_origin(cp.origin, fuzz_keys[0]);
	cp.size = 1000;
	memset(cp.head, 'a', LEDGER_OID_HEX - 1);
	fuzz_check(checkpoint_sign(&note, &cp, s) == 0, "checkpoint_sign");
	fuzz_check(checkpoint_open(&got, note.data, note.len, fuzz_keys, 1) ==
	                   0 &&
	               got.size == 1000,
	           "own checkpoint does not open");
	fuzz_check(checkpoint_open(&got, note.data, note.len, fuzz_keys + 1,
	                           1) == CSIRT_ETAMPER,
	           "own checkpoint opens under another key");
	buf_free(&note);
	crypto_signer_free(s);
	crypto_signer_free(other);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct checkpoint cp;
	struct merkle m, m2;
	struct buf b = BUF_INIT;
	char commit[LEDGER_OID_HEX], commit2[LEDGER_OID_HEX];
	uint64_t n = 0, n2 = 0;
	char *text;

	if (!init) {
		fuzz_init();
		init = 1;
	}
	(void)checkpoint_open(&cp, (const char *)data, size, fuzz_keys, 2);

	text = util_xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (merkle_load(&m, commit, text) == 0) {
		merkle_save(&b, &m, commit);
		fuzz_check(merkle_load(&m2, commit2, b.data) == 0 &&
		               m2.size == m.size &&
		               strcmp(commit, commit2) == 0 &&
		               memcmp(m.node, m2.node, sizeof(m.node)) == 0,
		           "frontier does not survive merkle_save()");
		buf_reset(&b);
	}
	if (layout_checkpoint_parse(&n, text) == 0) {
		layout_checkpoint_message(&b, n);
		fuzz_check(layout_checkpoint_parse(&n2, b.data) == 0 && n2 == n,
		           "checkpoint message does not survive "
		           "layout_checkpoint_message()");
	}
	buf_free(&b);
	free(text);
	return 0;
}
