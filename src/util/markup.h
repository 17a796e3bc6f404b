/* Text written into HTML or XML: the one escaper the fleet page and the VM
 * definitions share, so both treat the reserved and the control characters
 * alike. */
#ifndef P2V_UTIL_MARKUP_H
#define P2V_UTIL_MARKUP_H

#include <stdio.h>

/* The character references of HTML and XML for the apostrophe: HTML 4 has no
 * &apos;, so a page says &#39;. */
#define MARKUP_APOS_HTML "&#39;"
#define MARKUP_APOS_XML "&apos;"

/* s (NULL writes nothing) as text or an attribute value: & < > " and ' as
 * character references (the apostrophe as apos), control characters (below
 * 0x20, and DEL) as spaces, since they would only garble what is shown and
 * XML 1.0 forbids most of them. */
void markup_put(FILE *out, const char *s, const char *apos);

#endif
