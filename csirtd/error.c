/*
 * error.c - the per-thread error message behind error.h.
 *
 * Each thread (loop, writer) has its own buffer, so a message set in the
 * writer never races with the loop.  Messages are bounded; an over-long one
 * is truncated, never overflowed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define ERROR_MAX 1024

static _Thread_local char error_buf[ERROR_MAX];

int
csirt_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
	va_end(ap);
	return code;
}

int
csirt_error_wrap(int code, const char *fmt, ...)
{
	char prefix[ERROR_MAX], old[ERROR_MAX];
	va_list ap;

	memcpy(old, error_buf, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* Truncation is acceptable: the message is bounded by design. */
	if (snprintf(error_buf, sizeof(error_buf), old[0] ? "%s: %s" : "%s%s",
	             prefix, old) < 0)
		error_buf[0] = '\0';
	return code;
}

const char *
csirt_error_msg(void)
{
	return error_buf[0] != '\0' ? error_buf : "unknown error";
}

void
csirt_error_clear(void)
{
	error_buf[0] = '\0';
}

const char *
csirt_error_code_name(int code)
{
	switch (code) {
	case CSIRT_OK:
		return "ok";
	case CSIRT_EINVAL:
		return "invalid_argument";
	case CSIRT_ENOTFOUND:
		return "not_found";
	case CSIRT_ECONFLICT:
		return "already_exists";
	case CSIRT_EDENIED:
		return "permission_denied";
	case CSIRT_ESTATE:
		return "failed_precondition";
	case CSIRT_EBUSY:
		return "resource_exhausted";
	case CSIRT_EUNAVAILABLE:
		return "unavailable";
	case CSIRT_EUNAUTHENTICATED:
		return "unauthenticated";
	case CSIRT_ETAMPER:
		return "data_loss";
	case CSIRT_EUNIMPLEMENTED:
		return "unimplemented";
	default:
		return "internal";
	}
}
