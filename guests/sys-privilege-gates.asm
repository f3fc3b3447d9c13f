; sys-privilege-gates: privilege changes (SDM Vol3A 5.8, 6.12, Vol2 CALL/RET/IRET/SYSENTER): IRET to
; ring 3; INT n through a DPL-3 interrupt gate back to ring 0 with the stack switch from the TSS;
; a 32-bit call gate with two parameters and RETF 8; SYSENTER/SYSEXIT; and the #GP faults ring 3 gets
; for privileged instructions, a DPL-0 data segment, a DPL-0 interrupt gate and port I/O at IOPL 0.
%include "test.inc"

CALLGATE equ 0x40                         ; our GDT = the framework's + a call gate
GATE_TARGET_PARAMS equ 2

%macro TO_RING3 1                         ; IRET to ring-3 code at %1 (flat user segments, IF as now)
  mov [saved_esp], esp
  mov ax, T_UDATA32                       ; DPL-3 data: IRET to ring 3 keeps it (a DPL-0 DS would be nulled)
  mov ds, ax
  mov es, ax
  push T_UDATA32
  push USER_STACK
  pushfd
  push T_UCODE32
  push %1
  iretd
%endmacro
USER_STACK equ 0x70000

test_main:
  cld
  ; A GDT with one more entry: a DPL-3 32-bit call gate to `cg_target` (ring 0), 2 parameters.
  mov esi, t_gdt
  mov edi, gdt2
  mov ecx, (t_gdt_end - t_gdt) / 4
  rep movsd
  mov eax, cg_target
  mov [gdt2 + CALLGATE], ax
  mov word [gdt2 + CALLGATE + 2], T_CODE32
  mov word [gdt2 + CALLGATE + 4], 0xec00 | GATE_TARGET_PARAMS   ; P, DPL 3, type 12 (32-bit call gate)
  shr eax, 16
  mov [gdt2 + CALLGATE + 6], ax
  lgdt [gdt2r]
  ; Vector 1FH: a DPL-3 interrupt gate that brings ring-3 code back to ring 0 (`back0`).
  mov eax, back0
  mov [t_idt + 0x1f * 8], ax
  shr eax, 16
  mov [t_idt + 0x1f * 8 + 6], ax

  ; --- IRET to ring 3, INT 1FH back: stack switch to TSS.ESP0, frame with the ring-3 SS:ESP.
  mov dword [cont], after_int
  TO_RING3 r3_int
after_int:
  CHECK [f_cs], T_UCODE32, "INT from ring 3: pushed CS = ring-3 code selector"
  CHECK [f_ss], T_UDATA32, "INT from ring 3: pushed SS = ring-3 stack selector"
  CHECK [f_esp], USER_STACK - 4, "INT from ring 3: pushed ESP = ring-3 ESP (after its push)"
  CHECK [f_eip], r3_int_after, "INT from ring 3: pushed EIP = next instruction"
  CHECK [f_ring0_esp], T_STACK0 - 20, "handler runs on TSS.ESP0 minus the 5-dword frame"
  CHECK [f_cpl], 0, "handler runs at CPL 0"
  CHECK [r3_cpl], 3, "ring-3 code saw CPL 3 (CS.RPL)"
  CHECK [r3_eax], 0x3333, "ring-3 code ran"

  ; --- call gate from ring 3 with two parameters; RETF 8 back to ring 3.
  mov dword [cont], after_gate
  TO_RING3 r3_gate
after_gate:
  CHECK [cg_p1], 0x1111, "call gate: first parameter copied to the ring-0 stack"
  CHECK [cg_p2], 0x2222, "call gate: second parameter copied"
  CHECK [cg_cs], T_UCODE32, "call gate: caller CS on the new stack"
  CHECK [cg_ss], T_UDATA32, "call gate: caller SS on the new stack"
  CHECK [cg_cpl], 0, "call gate target runs at CPL 0"
  CHECK [r3_after_retf], 0x600d, "RETF 8 returned to ring 3 and released the parameters"
  CHECK [r3_esp_after], USER_STACK, "ring-3 ESP restored past the parameters"

  ; --- faults in ring 3 (IOPL = 0)
  TRY
    TO_RING3 r3_hlt
  CATCH 13, 0, "HLT at CPL 3 is #GP(0)"
  TRY
    TO_RING3 r3_cli
  CATCH 13, 0, "CLI at CPL 3 with IOPL 0 is #GP(0)"
  TRY
    TO_RING3 r3_movcr
  CATCH 13, 0, "MOV to CR0 at CPL 3 is #GP(0)"
  TRY
    TO_RING3 r3_in
  CATCH 13, 0, "IN at CPL 3, IOPL 0, no I/O bitmap is #GP(0)"
  TRY
    TO_RING3 r3_ds
  CATCH 13, T_DATA32, "loading a DPL-0 data segment at CPL 3 is #GP(selector)"
  mov word [t_idt + 0x1e * 8 + 4], 0x8e00 ; vector 1EH: make its gate DPL 0
  TRY
    TO_RING3 r3_int1e
  CATCH 13, 0x1e * 8 + 2, "INT 1EH through a DPL-0 gate from ring 3 is #GP(1EH*8+2)"
  mov word [t_idt + 0x1e * 8 + 4], 0xee00

  ; --- SYSEXIT to ring 3 and SYSENTER back (flat segments from IA32_SYSENTER_CS, Vol2 SYSENTER)
  mov ecx, 0x174                          ; IA32_SYSENTER_CS
  mov eax, T_CODE32
  xor edx, edx
  wrmsr
  mov ecx, 0x175                          ; IA32_SYSENTER_ESP
  mov eax, T_STACK0 - 0x100
  wrmsr
  mov ecx, 0x176                          ; IA32_SYSENTER_EIP
  mov eax, sysenter_entry
  wrmsr
  mov [saved_esp], esp
  mov edx, r3_sys                         ; SYSEXIT: EIP = EDX, ESP = ECX
  mov ecx, USER_STACK
  sysexit
