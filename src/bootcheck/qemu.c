/* The qemu-system-x86_64 command line of a boot check. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcheck/bootcheck.h"

#define ARGV_MAX 64

typedef struct argv_builder {
    char *v[ARGV_MAX + 1];
    size_t n;
    bool failed;
} argv_builder;

static void add(argv_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(argv_builder *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    if (b->failed)
        return;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s || b->n >= ARGV_MAX) {
        free(s);
        b->failed = true;
        return;
    }
    b->v[b->n++] = s;
}

/* qemu's option syntax splits on commas; a literal comma is written twice. */
static char *opt_escape(const char *s)
{
    size_t n = strlen(s), commas = 0;
    for (size_t i = 0; i < n; i++)
        commas += s[i] == ',';
    char *out = malloc(n + commas + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        *o++ = s[i];
        if (s[i] == ',')
            *o++ = ',';
    }
    *o = '\0';
    return out;
}

/* add(b, "<prefix><escaped value><suffix>") */
static void add_path(argv_builder *b, const char *prefix, const char *path, const char *suffix)
{
    char *e = opt_escape(path);
    if (!e) {
        b->failed = true;
        return;
    }
    add(b, "%s%s%s", prefix, e, suffix);
    free(e);
}

static void add_disk(argv_builder *b, const bootcheck_vm *vm)
{
    char tail[64];
    snprintf(tail, sizeof tail, ",format=%s,if=none,id=p2vdisk", vm->format);
    add(b, "-drive");
    add_path(b, "file=", vm->image, tail);
    add(b, "-device");
    switch (vm->bus) {
    case BOOTCHECK_BUS_VIRTIO_BLK:
        add(b, "virtio-blk-pci,drive=p2vdisk,bootindex=0");
        break;
    case BOOTCHECK_BUS_IDE: /* q35 has no PATA controller of its own */
        add(b, "piix3-ide,id=pata");
        add(b, "-device");
        add(b, "ide-hd,drive=p2vdisk,bus=pata.0,bootindex=0");
        break;
    default: /* q35's built-in AHCI controller */
        add(b, "ide-hd,drive=p2vdisk,bus=ide.0,bootindex=0");
        break;
    }
}

static void add_firmware(argv_builder *b, const bootcheck_vm *vm)
{
    if (vm->fw != BOOTCHECK_FW_UEFI)
        return; /* SeaBIOS is q35's default */
    add(b, "-drive");
    add_path(b, "if=pflash,format=raw,unit=0,readonly=on,file=", vm->ovmf_code, "");
    add(b, "-drive");
    add_path(b, "if=pflash,format=raw,unit=1,file=", vm->ovmf_vars, "");
}

static int check_vm(const bootcheck_vm *vm, p2v_err *err)
{
    if (!vm->image || !vm->format || !vm->qmp_socket || !vm->serial_log)
        return p2v_errf(err, -EINVAL, "boot-check: qemu command line without image, format, "
                                      "QMP socket or serial log");
    if (vm->fw != BOOTCHECK_FW_BIOS && vm->fw != BOOTCHECK_FW_UEFI)
        return p2v_errf(err, -EINVAL, "boot-check: firmware not decided");
    if (vm->fw == BOOTCHECK_FW_UEFI && (!vm->ovmf_code || !vm->ovmf_vars))
        return p2v_errf(err, -EINVAL, "boot-check: UEFI without OVMF code and variable store");
    if (vm->accel != BOOTCHECK_ACCEL_KVM && vm->accel != BOOTCHECK_ACCEL_TCG)
        return p2v_errf(err, -EINVAL, "boot-check: accelerator not decided");
    if (vm->memory_mib < 16)
        return p2v_errf(err, -EINVAL, "boot-check: %u MiB of memory is too little", vm->memory_mib);
    return 0;
}

int bootcheck_qemu_argv(const bootcheck_vm *vm, char ***argv_out, p2v_err *err)
{
    argv_builder b = { .n = 0 };
    int rc;
    if ((rc = check_vm(vm, err)) < 0)
        return rc;
    bool kvm = vm->accel == BOOTCHECK_ACCEL_KVM;
    add(&b, "%s", vm->qemu ? vm->qemu : BOOTCHECK_QEMU);
    add(&b, "-machine");
    add(&b, "q35");
    add(&b, "-accel");
    add(&b, "%s", kvm ? "kvm" : "tcg");
    add(&b, "-cpu");
    add(&b, "max");
    add(&b, "-smp");
    add(&b, "%d", kvm ? 2 : 1); /* TCG: one host core is all this costs */
    add(&b, "-m");
    add(&b, "%u", vm->memory_mib);
    add(&b, "-nodefaults");
    add(&b, "-no-reboot"); /* a reset (a stop screen's restart) ends the check */
    add(&b, "-snapshot");  /* guest writes go to a temporary overlay */
    add(&b, "-display");
    add(&b, "none");
    add(&b, "-vga");
    add(&b, "std");
    add_firmware(&b, vm);
    add_disk(&b, vm);
    add(&b, "-chardev");
    add_path(&b, "file,id=p2vserial,path=", vm->serial_log, "");
    add(&b, "-serial");
    add(&b, "chardev:p2vserial");
    add(&b, "-chardev");
    add_path(&b, "socket,id=p2vqmp,server=on,wait=off,path=", vm->qmp_socket, "");
    add(&b, "-mon");
    add(&b, "chardev=p2vqmp,mode=control");
    if (b.failed) {
        for (size_t i = 0; i < b.n; i++)
            free(b.v[i]);
        return p2v_errf(err, -ENOMEM, "boot-check: out of memory for the qemu command line");
    }
    char **v = calloc(b.n + 1, sizeof *v);
    if (!v) {
        for (size_t i = 0; i < b.n; i++)
            free(b.v[i]);
        return p2v_errf(err, -ENOMEM, "boot-check: out of memory for the qemu command line");
    }
    memcpy(v, b.v, b.n * sizeof *v);
    *argv_out = v;
    return 0;
}

void bootcheck_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}
