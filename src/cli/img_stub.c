#include "cli/commands.h"
#include "cli/img_ops.h"
int img_info_main(int argc, char **argv) { (void)argc; (void)argv; return 1; }
int img_check_main(int argc, char **argv) { (void)argc; (void)argv; return 1; }
int img_map_main(int argc, char **argv) { (void)argc; (void)argv; return 1; }
int img_compare_main(int argc, char **argv) { (void)argc; (void)argv; return 1; }
