/* The subcommands of `p2v img`, one file each (img_*.c). */
#ifndef P2V_CLI_IMG_OPS_H
#define P2V_CLI_IMG_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int img_info_main(int argc, char **argv);
int img_check_main(int argc, char **argv);
int img_map_main(int argc, char **argv);
int img_compare_main(int argc, char **argv);
int img_convert_main(int argc, char **argv);

/* Parse "--output=json|human" style options shared by info/check/map, and
 * --io-timeout SECONDS where io_timeout is not NULL (commands that read NBD
 * exports). Returns 0 and sets *json, or prints the usage error and returns
 * 2; returns -1 after printing help. *file gets the single FILE argument. */
int img_parse_output_args(int argc, char **argv, const char *usage, int *json,
                          unsigned *io_timeout, const char **file);
/* The main of a sub-command that takes [--output=json|human] FILE and no
 * --io-timeout: the options parsed as above, then run(FILE, json) gives the
 * exit status. */
int img_run_on_file(int argc, char **argv, const char *usage,
                    int (*run)(const char *path, int json));
/* --io-timeout SECONDS of `p2v img CMD`: 1 to IMG_IO_TIMEOUT_MAX; -1 after
 * printing the usage error. */
#define IMG_IO_TIMEOUT_MAX 86400u
int img_parse_io_timeout(const char *cmd, const char *arg, unsigned *out);

/* A size as qemu-img prints it in human output: the unit (B, KiB, MiB...)
 * in which the value is below 1000, three significant digits, trailing
 * zeros dropped ("512 B", "196 KiB", "1.5 GiB", "0.977 MiB"). */
char *img_size_str(uint64_t bytes, char *out, size_t outlen);

/* Print the one-line refusal of an image format p2v does not read
 * (a source_format without open; name: "VHDX", "VMDK"...). */
void img_unsupported(const char *path, const char *name);
/* The format of PATH (and, where data_size is not NULL, the size of its data
 * as source_probe_path gives it); NULL after printing the error opening it or
 * the refusal of a format p2v does not read. */
struct source_format;
const struct source_format *img_probe_supported(const char *path, uint64_t *data_size);
/* Probe PATH: true (after printing the refusal, or the error opening it)
 * when it is missing, unreadable or in an unsupported format. */
bool img_refuse_unsupported(const char *path);

#endif
