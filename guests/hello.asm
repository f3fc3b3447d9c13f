; hello: the demo guest `npm start` boots. Self-contained (own Multiboot header).
; Prints a greeting, the CPU vendor from CPUID and the Multiboot memory size, then exits with
; debug-exit value 0 (process status 1).
bits 32
org 0x100000
MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010002            ; a.out kludge + memory info
mb_header:
  dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
  dd mb_header, 0x100000, 0, 0, _start

_start:
  mov esp, 0x90000
  mov [mbinfo], ebx
  mov esi, msg_hello
  call puts
  xor eax, eax
  cpuid
  mov [vendor], ebx
  mov [vendor + 4], edx
  mov [vendor + 8], ecx
  mov esi, msg_cpu
  call puts
  mov esi, vendor
  call puts
  mov esi, msg_mem
  call puts
  mov ebx, [mbinfo]
  mov eax, [ebx + 8]               ; mem_upper (KiB above 1 MiB)
  shr eax, 10
  add eax, 1
  call putdec
  mov esi, msg_mib
  call puts
  mov esi, msg_bye
  call puts
  mov al, 0
  out 0xf4, al
  hlt

; puts: NUL-terminated string at esi to COM1 (waits for THR empty)
puts:
  pusha
.next:
  lodsb
  test al, al
  jz .done
  mov ah, al
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x20
  jz .wait
  mov al, ah
  mov dx, 0x3f8
  out dx, al
  jmp .next
.done:
  popa
  ret

; putdec: eax as unsigned decimal
putdec:
  pusha
  mov ecx, 10
  mov edi, numbuf + 11
  mov byte [edi], 0
.d:
  xor edx, edx
  div ecx
  add dl, '0'
  dec edi
  mov [edi], dl
  test eax, eax
  jnz .d
  mov esi, edi
  call puts
  popa
  ret

msg_hello: db 'Hello from a tsvisor guest!', 10, 0
msg_cpu:   db 'CPU vendor: ', 0
msg_mem:   db 10, 'RAM: ', 0
msg_mib:   db ' MiB', 10, 0
msg_bye:   db 'ok 1 - hello', 10, '1..1', 10, '# fail 0', 10, 0
vendor:    times 13 db 0
mbinfo:    dd 0
numbuf:    times 12 db 0
