; dev-uart: the 16550A on COM1 as Linux's 8250 driver probes and uses it: scratch and IER
; read-back, the MCR loopback test (MSR = 0x90 for LOOP|RTS|OUT2), FIFO detection (IIR bits 7-6),
; bytes looped back through the RX FIFO with the character-timeout and trigger-level IIR codes,
; then interrupt-driven transmission on IRQ4 (THRE interrupts through the PIC and the IDT).
; Values from the PC16550D datasheet. Loopback results are stored and checked after loopback
; ends, because the framework's CHECK output goes through the same UART.
%include "test.inc"
%include "dev.inc"

COM1 equ 0x3f8

test_main:
  call dev_idt_init
  ; ---- scratch register and IER (Linux autoconfig: IER upper bits read 0)
  mov dx, COM1 + 7
  mov al, 0xa5
  out dx, al
  in al, dx
  movzx eax, al
  CHECK eax, 0xa5, "scratch register"
  mov dx, COM1 + 1
  mov al, 0xff
  out dx, al
  in al, dx
  movzx ebx, al
  xor al, al
  out dx, al
  CHECK ebx, 0x0f, "IER keeps bits 0-3"

  ; ---- loopback probe (results stored, checked afterwards)
  mov dx, COM1 + 4
  mov al, 0x1a                          ; LOOP | OUT2 | RTS
  out dx, al
  mov dx, COM1 + 6
  in al, dx
  and al, 0xf0
  mov [lb_msr1], al
  mov dx, COM1 + 4
  mov al, 0x1f
  out dx, al
  mov dx, COM1 + 6
  in al, dx
  and al, 0xf0
  mov [lb_msr2], al
  ; FIFO on, trigger 4, both FIFOs reset
  mov dx, COM1 + 2
  mov al, 0x47
  out dx, al
  in al, dx
  mov [lb_iir_fifo], al
  mov dx, COM1 + 1
  mov al, 0x01                          ; ERBFI
  out dx, al
  mov dx, COM1
  mov al, 'x'
  out dx, al
  mov dx, COM1 + 2
  in al, dx
  mov [lb_iir_timeout], al              ; 1 byte < trigger 4: character timeout
  mov dx, COM1
  mov al, 'y'
  out dx, al
  mov al, 'z'
  out dx, al
  mov al, '!'
  out dx, al
  mov dx, COM1 + 2
  in al, dx
  mov [lb_iir_rda], al                  ; 4 bytes: data available
  mov dx, COM1 + 5
  in al, dx
  mov [lb_lsr], al
  mov edi, lb_rx
.drain:
  mov dx, COM1 + 5
  in al, dx
  test al, 1
  jz .drained
  mov dx, COM1
  in al, dx
  stosb
  jmp .drain
.drained:
  mov dx, COM1 + 1
  xor al, al
  out dx, al
  mov dx, COM1 + 4
  mov al, 0x03                          ; loopback off, DTR | RTS
  out dx, al
  mov dx, COM1 + 2
  mov al, 0x07                          ; FIFO on, reset
  out dx, al

  movzx eax, byte [lb_msr1]
  CHECK eax, 0x90, "loopback LOOP|RTS|OUT2: MSR = CTS|DCD (Linux's probe value)"
  movzx eax, byte [lb_msr2]
  CHECK eax, 0xf0, "loopback all outputs: MSR = CTS|DSR|RI|DCD"
  movzx eax, byte [lb_iir_fifo]
  CHECK eax, 0xc1, "IIR bits 7-6 = 11 with FIFOs on (16550A), no interrupt"
  movzx eax, byte [lb_iir_timeout]
  CHECK eax, 0xcc, "one byte below the trigger level: character timeout"
  movzx eax, byte [lb_iir_rda]
  CHECK eax, 0xc4, "four bytes at trigger level 4: data available"
  movzx eax, byte [lb_lsr]
  CHECK eax, 0x61, "LSR: DR, THRE, TEMT"
  CHECK [lb_rx], 0x217a7978, "looped bytes come back in order"
  CHECK [lb_rx + 4], 0, "and nothing else"

  ; ---- interrupt-driven TX on IRQ4
  SET_GATE 0x24, irq4
  call dev_pic_init
  mov al, 0xeb                          ; unmask IRQ4 (and the cascade)
  out 0x21, al
  mov dx, COM1 + 4
  mov al, 0x0b                          ; DTR | RTS | OUT2 (the PC's IRQ gate)
  out dx, al
  mov dword [tx_ptr], tx_msg
  sti
  mov dx, COM1 + 1
  mov al, 0x02                          ; ETBEI with THR empty: THRE interrupt at once
  out dx, al
.wait:
  cli
  cmp dword [tx_done], 0
  jne .sent
  sti
  hlt
  jmp .wait
.sent:
  sti
  CHECK [thre_irqs], tx_len + 1, "one THRE interrupt per byte plus the final one"
  CHECK [bad_iir], 0, "every IRQ4 showed IIR = THRE"
  CHECK [dev_stray], 0, "no stray vectors"
  mov dx, COM1 + 2
  in al, dx
  movzx eax, al
  CHECK eax, 0xc1, "no interrupt pending after ETBEI is cleared"
  mov al, 0x0b
  out 0x20, al
  in al, 0x20
  movzx eax, al
  CHECK eax, 0, "ISR clear after the last EOI"
  ret

; IRQ4: send the next byte on THRE; at the end of the message clear ETBEI.
irq4:
  pushad
  mov dx, COM1 + 2
  in al, dx
  and al, 0x0f
  cmp al, 0x02
  je .thre
  inc dword [bad_iir]
  jmp .eoi
.thre:
  inc dword [thre_irqs]
  mov esi, [tx_ptr]
  cmp esi, tx_msg + tx_len
  jb .send
  mov dx, COM1 + 1
  xor al, al
  out dx, al
  mov dword [tx_done], 1
  jmp .eoi
.send:
  lodsb
  mov [tx_ptr], esi
  mov dx, COM1
  out dx, al
.eoi:
  mov al, 0x20
  out 0x20, al
  popad
  iretd

tx_msg: db "# interrupt-driven TX on IRQ4 works", 10
tx_len equ $ - tx_msg
align 4
tx_ptr:    dd 0
tx_done:   dd 0
thre_irqs: dd 0
bad_iir:   dd 0
lb_rx:     times 8 db 0
lb_msr1:   db 0
lb_msr2:   db 0
lb_iir_fifo: db 0
lb_iir_timeout: db 0
lb_iir_rda: db 0
lb_lsr:    db 0
