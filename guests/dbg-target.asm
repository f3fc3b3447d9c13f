; dbg-target: the guest the debugger tests drive with gdb (test/gdb.test.ts); also a normal
; self-checking guest. PAE paging (SDM Vol3A 4.4) with a 4 KiB-page alias at C0000000H for physical
; 300000H, a counter written through the alias (watchpoint target), the guest's own DR0/DR7 set to
; values of its own, then paging off and an excursion to real mode at 1F00:1000 (linear 20000H) and
; back (Vol3A 9.9). Labels named dbg_* are the places the tests break at; *_LIN constants give the
; linear addresses of the real-mode code once copied (they appear in nasm's symbol map).
%include "test.inc"

PDPT    equ 0x200000                      ; 32-byte aligned
PD0     equ 0x201000                      ; 00000000H-3FFFFFFFH: 2 MiB identity pages
PD3     equ 0x202000                      ; C0000000H-FFFFFFFFH
PT3     equ 0x203000                      ; C0000000H-C01FFFFFH: 4 KiB pages
ALIAS   equ 0xc0000000
ALIAS_PA equ 0x300000
dbg_counter_va equ ALIAS + 0x20           ; the watched counter (physical 300020H)
dbg_magic_va   equ ALIAS + 0x40           ; a known value, readable only through the alias

RM_SEG  equ 0x1f00
RM_IP   equ 0x1000
RM_LIN  equ RM_SEG * 16 + RM_IP           ; 20000H
%define RM(x) ((x) - rm_blob + RM_IP)
%define LIN(x) ((x) - rm_blob + RM_LIN)
dbg_rm_entry_lin  equ LIN(rm_real)        ; first real-mode instruction
dbg_rm_work_lin   equ LIN(rm_work)        ; breakpoint inside real-mode code
dbg_rm_setpe_lin  equ LIN(rm_setpe)       ; MOV CR0 that sets PE (single-step over the mode switch)

test_main:
  cld
  xor eax, eax
  mov edi, PDPT
  mov ecx, 4 * 1024
  rep stosd
  mov edi, ALIAS_PA
  mov ecx, 1024
  rep stosd
  mov dword [PDPT + 0 * 8], PD0 | 1
  mov dword [PDPT + 3 * 8], PD3 | 1
  mov dword [PD0 + 0 * 8], 0x000000 | 0x83  ; P RW PS
  mov dword [PD0 + 1 * 8], 0x200000 | 0x83
  mov dword [PD3 + 0 * 8], PT3 | 3          ; P RW
  mov dword [PT3 + 0 * 8], ALIAS_PA | 3     ; C0000000H -> 300000H
  mov dword [ALIAS_PA + 0x40], 0x5ca1ab1e
  mov eax, PDPT
  mov cr3, eax
  mov eax, 0x20                             ; CR4.PAE
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
dbg_paged:                                  ; paging is on here
  mov eax, [dbg_magic_va]
  CHECK eax, 0x5ca1ab1e, "PAE alias reads physical 300040H"
  ; The guest's own debug registers: values of its own, which the debugger must leave alone.
  mov eax, 0xdeadbeef
  mov dr0, eax
  mov eax, 0x401                            ; L0 (an execute breakpoint at DEADBEEFH: never reached)
  mov dr7, eax
  mov ecx, 5
dbg_loop:
  inc dword [dbg_counter_va]                ; the watched write
  loop dbg_loop
dbg_loop_done:
  mov eax, [dbg_counter_va]
  CHECK eax, 5, "counter incremented 5 times through the alias"
  mov eax, [ALIAS_PA + 0x20]
  CHECK eax, 5, "the counter is at physical 300020H"
  ; The debugger's breakpoints are invisible: the code at dbg_loop reads back as assembled
  ; (inc dword [imm32] = FF 05 imm32), never as INT3 (CC).
  CHECK [dbg_loop], 0x002005ff, "code bytes at dbg_loop read back as assembled"
  mov eax, dr0
  CHECK eax, 0xdeadbeef, "DR0 keeps the guest's value"
  mov eax, dr7
  CHECK eax, 0x401, "DR7 keeps the guest's value"
  xor eax, eax
  mov dr7, eax
  ; paging off (the code is identity-mapped), then real mode and back
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  mov esi, rm_blob
  mov edi, RM_LIN
  mov ecx, rm_blob_end - rm_blob
  rep movsb
  mov word [t_gdt + T_CODE16 + 2], 0xf000   ; T_CODE16 base 1F000H
  mov byte [t_gdt + T_CODE16 + 4], 0x01
  mov [saved_esp], esp
  sidt [LIN(pm_idtr)]
  cli
  jmp T_CODE16:RM(rm_entry)

pm_back:
  mov ax, T_DATA32
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  mov esp, [saved_esp]
  mov word [t_gdt + T_CODE16 + 2], 0
  mov byte [t_gdt + T_CODE16 + 4], 0
dbg_back:                                   ; protected mode again
  movzx eax, word [LIN(r_work)]
  CHECK eax, 0x1f00, "real-mode code ran with CS = 1F00H"
  movzx eax, word [LIN(r_sum)]
  CHECK eax, 0x0f, "real-mode loop sum 1+2+3+4+5"
  mov eax, cs
  CHECK eax, T_CODE32, "back in 32-bit protected mode"
  ret

align 4
saved_esp: dd 0

; ------------------------------------------------------------------ real-mode code (copied to 20000H)
bits 16
rm_blob:
rm_entry:                                   ; 16-bit protected mode, CS base 1F000H
  mov ax, T_DATA16
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov eax, cr0
  and eax, ~1
  mov cr0, eax
  jmp RM_SEG:RM(rm_real)
rm_real:
  mov ax, cs
  mov ds, ax
  mov ss, ax
  mov sp, 0x8000
rm_work:
  mov [RM(r_work)], ax
  xor ax, ax
  mov cx, 5
.sum:
  add ax, cx
  loop .sum
  mov [RM(r_sum)], ax
  o32 lidt [RM(pm_idtr)]
  mov eax, cr0
  or eax, 1
rm_setpe:
  mov cr0, eax                              ; PE = 1
  jmp dword T_CODE32:pm_back                ; CS = T_CODE32: 32-bit code
r_work:  dw 0
r_sum:   dw 0
pm_idtr: dw 0
         dd 0
rm_blob_end:
bits 32
