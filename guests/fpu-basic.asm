; fpu-basic: the x87 FPU as Linux and a static userland use it (SDM Vol1 ch. 8): CPUID bits, the
; kernel's FPU detection (fninit; fnstsw; fnstcw) and FDIV-bug check, loads/stores in every format,
; correctly rounded arithmetic, rounding control for FIST, exact 64-bit integer moves, compares into
; EFLAGS, constants, a few transcendentals, FSAVE/FRSTOR and FXSAVE/FXRSTOR round trips, and lazy
; FPU switching (CR0.TS → #NM, CLTS). Expected values are IEEE encodings computed by hand.
%include "test.inc"

%macro SW 0                              ; EAX = FPU status word
  xor eax, eax
  fnstsw ax
%endmacro

test_main:
  ; CR0: NE = 1 (native #MF), MP = 1, EM = 0, TS = 0; CR4.OSFXSR (FXSAVE with XMM state)
  mov eax, cr0
  or eax, 0x22
  and eax, ~0x0c
  mov cr0, eax
  mov eax, cr4
  or eax, 0x200
  mov cr4, eax

  mov eax, 1
  cpuid
  and edx, (1 << 0) | (1 << 24) | (1 << 25)
  CHECK edx, (1 << 0) | (1 << 24), "CPUID.1:EDX: FPU and FXSR, no SSE"

  ; --- Linux fpu__init_system_early_generic: FNINIT; FNSTSW; FNSTCW
  mov word [w0], 0xffff
  mov word [w1], 0xffff
  fninit
  fnstsw [w0]
  fnstcw [w1]
  CHECK [w0], 0xffff0000, "FNSTSW after FNINIT is 0"
  CHECK [w1], 0xffff037f, "FNSTCW after FNINIT is 037FH"

  ; --- Linux check_fpu: x / y * y - x with x = 4195835, y = 3145727 rounds to 0 (no FDIV bug)
  mov dword [r0], 0x12345678
  fninit
  fld qword [fd_x]
  fdiv qword [fd_y]
  fmul qword [fd_y]
  fld qword [fd_x]
  fsubp st1, st0
  fistp dword [r0]
  fwait
  CHECK [r0], 0, "no FDIV bug"

  ; --- arithmetic, correctly rounded to double
  fninit
  fld1
  fdiv qword [three]
  fstp qword [r0]
  CHECK [r0], 0x55555555, "1/3 low"
  CHECK [r0 + 4], 0x3fd55555, "1/3 high"
  fld qword [two]
  fsqrt
  fstp qword [r0]
  CHECK [r0], 0x667f3bcd, "sqrt 2 low"
  CHECK [r0 + 4], 0x3ff6a09e, "sqrt 2 high"
  fld dword [f_m325]
  fmul dword [f_m325]
  fadd dword [f_half]
  fstp dword [r0]
  CHECK [r0], 0x41310000, "-3.25 * -3.25 + 0.5 = 11.0625 (single)"
  fild dword [i_100]
  fidiv word [i_8]
  fstp qword [r0]
  CHECK [r0 + 4], 0x40290000, "100 / 8 = 12.5"

  ; --- FIST by rounding control; FILD/FISTP m64 exact
  fld qword [h25]
  fistp dword [r0]
  CHECK [r0], 2, "FISTP 2.5, nearest even: 2"
  fld qword [m35]
  fistp dword [r0]
  CHECK [r0], -4, "FISTP -3.5, nearest even: -4"
  fldcw [cw_chop]
  fld qword [m35]
  fistp dword [r0]
  CHECK [r0], -3, "FISTP -3.5, chop: -3"
  fldcw [cw_down]
  fld qword [m35]
  fistp word [r0]
  CHECK [r0], 0xfffffffc, "FISTP m16 -3.5, down: -4"
  fldcw [cw_up]
  fld qword [h25]
  fistp dword [r0]
  CHECK [r0], 3, "FISTP 2.5, up: 3"
  fninit
  fild qword [i64v]
  fistp qword [r0]
  CHECK [r0], 0x89abcdef, "FILD/FISTP m64 low"
  CHECK [r0 + 4], 0x81234567, "FILD/FISTP m64 high (more than 53 bits, exact)"

  ; --- m80 and constants
  fldpi
  fstp tword [r0]
  CHECK [r0], 0x2168c235, "FLDPI low"
  CHECK [r0 + 4], 0xc90fdaa2, "FLDPI high"
  CHECK [r0 + 8], 0x4000, "FLDPI sign and exponent"
  fld tword [t_odd]
  fstp tword [r0]
  CHECK [r0], 0x00000001, "m80 round trip keeps a 64-bit significand"
  CHECK [r0 + 4], 0x80000000, "m80 round trip (high)"

  ; --- compares
  fld qword [two]
  fld qword [three]
  fcomi st0, st1                      ; 3 > 2: ZF = PF = CF = 0
  CHECKF 0x45, 0, "FCOMI 3 > 2"
  fxch st1
  fcomip st0, st1                     ; 2 < 3: CF
  CHECKF 0x45, 0x01, "FCOMIP 2 < 3"
  fcom qword [three]
  SW
  and eax, 0x4500
  CHECK eax, 0x4000, "FCOM equal: C3"
  fstp st0
  fldz
  fxam
  SW
  and eax, 0x4700
  CHECK eax, 0x4000, "FXAM +0: C3"
  fstp st0

  ; --- transcendentals and friends
  fld qword [three]
  fld qword [eight]
  fyl2x
  fistp dword [r0]
  CHECK [r0], 9, "FYL2X 3 * log2 8 = 9"
  fld1
  fld1
  fpatan
  fmul qword [four]
  fld qword [pi64]
  fcompp
  SW
  and eax, 0x4500
  CHECK eax, 0x4000, "4 * atan(1) == pi (double)"
  fld qword [ten]
  fld qword [three]
  fxch st1
  fprem
  SW
  and eax, 0x4700
  CHECK eax, 0x4200, "FPREM 10 mod 3: Q = 3 (C3 C1), complete"
  fistp dword [r0]
  CHECK [r0], 1, "FPREM remainder 1"
  fstp st0

  ; --- FSAVE / FRSTOR round trip
  fninit
  fld1
  fldpi
  fsave [save]
  SW
  CHECK eax, 0, "FSAVE reinitialises the FPU"
  frstor [save]
  SW
  and eax, 0x3800
  CHECK eax, 0x3000, "FRSTOR: TOP = 6"
  fstp tword [r0]
  CHECK [r0 + 4], 0xc90fdaa2, "FRSTOR: ST0 = pi"
  fstp st0

  ; --- FXSAVE / FXRSTOR round trip, MXCSR default
  fninit
  fld qword [three]
  fxsave [fx]
  CHECK [fx + 24], 0x1f80, "FXSAVE: MXCSR = 1F80H"
  mov al, [fx + 4]
  and eax, 0xff
  CHECK eax, 0x80, "FXSAVE: abridged tag (R7 valid)"
  fninit
  fxrstor [fx]
  fistp dword [r0]
  CHECK [r0], 3, "FXRSTOR brings back ST0"

  ; --- LDMXCSR: SSE is not advertised
  TRY
    ldmxcsr [fx + 24]
  CATCH 6, -1, "LDMXCSR #UD without SSE"

  ; --- lazy FPU switching: TS set → #NM at the first x87 instruction, CLTS, retry
  fninit
  mov eax, cr0
  or eax, 8
  mov cr0, eax
  TRY
    fld1
  CATCH 7, -1, "CR0.TS: #NM"
  clts
  fld1
  fistp dword [r0]
  CHECK [r0], 1, "after CLTS the instruction runs"
  ret

align 8
fd_x:   dq 4195835.0
fd_y:   dq 3145727.0
three:  dq 3.0
two:    dq 2.0
four:   dq 4.0
pi64:   dq 0x400921fb54442d18
eight:  dq 8.0
ten:    dq 10.0
h25:    dq 2.5
m35:    dq -3.5
i64v:   dq 0x8123456789abcdef
t_odd:  dd 0x00000001, 0x80000000
        dw 0x3fff
f_m325: dd -3.25
f_half: dd 0.5
i_100:  dd 100
i_8:    dw 8
cw_chop: dw 0x0f7f
cw_down: dw 0x077f
cw_up:   dw 0x0b7f
align 4
w0:     dd 0xffff0000
w1:     dd 0xffff0000
r0:     times 4 dd 0
save:   times 108 db 0
align 16
fx:     times 512 db 0
