; sys-cpuid-msr: the CPUID leaves and MSRs a guest sees (SDM Vol2 CPUID, Vol4 Table 2-2), at CPL 0
; and CPL 3: vendor, family, feature flags (no VMX), extended leaves, the APIC base, a locked
; IA32_FEATURE_CONTROL, PAT, EFER.NXE, the TSC, and the #GP(0) cases of RDMSR/WRMSR/RDTSC.
%include "test.inc"

; Continue at the next instruction at CPL 3 (flat user code, data and stack). Get back with INT3
; inside TRY ... CATCH 3: the framework's handler resumes at CATCH in ring 0.
%macro TO_RING3 0
  push dword T_UDATA32
  push dword 0x70000
  pushfd
  push dword T_UCODE32
  push dword %%r3
  iretd
%%r3:
  mov ax, T_UDATA32
  mov ds, ax
  mov es, ax
%endmacro

test_main:
  ; ---- leaf 0: maximum basic leaf, "GenuineIntel" in EBX, EDX, ECX
  xor eax, eax
  cpuid
  CHECK eax, 2, "CPUID.0: highest basic leaf"
  CHECK ebx, 0x756e6547, "CPUID.0: EBX = 'Genu'"
  CHECK edx, 0x49656e69, "CPUID.0: EDX = 'ineI'"
  CHECK ecx, 0x6c65746e, "CPUID.0: ECX = 'ntel'"
  ; ---- leaf 1: family 6; EDX = FPU DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT CLFSH FXSR
  mov eax, 1
  cpuid
  mov esi, eax
  shr esi, 8
  and esi, 0xf
  CHECK esi, 6, "CPUID.1: family 6"
  CHECK ecx, 0, "CPUID.1: ECX = 0 (no VMX, SSE3, MONITOR, XSAVE)"
  CHECK edx, 0x0109fbfd, "CPUID.1: EDX feature flags"
  shr ebx, 8
  and ebx, 0xff
  CHECK ebx, 8, "CPUID.1: CLFLUSH line size 8 qwords"
  ; ---- leaf 2 and an out-of-range leaf (returns the highest basic leaf)
  mov eax, 2
  cpuid
  mov [leaf2], eax
  and eax, 0xff
  CHECK eax, 1, "CPUID.2: AL = 1"
  mov eax, 0x17
  cpuid
  CHECK eax, [leaf2], "CPUID.17H = CPUID.2 (above the highest leaf)"
  ; ---- extended leaves
  mov eax, 0x80000000
  cpuid
  CHECK eax, 0x80000008, "CPUID.80000000H: highest extended leaf"
  mov eax, 0x80000001
  cpuid
  CHECK edx, 0x00100000, "CPUID.80000001H: EDX = NX only"
  mov eax, 0x80000002
  cpuid
  CHECK eax, 0x69767374, "brand string starts 'tsvi'"
  mov eax, 0x80000008
  cpuid
  CHECK eax, 0x2024, "CPUID.80000008H: 36 physical / 32 linear bits"

  ; ---- MSRs at CPL 0
  mov ecx, 0x1b
  rdmsr
  CHECK eax, 0xfee00900, "IA32_APIC_BASE: FEE00000H, BSP, enabled"
  mov ecx, 0x3a
  rdmsr
  CHECK eax, 1, "IA32_FEATURE_CONTROL: locked, VMX off"
  TRY
    mov ecx, 0x3a
    mov eax, 5
    xor edx, edx
    wrmsr
  CATCH 13, 0, "WRMSR to the locked IA32_FEATURE_CONTROL"
  TRY
    mov ecx, 0x480
    rdmsr
  CATCH 13, 0, "RDMSR IA32_VMX_BASIC: no VMX"
  mov ecx, 0x277
  rdmsr
  CHECK eax, 0x00070406, "IA32_PAT low half at power-up"
  CHECK edx, 0x00070406, "IA32_PAT high half at power-up"
  mov eax, 0x00070106
  wrmsr
  rdmsr
  CHECK eax, 0x00070106, "IA32_PAT write: PA1 = WC"
  TRY
    mov ecx, 0x277
    mov eax, 0x00070206
    xor edx, edx
    wrmsr
  CATCH 13, 0, "IA32_PAT type 2 is reserved"
  mov ecx, 0xc0000080
  rdmsr
  or eax, 0x800
  wrmsr
  rdmsr
  CHECK eax, 0x800, "IA32_EFER.NXE set"
  TRY
    mov ecx, 0xc0000080
    mov eax, 0x900
    xor edx, edx
    wrmsr
  CATCH 13, 0, "IA32_EFER.LME (no long mode)"
  ; TSC: set to 5_0000_0000H, then it counts on
  mov ecx, 0x10
  xor eax, eax
  mov edx, 5
  wrmsr
  rdtsc
  CHECK edx, 5, "TSC[63:32] after WRMSR"
  mov esi, eax
  rdtsc
  cmp eax, esi
  seta al
  movzx eax, al
  CHECK eax, 1, "TSC advances"
  mov ecx, 0x174
  mov eax, T_CODE32
  xor edx, edx
  wrmsr
  rdmsr
  CHECK eax, T_CODE32, "IA32_SYSENTER_CS"

  ; ---- CPL 3: CPUID and RDTSC work, RDMSR/WRMSR do not; CR4.TSD makes RDTSC privileged
  TRY
    TO_RING3
    xor eax, eax
    cpuid
    mov [r3_vendor], ebx
    rdtsc
    mov [r3_tsc], edx
    int3
  CATCH 3, -1, "back from ring 3"
  CHECK [r3_vendor], 0x756e6547, "CPUID at CPL 3"
  CHECK [r3_tsc], 5, "RDTSC at CPL 3"
  TRY
    TO_RING3
    mov ecx, 0x10
    rdmsr
  CATCH 13, 0, "RDMSR at CPL 3"
  TRY
    TO_RING3
    mov ecx, 0x10
    wrmsr
  CATCH 13, 0, "WRMSR at CPL 3"
  mov eax, cr4
  or eax, 4
  mov cr4, eax
  TRY
    TO_RING3
    rdtsc
  CATCH 13, 0, "RDTSC at CPL 3 with CR4.TSD"
  mov eax, cr4
  and eax, ~4
  mov cr4, eax
  TRY
    mov eax, cr4
    or eax, 1 << 13
    mov cr4, eax
  CATCH 13, 0, "MOV CR4.VMXE: VMX is not reported"
  ret

align 4
leaf2:     dd 0
r3_vendor: dd 0
r3_tsc:    dd 0
