// i18n.js - the words of the web client in Japanese (the default) and
// English.  The domain words - field names, enum values, the seven
// categories of 第13.1 and their descriptions - come from labels.js, which
// the build writes from the CLI's own tables (clients/csirt/labels.c), so
// the browser and the terminal say the same thing.  This file adds only
// what the CLI has no use for: screen titles, buttons, and the API's
// errors as plain sentences.

import { categories, fields, enums } from './labels.js';

const LANG_KEY = 'csirt.lang';
let current = sessionStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'ja';

export function lang() {
  return current;
}

export function setLang(l) {
  current = l === 'en' ? 'en' : 'ja';
  sessionStorage.setItem(LANG_KEY, current);
  document.documentElement.lang = current;
}

const ui = {
  'app.title': ['csirtd 事案管理', 'csirtd case tracking'],
  'app.lang_toggle': ['English', '日本語'],
  'app.lang_toggle_label': ['Switch to English', '日本語に切り替え'],
  'app.logout': ['ログアウト', 'Log out'],
  'app.signed_in': ['ログイン中', 'Signed in as'],
  'nav.cases': ['事案一覧', 'Cases'],
  'nav.report': ['事案の報告', 'Report an incident'],
  'login.title': ['ログイン', 'Log in'],
  'login.token': ['トークン', 'Token'],
  'login.hint': [
    'システム管理者から受け取ったトークンを入力してください。トークンはこのタブを閉じると消去されます。',
    'Enter the token your administrator gave you. It is forgotten when this tab closes.'],
  'login.submit': ['ログイン', 'Log in'],
  'login.admin': [
    'システム管理者の操作はコマンド (csirt admin) で行ってください。この画面では事案を扱いません。',
    'Administrators work with the command line (csirt admin); this client handles cases only.'],
  'report.title': ['事案の報告 (第13.1)', 'Report an incident (section 13.1)'],
  'report.category_legend': ['区分', 'Category'],
  'report.now': ['現在時刻', 'Now'],
  'report.equipment_legend': ['紛失・関係する機器', 'Equipment concerned'],
  'report.equipment_add': ['機器を追加', 'Add equipment'],
  'report.equipment_remove': ['この機器を削除', 'Remove this equipment'],
  'report.equipment_row': ['機器', 'Equipment'],
  'report.choose': ['選択してください', 'Choose'],
  'report.classification_legend': ['格付 (別表第3)', 'Classification (table 3)'],
  'report.restrictions_hint': ['1行に1つ', 'one per line'],
  'report.emergency_legend': ['緊急事態 (第15)', 'Emergency (section 15)'],
  'report.emergency_flag': ['緊急事態の特例により処理した', 'Handled under the emergency exception'],
  'report.emergency_help': [
    '緊急事態の特例により処理した場合は、所属長が行った指示の内容を記入してください。',
    "If the emergency exception was used, write down the head of division's instruction."],
  'report.submit': ['報告する', 'Submit the report'],
  'report.done': ['報告しました。事案番号: ', 'Reported. Case: '],
  'report.invalid': ['入力内容を確認してください。', 'Please check the form.'],
  'v.required': ['入力してください。', 'This is required.'],
  'v.too_long': ['長すぎます (最大 {max} バイト)。', 'Too long (at most {max} bytes).'],
  'v.one_line': ['改行や制御文字は使えません。', 'Line breaks and control characters are not allowed.'],
  'v.future': ['未来の日時は指定できません。', 'Must not be in the future.'],
  'v.bad_time': ['日時が正しくありません。', 'Not a valid date and time.'],
  'v.too_many': ['多すぎます (最大 {max} 件)。', 'Too many (at most {max}).'],
  'v.duplicate': ['重複があります。', 'Contains a duplicate.'],
  'v.instruction_without_flag': [
    '緊急事態の特例にチェックがない場合、指示は記入できません。',
    'An instruction is given only with the emergency exception.'],
  'list.title': ['事案一覧', 'Cases'],
  'list.filters': ['絞り込み', 'Filters'],
  'list.any': ['すべて', 'Any'],
  'list.overdue_only': ['期限超過のみ', 'Overdue only'],
  'list.text': ['件名・概要に含む語', 'Words in title or description'],
  'list.apply': ['絞り込む', 'Apply'],
  'list.empty': ['該当する事案はありません。', 'No cases match.'],
  'list.next': ['次のページ', 'Next page'],
  'list.prev': ['前のページ', 'Previous page'],
  'list.overdue_badge': ['期限超過', 'Overdue'],
  'list.late_badge': ['報告遅延', 'Reported late'],
  'list.emergency_badge': ['緊急', 'Emergency'],
  'case.back': ['一覧に戻る', 'Back to the list'],
  'case.timeline': ['経過', 'Timeline'],
  'case.actions': ['この事案に対する操作', 'Actions on this case'],
  'case.no_actions': ['この状態で行える操作はありません。', 'Nothing you can do in this state.'],
  'case.history_link': ['台帳の履歴 (コミットID)', 'Ledger history (commit ids)'],
  'case.done': ['記録しました。', 'Recorded.'],
  'case.submit': ['実行する', 'Do it'],
  'case.cancel': ['取消', 'Cancel'],
  'case.text': ['コメント', 'Comment'],
  'case.text_required': ['内容 (必須)', 'Text (required)'],
  'case.assignees': ['調査担当のログイン名 (カンマ区切り)', 'Investigators\' logins (comma-separated)'],
  'case.none': ['なし', 'None'],
  'case.yes': ['あり', 'Yes'],
  'case.note_inherits': [
    'メモは事案の格付を引き継ぎます（第4.4）。機密性を上げることはできますが、事案より下げることはできません。機密性高・中のメモは暗号化して保存されます。',
    'A note inherits its case\'s classification (第4.4): its 機密性 may be raised, never set below the case\'s. 機密性高 and 中 notes are stored encrypted.'],
  'case.note_below_case': [
    'メモの機密性は事案の機密性より低くできません（第4.4）。',
    'A note\'s 機密性 cannot be below its case\'s (第4.4).'],
  'history.title': ['台帳の履歴', 'Ledger history'],
  'history.hint': [
    '各行は台帳 (ledger.git) の署名付きコミット1件です。git log で照合できます。',
    'Each row is one signed commit of the ledger (ledger.git); check it with git log.'],
  'action.acknowledge': ['受理する', 'Acknowledge'],
  'action.guidance': ['指導する (第13.3)', 'Give guidance (13.3)'],
  'action.escalate': ['CSIRTに上申する', 'Escalate to the CSIRT'],
  'action.dismiss': ['却下する', 'Dismiss'],
  'action.investigate': ['調査を開始する', 'Open an investigation'],
  'action.assign': ['調査担当を指名する', 'Assign investigators'],
  'action.note': ['メモを追加する', 'Add a note'],
  'action.resolve': ['解決とする', 'Resolve'],
  'action.close': ['終結する', 'Close'],
  'action.reopen': ['再開する', 'Reopen'],
  'event.ledger.initialized': ['台帳の作成', 'Ledger created'],
  'event.case.reported': ['報告', 'Reported'],
  'event.case.acknowledged': ['受理', 'Acknowledged'],
  'event.case.guidance_given': ['指導', 'Guidance given'],
  'event.case.escalated': ['上申', 'Escalated'],
  'event.case.dismissed': ['却下', 'Dismissed'],
  'event.case.investigation_opened': ['調査開始', 'Investigation opened'],
  'event.case.investigators_assigned': ['調査担当の指名', 'Investigators assigned'],
  'event.case.resolved': ['解決', 'Resolved'],
  'event.case.closed': ['終結', 'Closed'],
  'event.case.reopened': ['再開', 'Reopened'],
  'event.case.updated': ['報告内容の修正', 'Report corrected'],
  'event.note.added': ['メモ追加', 'Note added'],
  'event.note.edited': ['メモ修正', 'Note edited'],
  'event.deadline.missed': ['期限超過', 'Deadline missed'],
  'err.unauthenticated': [
    'トークンが正しくないか、無効になっています。もう一度ログインしてください。',
    'The token is wrong or no longer valid. Please log in again.'],
  'err.permission_denied': ['この操作を行う権限がありません。', 'You are not allowed to do this.'],
  'err.not_found': ['該当するものが見つかりません。', 'It could not be found.'],
  'err.invalid_argument': ['入力内容に誤りがあります。', 'Something in the input is not valid.'],
  'err.malformed': ['送信した内容を読み取れませんでした。', 'The request could not be read.'],
  'err.failed_precondition': [
    'この事案の現在の状態では、この操作はできません。画面を更新してください。',
    'This cannot be done in the case\'s current state. Please reload.'],
  'err.already_exists': ['既に存在します。', 'It already exists.'],
  'err.resource_exhausted': [
    'サーバーが混み合っています。しばらくしてからもう一度お試しください。',
    'The server is busy. Please try again in a moment.'],
  'err.unavailable': [
    'サーバーが一時的に利用できません。しばらくしてからもう一度お試しください。',
    'The server is temporarily unavailable. Please try again in a moment.'],
  'err.too_large': ['送信する内容が大きすぎます。', 'What you sent is too large.'],
  'err.network': [
    'サーバーに接続できませんでした。ネットワークを確認してください。',
    'Could not reach the server. Please check the network.'],
  'err.unknown': ['予期しないエラーが発生しました。', 'An unexpected error occurred.'],
  'err.detail': ['詳細: ', 'Detail: '],
  'err.digest': [
    '受信した内容が SHA-256 と一致しません。もう一度お試しください。',
    'The content received does not match its SHA-256. Please try again.'],

  // 第13.2 investigation requests (views/requests.js).
  'nav.requests_todo': ['対応が必要な調査要請', 'Requests to respond to'],
  'nav.requests_open': ['調査要請', 'Investigation requests'],
  'req.todo_title': ['対応が必要な調査要請 (第13.2)', 'Investigation requests to respond to (13.2)'],
  'req.todo_hint': [
    '所属の事案について、CSIRTから受けた調査要請のうち、受領または回答が済んでいないものです。',
    "Requests from the CSIRT about your division's cases that you have yet to acknowledge or answer."],
  'req.open_title': ['未完了の調査要請 (第13.2)', 'Open investigation requests (13.2)'],
  'req.open_hint': [
    '依頼中・受領・回答済の調査要請です。完了・取消は事案の画面からも行えます。',
    'Requests that are open, acknowledged or answered. They can also be fulfilled or cancelled from the case page.'],
  'req.todo_empty': ['該当する調査要請はありません。', 'No requests.'],
  'req.section': ['調査要請 (第13.2)', 'Investigation requests (13.2)'],
  'req.none': ['この事案に調査要請はありません。', 'This case has no investigation requests.'],
  'req.actions': ['操作', 'Actions'],
  'req.create': ['調査要請を作成する', 'Create a request'],
  'req.what_hint': ['出頭要請では省略できます。', 'May be left empty for a summons.'],
  'req.due_hint': ['現在から{max}日以内の日時', 'Within {max} days from now'],
  'req.summons_legend': ['出頭の内容', 'Summons'],
  'req.summons_who': ['出頭者', 'Who is to appear'],
  'req.summons_at': ['出頭日時', 'Date and time'],
  'req.summons_place': ['場所', 'Place'],
  'req.summons_purpose': ['目的', 'Purpose'],
  'req.action.acknowledge': ['受領する', 'Acknowledge'],
  'req.action.respond': ['回答する', 'Respond'],
  'req.action.fulfil': ['完了とする', 'Mark fulfilled'],
  'req.action.cancel': ['要請を取り消す', 'Cancel the request'],
  'req.text.acknowledge': ['コメント', 'Comment'],
  'req.text.respond': ['回答 (必須)', 'Response (required)'],
  'req.text.fulfil': ['コメント', 'Comment'],
  'req.text.cancel': ['取消の理由 (必須)', 'Reason for cancelling (required)'],
  'req.devices_legend': [
    '提出する機器 (登録すると事案の物件になり、保管者は回答した所属長となります)',
    'Devices submitted (each becomes an item of the case, held first by you)'],
  'req.owner_name_hint': ['私有の機器では必須です。', 'Required for a personal device.'],
  'req.items': ['提出物件', 'Items submitted'],
  'req.err.failed_precondition': [
    'この調査要請の現在の状態では、この操作はできません。画面を更新してください。',
    "This cannot be done in the request's current state. Please reload."],
  'req.err.permission_denied': [
    'この調査要請に対してこの操作を行う権限がありません。',
    'You are not allowed to do this with this request.'],
  'req.err.not_found': ['該当する事案または調査要請が見つかりません。', 'The case or the request could not be found.'],
  'req.err.invalid_argument': [
    '調査要請の内容に誤りがあります。期限や必須項目を確認してください。',
    'Something in the request is not valid: check the due time and the required fields.'],
  'v.not_future': ['現在より後の日時を指定してください。', 'Must be in the future.'],
  'v.too_far': ['{max}日より先の日時は指定できません。', 'Must be at most {max} days ahead.'],

  // Evidence (views/evidence.js).
  'ev.section': ['証拠ファイル', 'Evidence files'],
  'ev.loading': ['読み込み中…', 'Loading…'],
  'ev.none': ['登録された証拠ファイルはありません。', 'No evidence files yet.'],
  'ev.version_col': ['版', 'Version'],
  'ev.version': ['第{n}版', 'version {n}'],
  'ev.content': ['内容', 'Content'],
  'ev.upload_legend': ['証拠ファイルの登録', 'Add an evidence file'],
  'ev.file': ['ファイル', 'File'],
  'ev.target': ['登録先', 'Add as'],
  'ev.new_item': ['新しい証拠', 'A new item'],
  'ev.new_version_of': ['{name} ({id}) の新しい版', 'A new version of {name} ({id})'],
  'ev.reason_hint': ['新しい版として登録するときは必須です。', 'Required for a new version.'],
  'ev.inherits': [
    '証拠ファイルは事案の格付を引き継ぎます（第4.4）。機密性を上げることはできますが、下げることはできません。新しい版は元の証拠の格付を引き継ぎます。内容は暗号化して保存されます。',
    "A file inherits its case's classification (第4.4): its 機密性 may be raised, never lowered. A new version keeps its item's. Content is stored encrypted."],
  'ev.below_case': [
    '証拠ファイルの機密性は事案の機密性より低くできません（第4.4）。',
    "A file's 機密性 cannot be below its case's (第4.4)."],
  'ev.submit': ['登録する', 'Upload'],
  'ev.progress': ['進捗', 'Progress'],
  'ev.hashing': ['SHA-256 を計算中… {pct} %', 'Computing the SHA-256… {pct} %'],
  'ev.uploading': ['送信中… {done} / {total} バイト ({pct} %)', 'Sending… {done} of {total} bytes ({pct} %)'],
  'ev.downloading': ['受信中… {done} / {total} バイト ({pct} %)', 'Receiving… {done} of {total} bytes ({pct} %)'],
  'ev.uploaded': ['登録しました: {name} 第{n}版', 'Added: {name}, version {n}'],
  'ev.download': ['ダウンロード', 'Download'],
  'ev.save': ['保存する: {name}', 'Save {name}'],
  'ev.refused_level': [
    '{level}の内容は、{role}の役割では閲覧できません (別表第3)。',
    'Content classified {level} cannot be read in the role {role} (table 3).'],
  'ev.refused_assigned': [
    'この事案の調査担当ではないため、内容は閲覧できません。',
    'You are not assigned to this case, so its content cannot be read.'],
  'ev.refused_disposed': [
    '廃棄済みです。鍵は破棄され、内容は復号できません。',
    'Disposed of: its keys were destroyed and the content can never be decrypted.'],
  'ev.err.permission_denied': [
    'この証拠ファイルの内容を閲覧または登録する権限がありません (別表第3)。',
    'You are not allowed to read or add the content of this evidence (table 3).'],
  'ev.err.failed_precondition': [
    'この証拠ファイルは現在扱えません (廃棄済み、または事案の状態による)。画面を更新してください。',
    'This evidence cannot be handled now (disposed of, or the case\'s state). Please reload.'],
  'ev.err.invalid_argument': [
    '送信した内容が受け付けられませんでした。大きさの上限やファイル名を確認してください。送信中にファイルが変更された場合もこうなります。',
    'What was sent was refused: check the size limit and the file name. A file changed while it was being sent is refused too.'],
  'ev.err.resource_exhausted': [
    '他の登録が多数進行中です。しばらくしてからもう一度お試しください。',
    'Too many uploads are in progress. Please try again in a moment.'],

  // Timeline entries of the events above.
  'event.request.created': ['調査要請', 'Request made'],
  'event.request.acknowledged': ['調査要請の受領', 'Request acknowledged'],
  'event.request.responded': ['調査要請への回答', 'Request answered'],
  'event.request.fulfilled': ['調査要請の完了', 'Request fulfilled'],
  'event.request.cancelled': ['調査要請の取消', 'Request cancelled'],
  'event.item.registered': ['物件の登録', 'Item registered'],
  'event.item.transferred': ['物件の引継ぎ', 'Item transferred'],
  'event.item.returned': ['物件の返還', 'Item returned'],
  'event.item.disposed': ['物件の廃棄', 'Item disposed of'],
  'event.evidence.added': ['証拠ファイルの登録', 'Evidence added'],
  'event.evidence.disposed': ['証拠ファイルの廃棄', 'Evidence disposed of'],
  'event.evidence.reclassified': ['証拠ファイルの格付見直し', 'Evidence reclassified'],
};

