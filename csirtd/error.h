/*
 * error.h - result codes and the per-thread error message.
 *
 * Every fallible function returns 0 on success or a negative code: -1 for an
 * unexpected failure, or one of the named expected codes below.  The failure
 * site sets a message once with csirt_error_set(); callers up the stack pass
 * the code through and never overwrite the message (libgit2's giterr habit).
 * The wire layer turns code + message into a Twirp error.
 */
#ifndef CSIRT_ERROR_H
#define CSIRT_ERROR_H

enum {
	CSIRT_OK = 0,
	CSIRT_EFAIL = -1,            /* internal error */
	CSIRT_EINVAL = -2,           /* bad input (invalid_argument) */
	CSIRT_ENOTFOUND = -3,        /* not_found */
	CSIRT_ECONFLICT = -4,        /* already_exists / version clash */
	CSIRT_EDENIED = -5,          /* permission_denied */
	CSIRT_ESTATE = -6,           /* failed_precondition (lifecycle) */
	CSIRT_EBUSY = -7,            /* resource_exhausted (queue full) */
	CSIRT_EUNAVAILABLE = -8,     /* unavailable (I/O failure, shutdown) */
	CSIRT_EUNAUTHENTICATED = -9, /* unauthenticated */
	CSIRT_ETAMPER = -10,         /* ledger/index inconsistency */
	CSIRT_EUNIMPLEMENTED = -11,  /* unimplemented */
};

/* Sets this thread's message; returns `code` so callers can
 * `return csirt_error_set(CSIRT_EINVAL, "...")`. */
int csirt_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with context ("opening ledger: ...").
 * Returns `code`. */
int csirt_error_wrap(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Borrowed; valid until the next csirt_error_* call on this thread.
 * Never NULL. */
const char *csirt_error_msg(void);

void csirt_error_clear(void);

/* Short name of a code, e.g. "not_found" (the Twirp code name). */
const char *csirt_error_code_name(int code);

#endif
