/*
 * check_gitweb.c - the ledger served read-only over dumb HTTP by the real
 * daemon: an auditor clones it with stock git (history, fsck and
 * signatures intact) and fetches later commits, even across pack merges;
 * other roles and anonymous clients are refused; and no path, however
 * encoded or symlinked, reaches a file outside ledger.git.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"
#include "suites.h"
#include "testutil.h"

/* The HTTP status curl gets for `path` with `token` (NULL: none). */
static int
curl_status(struct apic *a, const char *token, const char *path)
{
	struct buf out = BUF_INIT;
	int code;

	ck_assert_int_eq(
	    tu_sh(&out,
	          "curl -s --path-as-is -o /dev/null -w '%%{http_code}' "
	          "%s%s%s 'http://%s%s'",
	          token ? "-H 'Authorization: Bearer " : "", token ? token : "",
	          token ? "'" : "", a->d.addr, path),
	    0);
	code = atoi(out.data);
	buf_free(&out);
	return code;
}

static void
reports(struct apic *a, int n)
{
	for (int i = 0; i < n; i++) {
		char title[32];
		snprintf(title, sizeof(title), "lost laptop %d", i);
		free(apic_report(a, a->rep1, title));
	}
}

START_TEST(test_gitweb_auditor_clones_and_fetches)
{
	struct apic a;
	struct buf out = BUF_INIT, head = BUF_INIT;

	apic_start(&a);
	reports(&a, 2);
	ck_assert_msg(
	    tu_sh(&out,
	          "cd '%s' && git -c http.extraHeader='Authorization: "
	          "Bearer %s' clone -q http://%s/ledger.git clone",
	          a.dir, a.aud, a.d.addr) == 0,
	    "clone: %s", out.data);
	ck_assert_int_eq(
	    tu_sh(&head, "git -C '%s/ledger.git' rev-parse ledger", a.data), 0);
	ck_assert_int_eq(tu_sh(&out, "git -C '%s/clone' rev-parse HEAD", a.dir),
	                 0);
	ck_assert_str_eq(out.data, head.data);
	/* The auditor sees every commit, the reports among them. */
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s/clone' log --format=%%s", a.dir), 0);
	ck_assert_msg(strstr(out.data, "by rep1\n") != NULL, "log: %s",
	              out.data);
	ck_assert_int_eq(
	    tu_sh(&head, "git -C '%s/ledger.git' log --format=%%s", a.data), 0);
	ck_assert_str_eq(out.data, head.data);
	ck_assert_int_eq(
	    tu_sh(&out,
	          "test $(git -C '%s/clone' rev-list --count HEAD) "
	          "= $(git -C '%s/ledger.git' rev-list --count "
	          "ledger)",
	          a.dir, a.data),
	    0);
	ck_assert_msg(tu_sh(&out, "git -C '%s/clone' fsck --strict", a.dir) ==
	                  0,
	              "fsck: %s", out.data);
	ck_assert_msg(tu_sh(&out,
	                    "git -C '%s/clone' -c gpg.ssh.allowedSignersFile="
	                    "'%s/keys/allowed_signers' verify-commit HEAD",
	                    a.dir, a.data) == 0 &&
	                  strstr(out.data, "Good \"git\" signature") != NULL,
	              "verify-commit: %s", out.data);

	/* Enough batches for pack merges (8 packs of a level make one):
	 * the server info follows them. */
	reports(&a, 12);
	ck_assert_msg(tu_sh(&out,
	                    "git -C '%s/clone' -c http.extraHeader="
	                    "'Authorization: Bearer %s' pull -q --ff-only",
	                    a.dir, a.aud) == 0,
	              "pull: %s", out.data);
	ck_assert_int_eq(
	    tu_sh(&head, "git -C '%s/ledger.git' rev-parse ledger", a.data), 0);
	ck_assert_int_eq(tu_sh(&out, "git -C '%s/clone' rev-parse HEAD", a.dir),
	                 0);
	ck_assert_str_eq(out.data, head.data);
	ck_assert_msg(tu_sh(&out, "git -C '%s/clone' fsck --strict", a.dir) ==
	                  0,
	              "fsck: %s", out.data);
	ck_assert_int_eq(
	    tu_sh(&out,
	          "git -C '%s/clone' -c gpg.ssh.allowedSignersFile="
	          "'%s/keys/allowed_signers' verify-commit HEAD",
	          a.dir, a.data),
	    0);

	/* The CSIRT lead may clone too; HEAD requests work. */
	ck_assert_msg(
	    tu_sh(&out,
	          "cd '%s' && git -c http.extraHeader='Authorization: "
	          "Bearer %s' clone -q http://%s/ledger.git lead",
	          a.dir, a.lead, a.d.addr) == 0,
	    "lead clone: %s", out.data);
	ck_assert_int_eq(tu_sh(&out,
	                       "curl -sfI -H 'Authorization: Bearer %s' "
	                       "http://%s/ledger.git/info/refs",
	                       a.aud, a.d.addr),
	                 0);
	apic_stop(&a);
	buf_free(&out);
	buf_free(&head);
}
END_TEST

