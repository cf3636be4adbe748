/*
 * check_checkpoint.c - signed checkpoints: the RFC 6962 Merkle tree against
 * Certificate Transparency's known answers, the signed note against Go's
 * golang.org/x/mod/sumdb/note known answer, checkpoints written by the
 * writer (by count and, with a fake clock, by time) and by the real daemon,
 * and `csirt-audit verify --checkpoint` against a pinned checkpoint: it
 * holds after more events, and fails for a rolled-back or rewritten
 * history (re-signed with the real key) and for a forged signature.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"
#include "checkpoint.h"
#include "clock.h"
#include "crypto.h"
#include "datadir.h"
#include "error.h"
#include "fixtures.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"
#include "writer.h"

/* ---- known answers -------------------------------------------------- */

static void
unhex(unsigned char *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i] != '\0'; i++) {
		unsigned v = 0;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

/* certificate-transparency, testonly/constants.go: the leaves and the
 * roots of the trees of their first 1..8 leaves (RFC 6962 hashing). */
static const char *const ct_leaves[] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const ct_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

START_TEST(test_checkpoint_merkle_rfc6962_vectors)
{
	struct merkle m;
	unsigned char root[MERKLE_HASH_LEN], want[MERKLE_HASH_LEN];

	merkle_init(&m);
	merkle_root(&m, root);
	unhex(want, ct_roots[0]);
	ck_assert_mem_eq(root, want, sizeof(want));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(ct_leaves); i++) {
		unsigned char leaf[32];
		size_t n = strlen(ct_leaves[i]) / 2;
		unhex(leaf, ct_leaves[i]);
		merkle_append(&m, leaf, n);
		merkle_root(&m, root);
		unhex(want, ct_roots[i + 1]);
		ck_assert_msg(memcmp(root, want, sizeof(want)) == 0,
		              "root of %zu leaves", i + 1);
	}
	ck_assert_uint_eq(m.size, 8);
	/* Event hashes are appended from their hex. */
	ck_assert_int_eq(merkle_append_sha256_hex(&m, ct_roots[1]), 0);
	ck_assert_int_eq(merkle_append_sha256_hex(&m, "00ff"), CSIRT_EINVAL);
	ck_assert_int_eq(merkle_append_sha256_hex(&m, ct_roots[1] + 1),
	                 CSIRT_EINVAL);
	ck_assert_uint_eq(m.size, 9);
}
END_TEST

/* golang.org/x/mod/sumdb/note, example of Open: verifier key
 * PeterNeumann+c74f20a3+ARpc2Q... over a two-line text. */
#define GO_VKEY_B64 "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_TEXT                                                                \
	"If you think cryptography is the answer to your problem,\n"           \
	"then you don't know what your problem is.\n"
#define GO_SIG                                                                 \
	"x08go/ZJkuBS9UG/"                                                     \
	"SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"                \
	"dngotpRZb6KE6RyyBwJnAM="

/* "ssh-ed25519 AAAA..." of a raw ed25519 public key. */
static char *
ssh_public(const unsigned char pk[32])
{
	struct buf blob = BUF_INIT, out = BUF_INIT;
	static const unsigned char name_len[4] = {0, 0, 0, 11};
	static const unsigned char key_len[4] = {0, 0, 0, 32};

	buf_put(&blob, name_len, 4);
	buf_puts(&blob, "ssh-ed25519");
	buf_put(&blob, key_len, 4);
	buf_put(&blob, pk, 32);
	buf_puts(&out, "ssh-ed25519 ");
	crypto_base64_encode(&out, blob.data, blob.len);
	buf_free(&blob);
	return buf_detach(&out);
}

