#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "csirt/v1/domain.pb-c.h"
#include "error.h"
#include "suites.h"
#include "util.h"

/* ---- a hand-written descriptor: the codec must work from any descriptor,
 * and the domain has no bytes, double, float, sint32, sfixed64 or packed
 * field. */

struct test_all {
	ProtobufCMessage base;
	ProtobufCBinaryData blob;
	double d;
	float f;
	int32_t small_int;
	int64_t big_fixed;
	protobuf_c_boolean flag;
	size_t n_nums;
	int32_t *nums;
};

static void test_all_init(ProtobufCMessage *m);

static const ProtobufCFieldDescriptor test_all_fields[] = {
    {"blob", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_BYTES, 0,
     offsetof(struct test_all, blob), NULL, NULL, 0, 0, NULL, NULL},
    {"d", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_DOUBLE, 0,
     offsetof(struct test_all, d), NULL, NULL, 0, 0, NULL, NULL},
    {"f", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_FLOAT, 0,
     offsetof(struct test_all, f), NULL, NULL, 0, 0, NULL, NULL},
    {"small_int", 4, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_SINT32, 0,
     offsetof(struct test_all, small_int), NULL, NULL, 0, 0, NULL, NULL},
    {"big_fixed", 5, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_SFIXED64, 0,
     offsetof(struct test_all, big_fixed), NULL, NULL, 0, 0, NULL, NULL},
    {"flag", 6, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_BOOL, 0,
     offsetof(struct test_all, flag), NULL, NULL, 0, 0, NULL, NULL},
    {"nums", 7, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_INT32,
     offsetof(struct test_all, n_nums), offsetof(struct test_all, nums), NULL,
     NULL, PROTOBUF_C_FIELD_FLAG_PACKED, 0, NULL, NULL},
};
static const unsigned test_all_by_name[] = {4, 0, 1, 2, 5, 6, 3};
static const ProtobufCIntRange test_all_ranges[] = {{1, 0}, {0, 7}};
static const ProtobufCMessageDescriptor test_all_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.All",
    "All",
    "Test__All",
    "test",
    sizeof(struct test_all),
    7,
    test_all_fields,
    test_all_by_name,
    1,
    test_all_ranges,
    test_all_init,
    NULL,
    NULL,
    NULL};

static void
test_all_init(ProtobufCMessage *m)
{
	memset(m, 0, sizeof(struct test_all));
	m->descriptor = &test_all_descriptor;
}

/* ---- helpers */

/* A string literal and its length. */
#define S(lit) lit, sizeof(lit) - 1

static void *
msg_new(const ProtobufCMessageDescriptor *d)
{
	void *m = util_xmalloc(d->sizeof_message);

	protobuf_c_message_init(d, m);
	return m;
}

static char **
strv(size_t n, ...)
{
	char **v = util_xcalloc(n, sizeof(*v));
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		v[i] = util_strdup(va_arg(ap, const char *));
	va_end(ap);
	return v;
}

static Csirt__V1__Equipment *
equipment_new(Csirt__V1__EquipmentKind kind, const char *number,
              const char *description)
{
	Csirt__V1__Equipment *e = msg_new(&csirt__v1__equipment__descriptor);

	e->kind = kind;
	e->owner = CSIRT__V1__OWNERSHIP__OWNERSHIP_OFFICIAL;
	codec_set_string(&e->management_number, number);
	codec_set_string(&e->description, description);
	return e;
}

/* A fully populated, fully owned Event; free with codec_free(). */
static Csirt__V1__Event *
event_full(void)
{
	Csirt__V1__Event *ev = msg_new(&csirt__v1__event__descriptor);
	Csirt__V1__IncidentReported *ir =
	    msg_new(&csirt__v1__incident_reported__descriptor);
	Csirt__V1__Case *c = msg_new(&csirt__v1__case__descriptor);
	Csirt__V1__Classification *cl =
	    msg_new(&csirt__v1__classification__descriptor);
	Csirt__V1__Emergency *em = msg_new(&csirt__v1__emergency__descriptor);

	ev->seq = UINT64_C(9007199254740993); /* 2^53 + 1 */
	codec_set_string(&ev->case_id, "2026-000123");
	codec_set_string(&ev->type, "case.reported");
	codec_set_string(&ev->actor, "chief0101");
	ev->role = CSIRT__V1__ROLE__ROLE_REPORTER;
	codec_set_string(&ev->time, "2026-11-27T00:40:00.123Z");
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
	ev->incident_reported = ir;
	ir->case_ = c;

	codec_set_string(&c->id, "2026-000123");
	c->category = CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT;
	c->state = CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED;
	codec_set_string(&c->title, "機器の紛失事案：モバイルPC");
	codec_set_string(&c->description,
	                 "電車内に置き忘れた。\n\"至急\" \\ 確認中\t済");
	codec_set_string(&c->recognized_at, "2026-11-27T00:10:00.000Z");
	codec_set_string(&c->reported_at, "2026-11-27T00:40:00.123Z");
	codec_set_string(&c->division, "D-0101");
	codec_set_string(&c->reporter, "chief0101");
	c->n_equipment = 3;
	c->equipment = util_xcalloc(3, sizeof(*c->equipment));
	c->equipment[0] =
	    equipment_new(CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_TERMINAL,
	                  "PC-0042", "モバイルPC");
	c->equipment[1] = equipment_new(
	    CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_EXTERNAL_MEDIA, "USB-7",
	    "");
	c->equipment[2] = equipment_new(
	    CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_UID, "UID-1", "認証用");
	c->classification = cl;
	cl->confidentiality = CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH;
	cl->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_HIGH;
	cl->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	cl->n_handling_restrictions = 2;
	cl->handling_restrictions = strv(2, "複製禁止", "持出禁止");
	c->emergency = em;
	em->flag = 1;
	codec_set_string(&em->instruction, "所属長の指示により即時処理");
	c->n_assignees = 2;
	c->assignees = strv(2, "inv01", "inv02");
	codec_set_string(&c->updated_at, "2026-11-27T00:40:00.123Z");
	c->last_seq = UINT64_C(9007199254740993);
	c->report_delay_seconds = -1800;
	c->note_count = 3;
	return ev;
}

/* codec_to_json into a fresh string; caller frees. */
static char *
json_of(const void *msg, unsigned flags)
{
	struct buf b = BUF_INIT;

	ck_assert_msg(codec_to_json(&b, msg, flags) == 0, "to_json: %s",
	              csirt_error_msg());
	return buf_detach(&b);
}

