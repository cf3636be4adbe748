/*
 * check_evidence.c - digital evidence, encryption at rest and disposal
 * (issue 6) through the real daemon: chunked upload with resume, download
 * verified chunk by chunk, versions and their history, content access per
 * role and level, canaries nowhere in plaintext, crypto-shredding that
 * leaves a ledger git and csirt-audit still verify; and the reader's own
 * checks (tampered ciphertext, a manifest whose digest is wrong) on a real
 * ledger.
 *
 * CSIRT_EVIDENCE_TEST_BYTES sets the size of the large round trip (default
 * 64 MiB, small enough for CI under ASan); CSIRT_EVIDENCE_MAX_RSS_GROWTH_MB,
 * when set, makes the growth of the daemon's VmHWM over that round trip an
 * assertion (a figure for non-sanitised builds; ASan's quarantine alone
 * holds 256 MiB).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apiclient.h"
#include "codec.h"
#include "crypto.h"
#include "datadir.h"
#include "error.h"
#include "evidence.h"
#include "fixtures.h"
#include "keystore.h"
#include "layout.h"
#include "ledger.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define MiB (1024u * 1024u)
#define CANARY "CANARY-evidence-7f3a9c1e-機密"

/* ---- content: deterministic, generated chunk by chunk --------------- */

