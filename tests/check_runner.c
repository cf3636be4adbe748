/*
 * check_runner.c - runs one Check suite by name (one CTest test per suite),
 * or every suite when no name is given.  Exits non-zero on any failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

static const struct {
	const char *name;
	Suite *(*make)(void);
} suites[] = {
    {"util", util_suite},
    {"log", log_suite},
    {"config", config_suite},
    {"daemon", daemon_suite},
    {"lifecycle", lifecycle_suite},
    {"deadline", deadline_suite},
    {"codec", codec_suite},
    {"crypto", crypto_suite},
    {"index", index_suite},
    {"ledger", ledger_suite},
    {"crash", crash_suite},
    {"api", api_suite},
    {"hostile", hostile_suite},
    {"tls", tls_suite},
    {"authz", authz_suite},
    {"cliout", cliout_suite},
    {"cli", cli_suite},
    {"audit", audit_suite},
    {"gitweb", gitweb_suite},
    {"fault", fault_suite},
    {"web", web_suite},
    {"http", http_suite},
    {"request", request_suite},
    {"evidence", evidence_suite},
    {"checkpoint", checkpoint_suite},
    {"mirror", mirror_suite},
    {"pipeline", pipeline_suite},
};

int
main(int argc, char **argv)
{
	SRunner *sr = NULL;
	int failed, found = 0;

	/* Tests talk to servers that may close early; a broken pipe is an
	 * error return, not a death. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
			continue;
		found = 1;
		if (sr == NULL)
			sr = srunner_create(suites[i].make());
		else
			srunner_add_suite(sr, suites[i].make());
	}
	if (!found) {
		fprintf(stderr, "check_runner: no suite \"%s\"\n", argv[1]);
		return 2;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
