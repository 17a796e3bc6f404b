#!/usr/bin/env python3
"""Write the seed corpus of fuzz_reagent: WinRE's ReAgent.xml as the tests'
Windows generator (tests/lib/mkwin_reg.py) writes it, for an MBR and a GPT
disk, and a variant with single quotes and another attribute order.
usage: fuzz/make-reagent-seeds.py   (writes fuzz/corpus/fuzz_reagent)"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import mkwin_reg as w  # noqa: E402

seeds = {
    "mbr": w.reagent_text("mbr", "0x1234abcd", "93323264"),
    "gpt": w.reagent_text("gpt", "11111111-2222-4333-8444-555555555555", "105906176"),
    "quotes": b"<WindowsRE><WinreLocation guid='{00000000-0000-0000-0000-000000000000}' "
              b"offset='17825792' path='\\Recovery' id='305441741'/></WindowsRE>",
}
out = os.path.join(HERE, "corpus", "fuzz_reagent")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