/* info/refs as the auditor gets it equals "<git rev-parse ledger>\tref". */
static void
assert_info_refs_current(struct apic *a)
{
	struct buf got = BUF_INIT, want = BUF_INIT;

	ck_assert_int_eq(tu_sh(&want,
	                       "printf '%%s\\trefs/heads/ledger\\n' "
	                       "$(git -C '%s/ledger.git' rev-parse ledger)",
	                       a->data),
	                 0);
	ck_assert_int_eq(tu_sh(&got,
	                       "curl -sf -H 'Authorization: Bearer %s' "
	                       "http://%s/ledger.git/info/refs",
	                       a->aud, a->d.addr),
	                 0);
	ck_assert_str_eq(got.data, want.data);
	buf_free(&got);
	buf_free(&want);
}

/* The server info is rendered per request from the ref and the pack
 * directory (the writer no longer rewrites files per batch): it follows
 * every batch, and a ref that `git pack-refs` moved into packed-refs,
 * which the writer also accepts as the head it moves from. */
START_TEST(test_gitweb_server_info_follows_ref)
{
	struct apic a;
	struct buf out = BUF_INIT;

	apic_start(&a);
	reports(&a, 1);
	assert_info_refs_current(&a);
	reports(&a, 1);
	assert_info_refs_current(&a);
	ck_assert_msg(tu_sh(&out,
	                    "git -C '%s/ledger.git' pack-refs --all && "
	                    "test ! -e '%s/ledger.git/refs/heads/ledger'",
	                    a.data, a.data) == 0,
	              "pack-refs: %s", out.data);
	assert_info_refs_current(&a);
	reports(&a, 1);
	assert_info_refs_current(&a);
	ck_assert_msg(
	    tu_sh(&out, "git -C '%s/ledger.git' fsck --strict", a.data) == 0,
	    "fsck: %s", out.data);
	apic_stop(&a);
	buf_free(&out);
}
END_TEST

START_TEST(test_gitweb_other_roles_refused)
{
	struct apic a;
	struct buf out = BUF_INIT;

	apic_start(&a);
	reports(&a, 1);
	ck_assert_int_eq(curl_status(&a, a.rep1, "/ledger.git/info/refs"), 403);
	ck_assert_int_eq(curl_status(&a, a.admin, "/ledger.git/info/refs"),
	                 403);
	ck_assert_int_eq(curl_status(&a, a.sm, "/ledger.git/HEAD"), 403);
	ck_assert_int_eq(curl_status(&a, a.inv, "/ledger.git/HEAD"), 403);
	ck_assert_int_eq(curl_status(&a, NULL, "/ledger.git/info/refs"), 401);
	ck_assert_int_eq(curl_status(&a, "not-a-token", "/ledger.git/HEAD"),
	                 401);
	ck_assert_int_eq(curl_status(&a, a.aud, "/ledger.git/info/refs"), 200);
	ck_assert_int_eq(tu_sh(&out,
	                       "curl -s -D - -o /dev/null "
	                       "http://%s/ledger.git/info/refs | grep -i "
	                       "'^WWW-Authenticate: Bearer'",
	                       a.d.addr),
	                 0);
	ck_assert_int_ne(tu_sh(&out,
	                       "cd '%s' && git -c http.extraHeader="
	                       "'Authorization: Bearer %s' clone -q "
	                       "http://%s/ledger.git rep",
	                       a.dir, a.rep1, a.d.addr),
	                 0);
	/* Denials are logged with the actor. */
	ck_assert_int_eq(
	    tu_sh(&out, "grep denied '%s' | grep -q actor=rep1", a.d.log_path),
	    0);
	apic_stop(&a);
	buf_free(&out);
}
END_TEST

/* GETs `path` as the auditor without any client normalisation; the reply
 * must be 404 (400 for an encoded NUL, which the HTTP layer refuses before
 * routing) and must not carry the signing key. */
