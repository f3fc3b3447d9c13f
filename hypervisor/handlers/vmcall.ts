// VMCALL exits (always exit in VMX non-root operation, Intel SDM Vol2 VMCALL). Hypapps see the
// call first (XMHF's xmhf_app_handlehypercall); then, if the KVM paravirtual interface is
// advertised, KVM's hypercall ABI answers as KVM does (Linux Documentation/virt/kvm/x86/
// hypercalls.rst: number in EAX, arguments in EBX ECX EDX ESI, result in EAX); otherwise the
// guest gets #UD — what VMCALL does on a processor without VMX, i.e. what the guest sees bare.
// Nothing is logged per call (the seed's Windows XP made thousands of them per second).
//
// Runs in: VMX root operation (exit handler).

import { F } from '../../machine/vmx/vmcs-fields.js';
import { AR } from '../../machine/cpu/arch.js';
import type { Hypervisor } from '../hypervisor.js';
import { GPR, type VCpu } from '../vcpu.js';

/** KVM hypercall numbers (include/uapi/linux/kvm_para.h). */
export const KVM_HC = {
  VAPIC_POLL_IRQ: 1, MMU_OP: 2, FEATURES: 3, PPC_MAP_MAGIC_PAGE: 4, KICK_CPU: 5, MIPS_GET_CLOCK_FREQ: 6,
  MIPS_EXIT_VM: 7, MIPS_CONSOLE_OUTPUT: 8, CLOCK_PAIRING: 9, SEND_IPI: 10, SCHED_YIELD: 11, MAP_GPA_RANGE: 12,
} as const;
/** KVM's hypercall error values (include/uapi/linux/kvm_para.h), returned negated in EAX. */
export const KVM_ERR = { ENOSYS: 1000, EFAULT: 14, EINVAL: 22, E2BIG: 7, EPERM: 1, EOPNOTSUPP: 95 } as const;

export function handleVmcall(hv: Hypervisor, v: VCpu): boolean {
  const fn = v.regs[GPR.EAX] >>> 0;
  for (const app of hv.hypapps) {
    if (app.onHypercall?.(v, fn)) { v.skipInstruction(); return true; }
  }
  if (!hv.kvm) { v.injectUd(); return true; }
  v.regs[GPR.EAX] = kvmHypercall(v, fn);
  v.skipInstruction();
  return true;
}

/** KVM's answers (arch/x86/kvm/x86.c kvm_emulate_hypercall) for a single-vCPU guest without PV features. */
function kvmHypercall(v: VCpu, fn: number): number {
  const cpl = (v.read(F.GUEST_SS_AR_BYTES) & AR.DPL_MASK) >>> AR.DPL_SHIFT;
  if (cpl !== 0) return -KVM_ERR.EPERM;
  switch (fn) {
    case KVM_HC.VAPIC_POLL_IRQ: return 0;   // "poll for interrupts": nothing to do, success
    case KVM_HC.KICK_CPU: return 0;          // wake a halted vCPU: the only vCPU is running
    case KVM_HC.SEND_IPI: return 0;          // no other vCPUs to target: zero IPIs delivered
    case KVM_HC.SCHED_YIELD: return 0;
    case KVM_HC.CLOCK_PAIRING: return -KVM_ERR.EOPNOTSUPP;
    default: return -KVM_ERR.ENOSYS;
  }
}