START_TEST(test_checkpoint_note_go_known_answer)
{
	unsigned char vkey[40];
	size_t n = 0;
	char *pub, *text = util_strdup(GO_TEXT);

	ck_assert_int_eq(crypto_base64_decode(vkey, sizeof(vkey), &n,
	                                      GO_VKEY_B64, strlen(GO_VKEY_B64)),
	                 0);
	ck_assert_uint_eq(n, 33);
	ck_assert_uint_eq(vkey[0], 0x01); /* Ed25519 */
	pub = ssh_public(vkey + 1);
	ck_assert_int_eq(crypto_note_verify("PeterNeumann", GO_SIG,
	                                    strlen(GO_SIG), text, strlen(text),
	                                    pub),
	                 0);
	/* Another name gives another key id; another text fails. */
	ck_assert_int_eq(crypto_note_verify("PeterNeumanm", GO_SIG,
	                                    strlen(GO_SIG), text, strlen(text),
	                                    pub),
	                 CSIRT_ENOTFOUND);
	text[3] ^= 1;
	ck_assert_int_eq(crypto_note_verify("PeterNeumann", GO_SIG,
	                                    strlen(GO_SIG), text, strlen(text),
	                                    pub),
	                 CSIRT_ETAMPER);
	free(text);
	free(pub);
}
END_TEST

START_TEST(test_checkpoint_note_roundtrip_and_forgeries)
{
	struct crypto_signer *s = NULL, *other = NULL;
	struct checkpoint cp, got;
	struct buf note = BUF_INIT, bad = BUF_INIT;
	char *keys[2];
	char *p;

	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(crypto_signer_generate(&s), 0);
	ck_assert_int_eq(crypto_signer_generate(&other), 0);
	keys[0] = crypto_signer_public(s);
	keys[1] = crypto_signer_public(other);
	memset(&cp, 0, sizeof(cp));
	checkpoint_origin(cp.origin, keys[0]);
	ck_assert_int_eq(strncmp(cp.origin, "csirtd/", 7), 0);
	ck_assert_uint_eq(strlen(cp.origin), 7 + 16);
	cp.size = 1234;
	unhex(cp.root, ct_roots[8]);
	memset(cp.head, 'a', 40);
	ck_assert_int_eq(checkpoint_sign(&note, &cp, s), 0);

	/* The C2SP layout, byte for byte up to the signature. */
	buf_printf(&bad,
	           "%s\n1234\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
	           "head %s\n\n\xe2\x80\x94 %s ",
	           cp.origin, cp.head, cp.origin);
	ck_assert_int_eq(strncmp(note.data, bad.data, bad.len), 0);
	ck_assert_int_eq(note.data[note.len - 1], '\n');

	ck_assert_int_eq(checkpoint_open(&got, note.data, note.len, keys, 1),
	                 0);
	ck_assert_uint_eq(got.size, 1234);
	ck_assert_mem_eq(got.root, cp.root, MERKLE_HASH_LEN);
	ck_assert_str_eq(got.head, cp.head);
	/* Only the other key allowed: refused. */
	ck_assert_int_eq(
	    checkpoint_open(&got, note.data, note.len, keys + 1, 1),
	    CSIRT_ETAMPER);
	/* A changed size under the same signature: refused. */
	buf_reset(&bad);
	buf_put(&bad, note.data, note.len);
	p = strstr(bad.data, "\n1234\n");
	p[4] = '5';
	ck_assert_int_eq(checkpoint_open(&got, bad.data, bad.len, keys, 2),
	                 CSIRT_ETAMPER);
	/* Signed by the other key under our origin: refused. */
	buf_reset(&bad);
	ck_assert_int_eq(checkpoint_sign(&bad, &cp, other), 0);
	ck_assert_int_eq(checkpoint_open(&got, bad.data, bad.len, keys, 1),
	                 CSIRT_ETAMPER);
	/* Malformed: no signature, trailing garbage, a short root. */
	ck_assert_int_eq(
	    checkpoint_open(&got, note.data,
	                    (size_t)(strstr(note.data, "\n\n") - note.data) + 2,
	                    keys, 1),
	    CSIRT_EINVAL);
	buf_reset(&bad);
	buf_put(&bad, note.data, note.len);
	buf_puts(&bad, "junk");
	ck_assert_int_eq(checkpoint_open(&got, bad.data, bad.len, keys, 1),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(
	    checkpoint_open(&got, "o\n1\nAAAA\nhead x\n\n", 17, keys, 1),
	    CSIRT_EINVAL);
	ck_assert_int_eq(checkpoint_open(&got, "", 0, keys, 1), CSIRT_EINVAL);
	free(keys[0]);
	free(keys[1]);
	crypto_signer_free(s);
	crypto_signer_free(other);
	buf_free(&note);
	buf_free(&bad);
}
END_TEST

/* ---- the writer ------------------------------------------------------ */

/* Adds `n` division events (one commit each). */
static void
add_events(struct fx_env *e, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char code[16];
		snprintf(code, sizeof(code), "x%d", i);
		ck_assert_int_eq(
		    fx_submit(e->w, fx_division(code, "課"), NULL, NULL, NULL),
		    0);
	}
}

