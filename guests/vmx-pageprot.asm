; vmx-pageprot: the page-protection hypapp. The guest asks through VMCALL that one of its pages be
; write-protected; the hypapp takes write permission away in the EPT. A write to the page then
; faults (#GP(0), delivered by the hypapp instead of the write), reads still work, the hypapp's
; query hypercall reports the violation (guest-physical address and EIP), and after UNPROTECT the
; page is writable again. Needs the hypervisor: bare, VMCALL is #UD.
; run: hv
; hv-hypapps: page-protect
%include "test.inc"

HC_PROTECT   equ 0x74730101
HC_UNPROTECT equ 0x74730102
HC_QUERY     equ 0x74730103
PAGE         equ 0x400000

test_main:
  mov dword [PAGE + 0x10], 0x11111111
  mov eax, HC_PROTECT
  mov ebx, PAGE + 0x10
  vmcall
  CHECK eax, 0, "PROTECT succeeded"
  CHECK [PAGE + 0x10], 0x11111111, "the protected page is still readable"
  TRY
write_insn:
    mov dword [PAGE + 0x10], 0x22222222
  CATCH 13, 0, "a write to the protected page faults with #GP(0)"
  CHECK [t_exc_eip], write_insn, "the fault points at the writing instruction"
  CHECK [PAGE + 0x10], 0x11111111, "the write did not happen"
  TRY
    mov byte [PAGE + 0xfff], 1
  CATCH 13, 0, "any write in the page faults (last byte)"
  mov dword [PAGE + 0x1000], 0x33333333
  CHECK [PAGE + 0x1000], 0x33333333, "the next page is not protected"
  mov eax, HC_QUERY
  vmcall
  CHECK eax, 2, "QUERY: two violations"
  CHECK ebx, PAGE + 0xfff, "QUERY: guest-physical address of the last one"
  mov eax, HC_PROTECT
  mov ebx, 0x7ff00000                     ; beyond the guest's RAM
  vmcall
  CHECK eax, -1, "PROTECT of a page outside guest RAM fails"
  mov eax, HC_UNPROTECT
  mov ebx, PAGE
  vmcall
  CHECK eax, 0, "UNPROTECT succeeded"
  mov dword [PAGE + 0x10], 0x44444444
  CHECK [PAGE + 0x10], 0x44444444, "the page is writable again"
  ret
