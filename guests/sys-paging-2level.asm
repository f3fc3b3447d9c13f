; sys-paging-2level: 32-bit paging (SDM Vol3A 4.3) with 4 KiB pages and 4 MiB pages (CR4.PSE):
; translations, accessed/dirty bits set by the processor (4.8), CR0.WP for supervisor writes to
; read-only pages (4.6), reserved bits of a 4 MiB PDE (no PSE-36), INVLPG, and what MOV to CR3 and
; MOV to CR4 invalidate with global pages (CR4.PGE, 4.10.4.1), and no I/D bit in #PF error codes
; (IA32_EFER.NXE only matters to PAE paging, 4.7).
%include "test.inc"

PD      equ 0x300000
PT      equ 0x301000                      ; page table for 800000H-BFFFFFH
P       equ 1
RW      equ 2
US      equ 4
PS      equ 0x80
G       equ 0x100
A_D     equ 0x60

%macro PAGE_MARK 2                        ; physical page %1 starts with %2 (paging off)
  mov dword [%1], %2
%endmacro

%macro TO_RING3 0                         ; continue at CPL 3; back via a fault caught by TRY/CATCH
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

test_main:
  cld
  xor eax, eax
  mov edi, PD
  mov ecx, 2 * 1024
  rep stosd
  mov dword [PD + 0 * 4], 0x0000000 | PS | US | RW | P   ; 0-4 MiB identity (4 MiB page, user)
  mov dword [PD + 1 * 4], 0x0400000 | PS | US | RW | P   ; 4-8 MiB identity (user)
  mov dword [PD + 2 * 4], PT | RW | P               ; 8-12 MiB: 4 KiB pages
  mov dword [PD + 3 * 4], 0x1000000 | PS | RW | P   ; C00000H → 1000000H (4 MiB)
  mov dword [PD + 4 * 4], 0x1000000 | PS | RW | P   ; 16-20 MiB identity
  mov dword [PD + 5 * 4], 0x1400000 | PS | P        ; 20-24 MiB identity, read-only
  mov dword [PD + 6 * 4], 0x1800000 | PS | RW | P | (1 << 13)  ; bit 13: PA bit 32 with PSE-36 (not reported): reserved
  mov dword [PT + 0 * 4], 0x500000 | RW | P         ; 800000H
  mov dword [PT + 1 * 4], 0x501000 | P              ; 801000H read-only
  mov dword [PT + 2 * 4], 0x502000 | G | RW | P     ; 802000H global
  mov dword [PT + 3 * 4], 0x503000 | RW | P         ; 803000H
  ; PT[4] (804000H) not present
  PAGE_MARK 0x500000, 0xa0
  PAGE_MARK 0x501000, 0xa1
  PAGE_MARK 0x502000, 0xa2
  PAGE_MARK 0x503000, 0xa3
  PAGE_MARK 0x504000, 0xa4
  PAGE_MARK 0x505000, 0xa5
  PAGE_MARK 0x1001234, 0xb0
  PAGE_MARK 0x1400000, 0xc0

  mov eax, PD
  mov cr3, eax
  mov eax, 0x90                           ; CR4.PSE | CR4.PGE
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax

  ; ---- translations
  CHECK [0x800000], 0xa0, "4 KiB page 800000H → 500000H"
  CHECK [0x801000], 0xa1, "4 KiB page 801000H → 501000H"
  CHECK [0xc01234], 0xb0, "4 MiB page: C01234H → 1001234H"
  CHECK [0x500000], 0xa0, "identity 4 MiB page"
  ; ---- accessed / dirty
  mov eax, [PT + 0 * 4]
  and eax, A_D
  CHECK eax, 0x20, "PTE after a read: A"
  mov dword [0x800004], 1
  mov eax, [PT + 0 * 4]
  and eax, A_D
  CHECK eax, 0x60, "PTE after a write: A and D"
  mov eax, [PD + 2 * 4]
  and eax, A_D
  CHECK eax, 0x20, "PDE pointing to a page table: A (D is not used)"
  mov eax, [PD + 3 * 4]
  and eax, A_D
  CHECK eax, 0x20, "4 MiB PDE after a read: A"
  mov dword [0xc01238], 1
  mov eax, [PD + 3 * 4]
  and eax, A_D
  CHECK eax, 0x60, "4 MiB PDE after a write: A and D"
  mov eax, [PT + 5 * 4]
  CHECK eax, 0, "an untouched (zero) PTE stays zero"

  ; ---- CR0.WP: supervisor writes to read-only pages
  mov dword [0x801000], 0xa1a1            ; WP = 0: allowed
  CHECK [0x501000], 0xa1a1, "WP = 0: supervisor write to a read-only 4 KiB page"
  mov eax, cr0
  or eax, 0x10000
  mov cr0, eax
  TRY
    mov dword [0x801000], 0
  CATCH 14, 3, "WP = 1: supervisor write to a read-only 4 KiB page"
  CHECK [t_exc_cr2], 0x801000, "CR2"
  CHECK [0x501000], 0xa1a1, "the faulting write changed nothing"
  CHECK [0x1400000], 0xc0, "read-only 4 MiB page: reads work"
  TRY
    mov byte [0x1400010], 0
  CATCH 14, 3, "WP = 1: write to a read-only 4 MiB page"
  CHECK [t_exc_cr2], 0x1400010, "CR2"
  mov eax, cr0
  and eax, ~0x10000
  mov cr0, eax
  ; ---- 4 MiB PDE with bit 13 set: reserved without PSE-36
  TRY
    mov eax, [0x1800000]
  CATCH 14, 9, "4 MiB PDE with bit 13 set: #PF with P and RSVD"

  ; ---- INVLPG
  mov dword [PT + 0 * 4], 0x504000 | RW | P
  invlpg [0x800000]
  CHECK [0x800000], 0xa4, "INVLPG: the new PTE is used"
  TRY
    mov eax, [0x804000]
  CATCH 14, 0, "not-present PTE"
  mov dword [PT + 4 * 4], 0x505000 | P
  invlpg [0x804000]
  CHECK [0x804000], 0xa5, "INVLPG after making a PTE present"

  ; ---- global pages: MOV CR3 keeps them, INVLPG and MOV CR4.PGE drop them
  CHECK [0x802000], 0xa2, "global page cached"
  CHECK [0x803000], 0xa3, "non-global page cached"
  mov dword [PT + 2 * 4], 0x505000 | G | RW | P
  mov dword [PT + 3 * 4], 0x505000 | RW | P
  mov eax, cr3
  mov cr3, eax
  CHECK [0x803000], 0xa5, "MOV CR3 drops the non-global translation"
  CHECK [0x802000], 0xa2, "MOV CR3 keeps the global translation (still the old frame)"
  mov dword [PT + 2 * 4], 0x504000 | G | RW | P
  invlpg [0x802000]
  CHECK [0x802000], 0xa4, "INVLPG drops a global translation"
  mov dword [PT + 2 * 4], 0x505000 | G | RW | P
  mov eax, cr3
  mov cr3, eax
  CHECK [0x802000], 0xa4, "global again after MOV CR3"
  mov eax, cr4
  and eax, ~0x80
  mov cr4, eax
  CHECK [0x802000], 0xa5, "clearing CR4.PGE drops global translations"

  ; ---- EFER.NXE = 1 under 32-bit paging: fetch faults have no I/D bit
  mov ecx, 0xc0000080
  rdmsr
  or eax, 0x800
  wrmsr
  TRY
    mov eax, 0x807000
    call eax
  CATCH 14, 0, "NXE = 1, 32-bit paging: fetch from a not-present page (no I)"
  TRY
    TO_RING3
    mov eax, 0x800000
    call eax
  CATCH 14, 5, "NXE = 1, 32-bit paging: user fetch from a supervisor page (P, U; no I)"
  mov ecx, 0xc0000080
  rdmsr
  and eax, ~0x800
  wrmsr

  ; ---- paging off
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  xor eax, eax
  mov cr4, eax
  ret
