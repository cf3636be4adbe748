/*
 * clock.c - the system clock behind struct clock.  Nothing else here: the
 * point of the indirection is that no domain code reads the time itself.
 */
#include <stddef.h>

#include "clock.h"
#include "util.h"

static int64_t
clock_system_now_ms(void *arg)
{
	(void)arg;
	return util_time_now_ms();
}

const struct clock clock_system = {clock_system_now_ms, NULL};

int64_t
clock_now_ms(const struct clock *c)
{
	if (c == NULL)
		c = &clock_system;
	return c->now_ms(c->arg);
}
