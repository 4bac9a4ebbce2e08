// SPDX-License-Identifier: GPL-2.0
/* country.c — ISO 3166-1 alpha-2 codes; see country.h. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include "config/country.h"

/* Officially assigned ISO 3166-1 alpha-2 codes (249). */
static const char iso_codes[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI "
	"BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
	"CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK "
	"FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
	"HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
	"KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
	"ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
	"NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
	"TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
	"VN VU WF WS YE YT ZA ZM ZW";

/* The 27 member states of the European Union. */
static const char eu_codes[] =
	"AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE";

static int two_letters(const char *s, uint16_t *out)
{
	if (!isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]) || s[2])
		return -EINVAL;
	*out = (toupper((unsigned char)s[0]) - 'A') * 26 + (toupper((unsigned char)s[1]) - 'A');
	return 0;
}

static bool in_list(const char *list, uint16_t cc)
{
	char code[3];

	cc_format(cc, code);
	/* codes are 3 characters apart; the last has no space after it */
	for (const char *p = list; p < list + strlen(list); p += 3)
		if (p[0] == code[0] && p[1] == code[1])
			return true;
	return false;
}

int cc_parse(const char *s, uint16_t *out)
{
	uint16_t cc;

	if (two_letters(s, &cc) || !in_list(iso_codes, cc))
		return -EINVAL;
	*out = cc;
	return 0;
}

void cc_format(uint16_t cc, char out[3])
{
	if (cc >= RP_CC_COUNT) {
		strcpy(out, "--");
		return;
	}
	out[0] = 'A' + cc / 26;
	out[1] = 'A' + cc % 26;
	out[2] = '\0';
}

void ccset_add(struct rp_ccset *s, uint16_t cc)
{
	if (cc < RP_CC_COUNT)
		s->bits[cc / 64] |= 1ULL << (cc % 64);
}

int ccset_add_item(struct rp_ccset *s, const char *item)
{
	uint16_t cc;

	if (!strcasecmp(item, "EU")) {
		for (const char *p = eu_codes; p < eu_codes + strlen(eu_codes); p += 3) {
			char code[3] = { p[0], p[1], 0 };

			two_letters(code, &cc);
			ccset_add(s, cc);
		}
		return 0;
	}
	if (cc_parse(item, &cc))
		return -EINVAL;
	ccset_add(s, cc);
	return 0;
}

bool ccset_empty(const struct rp_ccset *s)
{
	for (int i = 0; i < RP_CC_WORDS; i++)
		if (s->bits[i])
			return false;
	return true;
}
