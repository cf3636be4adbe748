/*
 * check_audit.c - csirt-audit verify, run as the real binary against
 * ledgers written by the writer and then tampered with by stock git (and
 * the sqlite3 shell): every tampering is refused with exit 1 and the rule
 * it broke.  Insider rewrites are re-signed with the ledger's own key, so
 * that the rules behind the signature are exercised too.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "crypto.h"
#include "datadir.h"
#include "deadline.h"
#include "lifecycle.h"
#include "error.h"
#include "fixtures.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"
#include "writer.h"

/* A data directory, open, with the directory seeded. */
static void
env_init(struct fx_env *e)
{
	fx_env_init(e);
	fx_env_open(e);
	fx_seed_directory(e->w);
}

/* Shell helpers for tampering, run inside the repository:
 *   sign TREE -p PARENT... < MESSAGE   a commit signed with key $K
 *   msg COMMIT                         the exact message of COMMIT
 *   put TREEISH PATH < CONTENT         a tree: TREEISH with PATH replaced
 *   evp COMMIT                         the event file COMMIT added
 *   mvt COMMIT FROM TO                 a tree: COMMIT's with FROM moved
 * and H, P, G: the head, its parent and grandparent. */
#define TAMPER_SH                                                              \
	"g() { git -c user.name=mallory -c user.email=m@x.invalid "            \
	"-c gpg.format=ssh -c user.signingkey=\"$K\" \"$@\"; }; "              \
	"sign() { g commit-tree -S \"$@\" -F -; }; "                           \
	"msg() { git cat-file commit \"$1\" | sed '1,/^$/d'; }; "              \
	"put() { B=$(git hash-object -w --stdin) && "                          \
	"rm -f \"$T/ix\" && GIT_INDEX_FILE=\"$T/ix\" git read-tree \"$1\" && " \
	"GIT_INDEX_FILE=\"$T/ix\" git update-index --add --cacheinfo "         \
	"100644,$B,\"$2\" && GIT_INDEX_FILE=\"$T/ix\" git write-tree; }; "     \
	"evp() { git diff-tree --no-commit-id --name-only -r \"$1^\" \"$1\" "  \
	"| "                                                                   \
	"grep /events/; }; "                                                   \
	"mvt() { rm -f \"$T/ix\" && GIT_INDEX_FILE=\"$T/ix\" git read-tree "   \
	"\"$1\" && GIT_INDEX_FILE=\"$T/ix\" git update-index --add "           \
	"--cacheinfo 100644,$(git rev-parse \"$1:$2\"),\"$3\" && "             \
	"printf '0 %040d\\t%s\\n' 0 \"$2\" | GIT_INDEX_FILE=\"$T/ix\" git "    \
	"update-index --index-info && GIT_INDEX_FILE=\"$T/ix\" git "           \
	"write-tree; }; "                                                      \
	"H=$(git rev-parse ledger) && P=$(git rev-parse ledger~1) && "         \
	"G=$(git rev-parse ledger~2) && "

/* Runs a tampering script in the closed ledger. */
static void
tamper(struct fx_env *e, const char *script)
{
	struct buf out = BUF_INIT;

	ck_assert_msg(
	    tu_sh(&out,
	          "cd '%s' && K='%s/keys/ledger_ed25519' && T='%s' && "
	          "%s %s",
	          e->repo, e->data, e->dir, TAMPER_SH, script) == 0,
	    "tampering failed: %s", out.data);
	buf_free(&out);
}

/* Runs csirt-audit verify on the ledger with `args`; returns its status
 * and its output in `out`. */
static int
audit(struct buf *out, struct fx_env *e, const char *args)
{
	return fx_audit(out, e, "verify", args);
}

/* Asserts that the audit fails naming `rule`. */
static void
assert_refused(struct fx_env *e, const char *args, const char *rule)
{
	struct buf out = BUF_INIT;
	int st = audit(&out, e, args);

	ck_assert_msg(st == 1, "exit %d: %s", st, out.data);
	ck_assert_msg(strstr(out.data, rule) != NULL, "want \"%s\" in: %s",
	              rule, out.data);
	buf_free(&out);
}

