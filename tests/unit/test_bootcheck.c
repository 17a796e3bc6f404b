/* Unit tests for the boot check's parts that need no VM: the firmware a
 * table asks for, the qemu command line, QMP messages and the client
 * against a scripted server, the verdict on firmware, boot loader and
 * Windows texts (as OCR garbles them), and screenshot thumbnails. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <allheaders.h>

#include "bootcheck/bootcheck.h"
#include "t.h"

/* ---- firmware from the table ---- */

static ptable *mk_table(enum ptable_type type)
{
    ptable *t = calloc(1, sizeof *t);
    t->type = type;
    t->sector_size = 512;
    t->disk_sectors = 1 << 20;
    t->parts = calloc(8, sizeof *t->parts);
    return t;
}

static ptable_part *add_part(ptable *t, unsigned number, uint8_t mbr_type, const char *gpt_type)
{
    ptable_part *p = &t->parts[t->nparts++];
    p->number = number;
    p->start = 2048 * number;
    p->size = 2048;
    p->mbr_type = mbr_type;
    if (gpt_type)
        guid_parse(gpt_type, &p->type_guid);
    return p;
}

static void test_firmware(void)
{
    char why[160];
    ptable *t = mk_table(PTABLE_MBR);
    add_part(t, 1, 0x07, NULL);
    add_part(t, 2, 0x07, NULL)->bootable = true;
    CHECK(bootcheck_choose_firmware(t, why, sizeof why) == BOOTCHECK_FW_BIOS);
    CHECK_STR(why, "MBR with active partition 2");
    t->parts[1].bootable = false;
    CHECK(bootcheck_choose_firmware(t, why, sizeof why) == BOOTCHECK_FW_BIOS);
    CHECK(strstr(why, "without an active partition") != NULL);
    add_part(t, 3, 0xEF, NULL);
    CHECK(bootcheck_choose_firmware(t, why, sizeof why) == BOOTCHECK_FW_UEFI);
    CHECK(strstr(why, "EFI system partition 3") != NULL);
    t->parts[0].bootable = true; /* an active partition wins over an 0xEF one */
    CHECK(bootcheck_choose_firmware(t, why, sizeof why) == BOOTCHECK_FW_BIOS);
    ptable_free(t);

    t = mk_table(PTABLE_GPT);
    add_part(t, 1, 0, GPT_TYPE_BASIC_DATA);
    CHECK(bootcheck_choose_firmware(t, why, sizeof why) == BOOTCHECK_FW_BIOS);
    CHECK(strstr(why, "GPT without an EFI system partition") != NULL);
    add_part(t, 2, 0, GPT_TYPE_ESP);
    CHECK(bootcheck_choose_firmware(t, why, sizeof why) == BOOTCHECK_FW_UEFI);
    CHECK_STR(why, "GPT with EFI system partition 2");
    ptable_free(t);

    CHECK(bootcheck_choose_firmware(NULL, why, sizeof why) == BOOTCHECK_FW_BIOS);
    CHECK(strstr(why, "no partition table") != NULL);
}

static void test_names(void)
{
    enum bootcheck_bus bus;
    enum bootcheck_fw fw;
    enum bootcheck_accel accel;
    CHECK(bootcheck_bus_parse("virtio-blk", &bus) == 0 && bus == BOOTCHECK_BUS_VIRTIO_BLK);
    CHECK(bootcheck_bus_parse("ide", &bus) == 0 && bus == BOOTCHECK_BUS_IDE);
    CHECK(bootcheck_bus_parse("sata", &bus) == 0 && bus == BOOTCHECK_BUS_SATA);
    CHECK(bootcheck_bus_parse("scsi", &bus) == -EINVAL);
    CHECK(bootcheck_fw_parse("uefi", &fw) == 0 && fw == BOOTCHECK_FW_UEFI);
    CHECK(bootcheck_fw_parse("efi", &fw) == -EINVAL);
    CHECK(bootcheck_accel_parse("tcg", &accel) == 0 && accel == BOOTCHECK_ACCEL_TCG);
    CHECK(bootcheck_accel_parse("hvf", &accel) == -EINVAL);
    CHECK_STR(bootcheck_fw_firmware(BOOTCHECK_FW_UEFI), "OVMF");
    CHECK_STR(bootcheck_fw_firmware(BOOTCHECK_FW_BIOS), "SeaBIOS");
}

/* ---- the qemu command line ---- */