/* jansson, reading codec_to_json()'s output back, prints the same bytes:
 * the ledger holds what jansson printed before codec wrote JSON itself,
 * and csirt-audit compares each case.json with the bytes codec prints
 * now. */
static void
jansson_agrees(const char *json, unsigned flags)
{
	size_t jflags =
	    JSON_PRESERVE_ORDER |
	    ((flags & CODEC_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT);
	json_error_t err;
	json_t *v = json_loads(json, 0, &err);
	struct buf b = BUF_INIT;
	char *again;

	ck_assert_msg(v != NULL, "jansson rejects %s: %s", json, err.text);
	again = json_dumps(v, jflags);
	ck_assert_ptr_nonnull(again);
	buf_puts(&b, again);
	if (flags & CODEC_PRETTY)
		buf_putc(&b, '\n');
	ck_assert_str_eq(b.data, json);
	buf_free(&b);
	free(again);
	json_decref(v);
}

/* json_of() and jansson_agrees() under every flag combination. */
static void
jansson_agrees_all(const void *msg)
{
	static const unsigned flags[] = {0, CODEC_PRETTY, CODEC_EMIT_DEFAULTS,
	                                 CODEC_PRETTY | CODEC_EMIT_DEFAULTS};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		char *j = json_of(msg, flags[i]);

		jansson_agrees(j, flags[i]);
		free(j);
	}
}

static ProtobufCMessage *
from_json_ok(const ProtobufCMessageDescriptor *d, const char *json)
{
	ProtobufCMessage *m = NULL;

	ck_assert_msg(codec_from_json(&m, d, json, strlen(json), NULL) == 0,
	              "rejected %s: %s", json, csirt_error_msg());
	ck_assert_ptr_nonnull(m);
	return m;
}

static void
expect_json_error(const ProtobufCMessageDescriptor *d, const char *json,
                  size_t len, const struct codec_limits *lim, const char *want)
{
	ProtobufCMessage dummy, *m = &dummy;
	int rc = codec_from_json(&m, d, json, len, lim);

	ck_assert_msg(rc == CSIRT_EINVAL, "accepted %s (rc %d)", json, rc);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(csirt_error_msg(), want) != NULL,
	              "%s: message \"%s\" lacks \"%s\"", json,
	              csirt_error_msg(), want);
}

static void
expect_unpack_error(const ProtobufCMessageDescriptor *d, const void *data,
                    size_t len, const struct codec_limits *lim,
                    const char *want)
{
	ProtobufCMessage dummy, *m = &dummy;
	int rc = codec_unpack(&m, d, data, len, lim);

	ck_assert_msg(rc == CSIRT_EINVAL, "accepted %zu bytes (rc %d)", len,
	              rc);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(csirt_error_msg(), want) != NULL,
	              "message \"%s\" lacks \"%s\"", csirt_error_msg(), want);
}

/* ---- JSON output */

START_TEST(test_codec_event_roundtrip)
{
	Csirt__V1__Event *ev = event_full();
	ProtobufCMessage *m2 = NULL, *m3 = NULL;
	struct buf bin = BUF_INIT;
	char *j1, *j2, *j3, *c1, *c2;

	j1 = json_of(ev, CODEC_PRETTY);
	m2 = from_json_ok(&csirt__v1__event__descriptor, j1);
	j2 = json_of(m2, CODEC_PRETTY);
	ck_assert_int_eq(codec_pack(&bin, m2), 0);
	ck_assert_int_eq(codec_unpack(&m3, &csirt__v1__event__descriptor,
	                              bin.data, bin.len, NULL),
	                 0);
	j3 = json_of(m3, CODEC_PRETTY);
	ck_assert_str_eq(j1, j2);
	ck_assert_str_eq(j1, j3);

	/* The compact form carries the same message. */
	c1 = json_of(ev, 0);
	codec_free(m2);
	m2 = from_json_ok(&csirt__v1__event__descriptor, c1);
	c2 = json_of(m2, 0);
	ck_assert_str_eq(c1, c2);
	ck_assert_ptr_null(strchr(c1, '\n'));

	ck_assert_ptr_nonnull(strstr(j1, "\"seq\": \"9007199254740993\",\n"));
	ck_assert_ptr_nonnull(strstr(j1, "\"last_seq\": \"9007199254740993\""));
	ck_assert_ptr_nonnull(
	    strstr(j1, "\"report_delay_seconds\": \"-1800\""));
	ck_assert_ptr_nonnull(strstr(j1, "\"note_count\": 3"));
	ck_assert_ptr_nonnull(strstr(j1, "\"role\": \"ROLE_REPORTER\""));
	ck_assert_ptr_nonnull(strstr(j1, "\"state\": \"CASE_STATE_REPORTED\""));
	ck_assert_ptr_nonnull(strstr(j1, "\"kind\": \"EQUIPMENT_KIND_UID\""));
	ck_assert_ptr_nonnull(
	    strstr(j1, "\"title\": \"機器の紛失事案：モバイルPC\""));
	ck_assert_ptr_nonnull(strstr(j1, "\"複製禁止\""));
	ck_assert_ptr_nonnull(strstr(j1, "\n  \"incident_reported\": {\n"));
	ck_assert_ptr_nonnull(strstr(j1, "\"flag\": true"));
	/* Only control characters, quotes and backslashes are escaped. */
	ck_assert_ptr_nonnull(strstr(j1, "\\n\\\"至急\\\" \\\\ 確認中\\t済"));
	ck_assert_ptr_null(strstr(j1, "\\u"));
	/* The empty description of equipment[1] is a default: omitted. */
	ck_assert_ptr_nonnull(strstr(j1, "\"management_number\": \"USB-7\",\n"
	                                 "          \"owner\": "
	                                 "\"OWNERSHIP_OFFICIAL\"\n"));
	ck_assert_uint_eq(j1[strlen(j1) - 1], '\n');
	ck_assert_uint_eq(j1[strlen(j1) - 2], '}');

	free(j1);
	free(j2);
	free(j3);
	free(c1);
	free(c2);
	buf_free(&bin);
	codec_free(m2);
	codec_free(m3);
	codec_free(&ev->base);
}
END_TEST