// The UI string `key`, with {name} replaced from `vars`.
export function t(key, vars) {
  const row = ui[key];
  let s = row ? row[current === 'ja' ? 0 : 1] : key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, String(v));
  return s;
}

function pick(row, key) {
  return row ? row[current] : key;
}

// A field label of the CLI's table ("case.title" -> 件名 / Title).
export function label(key) {
  return pick(fields[key], key);
}

// An enum value by its proto name (ROLE_REPORTER -> 所属長); categories
// without their "(n) " number, as the CLI shows them in tables.
export function enumLabel(name) {
  const c = categories.find((x) => x.key === name);
  if (c) return c[current].replace(/^\(\d\) /, '');
  return pick(enums[name], name || '');
}

// The seven categories of 第13.1, numbered, with their descriptions.
export function categoryList() {
  return categories.map((c, i) => ({
    key: c.key,
    number: i + 1,
    name: c[current],
    description: current === 'ja' ? c.descJa : c.descEn,
  }));
}

export function enumValues(prefix) {
  return Object.keys(enums).filter((k) => k.startsWith(prefix) && !k.endsWith('_UNSPECIFIED'));
}

// An API error as a sentence in the chosen language: the screen's own
// sentence for the code (`${scope}.err.${code}`) when there is one.
export function errorSentence(err, scope) {
  const code = err && err.code;
  if (scope && ui[`${scope}.err.${code}`]) return t(`${scope}.err.${code}`);
  return ui[`err.${code}`] ? t(`err.${code}`) : t('err.unknown');
}

// An RFC 3339 time for people, in the browser's time zone.
export function formatTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleString(current === 'ja' ? 'ja-JP' : 'en-GB', { hour12: false });
}
