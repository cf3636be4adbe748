/*
 * check_cli.c - the csirt command-line client against the real daemon: a
 * complete 第13 scenario driven only through the CLI (report in Japanese,
 * acknowledge, guidance, escalate, investigate, assign, notes, resolve,
 * close; another division's `show` answers not found; the auditor's
 * `history` names every step's actor and time), and the failure paths:
 * exit codes and messages for usage, authentication, permission, not
 * found, state conflicts and unreachable servers; login and its 0600 file;
 * admin commands; report files; note edit through $EDITOR.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"
#include "suites.h"
#include "table.h"

struct run {
	int status; /* exit code, or -1 if it did not exit */
	char *out, *err;
};

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/*
 * Runs CSIRT_BIN with `argv` (NULL-terminated), CSIRT_URL pointing at the
 * daemon (unless `url` overrides it; "" unsets it), CSIRT_TOKEN = `token`
 * (NULL unsets it), HOME in the test directory, stdin from `input`
 * (NULL: /dev/null), extra environment `env` ("K=V" strings, may be NULL).
 */
static struct run
cli_run_env(struct apic *a, const char *token, const char *url,
            const char *input, const char *const *env, const char *const *argv)
{
	char *outp = util_path_join(a->dir, "cli.out");
	char *errp = util_path_join(a->dir, "cli.err");
	char *inp = util_path_join(a->dir, "cli.in");
	char addr[160];
	struct run r = {-1, NULL, NULL};
	size_t len;
	int status;
	pid_t pid;

	snprintf(addr, sizeof(addr), "http://%s", a->d.addr);
	if (input != NULL)
		ck_assert_int_eq(
		    util_write_file_atomic(inp, input, strlen(input), 0600), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *args[48];
		size_t n = 0;
		int fd;

		args[n++] = CSIRT_BIN;
		for (; *argv != NULL && n < 47; argv++)
			args[n++] = *argv;
		args[n] = NULL;
		fd = open(input != NULL ? inp : "/dev/null", O_RDONLY);
		dup2(fd, 0);
		fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		setenv("HOME", a->dir, 1);
		unsetenv("CSIRT_CONFIG");
		unsetenv("XDG_CONFIG_HOME");
		unsetenv("CSIRT_CACERT");
		unsetenv("LC_ALL");
		unsetenv("LC_MESSAGES");
		setenv("LANG", "C", 1);
		if (url == NULL)
			setenv("CSIRT_URL", addr, 1);
		else if (*url == '\0')
			unsetenv("CSIRT_URL");
		else
			setenv("CSIRT_URL", url, 1);
		if (token != NULL)
			setenv("CSIRT_TOKEN", token, 1);
		else
			unsetenv("CSIRT_TOKEN");
		for (; env != NULL && *env != NULL; env++)
			putenv((char *)(uintptr_t)*env);
		execv(CSIRT_BIN, (char *const *)(uintptr_t)args);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status))
		r.status = WEXITSTATUS(status);
	ck_assert_int_eq(util_read_file(&r.out, &len, outp, 1 << 24), 0);
	ck_assert_int_eq(util_read_file(&r.err, &len, errp, 1 << 24), 0);
	free(outp);
	free(errp);
	free(inp);
	return r;
}

#define CLI(a, token, ...)                                                     \
	cli_run_env(a, token, NULL, NULL, NULL,                                \
	            (const char *const[]){__VA_ARGS__, NULL})

/* Runs and asserts the exit code, showing stderr when it differs. */
#define CLI_EXPECT(r, code)                                                    \
	ck_assert_msg((r).status == (code),                                    \
	              "exit %d, expected %d\nstdout: %s\nstderr: %s",          \
	              (r).status, (code), (r).out, (r).err)

#define HAS(s, needle)                                                         \
	ck_assert_msg(strstr((s), (needle)) != NULL, "no \"%s\" in:\n%s",      \
	              (needle), (s))

/* The first case id ("YYYY-NNNNNN") in `s`; caller frees. */
static char *
find_case_id(const char *s)
{
	for (; *s != '\0'; s++) {
		int ok = 1;
		for (int i = 0; i < 11 && ok; i++)
			ok =
			    i == 4 ? s[i] == '-' : (s[i] >= '0' && s[i] <= '9');
		if (ok)
			return strndup(s, 11);
	}
	return NULL;
}

/* Reports the lost mobile PC as rep1 and returns its id. */
static char *
report_lost_pc(struct apic *a)
{
	struct run r = CLI(a, a->rep1, "--lang", "ja", "report", "--category",
	                   "6", "--title", "モバイルPCの紛失", "--description",
	                   "出張先の新幹線車内で業務用モバイルPCを紛失した。",
	                   "--recognized-at", "2026-01-15T09:30:00+09:00",
	                   "--confidentiality", "medium", "--equipment",
	                   "terminal:PC-0042:official:業務用モバイルPC");
	char *id;

	CLI_EXPECT(r, 0);
	/* Japanese labels: the 第13.1 category by the policy's name. */
	HAS(r.out, "機器の紛失事案");
	HAS(r.out, "モバイルPCの紛失");
	HAS(r.out, "PC-0042");
	id = find_case_id(r.out);
	ck_assert_ptr_nonnull(id);
	run_free(&r);
	return id;
}

