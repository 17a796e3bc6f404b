; A BIOS boot program for the boot-check tests: it paints one screen of
; text in VGA text mode (80x25) and halts, nothing on the serial port, so
; what it shows can only be read from a screenshot. Assembled at test time:
;   nasm -f bin -DSCREEN_STOP|-DSCREEN_BOOTMGR|-DSCREEN_READY -o OUT bootscreen.asm
; The output is the 440 bytes of MBR boot code (the table goes after it).
bits 16
org 0x7c00

%ifdef SCREEN_READY
  %define ATTR 0x07                     ; light grey on black
%else
  %define ATTR 0x1F                     ; white on blue
%endif

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov ax, 0x0003                      ; 80x25 colour text mode, screen cleared
    int 0x10
    mov ah, 0x01                        ; no cursor
    mov cx, 0x2000
    int 0x10
    mov ax, 0xb800
    mov es, ax
    xor di, di
    mov ax, (ATTR << 8) | ' '           ; the whole screen in the background colour
    mov cx, 80 * 25
    rep stosw
    cld
    mov si, lines
next_line:
    lodsw                               ; offset in video memory, 0xffff ends
    cmp ax, 0xffff
    je done
    mov di, ax
next_char:
    lodsb
    test al, al
    jz next_line
    mov ah, ATTR
    stosw
    jmp next_char
done:
    cli
halt:
    hlt
    jmp halt

; line ROW, COLUMN, 'text'
%macro line 3
    dw ((%1) * 80 + (%2)) * 2
    db %3, 0
%endmacro

lines:
%ifdef SCREEN_STOP
    line 3, 6, ':('
    line 6, 6, 'Your PC ran into a problem and needs to restart.'
    line 10, 6, 'Stop code: INACCESSIBLE_BOOT_DEVICE'
%elifdef SCREEN_BOOTMGR
    line 1, 30, 'Windows Boot Manager'
    line 4, 4, 'Windows failed to start. A recent hardware or software change'
    line 8, 4, 'Status: 0xc000000e'
%else
    line 10, 20, 'P2V TEST DESKTOP READY'
%endif
    dw 0xffff

    times 440 - ($ - $$) db 0
