/* Partition type names and the MBR<->GPT type map (docs/type-map.md). */
#include <errno.h>
#include <string.h>

#include "ptable/ptable.h"

#include "fs/kind.h"

struct mbr_type_name {
    uint8_t type;
    const char *name;
};

static const struct mbr_type_name mbr_names[] = {
    { 0x00, "Empty" },
    { 0x01, "FAT12" },
    { 0x04, "FAT16 <32M" },
    { 0x05, "Extended" },
    { 0x06, "FAT16" },
    { 0x07, "NTFS/exFAT/HPFS" },
    { 0x0b, "FAT32 (CHS)" },
    { 0x0c, "FAT32 (LBA)" },
    { 0x0e, "FAT16 (LBA)" },
    { 0x0f, "Extended (LBA)" },
    { 0x11, "Hidden FAT12" },
    { 0x12, "Compaq/OEM diagnostics" },
    { 0x14, "Hidden FAT16 <32M" },
    { 0x16, "Hidden FAT16" },
    { 0x17, "Hidden NTFS/HPFS" },
    { 0x1b, "Hidden FAT32" },
    { 0x1c, "Hidden FAT32 (LBA)" },
    { 0x1e, "Hidden FAT16 (LBA)" },
    { 0x27, "Windows recovery (hidden NTFS)" },
    { 0x42, "Windows dynamic disk (LDM)" },
    { 0x82, "Linux swap" },
    { 0x83, "Linux" },
    { 0x84, "Hibernation" },
    { 0x85, "Linux extended" },
    { 0x86, "NTFS volume set" },
    { 0x87, "NTFS volume set" },
    { 0x8e, "Linux LVM" },
    { 0xa0, "Laptop hibernation" },
    { 0xa5, "FreeBSD" },
    { 0xa6, "OpenBSD" },
    { 0xa8, "Darwin UFS" },
    { 0xa9, "NetBSD" },
    { 0xab, "Darwin boot" },
    { 0xaf, "HFS/HFS+" },
    { 0xbc, "Acronis backup" },
    { 0xbf, "Solaris" },
    { 0xda, "Non-FS data" },
    { 0xde, "Dell utility" },
    { 0xea, "Linux extended boot" },
    { 0xee, "GPT protective" },
    { 0xef, "EFI System" },
    { 0xfb, "VMware VMFS" },
    { 0xfc, "VMware VMKCORE" },
    { 0xfd, "Linux RAID" },
};

const char *ptable_mbr_type_name(uint8_t type)
{
    for (size_t i = 0; i < sizeof mbr_names / sizeof mbr_names[0]; i++)
        if (mbr_names[i].type == type)
            return mbr_names[i].name;
    return "Unknown";
}

bool ptable_mbr_is_extended(uint8_t type) { return type == 0x05 || type == 0x0f || type == 0x85; }

struct gpt_type_name {
    const char *guid;
    const char *name;
};

