; Memory loop: sieve of Eratosthenes over 1 MiB, repeated; byte stores, dword loads, indexed addressing.
%include "mb.inc"
SIEVE equ 0x200000
N equ 0x100000
_start:
  mov esp, 0x90000
  mov ebp, 12          ; repetitions
.rep:
  ; clear: mark all as prime (1)
  mov edi, SIEVE
  mov ecx, N / 4
  mov eax, 0x01010101
.clr:
  mov [edi], eax
  add edi, 4
  dec ecx
  jnz .clr
  mov ebx, 2
.outer:
  mov eax, ebx
  mul ebx
  cmp eax, N
  jae .count
  cmp byte [SIEVE + ebx], 0
  je .next
.inner:
  mov byte [SIEVE + eax], 0
  add eax, ebx
  cmp eax, N
  jb .inner
.next:
  inc ebx
  jmp .outer
.count:
  xor eax, eax
  mov esi, SIEVE + 2
  mov ecx, N - 2
.cnt:
  movzx edx, byte [esi]
  add eax, edx
  inc esi
  dec ecx
  jnz .cnt
  dec ebp
  jnz .rep
  call printhex        ; 82025 primes below 2^20 = 0x00014069
  EXIT_OK
