/*
 * fuzz_seeds.c - writes the generated seed corpora of the fuzz targets:
 *
 *   build-fuzz/tests/fuzz/fuzz_seeds tests/fuzz/corpus
 *
 * fills corpus/fuzz_request_json/ and corpus/fuzz_request_pb/ (one valid
 * request of every type, each prefixed with its selector byte, see fuzz.h)
 * and corpus/fuzz_event_json/ (ledger event files as the writer prints them,
 * and commit messages).  The corpora of fuzz_config and fuzz_sshsig are
 * written by hand.  Rerun it when a request type or fuzz_known[] changes,
 * and commit the result.  Not a fuzz target: it has its own main().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "crypto.h"
#include "csirt/v1/domain.pb-c.h"
#include "error.h"
#include "fuzz.h"
#include "layout.h"
#include "util.h"

struct seed {
	const char *file;
	const ProtobufCMessageDescriptor *desc;
	unsigned flags; /* codec_to_json flags the round trip uses */
	const char *json;
};

#define CASE_JSON                                                              \
	"{\"category\": \"CATEGORY_LOST_EQUIPMENT\", \"title\": "              \
	"\"USBメモリの紛失\", \"description\": \"庁舎外で紛失\", " \
	"\"recognizedAt\": \"2026-11-27T09:40:00.123Z\", \"equipment\": "      \
	"[{\"kind\": \"EQUIPMENT_KIND_EXTERNAL_MEDIA\", "                      \
	"\"management_number\": \"M-0012\", \"owner\": "                       \
	"\"OWNERSHIP_OFFICIAL\", "                                             \
	"\"description\": \"16 GB\"}, {\"kind\": 5, \"owner\": 2}], "          \
	"\"classification\": {\"confidentiality\": \"CONFIDENTIALITY_HIGH\", " \
	"\"integrity\": 2, \"availability\": \"AVAILABILITY_LOW\", "           \
	"\"handlingRestrictions\": [\"複製禁止\", \"持出禁止\"]}, "    \
	"\"emergency\": {\"flag\": true, \"instruction\": \"課長指示\"}}"

static const struct seed requests[] = {
    {"report_incident", &csirt__v1__report_incident_request__descriptor, 0,
     "{\"case\": " CASE_JSON "}"},
    {"report_incident_defaults",
     &csirt__v1__report_incident_request__descriptor,
     CODEC_PRETTY | CODEC_EMIT_DEFAULTS,
     "{\"case\": {\"category\": \"CATEGORY_MALWARE_INTRUSION\", \"title\": "
     "\"x\", \"equipment\": [{}]}}"},
    {"get_case", &csirt__v1__get_case_request__descriptor, 0,
     "{\"id\": \"2026-000123\"}"},
    {"list_cases", &csirt__v1__list_cases_request__descriptor, CODEC_PRETTY,
     "{\"states\": [\"CASE_STATE_REPORTED\", 3], \"categories\": "
     "[\"CATEGORY_MALWARE_INTRUSION\"], \"division\": \"d1\", "
     "\"min_confidentiality\": \"CONFIDENTIALITY_MEDIUM\", \"text\": \"usb\", "
     "\"reportedAfter\": \"2026-01-01T00:00:00.000Z\", \"reported_before\": "
     "\"2027-01-01T00:00:00.000Z\", \"overdue\": true, \"page_size\": 50, "
     "\"pageToken\": \"MjAyNi0wMDAxMjM\"}"},
    {"update_case", &csirt__v1__update_case_request__descriptor, 0,
     "{\"id\": \"2026-000123\", \"title\": \"t\", \"description\": \"d\", "
     "\"category\": \"CATEGORY_SERIOUS_OUTAGE\", \"reason\": \"訂正\"}"},
    {"case_action", &csirt__v1__case_action_request__descriptor, 0,
     "{\"id\": \"2026-000001\", \"text\": \"指導しました\"}"},
    {"assign_investigators",
     &csirt__v1__assign_investigators_request__descriptor, 0,
     "{\"id\": \"2026-000001\", \"assignees\": [\"inv\", \"inv2\"]}"},
    {"add_note", &csirt__v1__add_note_request__descriptor, 0,
     "{\"caseId\": \"2026-000001\", \"text\": \"# 調査メモ\\n\\n- "
     "端末回収\\n\", "
     "\"classification\": {\"confidentiality\": \"CONFIDENTIALITY_LOW\"}}"},
    {"edit_note", &csirt__v1__edit_note_request__descriptor, 0,
     "{\"case_id\": \"2026-000001\", \"note_id\": \"n1\", \"text\": \"v2\", "
     "\"reason\": \"typo\"}"},
    {"get_note_versions", &csirt__v1__get_note_versions_request__descriptor, 0,
     "{\"case_id\": \"2026-000001\", \"noteId\": \"n1\"}"},
    {"get_history", &csirt__v1__get_history_request__descriptor, 0,
     "{\"case_id\": \"2026-000001\"}"},
    {"who_am_i", &csirt__v1__who_am_irequest__descriptor, 0, "{}"},
    {"create_division", &csirt__v1__create_division_request__descriptor, 0,
     "{\"division\": {\"code\": \"d1\", \"name\": \"総務課\", "
     "\"created_at\": \"2026-01-05T08:00:00.000Z\"}}"},
    {"list_divisions", &csirt__v1__list_divisions_request__descriptor, 0, "{}"},
    {"create_user", &csirt__v1__create_user_request__descriptor, 0,
     "{\"user\": {\"login\": \"rep1\", \"displayName\": \"所属長 一\", "
     "\"role\": \"ROLE_REPORTER\", \"division\": \"d1\", \"disabled\": "
     "false}}"},
    {"update_user", &csirt__v1__update_user_request__descriptor, 0,
     "{\"user\": {\"login\": \"inv\", \"role\": 4, \"disabled\": true}}"},
    {"disable_user", &csirt__v1__disable_user_request__descriptor, 0,
     "{\"login\": \"rep1\", \"reason\": \"異動\"}"},
    {"list_users", &csirt__v1__list_users_request__descriptor, 0,
     "{\"division\": \"d1\", \"role\": \"ROLE_INVESTIGATOR\"}"},
    {"issue_token", &csirt__v1__issue_token_request__descriptor, 0,
     "{\"login\": \"admin\", \"description\": \"ci\"}"},
    {"list_tokens", &csirt__v1__list_tokens_request__descriptor, 0,
     "{\"login\": \"admin\"}"},
    {"revoke_token", &csirt__v1__revoke_token_request__descriptor, 0,
     "{\"token_id\": \"t1\"}"},
};

