; sys-pf-errcodes: #PF error codes (SDM Vol3A 4.7: P bit 0, W/R bit 1, U/S bit 2, RSVD bit 3, I/D
; bit 4) and CR2 under PAE paging, at CPL 0 and CPL 3: not present, write to read-only (CR0.WP),
; reserved bits, execute-disable with IA32_EFER.NXE (and bit 63 reserved without it), user access
; to supervisor pages (including a supervisor PDE over a user PTE), user writes to read-only pages.
%include "test.inc"

PDPT    equ 0x300000
PD0     equ 0x301000
PT      equ 0x302000                      ; 400000H-5FFFFFH
PT2     equ 0x303000                      ; 800000H-9FFFFFH (under a supervisor PDE)
FRAME   equ 0x700000                      ; physical frames of the PT pages
P       equ 1
RW      equ 2
US      equ 4
PS      equ 0x80
XD_HI   equ 0x80000000                    ; bit 63 (high dword)

%macro PTE 3                              ; index, low dword, high dword
  mov dword [PT + (%1) * 8], %2
  mov dword [PT + (%1) * 8 + 4], %3
%endmacro

; Continue at CPL 3 (flat user code/data, stack at 70000H). Every ring-3 block ends in a fault or
; INT3, caught by TRY/CATCH; the framework's handler resumes at CATCH in ring 0.
%macro TO_RING3 0
  push dword T_UDATA32
  push dword 0x70000
  pushfd
  push dword T_UCODE32
  push dword %%r3
  iretd
%%r3:
  mov ax, T_UDATA32
  mov ds, ax
  mov es, ax
%endmacro

%macro SET_NXE 1                          ; IA32_EFER.NXE = %1
  mov ecx, 0xc0000080
  rdmsr
  and eax, ~0x800
  or eax, (%1) << 11
  wrmsr
%endmacro

