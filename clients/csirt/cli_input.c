/*
 * cli_input.c - turning what the user typed into request fields: enum
 * names in any reasonable spelling, text from files, stdin or $EDITOR.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "codec.h"
#include "error.h"

#define CLI_TEXT_MAX (4 * 1024 * 1024)

/* Compares ignoring case and treating '-' as '_'. */
static int
cli_enum_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		int ca = *a == '-' ? '_' : tolower((unsigned char)*a);
		int cb = *b == '-' ? '_' : tolower((unsigned char)*b);
		if (ca != cb)
			return 0;
	}
	return *a == *b;
}

int
cli_enum_parse(const void *desc, const char *prefix, const char *s)
{
	const ProtobufCEnumDescriptor *d = desc;
	size_t plen = strlen(prefix);
	char *end;
	long n;

	if (s == NULL || *s == '\0')
		return -1;
	n = strtol(s, &end, 10);
	if (*end == '\0') {
		for (unsigned i = 0; i < d->n_values; i++)
			if (d->values[i].value == n && n != 0)
				return (int)n;
		return -1;
	}
	for (unsigned i = 0; i < d->n_values; i++) {
		const char *name = d->values[i].name;

		if (d->values[i].value == 0)
			continue;
		if (cli_enum_eq(name, s) || (strncmp(name, prefix, plen) == 0 &&
		                             cli_enum_eq(name + plen, s)))
			return d->values[i].value;
	}
	return -1;
}

char *
cli_enum_choices(const void *desc, const char *prefix)
{
	const ProtobufCEnumDescriptor *d = desc;
	size_t plen = strlen(prefix);
	struct buf b = BUF_INIT;

	for (unsigned i = 0; i < d->n_values; i++) {
		const char *name = d->values[i].name;

		if (d->values[i].value == 0)
			continue;
		if (strncmp(name, prefix, plen) == 0)
			name += plen;
		if (b.len > 0)
			buf_puts(&b, ", ");
		for (; *name != '\0'; name++)
			buf_putc(&b, (char)tolower((unsigned char)*name));
	}
	return buf_detach(&b);
}

const char *
cli_enum_label(const struct cli *cli, const void *desc, int value)
{
	const char *name = codec_enum_name(desc, value);

	if (name == NULL || value == 0)
		return "";
	return label_enum(cli->lang, name);
}

int
cli_read_text(char **out, const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n, len;

	*out = NULL;
	if (strcmp(path, "-") != 0) {
		if (util_read_file(out, &len, path, CLI_TEXT_MAX) != 0) {
			cli_err("%s", csirt_error_msg());
			return CLI_EUSAGE;
		}
		return CLI_OK;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (b.len + n > CLI_TEXT_MAX) {
			cli_err("standard input: more than %d bytes",
			        CLI_TEXT_MAX);
			buf_free(&b);
			return CLI_EUSAGE;
		}
		buf_put(&b, chunk, n);
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	*out = buf_detach(&b);
	return CLI_OK;
}

int
cli_edit_text(char **out, const char *initial, const char *suffix)
{
	const char *editor = getenv("VISUAL");
	char path[] = "/tmp/csirt-XXXXXX.md";
	size_t len;
	int fd, status, rc = CLI_EFAIL;
	pid_t pid;

	(void)suffix;
	*out = NULL;
	if (editor == NULL || *editor == '\0')
		editor = getenv("EDITOR");
	if (editor == NULL || *editor == '\0')
		editor = "vi";
	if ((fd = mkstemps(path, 3)) < 0) {
		cli_err("cannot create a temporary file: %s", strerror(errno));
		return CLI_EFAIL;
	}
	len = strlen(initial);
	if (write(fd, initial, len) != (ssize_t)len) {
		cli_err("cannot write %s: %s", path, strerror(errno));
		close(fd);
		goto done;
	}
	close(fd);
	fflush(NULL);
	/* Through the shell, so that EDITOR="code --wait" works as in git. */
	pid = fork();
	if (pid < 0) {
		cli_err("cannot start the editor: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", editor, path,
		      (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cli_err("the editor (%s) failed; nothing was sent", editor);
		goto done;
	}
	if (util_read_file(out, &len, path, CLI_TEXT_MAX) != 0) {
		cli_err("%s", csirt_error_msg());
		goto done;
	}
	rc = CLI_OK;
done:
	unlink(path);
	return rc;
}

char *
cli_join_args(int argc, char **argv, int from)
{
	struct buf b = BUF_INIT;

	for (int i = from; i < argc; i++) {
		if (b.len > 0)
			buf_putc(&b, ' ');
		buf_puts(&b, argv[i]);
	}
	return b.data != NULL ? buf_detach(&b) : NULL;
}
