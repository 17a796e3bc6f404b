#!/usr/bin/env python3
"""Write the seed corpora of the boot-check fuzzers: QMP lines as qemu sends
them (fuzz_qmp) and console/screen texts with an --expect line first
(fuzz_bootcheck_text). Plain text, a few hundred bytes each.
usage: fuzz/make-seeds-bootcheck.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

QMP = {
    "greeting": '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, '
                '"package": ""}, "capabilities": ["oob"]}}\r\n',
    "return-empty": '{"return": {}}\r\n',
    "return-status": '{"return": {"status": "internal-error", "singlestep": false, '
                     '"running": false}}\r\n',
    "error": '{"error": {"class": "GenericError", "desc": "Could not open \'/x.png\'"}}\r\n',
    "event-shutdown": '{"timestamp": {"seconds": 1700000000, "microseconds": 1}, '
                      '"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-reset"}}\r\n',
    "event-plain": '{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}\r\n',
}

TEXT = {
    "seabios": "P2V-BOOT-OK\nSeaBIOS (version 1.16.2)\r\nBooting from Hard Disk...\r\n"
               "Boot failed: not a bootable disk\r\n\r\nNo bootable device.\r\n",
    "ovmf": "marker\n\x1b[0m\x1b[37m\x1b[40m\x1b[2JBdsDxe: loading Boot0001 \"UEFI QEMU HARDDISK\"\r\n"
            "BdsDxe: failed to load Boot0001 \"UEFI QEMU HARDDISK\" from PciRoot(0x0): Not Found\r\n",
    "stop": "desktop\nYour PC ran into a problem and needs to restart.\n"
            "Stop code: INACCESSIBLE BOOT DEVICE\n",
    "bootmgr": "x\nWindows Boot Manager\nWindows failed to start.\nStatus: OxcO00000e\n",
    "linux": "login:\nDebian GNU/Linux 12 p2v ttyS0\n\np2v login:\n",
}


def write(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v.encode())


write("fuzz_qmp", QMP)
write("fuzz_bootcheck_text", TEXT)
