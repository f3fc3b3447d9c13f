; Register-only ALU and branch loop: xorshift32 + add/sub/shift/compare, 20 M iterations.
%include "mb.inc"
_start:
  mov esp, 0x90000
  mov eax, 2463534242
  xor edi, edi
  mov ecx, 20000000
.loop:
  mov ebx, eax
  shl ebx, 13
  xor eax, ebx
  mov ebx, eax
  shr ebx, 17
  xor eax, ebx
  mov ebx, eax
  shl ebx, 5
  xor eax, ebx
  add edi, eax
  cmp eax, edi
  jb .skip
  sub edi, 12345
.skip:
  dec ecx
  jnz .loop
  mov eax, edi
  call printhex
  EXIT_OK
