/* Every Check suite, one per module (tests/check_<module>.c). */
#ifndef CSIRT_TEST_SUITES_H
#define CSIRT_TEST_SUITES_H

#include <check.h>

Suite *util_suite(void);
Suite *log_suite(void);
Suite *config_suite(void);
Suite *daemon_suite(void);
Suite *lifecycle_suite(void);
Suite *deadline_suite(void);
Suite *codec_suite(void);
Suite *crypto_suite(void);
Suite *index_suite(void);
Suite *ledger_suite(void);
Suite *crash_suite(void);
Suite *api_suite(void);
Suite *hostile_suite(void);
Suite *tls_suite(void);
Suite *authz_suite(void);
Suite *cliout_suite(void);
Suite *cli_suite(void);
Suite *audit_suite(void);
Suite *gitweb_suite(void);
Suite *fault_suite(void);
Suite *web_suite(void);
Suite *http_suite(void);
Suite *request_suite(void); /* check_request.c: 第13.2 */
Suite *evidence_suite(void); /* issue 6 */
Suite *checkpoint_suite(void);
Suite *mirror_suite(void);
Suite *pipeline_suite(void); /* whole-ledger passes */

#endif