static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Bytes [off, off+len) of the content with `seed` (off a multiple of 8). */
static void
content_fill(unsigned char *p, size_t len, uint64_t seed, uint64_t off)
{
	uint64_t s = seed ^ (off / MiB + 1) * 0x9E3779B97F4A7C15ull;

	for (uint64_t skip = off % MiB / 8; skip > 0; skip--)
		rng_next(&s);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rng_next(&s);
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static void
content_sha256(char out[CRYPTO_SHA256_HEX_LEN], uint64_t size, uint64_t seed)
{
	struct crypto_sha256_ctx *c = crypto_sha256_new();
	unsigned char *chunk = util_xmalloc(MiB), d[CRYPTO_SHA256_LEN];

	for (uint64_t at = 0; at < size; at += MiB) {
		size_t n = size - at < MiB ? (size_t)(size - at) : MiB;
		content_fill(chunk, n, seed, at);
		crypto_sha256_update(c, chunk, n);
	}
	crypto_sha256_final(c, d);
	util_hex(out, d, sizeof(d));
	free(chunk);
}

/* ---- calls ------------------------------------------------------------ */

static Csirt__V1__Classification *
classification(Csirt__V1__Confidentiality c)
{
	Csirt__V1__Classification *cl =
	    apic_msg_new(&csirt__v1__classification__descriptor);

	cl->confidentiality = c;
	cl->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	cl->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	return cl;
}

/* A case of division d1 at `level`, escalated, under investigation, with
 * `inv` assigned; returns its id (caller frees). */
static char *
case_ready(struct apic *a, Csirt__V1__Confidentiality level)
{
	Csirt__V1__ReportIncidentRequest *r = apic_report_request("証拠の事案");
	Csirt__V1__AssignInvestigatorsRequest *as =
	    apic_msg_new(&csirt__v1__assign_investigators_request__descriptor);
	Csirt__V1__CaseResponse *resp = NULL;
	char *id;

	r->case_->classification->confidentiality = level;
	ck_assert_int_eq(apic_call(a, a->rep1, "CaseService/ReportIncident",
	                           &r->base,
	                           &csirt__v1__case_response__descriptor,
	                           (ProtobufCMessage **)&resp, NULL),
	                 200);
	id = util_strdup(resp->case_->id);
	codec_free(&resp->base);
	codec_free(&r->base);
	/* Category 6 is not escalated automatically. */
	ck_assert_int_eq(
	    apic_action(a, a->sm, "CaseService/Escalate", id, "CSIRTへ"), 200);
	ck_assert_int_eq(apic_action(a, a->lead,
	                             "CaseService/OpenInvestigation", id,
	                             "調査開始"),
	                 200);
	codec_set_string(&as->id, id);
	as->assignees = util_xcalloc(1, sizeof(char *));
	as->assignees[0] = util_strdup("inv");
	as->n_assignees = 1;
	ck_assert_int_eq(apic_call(a, a->lead,
	                           "CaseService/AssignInvestigators", &as->base,
	                           NULL, NULL, NULL),
	                 200);
	codec_free(&as->base);
	return id;
}

static int
begin(struct apic *a, const char *token, const char *case_id, const char *name,
      uint64_t size, const char *sha, Csirt__V1__Classification *cl,
      const char *supersedes, const char *reason,
      Csirt__V1__EvidenceUpload **up, struct buf *err)
{
	Csirt__V1__BeginEvidenceUploadRequest *r =
	    apic_msg_new(&csirt__v1__begin_evidence_upload_request__descriptor);
	int st;

	codec_set_string(&r->case_id, case_id);
	codec_set_string(&r->name, name);
	codec_set_string(&r->media_type, "application/octet-stream");
	r->size = size;
	codec_set_string(&r->sha256, sha);
	r->classification = cl;
	codec_set_string(&r->supersedes, supersedes);
	codec_set_string(&r->reason, reason);
	st = apic_call(a, token, "EvidenceService/BeginEvidenceUpload",
	               &r->base, &csirt__v1__evidence_upload__descriptor,
	               (ProtobufCMessage **)up, err);
	codec_free(&r->base);
	return st;
}

static int
append(struct apic *a, const char *token, const char *upload_id,
       uint64_t offset, const void *data, size_t len, struct buf *err)
{
	Csirt__V1__AppendEvidenceRequest *r =
	    apic_msg_new(&csirt__v1__append_evidence_request__descriptor);
	int st;

	codec_set_string(&r->upload_id, upload_id);
	r->offset = offset;
	r->data.data = util_xmalloc(len ? len : 1);
	memcpy(r->data.data, data, len);
	r->data.len = len;
	st = apic_call(a, token, "EvidenceService/AppendEvidence", &r->base,
	               NULL, NULL, err);
	codec_free(&r->base);
	return st;
}

static int
commit(struct apic *a, const char *token, const char *upload_id,
       Csirt__V1__EvidenceResponse **resp, struct buf *err)
{
	Csirt__V1__CommitEvidenceUploadRequest *r = apic_msg_new(
	    &csirt__v1__commit_evidence_upload_request__descriptor);
	int st;

	codec_set_string(&r->upload_id, upload_id);
	st = apic_call(a, token, "EvidenceService/CommitEvidenceUpload",
	               &r->base, &csirt__v1__evidence_response__descriptor,
	               (ProtobufCMessage **)resp, err);
	codec_free(&r->base);
	return st;
}

/* Uploads `size` bytes of content `seed` as `token`; returns the commit's
 * status and the evidence id in `id_out` (24 bytes) on success. */
static int
upload_seeded(struct apic *a, const char *token, const char *case_id,
              uint64_t size, uint64_t seed, Csirt__V1__Classification *cl,
              const char *supersedes, const char *reason, char *id_out)
{
	Csirt__V1__EvidenceUpload *up = NULL;
	Csirt__V1__EvidenceResponse *resp = NULL;
	unsigned char *chunk = util_xmalloc(MiB);
	char sha[CRYPTO_SHA256_HEX_LEN];
	struct buf err = BUF_INIT;
	int st;

	content_sha256(sha, size, seed);
	st = begin(a, token, case_id, "image.dd", size, sha, cl, supersedes,
	           reason, &up, &err);
	if (st != 200)
		goto done;
	for (uint64_t at = 0; at < size; at += MiB) {
		size_t n = size - at < MiB ? (size_t)(size - at) : MiB;
		content_fill(chunk, n, seed, at);
		ck_assert_msg(
		    append(a, token, up->upload_id, at, chunk, n, &err) == 200,
		    "append at %" PRIu64 ": %s", at, err.data);
	}
	st = commit(a, token, up->upload_id, &resp, &err);
	if (st == 200) {
		snprintf(id_out, LAYOUT_EVIDENCE_ID_LEN, "%s",
		         resp->manifest->evidence_id);
		codec_free(&resp->base);
	}
done:
	codec_free(up ? &up->base : NULL);
	buf_free(&err);
	free(chunk);
	return st;
}

/* Downloads version `version` chunk by chunk; each chunk is handed to
 * `check` when not NULL.  Returns the status of the first failing call
 * (200 when all went well); `err` keeps its body. */
static int
download(struct apic *a, const char *token, const char *id, uint32_t version,
         uint64_t *total, struct buf *whole, uint64_t seed, struct buf *err)
{
	uint64_t at = 0;
	unsigned char *want = util_xmalloc(MiB);
	int st = 200;

	for (;;) {
		Csirt__V1__DownloadEvidenceRequest *r = apic_msg_new(
		    &csirt__v1__download_evidence_request__descriptor);
		Csirt__V1__DownloadEvidenceResponse *resp = NULL;
		bool eof;

		codec_set_string(&r->evidence_id, id);
		r->version = version;
		r->offset = at;
		st = apic_call(
		    a, token, "EvidenceService/DownloadEvidence", &r->base,
		    &csirt__v1__download_evidence_response__descriptor,
		    (ProtobufCMessage **)&resp, err);
		codec_free(&r->base);
		if (st != 200)
			break;
		ck_assert_uint_le(resp->data.len, MiB);
		if (whole != NULL)
			buf_put(whole, resp->data.data, resp->data.len);
		else if (resp->data.len > 0) {
			content_fill(want, resp->data.len, seed, at);
			ck_assert_msg(
			    memcmp(want, resp->data.data, resp->data.len) == 0,
			    "content differs at %" PRIu64, at);
		}
		at += resp->data.len;
		eof = resp->eof;
		codec_free(&resp->base);
		if (eof)
			break;
	}
	if (total != NULL)
		*total = at;
	free(want);
	return st;
}

static long
vm_hwm_kib(pid_t pid)
{
	char path[64], *text = NULL, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (util_read_file(&text, NULL, path, 1 << 16) != 0)
		return -1;
	if ((p = strstr(text, "VmHWM:")) != NULL)
		kib = strtol(p + 6, NULL, 10);
	free(text);
	return kib;
}

static void
ledger_verifies(struct apic *a)
{
	struct buf out = BUF_INIT;

	ck_assert_msg(tu_sh(&out,
	                    "cd '%s/ledger.git' && git fsck --strict "
	                    "--no-dangling && for c in $(git rev-list "
	                    "ledger); do git -c gpg.ssh.allowedSignersFile="
	                    "'%s/keys/allowed_signers' verify-commit $c "
	                    ">/dev/null 2>&1 || exit 1; done",
	                    a->data, a->data) == 0,
	              "git: %s", out.data);
	ck_assert_msg(tu_sh(&out, "'%s' verify '%s/ledger.git'",
	                    CSIRT_AUDIT_BIN, a->data) == 0,
	              "csirt-audit: %s", out.data);
	buf_free(&out);
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(test_evidence_large_roundtrip_and_versions)
{
	const char *env = getenv("CSIRT_EVIDENCE_TEST_BYTES");
	const char *rss_max = getenv("CSIRT_EVIDENCE_MAX_RSS_GROWTH_MB");
	uint64_t size = env != NULL ? strtoull(env, NULL, 10) : 64ull * MiB;
	char id[LAYOUT_EVIDENCE_ID_LEN], id2[LAYOUT_EVIDENCE_ID_LEN];
	Csirt__V1__GetEvidenceHistoryRequest *hr;
	Csirt__V1__GetEvidenceHistoryResponse *h = NULL;
	Csirt__V1__ListEvidenceRequest *lr;
	Csirt__V1__ListEvidenceResponse *l = NULL;
	struct buf err = BUF_INIT;
	uint64_t total = 0;
	long hwm0, hwm1;
	struct apic a;
	char *case_id;

	apic_start(&a);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	hwm0 = vm_hwm_kib(a.d.pid);
	ck_assert_int_eq(
	    upload_seeded(&a, a.inv, case_id, size, 1, NULL, "", "", id), 200);
	ck_assert_msg(download(&a, a.inv, id, 0, &total, NULL, 1, &err) == 200,
	              "%s", err.data);
	ck_assert_uint_eq(total, size);
	hwm1 = vm_hwm_kib(a.d.pid);
	fprintf(stderr,
	        "evidence round trip of %" PRIu64 " bytes: csirtd VmHWM %ld -> "
	        "%ld KiB (growth %ld KiB)\n",
	        size, hwm0, hwm1, hwm1 - hwm0);
	if (rss_max != NULL)
		ck_assert_int_lt(hwm1 - hwm0, atol(rss_max) * 1024);

	/* A new version: the old one stays downloadable, the history says
	 * who, when and why. */
	ck_assert_int_eq(upload_seeded(&a, a.lead, case_id, 3 * MiB + 5, 2,
	                               NULL, id, "再抽出: 欠損セクタを補完",
	                               id2),
	                 200);
	ck_assert_str_eq(id, id2);
	ck_assert_int_eq(download(&a, a.sm, id, 2, &total, NULL, 2, &err), 200);
	ck_assert_uint_eq(total, 3 * MiB + 5);
	ck_assert_int_eq(download(&a, a.sm, id, 1, &total, NULL, 1, &err), 200);
	ck_assert_uint_eq(total, size);
	/* The newest by default. */
	ck_assert_int_eq(download(&a, a.sm, id, 0, &total, NULL, 2, &err), 200);
	ck_assert_uint_eq(total, 3 * MiB + 5);
	/* A version needs its reason. */
	buf_reset(&err);
	ck_assert_int_eq(
	    upload_seeded(&a, a.lead, case_id, 10, 3, NULL, id, "", id2), 400);

	hr = apic_msg_new(&csirt__v1__get_evidence_history_request__descriptor);
	codec_set_string(&hr->evidence_id, id);
	ck_assert_int_eq(
	    apic_call(&a, a.aud, "EvidenceService/GetEvidenceHistory",
	              &hr->base,
	              &csirt__v1__get_evidence_history_response__descriptor,
	              (ProtobufCMessage **)&h, NULL),
	    200);
	ck_assert_uint_eq(h->item->n_versions, 2);
	ck_assert_str_eq(h->item->versions[0]->uploader, "inv");
	ck_assert_str_eq(h->item->versions[1]->uploader, "lead");
	ck_assert_str_eq(h->item->versions[1]->reason,
	                 "再抽出: 欠損セクタを補完");
	ck_assert_uint_eq(h->item->versions[1]->supersedes, 1);
	ck_assert(h->item->versions[0]->uploaded_at[0] != '\0');
	ck_assert_uint_eq(h->item->versions[0]->size, size);
	ck_assert_str_eq(h->item->versions[0]->encryption, EVIDENCE_ENCRYPTION);
	codec_free(&h->base);
	codec_free(&hr->base);

	lr = apic_msg_new(&csirt__v1__list_evidence_request__descriptor);
	codec_set_string(&lr->case_id, case_id);
	ck_assert_int_eq(
	    apic_call(&a, a.rep1, "EvidenceService/ListEvidence", &lr->base,
	              &csirt__v1__list_evidence_response__descriptor,
	              (ProtobufCMessage **)&l, NULL),
	    200);
	ck_assert_uint_eq(l->n_items, 1);
	codec_free(&l->base);
	/* Another division's 所属長 learns nothing. */
	ck_assert_int_eq(apic_call(&a, a.rep2, "EvidenceService/ListEvidence",
	                           &lr->base, NULL, NULL, NULL),
	                 404);
	codec_free(&lr->base);

	/* The ledger holds both versions as blobs and still verifies. */
	ledger_verifies(&a);
	free(case_id);
	buf_free(&err);
	apic_stop(&a);
}
END_TEST

/* Sends an AppendEvidence whose body stops after `send` of its `len`
 * bytes, then closes the connection: a dropped upload. */
static void
append_dropped(struct apic *a, const char *token, const char *upload_id,
               uint64_t offset, const void *data, size_t len, size_t send)
{
	Csirt__V1__AppendEvidenceRequest *r =
	    apic_msg_new(&csirt__v1__append_evidence_request__descriptor);
	struct buf body = BUF_INIT, req = BUF_INIT;
	struct sockaddr_in sa;
	const char *colon = strrchr(a->d.addr, ':');
	int fd;

	codec_set_string(&r->upload_id, upload_id);
	r->offset = offset;
	r->data.data = util_xmalloc(len);
	memcpy(r->data.data, data, len);
	r->data.len = len;
	ck_assert_int_eq(codec_pack(&body, &r->base), 0);
	buf_printf(
	    &req,
	    "POST /twirp/csirt.v1.EvidenceService/AppendEvidence "
	    "HTTP/1.1\r\nHost: x\r\nContent-Type: application/protobuf"
	    "\r\nAuthorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n",
	    token, body.len);
	buf_put(&req, body.data, send < body.len ? send : body.len);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, req.data, req.len), (ssize_t)req.len);
	close(fd);
	codec_free(&r->base);
	buf_free(&body);
	buf_free(&req);
}