static char *
rev(struct fx_env *e, const char *what)
{
	struct buf out = BUF_INIT;

	ck_assert_int_eq(tu_sh(&out, "git -C '%s' rev-parse %s", e->repo, what),
	                 0);
	out.data[strcspn(out.data, "\n")] = '\0';
	return buf_detach(&out);
}

/* A few cases with full lives, notes and note edits; the data directory
 * is closed afterwards (ready for git and the auditor). */
static void
build_ledger(struct fx_env *e, int ncases)
{
	env_init(e);
	/* Events the daemon writes itself: an automatic escalation (情報流出
	 * goes straight to the CSIRT) and a missed acknowledgement. */
	{
		struct writer_policy p = {60, 1u << 1};
		char late[16];
		writer_set_policy(e->w, &p);
		ck_assert_int_eq(
		    fx_submit(
		        e->w,
		        fx_report(
		            "rep1", "d1",
		            CSIRT__V1__CATEGORY__CATEGORY_INFORMATION_LEAK,
		            "情報流出"),
		        NULL, NULL, NULL),
		    0);
		fx_report_d1(e->w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
		             "未受理のまま", late);
		ck_assert_int_eq(
		    fx_submit(e->w,
		              deadline_event(late, CASE_DEADLINE_ACK,
		                             util_time_now_ms(),
		                             30 * 60 * 1000),
		              NULL, NULL, NULL),
		    0);
	}
	/* 第13.2 requests and items: the fold check covers them too. */
	fx_request_history(e->w, NULL);
	for (int i = 0; i < ncases; i++) {
		char id[12], title[64];
		snprintf(title, sizeof(title), "事案 %d: USBメモリの紛失", i);
		fx_report_d1(e->w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
		             title, id);
		ck_assert_int_eq(
		    fx_submit(e->w,
		              fx_case_event(
		                  id,
		                  CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED,
		                  "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
		                  "受理"),
		              NULL, NULL, NULL),
		    0);
		ck_assert_int_eq(
		    fx_submit(e->w,
		              fx_case_event(
		                  id, CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED,
		                  "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
		                  "CSIRTへ"),
		              NULL, NULL, NULL),
		    0);
		ck_assert_int_eq(
		    fx_submit(
		        e->w,
		        fx_case_event(
		            id, CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED,
		            "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
		            "調査開始"),
		        NULL, NULL, NULL),
		    0);
		ck_assert_int_eq(fx_submit(e->w, fx_assign(id, "lead", "inv"),
		                           NULL, NULL, NULL),
		                 0);
		ck_assert_int_eq(
		    fx_submit(
		        e->w,
		        fx_note(id, "inv", CSIRT__V1__ROLE__ROLE_INVESTIGATOR),
		        "関係者から聴取した。", NULL, NULL),
		    0);
		ck_assert_int_eq(
		    fx_submit(e->w,
		              fx_note_edit(id, "n1", "inv",
		                           CSIRT__V1__ROLE__ROLE_INVESTIGATOR,
		                           "追記"),
		              "関係者から聴取した。\n日時: 11月27日", NULL,
		              NULL),
		    0);
		ck_assert_int_eq(
		    fx_submit(e->w,
		              fx_case_event(
		                  id, CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED,
		                  "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
		                  "解決"),
		              NULL, NULL, NULL),
		    0);
	}
	fx_env_close(e);
}

