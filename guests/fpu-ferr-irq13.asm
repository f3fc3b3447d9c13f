; fpu-ferr-irq13: the PC/AT x87 error path with CR0.NE = 0 (SDM Vol1 D.2.1 and Figure D-1,
; Vol3A 2.5 CR0.NE): an unmasked exception asserts FERR#, which the board routes to IRQ 13 (slave
; 8259 IR5); an OUT to port F0h clears that request and asserts IGNNE#, so waiting instructions run
; despite the pending exception; FNCLEX clears ES, which deasserts FERR# and IGNNE#, and the next
; unmasked exception requests IRQ 13 again. The IRQ arrives at the boundary after the faulting
; instruction (EIP of the instruction after it).
; run: bare
%include "test.inc"
%include "dev.inc"

%macro SW 0                             ; EAX = FPU status word
  xor eax, eax
  fnstsw ax
%endmacro

test_main:
  call dev_idt_init
  SET_GATE DEV_SLAVE_BASE + 5, irq13
  call dev_pic_init
  mov al, 0xfb                          ; master: only the cascade
  out 0x21, al
  mov al, 0xdf                          ; slave: IRQ 13
  out 0xa1, al
  mov eax, cr0                          ; NE = 0 (PC/AT reporting), MP = 1, EM = TS = 0
  and eax, ~(0x20 | 0x04 | 0x08)
  or eax, 0x02
  mov cr0, eax

  ; --- interrupts off: FERR# shows as a pending IRQ 13
  cli
  fninit
  fldcw [cw_ze]
  fld1
  fldz
  fdivp st1, st0                        ; unmasked #Z: ES set, no result, no pop
  call slave_irr
  CHECK eax, 0x20, "FERR# requests IRQ 13 (slave IRR bit 5)"
  xor al, al
  out 0xf0, al                          ; clear the request, assert IGNNE#
  call slave_irr
  CHECK eax, 0, "OUT F0h withdraws the IRQ 13 request"
  fld1                                  ; waiting instruction: runs, IGNNE# asserted
  SW
  and eax, 0xb8ff
  CHECK eax, 0x8000 | 0x2800 | 0x80 | 0x04, "with IGNNE# the waiting FLD1 ran (TOP = 5), exception still pending"
  fnclex                                ; ES clear: FERR# and IGNNE# inactive
  CHECK [irq13_count], 0, "no IRQ 13 delivered with IF = 0"

  ; --- IGNNE# is gone after FNCLEX: a new exception requests IRQ 13 again
  fninit
  fldcw [cw_ze]
  fld1
  fldz
  fdivp st1, st0
  call slave_irr
  CHECK eax, 0x20, "after FNCLEX a new unmasked exception requests IRQ 13 again"

  ; --- interrupts on: the handler (OUT F0h, EOI) runs at the next instruction boundary
  sti
after_sti:
  nop                                   ; STI shadow: the interrupt comes before the instruction after this one
after_nop:
  cli
  CHECK [irq13_count], 1, "IRQ 13 delivered once IF = 1"
  CHECK [irq13_eip], after_nop, "IRQ 13 taken after the STI shadow"
  fld1                                  ; the handler's OUT F0h asserted IGNNE#: runs
  SW
  and eax, 0x3880
  CHECK eax, 0x2880, "waiting FLD1 ran after the handler (TOP = 5, ES still set)"
  fnclex
  call slave_irr
  CHECK eax, 0, "no request left after FNCLEX"

  ; --- an exception raised with IF = 1: IRQ 13 at the boundary right after the faulting instruction
  fninit
  fldcw [cw_ze]
  fld1
  fldz
  sti
  nop
  fdivp st1, st0
after_div:
  nop
  cli
  CHECK [irq13_count], 2, "second IRQ 13"
  CHECK [irq13_eip], after_div, "IRQ 13 arrives right after the faulting FDIVP"
  fninit
  ret

; IRQ 13 handler: record the return EIP, clear the FERR# latch (OUT F0h), EOI both PICs.
irq13:
  push eax
  inc dword [irq13_count]
  mov eax, [esp + 4]
  mov [irq13_eip], eax
  xor al, al
  out 0xf0, al
  mov al, 0x20
  out 0xa0, al
  out 0x20, al
  pop eax
  iret

; EAX = slave PIC IRR & 0x20 (IRQ 13).
slave_irr:
  mov al, 0x0a                          ; OCW3: read IRR
  out 0xa0, al
  in al, 0xa0
  movzx eax, al
  and eax, 0x20
  ret

cw_ze:  dw 0x037b                       ; ZM clear
align 4
irq13_count: dd 0
irq13_eip:   dd 0
