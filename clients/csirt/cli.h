/*
 * cli.h - what every part of the csirt command-line client shares: the
 * exit codes, the session (server, token, language, output mode), the
 * command table, and the helpers commands use to call the API and print.
 *
 * The CLI includes no third-party header: protobuf and JSON go through
 * codec.h, TLS through crypto.h, labels and tables through labels.h and
 * table.h.
 */
#ifndef CSIRT_CLI_H
#define CSIRT_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "csirt/v1/service.pb-c.h"
#include "labels.h"
#include "util.h"

/* Exit codes, documented in `csirt --help`. */
enum {
	CLI_OK = 0,
	CLI_EFAIL = 1,     /* anything else: local I/O, editor failure */
	CLI_EUSAGE = 2,    /* bad command line or input refused as invalid */
	CLI_EAUTH = 3,     /* no token, or the server refused it */
	CLI_EPERM = 4,     /* the caller's role may not do this */
	CLI_ENOTFOUND = 5, /* no such case, note, user or token */
	CLI_ECONFLICT = 6, /* illegal in the current state, or exists */
	CLI_ENETWORK = 7,  /* cannot reach the server, or it failed */
};

/* The session.  Strings are owned (freed by cli_free). */
struct cli {
	char *url;    /* http://HOST:PORT or https://...; NULL if unset */
	char *token;  /* bearer token; NULL if unset */
	char *cafile; /* PEM CA bundle for https (NULL: system store) */
	char *config_path;
	enum lang lang;
	int json;
};

/* Options every subcommand accepts; their `val`s are below 0 so that they
 * never clash with a command's short options. */
enum {
	CLI_OPT_JSON = 1000,
	CLI_OPT_LANG,
	CLI_OPT_URL,
	CLI_OPT_CACERT,
	CLI_OPT_HELP,
};
#define CLI_COMMON_OPTIONS                                                     \
	{"json", no_argument, NULL, CLI_OPT_JSON},                             \
	    {"lang", required_argument, NULL, CLI_OPT_LANG},                   \
	    {"url", required_argument, NULL, CLI_OPT_URL},                     \
	    {"cacert", required_argument, NULL, CLI_OPT_CACERT},               \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}

/* Handles a common option `c` (with `optarg`); returns 0 if it was one,
 * 1 if `c` is not a common option, CLI_EUSAGE on a bad value. */
int cli_common_option(struct cli *cli, int c, const char *arg);

/* A subcommand: `run` gets argv with argv[0] the command's name and returns
 * an exit code.  `help` is the full --help text. */
struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
	const char *help;
};

extern const struct cli_cmd cli_cmd_table[];
extern const size_t cli_cmd_count;

/* Commands, one family per file (cmd_case.c, cmd_note.c, cmd_admin.c,
 * cmd_login.c, cmd_stats.c, cmd_watch.c). */
int cmd_report(struct cli *, int, char **);
int cmd_list(struct cli *, int, char **);
int cmd_show(struct cli *, int, char **);
int cmd_update(struct cli *, int, char **);
int cmd_action(struct cli *, int, char **);
int cmd_assign(struct cli *, int, char **);
int cmd_history(struct cli *, int, char **);
int cmd_note(struct cli *, int, char **);
int cmd_admin(struct cli *, int, char **);
int cmd_login(struct cli *, int, char **);
int cmd_logout(struct cli *, int, char **);
int cmd_whoami(struct cli *, int, char **);
int cmd_stats(struct cli *, int, char **);
int cmd_watch(struct cli *, int, char **);
int cmd_request(struct cli *, int, char **); /* cmd_request.c */
int cmd_custody(struct cli *, int, char **);
int cmd_evidence(struct cli *, int, char **); /* cmd_evidence.c */

/* Prints the command's --help text to stdout (returns CLI_OK), or a one-line
 * hint to stderr (returns CLI_EUSAGE) when `err` is set: a usage error. */
int cli_usage(const char *cmd, const char *err);

