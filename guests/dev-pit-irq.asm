; dev-pit-irq: the 8254 PIT drives IRQ0 through the 8259A PIC into the IDT (STI/HLT), at the
; programmed rate against the virtual clock (RDTSC = virtual ns here); counter readback in the
; handler; masking at the PIC; counter 2 in mode 0 polled through port 0x61 bit 5 (Linux's TSC
; calibration loop). Expected figures: 1193182 Hz input, so count 11932 = 11932e9/1193182 ns.
%include "test.inc"
%include "dev.inc"

PERIOD  equ 11932                       ; ~100 Hz
N_IRQ   equ 22
PERIOD_NS equ 10000151                  ; 11932 * 1e9 / 1193182 = 10000150.8 ns
SPAN_NS   equ 200003017                 ; 20 periods = 238640 ticks = 200003016.6 ns

test_main:
  call dev_idt_init
  SET_GATE 0x20, irq0
  call dev_pic_init
  mov al, 0xfa                          ; unmask IRQ0 (and the cascade)
  out 0x21, al
  in al, 0x21
  movzx eax, al
  CHECK eax, 0xfa, "PIC IMR reads back"

  ; ---- counter 0, mode 2 (rate generator), LSB then MSB
  mov al, 0x34
  out 0x43, al
  mov ax, PERIOD
  out 0x40, al
  mov al, ah
  out 0x40, al
  sti
.wait:
  cli
  cmp dword [ticks], N_IRQ
  jae .done
  sti
  hlt                                   ; STI shadow: the interrupt comes after HLT starts
  jmp .wait
.done:
  sti
  mov eax, [tsc_last]
  sub eax, [tsc_first]
  CHECKR eax, SPAN_NS - 20, SPAN_NS + 20, "20 timer periods of 11932 ticks take 200.0030 ms of virtual time"
  movzx eax, byte [isr_in_handler]
  CHECK eax, 0x01, "ISR bit 0 set inside the IRQ0 handler"
  movzx eax, word [count_in_handler]
  CHECKR eax, PERIOD - 64, PERIOD, "counter 0 just reloaded when the handler latches it"
  mov al, 0x0b
  out 0x20, al
  in al, 0x20
  movzx eax, al
  CHECK eax, 0, "ISR clear after EOI"
  CHECK [dev_stray], 0, "no stray vectors"

  ; ---- masking: IRQ0 masked at the PIC stays pending in IRR
  cli
  mov al, 0xfb
  out 0x21, al
  mov ebx, [ticks]
  sti
  call dev_rdtsc32
  mov esi, eax
.spin:
  call dev_rdtsc32
  sub eax, esi
  cmp eax, 3 * PERIOD_NS
  jb .spin
  CHECK [ticks], ebx, "no IRQ0 while masked (3 periods)"
  mov al, 0x0a
  out 0x20, al
  in al, 0x20
  and eax, 1
  CHECK eax, 1, "IRR bit 0 holds the masked request"
  mov al, 0xfa
  out 0x21, al                          ; unmask: the pending request is delivered at once
  nop
  nop
  mov eax, [ticks]
  sub eax, ebx
  CHECK eax, 1, "the pending IRQ0 arrives right after unmasking"

  ; ---- one-shot (mode 0) while the CPU busy-waits: the interrupt must come on time even
  ; though the timer was armed in the middle of a CPU run (no HLT to resync the run loop).
  cli
  mov dword [oneshot_tsc], 0
  SET_GATE 0x20, irq0_oneshot
  mov al, 0x30                          ; counter 0, LSB/MSB, mode 0
  out 0x43, al
  mov al, 1000 & 0xff
  out 0x40, al
  call dev_rdtsc32
  mov esi, eax
  mov al, 1000 >> 8
  out 0x40, al                          ; count loaded: OUT0 rises 1001 ticks later
  sti
  mov ecx, 50000000
.busy:
  cmp dword [oneshot_tsc], 0
  jne .fired
  dec ecx
  jnz .busy
.fired:
  mov eax, [oneshot_tsc]
  sub eax, esi
  ; 1001 ticks = 838938 ns after the count write (and within one tick of it).
  CHECKR eax, 838000, 840500, "mode 0 one-shot IRQ0 after 1000+1 ticks while busy-waiting"
  cli
  mov al, 0xfb
  out 0x21, al

  ; ---- counter 2, mode 0, polled through port 0x61 bit 5
  in al, 0x61
  and al, 0xfd                          ; speaker off
  or al, 0x01                           ; gate 2 high
  out 0x61, al
  mov al, 0xb0                          ; counter 2, LSB/MSB, mode 0, binary
  out 0x43, al
  mov al, 1193 & 0xff
  out 0x42, al
  mov al, 1193 >> 8
  out 0x42, al
  call dev_rdtsc32
  mov esi, eax
  in al, 0x61
  and eax, 0x20
  CHECK eax, 0, "OUT2 low right after the mode 0 count is written"
.poll:
  in al, 0x61
  test al, 0x20
  jz .poll
  call dev_rdtsc32
  sub eax, esi
  ; OUT2 rises 1194 ticks after the write: 1193 ticks = 999848 ns, 1194 = 1000687 ns.
  CHECKR eax, 999000, 1001500, "counter 2 terminal count after 1193+1 ticks (port 0x61 bit 5)"
  mov al, 0x80                          ; latch counter 2
  out 0x43, al
  in al, 0x42
  mov ah, al
  in al, 0x42
  xchg al, ah
  movzx eax, ax
  CHECKR eax, 0xfe00, 0xffff, "counter 2 keeps counting past zero (wrapped to 0xFFxx)"
  ret

irq0:
  push eax
  push edx
  rdtsc
  ; The mode 2 control word itself raises OUT0 (power-on OUT is low): that first IRQ is not a
  ; period boundary, so time from the second IRQ to the 22nd.
  cmp dword [ticks], 1
  jne .notfirst
  mov [tsc_first], eax
.notfirst:
  mov [tsc_last], eax
  cmp dword [ticks], 5
  jne .skip
  mov al, 0x0b                          ; OCW3: read ISR
  out 0x20, al
  in al, 0x20
  mov [isr_in_handler], al
  mov al, 0x00                          ; latch counter 0
  out 0x43, al
  in al, 0x40
  mov dl, al
  in al, 0x40
  mov dh, al
  mov [count_in_handler], dx
.skip:
  inc dword [ticks]
  mov al, 0x20                          ; non-specific EOI
  out 0x20, al
  pop edx
  pop eax
  iretd

irq0_oneshot:
  push eax
  push edx
  rdtsc
  mov [oneshot_tsc], eax
  mov al, 0x20
  out 0x20, al
  pop edx
  pop eax
  iretd

align 4
oneshot_tsc:      dd 0
ticks:            dd 0
tsc_first:        dd 0
tsc_last:         dd 0
count_in_handler: dw 0
isr_in_handler:   db 0
