/*
 * benchlib.h - what the load tools (csirt-bench, crash-test) share: a
 * daemon started on a fresh data directory, blocking Twirp calls for
 * setup, a division with a 所属長 and a 情報セキュリティ管理者, and one epoll
 * loop keeping a request in flight on each of N keep-alive connections.
 *
 * Tools only: errors during setup end the process with a message (bl_die).
 */
#ifndef CSIRT_BENCHLIB_H
#define CSIRT_BENCHLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"
#include "csirt/v1/service.pb-c.h"
#include "util.h"

/* A fresh message of type csirt.v1.<t>; caller frees with codec_free(). */
#define BL_NEW(t) ((void *)codec_new(&csirt__v1__##t##__descriptor))

#define BL_CASE(m) "/twirp/csirt.v1.CaseService/" m
#define BL_DIR(m) "/twirp/csirt.v1.DirectoryService/" m

/* Prints "<prog>: <message>" and exits 1. */
void bl_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* The program name bl_die() prints (default "bench"). */
extern const char *bl_prog;

int64_t bl_now_us(void);

/* Appends a whole Twirp protobuf request (HTTP/1.1, keep-alive) to `out`. */
void bl_request(struct buf *out, const char *addr, const char *path,
                const char *token, const ProtobufCMessage *msg);

/* One request on a fresh connection.  Returns the HTTP status; a 200
 * body is decoded into *resp when rdesc is given; the body is copied
 * to `body` when given. */
int bl_roundtrip(const char *addr, const struct buf *request,
                 const ProtobufCMessageDescriptor *rdesc,
                 ProtobufCMessage **resp, struct buf *body);

/* bl_request + bl_roundtrip that must answer 200 (else bl_die). */
void bl_call(const char *addr, const char *token, const char *path,
             const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **resp);

/* A spawned server. */
struct bl_child {
	pid_t pid;
	char addr[128]; /* from its "listening on http://ADDR" line */
};

/* Runs argv (NULL-terminated) with stderr appended to `log` (NULL:
 * inherited) and waits up to 120 s for "listening on http://ADDR" (a
 * restart after a crash may repack the ledger first). */
void bl_child_start(struct bl_child *c, const char *const argv[],
                    const char *log);
/* Sends `sig` and reaps it.  A no-op when not running. */
void bl_child_stop(struct bl_child *c, int sig);

/* `csirtd --data DATA init` (stderr to `log`); returns the administrator
 * token (caller frees). */
char *bl_csirtd_init(const char *csirtd, const char *data, const char *log);
/* `csirtd --listen 127.0.0.1:0 --data DATA run`, stderr to `log`. */
void bl_csirtd_start(struct bl_child *c, const char *csirtd, const char *data,
                     const char *log);

/* A division of its own (so runs against one daemon do not collide), its
 * 所属長 and a 情報セキュリティ管理者, with their tokens. */
struct bl_fixture {
	char division[32];
	char rep[96], sm[96];
};
void bl_fixture_setup(struct bl_fixture *fx, const char *addr,
                      const char *admin);
/* A 機密性低 機器の紛失事案 report titled `title`, recognised ten minutes
 * ago; caller frees with codec_free(). */
Csirt__V1__ReportIncidentRequest *bl_report_new(const char *title);
/* Files it as the fixture's 所属長; returns the case id (caller frees). */
char *bl_report(const struct bl_fixture *fx, const char *addr,
                const char *title);
/* A 機密性低 note; caller frees with codec_free(). */
Csirt__V1__AddNoteRequest *bl_note_new(const char *case_id, const char *text);

/*
 * The load loop: one request in flight per connection, closed loop.
 * next() sets c->req to the request to send (borrowed until the reply);
 * done() gets each complete response (status -1: not HTTP).  A connection
 * the server closes (or any socket error) is reopened: `lost` is then
 * called for the request in flight, whose fate is unknown.
 */
struct bl_conn {
	int fd;
	int index;
	const struct buf *req;
	size_t sent;
	bool want_out; /* EPOLLOUT armed: the request did not fit at once */
	struct buf in;
	int64_t t0_us;
	void *user;
};

struct bl_load {
	const char *addr;
	struct bl_conn *conns;
	int nconn;
	void (*next)(struct bl_conn *c, void *arg);
	void (*done)(struct bl_conn *c, int status, const char *body,
	             size_t len, int64_t now_us, void *arg);
	void (*lost)(struct bl_conn *c, void *arg);
	void *arg;
	uint64_t reconnects;
	/* Optional: called once the clock passes tick_at (bl_now_us; 0:
	 * never); it sets tick_at again for the next call. */
	void (*tick)(struct bl_load *l, int64_t now_us);
	int64_t tick_at;
};

/* Opens the connections (fd -1 beforehand) and runs until `until_us`
 * (bl_now_us clock).  Returns with every connection closed; a request
 * still in flight then is neither done nor lost: the caller decides. */
void bl_load_run(struct bl_load *l, int64_t until_us);

/* rm -rf of a directory the tool created (mkdtemp). */
void bl_rmrf(const char *dir);

#endif