START_TEST(test_codec_pretty_output_is_golden)
{
	static const char golden[] =
	    "{\n"
	    "  \"seq\": \"1\",\n"
	    "  \"case_id\": \"2026-000001\",\n"
	    "  \"type\": \"case.acknowledged\",\n"
	    "  \"actor\": \"sec01\",\n"
	    "  \"role\": \"ROLE_SECURITY_MANAGER\",\n"
	    "  \"time\": \"2026-11-27T01:00:00.000Z\",\n"
	    "  \"case_acknowledged\": {\n"
	    "    \"comment\": \"受領しました\"\n"
	    "  }\n"
	    "}\n";
	static const char golden_class[] =
	    "{\n"
	    "  \"confidentiality\": \"CONFIDENTIALITY_HIGH\",\n"
	    "  \"handling_restrictions\": [\n"
	    "    \"複製禁止\",\n"
	    "    \"\"\n"
	    "  ]\n"
	    "}\n";
	Csirt__V1__Event *ev = msg_new(&csirt__v1__event__descriptor);
	Csirt__V1__CaseAcknowledged *ack =
	    msg_new(&csirt__v1__case_acknowledged__descriptor);
	Csirt__V1__Classification *cl =
	    msg_new(&csirt__v1__classification__descriptor);
	struct buf b = BUF_INIT;
	char *j;

	ev->seq = 1;
	codec_set_string(&ev->case_id, "2026-000001");
	codec_set_string(&ev->type, "case.acknowledged");
	codec_set_string(&ev->actor, "sec01");
	ev->role = CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER;
	codec_set_string(&ev->time, "2026-11-27T01:00:00.000Z");
	codec_set_string(&ack->comment, "受領しました");
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED;
	ev->case_acknowledged = ack;
	j = json_of(ev, CODEC_PRETTY);
	ck_assert_str_eq(j, golden);
	free(j);
	j = json_of(ev, 0);
	ck_assert_str_eq(
	    j, "{\"seq\":\"1\",\"case_id\":\"2026-000001\","
	       "\"type\":\"case.acknowledged\",\"actor\":\"sec01\","
	       "\"role\":\"ROLE_SECURITY_MANAGER\","
	       "\"time\":\"2026-11-27T01:00:00.000Z\","
	       "\"case_acknowledged\":{\"comment\":\"受領しました\"}}");
	free(j);

	/* Empty repeated elements are kept (only whole fields are omitted). */
	cl->confidentiality = CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH;
	cl->n_handling_restrictions = 2;
	cl->handling_restrictions = strv(2, "複製禁止", "");
	j = json_of(cl, CODEC_PRETTY);
	ck_assert_str_eq(j, golden_class);
	free(j);

	/* to_json appends. */
	buf_puts(&b, "x");
	ck_assert_int_eq(codec_to_json(&b, &ack->base, 0), 0);
	ck_assert_str_eq(b.data, "x{\"comment\":\"受領しました\"}");
	buf_free(&b);
	codec_free(&cl->base);
	codec_free(&ev->base);
}
END_TEST

START_TEST(test_codec_defaults_omitted_or_emitted)
{
	Csirt__V1__Event *ev = msg_new(&csirt__v1__event__descriptor);
	Csirt__V1__IncidentReported *ir =
	    msg_new(&csirt__v1__incident_reported__descriptor);
	Csirt__V1__Classification *cl =
	    msg_new(&csirt__v1__classification__descriptor);
	char *j;

	j = json_of(ev, CODEC_PRETTY);
	ck_assert_str_eq(j, "{}\n");
	free(j);
	j = json_of(ev, CODEC_EMIT_DEFAULTS);
	ck_assert_str_eq(j, "{\"seq\":\"0\",\"case_id\":\"\",\"type\":\"\","
	                    "\"actor\":\"\",\"role\":\"ROLE_UNSPECIFIED\","
	                    "\"time\":\"\"}");
	free(j);
	j = json_of(ir, CODEC_EMIT_DEFAULTS);
	ck_assert_str_eq(j, "{\"case\":null,"
	                    "\"report_delay_limit_seconds\":\"0\"}");
	free(j);
	j = json_of(cl, CODEC_EMIT_DEFAULTS);
	ck_assert_str_eq(j,
	                 "{\"confidentiality\":\"CONFIDENTIALITY_UNSPECIFIED\","
	                 "\"integrity\":\"INTEGRITY_UNSPECIFIED\","
	                 "\"availability\":\"AVAILABILITY_UNSPECIFIED\","
	                 "\"handling_restrictions\":[]}");
	free(j);

	/* A set oneof member is printed even when it is empty. */
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
	ev->incident_reported = ir;
	j = json_of(ev, 0);
	ck_assert_str_eq(j, "{\"incident_reported\":{}}");
	free(j);
	codec_free(&cl->base);
	codec_free(&ev->base);
}
END_TEST

START_TEST(test_codec_json_matches_jansson)
{
	Csirt__V1__Event *ev = event_full();
	Csirt__V1__Case *c = msg_new(&csirt__v1__case__descriptor);
	struct test_all *t = msg_new(&test_all_descriptor);
	static const double doubles[] = {
	    0.1,  1.5,         -0.0, 1e300,    5e-324,   -2.5e-7,
	    1e21, 123456789.0, NAN,  INFINITY, -INFINITY};
	static const int32_t nums[] = {INT32_MIN, -1, 0, 7, INT32_MAX};
	char all[128 + 1], *j;
	size_t k = 0;

	jansson_agrees_all(ev);
	jansson_agrees_all(ev->incident_reported->case_->classification);
	/* Every ASCII byte, and UTF-8 of every length, U+10FFFF included. */
	for (int ch = 1; ch < 128; ch++)
		all[k++] = (char)ch;
	all[k] = '\0';
	codec_set_string(&c->title, all);
	codec_set_string(&c->description,
	                 "é ſ 事案 \xef\xbb\xbf \xe2\x80\xa8 😀 "
	                 "\xf4\x8f\xbf\xbf \"q\" \\ /");
	codec_set_string(&c->division, "\x7f\x1f\x01");
	jansson_agrees_all(c);
	j = json_of(c, 0);
	ck_assert_ptr_nonnull(strstr(j, "\\u0001\\u0002"));
	ck_assert_ptr_nonnull(strstr(j, "\\b\\t\\n\\u000B\\f\\r"));
	ck_assert_ptr_nonnull(strstr(j, "\\u001F !\\\"#"));
	ck_assert_ptr_nonnull(strstr(j, "Z[\\\\]^"));
	ck_assert_ptr_nonnull(strstr(j, "|}~\x7f\""));
	free(j);

	/* Scalars of every kind the hand-written descriptor has. */
	t->small_int = INT32_MIN;
	t->big_fixed = INT64_MIN;
	t->flag = 1;
	t->f = 0.1f;
	t->nums = util_xmalloc(sizeof(nums));
	memcpy(t->nums, nums, sizeof(nums));
	t->n_nums = sizeof(nums) / sizeof(nums[0]);
	t->blob.len = 5;
	t->blob.data = util_xmalloc(5);
	memcpy(t->blob.data,
	       "\x00\xff\x10"
	       "ab",
	       5);
	for (size_t i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++) {
		t->d = doubles[i];
		jansson_agrees_all(t);
	}
	j = json_of(t, 0);
	ck_assert_str_eq(j, "{\"blob\":\"AP8QYWI=\",\"d\":\"-Infinity\","
	                    "\"f\":0.10000000149011612,"
	                    "\"small_int\":-2147483648,"
	                    "\"big_fixed\":\"-9223372036854775808\","
	                    "\"flag\":true,"
	                    "\"nums\":[-2147483648,-1,0,7,2147483647]}");
	free(j);
	t->d = -0.0;
	j = json_of(t, CODEC_PRETTY);
	ck_assert_ptr_nonnull(strstr(j, "\n  \"d\": -0.0,\n"));
	ck_assert_ptr_nonnull(
	    strstr(j, "\"nums\": [\n    -2147483648,\n    -1,"));
	ck_assert_ptr_nonnull(strstr(j, "    2147483647\n  ]\n}\n"));
	free(j);
	codec_free(&t->base);
	codec_free(&c->base);
	codec_free(&ev->base);
}
END_TEST

