; vmx-seed-pae: the seed's scenario. Like Windows' loader, real-mode code with a large CS (1F00H)
; enables PAE paging: `mov eax, 0x20; mov cr4, eax` (CR4 written from scratch, VMXE = 0), CR3, then
; CR0.PE|PG and a far jump to 32-bit code, which reads memory through a higher-half PAE alias.
; Bare and under the hypervisor this must work. With `--quirk xmhf-cr4-vmxe-shadow` (XMHF before
; its fix: CR4 shadow = VMXE, the handler ignores the write) PAE never reaches CR4 and the guest
; triple-faults exactly as in the seed (the guest test runner checks that dump).
; hv-quirk: xmhf-cr4-vmxe-shadow
%include "test.inc"

RM_SEG  equ 0x1f00
RM_IP   equ 0x1000
RM_LIN  equ RM_SEG * 16 + RM_IP           ; 20000H
%define RM(x) ((x) - rm_blob + RM_IP)
%define LIN(x) ((x) - rm_blob + RM_LIN)
PDPT    equ 0x300000
PD0     equ 0x301000                      ; linear 0-1 GiB: identity, 2-MiB pages
PD3     equ 0x302000                      ; linear 3-4 GiB: C0000000H → physical 0
ALIAS   equ 0xc0000000

test_main:
  cld
  ; PAE tables: PDPT[0] → PD0, PDPT[3] → PD3; 2-MiB pages.
  mov edi, PDPT
  xor eax, eax
  mov ecx, 3 * 4096 / 4
  rep stosd
  mov dword [PDPT + 0 * 8], PD0 | 1
  mov dword [PDPT + 3 * 8], PD3 | 1
  mov dword [PD0 + 0 * 8], 0x000000 | 0x83  ; P RW PS
  mov dword [PD0 + 1 * 8], 0x200000 | 0x83
  mov dword [PD3 + 0 * 8], 0x000000 | 0x83  ; C0000000H → 0
  mov dword [PD3 + 1 * 8], 0x200000 | 0x83
  mov dword [marker], 0x5eed5eed
  ; The real-mode blob.
  mov esi, rm_blob
  mov edi, RM_LIN
  mov ecx, rm_blob_end - rm_blob
  rep movsb
  mov word [t_gdt + T_CODE16 + 2], 0xf000   ; T_CODE16 base 1F000H
  mov byte [t_gdt + T_CODE16 + 4], 0x01
  mov [saved_esp], esp
  cli
  jmp T_CODE16:RM(rm_entry)

pm_paged:                                 ; 32-bit code, PAE paging on, segments still real-mode values
  mov ax, T_DATA32
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, [saved_esp]
  mov word [t_gdt + T_CODE16 + 2], 0
  mov byte [t_gdt + T_CODE16 + 4], 0
  mov eax, cr4
  CHECK eax, 0x20, "CR4 = 20H (PAE), exactly what real mode wrote"
  mov eax, cr0
  and eax, 0x80000001
  CHECK eax, 0x80000001, "CR0.PG and CR0.PE set"
  mov eax, [ALIAS + marker]
  CHECK eax, 0x5eed5eed, "read through the PAE higher-half alias"
  mov dword [ALIAS + marker], 0x600dda7a
  CHECK [marker], 0x600dda7a, "write through the alias reaches the identity page"
  ; paging off again (identity-mapped code), CR4 back to 0
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  xor eax, eax
  mov cr4, eax
  CHECK eax, 0, "paging off again"
  ret

align 4
saved_esp: dd 0
marker:    dd 0

bits 16
rm_blob:
rm_entry:                                 ; 16-bit protected mode, CS base 1F000H
  mov ax, T_DATA16
  mov ds, ax
  mov ss, ax
  mov eax, cr0
  and eax, ~1
  mov cr0, eax
  jmp RM_SEG:RM(rm_real)
rm_real:                                  ; real mode, CS = 1F00H
  mov ax, cs
  mov ds, ax
  mov ss, ax
  mov sp, 0x8000
  o32 lgdt [RM(rm_gdtr)]
  mov eax, 0x20                           ; the seed: CR4 written from scratch with PAE (VMXE = 0)
  mov cr4, eax
  mov eax, PDPT
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000001                      ; PE and PG at once
  mov cr0, eax
  jmp dword T_CODE32:pm_paged
align 4
rm_gdtr:
  dw t_gdt_end - t_gdt - 1
  dd t_gdt
rm_blob_end:
bits 32
