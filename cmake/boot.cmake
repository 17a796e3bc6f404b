# p2v's own MBR boot program: src/boot/mbr.asm is assembled with nasm into a
# flat binary, which is turned into a C array (generated/boot_mbr_bin.c) and
# linked into p2vcore.  The binary itself stays in generated/mbr.bin, where
# the boot tests find it.  Nothing generated goes into git.
#
# This file has two roles: included by CMakeLists.txt it sets up the build
# rules; run as `cmake -DIN=... -DOUT=... -P boot.cmake` it converts the binary
# into C.

if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n    " bytes "${bytes}")
  file(WRITE "${OUT}"
    "/* Generated from src/boot/mbr.asm by cmake/boot.cmake: do not edit. */\n"
    "#include <stddef.h>\n#include <stdint.h>\n\n"
    "const uint8_t p2v_mbr_bin[] = {\n    ${bytes}\n};\n"
    "const size_t p2v_mbr_bin_size = ${len};\n")
  return()
endif()

set(P2V_MBR_ASM ${CMAKE_SOURCE_DIR}/src/boot/mbr.asm)
set(P2V_MBR_BIN ${CMAKE_BINARY_DIR}/generated/mbr.bin)
set(P2V_MBR_C ${CMAKE_BINARY_DIR}/generated/boot_mbr_bin.c)

find_program(P2V_NASM nasm)
if(P2V_NASM)
  add_custom_command(
    OUTPUT ${P2V_MBR_BIN}
    COMMAND ${P2V_NASM} -f bin -o ${P2V_MBR_BIN} ${P2V_MBR_ASM}
    DEPENDS ${P2V_MBR_ASM}
    COMMENT "Assembling the MBR boot program")
  add_custom_command(
    OUTPUT ${P2V_MBR_C}
    COMMAND ${CMAKE_COMMAND} -DIN=${P2V_MBR_BIN} -DOUT=${P2V_MBR_C} -P ${CMAKE_CURRENT_LIST_FILE}
    DEPENDS ${P2V_MBR_BIN} ${CMAKE_CURRENT_LIST_FILE}
    COMMENT "Embedding the MBR boot program")
else()
  # Without nasm the build still works; boot_mbr_program() then reports
  # -ENOTSUP and `--boot bios` from a source without boot code fails clearly.
  message(WARNING "nasm not found: p2v will be built without its own MBR boot program")
  file(WRITE ${P2V_MBR_C}
    "/* nasm was not found at configure time: no MBR boot program. */\n"
    "#include <stddef.h>\n#include <stdint.h>\n\n"
    "const uint8_t p2v_mbr_bin[1] = {0};\nconst size_t p2v_mbr_bin_size = 0;\n")
endif()
target_sources(p2vcore PRIVATE ${P2V_MBR_C})
