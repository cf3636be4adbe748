/*
 * csirt.c - the command-line client of csirtd: global options, the command
 * table (one entry per subcommand, tmux's cmd_table habit), help texts and
 * exit codes.  Commands live in cmd_*.c; they talk to the server only
 * through cli_rpc() and print only through cli_print.c or --json.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"

#define CLI_EXIT_HELP                                                          \
	"Exit status:\n"                                                       \
	"  0  success\n"                                                       \
	"  1  local failure (file, editor)\n"                                  \
	"  2  usage: bad command line, or input the server refused\n"          \
	"  3  authentication: no token, or the server did not accept it\n"     \
	"  4  permission: your role may not do this\n"                         \
	"  5  not found: no such case, note, user or token (or not yours)\n"   \
	"  6  conflict: not allowed in the current state, or already exists\n" \
	"  7  server or network: cannot connect, TLS failure, server error\n"

#define CLI_COMMON_HELP                                                        \
	"Common options (accepted by every command):\n"                        \
	"  --json           print the reply as proto3 JSON (for scripts)\n"    \
	"  --lang ja|en     labels in Japanese or English (default: LANG)\n"   \
	"  --url URL        server, e.g. https://csirt.example:8443\n"         \
	"  --cacert FILE    PEM CA bundle to verify an https server\n"         \
	"  -h, --help       this help\n"

static int cmd_help(struct cli *cli, int argc, char **argv);
static int cmd_version(struct cli *cli, int argc, char **argv);

#define ACTION_HELP(cmd, what, flag, role)                                     \
	"usage: csirt " cmd " ID [-m TEXT | TEXT...]\n\n" what "\n"            \
	"Allowed to: " role ".\n\n"                                            \
	"Options:\n"                                                           \
	"  -m, --" flag " TEXT   the " flag " recorded with the step\n"

const struct cli_cmd cli_cmd_table[] = {
    {"login", cmd_login, "store the server URL and your token",
     "usage: csirt login --url URL [--token TOKEN] [--cacert FILE]\n\n"
     "Checks the token with the server (WhoAmI) and stores URL, token and CA\n"
     "file in ~/.config/csirt/config (mode 0600; CSIRT_CONFIG overrides the\n"
     "path).  Without --token the token is read from standard input (or\n"
     "asked for on a terminal).  CSIRT_URL, CSIRT_TOKEN and CSIRT_CACERT\n"
     "override the file.\n"},
    {"logout", cmd_logout, "forget the stored token",
     "usage: csirt logout\n\nRemoves the token from the configuration file.\n"},
    {"whoami", cmd_whoami, "show who the token belongs to",
     "usage: csirt whoami\n"},
    {"report", cmd_report, "report an incident (第13.1)",
     "usage: csirt report [options]\n\n"
     "Reports an incident for your division.  On a terminal, missing fields\n"
     "are asked for (the category from the seven 第13.1 categories);\n"
     "otherwise --category, --title and --description are required.\n\n"
     "Options:\n"
     "  -c, --category N|NAME     1-7 or a name (lost_equipment, ...)\n"
     "  -t, --title TEXT\n"
     "  -d, --description TEXT    (or --description-file FILE, - for stdin)\n"
     "      --description-file FILE\n"
     "  -r, --recognized-at TIME  認知日時, RFC 3339 (default: now)\n"
     "      --division CODE       (default: yours)\n"
     "      --confidentiality low|medium|high   (default: medium)\n"
     "      --integrity low|high               (default: low)\n"
     "      --availability low|high            (default: low)\n"
     "      --restriction TEXT    取扱制限 (repeatable)\n"
     "  -e, --equipment KIND:NUMBER[:official|personal[:DESCRIPTION]]\n"
     "                            KIND: terminal, external_media, uid,\n"
     "                            digital_camera, mobile_phone (repeatable)\n"
     "      --emergency TEXT      第15: the instruction to process outside\n"
     "                            the rules\n"
     "  -f, --file FILE           a report file: the proto3 JSON of a Case\n"
     "                            (flags override its fields)\n"
     "      --no-prompt           never ask, even on a terminal\n"},
    {"list", cmd_list, "list cases",
     "usage: csirt list [options]\n\n"
     "Options:\n"
     "  -s, --state STATE       (repeatable) reported, acknowledged, ...\n"
     "  -c, --category N|NAME   (repeatable)\n"
     "      --division CODE\n"
     "      --min-confidentiality low|medium|high\n"
     "      --text TEXT         in title or description\n"
     "      --after TIME        reported at or after (RFC 3339)\n"
     "      --before TIME       reported before\n"
     "      --overdue           only cases past a deadline\n"
     "  -n, --limit N           page size (default 50)\n"
     "      --page-token T      continue a listing\n"
     "  -a, --all               follow every page\n"},
    {"show", cmd_show, "show a case", "usage: csirt show ID\n"},
    {"update", cmd_update, "correct a case's title, description or category",
     "usage: csirt update ID [--title T] [--description D] [--category C]\n"
     "                    --reason TEXT\n"},
    {"ack", cmd_action, "acknowledge a report",
     ACTION_HELP("ack", "Acknowledges a report (REPORTED -> ACKNOWLEDGED).",
                 "comment", "情報セキュリティ管理者")},
    {"guide", cmd_action, "give guidance to the reporting division (第13.3)",
     ACTION_HELP("guide", "Records guidance (指導) in any open state.", "text",
                 "情報セキュリティ管理者")},
    {"escalate", cmd_action, "escalate to the CSIRT",
     ACTION_HELP("escalate", "Escalates the case to the CSIRT.", "reason",
                 "情報セキュリティ管理者")},
    {"dismiss", cmd_action, "dismiss a report",
     ACTION_HELP("dismiss", "Dismisses a report (a reason is required).",
                 "reason", "情報セキュリティ管理者")},
    {"investigate", cmd_action, "open an investigation (第13.2)",
     ACTION_HELP("investigate",
                 "Opens an investigation (ESCALATED -> INVESTIGATING).",
                 "reason", "CSIRTの長")},
    {"assign", cmd_assign, "assign investigators",
     "usage: csirt assign ID LOGIN...\n\nReplaces the case's investigators."
     "\nAllowed to: CSIRTの長.\n"},
    {"note", cmd_note, "add, edit and show notes",
     "usage: csirt note add ID [-m TEXT | -F FILE] [--confidentiality low]\n"
     "       csirt note edit ID NOTE [-m TEXT | -F FILE] [--reason TEXT]\n"
     "       csirt note versions ID NOTE\n\n"
     "Without -m or -F, add and edit open $VISUAL or $EDITOR (vi); edit\n"
     "starts from the note's latest text.  An empty text cancels.\n"},
    {"evidence", cmd_evidence, "add, get, list and dispose of evidence",
     "usage: csirt evidence add ID FILE [--name NAME] [--media-type TYPE]\n"
     "                          [--confidentiality low|medium|high]\n"
     "                          [--supersedes EVIDENCE --reason TEXT]\n"
     "       csirt evidence get EVIDENCE -o FILE [--version N]\n"
     "       csirt evidence list ID\n"
     "       csirt evidence history EVIDENCE\n"
     "       csirt evidence dispose EVIDENCE --reason TEXT\n"
     "       csirt evidence reclassify EVIDENCE --confidentiality L\n"
     "                          [--integrity L] [--availability L] --reason "
     "TEXT\n\n"
     "add uploads FILE to case ID in 1 MiB chunks, encrypted by the\n"
     "server as it arrives, with a progress bar on a terminal; run the\n"
     "same command again after an interruption to resume.  The evidence\n"
     "inherits the case's classification (第4.4) unless a stricter one\n"
     "is given.  --supersedes uploads a new version of EVIDENCE; the\n"
     "earlier ones stay.  get writes FILE only once the content matched\n"
     "its manifest's SHA-256 (the newest version unless --version).\n"
     "dispose (廃棄, 別表第3) destroys every version's key: the content\n"
     "can never be decrypted again.  reclassify (第4.5 review) sets the\n"
     "item's classification, below its case's if need be, with a reason.\n"
     "Allowed to: upload: 情報セキュリティ管理者, CSIRTの長, assigned\n"
     "investigators; read: see README; dispose: CSIRTの長; reclassify:\n"
     "情報セキュリティ管理者.\n"},
    {"resolve", cmd_action, "resolve an investigation",
     ACTION_HELP("resolve", "Resolves the case (INVESTIGATING -> RESOLVED).",
                 "summary", "CSIRTの長")},
    {"close", cmd_action, "close a resolved case",
     ACTION_HELP("close", "Closes a resolved case.", "comment",
                 "情報セキュリティ管理者, CSIRTの長")},
    {"reopen", cmd_action, "reopen a closed case",
     ACTION_HELP("reopen", "Reopens a closed case.", "reason", "CSIRTの長")},
    {"history", cmd_history, "every step of a case, with actor and time",
     "usage: csirt history ID\n\n"
     "Every event of the case from the ledger: sequence, time, actor, role,\n"
     "event type, ledger commit and the text recorded with it.\n"},
    {"watch", cmd_watch, "follow the ledger live, one line per event",
     "usage: csirt watch [--after SEQ] [--count N]\n\n"
     "Follows the events you may see as they are committed, one line each:\n"
     "sequence, time, actor, event type and case (\"-\" for directory\n"
     "events); with --json, one JSON history entry per line.  Runs until\n"
     "interrupted.  A 所属長 sees the cases of their own division only.\n\n"
     "  --after SEQ   start after this sequence number (default 0: from the\n"
     "                first event)\n"
     "  --count N     stop after N events\n"},
    {"stats", cmd_stats, "statistics of reported cases (第14 教養)",
     "usage: csirt stats [--after TIME] [--before TIME] [--division CODE]\n"
     "                   [--csv]\n\n"
     "Counts by category, division, state and month of report (UTC); the\n"
     "median and 90th percentile of the time from report to\n"
     "acknowledgement, escalation and close (cases without the step are\n"
     "left out and counted as excluded); the report delay (認知 -> 報告)\n"
     "in buckets.  Percentiles are nearest-rank: the value at rank\n"
     "ceil(p/100 x n) of the sorted durations, in whole seconds.\n"
     "A 所属長 sees their own division only.\n\n"
     "Options:\n"
     "      --after TIME      reported at or after (RFC 3339)\n"
     "      --before TIME     reported before\n"
     "      --division CODE   one division (default: all)\n"
     "      --csv             CSV (RFC 4180): one section per table, its\n"
     "                        header row first, sections separated by an\n"
     "                        empty line\n"},
    {"request", cmd_request,
     "investigation requests to the reporting division (第13.2)",
     "usage: csirt request create ID --kind summons|material|device\n"
     "                            --due TIME [-d TEXT]\n"
     "                            [--who W --at TIME --place P --purpose X]\n"
     "       csirt request list [ID] [--state S]... [--overdue]\n"
     "                          [--division CODE] [-n N]\n"
     "       csirt request show ID/rN\n"
     "       csirt request ack ID/rN [-m COMMENT]\n"
     "       csirt request respond ID/rN -m TEXT | -F FILE\n"
     "                             [--device SPEC]...\n"
     "       csirt request fulfil ID/rN [-m COMMENT]\n"
     "       csirt request cancel ID/rN -m REASON\n\n"
     "Kinds: summons (出頭要請: who, --at date-time, place, purpose),\n"
     "material (資料提出), device (個人所有機器の提出).  Only while the case\n"
     "is INVESTIGATING.  --due is RFC 3339 or +N with d, h or m (+7d); at\n"
     "most 366 days ahead.  A request past its due time and neither\n"
     "fulfilled nor cancelled is marked overdue by the daemon.\n"
     "States: open -> acknowledged -> responded -> fulfilled; cancel from\n"
     "any open state.  list fetches every page (-n, --limit: its size, "
     "default\n"
     "100).  SPEC: KIND:SERIAL:OWNERSHIP:OWNER_NAME:SEAL, e.g.\n"
     "mobile_phone:356938035643809:personal:山田太郎:S-0001 (registers\n"
     "the device; device requests only).\n"
     "Allowed to: CSIRTの長 and the case's investigators create, fulfil and\n"
     "cancel; the 所属長 of the case's division acknowledges and responds.\n"},
    {"custody", cmd_custody,
     "physical items submitted under 第13.2 and their chain of custody",
     "usage: csirt custody ID/iN\n"
     "       csirt custody register ID --device SPEC [--description TEXT]\n"
     "                              [--holder NAME]\n"
     "       csirt custody transfer ID/iN --to NAME [--from NAME]\n"
     "                              [--at TIME] [--place P] [--purpose X]\n"
     "       csirt custody return ID/iN --to OWNER [--at TIME] [--place P]\n"
     "       csirt custody dispose ID/iN --method TEXT [--at TIME]\n"
     "                             [--place P]\n\n"
     "ID/iN alone shows the item and its chain of custody as a table\n"
     "(--json: the item).  SPEC as for `csirt request respond`.  --from,\n"
     "when given, must be the current holder.  Allowed to: CSIRTの長 and\n"
     "the case's investigators; a 所属長 registers devices only by\n"
     "responding to a device request.\n"},
    {"admin", cmd_admin, "users, divisions and tokens (administrators)",
     "usage: csirt admin division create CODE NAME\n"
     "       csirt admin division list\n"
     "       csirt admin user create LOGIN --role ROLE [--division CODE]\n"
     "                               [--name DISPLAY_NAME]\n"
     "       csirt admin user update LOGIN [--role ROLE] [--division CODE]\n"
     "                               [--name DISPLAY_NAME]\n"
     "       csirt admin user disable LOGIN --reason TEXT\n"
     "       csirt admin user list [--division CODE] [--role ROLE]\n"
     "       csirt admin token issue LOGIN [--description TEXT]\n"
     "       csirt admin token list [LOGIN]\n"
     "       csirt admin token revoke TOKEN_ID\n\n"
     "ROLE: reporter (所属長), security_manager (情報セキュリティ管理者),\n"
     "csirt_lead (CSIRTの長), investigator, auditor, admin.\n"
     "A new token is printed once; only its hash is stored.\n"},
    {"help", cmd_help, "help on a command", "usage: csirt help [COMMAND]\n"},
    {"version", cmd_version, "print the version", "usage: csirt version\n"},
};
const size_t cli_cmd_count = UTIL_ARRAY_LEN(cli_cmd_table);

static const struct cli_cmd *
cli_cmd_find(const char *name)
{
	for (size_t i = 0; i < cli_cmd_count; i++)
		if (strcmp(cli_cmd_table[i].name, name) == 0)
			return &cli_cmd_table[i];
	return NULL;
}

static void
cli_main_usage(FILE *fp)
{
	fprintf(fp, "usage: csirt [COMMON OPTIONS] COMMAND [ARGS]\n\n"
	            "Client for csirtd, the CSIRT case-tracking service.\n\n"
	            "Commands:\n");
	for (size_t i = 0; i < cli_cmd_count; i++)
		fprintf(fp, "  %-12s %s\n", cli_cmd_table[i].name,
		        cli_cmd_table[i].summary);
	fprintf(fp,
	        "\n" CLI_COMMON_HELP "  --version        print the version\n\n"
	        "Settings: `csirt login` stores URL and token in\n"
	        "~/.config/csirt/config; CSIRT_URL, CSIRT_TOKEN and "
	        "CSIRT_CACERT\noverride it.\n\n"
	        "Who may do what: 所属長 report and read their division's "
	        "cases;\n情報セキュリティ管理者 ack, guide, escalate, dismiss, "
	        "close; CSIRTの長\ninvestigate, assign, resolve, close, "
	        "reopen; investigators add notes\nto their cases; auditors "
	        "read everything; administrators use `admin`.\n\n" CLI_EXIT_HELP
	        "\n`csirt COMMAND --help` describes one command.\n");
}

int
cli_usage(const char *cmd, const char *err)
{
	const struct cli_cmd *c = cli_cmd_find(cmd);

	if (err != NULL) {
		cli_err("%s: %s\nTry `csirt %s --help`.", cmd, err, cmd);
		return CLI_EUSAGE;
	}
	if (c == NULL) {
		cli_main_usage(stdout);
		return CLI_OK;
	}
	printf("%s\n%s\n%s", c->help, CLI_COMMON_HELP, CLI_EXIT_HELP);
	return CLI_OK;
}

int
cli_common_option(struct cli *cli, int c, const char *arg)
{
	switch (c) {
	case CLI_OPT_JSON:
		cli->json = 1;
		return 0;
	case CLI_OPT_LANG:
		if (labels_lang_parse(&cli->lang, arg) != 0) {
			cli_err("--lang %s: use ja or en", arg);
			return CLI_EUSAGE;
		}
		return 0;
	case CLI_OPT_URL:
		free(cli->url);
		cli->url = util_strdup(arg);
		return 0;
	case CLI_OPT_CACERT:
		free(cli->cafile);
		cli->cafile = util_strdup(arg);
		return 0;
	default:
		return 1;
	}
}

int
cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
           const struct option *opts)
{
	static const struct option common[] = {CLI_COMMON_OPTIONS};
	struct option all[64];
	size_t n = 0;
	int c;

	for (; opts != NULL && opts[n].name != NULL; n++)
		all[n] = opts[n];
	if (n + UTIL_ARRAY_LEN(common) >= UTIL_ARRAY_LEN(all))
		abort(); /* a command with too many options: programming error
		          */
	memcpy(all + n, common, sizeof(common));
	memset(&all[n + UTIL_ARRAY_LEN(common)], 0, sizeof(all[0]));
	for (;;) {
		c = getopt_long(argc, argv, shortopts, all, NULL);
		if (c == 'h')
			return CLI_OPT_HELP;
		if (c == -1 || c == '?' || c == ':')
			return c == ':' ? '?' : c;
		int rc = cli_common_option(cli, c, optarg);
		if (rc == 1)
			return c;
		if (rc != 0)
			return '?';
	}
}

