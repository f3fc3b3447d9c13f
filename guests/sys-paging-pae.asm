; sys-paging-pae: PAE paging (SDM Vol3A 4.4) enabled with CR4 written from scratch (`mov eax, 20H;
; mov cr4, eax`, the seed's loader pattern): an identity map of the first 4 MiB (2 MiB pages) and a
; higher-half alias at C0000000H (4 KiB pages for the first 2 MiB, a 2 MiB page after). Reads and
; writes through both names, code run through the alias, accessed/dirty bits, the PDPTE registers
; (loaded with CR3, not re-read from memory), not-present faults and MOV CR3 with a reserved PDPTE bit.
%include "test.inc"

PDPT    equ 0x300000                      ; 32-byte aligned
PD0     equ 0x301000                      ; 00000000H-3FFFFFFFH
PD3     equ 0x302000                      ; C0000000H-FFFFFFFFH
PT3     equ 0x303000                      ; C0000000H-C01FFFFFH, 4 KiB pages
PDPT2   equ 0x304000                      ; a PDPT with a reserved bit set
ALIAS   equ 0xc0000000

test_main:
  ; clear the five table pages
  cld
  xor eax, eax
  mov edi, PDPT
  mov ecx, 5 * 1024
  rep stosd
  mov dword [PDPT + 0 * 8], PD0 | 1       ; PDPTEs: P only (bits 2:1 are reserved in PAE PDPTEs)
  mov dword [PDPT + 3 * 8], PD3 | 1
  mov dword [PD0 + 0 * 8], 0x000000 | 0x83  ; 2 MiB pages: P RW PS
  mov dword [PD0 + 1 * 8], 0x200000 | 0x83
  mov dword [PD3 + 0 * 8], PT3 | 3        ; page table: P RW
  mov dword [PD3 + 1 * 8], 0x200000 | 0x83  ; C0200000H → 200000H (2 MiB)
  xor ecx, ecx
.pt:
  mov eax, ecx
  shl eax, 12
  or eax, 3
  mov [PT3 + ecx * 8], eax
  inc ecx
  cmp ecx, 512
  jb .pt

  mov eax, PDPT
  mov cr3, eax
  mov eax, 0x20                           ; CR4 = PAE only, written from scratch
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax

  mov eax, cr4
  CHECK eax, 0x20, "CR4 = PAE"
  mov eax, cr0
  and eax, 0x80000001
  CHECK eax, 0x80000001, "CR0.PG and PE"
  ; ---- the same bytes through both names
  CHECK [0x100000], 0x1badb002, "identity map: the Multiboot magic at 1 MiB"
  CHECK [ALIAS + 0x100000], 0x1badb002, "alias: C0100000H reads 100000H (4 KiB PTE)"
  mov dword [0x280000], 0x12345678
  CHECK [ALIAS + 0x280000], 0x12345678, "alias: C0280000H reads 280000H (2 MiB PDE)"
  mov dword [ALIAS + 0x50000], 0xcafe
  CHECK [0x50000], 0xcafe, "write through the alias lands at 50000H"
  mov eax, alias_func + ALIAS
  call eax
  CHECK eax, 0x600d, "code runs through the alias"
  CHECK esi, alias_func + ALIAS, "EIP in the alias region"

  ; ---- accessed and dirty bits (set by the processor, SDM Vol3A 4.8)
  mov eax, [ALIAS + 0x51000]              ; read only
  mov eax, [PT3 + 0x50 * 8]
  and eax, 0x60
  CHECK eax, 0x60, "written page: PTE.A and PTE.D"
  mov eax, [PT3 + 0x51 * 8]
  and eax, 0x60
  CHECK eax, 0x20, "read page: PTE.A only"
  mov eax, [PT3 + 0x52 * 8]
  and eax, 0x60
  CHECK eax, 0, "untouched page: neither"
  mov eax, [PD3 + 0 * 8]
  and eax, 0x20
  CHECK eax, 0x20, "PDE.A of the page table"
  mov eax, [PD3 + 1 * 8]
  and eax, 0x60
  CHECK eax, 0x20, "2 MiB PDE read through C0280000H: A only"
  mov eax, [PD0 + 1 * 8]
  and eax, 0x60
  CHECK eax, 0x60, "2 MiB PDE written through 280000H: A and D"

  ; ---- PDPTEs are registers loaded with CR3 (SDM Vol3A 4.4.1)
  mov dword [PDPT + 3 * 8], 0             ; no effect until CR3 is loaded again
  CHECK [ALIAS + 0x60000], 0, "PDPTE 3 cleared in memory: C0060000H still maps"
  mov eax, cr3
  mov cr3, eax
  TRY
    mov eax, [ALIAS + 0x61000]
  CATCH 14, 0, "after MOV CR3: PDPTE 3 not present → #PF"
  CHECK [t_exc_cr2], ALIAS + 0x61000, "CR2"
  mov dword [PDPT + 3 * 8], PD3 | 1
  mov eax, cr3
  mov cr3, eax
  CHECK [ALIAS + 0x61000], 0, "PDPTE 3 back after MOV CR3"
  ; ---- not-present PDPTE 2: read and write faults
  TRY
    mov eax, [0x80000000]
  CATCH 14, 0, "read through a not-present PDPTE"
  CHECK [t_exc_cr2], 0x80000000, "CR2 (read)"
  TRY
    mov dword [0x80001234], 0
  CATCH 14, 2, "write through a not-present PDPTE"
  CHECK [t_exc_cr2], 0x80001234, "CR2 (write)"
  ; ---- MOV CR3 loading a present PDPTE with a reserved bit (bit 1): #GP(0), CR3 unchanged
  mov dword [PDPT2 + 0 * 8], PD0 | 3
  mov dword [PDPT2 + 3 * 8], PD3 | 1
  TRY
    mov eax, PDPT2
    mov cr3, eax
  CATCH 13, 0, "MOV CR3: reserved bit in a PDPTE"
  mov eax, cr3
  CHECK eax, PDPT, "CR3 unchanged"

  ; ---- paging off again
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  xor eax, eax
  mov cr4, eax
  ret

alias_func:                               ; position-independent: returns 600DH and its own EIP
  call .here
.here:
  pop esi
  sub esi, .here - alias_func
  mov eax, 0x600d
  ret