START_TEST(test_evidence_interrupted_upload_resumes)
{
	uint64_t size = 5 * MiB + 123;
	unsigned char *chunk = util_xmalloc(MiB);
	char sha[CRYPTO_SHA256_HEX_LEN];
	Csirt__V1__EvidenceUpload *up = NULL, *st = NULL;
	Csirt__V1__EvidenceResponse *resp = NULL;
	Csirt__V1__GetEvidenceUploadRequest *gr;
	struct buf err = BUF_INIT;
	uint64_t total = 0;
	struct apic a;
	char *case_id;

	apic_start(&a);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	content_sha256(sha, size, 7);
	ck_assert_int_eq(begin(&a, a.inv, case_id, "phone.img", size, sha, NULL,
	                       "", "", &up, &err),
	                 200);
	for (uint64_t at = 0; at < 2 * MiB; at += MiB) {
		content_fill(chunk, MiB, 7, at);
		ck_assert_int_eq(
		    append(&a, a.inv, up->upload_id, at, chunk, MiB, NULL),
		    200);
	}
	/* The connection drops in the middle of the third chunk. */
	content_fill(chunk, MiB, 7, 2 * MiB);
	append_dropped(&a, a.inv, up->upload_id, 2 * MiB, chunk, MiB, MiB / 2);
	/* The client asks where to resume: nothing of the broken chunk. */
	gr = apic_msg_new(&csirt__v1__get_evidence_upload_request__descriptor);
	codec_set_string(&gr->upload_id, up->upload_id);
	ck_assert_int_eq(
	    apic_call(&a, a.inv, "EvidenceService/GetEvidenceUpload", &gr->base,
	              &csirt__v1__evidence_upload__descriptor,
	              (ProtobufCMessage **)&st, NULL),
	    200);
	ck_assert_uint_eq(st->received, 2 * MiB);
	/* Another user cannot see or feed it. */
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "EvidenceService/GetEvidenceUpload",
	                           &gr->base, NULL, NULL, NULL),
	                 404);
	codec_free(&gr->base);
	/* A wrong offset is refused and names the right one. */
	buf_reset(&err);
	ck_assert_int_eq(
	    append(&a, a.inv, up->upload_id, 3 * MiB, chunk, MiB, &err), 409);
	ck_assert_msg(strstr(err.data, "offset 2097152") != NULL, "%s",
	              err.data);
	/* Commit before the end: refused. */
	buf_reset(&err);
	ck_assert_int_eq(commit(&a, a.inv, up->upload_id, NULL, &err), 412);
	for (uint64_t at = st->received; at < size; at += MiB) {
		size_t n = size - at < MiB ? (size_t)(size - at) : MiB;
		content_fill(chunk, n, 7, at);
		ck_assert_int_eq(
		    append(&a, a.inv, up->upload_id, at, chunk, n, NULL), 200);
	}
	/* Beyond the announced size: refused. */
	ck_assert_int_eq(append(&a, a.inv, up->upload_id, size, chunk, 1, NULL),
	                 400);
	ck_assert_int_eq(commit(&a, a.inv, up->upload_id, &resp, &err), 200);
	ck_assert_int_eq(download(&a, a.inv, resp->manifest->evidence_id, 0,
	                          &total, NULL, 7, &err),
	                 200);
	ck_assert_uint_eq(total, size);
	/* The staging file is gone once committed. */
	ck_assert_int_eq(
	    tu_sh(NULL, "test -z \"$(ls -A '%s/staging')\"", a.data), 0);
	codec_free(&resp->base);
	codec_free(&st->base);
	codec_free(&up->base);
	free(case_id);
	free(chunk);
	buf_free(&err);
	apic_stop(&a);
}
END_TEST

START_TEST(test_evidence_wrong_digest_and_limits)
{
	char sha[CRYPTO_SHA256_HEX_LEN];
	Csirt__V1__EvidenceUpload *up = NULL;
	struct buf err = BUF_INIT;
	struct apic a;
	char *case_id, *conf = NULL, *dir = tu_tmpdir();
	const char *extra[] = {"--config", NULL, NULL};

	conf = util_path_join(dir, "csirtd.conf");
	ck_assert_int_eq(util_write_file_atomic(
	                     conf, "evidence_max_bytes = 1000\n", 26, 0600),
	                 0);
	extra[1] = conf;
	apic_start_args(&a, extra);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	/* The client's digest is not that of the bytes sent: refused at
	 * commit, nothing enters the ledger. */
	crypto_sha256_hex(sha, "other", 5);
	ck_assert_int_eq(begin(&a, a.lead, case_id, "x.txt", 5, sha, NULL, "",
	                       "", &up, &err),
	                 200);
	ck_assert_int_eq(append(&a, a.lead, up->upload_id, 0, "hello", 5, NULL),
	                 200);
	buf_reset(&err);
	ck_assert_int_eq(commit(&a, a.lead, up->upload_id, NULL, &err), 400);
	ck_assert_msg(strstr(err.data, "sha256") != NULL, "%s", err.data);
	codec_free(&up->base);
	up = NULL;
	/* Over evidence_max_bytes. */
	buf_reset(&err);
	ck_assert_int_eq(begin(&a, a.lead, case_id, "big", 1001, sha, NULL, "",
	                       "", &up, &err),
	                 400);
	ck_assert_msg(strstr(err.data, "evidence_max_bytes") != NULL, "%s",
	              err.data);
	/* 第4.4: never below the case's classification. */
	buf_reset(&err);
	ck_assert_int_eq(
	    begin(
	        &a, a.lead, case_id, "low", 5, sha,
	        classification(CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW),
	        "", "", &up, &err),
	    400);
	ck_assert_msg(strstr(err.data, "第4.4") != NULL, "%s", err.data);
	/* Who may upload: not a reporter, not an auditor (the table), not
	 * an investigator of another case. */
	ck_assert_int_eq(
	    begin(&a, a.rep1, case_id, "x", 5, sha, NULL, "", "", &up, NULL),
	    403);
	ck_assert_int_eq(
	    begin(&a, a.aud, case_id, "x", 5, sha, NULL, "", "", &up, NULL),
	    403);
	free(case_id);
	free(conf);
	tu_rmrf(dir);
	free(dir);
	buf_free(&err);
	apic_stop(&a);
}
END_TEST

