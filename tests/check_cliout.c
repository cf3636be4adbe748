/*
 * check_cliout.c - the CLI's output helpers: every label in both languages
 * (walking the generated enum descriptors, so a value added to
 * domain.proto without a label fails here), the 第13.1 categories, the
 * language choice, display widths of Japanese and English text, and the
 * aligned tables byte for byte.  No daemon, no network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csirt/v1/domain.pb-c.h"
#include "labels.h"
#include "suites.h"
#include "table.h"
#include "util.h"

static const ProtobufCEnumDescriptor *const domain_enums[] = {
    &csirt__v1__case_state__descriptor,
    &csirt__v1__category__descriptor,
    &csirt__v1__role__descriptor,
    &csirt__v1__confidentiality__descriptor,
    &csirt__v1__integrity__descriptor,
    &csirt__v1__availability__descriptor,
    &csirt__v1__equipment_kind__descriptor,
    &csirt__v1__ownership__descriptor,
};

/* Prints t into a string; caller frees. */
static char *
print_table(const struct table *t)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(fp);
	table_print(t, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return out;
}

START_TEST(test_cliout_every_enum_value_labelled)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(domain_enums); i++) {
		const ProtobufCEnumDescriptor *d = domain_enums[i];

		ck_assert_uint_gt(d->n_values, 1);
		for (unsigned v = 0; v < d->n_values; v++) {
			const char *name = d->values[v].name;
			const char *ja = label_enum(LANG_JA, name);
			const char *en = label_enum(LANG_EN, name);

			ck_assert_msg(strcmp(ja, name) != 0 && *ja != '\0',
			              "%s has no Japanese label", name);
			ck_assert_msg(strcmp(en, name) != 0 && *en != '\0',
			              "%s has no English label", name);
			ck_assert_msg(strcmp(ja, en) != 0,
			              "%s: Japanese and English are the same "
			              "(\"%s\")",
			              name, ja);
		}
	}
}
END_TEST

START_TEST(test_cliout_policy_words)
{
	static const struct {
		const char *name, *ja, *en;
	} want[] = {
	    {"ROLE_REPORTER", "所属長", NULL},
	    {"ROLE_SECURITY_MANAGER", "情報セキュリティ管理者", NULL},
	    {"ROLE_CSIRT_LEAD", "警視庁CSIRTの長", NULL},
	    {"ROLE_INVESTIGATOR", "CSIRT調査員", NULL},
	    {"ROLE_AUDITOR", "監査担当", NULL},
	    {"ROLE_ADMIN", "システム管理者", NULL},
	    {"CONFIDENTIALITY_HIGH", "機密性高", NULL},
	    {"CONFIDENTIALITY_MEDIUM", "機密性中", NULL},
	    {"CONFIDENTIALITY_LOW", "機密性低", NULL},
	    {"INTEGRITY_HIGH", "完全性高", NULL},
	    {"INTEGRITY_LOW", "完全性低", NULL},
	    {"AVAILABILITY_HIGH", "可用性高", NULL},
	    {"AVAILABILITY_LOW", "可用性低", NULL},
	    {"EQUIPMENT_KIND_TERMINAL", "端末等", NULL},
	    {"EQUIPMENT_KIND_EXTERNAL_MEDIA", "外部記録媒体", NULL},
	    {"EQUIPMENT_KIND_UID", "UID", NULL},
	    {"EQUIPMENT_KIND_DIGITAL_CAMERA", "デジタルカメラ等", NULL},
	    {"EQUIPMENT_KIND_MOBILE_PHONE", "携帯電話機", NULL},
	    {"OWNERSHIP_OFFICIAL", "公用", NULL},
	    {"OWNERSHIP_PERSONAL", "私有", NULL},
	    {"CASE_STATE_REPORTED", "報告", "Reported"},
	    {"CASE_STATE_ACKNOWLEDGED", "受理", "Acknowledged"},
	    {"CASE_STATE_ESCALATED", "上申", "Escalated"},
	    {"CASE_STATE_INVESTIGATING", "調査中", "Investigating"},
	    {"CASE_STATE_RESOLVED", "解決", "Resolved"},
	    {"CASE_STATE_CLOSED", "終結", "Closed"},
	    {"CASE_STATE_DISMISSED", "却下", "Dismissed"},
	    {"CATEGORY_LOST_EQUIPMENT", "機器の紛失事案", "Lost equipment"},
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(want); i++) {
		ck_assert_str_eq(label_enum(LANG_JA, want[i].name), want[i].ja);
		if (want[i].en != NULL)
			ck_assert_str_eq(label_enum(LANG_EN, want[i].name),
			                 want[i].en);
	}
}
END_TEST

