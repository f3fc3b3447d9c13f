; VM-exit round trip benchmark: CPUID in a loop (CPUID always exits under the hypervisor, so each
; iteration is one exit, one handler run, one VM entry). Bare it is a plain instruction.
%include "mb.inc"
_start:
  mov esp, 0x90000
  mov ebp, 200000
.loop:
  xor eax, eax
  cpuid
  dec ebp
  jnz .loop
  mov esi, done
  call print
  EXIT_OK
done: db 'cpuid loop done', 10, 0
