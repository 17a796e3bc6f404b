/* Plan files, schema 2 (plans by role): the "select" list and its filters
 * read strictly, hostile values refused naming the entry and the field, and
 * options.vm_def in both schemas. Resolution on real disks is driven through
 * the binary in tests/integration/plan_roles.sh; roles_resolve itself in
 * test_roles. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "convert/planfile.h"
#include "convert/planfile_impl.h"
#include "ptable_testlib.h"
#include "t.h"

#define MiB (1ULL << 20)

static convert_planfile *parse(const char *text, int *rc, p2v_err *err)
{
    convert_planfile *pf = NULL;
    *rc = convert_planfile_parse(text, strlen(text), &pf, err);
    return pf;
}

/* A plan that must parse: a failure is checked and its reason printed. */
static convert_planfile *parse_ok(const char *text)
{
    p2v_err err = { { 0 } };
    int rc;
    convert_planfile *pf = parse(text, &rc, &err);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    return pf;
}

static void test_issue_example(void)
{
    const char *text =
        "{\"p2v_plan\": 2,\n"
        " \"select\": [{\"role\": \"boot\"}, {\"role\": \"recovery\", \"optional\": true},\n"
        "            {\"role\": \"data\", \"label\": \"D*\", \"optional\": true},\n"
        "            {\"role\": \"windows\", \"size\": \"min\", \"version\": \"10.*\"}],\n"
        " \"options\": {\"boot\": \"uefi\", \"table\": \"gpt\", \"drivers\": "
        "\"/run/p2v/virtio-win.iso\", \"target_bus\": \"virtio-blk\"}}";
    convert_planfile *pf = parse_ok(text);
    if (!pf)
        return;
    CHECK_EQ_U64(pf->version, 2);
    CHECK_EQ_U64(pf->nroles, 4);
    CHECK(pf->roles[0].sel.role == ROLE_BOOT && !pf->roles[0].sel.optional);
    CHECK(pf->roles[1].sel.role == ROLE_RECOVERY && pf->roles[1].sel.optional);
    CHECK_STR(pf->roles[2].sel.label, "D*");
    CHECK(pf->roles[2].sel.disk == ROLE_DISK_ANY);
    CHECK(pf->roles[3].new_size_min);
    CHECK_STR(pf->roles[3].sel.version, "10.*");
    CHECK(!pf->keep_order);
    CHECK(pf->output == NULL);
    CHECK_EQ_U64(pf->rq.plan.table, PTABLE_GPT);
    CHECK_STR(pf->rq.drivers, "/run/p2v/virtio-win.iso");
    convert_planfile_free(pf);
}

static void test_filters(void)
{
    const char *text =
        "{\"p2v_plan\": 2, \"output\": \"rbd:vdi/{computername}-{serial}\", \"keep_order\": true,"
        " \"options\": {\"size\": 1073741824},"
        " \"select\": [{\"role\": \"data\", \"fs\": \"ntfs\", \"min_size\": \"1G\","
        " \"max_size\": 2147483648, \"disk\": \"other\"},"
        " {\"role\": \"boot\", \"disk\": \"system\"}, {\"role\": \"linux\", \"disk\": 2,"
        " \"size\": \"60G\"}, {\"role\": \"windows\", \"size\": \"grow\"},"
        " {\"role\": \"swap\", \"size\": 4096}]}";
    convert_planfile *pf = parse_ok(text);
    if (!pf)
        return;
    CHECK(pf->keep_order);
    CHECK_STR(pf->output, "rbd:vdi/{computername}-{serial}");
    CHECK_STR(pf->roles[0].sel.fs, "ntfs");
    CHECK_EQ_U64(pf->roles[0].sel.min_size, 1ULL << 30);
    CHECK_EQ_U64(pf->roles[0].sel.max_size, 2ULL << 30);
    CHECK(pf->roles[0].sel.disk == ROLE_DISK_OTHER);
    CHECK(pf->roles[1].sel.disk == ROLE_DISK_SYSTEM);
    CHECK(pf->roles[2].sel.disk == 2);
    CHECK_EQ_U64(pf->roles[2].new_size, 60ULL << 30);
    CHECK(pf->roles[3].grow);
    CHECK_EQ_U64(pf->roles[4].new_size, 4096);
    /* before resolution the request selects nothing */
    CHECK_EQ_U64(pf->nsels, 0);
    convert_planfile_free(pf);
}

