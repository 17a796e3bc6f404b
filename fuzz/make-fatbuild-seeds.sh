#!/bin/sh
# Seeds of fuzz_fatbuild: lists of paths as the UEFI switch adds them
# (Windows' boot files, a language folder, Fonts, long and colliding names).
# usage: fuzz/make-fatbuild-seeds.sh   (writes fuzz/corpus/fuzz_fatbuild)
out=$(dirname "$0")/corpus/fuzz_fatbuild
mkdir -p "$out"
printf '%s\n' EFI/Microsoft/Boot/ EFI/Microsoft/Boot/bootmgfw.efi EFI/Microsoft/Boot/BCD \
    EFI/Microsoft/Boot/en-US/bootmgfw.efi.mui EFI/Microsoft/Boot/Fonts/wgl4_boot.ttf \
    EFI/Boot/bootx64.efi >"$out/windows"
printf '%s\n' "A long file name.txt" "A long file name 2.txt" abcdefghijklm \
    abcdefghijklmnopqrstuvwxyz.dat "x/y/z/" "caf$(printf '\303\251').txt" >"$out/names"