START_TEST(test_cliout_categories_named_and_described)
{
	/* 第13.1 (1)..(7), word for word. */
	static const char *const policy[] = {
	    "情報流出事案",
	    "重大障害事案",
	    "不正プログラム感染、不正アクセス事案等",
	    "警察情報システムの不正使用事案",
	    "個人所有の機器の不正使用事案",
	    "機器の紛失事案",
	    "その他社会的反響が大きいと予想される事案",
	};
	const ProtobufCEnumDescriptor *d = &csirt__v1__category__descriptor;
	char want[256];

	for (int n = 1; n <= 7; n++) {
		const ProtobufCEnumValue *v =
		    protobuf_c_enum_descriptor_get_value(d, n);

		ck_assert_ptr_nonnull(v);
		snprintf(want, sizeof(want), "(%d) %s", n, policy[n - 1]);
		ck_assert_str_eq(label_category_name(LANG_JA, n), want);
		ck_assert_str_eq(label_enum(LANG_JA, v->name), policy[n - 1]);
		snprintf(want, sizeof(want), "(%d) %s", n,
		         label_enum(LANG_EN, v->name));
		ck_assert_str_eq(label_category_name(LANG_EN, n), want);
		for (int l = LANG_JA; l <= LANG_EN; l++) {
			const char *desc = label_category_description(l, n);

			ck_assert_ptr_nonnull(desc);
			ck_assert_uint_gt(strlen(desc), 20);
			ck_assert_ptr_null(strchr(desc, '\n'));
			ck_assert_str_ne(desc, label_category_name(l, n));
		}
		ck_assert_str_ne(label_category_description(LANG_JA, n),
		                 label_category_description(LANG_EN, n));
	}
	ck_assert_str_eq(label_category_name(LANG_EN, 6), "(6) Lost equipment");
	for (int l = LANG_JA; l <= LANG_EN; l++) {
		ck_assert_ptr_null(label_category_name(l, 0));
		ck_assert_ptr_null(label_category_name(l, 8));
		ck_assert_ptr_null(label_category_name(l, -1));
		ck_assert_ptr_null(label_category_description(l, 0));
		ck_assert_ptr_null(label_category_description(l, 8));
	}
}
END_TEST

