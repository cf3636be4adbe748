/*
 * labels.c - the words the CLI shows, Japanese and English side by side:
 * one table of field and UI labels, one of csirt.v1 enum values, and the
 * seven categories of 第13.1 with the policy's own names.  The Japanese
 * labels are the policy's words (所属長, 情報セキュリティ管理者, 機密性高,
 * 端末等, ...), never paraphrases, so a 所属長 recognises what the 要綱
 * told them to report.
 *
 * Pure lookups over constant tables: no I/O, no allocation, nothing that
 * can fail.  An unknown key or enum name comes back unchanged so that a
 * newer server never makes the CLI print NULL or nothing.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

struct label_entry {
	const char *key;
	const char *ja;
	const char *en;
};

#define LABELS_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * 第13.1 (1)..(7), in order: the proto name, the policy's name with its
 * number in each language, and the one-line description shown when a
 * 所属長 chooses a category.  label_enum() answers CATEGORY_* from here,
 * past the "(n) ", so the numbered and the plain names cannot disagree.
 */
struct category_entry {
	const char *proto_name;
	const char *name_ja;
	const char *name_en;
	const char *description_ja;
	const char *description_en;
};

#define LABELS_NUMBER_LEN 4 /* "(6) " */

static const struct category_entry categories[] = {
    {"CATEGORY_INFORMATION_LEAK", "(1) 情報流出事案", "(1) Information leak",
     "警察情報が外部に漏えいした、又はそのおそれがある事案"
     "（誤送信、不正な持ち出し、公開設定の誤り等）",
     "Police information has left the organisation or may have "
     "(misdirected mail, unauthorised removal, wrongly shared files)"},
    {"CATEGORY_SERIOUS_OUTAGE", "(2) 重大障害事案", "(2) Serious outage",
     "警察情報システムが停止し、又は機能が著しく低下して、"
     "業務に重大な支障が生じた事案",
     "A police information system stopped or was badly degraded, "
     "seriously disrupting police work"},
    {"CATEGORY_MALWARE_INTRUSION", "(3) 不正プログラム感染、不正アクセス事案等",
     "(3) Malware infection / unauthorised access",
     "コンピュータウイルス等の不正プログラムへの感染、又は"
     "不正アクセス若しくはその試みが認められた事案",
     "A computer was infected by a virus or other malware, or "
     "unauthorised access (or an attempt) was found"},
    {"CATEGORY_SYSTEM_MISUSE", "(4) 警察情報システムの不正使用事案",
     "(4) Misuse of police information systems",
     "警察情報システムを定められた目的以外に使用し、又は"
     "権限なく使用した事案",
     "A police information system was used for other than its set "
     "purpose, or by someone without authority"},
    {"CATEGORY_PERSONAL_DEVICE_MISUSE", "(5) 個人所有の機器の不正使用事案",
     "(5) Misuse of a personally owned device",
     "個人所有の機器を許可なく警察情報システムに接続し、"
     "事務室に持ち込み、又は業務に使用した事案",
     "A personally owned device was connected to a police system, "
     "brought into an office or used for work without permission"},
    {"CATEGORY_LOST_EQUIPMENT", "(6) 機器の紛失事案", "(6) Lost equipment",
     "端末等、外部記録媒体、UID、デジタルカメラ等、携帯電話機等の"
     "機器を紛失した事案",
     "A terminal, external storage medium, UID, digital camera, mobile "
     "phone or other equipment was lost"},
    {"CATEGORY_PUBLIC_IMPACT", "(7) その他社会的反響が大きいと予想される事案",
     "(7) Other incidents expected to have large public impact",
     "(1)から(6)までに当たらないが、社会的反響が大きいと"
     "予想される事案",
     "Any incident outside (1)-(6) that is expected to draw large "
     "public attention"},
};
_Static_assert(LABELS_LEN(categories) == 7, "第13.1 lists seven categories");