/* Runs getopt_long over argv with the common options appended to `opts`
 * (terminated by a zero entry); returns the next option like getopt_long,
 * -1 at the end, CLI_OPT_HELP for --help/-h, '?' on an error (already
 * reported).  Common options are handled inside. */
int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
               const struct option *opts);

/* ---- config (cli_config.c) */

/* Fills url, token, cafile from the config file, then CSIRT_URL,
 * CSIRT_TOKEN and CSIRT_CACERT override.  A missing file is not an error;
 * an unreadable or malformed one is (message printed, CLI_EFAIL). */
int cli_config_load(struct cli *cli);
/* Writes url, token and cafile to the config file (mode 0600, directory
 * 0700). */
int cli_config_save(const struct cli *cli);
/* Default path: $XDG_CONFIG_HOME/csirt/config or ~/.config/csirt/config;
 * CSIRT_CONFIG overrides.  Caller frees. */
char *cli_config_path(void);

void cli_free(struct cli *cli);

/* ---- calling the API (cli_rpc.c) */

/*
 * Calls "Service/Method" with `req` in protobuf and decodes the reply into
 * *out (caller frees with codec_free()).  On failure prints a message that
 * says what went wrong and what to do, and returns the exit code for it.
 */
int cli_rpc(struct cli *cli, const char *method, const ProtobufCMessage *req,
            const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **out);

/* Prints the proto3 JSON of `msg` (pretty) to stdout. */
int cli_print_json(const ProtobufCMessage *msg);

/* Prints an error "csirt: ..." to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- input helpers (cli_input.c) */

/* Parses an enum value of `desc` (a ProtobufCEnumDescriptor) given as the
 * proto name, the name without its prefix ("lost_equipment",
 * "lost-equipment"), or the number.  Returns -1 when nothing matches. */
int cli_enum_parse(const void *desc, const char *prefix, const char *s);
/* Values of `desc` as a comma-separated list of lower-case short names, for
 * messages.  Caller frees. */
char *cli_enum_choices(const void *desc, const char *prefix);
/* Human label of an enum value in the session's language. */
const char *cli_enum_label(const struct cli *cli, const void *desc, int value);

/* Reads a whole file ("-" is stdin); caller frees. */
int cli_read_text(char **out, const char *path);
/* Runs $VISUAL, $EDITOR or vi on a temporary file holding `initial`;
 * stores the edited text in *out (caller frees). */
int cli_edit_text(char **out, const char *initial, const char *suffix);
/* Joins argv[from..argc) with spaces; NULL if empty.  Caller frees. */
char *cli_join_args(int argc, char **argv, int from);

/* ---- output helpers (cli_print.c) */

/* A record as aligned "label  value" lines. */
struct cli_record;
struct cli_record *cli_record_new(void);
void cli_record_add(struct cli_record *r, const char *label, const char *value);
void cli_record_print(struct cli_record *r, FILE *fp);
void cli_record_free(struct cli_record *r);

void cli_print_case(const struct cli *cli, const Csirt__V1__Case *c);
/* One line after a command: "<id>  <state>  (seq N)". */
void cli_print_case_done(const struct cli *cli, const Csirt__V1__Case *c,
                         uint64_t seq);
void cli_print_cases(const struct cli *cli, Csirt__V1__Case *const *cases,
                     size_t n);
void cli_print_history(const struct cli *cli,
                       const Csirt__V1__GetHistoryResponse *h);
void cli_print_note(const struct cli *cli, const Csirt__V1__Note *n);
void cli_print_users(const struct cli *cli, Csirt__V1__User *const *users,
                     size_t n);
void cli_print_user(const struct cli *cli, const Csirt__V1__User *u);
void cli_print_divisions(const struct cli *cli, Csirt__V1__Division *const *d,
                         size_t n);
void cli_print_tokens(const struct cli *cli, Csirt__V1__TokenInfo *const *t,
                      size_t n);
/* "medium/low/low [restriction,...]" with labels. */
char *cli_classification_text(const struct cli *cli,
                              const Csirt__V1__Classification *cl);

#endif