/* An unfinished upload idle past evidence_upload_ttl_s is dropped: its
 * staging file goes, the expiry is logged, and the upload id is unknown
 * from then on (nothing reached the ledger).  The test waits, bounded, for
 * the condition; it asserts no time. */
START_TEST(test_evidence_idle_upload_expires)
{
	char sha[CRYPTO_SHA256_HEX_LEN];
	Csirt__V1__EvidenceUpload *up = NULL;
	Csirt__V1__GetEvidenceUploadRequest *q = NULL;
	struct apic a;
	char *case_id, *log = NULL;
	uint64_t seq;
	int gone = 1;

	apic_start_conf(&a, "evidence_upload_ttl_s = 1\n");
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	seq = apic_ledger_seq(&a);
	crypto_sha256_hex(sha, "0123456789", 10);
	ck_assert_int_eq(begin(&a, a.lead, case_id, "half.bin", 10, sha, NULL,
	                       "", "", &up, NULL),
	                 200);
	ck_assert_int_eq(append(&a, a.lead, up->upload_id, 0, "01234", 5, NULL),
	                 200);
	ck_assert_int_eq(
	    tu_sh(NULL, "test -n \"$(ls -A '%s/staging')\"", a.data), 0);
	/* Any call that looks an upload up sweeps first; asking about an
	 * unknown one (asking about ours would keep it alive) drives the
	 * sweep until the staging file is gone. */
	q = apic_msg_new(&csirt__v1__get_evidence_upload_request__descriptor);
	codec_set_string(&q->upload_id, "no-such-upload");
	for (int i = 0; i < 300 && gone != 0; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		ck_assert_int_eq(apic_call(&a, a.lead,
		                           "EvidenceService/GetEvidenceUpload",
		                           &q->base, NULL, NULL, NULL),
		                 404);
		gone = tu_sh(NULL, "test -z \"$(ls -A '%s/staging')\"", a.data);
	}
	ck_assert_int_eq(gone, 0);
	codec_set_string(&q->upload_id, up->upload_id);
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "EvidenceService/GetEvidenceUpload",
	                           &q->base, NULL, NULL, NULL),
	                 404);
	ck_assert_int_eq(append(&a, a.lead, up->upload_id, 5, "56789", 5, NULL),
	                 404);
	ck_assert_int_eq(util_read_file(&log, NULL, a.d.log_path, 16 << 20), 0);
	ck_assert_ptr_nonnull(strstr(log, "evidence upload expired"));
	ck_assert_uint_eq(apic_ledger_seq(&a), seq);
	free(log);
	codec_free(&q->base);
	codec_free(&up->base);
	free(case_id);
	apic_stop(&a);
}
END_TEST

/* Expected access (200 / 403) for the downloaders below at each level. */
START_TEST(test_evidence_content_access_per_role_and_level)
{
	static const Csirt__V1__Confidentiality levels[] = {
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW,
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM,
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH};
	/* rep1 (its division), rep2 (another: 404), sm, lead, inv (assigned),
	 * inv2 (not assigned), aud, admin (not a case reader at all). */
	static const int want[3][8] = {
	    {200, 404, 200, 200, 200, 403, 200, 403},
	    {403, 404, 200, 200, 200, 403, 200, 403},
	    {403, 404, 200, 200, 200, 403, 403, 403},
	};
	char inv2[80], id[LAYOUT_EVIDENCE_ID_LEN];
	struct apic a;

	apic_start(&a);
	apic_create_user(&a, "inv2", CSIRT__V1__ROLE__ROLE_INVESTIGATOR, "",
	                 inv2);
	for (size_t l = 0; l < 3; l++) {
		const char *tokens[8] = {a.rep1, a.rep2, a.sm,  a.lead,
		                         a.inv,  inv2,   a.aud, a.admin};
		char *case_id = case_ready(&a, levels[l]);
		ck_assert_int_eq(upload_seeded(&a, a.lead, case_id, 1000, 9,
		                               NULL, "", "", id),
		                 200);
		for (size_t t = 0; t < 8; t++) {
			struct buf err = BUF_INIT;
			int st =
			    download(&a, tokens[t], id, 0, NULL, NULL, 9, &err);
			ck_assert_msg(st == want[l][t],
			              "level %zu, caller %zu: %d (%s)", l, t,
			              st, err.data ? err.data : "");
			buf_free(&err);
		}
		free(case_id);
	}
	apic_stop(&a);
}
END_TEST

/* Whether `needle` is anywhere in the decompressed objects of the ledger,
 * the index, the keystore, the staging files or the daemon's log. */
static void
assert_nowhere(struct apic *a, const char *needle)
{
	struct buf out = BUF_INIT;
	char *p;

	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s/ledger.git' && git cat-file "
	                       "--batch-all-objects --batch",
	                       a->data),
	                 0);
	ck_assert_uint_gt(out.len, 0);
	ck_assert_msg(!tu_memfind(out.data, out.len, needle, strlen(needle)),
	              "\"%s\" is in a ledger object", needle);
	p = util_path_join(a->data, "index.sqlite");
	ck_assert(!tu_file_contains(p, needle, strlen(needle)));
	free(p);
	p = util_path_join(a->data, "index.sqlite-wal");
	ck_assert(!tu_file_contains(p, needle, strlen(needle)));
	free(p);
	p = util_path_join(a->data, "keystore.sqlite");
	ck_assert(!tu_file_contains(p, needle, strlen(needle)));
	free(p);
	ck_assert_msg(tu_sh(NULL, "! grep -rqF '%s' '%s/staging' '%s'", needle,
	                    a->data, a->d.log_path) == 0,
	              "\"%s\" is in a staging file or the log", needle);
	buf_free(&out);
}

START_TEST(test_evidence_canary_never_in_plaintext)
{
	size_t n = 3 * MiB;
	char *content = util_xmalloc(n), sha[CRYPTO_SHA256_HEX_LEN];
	Csirt__V1__EvidenceUpload *up = NULL;
	Csirt__V1__EvidenceResponse *resp = NULL;
	struct buf whole = BUF_INIT, err = BUF_INIT;
	struct apic a;
	char *case_id;

	for (size_t i = 0; i < n; i += strlen(CANARY))
		memcpy(content + i, CANARY,
		       n - i < strlen(CANARY) ? n - i : strlen(CANARY));
	crypto_sha256_hex(sha, content, n);
	apic_start(&a);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	ck_assert_int_eq(begin(&a, a.lead, case_id, "canary.txt", n, sha, NULL,
	                       "", "", &up, &err),
	                 200);
	for (size_t at = 0; at < n; at += MiB)
		ck_assert_int_eq(append(&a, a.lead, up->upload_id, at,
		                        content + at, MiB, NULL),
		                 200);
	/* Half-way: the staging file holds ciphertext only. */
	assert_nowhere(&a, CANARY);
	ck_assert_int_eq(commit(&a, a.lead, up->upload_id, &resp, &err), 200);
	ck_assert_int_eq(download(&a, a.sm, resp->manifest->evidence_id, 0,
	                          NULL, &whole, 0, &err),
	                 200);
	ck_assert_uint_eq(whole.len, n);
	ck_assert(memcmp(whole.data, content, n) == 0);
	assert_nowhere(&a, CANARY);
	codec_free(&resp->base);
	codec_free(&up->base);
	buf_free(&whole);
	buf_free(&err);
	free(content);
	free(case_id);
	apic_stop(&a);
}
END_TEST