START_TEST(test_codec_to_json_rejects_invalid_message)
{
	Csirt__V1__Case *c = msg_new(&csirt__v1__case__descriptor);
	struct buf b = BUF_INIT;

	buf_puts(&b, "keep");
	codec_set_string(&c->title, "ok \xff");
	ck_assert_int_eq(codec_to_json(&b, &c->base, 0), CSIRT_EINVAL);
	ck_assert_str_eq(csirt_error_msg(), "title: invalid UTF-8");
	codec_set_string(&c->title, "ok");
	c->n_equipment = 1;
	c->equipment = util_xcalloc(1, sizeof(*c->equipment));
	c->equipment[0] = equipment_new(99, "x", "y");
	ck_assert_int_eq(codec_to_json(&b, &c->base, 0), CSIRT_EINVAL);
	ck_assert_str_eq(csirt_error_msg(),
	                 "equipment[0].kind: undefined enum value 99");
	ck_assert_str_eq(b.data, "keep");
	buf_free(&b);
	codec_free(&c->base);
}
END_TEST

/* ---- JSON input */

START_TEST(test_codec_from_json_accepts_camel_case_and_numbers)
{
	static const char json[] =
	    "{\"id\":\"2026-000777\",\"recognizedAt\":\"2026-11-27T00:00:00Z\","
	    "\"reported_at\":\"2026-11-27T01:00:00Z\",\"state\":2,"
	    "\"category\":\"CATEGORY_LOST_EQUIPMENT\",\"lastSeq\":1e3,"
	    "\"reportDelaySeconds\":\"-9223372036854775808\","
	    "\"noteCount\":\"4294967295\",\"assignees\":[\"a\",\"\"],"
	    "\"classification\":{\"handlingRestrictions\":[\"複製禁止\"]},"
	    "\"equipment\":[{\"managementNumber\":\"M-1\",\"kind\":3}],"
	    "\"emergency\":null,\"title\":\"\"}";
	Csirt__V1__Case *c =
	    (Csirt__V1__Case *)from_json_ok(&csirt__v1__case__descriptor, json);
	Csirt__V1__Event *ev;

	ck_assert_str_eq(c->recognized_at, "2026-11-27T00:00:00Z");
	ck_assert_str_eq(c->reported_at, "2026-11-27T01:00:00Z");
	ck_assert_int_eq(c->state,
	                 CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED);
	ck_assert_int_eq(c->category,
	                 CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT);
	ck_assert_uint_eq(c->last_seq, 1000);
	ck_assert(c->report_delay_seconds == INT64_MIN);
	ck_assert_uint_eq(c->note_count, UINT32_MAX);
	ck_assert_uint_eq(c->n_assignees, 2);
	ck_assert_str_eq(c->assignees[1], "");
	ck_assert_uint_eq(c->classification->n_handling_restrictions, 1);
	ck_assert_str_eq(c->classification->handling_restrictions[0],
	                 "複製禁止");
	ck_assert_uint_eq(c->n_equipment, 1);
	ck_assert_int_eq(c->equipment[0]->kind,
	                 CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_UID);
	ck_assert_str_eq(c->equipment[0]->management_number, "M-1");
	ck_assert_ptr_null(c->emergency);
	ck_assert_ptr_eq(c->title, protobuf_c_empty_string);
	codec_free(&c->base);

	ev = (Csirt__V1__Event *)from_json_ok(
	    &csirt__v1__event__descriptor,
	    "{\"caseId\":\"2026-000777\",\"seq\":\"18446744073709551615\","
	    "\"role\":\"ROLE_CSIRT_LEAD\",\"case_closed\":null,"
	    "\"incidentReported\":{\"case\":{\"id\":\"x\"}}}");
	ck_assert_str_eq(ev->case_id, "2026-000777");
	ck_assert(ev->seq == UINT64_MAX);
	ck_assert_int_eq(ev->role, CSIRT__V1__ROLE__ROLE_CSIRT_LEAD);
	ck_assert_int_eq(ev->payload_case,
	                 CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED);
	ck_assert_str_eq(ev->incident_reported->case_->id, "x");
	codec_free(&ev->base);
}
END_TEST

struct json_case {
	const ProtobufCMessageDescriptor *desc;
	const char *json;
	const char *want;
};

