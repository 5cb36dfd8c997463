/* ARC (RFC 8617) header fields: which field of a set a header field is, its
 * instance, and the two signatures read with the DKIM-Signature parser
 * (dkim_sig_parse_kind). arc_verify.h checks a chain, arc_seal.h adds a set. */
#ifndef POSTERN_ARC_H
#define POSTERN_ARC_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/dkim_sig.h"

/* RFC 8617 4.2.1: i= is 1 to 50, and a chain has at most 50 sets */
#define ARC_MAX_INSTANCE 50

/* Chain validation status (RFC 8617 4.4), the cv= of a seal. */
enum arc_cv {
	ARC_CV_NONE = 0,
	ARC_CV_PASS,
	ARC_CV_FAIL,
};

/* "none", "pass", "fail" */
const char *arc_cv_name(enum arc_cv cv);

enum arc_field {
	ARC_FIELD_OTHER = 0,    /* not an ARC header field */
	ARC_FIELD_AAR,          /* ARC-Authentication-Results */
	ARC_FIELD_AMS,          /* ARC-Message-Signature */
	ARC_FIELD_SEAL,         /* ARC-Seal */
};

struct mail_field;

/* Which ARC field f is, by its name (case-insensitive). */
enum arc_field arc_field_kind(const struct mail_field *f);

/* The instance (i=) of ARC field f of that kind, read without parsing the
 * rest of a signature. 0, or -1 with err. */
int arc_field_instance(const struct mail_field *f, enum arc_field kind, unsigned *instance,
                       char *err, size_t errlen);

/* An ARC-Authentication-Results value (RFC 8617 4.1.1): "i=" instance ";"
 * and an Authentication-Results payload (authserv-id; results), which must
 * not be empty. *payload points into value, outer white space removed.
 * 0, or -1 with err. */
int arc_aar_parse(const char *value, size_t len, unsigned *instance, const char **payload,
                  size_t *payload_len, char *err, size_t errlen);

/* An ARC-Message-Signature value (RFC 8617 4.1.2): a DKIM signature whose
 * i= is the instance. 0, or -1 with err. */
struct arc_ams_sig {
	unsigned instance;
	struct dkim_sig sig;
};
int arc_ams_parse(struct arc_ams_sig *ams, const char *value, size_t len, char *err,
                  size_t errlen);

/* An ARC-Seal value (RFC 8617 4.1.3): i=, cv=, a=, b=, d=, s=, t=; no h=.
 * 0, or -1 with err. */
struct arc_seal_sig {
	unsigned instance;
	enum arc_cv cv;
	struct dkim_sig sig;
};
int arc_seal_parse(struct arc_seal_sig *as, const char *value, size_t len, char *err,
                   size_t errlen);

#endif
