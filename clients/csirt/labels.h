/*
 * labels.h - every label the CLI shows, in Japanese and English: field
 * names, enum values (states, categories, roles, classification levels,
 * equipment kinds) and the 第13.1 category descriptions.  One table, pure
 * functions, no I/O.
 */
#ifndef CSIRT_LABELS_H
#define CSIRT_LABELS_H

enum lang {
	LANG_JA,
	LANG_EN,
};

/* From the environment: LC_ALL, then LC_MESSAGES, then LANG; "ja..." gives
 * LANG_JA, anything else (or nothing) LANG_EN. */
enum lang labels_lang_default(void);
/* "ja" or "en"; -1 otherwise. */
int labels_lang_parse(enum lang *out, const char *s);

/* A field or UI label by key: "case.id", "case.title", "case.state",
 * "case.category", "case.division", "case.reporter", "case.recognized_at",
 * "case.reported_at", "case.updated_at", "case.assignees",
 * "case.classification", "case.emergency", "case.description",
 * "event.seq", "event.time", "event.actor", "event.role", "event.type",
 * "event.commit", "note.id", "note.version", "note.author", "note.text",
 * "user.login", "user.display_name", "user.role", "user.division",
 * "user.disabled", "division.code", "division.name", "token.id",
 * "token.created_at", "token.revoked_at"; for `csirt evidence`
 * "evidence.id", "evidence.name", "evidence.size", "evidence.uploader",
 * "evidence.uploaded_at", "evidence.sha256", "evidence.reason",
 * "evidence.disposed"; for `csirt stats`
 * "stats.total", "stats.count", "stats.month", "stats.interval",
 * "stats.counted", "stats.excluded", "stats.median", "stats.p90",
 * "stats.to_acknowledge", "stats.to_escalate", "stats.to_close",
 * "stats.report_delay", "stats.delay"; for a case's details also
 * "case.equipment", "case.report_delay", "case.note_count",
 * "case.overdue", "case.report_late",
 * "classification.confidentiality", "classification.integrity",
 * "classification.availability", "classification.handling_restrictions",
 * "equipment.kind", "equipment.management_number", "equipment.owner",
 * "equipment.description", "emergency.instruction"; for 第13.2
 * "request.id", "request.kind", "request.state", "request.due",
 * "request.what", "request.created_by", "request.acknowledged_by",
 * "request.response", "request.closed_by", "request.closing_text",
 * "summons.who", "summons.at", "summons.place", "summons.purpose",
 * "item.id", "item.registered", "item.serial", "item.owner_name",
 * "item.seal_number", "item.state", "item.holder", "custody.action",
 * "custody.from", "custody.to", "custody.at", "custody.place",
 * "custody.purpose", "custody.registered", "custody.transferred",
 * "custody.returned", "custody.disposed"; and the prompts of an
 * interactive report (第13.1), in the order they are asked:
 * "prompt.category", "prompt.title", "prompt.description",
 * "prompt.recognized_at", "prompt.equipment", "prompt.equipment_kind",
 * "prompt.management_number", "prompt.ownership", "prompt.confidentiality",
 * "prompt.emergency", "prompt.emergency_instruction", "prompt.confirm".
 * Prompts carry their own choices and default ("[y/N]") but no trailing
 * ": ".  An unknown key returns the key itself (never NULL). */
const char *label(enum lang l, const char *key);

/* An enum value by its proto name ("CASE_STATE_REPORTED" -> "報告" /
 * "Reported"; "CATEGORY_LOST_EQUIPMENT" -> "機器の紛失事案" / "Lost
 * equipment").  Unknown names are returned unchanged. */
const char *label_enum(enum lang l, const char *proto_name);

/* 第13.1: the seven categories, 1..7: the policy's own name ("(6)
 * 機器の紛失事案") and a one-line description in the language.  NULL for
 * anything outside 1..7. */
const char *label_category_name(enum lang l, int category);
const char *label_category_description(enum lang l, int category);

/*
 * Every row of the tables, in order, for tools/web-labels, which writes
 * the web client's labels.js from them at build time (one table for both
 * clients).  `kind` is "category" (key: the proto name; ja/en: the
 * numbered name; desc_*: the description), "field" or "enum" (desc_*
 * NULL).  All strings are static.
 */
typedef void (*labels_foreach_cb)(const char *kind, const char *key,
                                  const char *ja, const char *en,
                                  const char *desc_ja, const char *desc_en,
                                  void *arg);
void labels_foreach(labels_foreach_cb fn, void *arg);

#endif