static const struct gpt_type_name gpt_names[] = {
    { GPT_TYPE_ESP, "EFI System" },
    { GPT_TYPE_MSR, "Microsoft reserved" },
    { GPT_TYPE_BASIC_DATA, "Microsoft basic data" },
    { GPT_TYPE_WINRE, "Windows recovery" },
    { GPT_TYPE_LDM_META, "Windows LDM metadata" },
    { GPT_TYPE_LDM_DATA, "Windows LDM data" },
    { GPT_TYPE_STORAGE_SPACES, "Windows Storage Spaces" },
    { GPT_TYPE_BIOS_BOOT, "BIOS boot" },
    { GPT_TYPE_LINUX_FS, "Linux filesystem" },
    { GPT_TYPE_LINUX_SWAP, "Linux swap" },
    { GPT_TYPE_LINUX_LVM, "Linux LVM" },
    { GPT_TYPE_LINUX_RAID, "Linux RAID" },
    { "933ac7e1-2eb4-4f13-b844-0e14e2aef915", "Linux home" },
    { "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "Linux root (x86-64)" },
    { "44479540-f297-41b2-9af7-d131d5f0458a", "Linux root (x86)" },
    { "b921b045-1df0-41c3-af44-4c6f280d3fae", "Linux root (ARM64)" },
    { "8484680c-9521-48c6-9c11-b0720656f69e", "Linux /usr (x86-64)" },
    { "4d21b016-b534-45c2-a9fb-5c16e091fd2d", "Linux /var" },
    { "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", "Linux server data" },
    { "bc13c2ff-59e6-4262-a352-b275fd6f7172", "Linux extended boot" },
    { "ca7d7ccb-63ed-4c53-861c-1742536059cc", "Linux LUKS" },
    { "7ffec5c9-2d00-49b7-8941-3ea10a5586b7", "Linux dm-crypt" },
    { "8da63339-0007-60c0-c436-083ac8230908", "Linux reserved" },
    { "024dee41-33e7-11d3-9d69-0008c781f39f", "MBR partition scheme" },
    { "d3bfe2de-3daf-11df-ba40-e3a556d89593", "Intel Fast Flash" },
    { "bfbfafe7-a34f-448a-9a5b-6213eb736c22", "Lenovo boot" },
    { "48465300-0000-11aa-aa11-00306543ecac", "Apple HFS+" },
    { "7c3457ef-0000-11aa-aa11-00306543ecac", "Apple APFS" },
    { "516e7cb4-6ecf-11d6-8ff8-00022d09712b", "FreeBSD data" },
    { "516e7cba-6ecf-11d6-8ff8-00022d09712b", "FreeBSD ZFS" },
    { "6a898cc3-1dd2-11b2-99a6-080020736631", "Solaris /usr or Apple ZFS" },
    { "aa31e02a-400f-11db-9590-000c2911d1b8", "VMware VMFS" },
};

const char *ptable_gpt_type_name(const p2v_guid *type)
{
    if (guid_is_zero(type))
        return "Unused";
    char s[P2V_GUID_STRLEN];
    guid_format(type, s);
    for (size_t i = 0; i < sizeof gpt_names / sizeof gpt_names[0]; i++)
        if (!strcmp(gpt_names[i].guid, s))
            return gpt_names[i].name;
    return "Unknown";
}

/* One row per MBR byte that maps to GPT. A GPT type that several bytes map
 * to goes back to the row marked canonical. */
struct type_map_row {
    uint8_t mbr;
    const char *gpt;
    bool canonical;
};

static const struct type_map_row type_map[] = {
    { 0x07, GPT_TYPE_BASIC_DATA, true },
    { 0x01, GPT_TYPE_BASIC_DATA, false },
    { 0x04, GPT_TYPE_BASIC_DATA, false },
    { 0x06, GPT_TYPE_BASIC_DATA, false },
    { 0x0b, GPT_TYPE_BASIC_DATA, false },
    { 0x0c, GPT_TYPE_BASIC_DATA, false },
    { 0x0e, GPT_TYPE_BASIC_DATA, false },
    { 0x11, GPT_TYPE_BASIC_DATA, false },
    { 0x14, GPT_TYPE_BASIC_DATA, false },
    { 0x16, GPT_TYPE_BASIC_DATA, false },
    { 0x17, GPT_TYPE_BASIC_DATA, false },
    { 0x1b, GPT_TYPE_BASIC_DATA, false },
    { 0x1c, GPT_TYPE_BASIC_DATA, false },
    { 0x1e, GPT_TYPE_BASIC_DATA, false },
    { 0x27, GPT_TYPE_WINRE, true },
    { 0x42, GPT_TYPE_LDM_DATA, true },
    { 0xef, GPT_TYPE_ESP, true },
    { 0x83, GPT_TYPE_LINUX_FS, true },
    { 0x82, GPT_TYPE_LINUX_SWAP, true },
    { 0x8e, GPT_TYPE_LINUX_LVM, true },
    { 0xfd, GPT_TYPE_LINUX_RAID, true },
    { 0xea, "bc13c2ff-59e6-4262-a352-b275fd6f7172", true },
    { 0xa5, "516e7cb4-6ecf-11d6-8ff8-00022d09712b", true },
    { 0xaf, "48465300-0000-11aa-aa11-00306543ecac", true },
};

/* GPT types with no MBR byte of their own that still go to a sensible one. */
static const struct type_map_row gpt_extra[] = {
    { 0x83, "933ac7e1-2eb4-4f13-b844-0e14e2aef915", true }, /* Linux home */
    { 0x83, "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", true }, /* Linux root x86-64 */
    { 0x83, "44479540-f297-41b2-9af7-d131d5f0458a", true }, /* Linux root x86 */
    { 0x83, "b921b045-1df0-41c3-af44-4c6f280d3fae", true }, /* Linux root ARM64 */
    { 0x83, "8484680c-9521-48c6-9c11-b0720656f69e", true }, /* Linux /usr x86-64 */
    { 0x83, "4d21b016-b534-45c2-a9fb-5c16e091fd2d", true }, /* Linux /var */
    { 0x83, "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", true }, /* Linux server data */
    { 0x83, "ca7d7ccb-63ed-4c53-861c-1742536059cc", true }, /* Linux LUKS */
    { 0x83, "7ffec5c9-2d00-49b7-8941-3ea10a5586b7", true }, /* Linux dm-crypt */
};

int ptable_mbr_to_gpt_type(uint8_t mbr_type, p2v_guid *out)
{
    for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
        if (type_map[i].mbr == mbr_type)
            return guid_parse(type_map[i].gpt, out);
    return -ENOENT;
}

int ptable_gpt_to_mbr_type(const p2v_guid *type, uint8_t *out)
{
    char s[P2V_GUID_STRLEN];
    guid_format(type, s);
    for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
        if (type_map[i].canonical && !strcmp(type_map[i].gpt, s)) {
            *out = type_map[i].mbr;
            return 0;
        }
    for (size_t i = 0; i < sizeof gpt_extra / sizeof gpt_extra[0]; i++)
        if (!strcmp(gpt_extra[i].gpt, s)) {
            *out = gpt_extra[i].mbr;
            return 0;
        }
    return -ENOENT;
}

int ptable_gpt_to_mbr_type_fs(const p2v_guid *type, const char *fstype, uint8_t *out)
{
    int r = ptable_gpt_to_mbr_type(type, out);
    if (r < 0 || !fstype)
        return r;
    p2v_guid basic;
    guid_parse(GPT_TYPE_BASIC_DATA, &basic);
    if (guid_equal(type, &basic) && fs_kind_of(fstype) == FS_FAT)
        *out = 0x0c;
    return 0;
}
