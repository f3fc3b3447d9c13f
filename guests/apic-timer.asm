; apic-timer: the local APIC at IA32_APIC_BASE (0xFEE00000): version/ID, software enable through
; the SVR, periodic timer interrupts at the documented 100 MHz bus clock measured with the TSC
; (1 GHz virtual ns), one-shot mode, TPR holding an interrupt back, ISR during the handler and EOI,
; a self IPI through the ICR, ESR write-then-read, and no timer interrupts while software-disabled.
; Expected figures: 100 MHz / divisor; divide-by-1 count 10000 = 100000 ns per period; divide-by-16
; count 5000 = 5000 * 160 ns = 800000 ns.
%include "test.inc"
%include "dev.inc"

APIC      equ 0xfee00000
A_ID      equ APIC + 0x20
A_VER     equ APIC + 0x30
A_TPR     equ APIC + 0x80
A_PPR     equ APIC + 0xa0
A_EOI     equ APIC + 0xb0
A_SVR     equ APIC + 0xf0
A_ISR40   equ APIC + 0x100 + 0x10 * (0x40 >> 5)   ; ISR word holding vector 0x40 (bit 0)
A_IRR40   equ APIC + 0x200 + 0x10 * (0x40 >> 5)
A_ESR     equ APIC + 0x280
A_ICRLO   equ APIC + 0x300
A_ICRHI   equ APIC + 0x310
A_LVTT    equ APIC + 0x320
A_TICR    equ APIC + 0x380
A_TCCR    equ APIC + 0x390
A_TDCR    equ APIC + 0x3e0
TIMER_VEC equ 0x40
IPI_VEC   equ 0x41
SPUR_VEC  equ 0xff
N_TICKS   equ 11

test_main:
  call dev_idt_init
  SET_GATE TIMER_VEC, timer_isr
  SET_GATE IPI_VEC, ipi_isr
  SET_GATE SPUR_VEC, spurious_isr
  call dev_pic_init                     ; 8259 quiet: everything masked but the cascade
  mov al, 0xff
  out 0x21, al

  mov eax, 1
  cpuid
  and edx, 1 << 9
  CHECK edx, 1 << 9, "CPUID.1:EDX.APIC"
  mov ecx, 0x1b
  rdmsr
  CHECK eax, 0xfee00900, "IA32_APIC_BASE: base 0xFEE00000, enabled, BSP"
  CHECK [A_VER], 0x00050014, "version: integrated APIC 0x14, max LVT 5"
  CHECK [A_ID], 0, "APIC ID 0"

  ; ---- software enable with the spurious vector 0xFF
  mov dword [A_SVR], 0x100 | SPUR_VEC
  CHECK [A_SVR], 0x1ff, "SVR reads back"
  mov dword [A_TPR], 0

  ; ---- periodic timer, divide by 1, 10000 counts
  mov dword [A_TDCR], 0xb
  mov dword [A_LVTT], 0x20000 | TIMER_VEC
  mov dword [A_TICR], 10000
  sti
.wait:
  cli
  cmp dword [ticks], N_TICKS
  jae .done
  sti
  hlt
  jmp .wait
.done:
  mov dword [A_LVTT], 0x10000 | TIMER_VEC   ; mask
  sti
  mov eax, [tsc_last]
  sub eax, [tsc_first]
  CHECKR eax, 10 * 100000 - 20, 10 * 100000 + 20, "10 periodic periods of 10000 counts = 1 ms of virtual time"
  CHECK [isr_in_handler], 1, "ISR bit of vector 0x40 set in the handler"
  CHECK [ppr_in_handler], 0x40, "PPR = class of the vector in service"
  mov eax, [A_ISR40]
  and eax, 1
  CHECK eax, 0, "ISR clear after EOI"
  mov eax, [A_TCCR]
  CHECKR eax, 1, 10000, "current count within the period (masked timer keeps counting)"
  CHECK [dev_stray], 0, "no stray vectors"

  ; ---- one-shot, divide by 16, 5000 counts, CPU busy (no HLT)
  cli
  mov dword [ticks], 0
  mov dword [tsc_first], 0
  mov dword [A_TDCR], 0x3
  mov dword [A_LVTT], TIMER_VEC
  call dev_rdtsc32
  mov esi, eax
  mov dword [A_TICR], 5000
  sti
  mov ecx, 10000000
