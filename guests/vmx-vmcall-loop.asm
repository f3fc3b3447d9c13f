; vmx-vmcall-loop: the seed's Windows XP pattern — VMCALL with EAX = 1 (KVM_HC_VAPIC_POLL_IRQ) in a
; tight loop. This processor has no VMX for its guest: VMCALL is #UD, bare and hypervised alike
; (the hypervisor injects #UD and logs nothing per call). Under --kvm see vmx-kvm.asm.
%include "test.inc"

test_main:
  ; Install our own #UD handler that counts and skips the 3-byte VMCALL.
  mov eax, ud_handler
  mov [t_idt + 6 * 8], ax
  shr eax, 16
  mov [t_idt + 6 * 8 + 6], ax
  mov dword [ud_count], 0
  mov ecx, 1000
.loop:
  mov eax, 1
  vmcall
  dec ecx
  jnz .loop
  CHECK [ud_count], 1000, "1000 VMCALLs with EAX=1 each raised #UD"
  CHECK eax, 1, "EAX is untouched by a VMCALL that faults"
  ret

ud_handler:
  inc dword [ud_count]
  add dword [esp], 3                    ; skip VMCALL (0F 01 C1)
  iret

ud_count: dd 0