#define EV(seq, type, actor, role, payload)                                    \
	"{\"seq\": \"" #seq                                                    \
	"\", \"case_id\": \"2026-000001\", \"type\": \"" type                  \
	"\", \"actor\": \"" actor "\", \"role\": \"" role "\", "               \
	"\"time\": \"2026-11-27T10:00:00.000Z\", " payload "}"

static const struct seed events[] = {
    {"ledger_initialized", &csirt__v1__event__descriptor, 0,
     "{\"seq\": \"1\", \"type\": \"ledger.initialized\", \"actor\": "
     "\"csirtd\", \"role\": \"ROLE_SYSTEM\", \"time\": "
     "\"2026-01-05T08:00:00.000Z\", \"ledger_initialized\": "
     "{\"signing_key\": \"ssh-ed25519 "
     "AAAAC3NzaC1lZDI1NTE5AAAAIO6DD0OHmDK7krDsxWFa5TCyuYsHw5A31taFCR2gV6ZR\", "
     "\"version\": \"0.1.0\"}}"},
    {"user_created", &csirt__v1__event__descriptor, 0,
     "{\"seq\": \"2\", \"type\": \"user.created\", \"actor\": \"admin\", "
     "\"role\": \"ROLE_ADMIN\", \"time\": \"2026-01-05T08:01:00.000Z\", "
     "\"user_created\": {\"user\": {\"login\": \"rep1\", \"display_name\": "
     "\"所属長\", \"role\": \"ROLE_REPORTER\", \"division\": \"d1\"}}}"},
    {"division_created", &csirt__v1__event__descriptor, 0,
     "{\"seq\": \"3\", \"type\": \"division.created\", \"actor\": \"admin\", "
     "\"role\": \"ROLE_ADMIN\", \"time\": \"2026-01-05T08:02:00.000Z\", "
     "\"division_created\": {\"division\": {\"code\": \"d1\", \"name\": "
     "\"総務課\"}}}"},
    {"incident_reported", &csirt__v1__event__descriptor, 0,
     EV(4, "case.reported", "rep1", "ROLE_REPORTER",
        "\"incident_reported\": {\"case\": " CASE_JSON "}")},
    {"case_acknowledged", &csirt__v1__event__descriptor, 0,
     EV(5, "case.acknowledged", "sm", "ROLE_SECURITY_MANAGER",
        "\"case_acknowledged\": {\"comment\": \"確認\"}")},
    {"investigators_assigned", &csirt__v1__event__descriptor, 0,
     EV(6, "case.investigators_assigned", "lead", "ROLE_CSIRT_LEAD",
        "\"investigators_assigned\": {\"assignees\": [\"inv\"]}")},
    {"case_updated", &csirt__v1__event__descriptor, 0,
     EV(7, "case.updated", "rep1", "ROLE_REPORTER",
        "\"case_updated\": {\"changes\": [{\"field\": \"title\", \"before\": "
        "\"\\\"a\\\"\", \"after\": \"\\\"b\\\"\"}], \"reason\": \"訂正\"}")},
    {"note_added", &csirt__v1__event__descriptor, 0,
     EV(8, "note.added", "inv", "ROLE_INVESTIGATOR",
        "\"note_added\": {\"note_id\": \"n1\", \"classification\": "
        "{\"confidentiality\": \"CONFIDENTIALITY_LOW\"}, \"path\": "
        "\"cases/2026/00/00/2026-000001/notes/n1.md\", \"text_sha256\": "
        "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", "
        "\"version\": 1}")},
    {"note_edited", &csirt__v1__event__descriptor, 0,
     EV(9, "note.edited", "inv", "ROLE_INVESTIGATOR",
        "\"note_edited\": {\"note_id\": \"n1\", \"version\": 2, \"path\": "
        "\"cases/2026/00/00/2026-000001/notes/n1.md\", \"reason\": \"追記\"}")},
    {"case_closed", &csirt__v1__event__descriptor, 0,
     EV(10, "case.closed", "lead", "ROLE_CSIRT_LEAD", "\"case_closed\": {}")},
};

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "fuzz_seeds: %s %s: %s\n", what, path,
	        errno != 0 ? strerror(errno) : csirt_error_msg());
	exit(1);
}