static int argv_index(char **argv, const char *s)
{
    for (int i = 0; argv[i]; i++)
        if (!strcmp(argv[i], s))
            return i;
    return -1;
}

/* The value after option opt, or NULL. */
static const char *argv_after(char **argv, const char *opt)
{
    int i = argv_index(argv, opt);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : NULL;
}

static void test_qemu_argv(void)
{
    bootcheck_vm vm = { .image = "/img/pc,1.qcow2", .format = "qcow2", .fw = BOOTCHECK_FW_BIOS,
                        .bus = BOOTCHECK_BUS_SATA, .accel = BOOTCHECK_ACCEL_TCG,
                        .memory_mib = 512, .qmp_socket = "/run/q.sock",
                        .serial_log = "/ev/serial.log" };
    char **argv;
    p2v_err err;
    CHECK(bootcheck_qemu_argv(&vm, &argv, &err) == 0);
    CHECK_STR(argv[0], BOOTCHECK_QEMU);
    CHECK(argv_index(argv, "-snapshot") > 0);
    CHECK(argv_index(argv, "-no-reboot") > 0);
    CHECK(argv_index(argv, "-nodefaults") > 0);
    CHECK_STR(argv_after(argv, "-machine"), "q35");
    CHECK_STR(argv_after(argv, "-accel"), "tcg");
    CHECK_STR(argv_after(argv, "-m"), "512");
    CHECK_STR(argv_after(argv, "-vga"), "std");
    /* commas in a path are doubled, as qemu's option syntax wants */
    CHECK_STR(argv_after(argv, "-drive"), "file=/img/pc,,1.qcow2,format=qcow2,if=none,id=p2vdisk");
    CHECK_STR(argv_after(argv, "-device"), "ide-hd,drive=p2vdisk,bus=ide.0,bootindex=0");
    CHECK_STR(argv_after(argv, "-serial"), "chardev:p2vserial");
    CHECK(argv_index(argv, "file,id=p2vserial,path=/ev/serial.log") > 0);
    CHECK(argv_index(argv, "socket,id=p2vqmp,server=on,wait=off,path=/run/q.sock") > 0);
    CHECK(argv_index(argv, "chardev=p2vqmp,mode=control") > 0);
    for (int i = 0; argv[i]; i++) /* no pflash under BIOS */
        CHECK(strstr(argv[i], "pflash") == NULL);
    bootcheck_argv_free(argv);

    vm.fw = BOOTCHECK_FW_UEFI;
    vm.ovmf_code = "/fw/CODE.fd";
    vm.ovmf_vars = "/run/VARS.fd";
    vm.bus = BOOTCHECK_BUS_IDE;
    vm.accel = BOOTCHECK_ACCEL_KVM;
    vm.qemu = "/opt/qemu";
    CHECK(bootcheck_qemu_argv(&vm, &argv, &err) == 0);
    CHECK_STR(argv[0], "/opt/qemu");
    CHECK_STR(argv_after(argv, "-accel"), "kvm");
    CHECK(argv_index(argv, "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd") > 0);
    CHECK(argv_index(argv, "if=pflash,format=raw,unit=1,file=/run/VARS.fd") > 0);
    CHECK(argv_index(argv, "piix3-ide,id=pata") > 0);
    CHECK(argv_index(argv, "ide-hd,drive=p2vdisk,bus=pata.0,bootindex=0") > 0);
    bootcheck_argv_free(argv);

    vm.bus = BOOTCHECK_BUS_VIRTIO_BLK;
    CHECK(bootcheck_qemu_argv(&vm, &argv, &err) == 0);
    CHECK(argv_index(argv, "virtio-blk-pci,drive=p2vdisk,bootindex=0") > 0);
    bootcheck_argv_free(argv);

    vm.ovmf_vars = NULL; /* UEFI without its variable store */
    CHECK(bootcheck_qemu_argv(&vm, &argv, &err) == -EINVAL);
    CHECK(strstr(err.msg, "OVMF") != NULL);
    vm.ovmf_vars = "/run/VARS.fd";
    vm.accel = BOOTCHECK_ACCEL_AUTO;
    CHECK(bootcheck_qemu_argv(&vm, &argv, &err) == -EINVAL);
    vm.accel = BOOTCHECK_ACCEL_TCG;
    vm.fw = BOOTCHECK_FW_AUTO;
    CHECK(bootcheck_qemu_argv(&vm, &argv, &err) == -EINVAL);
    vm.fw = BOOTCHECK_FW_BIOS;
    vm.image = NULL;
    CHECK(bootcheck_qemu_argv(&vm, &argv, &err) == -EINVAL);
}