START_TEST(test_cli_scenario_13)
{
	struct apic a;
	struct run r;
	char *id;

	apic_start(&a);
	id = report_lost_pc(&a);

	/* 情報セキュリティ管理者: acknowledge, guidance (第13.3), escalate. */
	r = CLI(&a, a.sm, "ack", id, "-m", "受理しました");
	CLI_EXPECT(r, 0);
	HAS(r.out, id);
	run_free(&r);
	r = CLI(&a, a.sm, "guide", id, "--text",
	        "遠隔消去の手配と関係者への聴取を行うこと");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.sm, "escalate", id, "CSIRTによる調査が必要");
	CLI_EXPECT(r, 0);
	run_free(&r);

	/* CSIRTの長: investigate, assign. */
	r = CLI(&a, a.lead, "investigate", id, "-m", "調査を開始する");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.lead, "--json", "assign", id, "inv");
	CLI_EXPECT(r, 0);
	HAS(r.out, "\"assignees\"");
	HAS(r.out, "\"inv\"");
	HAS(r.out, "CASE_STATE_INVESTIGATING");
	run_free(&r);

	/* The investigator's notes. */
	r = CLI(&a, a.inv, "note", "add", id, "-m",
	        "紛失当日の行動を聴取した。");
	CLI_EXPECT(r, 0);
	HAS(r.out, "n1");
	run_free(&r);
	r = CLI(&a, a.inv, "note", "add", id, "-m",
	        "MDMで遠隔ロックを確認した。");
	CLI_EXPECT(r, 0);
	HAS(r.out, "n2");
	run_free(&r);

	/* The lead resolves and closes. */
	r = CLI(&a, a.lead, "resolve", id, "--summary",
	        "遠隔ロック済み、情報流出の形跡なし");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.lead, "close", id, "-m", "終結");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.aud, "--json", "show", id);
	CLI_EXPECT(r, 0);
	HAS(r.out, "CASE_STATE_CLOSED");
	HAS(r.out, "CATEGORY_LOST_EQUIPMENT");
	run_free(&r);

	/* A reporter of another division: not found, exit 5. */
	r = CLI(&a, a.rep2, "show", id);
	CLI_EXPECT(r, 5);
	HAS(r.err, "not found");
	ck_assert_str_eq(r.out, "");
	run_free(&r);

	/* The auditor's history: every step, actor and time. */
	r = CLI(&a, a.aud, "--lang", "en", "history", id);
	CLI_EXPECT(r, 0);
	{
		static const struct {
			const char *type, *actor;
		} steps[] = {
		    {"case.reported", "rep1"},
		    {"case.acknowledged", "sm"},
		    {"case.guidance_given", "sm"},
		    {"case.escalated", "sm"},
		    {"case.investigation_opened", "lead"},
		    {"case.investigators_assigned", "lead"},
		    {"note.added", "inv"},
		    {"case.resolved", "lead"},
		    {"case.closed", "lead"},
		};
		for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
			/* The row of the step names its actor and a time. */
			const char *row = strstr(r.out, steps[i].type);
			const char *bol, *eol;
			char *line;

			ck_assert_msg(row != NULL, "no %s in:\n%s",
			              steps[i].type, r.out);
			for (bol = row; bol > r.out && bol[-1] != '\n'; bol--)
				;
			eol = strchr(row, '\n');
			line = strndup(bol, eol != NULL ? (size_t)(eol - bol)
			                                : strlen(bol));
			ck_assert_msg(strstr(line, steps[i].actor) != NULL &&
			                  strstr(line, "T") != NULL &&
			                  strstr(line, "Z") != NULL,
			              "%s row lacks actor %s or time: %s",
			              steps[i].type, steps[i].actor, line);
			free(line);
		}
	}
	HAS(r.out, "遠隔ロック済み");
	run_free(&r);
	r = CLI(&a, a.aud, "--json", "history", id);
	CLI_EXPECT(r, 0);
	HAS(r.out, "\"actor\": \"inv\"");
	HAS(r.out, "\"time\"");
	HAS(r.out, "\"commit\"");
	run_free(&r);

	/* The case is closed: another acknowledgement is a conflict. */
	r = CLI(&a, a.sm, "ack", id);
	CLI_EXPECT(r, 6);
	HAS(r.err, "current state");
	run_free(&r);

	free(id);
	apic_stop(&a);
}
END_TEST

