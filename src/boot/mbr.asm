; p2v's own MBR boot program.
;
; What it is for
;   p2v writes these bytes into bytes 0..439 of LBA 0 of a target image made
;   with `--boot bios` when the source disk of the boot partition had no boot
;   code of its own (a GPT disk, or an MBR whose boot code area is zero).
;   Bytes 440..511 (disk signature, partition table, 0x55AA) are written by the
;   partition table code, not by this program.
;
; What it does (the classic contract between an MBR and a volume boot record)
;   1. The BIOS loads LBA 0 at 0000:7C00 and jumps to it with DL = the drive it
;      booted from.  The program copies itself (the whole sector, with the
;      partition table) to 0000:0600, out of the way of the boot sector it is
;      about to load at 0000:7C00, and continues there.
;   2. It scans the four primary entries.  Every status byte must be 0x00 or
;      0x80 and exactly one must be 0x80 (active); otherwise it stops with
;      "invalid partition table" or "no active partition".
;   3. It checks that the BIOS offers the INT 13h extensions (AH=41h) and reads
;      the first sector of the active partition with an extended read (AH=42h,
;      64-bit LBA from the entry's start field), retrying three times with a
;      disk reset in between.  No CHS fallback: every BIOS of the last twenty
;      years, SeaBIOS included, has the extensions.
;   4. The loaded sector must end in 0x55 0xAA.
;   5. It jumps to 0000:7C00 with DL = boot drive and DS:SI pointing at the
;      active entry in the relocated table (0000:07BE + 16*i): volume boot
;      records such as SYSLINUX's use that entry to learn where their
;      partition starts.
;   Any failure prints "p2v MBR: <reason>" through the BIOS teletype service
;   (INT 10h, AH=0Eh) and halts, leaving the message on screen.
;
; Build: nasm -f bin -o mbr.bin mbr.asm (cmake/boot.cmake does it and turns the
; binary into a C array).  The `times` line at the end makes the assembly fail
; if the program ever grows past 440 bytes.
;
; Registers on entry: DL = boot drive; everything else is undefined.
; The program only needs an 8086 plus 32-bit operand prefixes (386+) for
; copying the start LBA, which every x86-64 machine has.

        bits 16
        cpu 386

RELOC    equ 0x0600              ; where the program runs after copying itself
LOAD     equ 0x7C00              ; where the BIOS put us and where the VBR goes
PTABLE   equ RELOC + 446         ; the partition table in the relocated copy
SIG      equ LOAD + 510          ; boot signature of the loaded sector
ENTRY_SZ equ 16

        org RELOC

start:
        cli                      ; no interrupts while SS:SP is inconsistent
        xor ax, ax
        mov ss, ax
        mov sp, LOAD             ; stack grows down from just below 7C00
        mov ds, ax
        mov es, ax
        sti
        cld
        mov si, LOAD             ; copy the sector we are running from...
        mov di, RELOC            ; ...to 0000:0600
        mov cx, 256              ; 512 bytes
        rep movsw
        jmp 0:relocated          ; far jump: also normalises CS to 0

relocated:
        ; A few old BIOSes pass garbage in DL; a hard-disk MBR can only have
        ; been loaded from a hard disk (0x80..0xFF), so default to the first.
        test dl, 0x80
        jnz .drive_ok
        mov dl, 0x80
.drive_ok:
        mov [drive], dl

        ; ---- find the one active primary entry -------------------------
        xor bp, bp               ; BP = active entry, 0 while none is found
        mov si, PTABLE
        mov cx, 4
.scan:
        mov al, [si]
        test al, al
        jz .next                 ; 0x00: not active
        cmp al, 0x80
        jne bad_table            ; anything but 0x00/0x80 is corrupt
        test bp, bp
        jnz bad_table            ; a second active entry
        mov bp, si
.next:
        add si, ENTRY_SZ
        loop .scan
        test bp, bp
        jz no_active

        ; ---- INT 13h extensions present? --------------------------------
        mov ah, 0x41
        mov bx, 0x55AA
        int 0x13                 ; DL still holds the drive
        jc no_lba
        cmp bx, 0xAA55           ; BX is swapped when the call is supported
        jne no_lba
        test cl, 1               ; bit 0: packet (AH=42h) access supported
        jz no_lba

        ; ---- read the partition's first sector at 0000:7C00 -------------
        ; Disk address packet, built on the stack (16 bytes, read bottom-up):
        ;   +0 size 0x10, +1 reserved 0, +2 count 1, +4 offset, +6 segment,
        ;   +8 LBA (u64): the entry's 32-bit start, high half 0.
        push dword 0
        push dword [bp + 8]
        push word 0              ; buffer segment
        push word LOAD           ; buffer offset
        push word 1              ; one sector
        push word 0x0010         ; packet size, reserved byte
        mov di, 3                ; attempts
.read:
        mov si, sp
        mov dl, [drive]
        mov ah, 0x42
        int 0x13
        jnc .read_ok
        xor ah, ah               ; reset the disk system and try again
        mov dl, [drive]
        int 0x13
        dec di
        jnz .read
        jmp read_error
.read_ok:
        add sp, 16               ; drop the packet

        cmp word [SIG], 0xAA55   ; little-endian: bytes 0x55 0xAA
        jne no_os

        ; ---- hand over to the volume boot record ------------------------
        mov si, bp               ; DS:SI -> active entry (DS = 0)
        mov dl, [drive]
        jmp 0:LOAD

; ---- failures: print "p2v MBR: <reason>" and halt -------------------------
bad_table:
        mov si, msg_table
        jmp fail
no_active:
        mov si, msg_active
        jmp fail
no_lba:
        mov si, msg_lba
        jmp fail
read_error:
        mov si, msg_read
        jmp fail
no_os:
        mov si, msg_sig
fail:
        push si
        mov si, msg_prefix
        call print
        pop si
        call print
.halt:
        hlt                      ; interrupts stay on: Ctrl-Alt-Del still works
        jmp .halt

; print: write the NUL-terminated string at DS:SI with INT 10h teletype.
print:
        lodsb
        test al, al
        jz .done
        mov ah, 0x0E
        mov bx, 0x0007           ; page 0, light grey
        int 0x10
        jmp print
.done:
        ret

msg_prefix: db "p2v MBR: ", 0
msg_table:  db "invalid partition table", 13, 10, 0
msg_active: db "no active partition", 13, 10, 0
msg_lba:    db "BIOS has no INT 13h extensions (LBA)", 13, 10, 0
msg_read:   db "disk read error", 13, 10, 0
msg_sig:    db "no boot sector (55AA) on active partition", 13, 10, 0

drive:      db 0x80              ; boot drive, saved at run time

; The program must fit the 440 bytes before the disk signature; a negative
; count here is an assembly error.
        times 440 - ($ - $$) db 0
