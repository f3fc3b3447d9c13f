; dbg-triple: 32-bit paging (SDM Vol3A 4.3) with a 4 MiB identity page and a 4 KiB page mapping
; 80000000H to physical 310000H, then an IDT whose limit covers no vector, and UD2: #UD cannot be
; delivered (#GP), nor #GP, nor #DF: a triple fault (Vol3A 6.15, Interrupt 8). The debugger test
; (test/gdb.test.ts) attaches after the machine stopped and reads the state at dbg_crash, and memory
; through the guest's paging.
; expect: triple-fault
%include "test.inc"

PD      equ 0x200000
PT      equ 0x201000
DATA_PA equ 0x310000
dbg_note_va equ 0x80000000 + 0x80

test_main:
  cld
  xor eax, eax
  mov edi, PD
  mov ecx, 2 * 1024
  rep stosd
  mov dword [PD + 0 * 4], 0x000000 | 0x83   ; 4 MiB page: P RW PS
  mov dword [PD + 512 * 4], PT | 3          ; 80000000H: page table
  mov dword [PT + 0 * 4], DATA_PA | 3       ; 80000000H -> 310000H
  mov esi, note
  mov edi, DATA_PA + 0x80
  mov ecx, note_end - note
  rep movsb
  mov eax, PD
  mov cr3, eax
  mov eax, cr4
  or eax, 0x10                              ; CR4.PSE
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  CHECK [dbg_note_va], 0x706f6f6c, "the note reads through the 80000000H mapping"
  lidt [empty_idtr]
  mov eax, 0x600df00d                       ; recognizable register values at the crash
  mov ebx, 0xb0b0b0b0
dbg_crash:
  ud2
  ret

empty_idtr: dw 0
            dd 0
note: db 'loop of faults ends here', 0
note_end:
