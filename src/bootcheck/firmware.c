/* Which firmware an image asks for, and the names of the options. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bootcheck/bootcheck.h"

#define MBR_TYPE_ESP 0xEF

/* Each option's names by the value of its enum; the default, 0, also
 * names a value out of range. */
#define NNAMES 3
static const char *const fw_names[NNAMES] = {
    [BOOTCHECK_FW_AUTO] = "auto", [BOOTCHECK_FW_BIOS] = "bios", [BOOTCHECK_FW_UEFI] = "uefi" };
static const char *const bus_names[NNAMES] = {
    [BOOTCHECK_BUS_SATA] = "sata", [BOOTCHECK_BUS_VIRTIO_BLK] = "virtio-blk",
    [BOOTCHECK_BUS_IDE] = "ide" };
static const char *const accel_names[NNAMES] = {
    [BOOTCHECK_ACCEL_AUTO] = "auto", [BOOTCHECK_ACCEL_KVM] = "kvm", [BOOTCHECK_ACCEL_TCG] = "tcg" };

static const char *name_of(const char *const names[NNAMES], unsigned v)
{
    return names[v < NNAMES ? v : 0];
}

/* The value s names, or -EINVAL. */
static int value_of(const char *const names[NNAMES], const char *s)
{
    for (int i = 0; i < NNAMES; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -EINVAL;
}

const char *bootcheck_fw_name(enum bootcheck_fw fw) { return name_of(fw_names, fw); }
const char *bootcheck_bus_name(enum bootcheck_bus bus) { return name_of(bus_names, bus); }
const char *bootcheck_accel_name(enum bootcheck_accel a) { return name_of(accel_names, a); }

const char *bootcheck_fw_firmware(enum bootcheck_fw fw)
{
    return fw == BOOTCHECK_FW_UEFI ? "OVMF" : "SeaBIOS";
}

int bootcheck_fw_parse(const char *s, enum bootcheck_fw *out)
{
    int v = value_of(fw_names, s);
    if (v >= 0)
        *out = (enum bootcheck_fw)v;
    return v < 0 ? v : 0;
}

int bootcheck_bus_parse(const char *s, enum bootcheck_bus *out)
{
    int v = value_of(bus_names, s);
    if (v >= 0)
        *out = (enum bootcheck_bus)v;
    return v < 0 ? v : 0;
}

int bootcheck_accel_parse(const char *s, enum bootcheck_accel *out)
{
    int v = value_of(accel_names, s);
    if (v >= 0)
        *out = (enum bootcheck_accel)v;
    return v < 0 ? v : 0;
}

static const ptable_part *find_active(const ptable *t)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].bootable && !t->parts[i].logical)
            return &t->parts[i];
    return NULL;
}

static const ptable_part *find_esp(const ptable *t)
{
    p2v_guid esp;
    if (guid_parse(GPT_TYPE_ESP, &esp) < 0)
        return NULL;
    for (size_t i = 0; i < t->nparts; i++) {
        const ptable_part *p = &t->parts[i];
        if (t->type == PTABLE_GPT ? guid_equal(&p->type_guid, &esp) : p->mbr_type == MBR_TYPE_ESP)
            return p;
    }
    return NULL;
}

enum bootcheck_fw bootcheck_choose_firmware(const ptable *t, char *why, size_t why_len)
{
    const ptable_part *p;
    if (!t || t->type == PTABLE_NONE) {
        snprintf(why, why_len, "no partition table: BIOS runs whatever boot code LBA 0 holds");
        return BOOTCHECK_FW_BIOS;
    }
    if (t->type == PTABLE_MBR) {
        if ((p = find_active(t)) != NULL) {
            snprintf(why, why_len, "MBR with active partition %u", p->number);
            return BOOTCHECK_FW_BIOS;
        }
        if ((p = find_esp(t)) != NULL) {
            snprintf(why, why_len, "MBR without an active partition, EFI system partition %u",
                     p->number);
            return BOOTCHECK_FW_UEFI;
        }
        snprintf(why, why_len, "MBR without an active partition or ESP: BIOS runs its boot code");
        return BOOTCHECK_FW_BIOS;
    }
    if ((p = find_esp(t)) != NULL) {
        snprintf(why, why_len, "GPT with EFI system partition %u", p->number);
        return BOOTCHECK_FW_UEFI;
    }
    snprintf(why, why_len, "GPT without an EFI system partition: BIOS runs the protective MBR's code");
    return BOOTCHECK_FW_BIOS;
}
