#include <stdarg.h>
#include <stdio.h>

#include "cli/commands.h"

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
    fputs("p2v: ", stderr);
    if (kind)
        fputs(kind, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static char first_error[1024];

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(NULL, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    if (!first_error[0])
        vsnprintf(first_error, sizeof first_error, fmt, ap);
    va_end(ap);
}

const char *cli_first_error(void)
{
    return first_error;
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void cli_notice(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("notice: ", fmt, ap);
    va_end(ap);
}