START_TEST(test_codec_from_json_rejects_bad_input)
{
	const ProtobufCMessageDescriptor *ev = &csirt__v1__event__descriptor;
	const ProtobufCMessageDescriptor *cs = &csirt__v1__case__descriptor;
	const struct json_case cases[] = {
	    /* syntax */
	    {ev, "{\"seq\": ", "invalid JSON at line 1"},
	    {ev, "", "invalid JSON"},
	    {ev, "{\"seq\":\"1\"} x", "end of file expected"},
	    {ev, "{\"seq\":\"1\"}{}", "end of file expected"},
	    {ev, "[]", "expected a JSON object, got array"},
	    {ev, "\"x\"", "invalid JSON"},
	    {ev, "{\"type\":\"a\",\"type\":\"b\"}",
	     "duplicate object key "
	     "near '\"type\"'"},
	    /* fields */
	    {ev, "{\"seq\":\"1\",\"colour\":\"red\"}",
	     "unknown field \"colour\""},
	    {ev, "{\"incident_reported\":{\"case\":{\"titel\":\"x\"}}}",
	     "incident_reported.case: unknown field \"titel\""},
	    {ev, "{\"Seq\":\"1\"}", "unknown field \"Seq\""},
	    {ev, "{\"case_id\":\"a\",\"caseId\":\"b\"}",
	     "case_id: duplicate field"},
	    {ev, "{\"case_acknowledged\":{},\"case_closed\":{}}",
	     "case_closed: oneof member conflicts with \"case_acknowledged\""},
	    /* types */
	    {cs, "{\"emergency\":{\"flag\":\"true\"}}",
	     "emergency.flag: expected true or false, got string"},
	    {cs, "{\"emergency\":{\"flag\":1}}",
	     "emergency.flag: expected true or false, got number"},
	    {cs, "{\"title\":5}", "title: expected a string, got number"},
	    {cs, "{\"title\":[\"x\"]}", "title: expected a string, got array"},
	    {cs, "{\"equipment\":{}}",
	     "equipment: expected an array, got "
	     "object"},
	    {cs, "{\"assignees\":\"a\"}", "assignees: expected an array"},
	    {cs, "{\"assignees\":[\"a\",null]}",
	     "assignees[1]: expected a string, got null"},
	    {cs, "{\"classification\":[]}",
	     "classification: expected an object, got array"},
	    {cs, "{\"equipment\":[{},null]}",
	     "equipment[1]: expected an object, got null"},
	    /* enums */
	    {cs, "{\"state\":\"CASE_STATE_BOGUS\"}",
	     "state: undefined enum value \"CASE_STATE_BOGUS\""},
	    {cs, "{\"state\":\"ROLE_ADMIN\"}", "state: undefined enum value"},
	    {cs, "{\"state\":\"case_state_reported\"}",
	     "state: undefined enum value"},
	    {cs, "{\"equipment\":[{},{},{\"kind\":99}]}",
	     "equipment[2].kind: undefined enum value 99"},
	    {cs, "{\"state\":-1}", "state: undefined enum value -1"},
	    {cs, "{\"state\":4294967297}", "state: undefined enum value"},
	    {cs, "{\"state\":1.0}", "state: expected an enum name or number"},
	    {cs, "{\"state\":true}", "state: expected an enum name or number"},
	    /* integers */
	    {cs, "{\"report_delay_seconds\":\"9223372036854775808\"}",
	     "report_delay_seconds: 9223372036854775808 is out of range"},
	    {cs, "{\"report_delay_seconds\":\"-9223372036854775809\"}",
	     "report_delay_seconds: -9223372036854775809 is out of range"},
	    {cs, "{\"last_seq\":\"18446744073709551616\"}",
	     "last_seq: integer out of range"},
	    {cs, "{\"last_seq\":\"-1\"}", "last_seq: -1 is out of range"},
	    {cs, "{\"last_seq\":-1}", "last_seq: -1 is out of range"},
	    {cs, "{\"last_seq\":1.5}", "last_seq: not an integer: 1.5"},
	    {cs, "{\"last_seq\":1e300}", "last_seq: not an integer"},
	    {cs, "{\"last_seq\":\"1.5\"}", "last_seq: not an integer: \"1.5\""},
	    {cs, "{\"last_seq\":\"+1\"}", "last_seq: not an integer: \"+1\""},
	    {cs, "{\"last_seq\":\" 1\"}", "last_seq: not an integer"},
	    {cs, "{\"last_seq\":\"1e3\"}", "last_seq: not an integer"},
	    {cs, "{\"last_seq\":\"\"}", "last_seq: not an integer: \"\""},
	    {cs, "{\"last_seq\":\"-\"}", "last_seq: not an integer"},
	    {cs, "{\"last_seq\":true}",
	     "last_seq: expected an integer, got "
	     "boolean"},
	    {cs, "{\"note_count\":4294967296}",
	     "note_count: 4294967296 is out of range"},
	    {cs, "{\"note_count\":-1}", "note_count: -1 is out of range"},
	    /* text */
	    {cs, "{\"title\":\"\xff\"}", "unable to decode byte 0xff"},
	    {cs, "{\"title\":\"\xc0\xaf\"}", "invalid JSON"},
	    {cs, "{\"title\":\"\\ud800\"}", "invalid JSON"},
	    {cs, "{\"title\":\"a\\u0000b\"}",
	     "title: string contains NUL (\\u0000)"},
	    {cs, "{\"assignees\":[\"\\u0000\"]}",
	     "assignees[0]: string contains NUL"},
	    {cs, "{\"state\":\"CASE_STATE_REPORTED\\u0000x\"}",
	     "state: string contains NUL"},
	    {cs, "{\"last_seq\":\"1\\u0000\"}",
	     "last_seq: string contains NUL"},
	    {cs, "{\"a\\u0000b\":1}", "NUL byte in object key"},
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++)
		expect_json_error(cases[i].desc, cases[i].json,
		                  strlen(cases[i].json), NULL, cases[i].want);
	/* The length is honoured: a NUL and anything after it is garbage. */
	expect_json_error(ev, S("{}\0{}"), NULL, "invalid JSON");
	expect_json_error(ev, NULL, 0, NULL, "invalid JSON");
}
END_TEST

START_TEST(test_codec_from_json_enforces_limits)
{
	const struct codec_limits few = {32, 3, 8};
	const struct codec_limits shallow = {2, 100, 100};
	const struct codec_limits three = {3, 100, 100};
	const ProtobufCMessageDescriptor *cs = &csirt__v1__case__descriptor;
	const ProtobufCMessageDescriptor *ev = &csirt__v1__event__descriptor;
	ProtobufCMessage *m = NULL;
	static const char deep[] =
	    "{\"incident_reported\":{\"case\":{\"classification\":{}}}}";

	expect_json_error(cs, S("{\"assignees\":[\"a\",\"b\",\"c\",\"d\"]}"),
	                  &few, "assignees: 4 elements exceed the limit of 3");
	expect_json_error(cs, S("{\"title\":\"123456789\"}"), &few,
	                  "title: string of 9 bytes exceeds the limit of 8");
	/* Bytes, not characters: three kanji are nine bytes. */
	expect_json_error(cs, S("{\"title\":\"機器の\"}"), &few,
	                  "title: string of 9 bytes");
	ck_assert_int_eq(
	    codec_from_json(&m, cs, S("{\"assignees\":[\"a\",\"b\",\"c\"]}"),
	                    &few),
	    0);
	codec_free(m);
	ck_assert_int_eq(
	    codec_from_json(&m, cs, S("{\"title\":\"12345678\"}"), &few), 0);
	codec_free(m);

	expect_json_error(ev, deep, strlen(deep), &shallow,
	                  "incident_reported.case: messages nested deeper "
	                  "than 2");
	expect_json_error(ev, deep, strlen(deep), &three,
	                  "incident_reported.case.classification: messages "
	                  "nested deeper than 3");
	ck_assert_int_eq(
	    codec_from_json(&m, ev, S("{\"incident_reported\":{}}"), &shallow),
	    0);
	codec_free(m);
	ck_assert_int_eq(codec_from_json(&m, ev, deep, strlen(deep), NULL), 0);
	codec_free(m);
}
END_TEST

