/* country.h — ISO 3166-1 alpha-2 codes, their numbers (rempart_abi.h) and
 * sets; "EU" expands to the 27 member states. */
#ifndef REMPART_COUNTRY_H
#define REMPART_COUNTRY_H
#include <stdbool.h>
#include <stdint.h>
#include "rempart_abi.h"

int cc_parse(const char *s, uint16_t *out);	/* assigned ISO code, any case; -EINVAL */
void cc_format(uint16_t cc, char out[3]);	/* "FR"; "--" for RP_CC_NONE */
/* Parse one list item ("FR", "eu") into the set; -EINVAL if not a code. */
int ccset_add_item(struct rp_ccset *s, const char *item);
void ccset_add(struct rp_ccset *s, uint16_t cc);
bool ccset_empty(const struct rp_ccset *s);
#endif