START_TEST(test_cliout_field_labels)
{
	static const char *const keys[] = {
	    "case.id",
	    "case.title",
	    "case.state",
	    "case.category",
	    "case.division",
	    "case.reporter",
	    "case.recognized_at",
	    "case.reported_at",
	    "case.updated_at",
	    "case.assignees",
	    "case.classification",
	    "case.emergency",
	    "case.description",
	    "event.seq",
	    "event.time",
	    "event.actor",
	    "event.role",
	    "event.type",
	    "event.commit",
	    "note.id",
	    "note.version",
	    "note.author",
	    "note.text",
	    "user.login",
	    "user.display_name",
	    "user.role",
	    "user.division",
	    "user.disabled",
	    "division.code",
	    "division.name",
	    "token.id",
	    "token.created_at",
	    "token.revoked_at",
	    "prompt.category",
	    "prompt.title",
	    "prompt.description",
	    "prompt.recognized_at",
	    "prompt.confidentiality",
	    "prompt.emergency",
	    "prompt.confirm",
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		for (int l = LANG_JA; l <= LANG_EN; l++)
			ck_assert_msg(strcmp(label(l, keys[i]), keys[i]) != 0,
			              "no label for %s", keys[i]);
	ck_assert_str_eq(label(LANG_JA, "prompt.category"),
	                 "区分を選んでください (1-7)");
	ck_assert_str_eq(label(LANG_EN, "prompt.category"),
	                 "Choose a category (1-7)");
	ck_assert_str_eq(label(LANG_JA, "case.recognized_at"), "認知日時");
}
END_TEST

START_TEST(test_cliout_unknown_falls_back)
{
	static const char key[] = "case.no_such_field";
	static const char name[] = "CASE_STATE_ARCHIVED";

	ck_assert_ptr_eq(label(LANG_JA, key), key);
	ck_assert_ptr_eq(label(LANG_EN, key), key);
	ck_assert_str_eq(label(LANG_EN, ""), "");
	ck_assert_ptr_eq(label_enum(LANG_JA, name), name);
	ck_assert_ptr_eq(label_enum(LANG_EN, name), name);
	/* Enum names are not field keys, nor the other way round. */
	ck_assert_str_eq(label(LANG_JA, "CASE_STATE_REPORTED"),
	                 "CASE_STATE_REPORTED");
	ck_assert_str_eq(label_enum(LANG_JA, "case.id"), "case.id");
}
END_TEST

START_TEST(test_cliout_lang_parse)
{
	enum lang l = LANG_EN;

	ck_assert_int_eq(labels_lang_parse(&l, "ja"), 0);
	ck_assert_int_eq(l, LANG_JA);
	ck_assert_int_eq(labels_lang_parse(&l, "en"), 0);
	ck_assert_int_eq(l, LANG_EN);
	l = LANG_JA;
	ck_assert_int_eq(labels_lang_parse(&l, "fr"), -1);
	ck_assert_int_eq(labels_lang_parse(&l, ""), -1);
	ck_assert_int_eq(labels_lang_parse(&l, "JA"), -1);
	ck_assert_int_eq(labels_lang_parse(&l, "ja_JP"), -1);
	ck_assert_int_eq(labels_lang_parse(&l, NULL), -1);
	ck_assert_int_eq(l, LANG_JA); /* untouched on failure */
}
END_TEST

static void
set_locale_env(const char *all, const char *messages, const char *lang)
{
	const char *const names[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	const char *const values[] = {all, messages, lang};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		if (values[i] == NULL)
			ck_assert_int_eq(unsetenv(names[i]), 0);
		else
			ck_assert_int_eq(setenv(names[i], values[i], 1), 0);
	}
}

START_TEST(test_cliout_lang_default_from_environment)
{
	set_locale_env(NULL, NULL, NULL);
	ck_assert_int_eq(labels_lang_default(), LANG_EN);
	set_locale_env(NULL, NULL, "ja_JP.UTF-8");
	ck_assert_int_eq(labels_lang_default(), LANG_JA);
	set_locale_env(NULL, NULL, "ja");
	ck_assert_int_eq(labels_lang_default(), LANG_JA);
	set_locale_env(NULL, NULL, "C.UTF-8");
	ck_assert_int_eq(labels_lang_default(), LANG_EN);
	set_locale_env(NULL, NULL, "jam_JM");
	ck_assert_int_eq(labels_lang_default(), LANG_EN);
	/* LC_ALL, then LC_MESSAGES, then LANG. */
	set_locale_env(NULL, "en_US.UTF-8", "ja_JP.UTF-8");
	ck_assert_int_eq(labels_lang_default(), LANG_EN);
	set_locale_env(NULL, "ja_JP.eucJP", "en_GB.UTF-8");
	ck_assert_int_eq(labels_lang_default(), LANG_JA);
	set_locale_env("C", "ja_JP.UTF-8", "ja_JP.UTF-8");
	ck_assert_int_eq(labels_lang_default(), LANG_EN);
	set_locale_env("ja_JP.UTF-8", "C", "C");
	ck_assert_int_eq(labels_lang_default(), LANG_JA);
	/* An empty variable counts as unset. */
	set_locale_env("", "", "ja_JP.UTF-8");
	ck_assert_int_eq(labels_lang_default(), LANG_JA);
	set_locale_env(NULL, NULL, NULL);
}
END_TEST

START_TEST(test_cliout_text_width)
{
	ck_assert_uint_eq(text_width(""), 0);
	ck_assert_uint_eq(text_width("case 2026-000123"), 16);
	ck_assert_uint_eq(text_width("漢字"), 4);
	ck_assert_uint_eq(text_width("ひらがな"), 8);
	ck_assert_uint_eq(text_width("カタカナ"), 8);
	ck_assert_uint_eq(text_width("ｶﾀｶﾅ"), 4); /* halfwidth: narrow */
	ck_assert_uint_eq(text_width("Ａ"), 2);   /* U+FF21 fullwidth */
	ck_assert_uint_eq(text_width("　"), 2);   /* U+3000 */
	ck_assert_uint_eq(text_width("「機器」、。"), 12);
	ck_assert_uint_eq(text_width("한국"), 4);
	ck_assert_uint_eq(text_width("USBメモリ紛失 (6)"), 3 + 10 + 4);
	ck_assert_uint_eq(text_width("\xf0\x9f\x94\x92"), 2); /* U+1F512 */
	ck_assert_uint_eq(text_width("\xf0\xa0\x80\x8b"), 2); /* U+2000B */
	/* Combining marks take no column. */
	ck_assert_uint_eq(text_width("e\xcc\x81"), 1); /* e + U+0301 */
	ck_assert_uint_eq(text_width("Re\xcc\x81sume\xcc\x81"), 6);
	ck_assert_uint_eq(text_width("\xe3\x81\x8b\xe3\x82\x99"), 2); /* か+゙ */
	/* Invalid bytes count one each. */
	ck_assert_uint_eq(text_width("\xff\xfe"), 2);
	ck_assert_uint_eq(text_width("a\x80z"), 3);
	ck_assert_uint_eq(text_width("\xc0\xaf"), 2);         /* overlong */
	ck_assert_uint_eq(text_width("\xed\xa0\x80"), 3);     /* surrogate */
	ck_assert_uint_eq(text_width("\xf4\x90\x80\x80"), 4); /* > U+10FFFF */
	ck_assert_uint_eq(text_width("\xe6\xbc"), 2);         /* truncated */
	ck_assert_uint_eq(text_width("\xe6\xbc"
	                             "a"),
	                  3);
	/* Controls: one column, as the table shows them. */
	ck_assert_uint_eq(text_width("a\tb\x1b"), 4);
}
END_TEST

START_TEST(test_cliout_table_golden)
{
	static const char *const rows[][3] = {
	    {"2026-000001", "報告", "USBメモリの紛失"},
	    {"2026-000002", "Investigating", "Phishing mail"},
	    {"2026-000003", "調査中", "ｶﾀｶﾅ and Ａ"},
	};
	static const char want[] =
	    "事案番号     状態           件名\n"
	    "-----------  -------------  ---------------\n"
	    "2026-000001  報告           USBメモリの紛失\n"
	    "2026-000002  Investigating  Phishing mail\n"
	    "2026-000003  調査中         ｶﾀｶﾅ and Ａ\n";
	struct table *t = table_new(3);
	char *out;

	table_header(t, 0, label(LANG_JA, "case.id"));
	table_header(t, 1, label(LANG_JA, "case.state"));
	table_header(t, 2, label(LANG_JA, "case.title"));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(rows); i++)
		table_add_row(t, rows[i]);
	out = print_table(t);
	ck_assert_str_eq(out, want);
	free(out);
	table_free(t);
}
END_TEST

