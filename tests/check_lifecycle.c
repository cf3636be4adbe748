#include <check.h>

#include "suites.h"

/* Placeholder; the real suite lands with the module. */
Suite *
lifecycle_suite(void)
{
	return suite_create("lifecycle");
}
