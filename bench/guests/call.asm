; Call/stack loop: recursive Fibonacci (push/pop/call/ret/conditional branches).
%include "mb.inc"
_start:
  mov esp, 0x90000
  mov eax, 27
  call fib
  call printhex        ; fib(27) = 196418 = 0x0002ff42
  EXIT_OK
fib:
  cmp eax, 2
  jb .base
  push eax
  dec eax
  call fib
  push eax
  mov eax, [esp + 4]
  sub eax, 2
  call fib
  pop edx
  add eax, edx
  add esp, 4
  ret
.base:
  ret