START_TEST(test_cli_exit_codes_and_messages)
{
	struct apic a;
	struct run r;
	char *id;

	apic_start(&a);
	id = report_lost_pc(&a);

	/* Permission: a reporter may not escalate. */
	r = CLI(&a, a.rep1, "escalate", id);
	CLI_EXPECT(r, 4);
	HAS(r.err, "permission_denied");
	HAS(r.err, "what to do");
	run_free(&r);

	/* Authentication: a wrong token, and no token at all. */
	r = CLI(&a, "csirt_not-a-real-token", "list");
	CLI_EXPECT(r, 3);
	HAS(r.err, "csirt login");
	run_free(&r);
	r = CLI(&a, NULL, "list");
	CLI_EXPECT(r, 3);
	HAS(r.err, "no token");
	run_free(&r);

	/* Not found. */
	r = CLI(&a, a.sm, "show", "2026-999999");
	CLI_EXPECT(r, 5);
	run_free(&r);

	/* Conflict: resolving a case that is not being investigated. */
	r = CLI(&a, a.lead, "resolve", id);
	CLI_EXPECT(r, 6);
	HAS(r.err, "failed_precondition");
	run_free(&r);

	/* Network: nothing listens; the message names the URL tried. */
	r = cli_run_env(&a, a.sm, "http://127.0.0.1:1", NULL, NULL,
	                (const char *const[]){"list", NULL});
	CLI_EXPECT(r, 7);
	HAS(r.err, "http://127.0.0.1:1");
	run_free(&r);
	r = cli_run_env(&a, a.sm, "", NULL, NULL,
	                (const char *const[]){"list", NULL});
	CLI_EXPECT(r, 2);
	HAS(r.err, "CSIRT_URL");
	run_free(&r);
	/* https:// to a plain-HTTP server fails the handshake loudly. */
	{
		char url[160];

		snprintf(url, sizeof(url), "https://%s", a.d.addr);
		r = cli_run_env(&a, a.sm, url, NULL, NULL,
		                (const char *const[]){"list", NULL});
		CLI_EXPECT(r, 7);
		HAS(r.err, url);
		run_free(&r);
	}

	/* Usage. */
	r = CLI(&a, a.sm, "frobnicate");
	CLI_EXPECT(r, 2);
	run_free(&r);
	r = CLI(&a, a.sm, "show");
	CLI_EXPECT(r, 2);
	run_free(&r);
	r = CLI(&a, a.rep1, "report", "--title", "x");
	CLI_EXPECT(r, 2);
	HAS(r.err, "--category");
	run_free(&r);
	r = CLI(&a, a.rep1, "report", "--category", "9", "--title", "x",
	        "--description", "y");
	CLI_EXPECT(r, 2);
	run_free(&r);
	r = CLI(&a, a.sm, "--lang", "fr", "list");
	CLI_EXPECT(r, 2);
	run_free(&r);
	r = CLI(&a, a.sm, "dismiss", id);
	CLI_EXPECT(r, 2); /* a reason is required */
	run_free(&r);

	free(id);
	apic_stop(&a);
}
END_TEST

/* RFC 4180: a cell with a comma, a quote or a line break is quoted, its
 * quotes doubled; others (Japanese included) are as is; CRLF ends rows. */
START_TEST(test_cli_csv_quoting)
{
	struct table *t = table_new(3);
	const char *row[3] = {"a,b", "say \"hi\"", "二行\nです"};
	const char *plain[3] = {"受理", "", NULL};
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(fp);
	table_header(t, 0, "Key");
	table_header(t, 1, "Value");
	table_header(t, 2, "Note");
	table_add_row(t, row);
	table_add_row(t, plain);
	table_print_csv(t, fp);
	fclose(fp);
	ck_assert_str_eq(text, "Key,Value,Note\r\n"
	                       "\"a,b\",\"say \"\"hi\"\"\",\"二行\nです\"\r\n"
	                       "受理,,\r\n");
	free(text);
	table_free(t);
}
END_TEST

/* `csirt stats --csv`: every section, header row first, exactly. */
START_TEST(test_cli_stats_csv)
{
	struct apic a;
	struct run r;
	char month[UTIL_TIME_LEN], want[2048];
	char *id;

	apic_start(&a);
	/* Recognised 2026-01-15, reported now: more than 24 h late. */
	id = report_lost_pc(&a);
	util_time_format_ms(month, sizeof(month), util_time_now_ms());
	month[7] = '\0';
	r = CLI(&a, a.sm, "--lang", "en", "stats", "--csv");
	CLI_EXPECT(r, 0);
	snprintf(want, sizeof(want),
	         "Cases,Count\r\nCases,1\r\n\r\n"
	         "Category,Count\r\nLost equipment,1\r\n\r\n"
	         "Division,Count\r\nd1,1\r\n\r\n"
	         "State,Count\r\nReported,1\r\n\r\n"
	         "Month,Count\r\n%s,1\r\n\r\n"
	         "Interval,Counted,Excluded,Median (s),p90 (s)\r\n"
	         "Report to acknowledgement,0,1,0,0\r\n"
	         "Report to escalation,0,1,0,0\r\n"
	         "Report to close,0,1,0,0\r\n",
	         month);
	ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0,
	              "got:\n%s\nwant:\n%s", r.out, want);
	HAS(r.out, "\r\nRecognition to report,1,0,");
	HAS(r.out, "\r\n\r\nReport delay,Count\r\n<= 15 min,0\r\n"
	           "<= 30 min,0\r\n<= 1 h,0\r\n<= 4 h,0\r\n<= 24 h,0\r\n"
	           "> 24 h,1\r\n");
	run_free(&r);

	/* Tables in Japanese; a period with nothing; JSON for scripts. */
	r = CLI(&a, a.sm, "--lang", "ja", "stats");
	CLI_EXPECT(r, 0);
	HAS(r.out, "機器の紛失事案");
	HAS(r.out, "報告から受領まで");
	HAS(r.out, "24時間超");
	run_free(&r);
	r = CLI(&a, a.sm, "--json", "stats", "--after", "2999-01-01T00:00:00Z");
	CLI_EXPECT(r, 0);
	HAS(r.out, "\"to_acknowledge\": {}");
	ck_assert_ptr_null(strstr(r.out, "\"total\""));
	run_free(&r);
	/* A 所属長 asking for another division; bad usage. */
	r = CLI(&a, a.rep2, "stats", "--division", "d1");
	CLI_EXPECT(r, 4);
	run_free(&r);
	r = CLI(&a, a.sm, "--json", "stats", "--csv");
	CLI_EXPECT(r, 2);
	run_free(&r);
	free(id);
	apic_stop(&a);
}
END_TEST

