/*
 * clock.h - an injectable wall clock.  The writer stamps events and the
 * deadline module decides what is due through a `struct clock`, so that
 * tests can set the time instead of sleeping.  clock_system reads the real
 * clock; a test clock is any struct with its own now_ms and arg.
 */
#ifndef CSIRT_CLOCK_H
#define CSIRT_CLOCK_H

#include <stdint.h>

struct clock {
	/* Unix time in milliseconds (UTC).  Must be callable from any
	 * thread that uses the clock. */
	int64_t (*now_ms)(void *arg);
	void *arg;
};

/* The real clock (util_time_now_ms()). */
extern const struct clock clock_system;

/* c->now_ms(c->arg); NULL is clock_system. */
int64_t clock_now_ms(const struct clock *c);

#endif