START_TEST(test_evidence_disposal_shreds_the_key)
{
	char id[LAYOUT_EVIDENCE_ID_LEN], id2[LAYOUT_EVIDENCE_ID_LEN], kid[64];
	unsigned char w1[256], w2[256];
	size_t n1 = 0, n2 = 0;
	Csirt__V1__DisposeEvidenceRequest *dr;
	struct keystore *ks = NULL;
	struct buf err = BUF_INIT, wal = BUF_INIT;
	struct apic a;
	char *case_id, *ksp;
	struct stat stt;

	apic_start(&a);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	ck_assert_int_eq(
	    upload_seeded(&a, a.inv, case_id, 2 * MiB + 1, 4, NULL, "", "", id),
	    200);
	ck_assert_int_eq(
	    upload_seeded(&a, a.inv, case_id, 100, 5, NULL, id, "訂正", id2),
	    200);
	/* A download in progress keeps a cursor: disposal must drop it. */
	{
		Csirt__V1__DownloadEvidenceRequest *r = apic_msg_new(
		    &csirt__v1__download_evidence_request__descriptor);
		codec_set_string(&r->evidence_id, id);
		r->version = 1;
		r->length = 4096;
		ck_assert_int_eq(apic_call(&a, a.lead,
		                           "EvidenceService/DownloadEvidence",
		                           &r->base, NULL, NULL, NULL),
		                 200);
		codec_free(&r->base);
	}
	/* The wrapped keys as stored: read with the daemon stopped. */
	ck_assert_int_eq(tu_daemon_stop(&a.d, SIGTERM, 10000) != -1, 1);
	ksp = util_path_join(a.data, "keystore.sqlite");
	ck_assert_int_eq(keystore_open(&ks, ksp), 0);
	snprintf(kid, sizeof(kid), "%s.v1", id);
	ck_assert_int_eq(keystore_key_get(ks, kid, w1, sizeof(w1), &n1), 0);
	snprintf(kid, sizeof(kid), "%s.v2", id);
	ck_assert_int_eq(keystore_key_get(ks, kid, w2, sizeof(w2), &n2), 0);
	keystore_close(ks);
	ck_assert(tu_file_contains(ksp, w1, n1));
	ck_assert_int_eq(tu_daemon_start(&a.d, a.data, NULL), 0);

	/* Only the CSIRT lead, and with a reason. */
	dr = apic_msg_new(&csirt__v1__dispose_evidence_request__descriptor);
	codec_set_string(&dr->evidence_id, id);
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "EvidenceService/DisposeEvidence", &dr->base,
	                           NULL, NULL, NULL),
	                 400);
	codec_set_string(&dr->reason, "保存期間満了につき廃棄（別表第3）");
	ck_assert_int_eq(apic_call(&a, a.sm, "EvidenceService/DisposeEvidence",
	                           &dr->base, NULL, NULL, NULL),
	                 403);
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "EvidenceService/DisposeEvidence", &dr->base,
	                           NULL, NULL, &err),
	                 200);
	/* Twice: refused. */
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "EvidenceService/DisposeEvidence", &dr->base,
	                           NULL, NULL, NULL),
	                 412);
	codec_free(&dr->base);

	/* Every version: a clear refusal. */
	for (uint32_t v = 1; v <= 2; v++) {
		buf_reset(&err);
		ck_assert_int_eq(
		    download(&a, a.lead, id, v, NULL, NULL, 4, &err), 412);
		ck_assert_msg(strstr(err.data, "disposed") != NULL, "%s",
		              err.data);
	}
	/* No new version either. */
	ck_assert_int_eq(
	    upload_seeded(&a, a.lead, case_id, 10, 6, NULL, id, "再提出", id2),
	    412);

	/* The key bytes are nowhere in the keystore's files. */
	ck_assert_int_eq(tu_daemon_stop(&a.d, SIGTERM, 10000) != -1, 1);
	buf_printf(&wal, "%s-wal", ksp);
	ck_assert(!tu_file_contains(ksp, w1, n1));
	ck_assert(!tu_file_contains(ksp, w2, n2));
	ck_assert(!tu_file_contains(wal.data, w1, n1));
	ck_assert(!tu_file_contains(wal.data, w2, n2));
	ck_assert(stat(wal.data, &stt) != 0 || stt.st_size == 0 ||
	          !tu_file_contains(wal.data, w1, 16));
	/* A daemon that stopped between the durable disposal and the
	 * destruction leaves a key: the next start destroys it. */
	ck_assert_int_eq(keystore_open(&ks, ksp), 0);
	snprintf(kid, sizeof(kid), "%s.v1", id);
	ck_assert_int_eq(keystore_key_put(ks, kid, "evidence", w1, n1, 1), 0);
	keystore_close(ks);
	ck_assert_int_eq(tu_daemon_start(&a.d, a.data, NULL), 0);
	{
		char *log = NULL;
		ck_assert_int_eq(
		    util_read_file(&log, NULL, a.d.log_path, 1 << 24), 0);
		ck_assert_msg(strstr(log, "left after its disposal") != NULL,
		              "%s", log);
		free(log);
	}
	ck_assert_int_eq(tu_daemon_stop(&a.d, SIGTERM, 10000) != -1, 1);
	ck_assert(!tu_file_contains(ksp, w1, n1));
	ck_assert(!tu_file_contains(wal.data, w1, n1));
	ck_assert_int_eq(tu_daemon_start(&a.d, a.data, NULL), 0);
	/* Still refused after a restart, and the history still verifies. */
	buf_reset(&err);
	ck_assert_int_eq(download(&a, a.aud, id, 1, NULL, NULL, 4, &err), 403);
	ck_assert_int_eq(download(&a, a.sm, id, 1, NULL, NULL, 4, &err), 412);
	ledger_verifies(&a);
	free(ksp);
	free(case_id);
	buf_free(&err);
	buf_free(&wal);
	apic_stop(&a);
}
END_TEST

/* The reader's own checks on a real ledger: an evidence version committed
 * through the writer, then read with a manifest whose digest or size is
 * wrong, and with its ciphertext altered in the pack. */