START_TEST(test_cli_help_on_every_command)
{
	static const char *const cmds[] = {
	    "login",  "logout", "whoami",  "report",   "list",    "show",
	    "update", "ack",    "guide",   "escalate", "dismiss", "investigate",
	    "assign", "note",   "resolve", "close",    "reopen",  "history",
	    "stats",  "admin",  "help"};
	struct apic a;
	struct run r;

	apic_start(&a);
	r = CLI(&a, NULL, "--help");
	CLI_EXPECT(r, 0);
	HAS(r.out, "Exit status");
	HAS(r.out, "7  server or network");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cmds); i++)
		HAS(r.out, cmds[i]);
	run_free(&r);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cmds); i++) {
		char want[64];

		r = CLI(&a, NULL, cmds[i], "--help");
		CLI_EXPECT(r, 0);
		snprintf(want, sizeof(want), "usage: csirt %s", cmds[i]);
		HAS(r.out, want);
		HAS(r.out, "Exit status");
		run_free(&r);
	}
	r = CLI(&a, NULL, "--version");
	CLI_EXPECT(r, 0);
	HAS(r.out, "csirt " CSIRT_VERSION);
	run_free(&r);
	apic_stop(&a);
}
END_TEST

START_TEST(test_cli_login_stores_0600_config)
{
	struct apic a;
	struct run r;
	struct stat st;
	char url[160], *path, *text = NULL;
	size_t len;

	apic_start(&a);
	snprintf(url, sizeof(url), "http://%s", a.d.addr);
	/* A bad token stores nothing. */
	r = cli_run_env(&a, NULL, "", NULL, NULL,
	                (const char *const[]){"login", "--url", url, "--token",
	                                      "csirt_wrong", NULL});
	CLI_EXPECT(r, 3);
	run_free(&r);
	path = util_path_join(a.dir, ".config/csirt/config");
	ck_assert(!util_path_exists(path));
	/* The token from standard input. */
	{
		char input[100];

		snprintf(input, sizeof(input), "%s\n", a.aud);
		r = cli_run_env(
		    &a, NULL, "", input, NULL,
		    (const char *const[]){"login", "--url", url, NULL});
	}
	CLI_EXPECT(r, 0);
	HAS(r.out, "aud");
	run_free(&r);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(util_read_file(&text, &len, path, 1 << 16), 0);
	HAS(text, a.aud);
	HAS(text, url);
	free(text);
	/* Without CSIRT_URL or CSIRT_TOKEN the file is used ... */
	r = cli_run_env(&a, NULL, "", NULL, NULL,
	                (const char *const[]){"whoami", NULL});
	CLI_EXPECT(r, 0);
	HAS(r.out, "aud");
	run_free(&r);
	/* ... and CSIRT_TOKEN overrides it. */
	r = cli_run_env(&a, a.sm, "", NULL, NULL,
	                (const char *const[]){"--json", "whoami", NULL});
	CLI_EXPECT(r, 0);
	HAS(r.out, "\"login\": \"sm\"");
	run_free(&r);
	r = cli_run_env(&a, NULL, "", NULL, NULL,
	                (const char *const[]){"logout", NULL});
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = cli_run_env(&a, NULL, "", NULL, NULL,
	                (const char *const[]){"whoami", NULL});
	CLI_EXPECT(r, 3);
	run_free(&r);
	free(path);
	apic_stop(&a);
}
END_TEST

START_TEST(test_cli_admin_users_divisions_tokens)
{
	struct apic a;
	struct run r;
	char *token, *tid, *p;

	apic_start(&a);
	r = CLI(&a, a.admin, "admin", "division", "create", "d3",
	        "サイバー犯罪対策課");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.admin, "admin", "division", "list");
	CLI_EXPECT(r, 0);
	HAS(r.out, "サイバー犯罪対策課");
	HAS(r.out, "生活安全総務課");
	run_free(&r);
	r = CLI(&a, a.admin, "admin", "user", "create", "suzuki", "--role",
	        "reporter", "--division", "d3", "--name", "鈴木");
	CLI_EXPECT(r, 0);
	HAS(r.out, "suzuki");
	run_free(&r);
	r = CLI(&a, a.admin, "admin", "user", "create", "suzuki", "--role",
	        "reporter", "--division", "d3");
	CLI_EXPECT(r, 6); /* already exists */
	run_free(&r);
	r = CLI(&a, a.admin, "admin", "user", "create", "x", "--role", "king");
	CLI_EXPECT(r, 2);
	run_free(&r);
	r = CLI(&a, a.admin, "--json", "admin", "user", "list", "--division",
	        "d3");
	CLI_EXPECT(r, 0);
	HAS(r.out, "\"suzuki\"");
	ck_assert(strstr(r.out, "\"rep1\"") == NULL);
	run_free(&r);
	r = CLI(&a, a.admin, "admin", "token", "issue", "suzuki");
	CLI_EXPECT(r, 0);
	ck_assert(strncmp(r.out, "csirt_", 6) == 0);
	token = strndup(r.out, strcspn(r.out, "\n"));
	run_free(&r);
	r = CLI(&a, token, "--json", "whoami");
	CLI_EXPECT(r, 0);
	HAS(r.out, "ROLE_REPORTER");
	run_free(&r);
	r = CLI(&a, a.admin, "--json", "admin", "token", "list", "suzuki");
	CLI_EXPECT(r, 0);
	p = strstr(r.out, "\"token_id\": \"");
	ck_assert_ptr_nonnull(p);
	p += strlen("\"token_id\": \"");
	tid = strndup(p, strcspn(p, "\""));
	run_free(&r);
	r = CLI(&a, a.admin, "admin", "token", "revoke", tid);
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, token, "whoami");
	CLI_EXPECT(r, 3);
	run_free(&r);
	/* Administrators never read case content. */
	r = CLI(&a, a.admin, "list");
	CLI_EXPECT(r, 4);
	run_free(&r);
	r = CLI(&a, a.admin, "admin", "user", "disable", "suzuki", "--reason",
	        "異動");
	CLI_EXPECT(r, 0);
	run_free(&r);
	free(token);
	free(tid);
	apic_stop(&a);
}
END_TEST

