/*
 * fuzz_sshsig.c - libFuzzer target: an armoured SSH signature (SSHSIG, as
 * git stores it in a commit's gpgsig header) checked with
 * crypto_sshsig_verify(), as auditors' tools and the ledger verify commits.
 *
 * The input is the armour; the message, namespace and key are fixed.  The
 * key is the public half of the ssh-keygen key that signed the committed
 * seeds (corpus/fuzz_sshsig/), so a seed verifies and every branch up to a
 * good signature is reachable, deterministically.  The first call also
 * signs with a freshly generated key and checks that our own signature
 * verifies under it and not under the fixed key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "error.h"
#include "fuzz.h"
#include "util.h"

#define FUZZ_NAMESPACE "git"

/* The bytes the seeds sign (a commit without its signature). */
static const char fuzz_msg[] =
    "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    "author csirtd <csirtd@localhost> 1767225600 +0000\n"
    "committer csirtd <csirtd@localhost> 1767225600 +0000\n"
    "\n"
    "fuzz\n";

static const char fuzz_key[] = "ssh-ed25519 "
                               "AAAAC3NzaC1lZDI1NTE5AAAAIO6DD0OHmDK7krDsxWFa5T"
                               "CyuYsHw5A31taFCR2gV6ZR fuzz";

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
	struct crypto_signer *s = NULL;
	struct buf sig = BUF_INIT;
	char *pub;

	fuzz_check(crypto_init() == 0, "crypto_init");
	fuzz_check(crypto_signer_generate(&s) == 0, "crypto_signer_generate");
	pub = crypto_signer_public(s);
	fuzz_check(crypto_sshsig_sign(s, FUZZ_NAMESPACE, fuzz_msg,
	                              sizeof(fuzz_msg) - 1, &sig) == 0,
	           "crypto_sshsig_sign");
	fuzz_check(crypto_sshsig_verify(sig.data, sig.len, FUZZ_NAMESPACE,
	                                fuzz_msg, sizeof(fuzz_msg) - 1,
	                                pub) == 0,
	           "our signature does not verify");
	fuzz_check(crypto_sshsig_verify(sig.data, sig.len, FUZZ_NAMESPACE,
	                                fuzz_msg, sizeof(fuzz_msg) - 1,
	                                fuzz_key) == CSIRT_ETAMPER,
	           "our signature verifies under another key");
	buf_free(&sig);
	free(pub);
	crypto_signer_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	int rc;

	if (!ready) {
		fuzz_init();
		ready = 1;
	}
	rc = crypto_sshsig_verify((const char *)data, size, FUZZ_NAMESPACE,
	                          fuzz_msg, sizeof(fuzz_msg) - 1, fuzz_key);
	if (rc != 0 && rc != CSIRT_ETAMPER && rc != CSIRT_EINVAL)
		fuzz_check(0, "crypto_sshsig_verify: unexpected result");
	return 0;
}
