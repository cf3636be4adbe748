/*
 * cmd_login.c - `csirt login`, `logout` and `whoami`: the stored settings
 * and who the token belongs to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "crypto.h"

/* Asks WhoAmI; prints the user unless `quiet`. */
static int
login_whoami(struct cli *cli, int quiet)
{
	ProtobufCMessage *req =
	    codec_new(&csirt__v1__who_am_irequest__descriptor);
	Csirt__V1__UserResponse *resp = NULL;
	int rc;

	rc = cli_rpc(cli, "DirectoryService/WhoAmI", req,
	             &csirt__v1__user_response__descriptor,
	             (ProtobufCMessage **)&resp);
	if (rc == CLI_OK && !quiet) {
		if (cli->json)
			rc = cli_print_json(&resp->base);
		else if (resp->user != NULL)
			cli_print_user(cli, resp->user);
	}
	codec_free(req);
	codec_free(resp != NULL ? &resp->base : NULL);
	return rc;
}

int
cmd_whoami(struct cli *cli, int argc, char **argv)
{
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("whoami", NULL)
		                          : CLI_EUSAGE;
	if (optind != argc)
		return cli_usage("whoami", "unexpected argument");
	return login_whoami(cli, 0);
}

/* The token from standard input, without echo on a terminal. */
static char *
login_read_token(void)
{
	struct termios old, quiet;
	char line[512];
	int tty = isatty(STDIN_FILENO);
	size_t len;

	if (tty) {
		fprintf(stderr, "token: ");
		fflush(stderr);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(line, sizeof(line), stdin) == NULL)
		line[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	char *t = len > 0 ? util_strdup(line) : NULL;
	crypto_wipe(line, sizeof(line));
	return t;
}

int
cmd_login(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"token", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	char *token = NULL;
	int ch, rc;

	while ((ch = cli_getopt(cli, argc, argv, "t:h", opts)) != -1) {
		switch (ch) {
		case 't':
			free(token);
			token = util_strdup(optarg);
			break;
		case CLI_OPT_HELP:
			free(token);
			return cli_usage("login", NULL);
		default:
			free(token);
			return CLI_EUSAGE;
		}
	}
	if (optind != argc) {
		free(token);
		return cli_usage("login", "unexpected argument");
	}
	if (cli->url == NULL) {
		free(token);
		return cli_usage("login", "--url is required");
	}
	if (token == NULL && (token = login_read_token()) == NULL) {
		cli_err("login: no token given");
		return CLI_EAUTH;
	}
	free(cli->token);
	cli->token = token;
	if ((rc = login_whoami(cli, 1)) != CLI_OK) {
		cli_err("login: nothing stored");
		return rc;
	}
	if ((rc = cli_config_save(cli)) != CLI_OK)
		return rc;
	fprintf(stderr, "csirt: logged in to %s; settings in %s\n", cli->url,
	        cli->config_path);
	return login_whoami(cli, 0);
}

int
cmd_logout(struct cli *cli, int argc, char **argv)
{
	int ch;

	while ((ch = cli_getopt(cli, argc, argv, "h", NULL)) != -1)
		return ch == CLI_OPT_HELP ? cli_usage("logout", NULL)
		                          : CLI_EUSAGE;
	if (optind != argc)
		return cli_usage("logout", "unexpected argument");
	free(cli->token);
	cli->token = NULL;
	return cli_config_save(cli);
}
