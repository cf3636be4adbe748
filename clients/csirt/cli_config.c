/*
 * cli_config.c - the CLI's settings: ~/.config/csirt/config (written by
 * `csirt login`, mode 0600 since it holds a token) of `key = value` lines
 * (url, token, cacert; `#` starts a comment), overridden by CSIRT_URL,
 * CSIRT_TOKEN and CSIRT_CACERT, overridden in turn by --url and --cacert.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "crypto.h"
#include "error.h"

#define CLI_CONFIG_MAX (64 * 1024)

char *
cli_config_path(void)
{
	const char *env = getenv("CSIRT_CONFIG"), *home;
	struct buf b = BUF_INIT;

	if (env != NULL && *env != '\0')
		return util_strdup(env);
	if ((env = getenv("XDG_CONFIG_HOME")) != NULL && *env == '/')
		buf_printf(&b, "%s/csirt/config", env);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		buf_printf(&b, "%s/.config/csirt/config", home);
	else
		return NULL;
	return buf_detach(&b);
}

static void
cli_config_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL && *value != '\0' ? util_strdup(value) : NULL;
}

static char *
cli_config_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	                   end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

static int
cli_config_parse(struct cli *cli, char *text, const char *path)
{
	char *line, *next;
	int lineno = 0;

	for (line = text; line != NULL; line = next) {
		char *eq, *key, *value;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		key = cli_config_trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			cli_err("%s:%d: expected `key = value`", path, lineno);
			return CLI_EFAIL;
		}
		*eq = '\0';
		value = cli_config_trim(eq + 1);
		key = cli_config_trim(key);
		if (strcmp(key, "url") == 0)
			cli_config_set(&cli->url, value);
		else if (strcmp(key, "token") == 0)
			cli_config_set(&cli->token, value);
		else if (strcmp(key, "cacert") == 0)
			cli_config_set(&cli->cafile, value);
		else {
			cli_err("%s:%d: unknown key \"%s\" (known: url, token, "
			        "cacert)",
			        path, lineno, key);
			return CLI_EFAIL;
		}
	}
	return CLI_OK;
}

int
cli_config_load(struct cli *cli)
{
	const char *env;
	char *text = NULL;
	size_t len;
	int rc = CLI_OK;

	free(cli->config_path);
	cli->config_path = cli_config_path();
	if (cli->config_path != NULL && util_path_exists(cli->config_path)) {
		struct stat st;

		if (util_read_file(&text, &len, cli->config_path,
		                   CLI_CONFIG_MAX) != 0) {
			cli_err("%s", csirt_error_msg());
			return CLI_EFAIL;
		}
		if (stat(cli->config_path, &st) == 0 && (st.st_mode & 077) != 0)
			cli_err("warning: %s holds a token but others may "
			        "read it; run `chmod 600 %s`",
			        cli->config_path, cli->config_path);
		rc = cli_config_parse(cli, text, cli->config_path);
		crypto_wipe(text, len);
		free(text);
		if (rc != CLI_OK)
			return rc;
	}
	if ((env = getenv("CSIRT_URL")) != NULL && *env != '\0')
		cli_config_set(&cli->url, env);
	if ((env = getenv("CSIRT_TOKEN")) != NULL && *env != '\0')
		cli_config_set(&cli->token, env);
	if ((env = getenv("CSIRT_CACERT")) != NULL && *env != '\0')
		cli_config_set(&cli->cafile, env);
	return CLI_OK;
}

int
cli_config_save(const struct cli *cli)
{
	struct buf b = BUF_INIT;
	char *dir = NULL, *slash;
	int rc = CLI_EFAIL;

	if (cli->config_path == NULL) {
		cli_err("cannot tell where to store the configuration: set "
		        "HOME or CSIRT_CONFIG");
		return CLI_EFAIL;
	}
	dir = util_strdup(cli->config_path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (util_mkdir_p(dir, 0700) != 0) {
			cli_err("cannot create %s: %s", dir, csirt_error_msg());
			goto done;
		}
	}
	buf_printf(&b,
	           "# csirt client settings, written by `csirt login`.\n"
	           "# Holds a bearer token: keep this file mode 0600.\n"
	           "url = %s\ntoken = %s\n",
	           cli->url != NULL ? cli->url : "",
	           cli->token != NULL ? cli->token : "");
	if (cli->cafile != NULL)
		buf_printf(&b, "cacert = %s\n", cli->cafile);
	if (util_write_file_atomic(cli->config_path, b.data, b.len, 0600) !=
	    0) {
		cli_err("cannot write %s: %s", cli->config_path,
		        csirt_error_msg());
		goto done;
	}
	rc = CLI_OK;
done:
	if (b.data != NULL)
		crypto_wipe(b.data, b.len);
	buf_free(&b);
	free(dir);
	return rc;
}

void
cli_free(struct cli *cli)
{
	if (cli->token != NULL)
		crypto_wipe(cli->token, strlen(cli->token));
	free(cli->url);
	free(cli->token);
	free(cli->cafile);
	free(cli->config_path);
	memset(cli, 0, sizeof(*cli));
}