static void
expect_unreachable(struct apic *a, const char *path, const char *key)
{
	struct buf hdr = BUF_INIT, body = BUF_INIT;
	int status;

	buf_printf(&hdr, "Authorization: Bearer %s\r\n", a->aud);
	status = tu_http(a->d.addr, "GET", path, hdr.data, NULL, 0, &body);
	ck_assert_msg(status == 404 ||
	                  (status == 400 && strstr(path, "%00") != NULL),
	              "%s: %d", path, status);
	ck_assert_msg(body.data == NULL || strstr(body.data, key) == NULL,
	              "%s leaked the key", path);
	buf_free(&hdr);
	buf_free(&body);
}

START_TEST(test_gitweb_nothing_outside_the_repository)
{
	struct apic a;
	struct buf out = BUF_INIT, key = BUF_INIT;
	char *keyp, *pack, *data;
	size_t len;
	static const char *const paths[] = {
	    "/ledger.git/../index.sqlite",
	    "/ledger.git/%2e%2e/keystore.sqlite",
	    "/ledger.git/%2E%2E/keys/ledger_ed25519",
	    "/ledger.git/objects/../../keys/ledger_ed25519",
	    "/ledger.git/objects/%2e%2e/%2e%2e/keys/ledger_ed25519",
	    "/ledger.git/objects%2f..%2f..%2fkeys%2fledger_ed25519",
	    "/ledger.git/config",
	    "/ledger.git/objects/pack/../../config",
	    "/ledger.git/objects/pack/..%2f..%2fconfig",
	    "/ledger.git//etc/passwd",
	    "/ledger.git/%2fetc%2fpasswd",
	    "/ledger.git/info/refs%00",
	    "/ledger.git/HEAD%00/../config",
	    "/ledger.git/objects/info/alternates",
	    "/ledger.git/objects/info/http-alternates",
	    "/ledger.git/hooks/pre-receive.sample",
	    "/ledger.git/objects/pack/",
	};

	apic_start(&a);
	reports(&a, 1);
	keyp = util_path_join(a.data, "keys/ledger_ed25519");
	ck_assert_int_eq(util_read_file(&data, &len, keyp, 1 << 16), 0);
	/* A line of the key's base64 body: never in a reply. */
	buf_printf(&key, "%.40s", strchr(data, '\n') + 1);
	free(data);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(paths); i++)
		expect_unreachable(&a, paths[i], key.data);

	/* A symlink planted where a pack would be, and a symlinked
	 * directory on the way to a loose object (the file itself a hard
	 * link of the key, so only the directory link guards it). */
	pack = util_path_join(
	    a.data, "ledger.git/objects/pack/"
	            "pack-0123456789abcdef0123456789abcdef01234567.pack");
	ck_assert_int_eq(symlink("../../../keys/ledger_ed25519", pack), 0);
	ck_assert_int_eq(tu_sh(&out, "cmp -s '%s' '%s'", pack, keyp), 0);
	expect_unreachable(&a,
	                   "/ledger.git/objects/pack/"
	                   "pack-0123456789abcdef0123456789abcdef01234567.pack",
	                   key.data);
	ck_assert_int_eq(
	    tu_sh(&out,
	          "ln -s ../../keys '%s/ledger.git/objects/ab' && "
	          "ln '%s/keys/ledger_ed25519' '%s/keys/"
	          "cdef0123456789abcdef0123456789abcdef01' && "
	          "cmp -s '%s/keys/ledger_ed25519' '%s/ledger.git/"
	          "objects/ab/cdef0123456789abcdef0123456789abcdef01'",
	          a.data, a.data, a.data, a.data, a.data),
	    0);
	expect_unreachable(
	    &a, "/ledger.git/objects/ab/cdef0123456789abcdef0123456789abcdef01",
	    key.data);
	/* Still serving what it should. */
	ck_assert_int_eq(
	    curl_status(&a, a.aud, "/ledger.git/objects/info/packs"), 200);
	apic_stop(&a);
	free(pack);
	free(keyp);
	buf_free(&out);
	buf_free(&key);
}
END_TEST

Suite *
gitweb_suite(void)
{
	Suite *s = suite_create("gitweb");
	TCase *tc = tcase_create("daemon");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gitweb_auditor_clones_and_fetches);
	tcase_add_test(tc, test_gitweb_other_roles_refused);
	tcase_add_test(tc, test_gitweb_server_info_follows_ref);
	tcase_add_test(tc, test_gitweb_nothing_outside_the_repository);
	suite_add_tcase(s, tc);
	return s;
}