/* Each refusal names the field (and the entry) that is wrong. */
static void test_refused(void)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "{\"p2v_plan\": 2}", "\"select\" is missing" },
        { "{\"p2v_plan\": 2, \"select\": []}", "\"select\" has 0 entries" },
        { "{\"p2v_plan\": 2, \"select\": {}}", "\"select\" must be an array" },
        { "{\"p2v_plan\": 2, \"select\": [1]}", "select[0] must be an object" },
        { "{\"p2v_plan\": 2, \"select\": [{}]}", "select[0]: \"role\" is missing" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"bios\"}]}", "unknown role \"bios\"" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\", \"colour\": 1}]}",
          "select[0]: unknown field \"colour\"" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"disks\": []}",
          "top level: unknown field \"disks\"" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"selections\": []}",
          "top level: unknown field \"selections\"" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\", \"label\": \"\"}]}",
          "\"label\" must hold 1 to 255 bytes" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\", \"label\": 7}]}",
          "\"label\" must be a string" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\", \"version\": \"10.*\"}]}",
          "\"version\" filters windows entries only" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"min_size\": \"2G\","
          " \"max_size\": \"1G\"}]}", "\"min_size\" is larger than \"max_size\"" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"min_size\": -1}]}",
          "select[0]: \"min_size\" is out of range" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"max_size\": \"lots\"}]}",
          "\"max_size\" must be bytes or a SIZE" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"disk\": \"first\"}]}",
          "\"disk\" must be \"system\", \"other\" or an index" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"disk\": 99999}]}",
          "select[0]: \"disk\" is out of range" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"size\": \"max\"}]}",
          "\"size\" must be \"min\", \"grow\", bytes or a SIZE" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"size\": 0}]}",
          "\"size\" must be more than 0" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", \"size\": true}]}",
          "\"size\" must be \"min\", \"grow\", bytes or a SIZE" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"windows\", \"size\": \"grow\"}]}",
          "\"grow\" needs options.size" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\", \"optional\": \"yes\"}]}",
          "\"optional\" must be a boolean" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"keep_order\": 1}",
          "\"keep_order\" must be a boolean" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"output\": \"\"}",
          "\"output\" is empty" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"options\": {\"colour\": 1}}",
          "options: unknown field \"colour\"" },
        { "{\"p2v_plan\": 3, \"select\": [{\"role\": \"boot\"}]}", "version 3" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"options\": {\"vm_def\":"
          " {\"format\": \"vmware\"}}}", "\"format\": unknown value \"vmware\"" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"options\": {\"vm_def\":"
          " {\"format\": \"qemu\", \"cpus\": 5000}}}", "options.vm_def: \"cpus\" is out of range" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"options\": {\"vm_def\":"
          " {\"format\": \"qemu\", \"file\": \"\"}}}", "options.vm_def: \"file\" is empty" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"options\": {\"vm_def\":"
          " {\"format\": \"qemu\", \"tpm\": \"maybe\"}}}", "\"tpm\": unknown value \"maybe\"" },
        { "{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}], \"options\": {\"vm_def\":"
          " {\"format\": \"qemu\", \"colour\": 1}}}", "options.vm_def: unknown field \"colour\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p2v_err err = { { 0 } };
        int rc;
        convert_planfile *pf = parse(bad[i].text, &rc, &err);
        CHECK(rc < 0 && pf == NULL);
        if (!strstr(err.msg, bad[i].msg)) {
            fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, err.msg, bad[i].msg);
            CHECK(0);
        }
        convert_planfile_free(pf);
    }
}