START_TEST(test_cli_report_file_list_update_and_note_editor)
{
	struct apic a;
	struct run r;
	char *file, *id;
	const char *json =
	    "{\"category\":\"CATEGORY_MALWARE_INTRUSION\",\"title\":\"不審な"
	    "通信\",\"description\":\"端末から外部への不審な通信を検知\","
	    "\"recognized_at\":\"2026-02-01T10:00:00Z\",\"classification\":{"
	    "\"confidentiality\":\"CONFIDENTIALITY_HIGH\"}}";

	apic_start(&a);
	file = util_path_join(a.dir, "report.json");
	ck_assert_int_eq(util_write_file_atomic(file, json, strlen(json), 0600),
	                 0);
	r = CLI(&a, a.rep1, "--json", "report", "-f", file);
	CLI_EXPECT(r, 0);
	HAS(r.out, "CATEGORY_MALWARE_INTRUSION");
	HAS(r.out, "CONFIDENTIALITY_HIGH");
	id = find_case_id(r.out);
	ck_assert_ptr_nonnull(id);
	run_free(&r);
	r = CLI(&a, a.rep1, "report", "-f", "/nonexistent/report.json");
	CLI_EXPECT(r, 2);
	run_free(&r);

	r = CLI(&a, a.rep1, "update", id, "--title", "不審な外部通信",
	        "--reason", "件名の訂正");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.sm, "--lang", "en", "list", "--state", "reported");
	CLI_EXPECT(r, 0);
	HAS(r.out, id);
	HAS(r.out, "不審な外部通信");
	run_free(&r);
	r = CLI(&a, a.sm, "list", "--state", "closed");
	CLI_EXPECT(r, 0);
	ck_assert(strstr(r.out, id) == NULL);
	run_free(&r);
	/* Nothing is past ack_limit_min (30) yet: an empty list, not an
	 * error (tests/check_api.c makes a case overdue). */
	r = CLI(&a, a.sm, "list", "--overdue");
	CLI_EXPECT(r, 0);
	ck_assert(strstr(r.out, id) == NULL);
	run_free(&r);

	/* A note written and then edited through $EDITOR. */
	r = CLI(&a, a.sm, "note", "add", id, "-m", "first draft");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = cli_run_env(&a, a.sm, NULL, NULL,
	                (const char *const[]){"EDITOR=sed -i s/first/second/",
	                                      "VISUAL=", NULL},
	                (const char *const[]){"note", "edit", id, "n1",
	                                      "--reason", "typo", NULL});
	CLI_EXPECT(r, 0);
	run_free(&r);
	/* The note inherited the case's 機密性高 (第4.4): sealed, read by
	 * the 情報セキュリティ管理者, not by the auditor (classify.c). */
	r = CLI(&a, a.sm, "note", "versions", id, "n1");
	CLI_EXPECT(r, 0);
	HAS(r.out, "first draft");
	HAS(r.out, "second draft");
	run_free(&r);
	r = CLI(&a, a.aud, "note", "versions", id, "n1");
	CLI_EXPECT(r, 4);
	HAS(r.err, "CONFIDENTIALITY_HIGH");
	run_free(&r);
	/* An editor that changes nothing sends nothing. */
	r = cli_run_env(&a, a.sm, NULL, NULL,
	                (const char *const[]){"EDITOR=true", "VISUAL=", NULL},
	                (const char *const[]){"note", "edit", id, "n1", NULL});
	CLI_EXPECT(r, 2);
	HAS(r.err, "unchanged");
	run_free(&r);
	free(id);
	free(file);
	apic_stop(&a);
}
END_TEST

/* https: the CA file is used, and a certificate the client cannot verify
 * (unknown CA, no CA given, wrong host name) is an error naming the
 * problem, never ignored. */
