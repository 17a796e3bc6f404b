#include "util/markup.h"

static const char *reference(char c, const char *apos)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return apos;
    default: return NULL;
    }
}

void markup_put(FILE *out, const char *s, const char *apos)
{
    for (; s && *s; s++) {
        const char *ref = reference(*s, apos);
        unsigned char c = (unsigned char)*s;
        if (ref)
            fputs(ref, out);
        else
            fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
    }
}