/* A label of 255 bytes is the limit; 256, or 129 entries, are refused. */
static void test_limits(void)
{
    char *text = malloc(64 * 1024);
    char label[257];
    p2v_err err = { { 0 } };
    int rc;
    memset(label, 'x', 256);
    label[256] = '\0';
    snprintf(text, 64 * 1024, "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", "
                              "\"label\": \"%s\"}]}", label);
    CHECK(parse(text, &rc, &err) == NULL && rc == -EINVAL);
    label[255] = '\0';
    snprintf(text, 64 * 1024, "{\"p2v_plan\": 2, \"select\": [{\"role\": \"data\", "
                              "\"label\": \"%s\"}]}", label);
    convert_planfile *pf = parse(text, &rc, &err);
    CHECK(rc == 0 && pf && strlen(pf->roles[0].sel.label) == 255);
    convert_planfile_free(pf);
    size_t n = (size_t)snprintf(text, 64 * 1024, "{\"p2v_plan\": 2, \"select\": [");
    for (int i = 0; i < 129; i++)
        n += (size_t)snprintf(text + n, 64 * 1024 - n, "%s{\"role\": \"data\"}", i ? "," : "");
    snprintf(text + n, 64 * 1024 - n, "]}");
    CHECK(parse(text, &rc, &err) == NULL && strstr(err.msg, "129 entries"));
    free(text);
}

/* options.vm_def in a version 1 plan: read back as the --vm-def spec. */
static void test_vmdef_v1(void)
{
    const char *text =
        "{\"p2v_plan\": 1, \"output\": \"o.qcow2\", \"options\": {\"vm_def\": {\"format\": "
        "\"libvirt\", \"file\": \"vm.xml\", \"keep_mac\": true, \"keep_smbios\": false, "
        "\"secure_boot\": true, \"memory\": 4294967296, \"cpus\": 2, \"tpm\": \"yes\"}}, \"disks\": [{\"path\": "
        "\"d.img\", \"size\": 1048576, \"sector_size\": 512, \"table\": \"mbr\", \"id\": "
        "\"0x00000001\"}], \"selections\": [{\"disk\": 0, \"number\": 1, \"start\": 2048, "
        "\"size\": 8, \"type\": \"0x83\"}]}";
    p2v_err err = { { 0 } };
    int rc;
    convert_planfile *pf = parse(text, &rc, &err);
    CHECK(rc == 0 && pf);
    if (!pf) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_STR(pf->rq.vmdef.spec, "libvirt:vm.xml");
    CHECK(pf->rq.vmdef.keep_mac && !pf->rq.vmdef.keep_smbios && pf->rq.vmdef.secure_boot);
    CHECK_EQ_U64(pf->rq.vmdef.memory, 4ULL << 30);
    CHECK_EQ_U64(pf->rq.vmdef.cpus, 2);
    CHECK(pf->rq.vmdef.tpm == CONVERT_TPM_YES);
    convert_planfile_free(pf);
}

/* An 8 MiB MBR disk of the given partition types (1 MiB each from 1 MiB;
 * no filesystems: the roles come from the types) written to path. */
static void write_disk(const char *path, uint32_t sig, const uint8_t *types, size_t n)
{
    ptable t = { .type = PTABLE_MBR, .sector_size = 512, .disk_sectors = 8 * MiB / 512,
                 .mbr_signature = sig };
    ptable_part parts[4];
    for (size_t i = 0; i < n; i++)
        parts[i] = (ptable_part){ .number = (unsigned)i + 1, .start = 2048 * (i + 1),
                                  .size = 2048, .mbr_type = types[i] };
    t.parts = parts;
    t.nparts = n;
    memdisk d = memdisk_with_table(&t);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(d.buf, 1, d.len, f) == d.len);
    if (f)
        fclose(f);
    free(d.buf);
}

/* A new directory $TMPDIR/p2v-NAME.XXXXXX (/tmp without TMPDIR) for two
 * disks, a.img and b.img. */
struct disk_pair {
    char dir[256], a[320], b[320];
};

/* Make d's directory and name its disks; -1 (a failed check) when it
 * cannot be made. */