/* Field and UI labels; the keys are listed in labels.h. */
static const struct label_entry fields[] = {
    {"case.id", "事案番号", "Case"},
    {"case.title", "件名", "Title"},
    {"case.state", "状態", "State"},
    {"case.category", "区分", "Category"},
    {"case.division", "所属", "Division"},
    {"case.reporter", "報告者", "Reporter"},
    {"case.recognized_at", "認知日時", "Recognised at"},
    {"case.reported_at", "報告日時", "Reported at"},
    {"case.updated_at", "更新日時", "Updated at"},
    {"case.assignees", "調査担当", "Investigators"},
    {"case.classification", "格付", "Classification"},
    {"case.emergency", "緊急事態", "Emergency"},
    {"case.description", "概要", "Description"},
    {"case.equipment", "機器", "Equipment"},
    {"case.report_delay", "報告までの時間", "Time to report"},
    {"case.note_count", "メモ数", "Notes"},
    {"case.overdue", "期限超過", "Overdue since"},
    {"case.report_late", "報告遅延", "Reported late"},
    {"classification.confidentiality", "機密性", "Confidentiality"},
    {"classification.integrity", "完全性", "Integrity"},
    {"classification.availability", "可用性", "Availability"},
    {"classification.handling_restrictions", "取扱制限",
     "Handling restrictions"},
    {"equipment.kind", "種別", "Kind"},
    {"equipment.management_number", "管理番号", "Management number"},
    {"equipment.owner", "所有区分", "Ownership"},
    {"equipment.description", "説明", "Description"},
    {"emergency.instruction", "所属長の指示", "Instruction"},
    {"event.seq", "番号", "Seq"},
    {"event.time", "日時", "Time"},
    {"event.actor", "実施者", "Actor"},
    {"event.role", "役割", "Role"},
    {"event.type", "種別", "Type"},
    {"event.commit", "コミット", "Commit"},
    {"note.id", "メモ番号", "Note"},
    {"note.version", "版", "Version"},
    {"note.author", "作成者", "Author"},
    {"note.text", "内容", "Text"},
    {"user.login", "ログイン名", "Login"},
    {"user.display_name", "氏名", "Name"},
    {"user.role", "役割", "Role"},
    {"user.division", "所属", "Division"},
    {"user.disabled", "無効", "Disabled"},
    {"division.code", "所属コード", "Code"},
    {"division.name", "所属名", "Name"},
    {"token.id", "トークンID", "Token ID"},
    {"token.created_at", "発行日時", "Issued at"},
    {"token.revoked_at", "失効日時", "Revoked at"},
    /* csirt evidence (issue 6). */
    {"evidence.id", "証拠番号", "Evidence"},
    {"evidence.name", "ファイル名", "File name"},
    {"evidence.size", "サイズ(バイト)", "Size (bytes)"},
    {"evidence.uploader", "登録者", "Uploaded by"},
    {"evidence.uploaded_at", "登録日時", "Uploaded at"},
    {"evidence.sha256", "SHA-256", "SHA-256"},
    {"evidence.reason", "理由", "Reason"},
    {"evidence.disposed", "廃棄", "Disposed"},
    /* csirt stats (GetStatistics). */
    {"stats.total", "事案数", "Cases"},
    {"stats.count", "件数", "Count"},
    {"stats.month", "報告月", "Month"},
    {"stats.interval", "区間", "Interval"},
    {"stats.counted", "集計件数", "Counted"},
    {"stats.excluded", "対象外", "Excluded"},
    {"stats.median", "中央値(秒)", "Median (s)"},
    {"stats.p90", "90%値(秒)", "p90 (s)"},
    {"stats.to_acknowledge", "報告から受領まで", "Report to acknowledgement"},
    {"stats.to_escalate", "報告からCSIRT移管まで", "Report to escalation"},
    {"stats.to_close", "報告から終結まで", "Report to close"},
    {"stats.report_delay", "認知から報告まで", "Recognition to report"},
    {"stats.delay", "報告遅延", "Report delay"},
    /* 第13.2 investigation requests and physical items. */
    {"request.id", "要請番号", "Request"},
    {"request.kind", "要請種別", "Kind"},
    {"request.state", "要請状態", "State"},
    {"request.due", "期限", "Due"},
    {"request.what", "要請内容", "Requested"},
    {"request.created_by", "要請者", "Requested by"},
    {"request.acknowledged_by", "受領者", "Acknowledged by"},
    {"request.response", "回答", "Response"},
    {"request.closed_by", "完了・取消者", "Closed by"},
    {"request.closing_text", "完了・取消理由", "Closing remark"},
    {"summons.who", "出頭者", "Who"},
    {"summons.at", "出頭日時", "Date and time"},
    {"summons.place", "出頭場所", "Place"},
    {"summons.purpose", "出頭目的", "Purpose"},
    {"item.id", "物件番号", "Item"},
    {"item.registered", "物件登録", "item registered"},
    {"item.serial", "製造番号・IMEI", "Serial / IMEI"},
    {"item.owner_name", "所有者", "Owner"},
    {"item.seal_number", "封印番号", "Seal number"},
    {"item.state", "物件状態", "Item state"},
    {"item.holder", "保管者", "Held by"},
    {"custody.action", "処理", "Step"},
    {"custody.from", "引渡者", "From"},
    {"custody.to", "受領者", "To"},
    {"custody.at", "日時", "When"},
    {"custody.place", "場所", "Where"},
    {"custody.purpose", "目的・方法", "Purpose / method"},
    {"custody.registered", "登録", "Registered"},
    {"custody.transferred", "引継", "Transferred"},
    {"custody.returned", "返却", "Returned"},
    {"custody.disposed", "廃棄", "Disposed"},
    /* An interactive report (第13.1): asked in this order. */
    {"prompt.category", "区分を選んでください (1-7)",
     "Choose a category (1-7)"},
    {"prompt.title", "件名 (1行)", "Title (one line)"},
    {"prompt.description", "概要 (1行)", "Description (one line)"},
    {"prompt.recognized_at", "認知日時 (RFC 3339、空欄で現在)",
     "Recognised at (RFC 3339, empty for now)"},
    {"prompt.equipment", "紛失した機器 (空行で省略)",
     "Lost equipment (empty line to skip)"},
    {"prompt.equipment_kind",
     "機器の種別 (1: 端末等, 2: 外部記録媒体, 3: UID, 4: デジタルカメラ等, "
     "5: 携帯電話機)",
     "Kind of equipment (1: terminal, 2: external storage medium, 3: UID, "
     "4: digital camera, 5: mobile phone)"},
    {"prompt.management_number", "管理番号", "Management number"},
    {"prompt.ownership", "所有区分 (1: 公用, 2: 私有)",
     "Ownership (1: official, 2: personal)"},
    {"prompt.confidentiality", "機密性 (1: 低, 2: 中, 3: 高)",
     "Confidentiality (1: low, 2: medium, 3: high)"},
    {"prompt.emergency", "緊急事態 (第15) の特例による処理ですか [y/N]",
     "Handled under the emergency exception (section 15)? [y/N]"},
    {"prompt.emergency_instruction", "所属長の指示の内容",
     "The head of division's instruction"},
    {"prompt.confirm", "この内容で報告しますか [y/N]",
     "Submit this report? [y/N]"},
};

