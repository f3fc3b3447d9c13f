; apic-ioapic: the PIT's IRQ0 first through the 8259 and the local APIC's LINT0 in ExtINT mode
; (the virtual wire mode the machine starts in, as a BIOS leaves it), then through the I/O APIC
; (pin 2, as the MP table says) to vector 0x30 with the 8259 masked, at the programmed rate; then
; level-triggered with remote IRR and TMR, and masked. Expected figures: PIT count 1193 at
; 1193182 Hz; 10 periods = 11930 ticks = 9998474.7 ns.
%include "test.inc"
%include "dev.inc"

APIC      equ 0xfee00000
A_EOI     equ APIC + 0xb0
A_SVR     equ APIC + 0xf0
A_TMR31   equ APIC + 0x180 + 0x10 * (0x31 >> 5)  ; TMR word holding vector 0x31 (bit 17)
A_LINT0   equ APIC + 0x350
A_LINT1   equ APIC + 0x360
IOAPIC    equ 0xfec00000
IOREGSEL  equ IOAPIC
IOWIN     equ IOAPIC + 0x10
PERIOD    equ 1193
SPAN_NS   equ 9998475                   ; 10 periods

; IOREAD reg -> eax ; IOWRITE reg, value
%macro IOREAD 1
  mov dword [IOREGSEL], %1
  mov eax, [IOWIN]
%endmacro
%macro IOWRITE 2
  mov dword [IOREGSEL], %1
  mov dword [IOWIN], %2
%endmacro

test_main:
  call dev_idt_init
  SET_GATE 0x20, pic_isr
  SET_GATE 0x30, edge_isr
  SET_GATE 0x31, level_isr
  call dev_pic_init

  ; ---- virtual wire: 8259 INTR through LINT0 (ExtINT)
  CHECK [A_SVR], 0x1ff, "APIC left software-enabled, spurious vector 0xFF"
  CHECK [A_LINT0], 0x700, "LINT0 = ExtINT"
  CHECK [A_LINT1], 0x400, "LINT1 = NMI"
  mov al, 0xfa                          ; unmask IRQ0
  out 0x21, al
  mov al, 0x34                          ; PIT counter 0, mode 2, LSB/MSB
  out 0x43, al
  mov ax, PERIOD
  out 0x40, al
  mov al, ah
  out 0x40, al
  sti
.w1:
  cli
  cmp dword [pic_ticks], 3
  jae .d1
  sti
  hlt
  jmp .w1
.d1:
  CHECK [pic_ticks], 3, "IRQ0 through the 8259 and LINT0 at the 8259's vector"
  mov al, 0xff                          ; mask the whole 8259
  out 0x21, al
  out 0xa1, al

  ; ---- I/O APIC registers
  IOREAD 1
  CHECK eax, 0x00170011, "I/O APIC version 0x11, 24 entries"
  IOREAD 0
  CHECK eax, 0x01000000, "I/O APIC ID 1 (the MP table's)"
  IOREAD 0x14
  CHECK eax, 0x00010000, "pin 2 masked at reset"

  ; ---- pin 2 → vector 0x30, fixed, physical APIC 0, edge, active high
  IOWRITE 0x15, 0x00000000
  IOWRITE 0x14, 0x00000030
  sti
.w2:
  cli
  cmp dword [edge_ticks], 11
  jae .d2
  sti
  hlt
  jmp .w2
.d2:
  sti
  mov eax, [tsc_last]
  sub eax, [tsc_first]
  CHECKR eax, SPAN_NS - 30, SPAN_NS + 30, "10 PIT periods through the I/O APIC = 9.998475 ms"
  CHECK [pic_ticks], 3, "nothing through the masked 8259"
  CHECK [dev_stray], 0, "no stray vectors"
  mov al, 0x0a                          ; the 8259 still sees IRQ0 (fan-out): IRR bit 0
  out 0x20, al
  in al, 0x20
  and eax, 1
  CHECK eax, 1, "8259 IRR holds IRQ0 while masked"

  ; ---- level-triggered: remote IRR and TMR in the handler, cleared by EOI
  cli
  IOWRITE 0x14, 0x00008031              ; level, vector 0x31
  sti
  mov ecx, 100000
.w3:
  cmp dword [level_ticks], 0
  jne .d3
  dec ecx
  jnz .w3
.d3:
  CHECK [level_ticks], 1, "level-triggered pin delivered once"
  CHECK [rirr_in_handler], 0x4000, "remote IRR set while in service"
  CHECK [tmr_in_handler], 1 << 17, "TMR bit of vector 0x31 set"
  IOREAD 0x14
  CHECK eax, 0x00018031, "after EOI: remote IRR clear (entry masked by the handler)"

  ; ---- masked pin: no interrupts for 3 periods
  mov ebx, [edge_ticks]
  call dev_rdtsc32
  mov esi, eax
.spin:
  call dev_rdtsc32
  sub eax, esi
  cmp eax, 3000000
  jb .spin
  CHECK [edge_ticks], ebx, "no interrupts from the masked pin"
  CHECK [level_ticks], 1, "no more level interrupts"
  cli
  ret

pic_isr:
  push eax
  inc dword [pic_ticks]
  mov al, 0x20                          ; 8259 EOI (ExtINT: no local APIC EOI)
  out 0x20, al
  pop eax
  iretd

edge_isr:
  push eax
  push edx
  inc dword [edge_ticks]
  rdtsc
  cmp dword [tsc_first], 0
  jne .nf
  mov [tsc_first], eax
.nf:
  mov [tsc_last], eax
  mov dword [A_EOI], 0
  pop edx
  pop eax
  iretd

level_isr:
  push eax
  inc dword [level_ticks]
  IOREAD 0x14
  and eax, 0x4000
  mov [rirr_in_handler], eax
  mov eax, [A_TMR31]
  and eax, 1 << 17
  mov [tmr_in_handler], eax
  IOWRITE 0x14, 0x00018031              ; mask (the line stays high), then EOI
  mov dword [A_EOI], 0
  pop eax
  iretd

align 4
pic_ticks:       dd 0
edge_ticks:      dd 0
level_ticks:     dd 0
tsc_first:       dd 0
tsc_last:        dd 0
rirr_in_handler: dd 0
tmr_in_handler:  dd 0