/* ---- scalar kinds through the hand-written descriptor */

START_TEST(test_codec_scalars_bytes_and_floats)
{
	static const char in[] =
	    "{\"blob\":\"-_8\",\"d\":\"-Infinity\",\"f\":1.5,\"smallInt\":-7,"
	    "\"big_fixed\":\"-9223372036854775808\",\"flag\":true,"
	    "\"nums\":[1,-2,\"3\"]}";
	static const char out[] =
	    "{\"blob\":\"+/8=\",\"d\":\"-Infinity\",\"f\":1.5,\"small_int\":-7,"
	    "\"big_fixed\":\"-9223372036854775808\",\"flag\":true,"
	    "\"nums\":[1,-2,3]}";
	const ProtobufCMessageDescriptor *td = &test_all_descriptor;
	struct test_all *t = (struct test_all *)from_json_ok(td, in);
	ProtobufCMessage *u = NULL;
	struct buf bin = BUF_INIT;
	char *j;

	ck_assert_uint_eq(t->blob.len, 2);
	ck_assert_uint_eq(t->blob.data[0], 0xfb);
	ck_assert_uint_eq(t->blob.data[1], 0xff);
	ck_assert(isinf(t->d) && t->d < 0);
	ck_assert_int_eq(t->small_int, -7);
	ck_assert_uint_eq(t->n_nums, 3);
	j = json_of(t, 0);
	ck_assert_str_eq(j, out);
	ck_assert_int_eq(codec_pack(&bin, &t->base), 0);
	ck_assert_int_eq(codec_unpack(&u, td, bin.data, bin.len, NULL), 0);
	free(j);
	j = json_of(u, 0);
	ck_assert_str_eq(j, out);
	free(j);
	codec_free(u);
	codec_free(&t->base);

	t = (struct test_all *)from_json_ok(td,
	                                    "{\"d\":\"NaN\",\"f\":\"2.5\"}");
	ck_assert(isnan(t->d));
	ck_assert(t->f == 2.5f);
	j = json_of(t, 0);
	ck_assert_str_eq(j, "{\"d\":\"NaN\",\"f\":2.5}");
	free(j);
	codec_free(&t->base);

	/* Every tail length of base64, padded or not, both alphabets. */
	for (size_t len = 1; len <= 7; len++) {
		struct test_all *a = msg_new(td), *b;
		char *enc, *nopad;

		a->blob.len = len;
		a->blob.data = util_xmalloc(len);
		for (size_t k = 0; k < len; k++)
			a->blob.data[k] = (uint8_t)(0xf8 + k * 37);
		enc = json_of(a, 0);
		b = (struct test_all *)from_json_ok(td, enc);
		ck_assert_uint_eq(b->blob.len, len);
		ck_assert_mem_eq(b->blob.data, a->blob.data, len);
		codec_free(&b->base);
		nopad = util_strdup(enc);
		while (strstr(nopad, "=\"") != NULL)
			memmove(strstr(nopad, "=\""), strstr(nopad, "=\"") + 1,
			        strlen(strstr(nopad, "=\"")));
		b = (struct test_all *)from_json_ok(td, nopad);
		ck_assert_mem_eq(b->blob.data, a->blob.data, len);
		codec_free(&b->base);
		free(nopad);
		free(enc);
		codec_free(&a->base);
	}

	expect_json_error(td, S("{\"blob\":\"ab$d\"}"), NULL,
	                  "blob: invalid base64");
	expect_json_error(td, S("{\"blob\":\"abcde\"}"), NULL,
	                  "blob: invalid base64");
	expect_json_error(td, S("{\"blob\":\"ab=\"}"), NULL,
	                  "blob: invalid base64");
	expect_json_error(td, S("{\"blob\":\"ab c\"}"), NULL,
	                  "blob: invalid base64");
	expect_json_error(td, S("{\"f\":1e39}"), NULL,
	                  "f: 1e+39 is out of range for float");
	expect_json_error(td, S("{\"d\":\"0x10\"}"), NULL,
	                  "d: not a number: \"0x10\"");
	expect_json_error(td, S("{\"d\":\"inf\"}"), NULL, "d: not a number");
	expect_json_error(td, S("{\"smallInt\":2147483648}"), NULL,
	                  "small_int: 2147483648 is out of range");
	expect_json_error(td, S("{\"small_int\":-2147483649}"), NULL,
	                  "small_int: -2147483649 is out of range");
	expect_json_error(td, S("{\"nums\":[1,2.5]}"), NULL,
	                  "nums[1]: not an integer: 2.5");
	buf_free(&bin);
}
END_TEST

/* ---- binary input */

struct bin_case {
	const char *bytes;
	size_t len;
	const char *want;
};

START_TEST(test_codec_unpack_rejects_bad_input)
{
	const ProtobufCMessageDescriptor *ev = &csirt__v1__event__descriptor;
	static const struct bin_case cases[] = {
	    {"\x08", 1, "malformed varint at byte 0"},
	    {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12,
	     "malformed varint"},
	    {"\x0a\x05"
	     "a",
	     3, "truncated field at byte 0"},
	    {"\x12\xff\xff\xff\xff\x0f"
	     "a",
	     7, "truncated field"},
	    {"\x0f", 1, "unsupported wire type 7"},
	    {"\x0b", 1, "unsupported wire type 3"},
	    {"\x00\x00", 2, "malformed tag at byte 0"},
	    {"\x31\x01\x02", 3, "truncated field"},
	    /* Well formed, but a string where seq (uint64) is expected:
	     * the protobuf_c runtime refuses it. */
	    {"\x0a\x01\x00", 3, "invalid protobuf encoding of csirt.v1.Event"},
	    {"\x1a\x02\xc3\x28", 4, "type: invalid UTF-8"},
	    {"\x1a\x02\xc0\xaf", 4, "type: invalid UTF-8"},
	    {"\x1a\x03\xed\xa0\x80", 5, "type: invalid UTF-8"},
	    {"\x1a\x03"
	     "a\x00"
	     "b",
	     5, "type: string contains NUL"},
	    {"\x28\x63", 2, "role: undefined enum value 99"},
	    {"\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11,
	     "role: undefined enum value -1"},
	    {"\xa2\x01\x04\x0a\x02\x18\x63", 7,
	     "incident_reported.case.state: undefined enum value 99"},
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++)
		expect_unpack_error(ev, cases[i].bytes, cases[i].len, NULL,
		                    cases[i].want);
}
END_TEST