static void
put_file(const char *dir, const char *target, const char *name,
         const void *prefix, size_t plen, const void *data, size_t len)
{
	struct buf path = BUF_INIT;
	FILE *fp;

	buf_printf(&path, "%s/%s", dir, target);
	errno = 0;
	if (mkdir(path.data, 0777) != 0 && errno != EEXIST)
		die("mkdir", path.data);
	buf_printf(&path, "/%s", name);
	errno = 0;
	if ((fp = fopen(path.data, "wb")) == NULL ||
	    fwrite(prefix, 1, plen, fp) != plen ||
	    fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		die("writing", path.data);
	buf_free(&path);
}

static ProtobufCMessage *
parse(const struct seed *s)
{
	ProtobufCMessage *msg = NULL;

	errno = 0;
	if (codec_from_json(&msg, s->desc, s->json, strlen(s->json), NULL) != 0)
		die("parsing the seed", s->file);
	fuzz_codec_roundtrip(msg, s->flags);
	return msg;
}

int
main(int argc, char **argv)
{
	struct buf b = BUF_INIT, name = BUF_INIT;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds CORPUS-DIR\n");
		return 2;
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(requests); i++) {
		const struct seed *s = &requests[i];
		ProtobufCMessage *msg = parse(s);
		int sel = fuzz_request_selector(s->desc, s->flags);
		unsigned char c = (unsigned char)sel;

		if (sel < 0)
			die("not a request:", s->file);
		buf_reset(&b);
		codec_pack(&b, msg);
		put_file(argv[1], "fuzz_request_pb", s->file, &c, 1, b.data,
		         b.len);
		buf_reset(&name);
		buf_printf(&name, "%s.json", s->file);
		put_file(argv[1], "fuzz_request_json", name.data, &c, 1,
		         s->json, strlen(s->json));
		/* Also as the daemon prints it (other field names). */
		buf_reset(&b);
		codec_to_json(&b, msg, s->flags);
		buf_reset(&name);
		buf_printf(&name, "%s.out.json", s->file);
		put_file(argv[1], "fuzz_request_json", name.data, &c, 1, b.data,
		         b.len);
		codec_free(msg);
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(events); i++) {
		const struct seed *s = &events[i];
		ProtobufCMessage *msg = parse(s);
		Csirt__V1__Event *ev = (Csirt__V1__Event *)msg;
		struct layout_trailers t = {.seq = ev->seq};

		/* The event file exactly as the writer commits it. */
		buf_reset(&b);
		codec_to_json(&b, msg, CODEC_PRETTY);
		buf_reset(&name);
		buf_printf(&name, "%s.json", s->file);
		put_file(argv[1], "fuzz_event_json", name.data, "", 0, b.data,
		         b.len);
		/* And the message of the commit that records it. */
		snprintf(t.event, sizeof(t.event), "%s", ev->type);
		snprintf(t.case_id, sizeof(t.case_id), "%s", ev->case_id);
		/* A case's event says its number in the case (any, here). */
		t.case_seq = t.case_id[0] != '\0' ? 1 + ev->seq % 150 : 0;
		snprintf(t.actor, sizeof(t.actor), "%s", ev->actor);
		snprintf(t.role, sizeof(t.role), "%s",
		         codec_enum_name(&csirt__v1__role__descriptor,
		                         (int)ev->role));
		crypto_sha256_hex(t.event_sha256, b.data, b.len);
		buf_reset(&name);
		buf_printf(&name, "%s %s by %s", ev->type, ev->case_id,
		           ev->actor);
		buf_reset(&b);
		layout_message(&b, name.data, &t);
		buf_reset(&name);
		buf_printf(&name, "%s.commit", s->file);
		put_file(argv[1], "fuzz_event_json", name.data, "", 0, b.data,
		         b.len);
		codec_free(msg);
	}
	buf_free(&b);
	buf_free(&name);
	return 0;
}