test_main:
  cld
  xor eax, eax
  mov edi, PDPT
  mov ecx, 4 * 1024
  rep stosd
  mov dword [PDPT], PD0 | P
  mov dword [PD0 + 0 * 8], 0x000000 | PS | US | RW | P   ; 0-2 MiB: user, writable (code, stack, data)
  mov dword [PD0 + 1 * 8], 0x200000 | PS | US | RW | P   ; 2-4 MiB (the tables)
  mov dword [PD0 + 2 * 8], PT | US | RW | P
  mov dword [PD0 + 3 * 8], 0x600000 | PS | RW | P        ; 6-8 MiB: supervisor only (frames live here)
  mov dword [PD0 + 4 * 8], PT2 | RW | P                  ; supervisor PDE ...
  mov dword [PT2 + 0 * 8], (FRAME + 0x8000) | US | RW | P ; ... over a user PTE
  ; PT: 400000H not present; 401000H supervisor read-only; 402000H user read-only; 403000H reserved
  ; bit 40 set; 404000H user, execute-disable; 405000H supervisor RW; 406000H user RW
  PTE 1, (FRAME + 0x1000) | P, 0
  PTE 2, (FRAME + 0x2000) | US | P, 0
  PTE 3, (FRAME + 0x3000) | US | RW | P, 0x100
  PTE 4, (FRAME + 0x4000) | US | RW | P, XD_HI
  PTE 5, (FRAME + 0x5000) | RW | P, 0
  PTE 6, (FRAME + 0x6000) | US | RW | P, 0
  mov byte [FRAME + 0x4000], 0xc3         ; RET in the execute-disable page
  mov byte [FRAME + 0x5000], 0xc3         ; RET in the supervisor page
  mov byte [FRAME + 0x6000], 0xc3         ; RET in the user page
  mov eax, PDPT
  mov cr3, eax
  mov eax, 0x20
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80010000                      ; PG | WP
  mov cr0, eax

  ; ---- CPL 0
  TRY
    mov eax, [0x400000]
  CATCH 14, 0, "supervisor read, not present"
  CHECK [t_exc_cr2], 0x400000, "CR2"
  TRY
    mov dword [0x400abc], 1
  CATCH 14, 2, "supervisor write, not present"
  CHECK [t_exc_cr2], 0x400abc, "CR2"
  TRY
    mov dword [0x401008], 1
  CATCH 14, 3, "supervisor write, read-only page, CR0.WP = 1"
  CHECK [t_exc_cr2], 0x401008, "CR2"
  TRY
    mov eax, [0x403010]
  CATCH 14, 9, "read, reserved bit 40 in the PTE"
  CHECK [t_exc_cr2], 0x403010, "CR2"
  TRY
    mov dword [0x403000], 1
  CATCH 14, 0xb, "write, reserved bit 40 in the PTE"
  TRY
    mov eax, [0x404000]
  CATCH 14, 9, "NXE = 0: bit 63 of the PTE is reserved"
  SET_NXE 1
  CHECK [0x404000], 0xc3, "NXE = 1: execute-disable pages are readable"
  TRY
    mov eax, 0x404000
    call eax
  CATCH 14, 0x11, "NXE = 1: fetch from an execute-disable page (P, I)"
  CHECK [t_exc_cr2], 0x404000, "CR2 = the fetch address"
  CHECK [t_exc_eip], 0x404000, "pushed EIP = the fetch address"
  TRY
    mov eax, 0x400000
    call eax
  CATCH 14, 0x10, "NXE = 1: fetch from a not-present page (I)"
  TRY
    mov eax, 0x403000
    call eax
  CATCH 14, 0x19, "NXE = 1: fetch, reserved bit (P, RSVD, I)"
  mov eax, 0x406000
  call eax                                ; no SMEP: supervisor code may run from user pages
  CHECK eax, 0x406000, "supervisor fetch from a user page"

  ; ---- CPL 3
  TRY
    TO_RING3
    mov eax, [0x405000]
  CATCH 14, 5, "user read of a supervisor page (P, U)"
  CHECK [t_exc_cr2], 0x405000, "CR2"
  TRY
    TO_RING3
    mov dword [0x405004], 0
  CATCH 14, 7, "user write to a supervisor page (P, W, U)"
  TRY
    TO_RING3
    mov dword [0x402000], 0
  CATCH 14, 7, "user write to a user read-only page"
  TRY
    TO_RING3
    mov eax, [0x400800]
  CATCH 14, 4, "user read, not present (U)"
  CHECK [t_exc_cr2], 0x400800, "CR2"
  TRY
    TO_RING3
    mov eax, [0x600000]
  CATCH 14, 5, "user read of a supervisor 2 MiB page"
  TRY
    TO_RING3
    mov eax, [0x800000]
  CATCH 14, 5, "user read: user PTE under a supervisor PDE"
  TRY
    TO_RING3
    mov eax, 0x405000
    call eax
  CATCH 14, 0x15, "user fetch from a supervisor page (P, U, I)"
  TRY
    TO_RING3
    mov eax, 0x404000
    call eax
  CATCH 14, 0x15, "user fetch from an execute-disable page (P, U, I)"
  TRY
    TO_RING3
    mov eax, [0x402000]                   ; user read-only page: reads work
    mov [r3_value], eax
    mov eax, 0x406000
    call eax                              ; and user code runs
    int3
  CATCH 3, -1, "ring 3 reads a user read-only page and runs user code"
  CHECK [r3_value], 0, "value read at CPL 3"
  ; With CR0.WP = 0, user writes to read-only pages still fault.
  mov eax, cr0
  and eax, ~0x10000
  mov cr0, eax
  TRY
    TO_RING3
    mov dword [0x402000], 0
  CATCH 14, 7, "CR0.WP = 0: user write to a read-only page still faults"
  mov dword [0x401000], 5
  CHECK [0x401000], 5, "CR0.WP = 0: supervisor write to a read-only page works"
  ; NXE = 0: no I bit on a fetch fault.
  SET_NXE 0
  TRY
    mov eax, 0x400000
    call eax
  CATCH 14, 0, "NXE = 0: fetch from a not-present page has no I bit"

  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  xor eax, eax
  mov cr4, eax
  ret

align 4
r3_value: dd -1
