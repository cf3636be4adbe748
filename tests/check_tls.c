/*
 * check_tls.c - HTTPS and mTLS: the TLS context's start-up checks
 * (crypto_tls_new, config_validate), and the real csirtd serving HTTPS to
 * stock curl, with and without required client certificates.
 *
 * Every test makes its own small PKI with the openssl CLI in a temporary
 * directory: a CA, a server certificate for 127.0.0.1 (SAN IP), a client
 * certificate "alice" signed by the CA, a self-signed "alice" the daemon
 * must not trust, and an expired server certificate.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "error.h"
#include "suites.h"
#include "testutil.h"

static void
write_text(const char *dir, const char *name, const char *text)
{
	char *path = util_path_join(dir, name);

	ck_assert_int_eq(util_write_file_atomic(path, text, strlen(text), 0600),
	                 0);
	free(path);
}

/* Makes the test PKI in `dir`. */
static void
pki_make(const char *dir)
{
	OSSL(dir, "req", "-x509", EC_KEY_ARGS, "-keyout", "ca.key", "-out",
	     "ca.pem", "-days", "2", "-subj", "/CN=csirt-test-ca");
	OSSL(dir, "req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key",
	     EC_KEY_ARGS, "-keyout", "server.key", "-out", "server.pem",
	     "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
	     "subjectAltName=IP:127.0.0.1", "-addext",
	     "basicConstraints=critical,CA:FALSE", "-addext",
	     "extendedKeyUsage=serverAuth");
	OSSL(dir, "req", "-x509", "-CA", "ca.pem", "-CAkey", "ca.key",
	     EC_KEY_ARGS, "-keyout", "alice.key", "-out", "alice.pem", "-days",
	     "2", "-subj", "/CN=alice", "-addext",
	     "basicConstraints=critical,CA:FALSE", "-addext",
	     "extendedKeyUsage=clientAuth");
	/* Same name, but nobody the daemon trusts signed it. */
	OSSL(dir, "req", "-x509", EC_KEY_ARGS, "-keyout", "mallory.key", "-out",
	     "mallory.pem", "-days", "2", "-subj", "/CN=alice", "-addext",
	     "extendedKeyUsage=clientAuth");
	/* `openssl req` cannot backdate; a one-shot `openssl ca` can. */
	write_text(dir, "ca.cnf",
	           "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\n"
	           "new_certs_dir = .\nserial = serial\ndefault_md = sha256\n"
	           "policy = p\n[p]\ncommonName = supplied\n");
	write_text(dir, "index.txt", "");
	write_text(dir, "serial", "01\n");
	OSSL(dir, "req", "-new", EC_KEY_ARGS, "-keyout", "old.key", "-out",
	     "old.csr", "-subj", "/CN=127.0.0.1");
	OSSL(dir, "ca", "-batch", "-notext", "-config", "ca.cnf", "-selfsign",
	     "-keyfile", "old.key", "-in", "old.csr", "-startdate",
	     "20200101000000Z", "-enddate", "20200102000000Z", "-out",
	     "old.pem");
	write_text(dir, "junk.pem", "not a certificate\n");
}

/* A test's directory: the PKI, a data directory and a config file. */
struct fx {
	char *dir;
	char *data;
	char *conf;
};

static char *
fx_path(const struct fx *fx, const char *name)
{
	return util_path_join(fx->dir, name);
}

static void
fx_init(struct fx *fx)
{
	fx->dir = tu_tmpdir();
	fx->data = util_path_join(fx->dir, "var");
	fx->conf = util_path_join(fx->dir, "csirtd.conf");
	pki_make(fx->dir);
}

static void
fx_free(struct fx *fx)
{
	tu_rmrf(fx->dir);
	free(fx->dir);
	free(fx->data);
	free(fx->conf);
}

/* Writes the config file with the TLS keys (file names in the PKI, or
 * NULL to leave a key out); every daemon drops idle connections after 1 s.
 */
static void
fx_config(const struct fx *fx, const char *cert, const char *key,
          const char *client_ca)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "idle_timeout_s = 1\n");
	if (cert != NULL)
		buf_printf(&b, "tls_cert = %s/%s\n", fx->dir, cert);
	if (key != NULL)
		buf_printf(&b, "tls_key = %s/%s\n", fx->dir, key);
	if (client_ca != NULL)
		buf_printf(&b, "tls_client_ca = %s/%s\n", fx->dir, client_ca);
	ck_assert_int_eq(
	    util_write_file_atomic(fx->conf, b.data ? b.data : "", b.len, 0600),
	    0);
	buf_free(&b);
}

