/* Internals shared by the drivers_*.c files. */
#ifndef P2V_WINDOWS_DRIVERS_IMPL_H
#define P2V_WINDOWS_DRIVERS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "windows/drivers.h"

/* a + b + c in a new string, NULL on ENOMEM. */
char *drv_strcat3(const char *a, const char *b, const char *c);
/* A malloc'd string printed like printf, NULL on ENOMEM. */
char *drv_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An OS directory name of virtio-win ("w10", "2k19") and the Windows it is for. */
typedef struct drv_os_dir {
    const char *name;
    unsigned major, minor, build; /* the first build of that release */
    bool server;
    const char *product;          /* "Windows 10", "Windows Server 2019" */
} drv_os_dir;

/* The entry whose name is s (case-insensitive), or NULL. */
const drv_os_dir *drv_os_dir_find(const char *s);
/* Ordering of releases: <0, 0, >0 as a is older, the same, newer than b. */
int drv_os_cmp(unsigned amaj, unsigned amin, unsigned abuild, unsigned bmaj, unsigned bmin,
               unsigned bbuild);
/* The arch a path component names ("amd64", "x86", "i386"), or -1. */
int drv_arch_token(const char *s);

#endif
