/*
 * classify.c - classification rules (別表第3, 第4.4/4.5) and the content
 * access table.  It owns the answer to "may this role read this level"
 * and nothing else: callers add division scoping and assignment.  It must
 * never default a missing level to a less protective one.
 */
#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "util.h"
#include "error.h"

#define R(x) (1u << CSIRT__V1__ROLE__ROLE_##x)
#define C(x) CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_##x

/*
 * Who may read content, by 機密性 (documented in README.md, "Classification
 * and content access"; tested per role and level in check_evidence.c):
 *
 *   level  reporter  security_manager  csirt_lead  investigator  auditor  admin
 *   低       yes         yes             yes         yes          yes      no
 *   中       no          yes             yes         yes          yes      no
 *   高       no          yes             yes         yes          no       no
 *
 * 要機密情報 must not be distributed beyond need (第4): the reporting
 * 所属長 sees 機密性低 content of their own division only; the auditor
 * reviews 機密性中 content but for 機密性高 sees the manifests, digests
 * and history, not the content; investigators only on cases they are
 * assigned to; the administrator never (separation of duties).
 */
static const struct {
	int level;
	unsigned roles;
} content_readers[] = {
    {C(LOW), R(REPORTER) | R(SECURITY_MANAGER) | R(CSIRT_LEAD) |
                 R(INVESTIGATOR) | R(AUDITOR)},
    {C(MEDIUM),
     R(SECURITY_MANAGER) | R(CSIRT_LEAD) | R(INVESTIGATOR) | R(AUDITOR)},
    {C(HIGH), R(SECURITY_MANAGER) | R(CSIRT_LEAD) | R(INVESTIGATOR)},
};

bool
classify_may_read(int role, int confidentiality)
{
	if (role <= 0 || role >= 32)
		return false;
	for (size_t i = 0;
	     i < sizeof(content_readers) / sizeof(content_readers[0]); i++)
		if (content_readers[i].level == confidentiality)
			return (content_readers[i].roles & (1u << role)) != 0;
	return false;
}

bool
classify_is_secret(const Csirt__V1__Classification *cl)
{
	/* Unset counts as secret: never weaker by omission. */
	return cl == NULL || cl->confidentiality != C(LOW);
}

static const char *
classify_level_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev =
	    protobuf_c_enum_descriptor_get_value(d, v);

	return ev != NULL ? ev->name : "UNSPECIFIED";
}

void
classify_fill(Csirt__V1__Classification *item,
              const Csirt__V1__Classification *base)
{
	if (base == NULL)
		return;
	if (item->confidentiality ==
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_UNSPECIFIED)
		item->confidentiality = base->confidentiality;
	if (item->integrity == CSIRT__V1__INTEGRITY__INTEGRITY_UNSPECIFIED)
		item->integrity = base->integrity;
	if (item->availability ==
	    CSIRT__V1__AVAILABILITY__AVAILABILITY_UNSPECIFIED)
		item->availability = base->availability;
	for (size_t i = 0; i < base->n_handling_restrictions; i++) {
		bool kept = false;
		for (size_t j = 0; j < item->n_handling_restrictions; j++)
			kept =
			    kept || strcmp(item->handling_restrictions[j],
			                   base->handling_restrictions[i]) == 0;
		if (kept)
			continue;
		item->handling_restrictions =
		    util_xrealloc(item->handling_restrictions,
		                  (item->n_handling_restrictions + 1) *
		                      sizeof(*item->handling_restrictions));
		item->handling_restrictions[item->n_handling_restrictions++] =
		    util_strdup(base->handling_restrictions[i]);
	}
}

int
classify_check_inherits(const char *field,
                        const Csirt__V1__Classification *item,
                        const Csirt__V1__Classification *base)
{
	if (base == NULL)
		return 0;
	if (item == NULL)
		return csirt_error_set(CSIRT_EINVAL, "%s: required", field);
	if ((int)item->confidentiality < (int)base->confidentiality)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "%s.confidentiality: %s is below the case's %s (第4.4: "
		    "derived information inherits its source's "
		    "classification)",
		    field,
		    classify_level_name(&csirt__v1__confidentiality__descriptor,
		                        (int)item->confidentiality),
		    classify_level_name(&csirt__v1__confidentiality__descriptor,
		                        (int)base->confidentiality));
	if ((int)item->integrity < (int)base->integrity)
		return csirt_error_set(
		    CSIRT_EINVAL, "%s.integrity: %s is below the case's %s",
		    field,
		    classify_level_name(&csirt__v1__integrity__descriptor,
		                        (int)item->integrity),
		    classify_level_name(&csirt__v1__integrity__descriptor,
		                        (int)base->integrity));
	if ((int)item->availability < (int)base->availability)
		return csirt_error_set(
		    CSIRT_EINVAL, "%s.availability: %s is below the case's %s",
		    field,
		    classify_level_name(&csirt__v1__availability__descriptor,
		                        (int)item->availability),
		    classify_level_name(&csirt__v1__availability__descriptor,
		                        (int)base->availability));
	for (size_t i = 0; i < base->n_handling_restrictions; i++) {
		bool kept = false;
		for (size_t j = 0; j < item->n_handling_restrictions; j++)
			kept =
			    kept || strcmp(item->handling_restrictions[j],
			                   base->handling_restrictions[i]) == 0;
		if (!kept)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "%s.handling_restrictions: the case's \"%.200s\" "
			    "must be kept (第4.4)",
			    field, base->handling_restrictions[i]);
	}
	return 0;
}