START_TEST(test_codec_unpack_validates_nested_enums)
{
	Csirt__V1__Event *ev = event_full();
	struct buf bin = BUF_INIT;

	ev->incident_reported->case_->equipment[2]->kind = 99;
	ck_assert_int_eq(codec_pack(&bin, &ev->base), 0);
	expect_unpack_error(&csirt__v1__event__descriptor, bin.data, bin.len,
	                    NULL,
	                    "incident_reported.case.equipment[2].kind: "
	                    "undefined enum value 99");
	buf_free(&bin);
	codec_free(&ev->base);
}
END_TEST

START_TEST(test_codec_unpack_enforces_limits)
{
	const ProtobufCMessageDescriptor *ev = &csirt__v1__event__descriptor;
	const ProtobufCMessageDescriptor *cs = &csirt__v1__case__descriptor;
	const struct codec_limits shallow = {2, 100, 100};
	const struct codec_limits three = {3, 100, 100};
	const struct codec_limits few = {32, 3, 8};
	/* Event{incident_reported{case{classification{}}}} */
	static const char deep[] = "\xa2\x01\x04\x0a\x02\x5a\x00";
	/* The same followed by an invalid wire type: the depth error wins,
	 * so the pre-scan ran before the protobuf_c runtime saw the data. */
	static const char deep_bad[] = "\xa2\x01\x04\x0a\x02\x5a\x00\x0f";
	static const char assignees[] = "\x6a\x01"
	                                "a\x6a\x01"
	                                "b\x6a\x01"
	                                "c\x6a\x01"
	                                "d";
	static const char title[] = "\x22\x09"
	                            "123456789";
	ProtobufCMessage *m = NULL;
	struct buf many = BUF_INIT;

	expect_unpack_error(ev, deep, 7, &shallow,
	                    "incident_reported.case: messages nested deeper "
	                    "than 2");
	expect_unpack_error(ev, deep_bad, 8, &shallow,
	                    "incident_reported.case: messages nested deeper "
	                    "than 2");
	expect_unpack_error(ev, deep, 7, &three,
	                    "incident_reported.case.classification: messages "
	                    "nested deeper than 3");
	ck_assert_int_eq(codec_unpack(&m, ev, deep, 7, NULL), 0);
	ck_assert_ptr_nonnull(
	    ((Csirt__V1__Event *)m)->incident_reported->case_->classification);
	codec_free(m);

	expect_unpack_error(cs, assignees, 12, &few,
	                    "assignees: more than 3 elements");
	ck_assert_int_eq(codec_unpack(&m, cs, assignees, 9, &few), 0);
	codec_free(m);
	expect_unpack_error(cs, title, 11, &few,
	                    "title: 9 bytes exceed the limit of 8");
	ck_assert_int_eq(codec_unpack(&m, cs, title, 10, &few), CSIRT_EINVAL);
	ck_assert_int_eq(codec_unpack(&m, cs,
	                              "\x22\x08"
	                              "12345678",
	                              10, &few),
	                 0);
	codec_free(m);

	/* 20000 empty equipment entries: refused before the protobuf_c runtime
	 * sizes an array from the count. */
	for (int i = 0; i < 20000; i++)
		buf_put(&many, "\x52\x00", 2);
	expect_unpack_error(cs, many.data, many.len, NULL,
	                    "equipment: more than 10000 elements");

	/* Packed elements are counted one by one. */
	expect_unpack_error(&test_all_descriptor,
	                    "\x3a\x05\x01\x02\x03\x04\x05", 7, &few,
	                    "nums: more than 3 elements");
	expect_unpack_error(&test_all_descriptor, "\x3a\x02\x01\x81", 4, NULL,
	                    "nums: malformed packed field");
	ck_assert_int_eq(codec_unpack(&m, &test_all_descriptor,
	                              "\x3a\x03\x01\x02\x03", 5, &few),
	                 0);
	ck_assert_uint_eq(((struct test_all *)m)->n_nums, 3);
	codec_free(m);
	expect_unpack_error(&test_all_descriptor,
	                    "\x0a\x09"
	                    "123456789",
	                    11, &few, "blob: 9 bytes exceed the limit of 8");
	buf_free(&many);
}
END_TEST

static uint32_t fuzz_state = 0x9e3779b9u;

static uint32_t
fuzz_next(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 17;
	fuzz_state ^= fuzz_state << 5;
	return fuzz_state;
}

/* Whatever a decoder accepts must print, and print stably. */
static void
fuzz_check_accepted(ProtobufCMessage *m)
{
	ProtobufCMessage *again = NULL;
	struct buf j1 = BUF_INIT, j2 = BUF_INIT;

	ck_assert_msg(codec_to_json(&j1, m, CODEC_PRETTY) == 0,
	              "accepted but unprintable: %s", csirt_error_msg());
	ck_assert_msg(
	    codec_from_json(&again, m->descriptor, j1.data, j1.len, NULL) == 0,
	    "own output rejected: %s", csirt_error_msg());
	ck_assert_int_eq(codec_to_json(&j2, again, CODEC_PRETTY), 0);
	ck_assert_str_eq(j1.data, j2.data);
	jansson_agrees_all(m);
	codec_free(again);
	buf_free(&j1);
	buf_free(&j2);
}