/* The sizes of the checkpoint commits, newest first, space-separated. */
static char *
checkpoint_sizes(struct fx_env *e)
{
	struct buf out = BUF_INIT;

	ck_assert_int_eq(
	    tu_sh(&out,
	          "git -C '%s' log --format=%%b ledger | "
	          "sed -n 's/^Checkpoint-Size: //p' | tr '\\n' ' '",
	          e->repo),
	    0);
	return buf_detach(&out);
}

/* Opens the data directory with checkpoints every `every` events or
 * `interval_s` seconds of the fake clock `fc`. */
static void
open_with_checkpoints(struct fx_env *e, struct fx_clock *fc, uint64_t every,
                      uint64_t interval_s)
{
	char *frontier = util_path_join(e->data, "checkpoint.frontier");

	fx_env_open(e);
	writer_set_clock(e->w, &fc->clk);
	ck_assert_msg(writer_set_checkpoints(e->w, e->dd->signer, every,
	                                     interval_s, frontier) == 0,
	              "%s", csirt_error_msg());
	free(frontier);
}

START_TEST(test_checkpoint_written_by_count_and_verified)
{
	struct fx_env e;
	struct fx_clock fc;
	struct buf out = BUF_INIT;
	struct writer_stats st;
	char *sizes;

	fx_clock_init(&fc, util_time_now_ms());
	fx_env_init(&e);
	open_with_checkpoints(&e, &fc, 3, 0);
	/* Seq 1 is the init's; seq 2..8 here: checkpoints of 3 and 6. */
	add_events(&e, 0, 7);
	writer_get_stats(e.w, &st);
	ck_assert_uint_eq(st.checkpoints, 2);
	ck_assert_uint_eq(st.checkpoint_size, 6);
	fx_env_close(&e);
	sizes = checkpoint_sizes(&e);
	ck_assert_str_eq(sizes, "6 3 ");
	free(sizes);
	/* Each adds only its note, which stock git shows. */
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' show --format= --name-status "
	                       "ledger~2",
	                       e.repo),
	                 0);
	ck_assert_str_eq(out.data, "A\tcheckpoints/0000000006.txt\n");
	ck_assert_msg(fx_audit(&out, &e, "verify", "") == 0, "%s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "verified 8 events in 10 "
	                                       "commits"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "verified 2 signed checkpoints"));
	ck_assert_msg(fx_audit(&out, &e, "checkpoint", "") == 0, "%s",
	              out.data);
	ck_assert_int_eq(strncmp(out.data, "csirtd/", 7), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\n6\n"));

	/* Restart: the tree is rebuilt from the ledger and the index replay
	 * steps over checkpoint commits; the next checkpoint still
	 * verifies. */
	ck_assert_int_eq(tu_sh(&out, "rm -f '%s'/index.sqlite*", e.data), 0);
	open_with_checkpoints(&e, &fc, 3, 0);
	ck_assert_uint_eq(writer_last_seq(e.w), 8);
	add_events(&e, 10, 3);
	fx_env_close(&e);
	sizes = checkpoint_sizes(&e);
	ck_assert_str_eq(sizes, "9 6 3 ");
	free(sizes);
	{
		struct buf args = BUF_INIT;
		buf_printf(&args, "--index '%s/index.sqlite'", e.data);
		ck_assert_msg(fx_audit(&out, &e, "verify", args.data) == 0,
		              "%s", out.data);
		buf_free(&args);
	}
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

/* The first line after the header of the saved frontier: "size N". */
static void
assert_frontier_size(const char *frontier, const char *want)
{
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(util_read_file(&text, &len, frontier, 8192), 0);
	ck_assert_msg(strncmp(text, "csirtd merkle frontier 1\n", 25) == 0 &&
	                  strncmp(text + 25, want, strlen(want)) == 0 &&
	                  text[25 + strlen(want)] == '\n',
	              "want %s: %s", want, text);
	free(text);
}

/* The frontier is saved at the first checkpoint, then once in
 * WRITER_FRONTIER_EVERY events (not at every checkpoint: an atomic write
 * with two fsyncs on the writer), and at the writer's stop; a restart
 * that had to walk the ledger saves what it found at its stop. */
START_TEST(test_checkpoint_frontier_saved_sparingly)
{
	struct fx_env e;
	struct fx_clock fc;
	struct buf out = BUF_INIT;
	char *frontier;

	fx_clock_init(&fc, util_time_now_ms());
	fx_env_init(&e);
	frontier = util_path_join(e.data, "checkpoint.frontier");
	open_with_checkpoints(&e, &fc, 3, 0);
	add_events(&e, 0, 8); /* checkpoints of 3, 6 and 9 */
	assert_frontier_size(frontier, "size 3");
	fx_env_close(&e);
	assert_frontier_size(frontier, "size 9");
	/* Resumed from 9: nothing to save until the stop. */
	open_with_checkpoints(&e, &fc, 3, 0);
	add_events(&e, 10, 3);
	assert_frontier_size(frontier, "size 9");
	fx_env_close(&e);
	assert_frontier_size(frontier, "size 12");
	/* Without one, the walk's newest checkpoint is saved at the stop. */
	ck_assert_int_eq(unlink(frontier), 0);
	open_with_checkpoints(&e, &fc, 3, 0);
	fx_env_close(&e);
	assert_frontier_size(frontier, "size 12");
	ck_assert_msg(fx_audit(&out, &e, "verify", "") == 0, "%s", out.data);
	buf_free(&out);
	free(frontier);
	fx_env_free(&e);
}
END_TEST

/* The saved frontier lets a restart skip the ledger walk; a damaged one
 * is detected against the signed checkpoint and the walk is done
 * instead.  Either way the next checkpoint verifies (rule 9 recomputes
 * the root from the events). */
START_TEST(test_checkpoint_frontier_resume_and_damage)
{
	struct fx_env e;
	struct fx_clock fc;
	struct buf out = BUF_INIT;
	char *sizes, *frontier;
	char *text = NULL;
	size_t len = 0;

	fx_clock_init(&fc, util_time_now_ms());
	fx_env_init(&e);
	frontier = util_path_join(e.data, "checkpoint.frontier");
	open_with_checkpoints(&e, &fc, 3, 0);
	add_events(&e, 0, 5); /* checkpoint of 3, then 6 */
	fx_env_close(&e);
	ck_assert_int_eq(util_read_file(&text, &len, frontier, 8192), 0);
	ck_assert_int_eq(
	    strncmp(text, "csirtd merkle frontier 1\nsize 6\n", 32), 0);
	free(text);
	text = NULL;
	/* Resumed: one more checkpoint (of 9) on top. */
	open_with_checkpoints(&e, &fc, 3, 0);
	add_events(&e, 10, 3);
	fx_env_close(&e);
	/* Damaged: one hex digit of a node changed. */
	ck_assert_int_eq(tu_sh(&out,
	                       "sed -i '$s/node \\([0-9]*\\) 0/node \\1 1/;"
	                       "t;$s/node \\([0-9]*\\) ./node \\1 0/' '%s'",
	                       frontier),
	                 0);
	ck_assert_int_eq(util_read_file(&text, &len, frontier, 8192), 0);
	open_with_checkpoints(&e, &fc, 3, 0);
	add_events(&e, 20, 3);
	fx_env_close(&e);
	sizes = checkpoint_sizes(&e);
	ck_assert_str_eq(sizes, "12 9 6 3 ");
	free(sizes);
	ck_assert_msg(fx_audit(&out, &e, "verify", "") == 0, "%s", out.data);
	ck_assert_ptr_nonnull(
	    strstr(out.data, "verified 4 signed checkpoints"));
	free(text);
	free(frontier);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_checkpoint_written_by_time)
{
	struct fx_env e;
	struct fx_clock fc;
	char *sizes;

	fx_clock_init(&fc, util_time_now_ms());
	fx_env_init(&e);
	open_with_checkpoints(&e, &fc, 0, 60);
	add_events(&e, 0, 2);
	fc.now += 59 * 1000;
	ck_assert_int_eq(writer_run_once(e.w), 0);
	fx_env_close(&e);
	sizes = checkpoint_sizes(&e);
	ck_assert_str_eq(sizes, ""); /* not yet due */
	free(sizes);

	open_with_checkpoints(&e, &fc, 0, 60);
	add_events(&e, 2, 1);
	fc.now += 60 * 1000;
	/* Due with no command: the idle check writes it on its own. */
	ck_assert_int_eq(writer_run_once(e.w), 0);
	ck_assert_int_eq(writer_run_once(e.w), 0);
	fc.now += 120 * 1000; /* nothing new since: no second one */
	ck_assert_int_eq(writer_run_once(e.w), 0);
	fx_env_close(&e);
	sizes = checkpoint_sizes(&e);
	ck_assert_str_eq(sizes, "4 ");
	free(sizes);

	/* Due at the end of a batch: the event and the checkpoint. */
	open_with_checkpoints(&e, &fc, 0, 60);
	fc.now += 61 * 1000;
	add_events(&e, 3, 1);
	fx_env_close(&e);
	sizes = checkpoint_sizes(&e);
	ck_assert_str_eq(sizes, "5 4 ");
	free(sizes);
	fx_env_free(&e);
}
END_TEST

/* ---- pinned checkpoints --------------------------------------------- */

/* A ledger with checkpoints every 4 events and the newest one pinned at
 * $DIR/pinned.txt; returns its size. */
static void
pinned_ledger(struct fx_env *e, struct fx_clock *fc)
{
	struct buf out = BUF_INIT;

	fx_env_init(e);
	open_with_checkpoints(e, fc, 4, 0);
	add_events(e, 0, 7); /* 8 events: checkpoint of 8 on top */
	fx_env_close(e);
	ck_assert_int_eq(tu_sh(&out, "'%s' checkpoint '%s' > '%s/pinned.txt'",
	                       CSIRT_AUDIT_BIN, e->repo, e->dir),
	                 0);
	buf_free(&out);
}

static void
assert_pinned(struct fx_env *e, int want_status, const char *want)
{
	struct buf out = BUF_INIT, args = BUF_INIT;
	int st;

	buf_printf(&args, "--checkpoint '%s/pinned.txt'", e->dir);
	st = fx_audit(&out, e, "verify", args.data);
	ck_assert_msg(st == want_status, "exit %d: %s", st, out.data);
	ck_assert_msg(strstr(out.data, want) != NULL, "want \"%s\" in: %s",
	              want, out.data);
	buf_free(&out);
	buf_free(&args);
}

START_TEST(test_checkpoint_pinned_holds_after_more_events)
{
	struct fx_env e;
	struct fx_clock fc;

	fx_clock_init(&fc, util_time_now_ms());
	pinned_ledger(&e, &fc);
	assert_pinned(&e, 0, "verified 8 events");
	open_with_checkpoints(&e, &fc, 4, 0);
	add_events(&e, 10, 6);
	fx_env_close(&e);
	assert_pinned(&e, 0, "verified 14 events");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_checkpoint_pinned_refuses_rewritten_history)
{
	struct fx_env e;
	struct fx_clock fc;
	struct buf out = BUF_INIT;

	fx_clock_init(&fc, util_time_now_ms());
	pinned_ledger(&e, &fc);
	/* Rolled back to event 6 (a valid, signed history): too short. */
	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s' && git update-ref refs/heads/ledger "
	                       "$(git log --format=%%H --grep='^Seq: 6$' "
	                       "ledger) && rm -f ../index.sqlite*",
	                       e.repo),
	                 0);
	assert_pinned(&e, 1, "rule 10 (pinned)");
	assert_pinned(&e, 1, "fewer than the 8 of the pinned checkpoint");
	/* Then rewritten by the daemon itself, with its own key: the ledger
	 * verifies on its own, checkpoints included, but not against the
	 * pinned root. */
	open_with_checkpoints(&e, &fc, 4, 0);
	add_events(&e, 100, 5);
	fx_env_close(&e);
	ck_assert_msg(fx_audit(&out, &e, "verify", "") == 0, "%s", out.data);
	assert_pinned(&e, 1, "rule 10 (pinned)");
	assert_pinned(&e, 1, "Merkle root of the first 8 events differs");
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_checkpoint_pinned_refuses_forged_signature)
{
	struct fx_env e;
	struct fx_clock fc;
	struct buf out = BUF_INIT;

	fx_clock_init(&fc, util_time_now_ms());
	pinned_ledger(&e, &fc);
	/* One base64 digit in the middle of the signature changed. */
	{
		char *pinned = util_path_join(e.dir, "pinned.txt");
		char *text = NULL, *sig;
		size_t len = 0;
		FILE *f;

		ck_assert_int_eq(util_read_file(&text, &len, pinned, 4096), 0);
		sig = strrchr(text, ' ');
		ck_assert_ptr_nonnull(sig);
		sig[30] = sig[30] == 'A' ? 'B' : 'A';
		f = fopen(pinned, "w");
		ck_assert_ptr_nonnull(f);
		fwrite(text, 1, len, f);
		fclose(f);
		free(text);
		free(pinned);
	}
	assert_pinned(&e, 1, "rule 10 (pinned)");
	assert_pinned(&e, 1, "no valid signature by an allowed key");
	/* The same checkpoint, validly signed by another key under the
	 * ledger's origin. */
	{
		struct crypto_signer *real = NULL, *other = NULL;
		struct checkpoint cp;
		struct buf note = BUF_INIT;
		char *key = util_path_join(e.data, "keys/ledger_ed25519");
		char *pinned = util_path_join(e.dir, "pinned.txt");
		char *text = NULL, *pub;
		size_t len = 0;
		FILE *f;

		ck_assert_int_eq(crypto_signer_load(&real, key), 0);
		ck_assert_int_eq(crypto_signer_generate(&other), 0);
		pub = crypto_signer_public(real);
		/* Back to the genuine note first. */
		ck_assert_int_eq(tu_sh(&out, "'%s' checkpoint '%s' > '%s'",
		                       CSIRT_AUDIT_BIN, e.repo, pinned),
		                 0);
		ck_assert_int_eq(util_read_file(&text, &len, pinned, 4096), 0);
		ck_assert_int_eq(checkpoint_open(&cp, text, len, &pub, 1), 0);
		ck_assert_int_eq(checkpoint_sign(&note, &cp, other), 0);
		f = fopen(pinned, "w");
		ck_assert_ptr_nonnull(f);
		fwrite(note.data, 1, note.len, f);
		fclose(f);
		assert_pinned(&e, 1, "no valid signature by an allowed key");
		crypto_signer_free(real);
		crypto_signer_free(other);
		buf_free(&note);
		free(text);
		free(pub);
		free(key);
		free(pinned);
	}
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_checkpoint_committed_note_tampered)
{
	struct fx_env e;
	struct fx_clock fc;
	struct buf out = BUF_INIT;

	fx_clock_init(&fc, util_time_now_ms());
	pinned_ledger(&e, &fc);
	/* The checkpoint commit replaced by one (signed with the real git
	 * key) whose note claims another root. */
	ck_assert_int_eq(
	    tu_sh(&out,
	          "cd '%s' && K='%s/keys/ledger_ed25519' && "
	          "f=checkpoints/0000000008.txt && "
	          "B=$(git show ledger:$f | sed '3s/^A/B/;t;3s/^./A/' | "
	          "git hash-object -w --stdin) && rm -f ../ix && "
	          "GIT_INDEX_FILE=../ix git read-tree ledger && "
	          "GIT_INDEX_FILE=../ix git update-index --cacheinfo "
	          "100644,$B,$f && T=$(GIT_INDEX_FILE=../ix git write-tree) && "
	          "c=$(git cat-file commit ledger | sed '1,/^$/d' | "
	          "git -c user.name=m -c user.email=m@x -c gpg.format=ssh "
	          "-c user.signingkey=\"$K\" commit-tree -S $T -p ledger~1 -F "
	          "-) && git update-ref refs/heads/ledger $c",
	          e.repo, e.data),
	    0);
	ck_assert_int_eq(fx_audit(&out, &e, "verify", ""), 1);
	ck_assert_msg(strstr(out.data, "rule 9 (checkpoint)") != NULL, "%s",
	              out.data);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

/* ---- the daemon ------------------------------------------------------ */

START_TEST(test_checkpoint_daemon_writes_checkpoints)
{
	struct apic a;
	struct buf out = BUF_INIT;
	int st = 0;
	char *dir = tu_tmpdir(), *conf = util_path_join(dir, "c.conf");
	const char *argv[] = {CSIRTD_BIN, "--config", conf, "-n", NULL};
	const char *extra[] = {"--config", conf, NULL};
	FILE *f = fopen(conf, "w");

	/* Validated: out of range is refused naming the key. */
	ck_assert_ptr_nonnull(f);
	fputs("checkpoint_events = 0\ncheckpoint_interval_s = 86401\n", f);
	fclose(f);
	ck_assert_int_eq(tu_run(&out, &st, argv), 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %d", st);
	f = fopen(conf, "w");
	fputs("checkpoint_events = 3\n", f);
	fclose(f);
	buf_reset(&out);
	ck_assert_int_eq(tu_run(&out, &st, argv), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "checkpoint_events = 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "checkpoint_interval_s = 300\n"));

	/* The real daemon, every 3 events: reports through the API. */
	apic_start_args(&a, extra);
	for (int i = 0; i < 4; i++) {
		char *id = apic_report(&a, a.rep1, "USBメモリ紛失");
		ck_assert_ptr_nonnull(id);
		free(id);
	}
	/* Acknowledged means durable, checkpoint included: the auditor
	 * reads the live repository. */
	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out, "'%s' checkpoint '%s/ledger.git'",
	                       CSIRT_AUDIT_BIN, a.data),
	                 0);
	ck_assert_int_eq(strncmp(out.data, "csirtd/", 7), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\n\n\xe2\x80\x94 csirtd/"));
	buf_reset(&out);
	ck_assert_msg(tu_sh(&out, "'%s' verify '%s/ledger.git'",
	                    CSIRT_AUDIT_BIN, a.data) == 0,
	              "%s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "signed checkpoints"));
	apic_stop(&a);
	tu_rmrf(dir);
	free(conf);
	free(dir);
	buf_free(&out);
}
END_TEST

Suite *
checkpoint_suite(void)
{
	Suite *s = suite_create("checkpoint");
	TCase *tc = tcase_create("checkpoint");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_checkpoint_merkle_rfc6962_vectors);
	tcase_add_test(tc, test_checkpoint_note_go_known_answer);
	tcase_add_test(tc, test_checkpoint_note_roundtrip_and_forgeries);
	tcase_add_test(tc, test_checkpoint_written_by_count_and_verified);
	tcase_add_test(tc, test_checkpoint_frontier_resume_and_damage);
	tcase_add_test(tc, test_checkpoint_frontier_saved_sparingly);
	tcase_add_test(tc, test_checkpoint_written_by_time);
	tcase_add_test(tc, test_checkpoint_pinned_holds_after_more_events);
	tcase_add_test(tc, test_checkpoint_pinned_refuses_rewritten_history);
	tcase_add_test(tc, test_checkpoint_pinned_refuses_forged_signature);
	tcase_add_test(tc, test_checkpoint_committed_note_tampered);
	tcase_add_test(tc, test_checkpoint_daemon_writes_checkpoints);
	suite_add_tcase(s, tc);
	return s;
}