START_TEST(test_cliout_table_truncates_at_width_boundary)
{
	/* "情報流出事案の調査" is 18 columns. */
	static const char *const r1[] = {"情報流出事案の調査", "x"};
	static const char *const r2[] = {"ab情報", "y"};
	static const char *const r3[] = {"e\xcc\x81"
	                                 "e\xcc\x81"
	                                 "e\xcc\x81"
	                                 "e\xcc\x81",
	                                 "z"};
	struct table *t = table_new(2);
	char *out;

	/* 8: "情報流" (6) and "…" (1); "出" would straddle the limit. */
	table_header(t, 0, "件名");
	table_header(t, 1, "c");
	table_set_max_width(t, 0, 8);
	table_add_row(t, r1);
	table_add_row(t, r2);
	out = print_table(t);
	ck_assert_str_eq(out, "件名     c\n"
	                      "-------  -\n"
	                      "情報流…  x\n"
	                      "ab情報   y\n");
	free(out);

	/* 9: exactly "情報流出" (8) and "…". */
	table_set_max_width(t, 0, 9);
	out = print_table(t);
	ck_assert_str_eq(out, "件名       c\n"
	                      "---------  -\n"
	                      "情報流出…  x\n"
	                      "ab情報     y\n");
	free(out);

	/* 1: nothing but "…"; headers are cut too. */
	table_set_max_width(t, 0, 1);
	out = print_table(t);
	ck_assert_str_eq(out, "…  c\n"
	                      "-  -\n"
	                      "…  x\n"
	                      "…  y\n");
	free(out);
	table_free(t);

	/* A combining mark stays with its base on either side of the cut. */
	t = table_new(2);
	table_set_max_width(t, 0, 3);
	table_add_row(t, r3);
	out = print_table(t);
	ck_assert_str_eq(out, "e\xcc\x81"
	                      "e\xcc\x81"
	                      "…  z\n");
	free(out);
	table_free(t);
}
END_TEST

