/*
 * csirt.c - the command-line client.  Subcommands for every role arrive with
 * the wire API; this entry point already answers --help and --version.
 */
#include <stdio.h>
#include <string.h>

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: csirt [--help] [--version] COMMAND [ARGS]\n"
	            "\n"
	            "Client for csirtd, the CSIRT case-tracking service.\n");
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("csirt %s\n", CSIRT_VERSION);
		return 0;
	}
	if (argc > 1 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