static int disk_pair_dir(struct disk_pair *d, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/p2v-%s.XXXXXX", tmp ? tmp : "/tmp", name);
    if (!mkdtemp(d->dir)) {
        CHECK(0);
        return -1;
    }
    snprintf(d->a, sizeof d->a, "%s/a.img", d->dir);
    snprintf(d->b, sizeof d->b, "%s/b.img", d->dir);
    return 0;
}

static void disk_pair_remove(const struct disk_pair *d)
{
    unlink(d->a);
    unlink(d->b);
    rmdir(d->dir);
}

static convert_planfile *resolved(const char *text, const char *const *disks, size_t n, int *rc,
                                  p2v_err *err)
{
    convert_planfile *pf = parse(text, rc, err);
    CHECK(*rc == 0);
    if (!pf)
        return NULL;
    *rc = convert_planfile_resolve(pf, disks, n, NULL, err);
    return pf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 16);
    if (f && buf)
        CHECK(fread(buf, 1, (1 << 16) - 1, f) > 0);
    if (f)
        fclose(f);
    return buf;
}

/* A job's selection saved as a role plan (the picking screen's S) resolves
 * back to the same selection on the same disk. */
static void test_save_roles(const char *dir, const char *a)
{
    convert_sel sels[] = { { .disk = a, .number = 3 }, { .disk = a, .number = 2 },
                           { .disk = a, .number = 1 }, { .disk = a, .number = 4,
                                                         .size = 2 * MiB } };
    convert_request rq = { .sels = sels, .nsels = 4, .output_template = "{serial}.qcow2",
                           .output = "SER.qcow2" };
    convert_job *job = NULL;
    p2v_err err = { { 0 } };
    char path[320];
    snprintf(path, sizeof path, "%s/roles.json", dir);
    int rc = convert_plan_from_request(&rq, NULL, &job, &err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK(convert_planfile_save_roles(job, path, &err) == 0);
    convert_job_free(job);
    char *text = slurp(path);
    convert_planfile *pf = parse(text, &rc, &err);
    CHECK(rc == 0 && pf);
    if (!pf) {
        fprintf(stderr, "%s\n%s\n", text, err.msg);
        free(text);
        return;
    }
    CHECK_STR(pf->output, "{serial}.qcow2");
    CHECK_EQ_U64(pf->nroles, 4);
    CHECK(pf->roles[0].sel.role == ROLE_BOOT && !pf->roles[0].sel.optional);
    CHECK(pf->roles[1].sel.role == ROLE_RECOVERY && pf->roles[1].sel.optional);
    CHECK(pf->roles[2].sel.role == ROLE_OEM && pf->roles[3].sel.role == ROLE_SWAP);
    CHECK_EQ_U64(pf->roles[3].new_size, 2 * MiB);
    CHECK(!pf->keep_order);
    const char *one[] = { a };
    CHECK(convert_planfile_resolve(pf, one, 1, NULL, &err) == 0);
    const convert_request *back = convert_planfile_request(pf);
    for (size_t i = 0; back && i < 4; i++)
        CHECK_EQ_U64(back->sels[i].number, sels[i].number);
    convert_planfile_free(pf);
    free(text);
    unlink(path);
}

/* Resolution on disks at hand, through the files a plan run opens: ESP
 * (0xEF) is boot, 0x27 recovery, 0xDE (Dell utility) oem, 0x82 swap. */
static void test_resolve(void)
{
    struct disk_pair d;
    if (disk_pair_dir(&d, "roles") < 0)
        return;
    write_disk(d.a, 0x11111111, (const uint8_t[]){ 0xde, 0x27, 0xef, 0x82 }, 4);
    write_disk(d.b, 0x22222222, (const uint8_t[]){ 0xef }, 1);
    const char *one[] = { d.a }, *two[] = { d.a, d.b };
    p2v_err err = { { 0 } };
    int rc;
    /* plan order kept, each entry's picks; "size" carried to the request */
    convert_planfile *pf = resolved("{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}, "
                                    "{\"role\": \"swap\", \"size\": \"2M\"}, {\"role\": "
                                    "\"recovery\"}, {\"role\": \"data\", \"optional\": true}, "
                                    "{\"role\": \"oem\", \"optional\": true}]}", one, 1, &rc, &err);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    if (pf && rc == 0) {
        CHECK_EQ_U64(pf->nsels, 4);
        CHECK_EQ_U64(pf->ndisks, 1);
        const convert_request *rq = convert_planfile_request(pf);
        CHECK(rq && rq->nsels == 4);
        unsigned want[] = { 3, 4, 2, 1 };
        for (size_t i = 0; rq && i < 4; i++) {
            CHECK_STR(rq->sels[i].disk, d.a);
            CHECK_EQ_U64(rq->sels[i].number, want[i]);
        }
        CHECK_EQ_U64(rq->sels[1].size, 2 * MiB);
        CHECK_EQ_U64(pf->picks[3].entry, 4);
        CHECK_STR(pf->disks[0].id, "0x11111111");
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        convert_planfile_resolution_text(pf, f);
        fclose(f);
        CHECK(strstr(text, "4. data, optional") && strstr(text, "-> optional, nothing matched"));
        CHECK(strstr(text, "selection (target order):") != NULL);
        free(text);
    }
    convert_planfile_free(pf);
    /* two boot partitions where one is meant; a disk filter tells them apart */
    pf = resolved("{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}]}", two, 2, &rc, &err);
    CHECK(rc == -EEXIST);
    CHECK(strstr(err.msg, "select entry 1 (boot) matches 2 partitions where one is meant") &&
          strstr(err.msg, "a.img:3 and") && strstr(err.msg, "b.img:1"));
    CHECK(pf && pf->nsels == 0);
    convert_planfile_free(pf);
    pf = resolved("{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\", \"disk\": 1}]}", two, 2,
                  &rc, &err);
    CHECK(rc == 0 && pf && pf->nsels == 1 && pf->ndisks == 1 &&
          !strcmp(pf->disks[0].path, d.b));
    convert_planfile_free(pf);
    /* a non-optional entry that matches nothing */
    pf = resolved("{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}, {\"role\": "
                  "\"windows\"}]}", one, 1, &rc, &err);
    CHECK(rc == -ENOENT && strstr(err.msg, "select entry 2 (windows) matches no partition"));
    convert_planfile_free(pf);
    /* "grow" on a partition that is not the last */
    pf = resolved("{\"p2v_plan\": 2, \"options\": {\"size\": 67108864}, \"keep_order\": true,"
                  " \"select\": [{\"role\": \"boot\", \"size\": \"grow\"}, {\"role\": "
                  "\"swap\"}]}", one, 1, &rc, &err);
    CHECK(rc == -EINVAL && strstr(err.msg, "not the last partition"));
    convert_planfile_free(pf);
    /* a DISK that cannot be opened, when given, is an error */
    const char *missing[] = { "/nonexistent/disk.img" };
    pf = resolved("{\"p2v_plan\": 2, \"select\": [{\"role\": \"boot\"}]}", missing, 1, &rc,
                  &err);
    CHECK(rc < 0 && strstr(err.msg, "/nonexistent/disk.img"));
    convert_planfile_free(pf);
    test_save_roles(d.dir, d.a);
    disk_pair_remove(&d);
}

/* Partition k of d as an NTFS volume (what the probe would find). */
static void as_ntfs(convert_disk *d, size_t k, const char *label)
{
    convert_part *cp = &d->parts[k];
    cp->probed = true;
    cp->fs.kind = FS_NTFS;
    snprintf(cp->fs.type, sizeof cp->fs.type, "ntfs");
    snprintf(cp->fs.label, sizeof cp->fs.label, "%s", label);
}

static unsigned role_mask(const convert_disk *const *all, size_t nall, const convert_disk *d,
                          size_t k)
{
    char what[16] = "x", version[48];
    struct role_part rp;
    planfile_role_part(all, nall, d, k, 0, what, version, sizeof version, &rp);
    return roles_of(&rp);
}

/* A plain NTFS partition (type 0x07) that a Windows volume's ReAgent.xml
 * names as WinRE's place is recovery, not data; matched by the disk's
 * identity and the partition's byte offset as the XML gives them. (What
 * detection reads from ReAgent.xml is set here as win_detect fills it; the
 * file itself is read end to end in tests/integration/plan_roles.sh.) */
static void test_winre_by_reagent(void)
{
    struct disk_pair d;
    if (disk_pair_dir(&d, "winre") < 0)
        return;
    write_disk(d.a, 0x1234abcd, (const uint8_t[]){ 0x07, 0x07, 0x07 }, 3);
    write_disk(d.b, 0x5555aaaa, (const uint8_t[]){ 0x07, 0x07, 0x07 }, 3);
    convert_disk_opts o = { 0 };
    convert_disk *da = NULL, *db = NULL;
    p2v_err err = { { 0 } };
    CHECK(convert_disk_open(d.a, &o, &da, &err) == 0 && convert_disk_open(d.b, &o, &db, &err) == 0);
    if (!da || !db)
        goto out;
    for (size_t k = 0; k < 3; k++) {
        as_ntfs(da, k, k == 2 ? "Recovery" : "Vol");
        as_ntfs(db, k, "Vol");
    }
    const convert_disk *one[] = { da }, *two[] = { da, db };
    /* a:1 holds Windows; its ReAgent.xml names a:3 (0x1234abcd, 3 MiB) */
    convert_part *win = &da->parts[0];
    win->win_probed = true;
    win->win.win.present = true;
    CHECK_EQ_U64(role_mask(one, 1, da, 2), 1u << ROLE_DATA); /* no ReAgent.xml: data */
    win->win.winre_named = true;
    win->win.winre = (win_part_id){ .mbr_signature = 0x1234abcd, .mbr_offset = 3 * MiB };
    CHECK_EQ_U64(role_mask(one, 1, da, 2), 1u << ROLE_RECOVERY);
    CHECK(planfile_winre_named(one, 1, da, da->parts[2].p));
    CHECK_EQ_U64(role_mask(one, 1, da, 1), 1u << ROLE_DATA);   /* another offset */
    CHECK_EQ_U64(role_mask(one, 1, da, 0), 1u << ROLE_WINDOWS);
    /* the same offset on a disk of another signature is not it */
    CHECK_EQ_U64(role_mask(two, 2, db, 2), 1u << ROLE_DATA);
    /* nor on a GPT disk's terms (a GUID names a GPT disk, never an MBR one) */
    win->win.winre = (win_part_id){ .gpt = true, .mbr_offset = 3 * MiB };
    CHECK(guid_parse("11111111-2222-4333-8444-555555555555", &win->win.winre.disk_guid) == 0);
    CHECK_EQ_U64(role_mask(one, 1, da, 2), 1u << ROLE_DATA);
    /* a Windows volume on the other disk naming this one: found across disks */
    win->win.winre_named = false;
    db->parts[1].win_probed = true;
    db->parts[1].win.win.present = true;
    db->parts[1].win.winre_named = true;
    db->parts[1].win.winre = (win_part_id){ .mbr_signature = 0x1234abcd, .mbr_offset = 3 * MiB };
    CHECK_EQ_U64(role_mask(two, 2, da, 2), 1u << ROLE_RECOVERY);
    CHECK_EQ_U64(role_mask(one, 1, da, 2), 1u << ROLE_DATA); /* that disk not at hand */
    /* WinRE on the Windows volume itself (C:\Recovery): still windows only */
    db->parts[1].win.winre = (win_part_id){ .mbr_signature = 0x5555aaaa, .mbr_offset = 2 * MiB };
    CHECK_EQ_U64(role_mask(two, 2, db, 1), 1u << ROLE_WINDOWS);
out:
    convert_disk_free(da);
    convert_disk_free(db);
    disk_pair_remove(&d);
}

int main(void)
{
    test_resolve();
    test_winre_by_reagent();
    test_issue_example();
    test_filters();
    test_refused();
    test_limits();
    test_vmdef_v1();
    return t_done("test_planfile_roles");
}