START_TEST(test_evidence_reader_rejects_tampering)
{
	struct fx_env e;
	struct evidence_stage *st = NULL;
	struct evidence_reader *r = NULL;
	Csirt__V1__EvidenceManifest *m;
	Csirt__V1__Event *ev;
	struct writer_cmd cmd;
	char case_id[LAYOUT_CASE_ID_LEN], commit_id[LEDGER_OID_HEX];
	char sha[CRYPTO_SHA256_HEX_LEN], *path, *json = NULL;
	size_t n = 200000, len = 0;
	unsigned char *content = util_xmalloc(n);
	struct buf out = BUF_INIT, pack = BUF_INIT;
	bool eof = false;

	for (size_t i = 0; i < n; i++)
		content[i] = (unsigned char)(i * 31);
	crypto_sha256_hex(sha, content, n);
	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	fx_report_d1(e.w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, "t",
	             case_id);
	path = util_path_join(e.dir, "stage");
	ck_assert_int_eq(evidence_stage_new(&st, path, n), 0);
	ck_assert_int_eq(evidence_stage_append(st, 0, content, 1000), 0);
	ck_assert_int_eq(evidence_stage_append(st, 5, content, 10),
	                 CSIRT_ECONFLICT);
	ck_assert_int_eq(
	    evidence_stage_append(st, 1000, content + 1000, n - 1000), 0);
	ck_assert_int_eq(evidence_stage_finish(st, sha), 0);

	ev = (Csirt__V1__Event *)codec_new(&csirt__v1__event__descriptor);
	codec_set_string(&ev->case_id, case_id);
	codec_set_string(&ev->actor, "sm");
	ev->role = CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED;
	m = (Csirt__V1__EvidenceManifest *)codec_new(
	    &csirt__v1__evidence_manifest__descriptor);
	{
		char id[LAYOUT_EVIDENCE_ID_LEN];
		snprintf(id, sizeof(id), "%s-ev0000abcd", case_id);
		codec_set_string(&m->evidence_id, id);
	}
	m->version = 1;
	codec_set_string(&m->name, "x.bin");
	codec_set_string(&m->media_type, "application/octet-stream");
	m->size = n;
	codec_set_string(&m->sha256, sha);
	codec_set_string(&m->uploader, "sm");
	m->classification =
	    classification(CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	ev->evidence_added = (Csirt__V1__EvidenceAdded *)codec_new(
	    &csirt__v1__evidence_added__descriptor);
	ev->evidence_added->manifest = m;
	memset(&cmd, 0, sizeof(cmd));
	cmd.ev = ev;
	cmd.content_file = evidence_stage_path(st);
	ck_assert_int_eq(writer_submit(e.w, &cmd), 0);
	ck_assert_int_eq(writer_run_once(e.w), 0);
	ck_assert_msg(cmd.rc == 0, "%s", cmd.err);
	memcpy(commit_id, cmd.commit, sizeof(commit_id));
	m = ev->evidence_added->manifest;
	ck_assert_uint_eq(m->content_size, crypto_stream_cipher_len(n));

	/* The plaintext manifest is in the ledger next to the content. */
	{
		struct buf mp = BUF_INIT;
		buf_printf(
		    &mp, "%.*s/manifest.json",
		    (int)(strlen(m->content_path) - strlen("/content.enc")),
		    m->content_path);
		ck_assert_int_eq(
		    ledger_read_file(&json, &len, e.dd->lg, commit_id, mp.data),
		    0);
		ck_assert(strstr(json, sha) != NULL);
		buf_free(&mp);
	}

	/* As committed: reads back byte for byte. */
	ck_assert_int_eq(
	    evidence_reader_open(&r, e.repo, m, evidence_stage_key(st)), 0);
	while (!eof)
		ck_assert_int_eq(evidence_reader_read(r, &out, 7777, &eof), 0);
	ck_assert_uint_eq(out.len, n);
	ck_assert(memcmp(out.data, content, n) == 0);
	evidence_reader_free(r);

	/* A manifest with another digest: refused at the end, before the
	 * last bytes are handed out. */
	codec_set_string(&m->sha256, "00000000000000000000000000000000"
	                             "00000000000000000000000000000000");
	ck_assert_int_eq(
	    evidence_reader_open(&r, e.repo, m, evidence_stage_key(st)), 0);
	buf_reset(&out);
	eof = false;
	{
		int rc = 0;
		while (rc == 0 && !eof)
			rc = evidence_reader_read(r, &out, 65536, &eof);
		ck_assert_int_eq(rc, CSIRT_ETAMPER);
		ck_assert_uint_lt(out.len, n);
	}
	evidence_reader_free(r);
	codec_set_string(&m->sha256, sha);

	/* A manifest with another size. */
	m->size = n - 1;
	ck_assert_int_eq(
	    evidence_reader_open(&r, e.repo, m, evidence_stage_key(st)),
	    CSIRT_ETAMPER);
	m->size = n;

	/* Altered ciphertext in the pack of the blob (the largest pack). */
	fx_env_close(&e);
	ck_assert_int_eq(tu_sh(&pack,
	                       "cd '%s/objects/pack' && p=$(ls -S *.pack | "
	                       "head -1) && chmod u+w $p && printf 'X' | dd "
	                       "of=$p bs=1 seek=100000 conv=notrunc "
	                       "2>/dev/null && echo $p",
	                       e.repo),
	                 0);
	ck_assert_int_eq(
	    evidence_reader_open(&r, e.repo, m, evidence_stage_key(st)), 0);
	buf_reset(&out);
	eof = false;
	{
		int rc = 0;
		while (rc == 0 && !eof)
			rc = evidence_reader_read(r, &out, 65536, &eof);
		ck_assert_int_eq(rc, CSIRT_ETAMPER);
	}
	evidence_reader_free(r);

	evidence_stage_free(st, false);
	writer_cmd_release(&cmd);
	free(path);
	free(json);
	free(content);
	buf_free(&out);
	buf_free(&pack);
	fx_env_free(&e);
}
END_TEST

#define NOTE_CANARY "CANARY-note-4b1d-被疑者の氏名"

static int
add_note(struct apic *a, const char *token, const char *case_id,
         Csirt__V1__Confidentiality level, const char *text)
{
	Csirt__V1__AddNoteRequest *r =
	    apic_msg_new(&csirt__v1__add_note_request__descriptor);
	int st;

	codec_set_string(&r->case_id, case_id);
	codec_set_string(&r->text, text);
	r->classification = classification(level);
	st = apic_call(a, token, "CaseService/AddNote", &r->base, NULL, NULL,
	               NULL);
	codec_free(&r->base);
	return st;
}

static int
note_versions(struct apic *a, const char *token, const char *case_id,
              const char *note_id, Csirt__V1__GetNoteVersionsResponse **out)
{
	Csirt__V1__GetNoteVersionsRequest *r =
	    apic_msg_new(&csirt__v1__get_note_versions_request__descriptor);
	int st;

	codec_set_string(&r->case_id, case_id);
	codec_set_string(&r->note_id, note_id);
	st = apic_call(a, token, "CaseService/GetNoteVersions", &r->base,
	               &csirt__v1__get_note_versions_response__descriptor,
	               (ProtobufCMessage **)out, NULL);
	codec_free(&r->base);
	return st;
}

/* 機密性高・中 notes are accepted, sealed in the ledger as .md.enc, read
 * back by those the table allows, edited (still sealed), and their text
 * is nowhere in plaintext; 機密性低 notes stay plain text for auditors. */
START_TEST(test_evidence_secret_notes_encrypted)
{
	Csirt__V1__GetNoteVersionsResponse *v = NULL;
	Csirt__V1__EditNoteRequest *er;
	struct buf out = BUF_INIT;
	struct apic a;
	char *case_id;

	apic_start(&a);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	ck_assert_int_eq(
	    add_note(&a, a.inv, case_id,
	             CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH,
	             "聴取結果: " NOTE_CANARY),
	    200);
	ck_assert_int_eq(note_versions(&a, a.sm, case_id, "n1", &v), 200);
	ck_assert_uint_eq(v->n_versions, 1);
	ck_assert_str_eq(v->versions[0]->text, "聴取結果: " NOTE_CANARY);
	codec_free(&v->base);
	/* The table: not the auditor at 機密性高, not the 所属長, not an
	 * investigator of another case. */
	ck_assert_int_eq(note_versions(&a, a.aud, case_id, "n1", &v), 403);
	ck_assert_int_eq(note_versions(&a, a.rep1, case_id, "n1", &v), 403);

	er = apic_msg_new(&csirt__v1__edit_note_request__descriptor);
	codec_set_string(&er->case_id, case_id);
	codec_set_string(&er->note_id, "n1");
	codec_set_string(&er->text, "訂正: " NOTE_CANARY " (2)");
	codec_set_string(&er->reason, "誤記訂正");
	ck_assert_int_eq(apic_call(&a, a.inv, "CaseService/EditNote", &er->base,
	                           NULL, NULL, NULL),
	                 200);
	codec_free(&er->base);
	ck_assert_int_eq(note_versions(&a, a.lead, case_id, "n1", &v), 200);
	ck_assert_uint_eq(v->n_versions, 2);
	ck_assert_str_eq(v->versions[0]->text, "聴取結果: " NOTE_CANARY);
	ck_assert_str_eq(v->versions[1]->text, "訂正: " NOTE_CANARY " (2)");
	codec_free(&v->base);

	/* A 機密性中 note: the auditor may read it. */
	ck_assert_int_eq(
	    add_note(&a, a.sm, case_id,
	             CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM,
	             "中の内容 " NOTE_CANARY),
	    200);
	ck_assert_int_eq(note_versions(&a, a.aud, case_id, "n2", &v), 200);
	ck_assert_str_eq(v->versions[0]->text, "中の内容 " NOTE_CANARY);
	codec_free(&v->base);

	/* Sealed in the ledger, plain nowhere. */
	ck_assert_int_eq(
	    tu_sh(&out,
	          "cd '%s/ledger.git' && git ls-tree -r --name-only "
	          "ledger | grep notes/",
	          a.data),
	    0);
	ck_assert_msg(strstr(out.data, "notes/000/n1.md.enc") != NULL &&
	                  strstr(out.data, "notes/000/n2.md.enc") != NULL,
	              "%s", out.data);
	assert_nowhere(&a, NOTE_CANARY);
	assert_nowhere(&a, "聴取結果");
	/* Nor a plain hash of a secret text, which would let anyone with a
	 * ledger copy confirm a guess: sealed notes carry a keyed digest. */
	{
		static const char *const texts[] = {"聴取結果: " NOTE_CANARY,
		                                    "訂正: " NOTE_CANARY " (2)",
		                                    "中の内容 " NOTE_CANARY};
		char sha[CRYPTO_SHA256_HEX_LEN];

		for (size_t i = 0; i < 3; i++) {
			crypto_sha256_hex(sha, texts[i], strlen(texts[i]));
			assert_nowhere(&a, sha);
		}
		ck_assert_int_eq(
		    tu_sh(&out,
		          "cd '%s/ledger.git' && git log -p ledger "
		          "| grep -c '\"text_mac\"'",
		          a.data),
		    0);
		ck_assert_int_ge(atoi(out.data), 3);
	}
	ledger_verifies(&a);
	/* The index replays to the same state without the text. */
	ck_assert_int_eq(tu_daemon_stop(&a.d, SIGTERM, 10000) != -1, 1);
	ck_assert_int_eq(
	    tu_sh(&out, "'%s' --data '%s' rebuild", CSIRTD_BIN, a.data), 0);
	ck_assert_int_eq(tu_daemon_start(&a.d, a.data, NULL), 0);
	ck_assert_int_eq(note_versions(&a, a.sm, case_id, "n1", &v), 200);
	ck_assert_uint_eq(v->n_versions, 2);
	codec_free(&v->base);
	assert_nowhere(&a, NOTE_CANARY);
	buf_free(&out);
	free(case_id);
	apic_stop(&a);
}
END_TEST

/* 第4.4/4.5: an item inherits its case's classification and never goes
 * below it, unless the 情報セキュリティ管理者 reclassifies it with a reason;
 * content access follows the item's classification now.  A note without
 * a classification inherits the case's (and is sealed accordingly). */
START_TEST(test_evidence_reclassification_and_inheritance)
{
	char id[LAYOUT_EVIDENCE_ID_LEN], id2[LAYOUT_EVIDENCE_ID_LEN];
	Csirt__V1__ReclassifyEvidenceRequest *rr;
	Csirt__V1__GetEvidenceHistoryRequest *hr;
	Csirt__V1__GetEvidenceHistoryResponse *h = NULL;
	Csirt__V1__AddNoteRequest *nr;
	Csirt__V1__GetNoteVersionsResponse *v = NULL;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct apic a;
	char *case_id;

	apic_start(&a);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	ck_assert_int_eq(
	    upload_seeded(&a, a.lead, case_id, 5000, 21, NULL, "", "", id),
	    200);
	ck_assert_int_eq(download(&a, a.aud, id, 0, NULL, NULL, 21, &err), 403);

	rr = apic_msg_new(&csirt__v1__reclassify_evidence_request__descriptor);
	codec_set_string(&rr->evidence_id, id);
	rr->classification =
	    classification(CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	/* Only the 情報セキュリティ管理者, and only with a reason. */
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "EvidenceService/ReclassifyEvidence",
	                           &rr->base, NULL, NULL, NULL),
	                 403);
	ck_assert_int_eq(apic_call(&a, a.sm,
	                           "EvidenceService/ReclassifyEvidence",
	                           &rr->base, NULL, NULL, NULL),
	                 400);
	codec_set_string(&rr->reason, "第4.5見直し: 個人情報を含まない抽出物");
	ck_assert_int_eq(apic_call(&a, a.sm,
	                           "EvidenceService/ReclassifyEvidence",
	                           &rr->base, NULL, NULL, &err),
	                 200);
	codec_free(&rr->base);
	/* Below its case now: the auditor may read it. */
	ck_assert_int_eq(download(&a, a.aud, id, 0, NULL, NULL, 21, &err), 200);
	hr = apic_msg_new(&csirt__v1__get_evidence_history_request__descriptor);
	codec_set_string(&hr->evidence_id, id);
	ck_assert_int_eq(
	    apic_call(&a, a.sm, "EvidenceService/GetEvidenceHistory", &hr->base,
	              &csirt__v1__get_evidence_history_response__descriptor,
	              (ProtobufCMessage **)&h, NULL),
	    200);
	ck_assert_int_eq(h->item->classification->confidentiality,
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	ck_assert_int_eq(h->item->versions[0]->classification->confidentiality,
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	codec_free(&h->base);
	codec_free(&hr->base);
	/* A new version inherits the item's level; lower is refused. */
	ck_assert_int_eq(upload_seeded(&a, a.lead, case_id, 10, 22, NULL, id,
	                               "追加抽出", id2),
	                 200);
	ck_assert_int_eq(
	    upload_seeded(
	        &a, a.lead, case_id, 10, 23,
	        classification(CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW),
	        id, "低へ", id2),
	    400);
	/* A new item of the case inherits 機密性高 again. */
	ck_assert_int_eq(
	    upload_seeded(&a, a.lead, case_id, 10, 24, NULL, "", "", id2), 200);
	ck_assert_int_eq(download(&a, a.aud, id2, 0, NULL, NULL, 24, &err),
	                 403);

	/* A note without a classification inherits the case's: sealed. */
	nr = apic_msg_new(&csirt__v1__add_note_request__descriptor);
	codec_set_string(&nr->case_id, case_id);
	codec_set_string(&nr->text, "継承されるメモ " NOTE_CANARY);
	ck_assert_int_eq(apic_call(&a, a.inv, "CaseService/AddNote", &nr->base,
	                           NULL, NULL, NULL),
	                 200);
	codec_free(&nr->base);
	ck_assert_int_eq(note_versions(&a, a.aud, case_id, "n1", &v), 403);
	ck_assert_int_eq(note_versions(&a, a.inv, case_id, "n1", &v), 200);
	ck_assert_int_eq(v->versions[0]->classification->confidentiality,
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	codec_free(&v->base);
	assert_nowhere(&a, NOTE_CANARY);
	ledger_verifies(&a);
	buf_free(&err);
	buf_free(&out);
	free(case_id);
	apic_stop(&a);
}
END_TEST

/* The CLI: an upload interrupted after two chunks (begun through the API
 * as the CLI would, and remembered where the CLI keeps it) resumes; get
 * writes the file only once verified; list and history name the item;
 * a refused get leaves no file behind. */
START_TEST(test_evidence_cli_add_resume_get)
{
	uint64_t size = 3 * MiB + 77;
	unsigned char *chunk = util_xmalloc(MiB);
	char sha[CRYPTO_SHA256_HEX_LEN], id[LAYOUT_EVIDENCE_ID_LEN] = "";
	Csirt__V1__EvidenceUpload *up = NULL;
	struct buf out = BUF_INIT, env = BUF_INIT, err = BUF_INIT;
	struct apic a;
	char *case_id, *file, *p;
	FILE *fp;

	apic_start(&a);
	case_id =
	    case_ready(&a, CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	file = util_path_join(a.dir, "disk image.dd");
	fp = fopen(file, "wb");
	ck_assert_ptr_nonnull(fp);
	for (uint64_t at = 0; at < size; at += MiB) {
		size_t n = size - at < MiB ? (size_t)(size - at) : MiB;
		content_fill(chunk, n, 11, at);
		ck_assert_uint_eq(fwrite(chunk, 1, n, fp), n);
	}
	ck_assert_int_eq(fclose(fp), 0);
	content_sha256(sha, size, 11);

	/* Two chunks went up before the connection died. */
	ck_assert_int_eq(begin(&a, a.inv, case_id, "disk image.dd", size, sha,
	                       NULL, "", "", &up, &err),
	                 200);
	for (uint64_t at = 0; at < 2 * MiB; at += MiB) {
		content_fill(chunk, MiB, 11, at);
		ck_assert_int_eq(
		    append(&a, a.inv, up->upload_id, at, chunk, MiB, NULL),
		    200);
	}
	buf_printf(&env,
	           "CSIRT_URL=http://%s CSIRT_CONFIG='%s/cli/config' "
	           "CSIRT_TOKEN=%s",
	           a.d.addr, a.dir, a.inv);
	ck_assert_int_eq(tu_sh(NULL,
	                       "mkdir -p '%s/cli/uploads' && printf %%s %s > "
	                       "'%s/cli/uploads/%s-%.16s'",
	                       a.dir, up->upload_id, a.dir, case_id, sha),
	                 0);
	ck_assert_int_eq(tu_sh(&out, "%s '%s' evidence add %s '%s' </dev/null",
	                       env.data, CSIRT_BIN, case_id, file),
	                 0);
	ck_assert_msg(strstr(out.data, "resuming upload") != NULL &&
	                  strstr(out.data, "2097152") != NULL,
	              "%s", out.data);
	/* Not a terminal: plain progress lines. */
	ck_assert_msg(strstr(out.data, "upload: ") != NULL, "%s", out.data);
	p = strstr(out.data, case_id);
	ck_assert_ptr_nonnull(p);
	snprintf(id, sizeof(id), "%.22s", strstr(out.data, "-ev") - 11);
	ck_assert_int_eq(layout_evidence_id_parse(id, NULL), 0);
	/* The remembered upload is forgotten once committed. */
	ck_assert_int_eq(
	    tu_sh(NULL, "test -z \"$(ls -A '%s/cli/uploads')\"", a.dir), 0);

	ck_assert_int_eq(tu_sh(&out,
	                       "%s '%s' evidence get %s -o '%s/got.dd' && cmp "
	                       "'%s' '%s/got.dd'",
	                       env.data, CSIRT_BIN, id, a.dir, file, a.dir),
	                 0);
	ck_assert_int_eq(tu_sh(&out, "%s '%s' --lang ja evidence list %s",
	                       env.data, CSIRT_BIN, case_id),
	                 0);
	ck_assert_msg(strstr(out.data, id) != NULL &&
	                  strstr(out.data, "証拠番号") != NULL,
	              "%s", out.data);
	ck_assert_int_eq(
	    tu_sh(&out, "%s '%s' evidence history %s", env.data, CSIRT_BIN, id),
	    0);
	ck_assert_msg(strstr(out.data, "inv") != NULL &&
	                  strstr(out.data, sha) != NULL,
	              "%s", out.data);

	/* On a terminal: a progress bar (script(1) provides the tty; the
	 * test is skipped where it is missing). */
	if (tu_sh(NULL, "command -v script >/dev/null") == 0) {
		ck_assert_int_eq(
		    tu_sh(&out,
		          "script -qec \"env %s '%s' evidence add %s '%s' "
		          "--name tty.dd\" /dev/null",
		          env.data, CSIRT_BIN, case_id, file),
		    0);
		ck_assert_msg(strstr(out.data, "upload [") != NULL &&
		                  strstr(out.data, "100%") != NULL &&
		                  strstr(out.data, "upload: ") == NULL,
		              "%s", out.data);
	}

	/* Disposed: get fails with the state's exit code, no file. */
	ck_assert_int_eq(
	    tu_sh(&out,
	          "CSIRT_URL=http://%s CSIRT_CONFIG='%s/cli/config' "
	          "CSIRT_TOKEN=%s '%s' evidence dispose %s "
	          "--reason 廃棄",
	          a.d.addr, a.dir, a.lead, CSIRT_BIN, id),
	    0);
	ck_assert_int_eq(tu_sh(&out, "%s '%s' evidence get %s -o '%s/gone.dd'",
	                       env.data, CSIRT_BIN, id, a.dir),
	                 6);
	ck_assert_msg(strstr(out.data, "disposed") != NULL, "%s", out.data);
	ck_assert_int_eq(tu_sh(NULL, "ls '%s' | grep -q gone", a.dir), 1);

	codec_free(&up->base);
	buf_free(&out);
	buf_free(&env);
	buf_free(&err);
	free(chunk);
	free(file);
	free(case_id);
	apic_stop(&a);
}
END_TEST

Suite *
evidence_suite(void)
{
	Suite *s = suite_create("evidence");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_evidence_reader_rejects_tampering);
	tcase_add_test(tc, test_evidence_interrupted_upload_resumes);
	tcase_add_test(tc, test_evidence_wrong_digest_and_limits);
	tcase_add_test(tc, test_evidence_idle_upload_expires);
	tcase_add_test(tc, test_evidence_content_access_per_role_and_level);
	tcase_add_test(tc, test_evidence_canary_never_in_plaintext);
	tcase_add_test(tc, test_evidence_disposal_shreds_the_key);
	tcase_add_test(tc, test_evidence_cli_add_resume_get);
	tcase_add_test(tc, test_evidence_secret_notes_encrypted);
	tcase_add_test(tc, test_evidence_reclassification_and_inheritance);
	tcase_add_test(tc, test_evidence_large_roundtrip_and_versions);
	suite_add_tcase(s, tc);
	return s;
}
