; sys-mode-switch: protected mode → real mode with a large real-mode CS (1F00H, the seed's value) and
; back (SDM Vol3A 9.9.2, 9.9.1). The real-mode part runs at 1F00:1000 (linear 20000H): it is entered
; through a 16-bit protected-mode segment with the same base, CR0.PE is cleared, and a far jump loads
; CS = 1F00H. In real mode: INT 60H and INT 61H through the IVT (61H's handler in segment 1F10H),
; and #DE, #UD (UD2 and LAR), #GP and #SS delivered through the IVT with the faulting CS:IP pushed.
; The handlers record what they see; protected mode checks it all after the way back.
%include "test.inc"

RM_SEG  equ 0x1f00
RM_IP   equ 0x1000                        ; the blob runs at 1F00:1000
RM_LIN  equ RM_SEG * 16 + RM_IP           ; = 20000H
%define RM(x) ((x) - rm_blob + RM_IP)     ; offset of a blob label in segment 1F00H
%define LIN(x) ((x) - rm_blob + RM_LIN)   ; linear address of a blob label once copied

%macro IVT 3                              ; vector, segment, offset
  mov dword [%1 * 4], ((%2) << 16) | (%3)
%endmacro

test_main:
  cld
  mov esi, rm_blob
  mov edi, RM_LIN
  mov ecx, rm_blob_end - rm_blob
  rep movsb
  ; T_CODE16: base 1F000H (the far jump below lands where real-mode CS 1F00H will point).
  mov word [t_gdt + T_CODE16 + 2], 0xf000
  mov byte [t_gdt + T_CODE16 + 4], 0x01
  IVT 0x00, RM_SEG, RM(rm_exc0)
  IVT 0x06, RM_SEG, RM(rm_exc6)
  IVT 0x0c, RM_SEG, RM(rm_exc12)
  IVT 0x0d, RM_SEG, RM(rm_exc13)
  IVT 0x60, RM_SEG, RM(rm_int60)
  IVT 0x61, RM_SEG + 0x10, RM(rm_int61) - 0x100
  sidt [LIN(pm_idtr)]
  mov [saved_esp], esp
  cli
  jmp T_CODE16:RM(rm_entry)

pm_back:                                  ; back from real mode: CS = T_CODE32, DS... still real-mode values
  mov ax, T_DATA32
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  mov esp, [saved_esp]
  mov word [t_gdt + T_CODE16 + 2], 0
  mov byte [t_gdt + T_CODE16 + 4], 0

  movzx eax, word [LIN(r_end)]
  CHECK eax, 0xe0e0, "real-mode code ran to the end"
  movzx eax, word [LIN(r_cs)]
  CHECK eax, RM_SEG, "real mode: CS = 1F00H"
  movzx eax, word [LIN(r_msw)]
  and eax, 1
  CHECK eax, 0, "real mode: CR0.PE = 0 (SMSW)"
  movzx eax, word [LIN(r_data)]
  CHECK eax, 0x4d2e, "real mode: data through DS = 1F00H (linear 20000H + offset)"
  movzx eax, word [LIN(r60)]
  CHECK eax, 0x6060, "INT 60H handler ran"
  movzx eax, word [LIN(r60_cs)]
  CHECK eax, RM_SEG, "INT 60H pushed CS = 1F00H"
  movzx eax, word [LIN(r60_ip)]
  CHECK eax, RM(rm_after60), "INT 60H pushed IP = next instruction"
  movzx eax, word [LIN(r60_flags)]
  and eax, 1
  CHECK eax, 1, "INT 60H pushed FLAGS with CF = 1"
  movzx eax, word [LIN(r60_hflags)]
  and eax, 0x300
  CHECK eax, 0, "INT 60H handler runs with IF = TF = 0"
  movzx eax, word [LIN(r_flags_after)]
  and eax, 1
  CHECK eax, 1, "IRET restored CF"
  movzx eax, word [LIN(r61_cs)]
  CHECK eax, RM_SEG + 0x10, "INT 61H handler runs with CS = 1F10H"
  movzx eax, word [LIN(r61_ret)]
  CHECK eax, RM_SEG, "INT 61H returned to CS = 1F00H"
  movzx eax, word [LIN(r_cnt0)]
  CHECK eax, 1, "#DE delivered through the IVT"
  movzx eax, word [LIN(r_ip0)]
  CHECK eax, RM(rm_de), "#DE pushed IP = the DIV"
  movzx eax, word [LIN(r_cs0)]
  CHECK eax, RM_SEG, "#DE pushed CS = 1F00H"
  movzx eax, word [LIN(r_cnt6)]
  CHECK eax, 2, "#UD twice (UD2, LAR in real mode)"
  movzx eax, word [LIN(r_ip6)]
  CHECK eax, RM(rm_lar), "#UD pushed IP = the LAR"
  movzx eax, word [LIN(r_cnt13)]
  CHECK eax, 1, "#GP for a word at DS:FFFFH"
  movzx eax, word [LIN(r_ip13)]
  CHECK eax, RM(rm_gp), "#GP pushed IP = the MOV"
  movzx eax, word [LIN(r_cnt12)]
  CHECK eax, 1, "#SS for a word at SS:FFFFH"
  movzx eax, word [LIN(r_ip12)]
  CHECK eax, RM(rm_ss), "#SS pushed IP = the MOV"
  ; protected mode again, with the framework's IDT
  mov eax, cr0
  and eax, 1
  CHECK eax, 1, "CR0.PE = 1 again"
  mov eax, cs
  CHECK eax, T_CODE32, "CS = T_CODE32"
  TRY
    ud2
  CATCH 6, -1, "#UD through the IDT after the round trip"
  ret

align 4
saved_esp: dd 0

; ------------------------------------------------------------------ the real-mode blob
bits 16
rm_blob:
rm_entry:                                 ; 16-bit protected mode, CS = T_CODE16 (base 1F000H)
  mov ax, T_DATA16
  mov ds, ax
  mov es, ax
  mov ss, ax                              ; 64 KiB limits, as real mode expects
  o32 lidt [cs:RM(rm_idtr)]
  mov eax, cr0
  and eax, ~1
  mov cr0, eax
  jmp RM_SEG:RM(rm_real)
rm_real:
  mov ax, cs
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x8000
  mov [RM(r_cs)], ax
  smsw [RM(r_msw)]
  mov word [RM(r_data)], 0x4d2e
  stc
  int 0x60
rm_after60:
  pushf
  pop word [RM(r_flags_after)]
  int 0x61
  mov word [RM(r_skip)], rm_de_end - rm_de
  xor cx, cx
  mov ax, 1
  xor dx, dx
rm_de:
  div cx
rm_de_end:
  mov word [RM(r_skip)], rm_ud_end - rm_ud
rm_ud:
  ud2
rm_ud_end:
  mov word [RM(r_skip)], rm_lar_end - rm_lar
rm_lar:
  lar ax, bx
rm_lar_end:
  mov word [RM(r_skip)], rm_gp_end - rm_gp
rm_gp:
  mov ax, [0xffff]
rm_gp_end:
  mov word [RM(r_skip)], rm_ss_end - rm_ss
  mov bp, 0xffff
rm_ss:
  mov ax, [bp]
rm_ss_end:
  mov word [RM(r_end)], 0xe0e0
  ; back to protected mode
  o32 lidt [RM(pm_idtr)]
  mov eax, cr0
  or eax, 1
  mov cr0, eax
  jmp dword T_CODE32:pm_back

; Exception handler for vector %1: count it, record the pushed IP and CS, resume past the faulting
; instruction (r_skip bytes).
%macro RM_EXC 1
rm_exc%1:
  push bp
  mov bp, sp
  push ax
  inc word [cs:RM(r_cnt%1)]
  mov ax, [bp + 2]
  mov [cs:RM(r_ip%1)], ax
  mov ax, [bp + 4]
  mov [cs:RM(r_cs%1)], ax
  mov ax, [cs:RM(r_skip)]
  add [bp + 2], ax
  pop ax
  pop bp
  iret
%endmacro
RM_EXC 0
RM_EXC 6
RM_EXC 12
RM_EXC 13

rm_int60:
  push bp
  mov bp, sp
  push ax
  mov ax, [bp + 2]
  mov [RM(r60_ip)], ax
  mov ax, [bp + 4]
  mov [RM(r60_cs)], ax
  mov ax, [bp + 6]
  mov [RM(r60_flags)], ax
  pushf
  pop ax
  mov [RM(r60_hflags)], ax
  mov word [RM(r60)], 0x6060
  pop ax
  pop bp
  iret

rm_int61:                                 ; entered as 1F10:(offset - 100H)
  push bp
  mov bp, sp
  push ax
  mov ax, cs
  mov [cs:RM(r61_cs) - 0x100], ax
  mov ax, [bp + 4]
  mov [cs:RM(r61_ret) - 0x100], ax
  pop ax
  pop bp
  iret

align 4
rm_idtr:      dw 0x3ff
              dd 0
pm_idtr:      dw 0
              dd 0
r_skip:       dw 0
r_end:        dw 0
r_cs:         dw 0
r_msw:        dw 0
r_data:       dw 0
r_flags_after: dw 0
r60:          dw 0
r60_ip:       dw 0
r60_cs:       dw 0
r60_flags:    dw 0
r60_hflags:   dw 0
r61_cs:       dw 0
r61_ret:      dw 0
%macro RM_VARS 1
r_cnt%1:      dw 0
r_ip%1:       dw 0
r_cs%1:       dw 0
%endmacro
RM_VARS 0
RM_VARS 6
RM_VARS 12
RM_VARS 13
rm_blob_end:
bits 32
