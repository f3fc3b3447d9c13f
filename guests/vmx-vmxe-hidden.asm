; vmx-vmxe-hidden: the guest's processor has no VMX (bare and hypervised alike): CPUID.1:ECX.VMX = 0,
; CR4 reads back without VMXE (the seed's bug showed VMXE set in the shadow), setting CR4.VMXE is
; #GP like any bit of a feature the CPU lacks, the VMX capability MSRs do not exist (#GP) and
; IA32_FEATURE_CONTROL reads locked with VMX disabled; VMXON/VMPTRLD are #UD.
%include "test.inc"

test_main:
  mov eax, 1
  cpuid
  and ecx, 1 << 5
  CHECK ecx, 0, "CPUID.1:ECX.VMX = 0"
  mov eax, cr4
  and eax, 1 << 13
  CHECK eax, 0, "CR4.VMXE reads as 0"
  mov eax, cr4
  mov [cr4_before], eax
  TRY
    mov eax, cr4
    or eax, 1 << 13
    mov cr4, eax
  CATCH 13, 0, "setting CR4.VMXE is #GP(0)"
  mov eax, cr4
  CHECK eax, [cr4_before], "CR4 unchanged after the failed write"
  ; A from-scratch CR4 write (the seed's Windows loader pattern), then read back exactly.
  mov eax, 0x10                         ; PSE only
  mov cr4, eax
  mov eax, cr4
  CHECK eax, 0x10, "CR4 written from scratch reads back exactly (0x10)"
  xor eax, eax
  mov cr4, eax
  mov eax, cr4
  CHECK eax, 0, "CR4 cleared reads back 0"
  TRY
    mov ecx, 0x480                      ; IA32_VMX_BASIC
    rdmsr
  CATCH 13, 0, "RDMSR IA32_VMX_BASIC is #GP(0)"
  TRY
    mov ecx, 0x48c                      ; IA32_VMX_EPT_VPID_CAP
    rdmsr
  CATCH 13, 0, "RDMSR IA32_VMX_EPT_VPID_CAP is #GP(0)"
  mov ecx, 0x3a                         ; IA32_FEATURE_CONTROL
  rdmsr
  CHECK eax, 1, "IA32_FEATURE_CONTROL = locked, VMX disabled"
  TRY
    mov ecx, 0x3a
    mov eax, 5
    xor edx, edx
    wrmsr
  CATCH 13, 0, "WRMSR IA32_FEATURE_CONTROL (locked) is #GP(0)"
  TRY
    vmxon [vmxon_ptr]
  CATCH 6, -1, "VMXON is #UD"
  TRY
    vmptrld [vmxon_ptr]
  CATCH 6, -1, "VMPTRLD is #UD"
  ; CR0.NE: VMX forces it to 1 in the real register; the guest must still read back what it wrote.
  mov eax, cr0
  mov [cr0_before], eax
  and eax, ~(1 << 5)
  mov cr0, eax
  mov eax, cr0
  and eax, 1 << 5
  CHECK eax, 0, "CR0.NE cleared reads back 0"
  mov eax, [cr0_before]
  or eax, 1 << 5
  mov cr0, eax
  mov eax, cr0
  and eax, 1 << 5
  CHECK eax, 1 << 5, "CR0.NE set reads back 1"
  mov eax, [cr0_before]
  mov cr0, eax
  ret

align 8
vmxon_ptr:  dq 0x200000
cr4_before: dd 0
cr0_before: dd 0
