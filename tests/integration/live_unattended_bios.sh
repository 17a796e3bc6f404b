#!/bin/bash
# p2v Live, unattended, under SeaBIOS (the ISO as a USB stick): the story PC's two
# disks, and a third disk with a P2V-OUT filesystem holding a plan saved here
# by p2v convert --save-plan from loop devices. The live system runs the plan,
# writes image.qcow2, p2v-report.json and p2v-log.txt there and powers off;
# the image passes the convert story's checks; the sources are unchanged.
set -euo pipefail
source "$P2V_SRC/tests/lib/common.sh"
source "$P2V_SRC/tests/lib/mkpc.sh"
source "$P2V_SRC/tests/lib/bootimg.sh"
source "$P2V_SRC/tests/lib/live.sh"
live_unattended bios
