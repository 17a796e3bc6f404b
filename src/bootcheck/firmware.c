/* Which firmware an image asks for, and the names of the options. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bootcheck/bootcheck.h"

#define MBR_TYPE_ESP 0xEF

const char *bootcheck_fw_name(enum bootcheck_fw fw)
{
    switch (fw) {
    case BOOTCHECK_FW_BIOS: return "bios";
    case BOOTCHECK_FW_UEFI: return "uefi";
    default: return "auto";
    }
}

const char *bootcheck_fw_firmware(enum bootcheck_fw fw)
{
    return fw == BOOTCHECK_FW_UEFI ? "OVMF" : "SeaBIOS";
}

const char *bootcheck_bus_name(enum bootcheck_bus bus)
{
    switch (bus) {
    case BOOTCHECK_BUS_VIRTIO_BLK: return "virtio-blk";
    case BOOTCHECK_BUS_IDE: return "ide";
    default: return "sata";
    }
}

const char *bootcheck_accel_name(enum bootcheck_accel a)
{
    switch (a) {
    case BOOTCHECK_ACCEL_KVM: return "kvm";
    case BOOTCHECK_ACCEL_TCG: return "tcg";
    default: return "auto";
    }
}

int bootcheck_fw_parse(const char *s, enum bootcheck_fw *out)
{
    static const enum bootcheck_fw all[] = { BOOTCHECK_FW_AUTO, BOOTCHECK_FW_BIOS, BOOTCHECK_FW_UEFI };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, bootcheck_fw_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -EINVAL;
}

int bootcheck_bus_parse(const char *s, enum bootcheck_bus *out)
{
    static const enum bootcheck_bus all[] = { BOOTCHECK_BUS_SATA, BOOTCHECK_BUS_VIRTIO_BLK,
                                              BOOTCHECK_BUS_IDE };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, bootcheck_bus_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -EINVAL;
}

int bootcheck_accel_parse(const char *s, enum bootcheck_accel *out)
{
    static const enum bootcheck_accel all[] = { BOOTCHECK_ACCEL_AUTO, BOOTCHECK_ACCEL_KVM,
                                                BOOTCHECK_ACCEL_TCG };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, bootcheck_accel_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -EINVAL;
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
