; vmx-kvm: with the KVM paravirtual interface advertised (--kvm), the guest finds KVM the way the
; seed's Windows XP did — CPUID 40000000H "KVMKVMKVM" and the hypervisor bit — and its VMCALLs get
; KVM's answers: KVM_HC_VAPIC_POLL_IRQ (EAX = 1) returns 0, an unknown number -KVM_ENOSYS (-1000).
; run: hv
; hv-options: kvm
%include "test.inc"

test_main:
  mov eax, 0x40000000
  cpuid
  CHECK eax, 0x40000001, "CPUID 40000000H: highest hypervisor leaf"
  CHECK ebx, 0x4b4d564b, "signature 'KVMK'"
  CHECK ecx, 0x564b4d56, "signature 'VMKV'"
  CHECK edx, 0x0000004d, "signature 'M'"
  mov eax, 1
  cpuid
  mov eax, ecx
  and eax, 1 << 31
  CHECK eax, 1 << 31, "CPUID.1:ECX.hypervisor = 1"
  and ecx, 1 << 5
  CHECK ecx, 0, "CPUID.1:ECX.VMX = 0 (no nested VMX)"
  mov ecx, 1000
.loop:
  mov eax, 1                              ; KVM_HC_VAPIC_POLL_IRQ, the seed's call
  vmcall
  test eax, eax
  jnz .bad
  dec ecx
  jnz .loop
.bad:
  CHECK ecx, 0, "1000 VMCALLs with EAX=1 all returned 0"
  mov eax, 0x1234
  vmcall
  CHECK eax, -1000, "an unknown hypercall returns -KVM_ENOSYS"
  ret