START_TEST(test_codec_fuzz_never_crashes)
{
	static const uint8_t hot[] = {0x0a, 0x12, 0x1a, 0x22, 0x28, 0xa2, 0x01,
	                              0x00, 0x02, 0x52, 0x5a, 0x6a, 0x80, 0xff};
	const ProtobufCMessageDescriptor *ev = &csirt__v1__event__descriptor;
	Csirt__V1__Event *full = event_full();
	struct buf packed = BUF_INIT;
	char *json = json_of(full, CODEC_PRETTY);
	size_t json_len = strlen(json);
	uint8_t data[128];
	int accepted = 0;

	codec_pack(&packed, &full->base);
	for (int i = 0; i < 12000; i++) {
		ProtobufCMessage *m = NULL;
		size_t len;
		int rc;

		if (i < 4000) {
			/* random bytes, biased towards plausible tags */
			len = fuzz_next() % sizeof(data);
			for (size_t k = 0; k < len; k++) {
				uint32_t r = fuzz_next();
				data[k] = (r & 1) ? hot[(r >> 1) % sizeof(hot)]
				                  : (uint8_t)(r >> 8);
			}
			rc = codec_unpack(&m, ev, data, len, NULL);
		} else if (i < 8000) {
			/* a valid Event with a few bytes changed or cut */
			uint8_t *copy = util_xmalloc(packed.len);

			memcpy(copy, packed.data, packed.len);
			for (uint32_t k = fuzz_next() % 4 + 1; k > 0; k--)
				copy[fuzz_next() % packed.len] =
				    (uint8_t)fuzz_next();
			len = (fuzz_next() & 3) == 0 ? fuzz_next() % packed.len
			                             : packed.len;
			rc = codec_unpack(&m, ev, copy, len, NULL);
			free(copy);
		} else {
			/* its JSON with a few bytes changed or cut */
			char *copy = util_xmalloc(json_len);

			memcpy(copy, json, json_len);
			for (uint32_t k = fuzz_next() % 3 + 1; k > 0; k--)
				copy[fuzz_next() % json_len] =
				    (char)(uint8_t)fuzz_next();
			len = (fuzz_next() & 7) == 0 ? fuzz_next() % json_len
			                             : json_len;
			rc = codec_from_json(&m, ev, copy, len, NULL);
			free(copy);
		}
		ck_assert_msg(rc == 0 || rc == CSIRT_EINVAL, "rc %d at %d", rc,
		              i);
		if (rc == 0) {
			accepted++;
			fuzz_check_accepted(m);
		} else {
			ck_assert_ptr_null(m);
		}
		codec_free(m);
	}
	/* The mutations must exercise both paths. */
	ck_assert_int_gt(accepted, 100);
	ck_assert_int_lt(accepted, 11000);
	free(json);
	buf_free(&packed);
	codec_free(&full->base);
}
END_TEST

/* ---- ownership helpers */

START_TEST(test_codec_set_string_semantics)
{
	Csirt__V1__Case *c = msg_new(&csirt__v1__case__descriptor);
	char src[] = "所属長";
	char *prev;

	ck_assert_ptr_eq(c->title, protobuf_c_empty_string);
	codec_set_string(&c->title, src);
	ck_assert_ptr_ne(c->title, src);
	ck_assert_ptr_ne(c->title, protobuf_c_empty_string);
	src[0] = 'X';
	ck_assert_str_eq(c->title, "所属長");
	/* Replacing frees the old copy (ASan reports a leak otherwise). */
	codec_set_string(&c->title, "second");
	ck_assert_str_eq(c->title, "second");
	/* Self-assignment copies before freeing. */
	prev = c->title;
	codec_set_string(&c->title, c->title);
	ck_assert_ptr_ne(c->title, prev);
	ck_assert_str_eq(c->title, "second");
	codec_set_string(&c->title, "");
	ck_assert_ptr_eq(c->title, protobuf_c_empty_string);
	codec_set_string(&c->title, NULL);
	ck_assert_ptr_eq(c->title, protobuf_c_empty_string);
	/* The shared empty string in a repeated slot is still freeable. */
	c->n_assignees = 2;
	c->assignees = strv(2, "a", "b");
	codec_set_string(&c->assignees[1], NULL);
	ck_assert_ptr_eq(c->assignees[1], protobuf_c_empty_string);
	codec_free(&c->base);
	codec_free(NULL);
}
END_TEST

START_TEST(test_codec_clone_is_deep)
{
	Csirt__V1__Event *ev = event_full();
	Csirt__V1__Event *copy;
	char *before = json_of(ev, CODEC_PRETTY), *after;

	copy = (Csirt__V1__Event *)codec_clone(&ev->base);
	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_ne(copy, ev);
	ck_assert_ptr_ne(copy->incident_reported, ev->incident_reported);
	ck_assert_ptr_ne(copy->incident_reported->case_->title,
	                 ev->incident_reported->case_->title);
	ck_assert_ptr_ne(copy->incident_reported->case_->equipment,
	                 ev->incident_reported->case_->equipment);
	codec_free(&ev->base);
	after = json_of(copy, CODEC_PRETTY);
	ck_assert_str_eq(before, after);
	ck_assert_ptr_null(codec_clone(NULL));
	free(before);
	free(after);
	codec_free(&copy->base);
}
END_TEST

START_TEST(test_codec_enum_name_lookup)
{
	ck_assert_str_eq(codec_enum_name(&csirt__v1__case_state__descriptor, 1),
	                 "CASE_STATE_REPORTED");
	ck_assert_str_eq(codec_enum_name(&csirt__v1__category__descriptor, 6),
	                 "CATEGORY_LOST_EQUIPMENT");
	ck_assert_ptr_null(
	    codec_enum_name(&csirt__v1__case_state__descriptor, 8));
	ck_assert_ptr_null(
	    codec_enum_name(&csirt__v1__case_state__descriptor, -1));
}
END_TEST

Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_codec_event_roundtrip);
	tcase_add_test(tc, test_codec_pretty_output_is_golden);
	tcase_add_test(tc, test_codec_defaults_omitted_or_emitted);
	tcase_add_test(tc, test_codec_json_matches_jansson);
	tcase_add_test(tc, test_codec_to_json_rejects_invalid_message);
	tcase_add_test(tc, test_codec_from_json_accepts_camel_case_and_numbers);
	tcase_add_test(tc, test_codec_from_json_rejects_bad_input);
	tcase_add_test(tc, test_codec_from_json_enforces_limits);
	tcase_add_test(tc, test_codec_scalars_bytes_and_floats);
	tcase_add_test(tc, test_codec_unpack_rejects_bad_input);
	tcase_add_test(tc, test_codec_unpack_validates_nested_enums);
	tcase_add_test(tc, test_codec_unpack_enforces_limits);
	tcase_add_test(tc, test_codec_fuzz_never_crashes);
	tcase_add_test(tc, test_codec_set_string_semantics);
	tcase_add_test(tc, test_codec_clone_is_deep);
	tcase_add_test(tc, test_codec_enum_name_lookup);
	suite_add_tcase(s, tc);
	return s;
}