/* ---- QMP ---- */

static int parse(const char *s, bootcheck_qmp_msg *m)
{
    p2v_err err;
    return bootcheck_qmp_parse(s, strlen(s), m, &err);
}

static void test_qmp_parse(void)
{
    bootcheck_qmp_msg m;
    CHECK(parse("{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n", &m) == 0);
    CHECK(m.kind == BOOTCHECK_QMP_GREETING);
    CHECK(parse("{\"return\": {}}", &m) == 0 && m.kind == BOOTCHECK_QMP_RETURN);
    CHECK_STR(m.status, "");
    CHECK(parse("{\"return\": {\"status\": \"internal-error\", \"running\": false}}\n", &m) == 0);
    CHECK_STR(m.status, "internal-error");
    CHECK(parse("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such file\"}}", &m) == 0);
    CHECK(m.kind == BOOTCHECK_QMP_ERROR);
    CHECK_STR(m.desc, "no such file");
    CHECK(parse("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", "
                "\"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}", &m) == 0);
    CHECK(m.kind == BOOTCHECK_QMP_EVENT);
    CHECK_STR(m.event, "SHUTDOWN");
    CHECK_STR(m.reason, "guest-reset");
    CHECK(parse("{\"event\": \"RESUME\"}", &m) == 0 && m.kind == BOOTCHECK_QMP_EVENT);
    CHECK_STR(m.reason, "");
    /* a very long event name is cut, not overrun */
    char big[400];
    snprintf(big, sizeof big, "{\"event\": \"%0300d\"}", 7);
    CHECK(parse(big, &m) == 0 && strlen(m.event) == sizeof m.event - 1);
    /* anything but one QMP message: refused */
    static const char *const bad[] = {
        "", "\n", "[1, 2]", "{\"return\": {}} {}", "{\"return\": ", "{\"hello\": 1}",
        "{\"event\": 5}", "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(parse(bad[i], &m) == -EINVAL);
}

static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return -1;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

static void say(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) < 0)
        _exit(3);
}

/* A scripted qemu: greeting, capabilities, an event before a reply, an
 * error reply, then it hangs up after one more event. */