static int
cmd_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 1 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_usage("help", NULL);
	if (argc > 1 && cli_cmd_find(argv[1]) == NULL)
		return cli_usage("help", "no such command");
	return cli_usage(argc > 1 ? argv[1] : "", NULL);
}

static int
cmd_version(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return cli_usage("version", NULL);
		return cli_usage("version", "takes no arguments");
	}
	printf("csirt %s\n", CSIRT_VERSION);
	return CLI_OK;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_COMMON_OPTIONS,
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const struct cli_cmd *cmd;
	struct cli cli;
	int c, rc;

	memset(&cli, 0, sizeof(cli));
	signal(SIGPIPE, SIG_IGN);
	if (crypto_init() != 0) {
		cli_err("cannot initialise the crypto library");
		return CLI_EFAIL;
	}
	cli.lang = labels_lang_default();
	/* Global options stop at the command name ("+"). */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cli_main_usage(stdout);
			return CLI_OK;
		case 'V':
			printf("csirt %s\n", CSIRT_VERSION);
			return CLI_OK;
		case '?':
			fprintf(stderr, "Try `csirt --help`.\n");
			return CLI_EUSAGE;
		default:
			if (cli_common_option(&cli, c, optarg) != 0) {
				cli_free(&cli);
				return CLI_EUSAGE;
			}
		}
	}
	if (optind >= argc) {
		cli_main_usage(stderr);
		cli_free(&cli);
		return CLI_EUSAGE;
	}
	if ((cmd = cli_cmd_find(argv[optind])) == NULL) {
		cli_err("unknown command \"%s\"; `csirt help` lists them",
		        argv[optind]);
		cli_free(&cli);
		return CLI_EUSAGE;
	}
	{
		/* Flags given before the command win over the settings. */
		struct cli flags = cli;

		memset(&cli, 0, sizeof(cli));
		cli.lang = flags.lang;
		cli.json = flags.json;
		if ((rc = cli_config_load(&cli)) != CLI_OK) {
			cli_free(&flags);
			cli_free(&cli);
			return rc;
		}
		if (flags.url != NULL) {
			free(cli.url);
			cli.url = flags.url;
			flags.url = NULL;
		}
		if (flags.cafile != NULL) {
			free(cli.cafile);
			cli.cafile = flags.cafile;
			flags.cafile = NULL;
		}
		cli_free(&flags);
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* GNU getopt: re-initialise (permute again) */
	rc = cmd->run(&cli, argc, argv);
	fflush(stdout);
	if (ferror(stdout) && rc == CLI_OK) {
		cli_err("cannot write the output");
		rc = CLI_EFAIL;
	}
	cli_free(&cli);
	return rc;
}