sysenter_entry:
  mov ax, T_DATA32
  mov ds, ax
  mov es, ax
  mov [se_esp], esp
  mov esp, [saved_esp]
  mov eax, cs
  CHECK eax, T_CODE32, "SYSENTER: CS = IA32_SYSENTER_CS"
  mov eax, ss
  CHECK eax, T_CODE32 + 8, "SYSENTER: SS = IA32_SYSENTER_CS + 8"
  CHECK [se_esp], T_STACK0 - 0x100, "SYSENTER: ESP = IA32_SYSENTER_ESP"
  CHECK [sys_cs], (T_CODE32 + 16) | 3, "SYSEXIT: CS = IA32_SYSENTER_CS + 16, RPL 3"
  CHECK [sys_ss], (T_CODE32 + 24) | 3, "SYSEXIT: SS = IA32_SYSENTER_CS + 24, RPL 3"
  mov ax, T_DATA32
  mov ss, ax
  lgdt [t_gdtr]
  ret

; ---------------------------------------------------------------- ring-0 handlers
back0:                                    ; INT 1FH from ring 3 (DPL-3 interrupt gate)
  mov eax, [esp]
  mov [f_eip], eax
  mov eax, [esp + 4]
  mov [f_cs], eax
  mov eax, [esp + 12]
  mov [f_esp], eax
  mov eax, [esp + 16]
  mov [f_ss], eax
  mov [f_ring0_esp], esp
  mov eax, cs
  and eax, 3
  mov [f_cpl], eax
  mov ax, T_DATA32
  mov ds, ax
  mov es, ax
  mov esp, [saved_esp]
  jmp [cont]

cg_target:                                ; call gate target, CPL 0: [esp] EIP, CS, p2, p1, ESP, SS
  mov eax, [esp + 8]
  mov [cg_p2], eax
  mov eax, [esp + 12]
  mov [cg_p1], eax
  mov eax, [esp + 4]
  mov [cg_cs], eax
  mov eax, [esp + 20]
  mov [cg_ss], eax
  mov eax, cs
  and eax, 3
  mov [cg_cpl], eax
  retf 8

; ---------------------------------------------------------------- ring-3 code
r3_int:
  mov eax, cs
  and eax, 3
  mov [r3_cpl], eax
  mov eax, 0x3333
  mov [r3_eax], eax
  push eax
  int 0x1f
r3_int_after:
  jmp $

r3_gate:
  push dword 0x1111                       ; parameter 1
  push dword 0x2222                       ; parameter 2
  call CALLGATE | 3 : 0
  mov dword [r3_after_retf], 0x600d
  mov [r3_esp_after], esp
  int 0x1f

r3_hlt:   hlt
r3_cli:   cli
r3_movcr:
  mov eax, cr0
  mov cr0, eax
r3_in:    in al, 0x80
r3_ds:
  mov ax, T_DATA32
  mov ds, ax
r3_int1e: int 0x1e

r3_sys:                                   ; after SYSEXIT, CPL 3
  mov eax, cs
  mov [sys_cs], eax
  mov eax, ss
  mov [sys_ss], eax
  sysenter

align 4
saved_esp: dd 0
cont:      dd 0
f_eip: dd 0
f_cs:  dd 0
f_esp: dd 0
f_ss:  dd 0
f_ring0_esp: dd 0
f_cpl: dd 0
r3_cpl: dd 0
r3_eax: dd 0
cg_p1: dd 0
cg_p2: dd 0
cg_cs: dd 0
cg_ss: dd 0
cg_cpl: dd 0
r3_after_retf: dd 0
r3_esp_after: dd 0
se_esp: dd 0
sys_cs: dd 0
sys_ss: dd 0
align 8
gdt2: times (t_gdt_end - t_gdt) + 8 db 0
gdt2r:
  dw (t_gdt_end - t_gdt) + 8 - 1
  dd gdt2