static void fake_qemu(int lfd)
{
    char line[512];
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        _exit(2);
    say(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
    if (read_line(fd, line, sizeof line) < 0 || !strstr(line, "qmp_capabilities"))
        _exit(4);
    say(fd, "{\"return\": {}}\r\n");
    if (read_line(fd, line, sizeof line) < 0 || !strstr(line, "query-status"))
        _exit(5);
    say(fd, "{\"event\": \"STOP\"}\r\n{\"return\": {\"status\": \"paused\", ");
    say(fd, "\"running\": false}}\r\n");
    if (read_line(fd, line, sizeof line) < 0 || !strstr(line, "\"filename\":\"\\/x\\\"y.png\""))
        _exit(6);
    say(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"cannot write\"}}\r\n");
    say(fd, "{\"event\": \"SHUTDOWN\", \"data\": {\"reason\": \"guest-shutdown\"}}\r\n");
    close(fd);
    _exit(0);
}

static void test_qmp_client(void)
{
    char dir[] = "/tmp/p2v-test-qmp.XXXXXX", path[64];
    bootcheck_qmp *q;
    bootcheck_qmp_msg m;
    p2v_err err;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/qmp.sock", dir);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 1) == 0);
    pid_t pid = fork();
    if (pid == 0)
        fake_qemu(lfd);
    close(lfd);
    CHECK(bootcheck_qmp_connect(path, 5000, &q, &err) == 0);
    CHECK(bootcheck_qmp_command(q, "{\"execute\": \"query-status\"}", 5000, &m, &err) == 0);
    CHECK_STR(m.status, "paused");
    CHECK(bootcheck_qmp_screendump(q, "/x\"y.png", 5000, &err) == -EIO);
    CHECK(strstr(err.msg, "cannot write") != NULL);
    bootcheck_qmp_msg ev;
    int rc;
    CHECK(bootcheck_qmp_next_event(q, &ev, &err) == 1); /* kept while waiting for the reply */
    CHECK_STR(ev.event, "STOP");
    for (int i = 0; i < 50 && (rc = bootcheck_qmp_next_event(q, &ev, &err)) == 0; i++)
        usleep(20000);
    CHECK(rc == 1);
    CHECK_STR(ev.event, "SHUTDOWN");
    CHECK_STR(ev.reason, "guest-shutdown");
    for (int i = 0; i < 50 && (rc = bootcheck_qmp_next_event(q, &ev, &err)) == 0; i++)
        usleep(20000);
    CHECK(rc < 0); /* then the connection is gone */
    bootcheck_qmp_close(q);
    int st = -1;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* nobody listening */
    CHECK(bootcheck_qmp_connect(path, 200, &q, &err) < 0);
    CHECK(strstr(err.msg, path) != NULL);
    unlink(path);
    rmdir(dir);
}

/* ---- the verdict ---- */

static bool fails(const char *text, enum bootcheck_fail_kind kind, const char *code)
{
    bootcheck_failure f;
    bool found = bootcheck_find_failure(text, strlen(text), &f);
    if (!found || f.kind != kind || strcmp(f.code, code)) {
        fprintf(stderr, "text \"%s\": found %d kind %s code \"%s\"\n", text, found,
                bootcheck_fail_kind_name(f.kind), f.code);
        return false;
    }
    return true;
}

static void test_verdict(void)
{
    bootcheck_failure f;
    /* SeaBIOS, on the screen (and CR/LF from a serial console) */
    CHECK(fails("SeaBIOS (version 1.16.2)\r\nBooting from Hard Disk...\r\nBoot failed: not a "
                "bootable disk\r\n\r\nNo bootable device.", BOOTCHECK_FAIL_FIRMWARE, ""));
    CHECK(bootcheck_find_failure("No bootable device.", 19, &f) && !strcmp(f.words, "No bootable device"));
    /* OVMF's serial console, with its escape sequences in between */
    CHECK(fails("\x1b[0m\x1b[37m\x1b[40mBdsDxe: failed to load Boot0001 \"UEFI QEMU HARDDISK\" "
                "from PciRoot(0x0)/Pci(0x1F,0x2): Not Found\r\n", BOOTCHECK_FAIL_FIRMWARE, ""));
    CHECK(fails("BdsD\x1b[1;1Hxe: failed to load", BOOTCHECK_FAIL_FIRMWARE, ""));
    CHECK(fails(">>Start PXE over IPv4.", BOOTCHECK_FAIL_NETBOOT, ""));
    CHECK(fails("UEFI Interactive Shell v2.2\nShell>", BOOTCHECK_FAIL_FIRMWARE, ""));
    CHECK(fails("Missing operating system.", BOOTCHECK_FAIL_BOOTLOADER, ""));
    CHECK(fails("BOOTMGR is missing\nPress Ctrl+Alt+Del to restart", BOOTCHECK_FAIL_BOOTLOADER, ""));
    CHECK(fails("p2v MBR: no active partition", BOOTCHECK_FAIL_BOOTLOADER, ""));
    /* Windows, as OCR reads it: O for 0, spaces for underscores */
    CHECK(fails("Your PC ran into a problem and needs to restart.\nStop code: INACCESSIBLE BOOT DEVICE",
                BOOTCHECK_FAIL_STOP, "INACCESSIBLE_BOOT_DEVICE"));
    CHECK(fails("Your device ran into a problem\nStop code: CRITICAL_PROCESS_DIED",
                BOOTCHECK_FAIL_STOP, "CRITICAL_PROCESS_DIED"));
    CHECK(fails("*** STOP: 0x0000007B (0xF78D2524,0xC0000034,0x00000000,0x00000000)",
                BOOTCHECK_FAIL_STOP, "0x0000007b"));
    CHECK(fails("Windows Boot Manager\nWindows failed to start. A recent hardware change\n"
                "Status: OxcO00000e\nInfo: The boot selection failed", BOOTCHECK_FAIL_BOOTMGR,
                "0xc000000e"));
    CHECK(fails("Recovery\nYour PC/Device needs to be repaired\nError code: 0xc0000225",
                BOOTCHECK_FAIL_BOOTMGR, "0xc0000225"));
    /* a stop screen that also shows firmware words is a stop screen */
    CHECK(fails("Booting from Hard Disk... Your PC ran into a problem", BOOTCHECK_FAIL_STOP, ""));
    /* nothing wrong */
    CHECK(!bootcheck_find_failure("Welcome to Debian GNU/Linux 12", 30, &f) && f.kind == BOOTCHECK_FAIL_NONE);
    CHECK(!bootcheck_find_failure("", 0, &f));
    /* not NUL-terminated: only len bytes count */
    CHECK(!bootcheck_find_failure("No bootable device", 9, &f));

    CHECK(bootcheck_text_has("P2U TEST DESKT0P READY", 22, "p2v test desktop ready"));
    CHECK(bootcheck_text_has("login:\r\n", 8, "LOGIN"));
    CHECK(!bootcheck_text_has("login", 5, "logout"));
    CHECK(!bootcheck_text_has("anything", 8, ""));
    CHECK(!bootcheck_text_has("anything", 8, "!!"));

    CHECK(bootcheck_is_firmware_text("SeaBIOS (version 1.16.2-debian)", 31));
    CHECK(bootcheck_is_firmware_text("Guest has not initialized the display (yet).", 44));
    CHECK(bootcheck_is_firmware_text("BdsDxe: loading Boot0001", 24));
    CHECK(!bootcheck_is_firmware_text("Windows is starting", 19));
}

/* ---- screenshots ---- */

static void test_prints(void)
{
    enum { W = 720, H = 400 };
    uint8_t *img = calloc(W * H, 1);
    bootcheck_print a, b, c;
    bootcheck_print_from_grey(img, W, H, W, &a);
    CHECK(a.valid && bootcheck_print_blank(&a));
    for (int y = 100; y < 116; y++) /* one line of "text" */
        for (int x = 40; x < 400; x += 2)
            img[y * W + x] = 200;
    bootcheck_print_from_grey(img, W, H, W, &b);
    CHECK(!bootcheck_print_blank(&b));
    CHECK(bootcheck_print_diff(&a, &b) >= 10);
    CHECK(bootcheck_print_diff(&b, &b) == 0);
    for (int y = 380; y < 382; y++) /* a blinking cursor: under one cell */
        for (int x = 9; x < 18; x++)
            img[y * W + x] = 255;
    bootcheck_print_from_grey(img, W, H, W, &c);
    CHECK(bootcheck_print_diff(&b, &c) <= 1);
    bootcheck_print invalid = { .valid = false };
    CHECK(bootcheck_print_diff(&invalid, &b) == BOOTCHECK_PRINT_W * BOOTCHECK_PRINT_H);
    /* smaller than the thumbnail, and a stride wider than the row */
    uint8_t tiny[3 * 8] = { 0 };
    tiny[1] = 255;
    bootcheck_print_from_grey(tiny, 3, 2, 8, &a);
    CHECK(a.valid && !bootcheck_print_blank(&a));
    bootcheck_print_from_grey(tiny, 0, 2, 8, &a);
    CHECK(!a.valid);
    free(img);
}

/* A PNG written with leptonica reads back as the same thumbnail; a file
 * that is no PNG is an error naming it. */
static void test_screen_read(void)
{
    char dir[] = "/tmp/p2v-test-shot.XXXXXX", png[128], bad[128];
    bootcheck_print p;
    p2v_err err;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(png, sizeof png, "%s/shot.png", dir);
    snprintf(bad, sizeof bad, "%s/bad.png", dir);
    PIX *pix = pixCreate(640, 480, 32);
    pixSetAllArbitrary(pix, 0x0000aa00); /* blue, as a stop screen */
    BOX *box = boxCreate(0, 0, 320, 240);
    pixSetInRectArbitrary(pix, box, 0xffffff00);
    CHECK(pixWrite(png, pix, IFF_PNG) == 0);
    CHECK(bootcheck_screen_read(NULL, png, &p, NULL, &err) == 0);
    CHECK(p.valid && !bootcheck_print_blank(&p));
    CHECK(p.cell[0] > 200 && p.cell[BOOTCHECK_PRINT_W * BOOTCHECK_PRINT_H - 1] < 60);
    FILE *f = fopen(bad, "w");
    fputs("not a png", f);
    fclose(f);
    CHECK(bootcheck_screen_read(NULL, bad, &p, NULL, &err) < 0);
    CHECK(strstr(err.msg, bad) != NULL);
    boxDestroy(&box);
    pixDestroy(&pix);
    unlink(png);
    unlink(bad);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_firmware();
    test_names();
    test_qemu_argv();
    test_qmp_parse();
    test_qmp_client();
    test_verdict();
    test_prints();
    test_screen_read();
    return t_done("test_bootcheck");
}
