/* VM definitions (src/vmdef/): the machine's identity read from a sysfs tree
 * made here, and every format written with hostile SMBIOS strings (quotes,
 * '<', '&', newlines, commas) that must come out escaped. The XML is checked
 * by virt-xml-validate and virsh in tests/integration/vmdef.sh. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "vmdef/vmdef.h"

static char root[] = "/tmp/p2v-vmdef-XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[1024], dir[1100];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "mkdir -p \"$(dirname '%s')\"", path);
    CHECK(system(dir) == 0);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void make_tree(void)
{
    CHECK(mkdtemp(root) != NULL);
    put("sys/class/dmi/id/sys_vendor", "Acme <&> \"Corp\"\n");
    put("sys/class/dmi/id/product_name", "Desk,Pro 'X'\n");
    put("sys/class/dmi/id/product_version", "To Be Filled By O.E.M.\n");
    put("sys/class/dmi/id/product_serial", "SN-42\n");
    put("sys/class/dmi/id/product_uuid", "4c4c4544-0042-3510-8057-b2c04f4e4b32\n");
    put("sys/class/net/eth1/address", "52:54:00:aa:bb:02\n");
    put("sys/class/net/eth1/device/vendor", "0x8086\n");
    put("sys/class/net/eth0/address", "52:54:00:aa:bb:01\n");
    put("sys/class/net/eth0/device/vendor", "0x8086\n");
    put("sys/class/net/lo/address", "00:00:00:00:00:00\n");
    put("sys/class/net/wlan0/address", "52:54:00:aa:bb:09\n");
    put("sys/class/net/wlan0/device/vendor", "0x8086\n");
    put("sys/class/net/wlan0/wireless/x", "");
    put("proc/meminfo", "MemTotal:       16318480 kB\nMemFree: 1 kB\n");
    put("sys/devices/system/cpu/online", "0-3,6,8-9\n");
    /* a table header (36 bytes) and a key: only its size and presence matter here */
    put("sys/firmware/acpi/tables/MSDM", "MSDMUUUU.xOEMIDOEMTABLE1....ACPI....XXXXX-XXXXX-XXXXX-XXXXX-XXXXX");
}

static void test_machine(void)
{
    struct vm_machine m;
    p2v_err err = { { 0 } };
    CHECK(vm_machine_read(root, &m, &err) == 0);
    CHECK_STR(m.vendor, "Acme <&> \"Corp\"");
    CHECK_STR(m.product, "Desk,Pro 'X'");
    CHECK_STR(m.version, ""); /* a placeholder is no identity */
    CHECK_STR(m.serial, "SN-42");
    CHECK_STR(m.uuid, "4c4c4544-0042-3510-8057-b2c04f4e4b32");
    CHECK_EQ_U64(m.nmacs, 2); /* wired NICs with a device; no lo, no wireless */
    CHECK_STR(m.macs[0], "52:54:00:aa:bb:01");
    CHECK_STR(m.macs[1], "52:54:00:aa:bb:02");
    CHECK_EQ_U64(m.memory, 16318480ULL * 1024);
    CHECK_EQ_U64(m.cpus, 7);
    CHECK(m.msdm);
}

static char *render(const char *fmt, const struct vmdef_in *in)
{
    char *buf = NULL;
    size_t len = 0;
    p2v_err err = { { 0 } };
    FILE *f = open_memstream(&buf, &len);
    const struct vmdef_format *vf = vmdef_format_find(fmt);
    CHECK(vf != NULL);
    if (!vf || !f)
        return NULL;
    int r = vf->write(in, f, &err);
    fclose(f);
    CHECK(r == 0);
    if (r < 0)
        fprintf(stderr, "%s: %s\n", fmt, err.msg);
    return buf;
}

