#!/usr/bin/env python3
"""Write the seed corpus of fuzz_bcd: BCD device elements as mkwin_reg.py
(the tests' Windows generator) encodes them: MBR and GPT partition devices,
a WinRE ramdisk device (as Windows lays it out, and padded), and the two MountedDevices forms.
usage: fuzz/make-bcd-seeds.py   (writes fuzz/corpus/fuzz_bcd)"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import mkwin_reg as w  # noqa: E402

GDISK = "11111111-2222-3333-4444-555555555555"
GPART = "aaaaaaaa-0000-4000-8000-000000000001"
seeds = {
    "part_mbr": w.device("mbr", "0x1234abcd", "1048576"),
    "part_gpt": w.device("gpt", GDISK, GPART),
    "ramdisk_mbr": w.ramdisk("mbr", "0x1234abcd", "93323264", "\\Recovery\\WindowsRE\\Winre.wim",
                             w.RAMOPTS),
    "ramdisk_gpt": w.ramdisk("gpt", GDISK, GPART, "\\Recovery\\WindowsRE\\Winre.wim", w.RAMOPTS),
    # the padded 32-byte local part p2v's earlier test stores had
    "ramdisk_mbr_padded": w.ramdisk("mbr", "0x1234abcd", "93323264",
                                    "\\Recovery\\WindowsRE\\Winre.wim", w.RAMOPTS, 32),
    "ramdisk_gpt_padded": w.ramdisk("gpt", GDISK, GPART, "\\Recovery\\WindowsRE\\Winre.wim",
                                    w.RAMOPTS, 32),
    "boot_device": bytes(16) + struct.pack("<IIII", 1, 0, 24, 0) + bytes(8),
    "md_mbr": w.md_value("mbr", "0x1234abcd", "1048576"),
    "md_gpt": w.md_value("gpt", GDISK, GPART),
}
out = os.path.join(HERE, "corpus", "fuzz_bcd")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