START_TEST(test_cli_tls_verifies_the_server)
{
	struct apic a;
	struct run r;
	struct buf conf = BUF_INIT, out = BUF_INIT;
	const char *extra[] = {"--config", NULL, NULL};
	char url[160], *confpath, *ca, *other, *p;
	int status = -1;

	memset(&a, 0, sizeof(a));
	a.dir = tu_tmpdir();
	a.data = util_path_join(a.dir, "var");
	OSSL(a.dir, "req", "-x509", EC_KEY_ARGS, "-keyout", "ca.key", "-out",
	     "ca.pem", "-days", "2", "-subj", "/CN=csirt-test-ca");
	OSSL(a.dir, "req", "-x509", EC_KEY_ARGS, "-keyout", "other.key", "-out",
	     "other.pem", "-days", "2", "-subj", "/CN=other-ca");
	OSSL(a.dir, "req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key",
	     EC_KEY_ARGS, "-keyout", "server.key", "-out", "server.pem",
	     "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
	     "subjectAltName=IP:127.0.0.1", "-addext",
	     "basicConstraints=critical,CA:FALSE", "-addext",
	     "extendedKeyUsage=serverAuth");
	buf_printf(&conf, "tls_cert = %s/server.pem\ntls_key = %s/server.key\n",
	           a.dir, a.dir);
	confpath = util_path_join(a.dir, "csirtd.conf");
	ck_assert_int_eq(
	    util_write_file_atomic(confpath, conf.data, conf.len, 0600), 0);
	{
		const char *init[] = {CSIRTD_BIN, "--data", a.data, "init",
		                      NULL};
		ck_assert_int_eq(tu_run(&out, &status, init), 0);
	}
	p = strstr(out.data, "administrator token: ");
	ck_assert_ptr_nonnull(p);
	p += strlen("administrator token: ");
	snprintf(a.admin, sizeof(a.admin), "%.*s", (int)strcspn(p, "\n"), p);
	extra[1] = confpath;
	ck_assert_int_eq(tu_daemon_start(&a.d, a.data, extra), 0);
	ck_assert(a.d.tls);
	ca = util_path_join(a.dir, "ca.pem");
	other = util_path_join(a.dir, "other.pem");
	snprintf(url, sizeof(url), "https://%s", a.d.addr);

	r = cli_run_env(
	    &a, a.admin, url, NULL, NULL,
	    (const char *const[]){"--cacert", ca, "--json", "whoami", NULL});
	CLI_EXPECT(r, 0);
	HAS(r.out, "ROLE_ADMIN");
	run_free(&r);
	/* CSIRT_CACERT works as well. */
	{
		struct buf env = BUF_INIT;

		buf_printf(&env, "CSIRT_CACERT=%s", ca);
		r = cli_run_env(&a, a.admin, url, NULL,
		                (const char *const[]){env.data, NULL},
		                (const char *const[]){"whoami", NULL});
		CLI_EXPECT(r, 0);
		run_free(&r);
		buf_free(&env);
	}
	r = cli_run_env(
	    &a, a.admin, url, NULL, NULL,
	    (const char *const[]){"--cacert", other, "whoami", NULL});
	CLI_EXPECT(r, 7);
	HAS(r.err, "certificate verify failed");
	HAS(r.err, url);
	run_free(&r);
	r = cli_run_env(&a, a.admin, url, NULL, NULL,
	                (const char *const[]){"whoami", NULL});
	CLI_EXPECT(r, 7);
	HAS(r.err, "certificate verify failed");
	run_free(&r);
	/* The certificate names 127.0.0.1, not localhost. */
	snprintf(url, sizeof(url), "https://localhost:%s",
	         strrchr(a.d.addr, ':') + 1);
	r = cli_run_env(&a, a.admin, url, NULL, NULL,
	                (const char *const[]){"--cacert", ca, "whoami", NULL});
	CLI_EXPECT(r, 7);
	HAS(r.err, "verify failed");
	run_free(&r);
	r = cli_run_env(&a, a.admin, url, NULL, NULL,
	                (const char *const[]){"--cacert", "/nonexistent.pem",
	                                      "whoami", NULL});
	CLI_EXPECT(r, 7);
	HAS(r.err, "/nonexistent.pem");
	run_free(&r);

	free(ca);
	free(other);
	free(confpath);
	buf_free(&conf);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

/* Options a note subcommand would ignore are usage errors (exit 2). */
START_TEST(test_cli_note_rejects_ignored_options)
{
	struct apic a;
	struct run r;

	apic_start(&a);
	r = CLI(&a, a.inv, "note", "add", "2026-000001", "-m", "x", "--reason",
	        "y");
	CLI_EXPECT(r, 2);
	HAS(r.err, "--reason is for note edit");
	run_free(&r);
	r = CLI(&a, a.inv, "note", "edit", "2026-000001", "n1", "-m", "x",
	        "--confidentiality", "high");
	CLI_EXPECT(r, 2);
	HAS(r.err, "--confidentiality is for note add");
	run_free(&r);
	apic_stop(&a);
}
END_TEST

/* The interactive report on a real terminal: util-linux script(1) gives
 * the CLI a pseudo-terminal and feeds it the answers. */
START_TEST(test_cli_report_prompts_on_a_terminal)
{
	struct apic a;
	struct buf cmd = BUF_INIT, out = BUF_INIT;
	struct run r;
	char *id;
	int status;

	apic_start(&a);
	buf_printf(&cmd,
	           "printf '6\\nモバイルPCの紛失\\n出張先で紛失した\\n\\n"
	           "terminal:PC-0042:official\\n' | "
	           "HOME='%s' LANG=C CSIRT_URL='http://%s' CSIRT_TOKEN='%s' "
	           "script -qec '%s --lang ja report' /dev/null",
	           a.dir, a.d.addr, a.rep1, CSIRT_BIN);
	{
		const char *argv[] = {"sh", "-c", cmd.data, NULL};
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
	              out.data);
	/* The seven 第13.1 categories were offered in both languages. */
	HAS(out.data, "(6) 機器の紛失事案 / (6) Lost equipment");
	HAS(out.data, "(1) 情報流出事案 / (1) Information leak");
	HAS(out.data, "件名 (1行)");
	id = find_case_id(strstr(out.data, "事案番号"));
	ck_assert_ptr_nonnull(id);
	r = CLI(&a, a.rep1, "--json", "show", id);
	CLI_EXPECT(r, 0);
	HAS(r.out, "\"category\": \"CATEGORY_LOST_EQUIPMENT\"");
	HAS(r.out, "モバイルPCの紛失");
	HAS(r.out, "PC-0042");
	HAS(r.out, "\"reporter\": \"rep1\"");
	run_free(&r);
	free(id);
	buf_free(&cmd);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

struct watch_run {
	struct apic *a;
	char after[24];
	struct run r;
};

static void *
watch_run_thread(void *arg)
{
	struct watch_run *w = arg;

	w->r =
	    CLI(w->a, w->a->sm, "watch", "--after", w->after, "--count", "3");
	return NULL;
}

START_TEST(test_cli_watch_follows_live)
{
	struct apic a;
	struct watch_run w;
	struct run r;
	pthread_t t;
	uint64_t seq0;
	char line[160], *id[3];
	int nl;

	apic_start(&a);
	seq0 = apic_ledger_seq(&a);
	id[0] = apic_report(&a, a.rep1, "機器の紛失事案：一");
	id[1] = apic_report(&a, a.rep1, "機器の紛失事案：二");
	memset(&w, 0, sizeof(w));
	w.a = &a;
	snprintf(w.after, sizeof(w.after), "%llu", (unsigned long long)seq0);
	ck_assert_int_eq(pthread_create(&t, NULL, watch_run_thread, &w), 0);
	/* The third event arrives while `csirt watch` is waiting. */
	usleep(500 * 1000);
	id[2] = apic_report(&a, a.rep1, "機器の紛失事案：三");
	pthread_join(t, NULL);
	CLI_EXPECT(w.r, 0);
	for (int i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "%llu ",
		         (unsigned long long)(seq0 + 1 + (uint64_t)i));
		HAS(w.r.out, line);
		snprintf(line, sizeof(line), " rep1 case.reported %s\n", id[i]);
		HAS(w.r.out, line);
		free(id[i]);
	}
	nl = 0;
	for (const char *p = w.r.out; *p != '\0'; p++)
		nl += *p == '\n';
	ck_assert_int_eq(nl, 3); /* one line per event, nothing else */
	run_free(&w.r);

	/* JSON: one history entry per line. */
	r = CLI(&a, a.aud, "--json", "watch", "--after", w.after, "--count",
	        "1");
	CLI_EXPECT(r, 0);
	HAS(r.out, "{\"event\":{");
	HAS(r.out, "\"commit\":\"");
	ck_assert_ptr_eq(strchr(r.out, '\n'), r.out + strlen(r.out) - 1);
	run_free(&r);
	/* The administrator may not watch; bad usage. */
	r = CLI(&a, a.admin, "watch", "--count", "1");
	CLI_EXPECT(r, 4);
	run_free(&r);
	r = CLI(&a, a.sm, "watch", "--after", "x");
	CLI_EXPECT(r, 2);
	run_free(&r);
	apic_stop(&a);
}
END_TEST

/* 第13.2 through the CLI alone: a summons (出頭要請) acknowledged and
 * fulfilled; a personal-device request (個人所有機器の提出) answered by the
 * 所属長 with the device registered, handed on in custody, fulfilled and
 * the device returned; the chain of custody as a table; requests outside
 * INVESTIGATING, of another division, or on a returned item refused. */
START_TEST(test_cli_request_flow_13_2)
{
	struct apic a;
	struct run r;
	char *id, ref1[32], ref2[32], item[32];

	apic_start(&a);
	id = report_lost_pc(&a);
	snprintf(ref1, sizeof(ref1), "%s/r1", id);
	snprintf(ref2, sizeof(ref2), "%s/r2", id);
	snprintf(item, sizeof(item), "%s/i1", id);
	r = CLI(&a, a.sm, "escalate", id, "CSIRTによる調査が必要");
	CLI_EXPECT(r, 0);
	run_free(&r);
	/* Usage errors never reach the server: exit 2. */
	r = CLI(&a, a.lead, "request", "create", id, "--kind", "nope", "--due",
	        "+7d");
	CLI_EXPECT(r, 2);
	run_free(&r);
	r = CLI(&a, a.lead, "request", "create", id, "--kind", "device",
	        "--due", "+7");
	CLI_EXPECT(r, 2);
	HAS(r.err, "--due");
	run_free(&r);
	r = CLI(&a, a.rep1, "request", "respond", id, "-m", "x");
	CLI_EXPECT(r, 2); /* not CASE/rN */
	run_free(&r);
	r = CLI(&a, a.lead, "custody", "register", id, "--device",
	        "mobile_phone:IMEI");
	CLI_EXPECT(r, 2);
	run_free(&r);
	/* Not INVESTIGATING yet: failed_precondition, exit 6. */
	r = CLI(&a, a.lead, "request", "create", id, "--kind", "material",
	        "--due", "+7d", "-d", "持出簿の写し");
	CLI_EXPECT(r, 6);
	run_free(&r);
	r = CLI(&a, a.lead, "investigate", id, "-m", "調査を開始する");
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.lead, "assign", id, "inv");
	CLI_EXPECT(r, 0);
	run_free(&r);

	/* The summons: created by the investigator, acknowledged by the
	 * 所属長 of the division, fulfilled when the staff member came. */
	r = CLI(&a, a.inv, "--lang", "ja", "request", "create", id, "--kind",
	        "summons", "--due", "+7d", "--who", "山田太郎 巡査部長", "--at",
	        "2030-01-20T10:00:00+09:00", "--place", "本部庁舎 5階 CSIRT室",
	        "--purpose", "紛失時の状況の説明");
	CLI_EXPECT(r, 0);
	HAS(r.out, ref1);
	HAS(r.out, "依頼中");
	run_free(&r);
	r = CLI(&a, a.rep2, "request", "ack", ref1);
	CLI_EXPECT(r, 5);
	run_free(&r);
	r = CLI(&a, a.rep1, "request", "ack", ref1, "-m", "出頭させます");
	CLI_EXPECT(r, 0);
	HAS(r.out, "Acknowledged");
	run_free(&r);
	r = CLI(&a, a.rep1, "request", "ack", ref1);
	CLI_EXPECT(r, 6);
	run_free(&r);
	r = CLI(&a, a.inv, "request", "fulfil", ref1, "-m",
	        "出頭し説明を受けた");
	CLI_EXPECT(r, 0);
	HAS(r.out, "Fulfilled");
	run_free(&r);
	r = CLI(&a, a.aud, "--lang", "ja", "request", "show", ref1);
	CLI_EXPECT(r, 0);
	HAS(r.out, "出頭要請");
	HAS(r.out, "山田太郎 巡査部長");
	HAS(r.out, "本部庁舎 5階 CSIRT室");
	HAS(r.out, "完了");
	run_free(&r);

	/* The device: requested, answered with the device registered. */
	r = CLI(&a, a.inv, "request", "create", id, "--kind", "device", "--due",
	        "+3d", "-d", "私有スマートフォンの提出");
	CLI_EXPECT(r, 0);
	HAS(r.out, ref2);
	run_free(&r);
	r = CLI(&a, a.rep1, "request", "ack", ref2);
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.rep1, "request", "respond", ref2, "-m",
	        "本人の私有スマートフォンを封印して提出します", "--device",
	        "mobile_phone:356938035643809:personal:山田太郎:S-0001");
	CLI_EXPECT(r, 0);
	HAS(r.out, "Responded");
	HAS(r.out, item);
	run_free(&r);
	/* Custody: the 所属長 handed it over; the CSIRT passes it on. */
	r = CLI(&a, a.inv, "custody", "transfer", item, "--to", "解析班 佐藤",
	        "--place", "CSIRT解析室", "--purpose", "フォレンジック解析");
	CLI_EXPECT(r, 0);
	HAS(r.out, "Held");
	run_free(&r);
	r = CLI(&a, a.inv, "custody", "transfer", item, "--from", "rep1",
	        "--to", "x");
	CLI_EXPECT(r, 6); /* no longer held by rep1: a conflict */
	run_free(&r);
	r = CLI(&a, a.inv, "request", "fulfil", ref2);
	CLI_EXPECT(r, 0);
	run_free(&r);
	r = CLI(&a, a.inv, "custody", "return", item, "--to", "山田太郎",
	        "--place", "警務課");
	CLI_EXPECT(r, 0);
	HAS(r.out, "Returned");
	run_free(&r);
	r = CLI(&a, a.inv, "custody", "transfer", item, "--to", "x");
	CLI_EXPECT(r, 6);
	run_free(&r);

	/* The chain as a table, and as JSON. */
	r = CLI(&a, a.aud, "--lang", "ja", "custody", item);
	CLI_EXPECT(r, 0);
	HAS(r.out, "封印番号");
	HAS(r.out, "S-0001");
	HAS(r.out, "356938035643809");
	HAS(r.out, "返却済");
	{
		const char *reg = strstr(r.out, "登録");
		const char *tr = reg ? strstr(reg, "引継") : NULL;
		const char *ret = tr ? strstr(tr, "返却") : NULL;
		ck_assert_msg(reg && tr && ret, "chain out of order:\n%s",
		              r.out);
		HAS(tr, "解析班 佐藤");
		HAS(tr, "フォレンジック解析");
	}
	run_free(&r);
	r = CLI(&a, a.aud, "--json", "custody", item);
	CLI_EXPECT(r, 0);
	HAS(r.out, "\"ITEM_STATE_RETURNED\"");
	HAS(r.out, "\"request_id\": \"r2\"");
	HAS(r.out, "\"transferred\"");
	run_free(&r);
	r = CLI(&a, a.aud, "request", "list", id, "-n", "1");
	CLI_EXPECT(r, 0); /* pages of one: both come back */
	HAS(r.out, ref1);
	HAS(r.out, ref2);
	run_free(&r);
	r = CLI(&a, a.rep2, "--json", "request", "list");
	CLI_EXPECT(r, 0);
	ck_assert_ptr_null(strstr(r.out, id));
	run_free(&r);

	/* Every step is in the ledger, by its actor. */
	r = CLI(&a, a.aud, "history", id);
	CLI_EXPECT(r, 0);
	HAS(r.out, "request.created");
	HAS(r.out, "request.acknowledged");
	HAS(r.out, "request.responded");
	HAS(r.out, "item.transferred");
	HAS(r.out, "item.returned");
	HAS(r.out, "request.fulfilled");
	HAS(r.out, "[i1]"); /* the response registered it */
	run_free(&r);
	/* `show` lists the requests and items of the case. */
	r = CLI(&a, a.aud, "--lang", "ja", "show", id);
	CLI_EXPECT(r, 0);
	HAS(r.out, "r2 個人所有機器の提出 完了");
	HAS(r.out, "i1 携帯電話機 356938035643809 返却済 (山田太郎)");
	run_free(&r);

	free(id);
	apic_stop(&a);
}
END_TEST

Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_cli_scenario_13);
	tcase_add_test(tc, test_cli_exit_codes_and_messages);
	tcase_add_test(tc, test_cli_help_on_every_command);
	tcase_add_test(tc, test_cli_login_stores_0600_config);
	tcase_add_test(tc, test_cli_admin_users_divisions_tokens);
	tcase_add_test(tc, test_cli_report_file_list_update_and_note_editor);
	tcase_add_test(tc, test_cli_tls_verifies_the_server);
	tcase_add_test(tc, test_cli_report_prompts_on_a_terminal);
	tcase_add_test(tc, test_cli_note_rejects_ignored_options);
	tcase_add_test(tc, test_cli_stats_csv);
	tcase_add_test(tc, test_cli_csv_quoting);
	tcase_add_test(tc, test_cli_watch_follows_live);
	tcase_add_test(tc, test_cli_request_flow_13_2);
	suite_add_tcase(s, tc);
	return s;
}