static void test_formats(void)
{
    struct vm_machine m;
    p2v_err err = { { 0 } };
    char disk[1100], msdm[1100];
    vm_machine_read(root, &m, &err);
    snprintf(m.family, sizeof m.family, "line1\nline2: evil");
    snprintf(disk, sizeof disk, "%s/pc.qcow2", root);
    put("pc.qcow2", "x");
    snprintf(msdm, sizeof msdm, "%s/msdm,1.bin", root);
    struct vmdef_in in = { .name = "pc-SN-42", .disk = disk, .format = VM_DISK_QCOW2,
                           .disk_bytes = 3ULL << 30, .uefi = true, .secure_boot = true,
                           .bus = VM_BUS_VIRTIO_BLK, .nic = VM_NIC_VIRTIO, .windows = true,
                           .os_version = "10.0", .memory = 4ULL << 30, .cpus = 2,
                           .mac = m.macs[0], .smbios = &m, .msdm_file = msdm };
    /* each file as rendered holds its strings (or, absent, does not) */
    static const struct {
        const char *fmt, *text;
        bool absent;
    } rendered[] = {
        { "libvirt", "<entry name='manufacturer'>Acme &lt;&amp;&gt; &quot;Corp&quot;</entry>" },
        { "libvirt", "<entry name='product'>Desk,Pro &apos;X&apos;</entry>" },
        { "libvirt", "<entry name='family'>line1 line2: evil</entry>" },
        { "libvirt", "<os firmware='efi'>" },
        { "libvirt", "name='secure-boot'" },
        { "libvirt", "<target dev='vda' bus='virtio'/>" },
        { "libvirt", "<mac address='52:54:00:aa:bb:01'/>" },
        { "libvirt", "msdm,,1.bin" }, /* a ',' doubled in the qemu option */
        { "libvirt", "<memory unit='KiB'>4194304</memory>" },
        { "qemu", "'type=1,manufacturer=Acme <&> \"Corp\",product=Desk,,Pro '\\''X'\\''," },
        { "qemu", "family=line1 line2: evil'" },
        { "qemu", "-device virtio-blk-pci,drive=disk0,bootindex=1" },
        { "qemu", "OVMF_CODE_4M.secboot.fd" },
        { "qemu", ",format=qcow2,if=none,id=disk0" },
        { "proxmox", "\nbios: ovmf\n" },
        { "proxmox", "\nboot: order=virtio0\n" },
        { "proxmox", "\nnet0: virtio=52:54:00:aa:bb:01,bridge=vmbr0\n" },
        /* base64 of the vendor string: no raw '<', quote or newline reaches the file */
        { "proxmox", "manufacturer=QWNtZSA8Jj4gIkNvcnAi," },
        { "proxmox", "family=bGluZTEKbGluZTI6IGV2aWw=,base64=1\n" },
        { "proxmox", "\nostype: win10\n" },
        { "proxmox", "line2: evil", .absent = true },
        { "openstack", "\"hw_firmware_type\": \"uefi\"" },
        { "openstack", "\"hw_disk_bus\": \"virtio\"" },
        { "openstack", "\"os_secure_boot\": \"required\"" },
        { "openstack", "--property hw_machine_type=q35" },
    };
    char *out = NULL;
    for (size_t i = 0; i < sizeof rendered / sizeof rendered[0]; i++) {
        if (i == 0 || strcmp(rendered[i].fmt, rendered[i - 1].fmt)) {
            free(out);
            out = render(rendered[i].fmt, &in);
        }
        if (rendered[i].absent)
            CHECK(out && !strstr(out, rendered[i].text));
        else
            CHECK(out && strstr(out, rendered[i].text));
    }
    free(out);

    /* an IDE disk: i440fx, since q35 has no IDE controller */
    in.bus = VM_BUS_IDE;
    in.uefi = in.secure_boot = false;
    char *x = render("libvirt", &in);
    CHECK(x && strstr(x, "machine='pc'") && strstr(x, "bus='ide'") && !strstr(x, "firmware='efi'"));
    free(x);
}

static void test_spec(void)
{
    const struct vmdef_format *f;
    const char *file;
    p2v_err err = { { 0 } };
    CHECK(vmdef_parse_spec("libvirt", &f, &file, &err) == 0 && f == &vmdef_libvirt && !file);
    CHECK(vmdef_parse_spec("proxmox:/tmp/100.conf", &f, &file, &err) == 0 && f == &vmdef_proxmox);
    CHECK_STR(file, "/tmp/100.conf");
    CHECK(vmdef_parse_spec("vmware", &f, &file, &err) == -EINVAL);
    CHECK(strstr(err.msg, "unknown format 'vmware'") != NULL);
    CHECK(vmdef_parse_spec("qemu:", &f, &file, &err) == -EINVAL);
}

int main(void)
{
    make_tree();
    test_machine();
    test_formats();
    test_spec();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return t_done("test_vmdef");
}