START_TEST(test_audit_clean_ledger_verifies)
{
	struct fx_env e;
	struct buf out = BUF_INIT, args = BUF_INIT;
	char *head, *root, *count;

	build_ledger(&e, 3);
	head = rev(&e, "ledger");
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' rev-list --max-parents=0 ledger && "
	                       "git -C '%s' rev-list --count ledger",
	                       e.repo, e.repo),
	                 0);
	root = util_strdup(out.data);
	root[40] = '\0';
	count = util_strdup(out.data + 41);
	count[strcspn(count, "\n")] = '\0';

	ck_assert_msg(audit(&out, &e, "") == 0, "%s", out.data);
	buf_printf(&args, "verified %s events in %s commits, head %s\n", count,
	           count, head);
	ck_assert_str_eq(out.data, args.data);

	/* Explicit signers, the live index, anchors at both ends. */
	buf_reset(&args);
	buf_printf(&args,
	           "--allowed-signers '%s/keys/allowed_signers' --index "
	           "'%s/index.sqlite' --anchor 1:%s",
	           e.data, e.data, root);
	ck_assert_msg(audit(&out, &e, args.data) == 0, "%s", out.data);
	buf_reset(&args);
	buf_printf(&args, "--anchor %s:%.12s", count, head);
	ck_assert_msg(audit(&out, &e, args.data) == 0, "%s", out.data);

	/* Stock git agrees on every signature. */
	ck_assert_msg(tu_sh(&out,
	                    "cd '%s' && for c in $(git rev-list ledger); do "
	                    "git -c gpg.ssh.allowedSignersFile='%s/keys/"
	                    "allowed_signers' verify-commit $c >/dev/null 2>&1 "
	                    "|| exit 1; done",
	                    e.repo, e.data) == 0,
	              "%s", out.data);
	free(head);
	free(root);
	free(count);
	buf_free(&out);
	buf_free(&args);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_usage)
{
	struct fx_env e;
	struct buf out = BUF_INIT;

	build_ledger(&e, 1);
	ck_assert_int_eq(tu_sh(&out, "'%s' --help", CSIRT_AUDIT_BIN), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "usage: csirt-audit verify"));
	ck_assert_int_eq(tu_sh(&out, "'%s'", CSIRT_AUDIT_BIN), 2);
	ck_assert_int_eq(tu_sh(&out, "'%s' verify", CSIRT_AUDIT_BIN), 2);
	ck_assert_int_eq(audit(&out, &e, "--anchor nonsense"), 2);
	ck_assert_int_eq(audit(&out, &e, "--bogus"), 2);
	/* Not a ledger at all: does not verify. */
	ck_assert_int_eq(tu_sh(&out,
	                       "'%s' verify '%s' --allowed-signers "
	                       "'%s/keys/allowed_signers'",
	                       CSIRT_AUDIT_BIN, e.dir, e.data),
	                 1);
	/* No allowed-signers file next to it: cannot verify. */
	ck_assert_int_eq(audit(&out, &e, "--allowed-signers /nonexistent"), 1);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_amended_commit)
{
	struct fx_env e;

	build_ledger(&e, 2);
	tamper(&e, "c=$(git cat-file commit $H | "
	           "sed 's/^case.resolved/case.closed/' | "
	           "git hash-object -t commit -w --stdin) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "rule 3 (signature)");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_dropped_commit)
{
	struct fx_env e;

	build_ledger(&e, 2);
	/* Unsigned rebuild: the parent is part of what was signed. */
	tamper(&e, "c=$(git cat-file commit $H | sed \"s/^parent .*/parent "
	           "$G/\" | git hash-object -t commit -w --stdin) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "rule 3 (signature)");
	/* Re-signed with the ledger key: the Seq gap shows. */
	tamper(&e, "c=$(msg $H | sign $H^{tree} -p $G) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "rule 5 (event)");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_reordered_commits)
{
	struct fx_env e;

	build_ledger(&e, 2);
	tamper(&e, "a=$(msg $H | sign $H^{tree} -p $G) && "
	           "b=$(msg $P | sign $P^{tree} -p $a) && "
	           "git update-ref refs/heads/ledger $b");
	assert_refused(&e, "", "has Seq");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_squashed_commits)
{
	struct fx_env e;

	build_ledger(&e, 2);
	tamper(&e, "c=$(msg $P | sign $H^{tree} -p $G) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "rule 4 (files)");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_event_byte_flipped)
{
	struct fx_env e;

	build_ledger(&e, 2);
	tamper(&e, "p=$(evp $H) && t=$(git cat-file blob $H:$p | "
	           "sed 's/\"lead\"/\"leac\"/' | put $H $p) && "
	           "c=$(msg $H | sign $t -p $P) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "does not match its Event-SHA256");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_old_event_rewritten)
{
	struct fx_env e;

	build_ledger(&e, 2);
	/* A new, well-formed commit that also edits an earlier event. */
	tamper(&e, "p=$(evp $G) && t=$(git cat-file blob $H:$p | "
	           "sed 's/\"seq\":/\"seq\" :/' | put $H $p) && "
	           "c=$(msg $H | sign $t -p $P) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "modifies an event file");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_unsigned_commit_on_top)
{
	struct fx_env e;

	build_ledger(&e, 1);
	tamper(&e, "c=$(msg $H | git -c user.name=x -c user.email=x@x "
	           "commit-tree $H^{tree} -p $H -F -) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "is not signed");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_foreign_key)
{
	struct fx_env e;

	build_ledger(&e, 1);
	tamper(&e, "ssh-keygen -q -t ed25519 -N '' -f \"$T/evil\" && "
	           "K=\"$T/evil\" && c=$(msg $H | sign $H^{tree} -p $P) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "no valid \"git\" signature by an allowed key");
	fx_env_free(&e);
}
END_TEST

/* Deep in a history long enough for the signature workers: a commit
 * re-signed with another key, every later one re-signed with the real
 * key on top of it.  The report names that commit, not a later one. */
START_TEST(test_audit_foreign_key_deep_in_history)
{
	struct fx_env e;
	struct buf out = BUF_INIT, bad = BUF_INIT;

	env_init(&e);
	fx_history_batched(e.w, 12, 0); /* 132 case events */
	fx_env_close(&e);
	tamper(&e, "ssh-keygen -q -t ed25519 -N '' -f \"$T/evil\" && "
	           "R=\"$K\" && X=$(git rev-parse ledger~60) && "
	           "K=\"$T/evil\" && n=$(msg $X | sign $X^{tree} -p $X^) && "
	           "echo $n > \"$T/bad\" && K=\"$R\" && "
	           "for c in $(git rev-list --reverse $X..ledger); do "
	           "n=$(msg $c | sign $c^{tree} -p $n) || exit 1; done && "
	           "git update-ref refs/heads/ledger $n");
	ck_assert_int_eq(tu_sh(&bad, "cat '%s/bad'", e.dir), 0);
	bad.data[strcspn(bad.data, "\n")] = '\0';
	ck_assert_int_eq(audit(&out, &e, ""), 1);
	ck_assert_msg(strstr(out.data, "rule 3 (signature)") != NULL, "%s",
	              out.data);
	ck_assert_msg(strstr(out.data, bad.data) != NULL, "want %s in: %s",
	              bad.data, out.data);
	buf_free(&out);
	buf_free(&bad);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_merge_commit)
{
	struct fx_env e;

	build_ledger(&e, 1);
	tamper(&e, "c=$(msg $H | sign $H^{tree} -p $H -p $P) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "rule 2 (linear)");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_rewritten_history_needs_anchor)
{
	struct fx_env e;
	struct buf out = BUF_INIT, args = BUF_INIT;
	char *head = NULL, *count = NULL;

	build_ledger(&e, 2);
	head = rev(&e, "ledger");
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s' rev-list --count ledger", e.repo), 0);
	out.data[strcspn(out.data, "\n")] = '\0';
	count = buf_detach(&out);
	/* Force-rewritten by someone holding the key, consistently: every
	 * rule that looks at the ledger alone still holds... */
	tamper(&e, "c=$(msg $H | sed '1s/.*/rewritten/' | sign $H^{tree} "
	           "-p $P) && git update-ref refs/heads/ledger $c");
	ck_assert_msg(audit(&out, &e, "") == 0, "%s", out.data);
	/* ...but the head an auditor noted before is gone. */
	buf_printf(&args, "--anchor %s:%s", count, head);
	assert_refused(&e, args.data, "rule 7 (anchor)");
	assert_refused(&e, args.data, "was rewritten or replaced");
	free(head);
	free(count);
	buf_free(&out);
	buf_free(&args);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_wrong_anchor)
{
	struct fx_env e;
	char *h = NULL;

	build_ledger(&e, 1);
	h = rev(&e, "ledger~1");
	{
		struct buf args = BUF_INIT;
		buf_printf(&args, "--anchor 1:%s", h);
		assert_refused(&e, args.data, "rule 7 (anchor)");
		buf_free(&args);
	}
	assert_refused(&e, "--anchor 3:deadbeefdeadbeef", "rule 7 (anchor)");
	free(h);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_extra_ref)
{
	struct fx_env e;

	build_ledger(&e, 1);
	tamper(&e, "git update-ref refs/heads/other $P");
	assert_refused(&e, "", "unexpected ref refs/heads/other");
	/* Still seen once packed. */
	tamper(&e, "git pack-refs --all");
	assert_refused(&e, "", "rule 1 (refs)");
	tamper(&e, "git update-ref -d refs/heads/other && "
	           "git tag -m x t1 $P && git pack-refs --all");
	assert_refused(&e, "", "unexpected ref refs/tags/t1");
	tamper(&e, "git tag -d t1 && git update-ref -d refs/heads/ledger");
	assert_refused(&e, "", "refs/heads/ledger does not exist");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_case_json_modified)
{
	struct fx_env e;
	struct buf path = BUF_INIT;

	build_ledger(&e, 2);
	tamper(&e, "p=$(git diff-tree --no-commit-id --name-only -r $P $H | "
	           "grep case.json) && t=$(git cat-file blob $H:$p | "
	           "sed 's/USBメモリ/DVD/' | put $H $p) && "
	           "c=$(msg $H | sign $t -p $P) && "
	           "git update-ref refs/heads/ledger $c");
	assert_refused(&e, "", "rule 6 (case)");
	buf_free(&path);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_index_edited)
{
	struct fx_env e;
	struct buf out = BUF_INIT, args = BUF_INIT;

	build_ledger(&e, 2);
	buf_printf(&args, "--index '%s/index.sqlite'", e.data);
	ck_assert_msg(audit(&out, &e, args.data) == 0, "%s", out.data);
	ck_assert_int_eq(tu_sh(&out,
	                       "sqlite3 '%s/index.sqlite' \"UPDATE cases SET "
	                       "title='x'\"",
	                       e.data),
	                 0);
	assert_refused(&e, args.data, "rule 8 (index)");
	buf_free(&out);
	buf_free(&args);
	fx_env_free(&e);
}
END_TEST

/* Adler-32 (RFC 1950), to rewrite a zlib stream's trailer in place. */
static uint32_t
adler32_of(const unsigned char *p, size_t n)
{
	uint32_t a = 1, b = 0;

	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

/*
 * Changes one byte in the packs, inside the entry of the first object of
 * type `type` that is not a delta.  With `keep_zlib` the object must be a
 * single zlib stored block (trees, commits), and its Adler-32 is
 * rewritten: the stream still inflates, and only the object's hash can
 * tell.  Otherwise a byte in the middle of the zlib stream is flipped.
 */
static void
pack_byte_changed(struct fx_env *e, const char *type, bool keep_zlib)
{
	struct buf out = BUF_INIT, path = BUF_INIT;
	unsigned long long off, insize;
	char name[256], *raw;
	unsigned char *d, *p;
	size_t len;

	ck_assert_msg(tu_sh(&out,
	                    "cd '%s/objects/pack' && for i in *.idx; do "
	                    "o=$(git verify-pack -v $i | awk '$2==\"%s\" && "
	                    "NF==5 {print $4, $5; exit}'); [ -n \"$o\" ] && "
	                    "{ echo \"${i%%.idx}.pack $o\"; exit 0; }; done; "
	                    "exit 1",
	                    e->repo, type) == 0,
	              "no %s in the packs: %s", type, out.data);
	ck_assert_int_eq(
	    sscanf(out.data, "%255s %llu %llu", name, &insize, &off), 3);
	buf_printf(&path, "%s/objects/pack/%s", e->repo, name);
	ck_assert_int_eq(util_read_file(&raw, &len, path.data, SIZE_MAX), 0);
	d = (unsigned char *)raw;
	ck_assert_uint_lt(off + insize, len);
	p = d + off;
	while (*p & 0x80) /* the entry's type and size */
		p++;
	p++;
	ck_assert_int_eq((p[0] << 8 | p[1]) % 31, 0); /* a zlib header */
	if (keep_zlib) {
		size_t n = (size_t)(p[3] | p[4] << 8);
		uint32_t a;
		ck_assert_int_eq(p[2], 0x01); /* one final stored block */
		ck_assert_uint_eq(n ^ 0xffffu, (size_t)(p[5] | p[6] << 8));
		p[7 + n - 1] ^= 0x01; /* the last entry's object id */
		a = adler32_of(p + 7, n);
		p[7 + n] = (unsigned char)(a >> 24);
		p[8 + n] = (unsigned char)(a >> 16);
		p[9 + n] = (unsigned char)(a >> 8);
		p[10 + n] = (unsigned char)a;
	} else {
		d[off + insize / 2] ^= 0x20;
	}
	ck_assert_int_eq(chmod(path.data, 0644), 0);
	ck_assert_int_eq(util_write_file_atomic(path.data, d, len, 0444), 0);
	free(d);
	buf_free(&out);
	buf_free(&path);
}

/* Bytes changed inside the pack files themselves, not through git: the
 * verifier reads every object, and checks each one's hash. */
START_TEST(test_audit_pack_tree_altered)
{
	struct fx_env e;

	build_ledger(&e, 2);
	pack_byte_changed(&e, "tree", true);
	assert_refused(&e, "", "hash mismatch");
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_pack_blob_byte_flipped)
{
	struct fx_env e;
	struct buf out = BUF_INIT;

	build_ledger(&e, 2);
	pack_byte_changed(&e, "blob", false);
	ck_assert_int_eq(audit(&out, &e, ""), 1);
	ck_assert_msg(strstr(out.data, "rule ") != NULL, "%s", out.data);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

/* An auditor's copy repacked by stock git (deltas of every kind, chains
 * of any depth) verifies the same. */
START_TEST(test_audit_repacked_ledger_verifies)
{
	struct fx_env e;
	struct buf out = BUF_INIT, want = BUF_INIT;

	build_ledger(&e, 3);
	ck_assert_msg(audit(&want, &e, "") == 0, "%s", want.data);
	ck_assert_msg(tu_sh(&out,
	                    "cd '%s' && chmod -R u+w objects && "
	                    "git repack -adfq --depth=50 --window=50 && "
	                    "git verify-pack -v objects/pack/*.idx | "
	                    "grep 'chain length = [2-9]'",
	                    e.repo) == 0,
	              "no delta chains after the repack: %s", out.data);
	ck_assert_msg(audit(&out, &e, "") == 0, "%s", out.data);
	ck_assert_str_eq(out.data, want.data);
	buf_free(&out);
	buf_free(&want);
	fx_env_free(&e);
}
END_TEST

/*
 * Rewrites the history of `e`'s ledger into an older event layout, signed
 * with the daemon's own key, authors and times kept, and without Case-Seq
 * trailers: `flat`, events/<seq>.json (before the buckets); else the
 * buckets of the seq, events/<seq/1000>/<seq>.json, cases' events too
 * (before Case-Seq).  Checks that every event file moved, and leaves the
 * count of event files in `out`.
 */
static void
rewrite_layout(struct fx_env *e, bool flat, struct buf *out)
{
	struct buf sh = BUF_INIT;

	buf_printf(
	    &sh,
	    "prev= && for c in $(git rev-list --reverse ledger); do "
	    "rm -f \"$T/ix\" && GIT_INDEX_FILE=\"$T/ix\" git read-tree $c && "
	    "GIT_INDEX_FILE=\"$T/ix\" git ls-files -s | "
	    "grep -E '/events/%s/[0-9]{10}\\.json$' | "
	    "while read -r m o s p; do f=${p##*/} && "
	    "printf '0 %%040d\\t%%s\\n' 0 \"$p\" && "
	    "printf '%%s %%s\\t%%s\\n' $m $o \"%s\"; done | "
	    "GIT_INDEX_FILE=\"$T/ix\" git update-index --index-info && "
	    "t=$(GIT_INDEX_FILE=\"$T/ix\" git write-tree) && "
	    "a=$(git log -1 --format='%%an%%x00%%ae%%x00%%ad%%x00%%cn%%x00%%ce"
	    "%%x00%%cd' --date=raw $c | tr '\\0' '\\n') && "
	    "n=$(msg $c | grep -v '^Case-Seq: ' | "
	    "GIT_AUTHOR_NAME=$(echo \"$a\" | sed -n 1p) "
	    "GIT_AUTHOR_EMAIL=$(echo \"$a\" | sed -n 2p) "
	    "GIT_AUTHOR_DATE=\"$(echo \"$a\" | sed -n 3p)\" "
	    "GIT_COMMITTER_NAME=$(echo \"$a\" | sed -n 4p) "
	    "GIT_COMMITTER_EMAIL=$(echo \"$a\" | sed -n 5p) "
	    "GIT_COMMITTER_DATE=\"$(echo \"$a\" | sed -n 6p)\" "
	    "sign $t ${prev:+-p $prev}) && prev=$n || exit 1; done && "
	    "git update-ref refs/heads/ledger $prev",
	    flat ? "([0-9]{3}|[0-9]{7})" : "[0-9]{3}",
	    flat ? "${p%/*/*}/$f"
	         : "${p%/*/*}/$(printf %07d $(expr ${f%.json} / 1000))/$f");
	tamper(e, sh.data);
	buf_reset(out);
	if (flat)
		ck_assert_int_eq(
		    tu_sh(out,
		          "git -C '%s' ls-tree -r --name-only ledger | "
		          "grep -c -E '/events/[0-9]{10}\\.json$' && ! "
		          "git -C '%s' ls-tree -r --name-only ledger | "
		          "grep -E '/events/[0-9]+/'",
		          e->repo, e->repo),
		    0);
	else
		ck_assert_int_eq(
		    tu_sh(
		        out,
		        "git -C '%s' ls-tree -r --name-only ledger | "
		        "grep -c -E '/events/[0-9]{7}/[0-9]{10}\\.json$' && ! "
		        "git -C '%s' ls-tree -r --name-only ledger | "
		        "grep -E '/events/[0-9]{3}/' && ! "
		        "git -C '%s' log --format=%%B ledger | grep Case-Seq",
		        e->repo, e->repo, e->repo),
		    0);
	buf_free(&sh);
}

/* The rewritten ledger verifies as the original did, and the index rebuilt
 * from it agrees with it. */
static void
assert_old_layout_verifies(struct fx_env *e, bool flat)
{
	struct buf out = BUF_INIT, want = BUF_INIT, args = BUF_INIT;
	size_t events = 0;
	char *count;

	ck_assert_msg(audit(&want, e, "") == 0, "%s", want.data);
	/* Cases' events are in buckets of their Case-Seq now. */
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' ls-tree -r --name-only ledger | "
	                       "grep -E '^cases/.*/events/[0-9]{3}/[0-9]{10}"
	                       "\\.json$'",
	                       e->repo),
	                 0);
	rewrite_layout(e, flat, &out);
	count = strchr(want.data, ' ') + 1; /* "verified N events..." */
	ck_assert_uint_eq(strtoul(out.data, NULL, 10),
	                  strtoul(count, NULL, 10));
	ck_assert_msg(audit(&out, e, "") == 0, "%s", out.data);
	ck_assert_int_eq(
	    strncmp(out.data, want.data,
	            (size_t)(strstr(want.data, "head") - want.data)),
	    0);
	ck_assert_msg(datadir_rebuild(e->data, &events) == 0, "%s",
	              csirt_error_msg());
	ck_assert_uint_eq(events, strtoul(count, NULL, 10));
	buf_printf(&args, "--index '%s/index.sqlite'", e->data);
	ck_assert_msg(audit(&out, e, args.data) == 0, "%s", out.data);
	buf_free(&out);
	buf_free(&want);
	buf_free(&args);
}

/* A ledger from before the event buckets (events/<seq>.json, flat) still
 * verifies and rebuilds. */
START_TEST(test_audit_flat_event_layout_verifies)
{
	struct fx_env e;
	struct buf out = BUF_INIT;

	build_ledger(&e, 3);
	assert_old_layout_verifies(&e, true);
	/* A flat event file altered is named as it is. */
	tamper(&e, "p=$(evp $H) && t=$(git cat-file blob $H:$p | "
	           "sed 's/\"lead\"/\"leac\"/' | put $H $p) && "
	           "c=$(msg $H | sign $t -p $P) && "
	           "git update-ref refs/heads/ledger $c && "
	           "printf '%s' \"$p\" | grep -E '/events/[0-9]{10}\\.json$'");
	ck_assert_int_eq(audit(&out, &e, ""), 1);
	{
		const char *p = strstr(out.data, "/events/");
		ck_assert_msg(
		    strstr(out.data, "does not match its Event-SHA256") &&
		        p != NULL && strspn(p + 8, "0123456789") == 10 &&
		        strncmp(p + 18, ".json", 5) == 0,
		    "%s", out.data);
	}
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

/* A ledger from before Case-Seq (cases' events in buckets of the seq)
 * still verifies and rebuilds, and one whose Case-Seq skips a number, or
 * whose event file is not in the bucket its Case-Seq names, does not. */
START_TEST(test_audit_case_seq_buckets)
{
	struct fx_env e;
	struct buf out = BUF_INIT;

	build_ledger(&e, 3);
	/* The head's Case-Seq moved on by one, the file with it. */
	tamper(&e, "p=$(evp $H) && n=$(msg $H | sed -n "
	           "'s/^Case-Seq: //p') && m=$((n + 100)) && "
	           "q=\"${p%/*/*}/$(printf %03d $((m / 100)))/${p##*/}\" && "
	           "t=$(mvt $H $p $q) && "
	           "c=$(msg $H | sed \"s/^Case-Seq: $n\\$/Case-Seq: $m/\" | "
	           "sign $t -p $P) && git update-ref refs/heads/ledger $c && "
	           "echo $H > \"$T/orig\"");
	ck_assert_int_eq(audit(&out, &e, ""), 1);
	ck_assert_msg(strstr(out.data, "has Case-Seq ") != NULL &&
	                  strstr(out.data, " but is event ") != NULL,
	              "%s", out.data);
	/* The right Case-Seq, the file in another bucket. */
	tamper(&e, "o=$(cat \"$T/orig\") && p=$(evp $o) && "
	           "q=\"${p%/*/*}/099/${p##*/}\" && t=$(mvt $o $p $q) && "
	           "c=$(msg $o | sign $t -p $P) && "
	           "git update-ref refs/heads/ledger $c");
	ck_assert_int_eq(audit(&out, &e, ""), 1);
	ck_assert_msg(strstr(out.data, "adds event file ") != NULL, "%s",
	              out.data);
	tamper(&e, "git update-ref refs/heads/ledger $(cat \"$T/orig\")");
	assert_old_layout_verifies(&e, false);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_audit_ten_thousand_events)
{
	struct fx_env e;
	struct buf out = BUF_INIT, args = BUF_INIT;

	env_init(&e);
	fx_history_batched(e.w, 500, 9); /* 10,000 case events */
	ck_assert_uint_ge(writer_last_seq(e.w), 10000);
	fx_env_close(&e);
	buf_printf(&args, "--index '%s/index.sqlite'", e.data);
	ck_assert_msg(audit(&out, &e, args.data) == 0, "%s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "verified 100"));
	buf_free(&out);
	buf_free(&args);
	fx_env_free(&e);
}
END_TEST

Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("verify");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_audit_clean_ledger_verifies);
	tcase_add_test(tc, test_audit_usage);
	tcase_add_test(tc, test_audit_amended_commit);
	tcase_add_test(tc, test_audit_dropped_commit);
	tcase_add_test(tc, test_audit_reordered_commits);
	tcase_add_test(tc, test_audit_squashed_commits);
	tcase_add_test(tc, test_audit_event_byte_flipped);
	tcase_add_test(tc, test_audit_old_event_rewritten);
	tcase_add_test(tc, test_audit_unsigned_commit_on_top);
	tcase_add_test(tc, test_audit_foreign_key);
	tcase_add_test(tc, test_audit_foreign_key_deep_in_history);
	tcase_add_test(tc, test_audit_merge_commit);
	tcase_add_test(tc, test_audit_rewritten_history_needs_anchor);
	tcase_add_test(tc, test_audit_wrong_anchor);
	tcase_add_test(tc, test_audit_extra_ref);
	tcase_add_test(tc, test_audit_case_json_modified);
	tcase_add_test(tc, test_audit_index_edited);
	tcase_add_test(tc, test_audit_ten_thousand_events);
	tcase_add_test(tc, test_audit_pack_tree_altered);
	tcase_add_test(tc, test_audit_pack_blob_byte_flipped);
	tcase_add_test(tc, test_audit_repacked_ledger_verifies);
	tcase_add_test(tc, test_audit_flat_event_layout_verifies);
	tcase_add_test(tc, test_audit_case_seq_buckets);
	suite_add_tcase(s, tc);
	return s;
}