START_TEST(test_cliout_table_no_trailing_spaces)
{
	static const char *const r1[] = {"長い件名の事案", NULL, ""};
	static const char *const r2[] = {"a", "b  ", NULL};
	static const char *const r3[] = {NULL, NULL, NULL};
	struct table *t = table_new(3);
	char *out, *line, *save = NULL;
	int lines = 0;

	table_header(t, 0, "件名");
	table_header(t, 1, "状態");
	table_add_row(t, r1);
	table_add_row(t, r2);
	table_add_row(t, r3);
	out = print_table(t);
	ck_assert_str_eq(out, "件名            状態\n"
	                      "--------------  ----\n"
	                      "長い件名の事案\n"
	                      "a               b\n"
	                      "\n");
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), lines++)
		ck_assert_msg(line[strlen(line) - 1] != ' ',
		              "trailing space in \"%s\"", line);
	ck_assert_int_eq(lines, 4);
	free(out);
	table_free(t);
}
END_TEST

START_TEST(test_cliout_table_neutralises_controls)
{
	/* Cells come from whoever filed the report: no escape sequences,
	 * no line breaks, no raw invalid bytes reach the terminal. */
	static const char *const r1[] = {"\x1b[2Jwiped", "a\nb\tc"};
	static const char *const r2[] = {"\xff\xe6\xbc", "\xe2\x80\xaeRTL"};
	struct table *t = table_new(2);
	char *out;

	table_add_row(t, r1);
	table_add_row(t, r2);
	out = print_table(t);
	ck_assert_str_eq(out, "?[2Jwiped  a b c\n"
	                      "???        ?RTL\n");
	free(out);
	table_free(t);
}
END_TEST

Suite *
cliout_suite(void)
{
	Suite *s = suite_create("cliout");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cliout_every_enum_value_labelled);
	tcase_add_test(tc, test_cliout_policy_words);
	tcase_add_test(tc, test_cliout_categories_named_and_described);
	tcase_add_test(tc, test_cliout_field_labels);
	tcase_add_test(tc, test_cliout_unknown_falls_back);
	tcase_add_test(tc, test_cliout_lang_parse);
	tcase_add_test(tc, test_cliout_lang_default_from_environment);
	tcase_add_test(tc, test_cliout_text_width);
	tcase_add_test(tc, test_cliout_table_golden);
	tcase_add_test(tc, test_cliout_table_truncates_at_width_boundary);
	tcase_add_test(tc, test_cliout_table_no_trailing_spaces);
	tcase_add_test(tc, test_cliout_table_neutralises_controls);
	suite_add_tcase(s, tc);
	return s;
}
