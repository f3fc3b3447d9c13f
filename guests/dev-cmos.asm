; dev-cmos: the MC146818 RTC and PC/AT CMOS as a guest sees them: the fixed start date
; 2026-01-01 00:00 (a Thursday) in BCD and in binary, the memory size fields against the
; Multiboot mem_upper, register C cleared on read, and the periodic interrupt on IRQ8 (through
; the slave PIC) at 1024 Hz against the virtual clock (RDTSC = virtual ns).
%include "test.inc"
%include "dev.inc"

%macro CMOS_RD 1                        ; AL = CMOS[%1]; EAX zero-extended
  mov al, %1
  out 0x70, al
  in al, 0x71
  movzx eax, al
%endmacro
%macro CMOS_WR 2
  mov al, %1
  out 0x70, al
  mov al, %2
  out 0x71, al
%endmacro

test_main:
  call dev_idt_init
  ; ---- wait for the end of any update cycle, then read the clock (BCD, 24 h by default)
.uip:
  CMOS_RD 0x0a
  test al, 0x80
  jnz .uip
  CMOS_RD 0x0b
  CHECK eax, 0x02, "register B: BCD, 24-hour"
  CMOS_RD 0x00
  CHECK eax, 0x00, "seconds"
  CMOS_RD 0x02
  CHECK eax, 0x00, "minutes"
  CMOS_RD 0x04
  CHECK eax, 0x00, "hours"
  CMOS_RD 0x06
  CHECK eax, 0x05, "day of week: Thursday"
  CMOS_RD 0x07
  CHECK eax, 0x01, "day of month"
  CMOS_RD 0x08
  CHECK eax, 0x01, "month"
  CMOS_RD 0x09
  CHECK eax, 0x26, "year (BCD)"
  CMOS_RD 0x32
  CHECK eax, 0x20, "century (BCD)"
  CMOS_RD 0x0d
  CHECK eax, 0x80, "register D: valid RAM and time"
  CMOS_WR 0x0b, 0x06                    ; binary, 24 h
  CMOS_RD 0x09
  CHECK eax, 26, "year (binary)"
  CMOS_RD 0x32
  CHECK eax, 20, "century (binary)"
  CMOS_WR 0x0b, 0x02

  ; ---- memory size fields vs Multiboot
  mov ebx, [t_mbinfo]
  mov esi, [ebx + 8]                    ; mem_upper: KiB above 1 MiB
  CMOS_RD 0x15
  mov ecx, eax
  CMOS_RD 0x16
  shl eax, 8
  or eax, ecx
  CHECK eax, 640, "base memory (0x15/0x16): 640 KiB"
  CMOS_RD 0x17
  mov ecx, eax
  CMOS_RD 0x18
  shl eax, 8
  or eax, ecx
  mov edi, esi
  cmp edi, 0xffff
  jbe .fits
  mov edi, 0xffff                       ; the 16-bit field saturates (guests over 64 MiB)
.fits:
  CHECK eax, edi, "extended memory (0x17/0x18) = Multiboot mem_upper (saturated at 0xFFFF)"
  CMOS_RD 0x30
  mov ecx, eax
  CMOS_RD 0x31
  shl eax, 8
  or eax, ecx
  CHECK eax, edi, "extended memory copy (0x30/0x31) = the same"
  CMOS_RD 0x34
  mov ecx, eax
  CMOS_RD 0x35
  shl eax, 8
  or eax, ecx
  shl eax, 6                            ; 64 KiB units → KiB
  add eax, 15 * 1024                    ; plus 1-16 MiB
  CHECK eax, esi, "memory above 16 MiB (0x34/0x35) in 64 KiB units matches mem_upper"

  ; ---- register C: flags set without enables, cleared by reading
  CMOS_RD 0x0c
  call dev_rdtsc32
  mov esi, eax
.w1:
  call dev_rdtsc32
  sub eax, esi
  cmp eax, 2000000                      ; 2 ms > one 1024 Hz period
  jb .w1
  CMOS_RD 0x0c
  CHECK eax, 0x40, "PF set at 1024 Hz without PIE (no IRQF)"
  CMOS_RD 0x0c
  CHECK eax, 0x00, "register C cleared by the read"

  ; ---- periodic interrupt on IRQ8 for 100 ms of virtual time
  SET_GATE 0x28, irq8
  call dev_pic_init
  mov al, 0xfe                          ; slave: unmask IRQ8
  out 0xa1, al
  CMOS_WR 0x0a, 0x26                    ; 32.768 kHz, RS = 6: 1024 Hz
  CMOS_WR 0x0b, 0x42                    ; PIE, 24 h, BCD
  mov dword [window], 100000000
  call dev_rdtsc32
  mov [t0], eax
  sti
.w2:
  hlt                                   ; woken by IRQ8
  call dev_rdtsc32
  sub eax, [t0]
  cmp eax, [window]
  jb .w2
  cli
  CMOS_WR 0x0b, 0x02
  ; 100 ms at 1024 Hz = 102.4 periods: 102 or 103 interrupts depending on the phase.
  CHECKR [irqs], 102, 103, "IRQ8 at 1024 Hz: 102 or 103 interrupts in 100 ms (102.4 periods)"
  CHECK [bad_c], 0, "every IRQ8 found IRQF|PF in register C"
  CHECK [dev_stray], 0, "no stray vectors"
  ; 8 Hz for 1 s of virtual time
  mov dword [irqs], 0
  mov dword [window], 1000000000
  CMOS_WR 0x0a, 0x2d                    ; RS = 13: 8 Hz
  CMOS_WR 0x0b, 0x42
  call dev_rdtsc32
  mov [t0], eax
  sti
.w3:
  hlt
  call dev_rdtsc32
  sub eax, [t0]
  cmp eax, [window]
  jb .w3
  cli
  CMOS_WR 0x0b, 0x02
  CHECKR [irqs], 8, 8, "IRQ8 at 8 Hz: 8 interrupts in 1 s"
  ret

; IRQ8: acknowledge at the RTC (read C); count the interrupts inside the time window.
irq8:
  push eax
  push edx
  CMOS_RD 0x0c
  and al, 0xc0
  cmp al, 0xc0
  je .ok
  inc dword [bad_c]
.ok:
  rdtsc
  sub eax, [t0]
  cmp eax, [window]
  jae .late
  inc dword [irqs]
.late:
  mov al, 0x20
  out 0xa0, al                          ; EOI slave, then master
  out 0x20, al
  pop edx
  pop eax
  iretd

align 4
t0:    dd 0
irqs:  dd 0
window: dd 0
bad_c: dd 0
