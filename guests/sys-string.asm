; sys-string: string instructions (SDM Vol2 MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS, REP prefixes): byte,
; word and dword forms, forward and backward (DF), REP with ECX = 0, REPE/REPNE termination and the
; flags/registers left behind, a segment override on the source, 16-bit addressing (67h: SI/DI/CX
; wrap at 64 KiB), a #PF in the middle of REP MOVSD (restartable: ECX/ESI/EDI show the progress,
; CR2 the faulting address), and REP INSB/OUTSB through the UART's scratch register.
%include "test.inc"

SRC equ 0x200000
DST equ 0x210000
PD  equ 0x300000
PT  equ 0x301000

test_main:
  cld
  ; --- REP STOSD / MOVSB / LODSW forward
  mov edi, SRC
  mov eax, 0x11223344
  mov ecx, 8
  rep stosd
  CHECK ecx, 0, "REP STOSD: ECX = 0"
  CHECK edi, SRC + 32, "REP STOSD: EDI advanced by 32"
  CHECK [SRC + 28], 0x11223344, "REP STOSD: last dword stored"
  mov esi, msg
  mov edi, DST
  mov ecx, msg_len
  rep movsb
  CHECK [DST], 'stri', "REP MOVSB copied the message"
  CHECK esi, msg + msg_len, "REP MOVSB: ESI advanced"
  mov esi, DST
  lodsw
  CHECK eax, 0x11227473, "LODSW loads AX only ('st')"
  ; --- REP with ECX = 0 does nothing
  mov edi, DST + 0x100
  mov dword [DST + 0x100], 0x5a5a5a5a
  xor ecx, ecx
  xor eax, eax
  rep stosd
  CHECK [DST + 0x100], 0x5a5a5a5a, "REP STOSD with ECX = 0 stores nothing"
  CHECK edi, DST + 0x100, "REP STOSD with ECX = 0 leaves EDI"
  ; --- backward with DF = 1 (overlapping move to a higher address)
  mov dword [SRC + 0x40], 0x04030201
  mov dword [SRC + 0x44], 0x08070605
  std
  lea esi, [SRC + 0x47]
  lea edi, [SRC + 0x49]
  mov ecx, 8
  rep movsb
  cld
  CHECK [SRC + 0x42], 0x04030201, "backward REP MOVSB handles the overlap (low dword)"
  CHECK [SRC + 0x46], 0x08070605, "backward REP MOVSB handles the overlap (high dword)"
  CHECK esi, SRC + 0x3f, "DF = 1: ESI decremented"
  ; --- REPE CMPSB stops at the first difference; flags from that comparison
  mov esi, cmp_a
  mov edi, cmp_b
  mov ecx, 10
  repe cmpsb
  CHECK ecx, 6, "REPE CMPSB stopped after 4 bytes"
  CHECK esi, cmp_a + 4, "REPE CMPSB: ESI past the differing byte"
  CHECKF 0x41, 0x00, "REPE CMPSB: ZF = 0, CF = 0 ('d' > 'X')"
  ; --- REPNE SCASB finds a byte
  mov edi, msg
  mov al, 'g'
  mov ecx, msg_len
  repne scasb
  CHECK edi, msg + 6, "REPNE SCASB: EDI one past the 'g'"
  CHECKF 0x40, 0x40, "REPNE SCASB: ZF = 1 when found"
  ; --- source segment override: MOVSB from FS (base 0x100 set by a descriptor) to ES
  mov dword [gdt3 + 0], 0
  mov dword [gdt3 + 4], 0
  mov dword [gdt3 + 8], 0x0100ffff        ; base 0x000100, limit 0xfffff, data, 4 KiB, flat-ish
  mov dword [gdt3 + 12], 0x00cf9200
  sgdt [old_gdtr]
  mov esi, t_gdt
  mov edi, gdt_copy
  mov ecx, 16
  rep movsd
  mov eax, [gdt3 + 8]
  mov [gdt_copy + 0x40], eax
  mov eax, [gdt3 + 12]
  mov [gdt_copy + 0x44], eax
  lgdt [gdt_copy_r]
  mov ax, 0x40
  mov fs, ax
  mov dword [DST + 0x300], 0xcafef00d
  mov esi, DST + 0x300 - 0x100            ; FS:ESI = DST + 300H
  mov edi, DST + 0x400
  fs movsd
  CHECK [DST + 0x400], 0xcafef00d, "MOVSD with an FS override reads through FS's base"
  mov ax, T_DATA32
  mov fs, ax
  lgdt [old_gdtr]
  ; --- 16-bit addressing (67h): DI wraps at 64 KiB, upper EDI untouched
  mov edi, 0x1234fffe
  mov ax, T_DATA32
  mov es, ax
  xor ecx, ecx
  mov cx, 1
  mov al, 0x77
  db 0x67                                 ; address size 16: STOSB uses ES:DI and CX
  stosb
  CHECK edi, 0x1234ffff, "16-bit STOSB increments DI only"
  ; --- #PF in the middle of REP MOVSD: restartable state, CR2
  xor eax, eax
  mov edi, PD
  mov ecx, 2048
  rep stosd
  mov dword [PD], 0x83                    ; 4 MiB identity, 0-4 MiB
  mov dword [PD + 1 * 4], PT | 3          ; 4-8 MiB via a page table
  mov dword [PT + 0 * 4], 0x400000 | 3    ; 400000H present, 401000H not
  mov eax, PD
  mov cr3, eax
  mov eax, cr4
  or eax, 0x10
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov esi, SRC
  mov edi, 0x400ff8                       ; two dwords fit, the third faults
  mov ecx, 5
  TRY
    rep movsd
  CATCH 14, 0x0002, "REP MOVSD into a not-present page: #PF (write, not present)"
  CHECK [t_exc_cr2], 0x401000, "CR2 = the first byte of the missing page"
  CHECK ecx, 3, "ECX shows the two dwords moved"
  CHECK edi, 0x401000, "EDI points at the faulting destination"
  CHECK esi, SRC + 8, "ESI advanced by two dwords"
  mov eax, cr0
  and eax, 0x7fffffff
  mov cr0, eax
  ; --- REP OUTSB / INSB through the UART scratch register (port 3FFH keeps the last byte)
  mov dx, 0x3ff
  mov esi, msg
  mov ecx, 3
  rep outsb
  in al, dx
  movzx eax, al
  CHECK eax, 'r', "REP OUTSB wrote 3 bytes: scratch holds the last ('r')"
  mov edi, DST + 0x500
  mov ecx, 2
  rep insb
  CHECK [DST + 0x500], 0x00007272, "REP INSB read the scratch register twice"
  ret

msg:     db 'strings'
msg_len  equ $ - msg
cmp_a:   db 'abcdefghij'
cmp_b:   db 'abcXefghij'
align 4
old_gdtr: dw 0
          dd 0
gdt3:     times 16 db 0
align 8
gdt_copy: times 0x48 db 0
gdt_copy_r:
  dw 0x47
  dd gdt_copy