/*
 * Every other value of the csirt.v1 domain enums by its proto name (the
 * seven categories are above).  check_cliout walks the generated
 * descriptors, so a value added to domain.proto without a row here fails
 * the tests.
 */
static const struct label_entry enums[] = {
    {"CATEGORY_UNSPECIFIED", "区分未指定", "No category"},

    {"CASE_STATE_UNSPECIFIED", "状態未指定", "No state"},
    {"CASE_STATE_REPORTED", "報告", "Reported"},
    {"CASE_STATE_ACKNOWLEDGED", "受理", "Acknowledged"},
    {"CASE_STATE_ESCALATED", "上申", "Escalated"},
    {"CASE_STATE_INVESTIGATING", "調査中", "Investigating"},
    {"CASE_STATE_RESOLVED", "解決", "Resolved"},
    {"CASE_STATE_CLOSED", "終結", "Closed"},
    {"CASE_STATE_DISMISSED", "却下", "Dismissed"},

    {"ROLE_UNSPECIFIED", "役割未指定", "No role"},
    {"ROLE_REPORTER", "所属長", "Head of division"},
    {"ROLE_SECURITY_MANAGER", "情報セキュリティ管理者",
     "Information security manager"},
    {"ROLE_CSIRT_LEAD", "警視庁CSIRTの長", "Head of the CSIRT"},
    {"ROLE_INVESTIGATOR", "CSIRT調査員", "CSIRT investigator"},
    {"ROLE_AUDITOR", "監査担当", "Auditor"},
    {"ROLE_ADMIN", "システム管理者", "Administrator"},
    {"ROLE_SYSTEM", "システム (自動処理)", "System (automatic)"},

    {"CONFIDENTIALITY_UNSPECIFIED", "機密性未指定", "Confidentiality unset"},
    {"CONFIDENTIALITY_LOW", "機密性低", "Confidentiality low"},
    {"CONFIDENTIALITY_MEDIUM", "機密性中", "Confidentiality medium"},
    {"CONFIDENTIALITY_HIGH", "機密性高", "Confidentiality high"},

    {"INTEGRITY_UNSPECIFIED", "完全性未指定", "Integrity unset"},
    {"INTEGRITY_LOW", "完全性低", "Integrity low"},
    {"INTEGRITY_HIGH", "完全性高", "Integrity high"},

    {"AVAILABILITY_UNSPECIFIED", "可用性未指定", "Availability unset"},
    {"AVAILABILITY_LOW", "可用性低", "Availability low"},
    {"AVAILABILITY_HIGH", "可用性高", "Availability high"},

    {"EQUIPMENT_KIND_UNSPECIFIED", "種別未指定", "Kind unset"},
    {"EQUIPMENT_KIND_TERMINAL", "端末等", "Terminal"},
    {"EQUIPMENT_KIND_EXTERNAL_MEDIA", "外部記録媒体",
     "External storage medium"},
    {"EQUIPMENT_KIND_UID", "UID", "UID device"},
    {"EQUIPMENT_KIND_DIGITAL_CAMERA", "デジタルカメラ等", "Digital camera"},
    {"EQUIPMENT_KIND_MOBILE_PHONE", "携帯電話機", "Mobile phone"},

    {"OWNERSHIP_UNSPECIFIED", "所有区分未指定", "Ownership unset"},
    {"OWNERSHIP_OFFICIAL", "公用", "Official"},
    {"OWNERSHIP_PERSONAL", "私有", "Personal"},

    /* 第13.2 */
    {"REQUEST_KIND_UNSPECIFIED", "要請種別未指定", "Kind unset"},
    {"REQUEST_KIND_SUMMONS", "出頭要請", "Summons"},
    {"REQUEST_KIND_MATERIAL", "資料提出", "Material submission"},
    {"REQUEST_KIND_DEVICE", "個人所有機器の提出", "Personal device submission"},

    {"REQUEST_STATE_UNSPECIFIED", "要請状態未指定", "No state"},
    {"REQUEST_STATE_OPEN", "依頼中", "Open"},
    {"REQUEST_STATE_ACKNOWLEDGED", "受領", "Acknowledged"},
    {"REQUEST_STATE_RESPONDED", "回答済", "Responded"},
    {"REQUEST_STATE_FULFILLED", "完了", "Fulfilled"},
    {"REQUEST_STATE_CANCELLED", "取消", "Cancelled"},

    {"ITEM_STATE_UNSPECIFIED", "物件状態未指定", "No state"},
    {"ITEM_STATE_HELD", "保管中", "Held"},
    {"ITEM_STATE_RETURNED", "返却済", "Returned"},
    {"ITEM_STATE_DISPOSED", "廃棄済", "Disposed"},
};

static const struct label_entry *
labels_find(const struct label_entry *table, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

static const char *
labels_pick(enum lang l, const char *ja, const char *en)
{
	assert(l == LANG_JA || l == LANG_EN);
	return l == LANG_JA ? ja : en;
}

/* "ja", "ja_JP.UTF-8", "ja@..." but not "jam" or "javanese". */
static int
labels_locale_is_ja(const char *s)
{
	return strncmp(s, "ja", 2) == 0 &&
	       (s[2] == '\0' || s[2] == '_' || s[2] == '.' || s[2] == '@');
}

enum lang
labels_lang_default(void)
{
	/* POSIX precedence; an empty variable counts as unset. */
	static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};

	for (size_t i = 0; i < LABELS_LEN(vars); i++) {
		const char *v = getenv(vars[i]);

		if (v != NULL && *v != '\0')
			return labels_locale_is_ja(v) ? LANG_JA : LANG_EN;
	}
	return LANG_EN;
}

int
labels_lang_parse(enum lang *out, const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "ja") == 0)
		*out = LANG_JA;
	else if (strcmp(s, "en") == 0)
		*out = LANG_EN;
	else
		return -1;
	return 0;
}

const char *
label(enum lang l, const char *key)
{
	const struct label_entry *e;

	assert(key != NULL);
	e = labels_find(fields, LABELS_LEN(fields), key);
	return e != NULL ? labels_pick(l, e->ja, e->en) : key;
}

const char *
label_enum(enum lang l, const char *proto_name)
{
	const struct label_entry *e;

	assert(proto_name != NULL);
	for (size_t i = 0; i < LABELS_LEN(categories); i++) {
		const struct category_entry *c = &categories[i];

		if (strcmp(c->proto_name, proto_name) == 0)
			return labels_pick(l, c->name_ja, c->name_en) +
			       LABELS_NUMBER_LEN;
	}
	e = labels_find(enums, LABELS_LEN(enums), proto_name);
	return e != NULL ? labels_pick(l, e->ja, e->en) : proto_name;
}

const char *
label_category_name(enum lang l, int category)
{
	const struct category_entry *c;

	if (category < 1 || (size_t)category > LABELS_LEN(categories))
		return NULL;
	c = &categories[category - 1];
	return labels_pick(l, c->name_ja, c->name_en);
}

const char *
label_category_description(enum lang l, int category)
{
	const struct category_entry *c;

	if (category < 1 || (size_t)category > LABELS_LEN(categories))
		return NULL;
	c = &categories[category - 1];
	return labels_pick(l, c->description_ja, c->description_en);
}

void
labels_foreach(labels_foreach_cb fn, void *arg)
{
	for (size_t i = 0; i < LABELS_LEN(categories); i++) {
		const struct category_entry *c = &categories[i];

		fn("category", c->proto_name, c->name_ja, c->name_en,
		   c->description_ja, c->description_en, arg);
	}
	for (size_t i = 0; i < LABELS_LEN(fields); i++)
		fn("field", fields[i].key, fields[i].ja, fields[i].en, NULL,
		   NULL, arg);
	for (size_t i = 0; i < LABELS_LEN(enums); i++)
		fn("enum", enums[i].key, enums[i].ja, enums[i].en, NULL, NULL,
		   arg);
}
