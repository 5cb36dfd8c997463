/* DMARC evaluation: identifier alignment (RFC 7489 3.1), the policy that
 * applies (6.6.3, p= or sp=), pct= sampling (6.3) and postern's
 * disposition under dmarc.enforcement; see dmarc.h. */
#include "mailauth/dmarc.h"

#include <openssl/rand.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"

_Static_assert((int)DMARC_ENFORCE_NONE == (int)CONFIG_DMARC_NONE &&
               (int)DMARC_ENFORCE_RELAXED == (int)CONFIG_DMARC_RELAXED &&
               (int)DMARC_ENFORCE_STRICT == (int)CONFIG_DMARC_STRICT,
               "dmarc.enforcement: config and mailauth agree");

bool dmarc_aligned(const struct orgdomain *od, const char *from_domain, const char *other,
                   enum dmarc_align mode)
{
	char norm[ORGDOMAIN_NAME_MAX], org_a[ORGDOMAIN_NAME_MAX], org_b[ORGDOMAIN_NAME_MAX];

	if (other == NULL || orgdomain_normalize(other, norm, sizeof(norm)) < 0)
		return false;
	if (mode == DMARC_ALIGN_STRICT)
		return strcmp(from_domain, norm) == 0;
	/* relaxed: the same organisational domain */
	return orgdomain_find(od, from_domain, org_a, sizeof(org_a)) == 0 &&
	       orgdomain_find(od, norm, org_b, sizeof(org_b)) == 0 && strcmp(org_a, org_b) == 0;
}

static bool dkim_aligned(const struct orgdomain *od, const struct dmarc_found *f,
                         const struct dmarc_input *in)
{
	for (size_t i = 0; i < in->ndkim; i++) {
		const struct dmarc_dkim_sig *sig = &in->dkim[i];
		if (sig->pass && sig->whole_body &&
		    dmarc_aligned(od, f->from_domain, sig->d, f->rec.adkim))
			return true;
	}
	return false;
}

unsigned dmarc_sample_random(void *arg)
{
	unsigned char b[4];
	(void)arg;
	if (RAND_bytes(b, sizeof(b)) != 1)
		return 0;   /* no randomness: sample in, the domain's stated policy applies */
	unsigned v = (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3];
	return v % 100;
}

/* RFC 7489 6.6.3: the From domain's own record gives p=; one found at the
 * organisational domain gives sp= (when present) to its subdomains */
static enum dmarc_policy policy_for(const struct dmarc_found *f)
{
	if (f->at_org && f->rec.sp != DMARC_POLICY_UNSET)
		return f->rec.sp;
	return f->rec.p;
}

/* RFC 7489 6.3 pct: a message not sampled gets the next lighter policy */
static enum dmarc_policy sample_policy(enum dmarc_policy p, unsigned pct, dmarc_sample_fn *sample,
                                       void *arg, bool *sampled_out)
{
	*sampled_out = false;
	if (p == DMARC_POLICY_NONE || pct >= 100 || sample(arg) % 100 < pct)
		return p;
	*sampled_out = true;
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

static enum dmarc_disposition disposition_of(enum dmarc_result r, enum dmarc_policy applied,
                                             enum dmarc_enforcement e)
{
	if (e == DMARC_ENFORCE_NONE)
		return DMARC_DISP_ACCEPT;
	/* strict: the policy is unknown for now; try later rather than guess */
	if (r == DMARC_RESULT_TEMPERROR)
		return e == DMARC_ENFORCE_STRICT ? DMARC_DISP_DEFER : DMARC_DISP_ACCEPT;
	if (r != DMARC_RESULT_FAIL)
		return DMARC_DISP_ACCEPT;
	switch (applied) {
	case DMARC_POLICY_REJECT:
		return DMARC_DISP_REJECT;
	case DMARC_POLICY_QUARANTINE:
		return e == DMARC_ENFORCE_STRICT ? DMARC_DISP_REJECT : DMARC_DISP_JUNK;
	case DMARC_POLICY_NONE:
	case DMARC_POLICY_UNSET:
		break;
	}
	return DMARC_DISP_ACCEPT;
}

static enum dmarc_result result_without_record(enum dmarc_found_status st)
{
	switch (st) {
	case DMARC_FOUND_TEMPERROR: return DMARC_RESULT_TEMPERROR;
	case DMARC_FOUND_PERMERROR: return DMARC_RESULT_PERMERROR;
	case DMARC_FOUND_NONE:
	case DMARC_FOUND_RECORD: break;
	}
	return DMARC_RESULT_NONE;
}

void dmarc_evaluate(const struct orgdomain *od, const struct dmarc_found *found,
                    const struct dmarc_input *in, enum dmarc_enforcement enforcement,
                    dmarc_sample_fn *sample, void *sample_arg, struct dmarc_outcome *out)
{
	*out = (struct dmarc_outcome){ .policy = DMARC_POLICY_NONE, .applied = DMARC_POLICY_NONE };
	if (found->status != DMARC_FOUND_RECORD) {
		out->result = result_without_record(found->status);
	} else {
		const struct dmarc_record *rec = &found->rec;
		out->spf_aligned = in->spf == DMARC_SPF_PASS &&
		                   dmarc_aligned(od, found->from_domain, in->spf_domain, rec->aspf);
		out->dkim_aligned = dkim_aligned(od, found, in);
		out->policy = policy_for(found);
		out->result = out->spf_aligned || out->dkim_aligned ? DMARC_RESULT_PASS
		                                                    : DMARC_RESULT_FAIL;
		if (out->result == DMARC_RESULT_FAIL)
			out->applied = sample_policy(out->policy, rec->pct, sample, sample_arg,
			                             &out->sampled_out);
	}
	out->disposition = disposition_of(out->result, out->applied, enforcement);
}

void dmarc_disposition_reply(enum dmarc_disposition disp, int *code, const char **enh,
                             const char **text)
{
	if (disp == DMARC_DISP_DEFER) {
		*code = 451;
		*enh = "4.4.3";
		*text = "Cannot look up the sender domain's DMARC policy now, try again later";
		return;
	}
	*code = 550;
	*enh = "5.7.1";
	*text = "Message refused by the From domain's DMARC policy (RFC 7489)";
}

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = { "none", "pass", "fail", "temperror", "permerror" };
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "none";
}

const char *dmarc_disposition_name(enum dmarc_disposition d)
{
	static const char *const names[] = { "accept", "junk", "reject", "defer" };
	return (unsigned)d < sizeof(names) / sizeof(names[0]) ? names[d] : "accept";
}
