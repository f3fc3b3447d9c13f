; fpu-exceptions: x87 exception reporting (SDM Vol1 8.4-8.7, Vol3A 2.5 and Table 2-2):
; with CR0.NE = 1 an unmasked exception is reported as #MF (vector 16) by the NEXT waiting x87
; instruction or WAIT, with EIP at that instruction and FIP at the one that caused it; no-wait
; instructions (FNSTSW, FNSTENV, FNCLEX) do not report it; masked exceptions only set flags.
; #NM: CR0.TS and CR0.EM for x87 instructions, WAIT only with MP and TS, FXSAVE with TS.
; #GP(0) for a misaligned FXSAVE, #UD for FISTTP (SSE3, not advertised).
%include "test.inc"

%macro SW 0                              ; EAX = FPU status word
  xor eax, eax
  fnstsw ax
%endmacro
%macro SET_CR0 2                         ; clear %1, set %2
  mov eax, cr0
  and eax, ~(%1)
  or eax, %2
  mov cr0, eax
%endmacro

CR0_MP equ 2
CR0_EM equ 4
CR0_TS equ 8
CR0_NE equ 0x20

test_main:
  SET_CR0 CR0_EM | CR0_TS, CR0_NE | CR0_MP

  ; --- masked zero divide: flag only
  fninit
  fld1
  fldz
  fdivp st1, st0
  SW
  and eax, 0xff
  CHECK eax, 0x04, "masked #Z: ZE set, no ES"
  fstp st0

  ; --- unmasked zero divide: #MF at the next waiting instruction
  fninit
  fldcw [cw_ze]
  fld1
  fldz
mf_div:
  fdivp st1, st0                        ; ZE, ES; no result, no pop
  SW                                    ; FNSTSW: no-wait, no fault
  and eax, 0xb8ff
  CHECK eax, 0x8000 | 0x3000 | 0x80 | 0x04, "after unmasked #Z: B, TOP = 6, ES, ZE"
  fnstenv [env]                         ; no-wait; also masks all exceptions
  CHECK [env + 12], mf_div, "FNSTENV: FIP = the FDIVP"
  fldenv [env]                          ; back to the unmasked control word: ES pending again
  TRY
mf_at:
    fld1
  CATCH 16, -1, "#MF on the next waiting instruction"
  CHECK [t_exc_eip], mf_at, "#MF: EIP = the waiting instruction"
  fnclex
  fld1                                  ; nothing pending now
  SW
  and eax, 0x3800
  CHECK eax, 0x2800, "after FNCLEX the instruction runs (TOP = 5)"

  ; --- FWAIT reports it too
  fninit
  fldcw [cw_ze]
  fld1
  fldz
  fdivp st1, st0
  TRY
mf_wait:
    fwait
  CATCH 16, -1, "#MF on FWAIT"
  CHECK [t_exc_eip], mf_wait, "#MF: EIP = the FWAIT"

  ; --- FLDCW unmasking a flag that is already set makes it pending
  fninit
  fld1
  fldz
  fdivp st1, st0                        ; masked: ZE set, no ES
  fldcw [cw_ze]
  TRY
    fld1
  CATCH 16, -1, "#MF after FLDCW unmasks a set flag"

  ; --- unmasked stack underflow (#IS): IE and SF, reported at the next instruction
  fninit
  fldcw [cw_ie]
  fadd st0, st1                         ; both empty
  SW
  and eax, 0x02c1
  CHECK eax, 0x00c1, "#IS: IE, SF, ES, C1 = 0"
  TRY
    fwait
  CATCH 16, -1, "#MF for the stack underflow"

  ; --- unmasked overflow: FST to memory stores nothing
  fninit
  fldcw [cw_oe]
  mov dword [r0], 0x11111111
  mov dword [r0 + 4], 0x22222222
  fld qword [huge]
  fstp dword [r0]                       ; 1e300 does not fit a single: #O unmasked
  CHECK [r0], 0x11111111, "unmasked #O: FSTP m32 stores nothing"
  SW
  and eax, 0x3888
  CHECK eax, 0x3888 & (0x3800 | 0x88), "unmasked #O: OE, ES, no pop (TOP = 7)"
  fnclex

  ; --- #NM
  fninit
  SET_CR0 0, CR0_TS
  TRY
    fld1
  CATCH 7, -1, "#NM: x87 instruction with CR0.TS"
  TRY
    fwait
  CATCH 7, -1, "#NM: WAIT with CR0.MP and CR0.TS"
  TRY
    fxsave [fx]
  CATCH 7, -1, "#NM: FXSAVE with CR0.TS"
  SET_CR0 CR0_MP, 0                     ; TS = 1, MP = 0: WAIT executes
  mov dword [r0], 0
  fwait
  mov dword [r0], 1
  CHECK [r0], 1, "WAIT with TS but not MP executes"
  SET_CR0 CR0_TS, CR0_EM                ; EM = 1, TS = 0
  TRY
    fninit
  CATCH 7, -1, "#NM: x87 instruction with CR0.EM"
  mov dword [r0], 0
  fwait
  mov dword [r0], 1
  CHECK [r0], 1, "WAIT with EM executes"
  SET_CR0 CR0_EM, CR0_MP

  ; --- #GP and #UD
  TRY
    fxsave [fx + 8]
  CATCH 13, 0, "FXSAVE misaligned: #GP(0)"
  TRY
    fisttp dword [r0]
  CATCH 6, -1, "FISTTP (SSE3): #UD"
  fninit
  ret

cw_ze:  dw 0x037b                         ; ZM clear
cw_ie:  dw 0x037e                         ; IM clear
cw_oe:  dw 0x0377                         ; OM clear
align 8
huge:   dq 1.0e300
r0:     dd 0, 0
env:    times 28 db 0
align 16
fx:     times 512 + 16 db 0