.busy:
  cmp dword [ticks], 0
  jne .fired
  dec ecx
  jnz .busy
.fired:
  mov eax, [tsc_first]
  sub eax, esi
  CHECKR eax, 800000, 800000 + 200, "one-shot fires 5000 x 160 ns after the initial count write"
  mov ecx, 1000000
.more:
  dec ecx
  jnz .more
  CHECK [ticks], 1, "one-shot: a single interrupt"
  CHECK [A_TCCR], 0, "one-shot: count stays 0"

  ; ---- TPR holds the timer vector (class 4) back until lowered
  cli
  mov dword [ticks], 0
  mov dword [A_TPR], 0x40
  mov dword [A_TDCR], 0xb
  mov dword [A_TICR], 100                ; 1000 ns
  sti
  mov ecx, 10000
.held:
  dec ecx
  jnz .held
  CHECK [ticks], 0, "TPR 0x40 blocks vector 0x40"
  mov eax, [A_IRR40]
  and eax, 1
  CHECK eax, 1, "the request waits in IRR"
  CHECK [A_PPR], 0x40, "PPR = TPR"
  mov dword [A_TPR], 0
  nop
  CHECK [ticks], 1, "delivered once TPR is lowered"

  ; ---- self IPI: fixed, vector 0x41, shorthand self
  mov dword [A_ICRHI], 0
  mov dword [A_ICRLO], 0x00040000 | IPI_VEC
  nop
  CHECK [ipis], 1, "self IPI delivered"
  mov eax, [A_ICRLO]
  and eax, 1 << 12
  CHECK eax, 0, "ICR delivery status idle"

  ; ---- ESR: write, then read
  mov eax, [APIC + 0x40]                 ; reserved register
  mov dword [A_ESR], 0
  CHECK [A_ESR], 0x80, "ESR: illegal register address after the write"
  mov dword [A_ESR], 0
  CHECK [A_ESR], 0, "ESR cleared by the next write"

  ; ---- software disable: no timer interrupts, LVT masks forced
  cli
  mov dword [ticks], 0
  mov dword [A_SVR], SPUR_VEC            ; bit 8 clear
  mov dword [A_LVTT], 0x20000 | TIMER_VEC
  mov eax, [A_LVTT]
  and eax, 0x10000
  CHECK eax, 0x10000, "LVT mask stays set while software-disabled"
  mov dword [A_TICR], 100
  sti
  mov ecx, 10000
.off:
  dec ecx
  jnz .off
  CHECK [ticks], 0, "no timer interrupts while software-disabled"
  CHECK [spurious], 0, "no spurious interrupts"
  cli
  ret

timer_isr:
  push eax
  push edx
  inc dword [ticks]
  rdtsc
  cmp dword [tsc_first], 0
  jne .notfirst
  mov [tsc_first], eax
.notfirst:
  mov [tsc_last], eax
  mov eax, [A_ISR40]
  and eax, 1
  mov [isr_in_handler], eax
  mov eax, [A_PPR]
  mov [ppr_in_handler], eax
  mov dword [A_EOI], 0
  pop edx
  pop eax
  iretd

ipi_isr:
  inc dword [ipis]
  mov dword [A_EOI], 0
  iretd

spurious_isr:
  inc dword [spurious]                   ; no EOI for the spurious vector (SDM 10.9)
  iretd

align 4
ticks:          dd 0
ipis:           dd 0
spurious:       dd 0
tsc_first:      dd 0
tsc_last:       dd 0
isr_in_handler: dd 0
ppr_in_handler: dd 0