/* Runs `csirtd -n --config CONF`; returns its exit status, with stdout and
 * stderr in `out`. */
static int
fx_check_config(const struct fx *fx, struct buf *out)
{
	const char *argv[] = {
	    "sh",       "-c",     "exec \"$0\" -n --config \"$1\" 2>&1",
	    CSIRTD_BIN, fx->conf, NULL};
	int status = -1;

	buf_reset(out);
	ck_assert_int_eq(tu_run(out, &status, argv), 0);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static char fx_admin_token[80];

static void
fx_daemon_start(const struct fx *fx, struct tu_daemon *d)
{
	const char *init[] = {CSIRTD_BIN, "--data", fx->data, "init", NULL};
	const char *extra[] = {"--config", fx->conf, NULL};
	struct buf out = BUF_INIT;
	int status = -1;
	const char *p;

	ck_assert_int_eq(tu_run(&out, &status, init), 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	p = strstr(out.data, "administrator token: ");
	ck_assert_ptr_nonnull(p);
	p += strlen("administrator token: ");
	snprintf(fx_admin_token, sizeof(fx_admin_token), "%.*s",
	         (int)strcspn(p, "\n"), p);
	ck_assert_int_eq(tu_daemon_start(d, fx->data, extra), 0);
	ck_assert_msg(d->tls, "csirtd did not say https://");
	buf_free(&out);
}

static void
fx_daemon_stop(struct tu_daemon *d)
{
	int status = tu_daemon_stop(d, SIGTERM, 5000);

	ck_assert_msg(status != -1, "csirtd did not exit within 5 s");
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

/* curl [ARGS...] https://ADDR/PATH; returns curl's exit status (0 is a
 * completed HTTP exchange).  `out` gets the body, a newline and the HTTP
 * status code ("000" when there was no response). */
static int
curl_run(struct buf *out, const struct fx *fx, const char *addr,
         const char *scheme, const char *path, const char *cert)
{
	char *ca = fx_path(fx, "ca.pem"), *crt = NULL, *key = NULL;
	const char *argv[32];
	struct buf url = BUF_INIT;
	size_t n = 0;
	int status = -1;

	buf_printf(&url, "%s://%s%s", scheme, addr, path);
	argv[n++] = "curl";
	argv[n++] = "-s";
	argv[n++] = "--noproxy";
	argv[n++] = "*";
	argv[n++] = "--max-time";
	argv[n++] = "20";
	argv[n++] = "-w";
	argv[n++] = "\n%{http_code}";
	argv[n++] = "--cacert";
	argv[n++] = ca;
	if (cert != NULL) {
		struct buf b = BUF_INIT;
		buf_printf(&b, "%s/%s.pem", fx->dir, cert);
		crt = buf_detach(&b);
		buf_printf(&b, "%s/%s.key", fx->dir, cert);
		key = buf_detach(&b);
		argv[n++] = "--cert";
		argv[n++] = crt;
		argv[n++] = "--key";
		argv[n++] = key;
	}
	if (strcmp(path, "/healthz") != 0) {
		argv[n++] = "-X";
		argv[n++] = "POST";
		argv[n++] = "-H";
		argv[n++] = "Content-Type: application/json";
		argv[n++] = "-d";
		argv[n++] = "{}";
	}
	argv[n++] = url.data;
	argv[n] = NULL;
	buf_reset(out);
	ck_assert_int_eq(tu_run(out, &status, argv), 0);
	buf_put(out, "", 1); /* terminate even when empty */
	free(ca);
	free(crt);
	free(key);
	buf_free(&url);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Connects to `addr` ("127.0.0.1:PORT") and sends nothing; returns how
 * many ms pass until the daemon closes the connection (-1: not in 10 s). */
static int
silent_client_ms(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	struct sockaddr_in sin;
	struct pollfd pfd;
	struct timespec t0, t1;
	char byte;
	int fd, ms = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd = (struct pollfd){fd, POLLIN, 0};
	if (poll(&pfd, 1, 10000) == 1 && read(fd, &byte, 1) <= 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		           (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
	close(fd);
	return ms;
}

static int
healthz_ok(const struct buf *out)
{
	return strstr(out->data, "\"status\":\"ok\"") != NULL &&
	       strstr(out->data, "\n200") != NULL;
}

static char *
read_log(const struct tu_daemon *d)
{
	char *log = NULL;

	ck_assert_int_eq(util_read_file(&log, NULL, d->log_path, 1 << 20), 0);
	return log;
}

START_TEST(test_tls_https_healthz_and_no_plain_http)
{
	struct fx fx;
	struct tu_daemon d;
	struct buf out = BUF_INIT;
	char *log;

	fx_init(&fx);
	fx_config(&fx, "server.pem", "server.key", NULL);
	fx_daemon_start(&fx, &d);

	ck_assert_int_eq(curl_run(&out, &fx, d.addr, "https", "/healthz", NULL),
	                 0);
	ck_assert_msg(healthz_ok(&out), "%s", out.data);
	/* TLS 1.2 is still accepted. */
	{
		const char *argv[] = {"curl",
		                      "-s",
		                      "--noproxy",
		                      "*",
		                      "--tlsv1.2",
		                      "--tls-max",
		                      "1.2",
		                      "--cacert",
		                      NULL,
		                      "-o",
		                      "/dev/null",
		                      "-w",
		                      "%{http_code} %{ssl_verify_result}",
		                      NULL,
		                      NULL};
		struct buf url = BUF_INIT;
		char *ca = fx_path(&fx, "ca.pem");
		int status = -1;
		buf_printf(&url, "https://%s/healthz", d.addr);
		argv[8] = ca;
		argv[13] = url.data;
		buf_reset(&out);
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		buf_put(&out, "", 1);
		ck_assert_str_eq(out.data, "200 0");
		buf_free(&url);
		free(ca);
	}
	/* Plain HTTP on the TLS port gets no HTTP answer, from our raw client
	 * nor from curl, and the daemon keeps serving afterwards. */
	ck_assert_int_eq(
	    tu_http(d.addr, "GET", "/healthz", NULL, NULL, 0, NULL), -1);
	ck_assert_int_ne(curl_run(&out, &fx, d.addr, "http", "/healthz", NULL),
	                 0);
	ck_assert(!healthz_ok(&out));
	ck_assert_int_eq(curl_run(&out, &fx, d.addr, "https", "/healthz", NULL),
	                 0);
	ck_assert_msg(healthz_ok(&out), "%s", out.data);
	/* A client that never starts its handshake is dropped after
	 * idle_timeout_s, like an idle plain-HTTP one. */
	{
		int ms = silent_client_ms(d.addr);
		ck_assert_msg(ms >= 500 && ms < 5000, "closed after %d ms", ms);
	}
	/* Without mTLS a client certificate is simply not asked for. */
	ck_assert_int_eq(
	    curl_run(&out, &fx, d.addr, "https", "/healthz", "alice"), 0);
	ck_assert_msg(healthz_ok(&out), "%s", out.data);
	/* Keep-alive over TLS: curl's second request reuses the
	 * connection. */
	{
		char *ca = fx_path(&fx, "ca.pem");
		struct buf url = BUF_INIT;
		int status = -1;

		buf_printf(&url, "https://%s/healthz", d.addr);
		const char *argv[] = {
		    "curl",      "-s",        "--noproxy",
		    "*",         "--cacert",  ca,
		    "-o",        "/dev/null", "-o",
		    "/dev/null", "-w",        "[%{http_code} %{num_connects}]",
		    url.data,    url.data,    NULL};
		buf_reset(&out);
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		buf_put(&out, "", 1);
		ck_assert_msg(strstr(out.data, "[200 1][200 0]") != NULL, "%s",
		              out.data);
		free(ca);
		buf_free(&url);
	}

	fx_daemon_stop(&d);
	log = read_log(&d);
	ck_assert_msg(strstr(log, "scheme=https") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "client_certs=no") != NULL, "%s", log);
	free(log);
	buf_free(&out);
	fx_free(&fx);
}
END_TEST

START_TEST(test_tls_mtls_refuses_missing_and_untrusted_client_certs)
{
	struct fx fx;
	struct tu_daemon d;
	struct buf out = BUF_INIT;
	char *log;

	fx_init(&fx);
	fx_config(&fx, "server.pem", "server.key", "ca.pem");
	fx_daemon_start(&fx, &d);

	/* No certificate: the handshake fails, no request is served. */
	ck_assert_int_ne(curl_run(&out, &fx, d.addr, "https", "/healthz", NULL),
	                 0);
	ck_assert_msg(!healthz_ok(&out), "%s", out.data);
	/* A self-signed certificate with the right name is still refused. */
	ck_assert_int_ne(
	    curl_run(&out, &fx, d.addr, "https", "/healthz", "mallory"), 0);
	ck_assert_msg(!healthz_ok(&out), "%s", out.data);
	/* A server certificate is not a client certificate. */
	ck_assert_int_ne(
	    curl_run(&out, &fx, d.addr, "https", "/healthz", "server"), 0);
	ck_assert_msg(!healthz_ok(&out), "%s", out.data);
	ck_assert_int_eq(
	    tu_http(d.addr, "GET", "/healthz", NULL, NULL, 0, NULL), -1);
	/* The CA's client certificate is served. */
	ck_assert_int_eq(
	    curl_run(&out, &fx, d.addr, "https", "/healthz", "alice"), 0);
	ck_assert_msg(healthz_ok(&out), "%s", out.data);
	/* The RPC layer sees the certificate's name (the bearer token is
	 * still required: this is unauthenticated). */
	ck_assert_int_eq(curl_run(&out, &fx, d.addr, "https",
	                          "/twirp/csirt.v1.DirectoryService/ListUsers",
	                          "alice"),
	                 0);
	ck_assert_msg(strstr(out.data, "\n401") != NULL, "%s", out.data);

	fx_daemon_stop(&d);
	log = read_log(&d);
	ck_assert_msg(strstr(log, "client_certs=required") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "peer=alice") != NULL, "%s", log);
	free(log);
	buf_free(&out);
	fx_free(&fx);
}
END_TEST

/* crypto_tls_new's refusals, each naming the file at fault. */
START_TEST(test_tls_context_refuses_bad_files)
{
	static const struct {
		const char *cert, *key, *ca, *expect, *names;
	} cases[] = {
	    {"nope.pem", "server.key", NULL, "tls_cert", "nope.pem"},
	    {"server.pem", "nope.key", NULL, "tls_key", "nope.key"},
	    {"server.pem", "alice.key", NULL, "does not match", "alice.key"},
	    {"alice.pem", "server.key", NULL, "does not match", "alice.pem"},
	    {"old.pem", "old.key", NULL, "expired on 2020-01-02", "old.pem"},
	    {"junk.pem", "server.key", NULL, "no PEM certificate", "junk.pem"},
	    {"server.key", "server.key", NULL, "no PEM certificate",
	     "server.key"},
	    {"server.pem", "server.pem", NULL, "no unencrypted PEM private key",
	     "server.pem"},
	    {"server.pem", "server.key", "junk.pem", "no PEM certificate",
	     "junk.pem"},
	    {"server.pem", "server.key", "nope.pem", "tls_client_ca",
	     "nope.pem"},
	};
	struct fx fx;

	fx_init(&fx);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct crypto_tls *tls = NULL;
		char *cert = fx_path(&fx, cases[i].cert);
		char *key = fx_path(&fx, cases[i].key);
		char *ca = cases[i].ca ? fx_path(&fx, cases[i].ca) : NULL;
		const char *msg;

		ck_assert_int_lt(crypto_tls_new(&tls, cert, key, ca), 0);
		ck_assert_ptr_null(tls);
		msg = csirt_error_msg();
		ck_assert_msg(strstr(msg, cases[i].expect) != NULL &&
		                  strstr(msg, cases[i].names) != NULL,
		              "case %zu: %s", i, msg);
		free(cert);
		free(key);
		free(ca);
	}
	/* And the good ones load. */
	{
		struct crypto_tls *tls = NULL;
		char *cert = fx_path(&fx, "server.pem");
		char *key = fx_path(&fx, "server.key");
		char *ca = fx_path(&fx, "ca.pem");
		char name[CRYPTO_TLS_NAME_MAX];

		ck_assert_int_eq(crypto_tls_new(&tls, cert, key, NULL), 0);
		ck_assert_int_eq(crypto_tls_mtls(tls), 0);
		crypto_tls_free(tls);
		ck_assert_int_eq(crypto_tls_new(&tls, cert, key, ca), 0);
		ck_assert_int_eq(crypto_tls_mtls(tls), 1);
		crypto_tls_free(tls);
		crypto_tls_free(NULL);
		ck_assert_int_eq(crypto_tls_peer_name(NULL, name, sizeof(name)),
		                 CSIRT_ENOTFOUND);
		free(cert);
		free(key);
		free(ca);
	}
	fx_free(&fx);
}
END_TEST

/* The TLS keys come as a set, and "" means off. */
START_TEST(test_tls_config_keys)
{
	static const struct {
		const char *cert, *key, *ca, *expect;
	} cases[] = {
	    {"/x.pem", "", "", "tls_key is not"},
	    {"", "/x.key", "", "tls_cert is not"},
	    {"", "", "/ca.pem", "needs tls_cert"},
	    {"", "", "", NULL},
	    {"/x.pem", "/x.key", "", NULL},
	    {"/x.pem", "/x.key", "/ca.pem", NULL},
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct config cfg;
		config_init(&cfg);
		ck_assert_int_eq(config_tls_enabled(&cfg), 0);
		ck_assert_int_eq(config_set(&cfg, "tls_cert", cases[i].cert),
		                 0);
		ck_assert_int_eq(config_set(&cfg, "tls_key", cases[i].key), 0);
		ck_assert_int_eq(config_set(&cfg, "tls_client_ca", cases[i].ca),
		                 0);
		if (cases[i].expect == NULL) {
			ck_assert_int_eq(config_validate(&cfg), 0);
			ck_assert_int_eq(config_tls_enabled(&cfg),
			                 cases[i].cert[0] != '\0');
		} else {
			ck_assert_int_eq(config_validate(&cfg), CSIRT_EINVAL);
			ck_assert_msg(
			    strstr(csirt_error_msg(), cases[i].expect) != NULL,
			    "case %zu: %s", i, csirt_error_msg());
		}
		config_free(&cfg);
	}
}
END_TEST

/* A bad pair stops `csirtd -n` and start-up alike, naming the file. */
START_TEST(test_tls_bad_pair_refuses_to_start)
{
	struct fx fx;
	struct tu_daemon d;
	struct buf out = BUF_INIT;
	const char *extra[] = {"--config", NULL, NULL};
	char *log;

	fx_init(&fx);
	fx_config(&fx, "server.pem", "server.key", "ca.pem");
	ck_assert_int_eq(fx_check_config(&fx, &out), 0);
	ck_assert_msg(strstr(out.data, "# TLS OK, client certificates "
	                               "required") != NULL,
	              "%s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "server.pem"));

	fx_config(&fx, "server.pem", "alice.key", NULL);
	ck_assert_int_eq(fx_check_config(&fx, &out), 3);
	ck_assert_msg(strstr(out.data, "alice.key does not match") != NULL,
	              "%s", out.data);
	fx_config(&fx, "old.pem", "old.key", NULL);
	ck_assert_int_eq(fx_check_config(&fx, &out), 3);
	ck_assert_msg(strstr(out.data, "old.pem") != NULL &&
	                  strstr(out.data, "expired") != NULL,
	              "%s", out.data);
	fx_config(&fx, "server.pem", NULL, NULL);
	ck_assert_int_eq(fx_check_config(&fx, &out), 3);
	ck_assert_msg(strstr(out.data, "tls_key is not") != NULL, "%s",
	              out.data);

	/* The daemon itself refuses, and says which file. */
	fx_config(&fx, "server.pem", "alice.key", NULL);
	{
		const char *init[] = {CSIRTD_BIN, "--data", fx.data, "init",
		                      NULL};
		int status = -1;
		ck_assert_int_eq(tu_run(NULL, &status, init), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	extra[1] = fx.conf;
	ck_assert_int_eq(tu_daemon_start(&d, fx.data, extra), -1);
	log = read_log(&d);
	ck_assert_msg(strstr(log, "alice.key does not match") != NULL, "%s",
	              log);
	free(log);
	buf_free(&out);
	fx_free(&fx);
}
END_TEST

/* POSTs JSON `body` to a Twirp path over HTTPS with client certificate
 * `cert` and, when given, a bearer token; returns the HTTP status. */
static int
curl_rpc(struct buf *out, const struct fx *fx, const char *addr,
         const char *path, const char *cert, const char *token,
         const char *body)
{
	char *ca = fx_path(fx, "ca.pem");
	struct buf url = BUF_INIT, crt = BUF_INIT, key = BUF_INIT,
	           auth = BUF_INIT;
	int status = -1;
	const char *nl;

	buf_printf(&url, "https://%s%s", addr, path);
	buf_printf(&crt, "%s/%s.pem", fx->dir, cert);
	buf_printf(&key, "%s/%s.key", fx->dir, cert);
	buf_printf(&auth, "Authorization: Bearer %s", token ? token : "");
	const char *argv[] = {"curl",       "-s",
	                      "--noproxy",  "*",
	                      "--max-time", "20",
	                      "-w",         "\n%{http_code}",
	                      "--cacert",   ca,
	                      "--cert",     crt.data,
	                      "--key",      key.data,
	                      "-H",         "Content-Type: application/json",
	                      "-H",         token ? auth.data : "X-No-Token: 1",
	                      "-d",         body,
	                      url.data,     NULL};
	buf_reset(out);
	ck_assert_int_eq(tu_run(out, &status, argv), 0);
	buf_put(out, "", 1);
	nl = strrchr(out->data, '\n');
	status = nl ? atoi(nl + 1) : -1;
	free(ca);
	buf_free(&url);
	buf_free(&crt);
	buf_free(&key);
	buf_free(&auth);
	return status;
}

START_TEST(test_tls_client_certificate_maps_to_user)
{
	struct fx fx;
	struct tu_daemon d;
	struct buf out = BUF_INIT;

	fx_init(&fx);
	fx_config(&fx, "server.pem", "server.key", "ca.pem");
	fx_daemon_start(&fx, &d);
	/* No user "alice" yet: the certificate alone authenticates nobody. */
	ck_assert_int_eq(curl_rpc(&out, &fx, d.addr,
	                          "/twirp/csirt.v1.DirectoryService/WhoAmI",
	                          "alice", NULL, "{}"),
	                 401);
	ck_assert_int_eq(curl_rpc(&out, &fx, d.addr,
	                          "/twirp/csirt.v1.DirectoryService/CreateUser",
	                          "alice", fx_admin_token,
	                          "{\"user\":{\"login\":\"alice\",\"role\":"
	                          "\"ROLE_AUDITOR\"}}"),
	                 200);
	/* Now the certificate is alice; a bearer token still wins. */
	ck_assert_int_eq(curl_rpc(&out, &fx, d.addr,
	                          "/twirp/csirt.v1.DirectoryService/WhoAmI",
	                          "alice", NULL, "{}"),
	                 200);
	ck_assert_msg(strstr(out.data, "\"login\":\"alice\"") != NULL, "%s",
	              out.data);
	ck_assert_msg(strstr(out.data, "ROLE_AUDITOR") != NULL, "%s", out.data);
	ck_assert_int_eq(curl_rpc(&out, &fx, d.addr,
	                          "/twirp/csirt.v1.DirectoryService/WhoAmI",
	                          "alice", fx_admin_token, "{}"),
	                 200);
	ck_assert_msg(strstr(out.data, "\"login\":\"admin\"") != NULL, "%s",
	              out.data);
	fx_daemon_stop(&d);
	buf_free(&out);
	fx_free(&fx);
}
END_TEST

Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *unit = tcase_create("unit");
	TCase *tc = tcase_create("integration");

	tcase_add_test(unit, test_tls_config_keys);
	tcase_set_timeout(unit, 60);
	tcase_add_test(unit, test_tls_context_refuses_bad_files);
	suite_add_tcase(s, unit);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tls_https_healthz_and_no_plain_http);
	tcase_add_test(
	    tc, test_tls_mtls_refuses_missing_and_untrusted_client_certs);
	tcase_add_test(tc, test_tls_bad_pair_refuses_to_start);
	tcase_add_test(tc, test_tls_client_certificate_maps_to_user);
	suite_add_tcase(s, tc);
	return s;
}
