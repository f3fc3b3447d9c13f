// The VMCS field table computes encodings from (width, type, index); check them against
// encodings printed in SDM Appendix B.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, VMCS_FIELDS, fieldByEncoding, Width } from '../machine/vmx/vmcs-fields.js';

const KNOWN: Record<string, number> = {
  VIRTUAL_PROCESSOR_ID: 0x0000, GUEST_ES_SELECTOR: 0x0800, GUEST_CS_SELECTOR: 0x0802, GUEST_TR_SELECTOR: 0x080e,
  HOST_TR_SELECTOR: 0x0c0c, IO_BITMAP_A: 0x2000, MSR_BITMAP: 0x2004, TSC_OFFSET: 0x2010, EPT_POINTER: 0x201a,
  GUEST_PHYSICAL_ADDRESS: 0x2400, VMCS_LINK_POINTER: 0x2800, GUEST_IA32_EFER: 0x2806, GUEST_PDPTE0: 0x280a,
  GUEST_PDPTE3: 0x2810, HOST_IA32_EFER: 0x2c02, PIN_BASED_VM_EXEC_CONTROL: 0x4000, CPU_BASED_VM_EXEC_CONTROL: 0x4002,
  EXCEPTION_BITMAP: 0x4004, VM_EXIT_CONTROLS: 0x400c, VM_ENTRY_CONTROLS: 0x4012, VM_ENTRY_INTR_INFO_FIELD: 0x4016,
  SECONDARY_VM_EXEC_CONTROL: 0x401e, VM_INSTRUCTION_ERROR: 0x4400, VM_EXIT_REASON: 0x4402, VM_EXIT_INSTRUCTION_LEN: 0x440c,
  VMX_INSTRUCTION_INFO: 0x440e, GUEST_ES_LIMIT: 0x4800, GUEST_IDTR_LIMIT: 0x4812, GUEST_CS_AR_BYTES: 0x4816,
  GUEST_TR_AR_BYTES: 0x4822, GUEST_INTERRUPTIBILITY_INFO: 0x4824, GUEST_ACTIVITY_STATE: 0x4826, GUEST_SYSENTER_CS: 0x482a,
  VMX_PREEMPTION_TIMER_VALUE: 0x482e, HOST_IA32_SYSENTER_CS: 0x4c00, CR0_GUEST_HOST_MASK: 0x6000, CR4_GUEST_HOST_MASK: 0x6002,
  CR0_READ_SHADOW: 0x6004, CR4_READ_SHADOW: 0x6006, CR3_TARGET_VALUE3: 0x600e, EXIT_QUALIFICATION: 0x6400,
  GUEST_LINEAR_ADDRESS: 0x640a, GUEST_CR0: 0x6800, GUEST_CR4: 0x6804, GUEST_ES_BASE: 0x6806, GUEST_TR_BASE: 0x6814,
  GUEST_GDTR_BASE: 0x6816, GUEST_DR7: 0x681a, GUEST_RSP: 0x681c, GUEST_RIP: 0x681e, GUEST_RFLAGS: 0x6820,
  GUEST_SYSENTER_EIP: 0x6826, HOST_CR0: 0x6c00, HOST_TR_BASE: 0x6c0a, HOST_RSP: 0x6c14, HOST_RIP: 0x6c16,
};

test('VMCS encodings computed from the table match SDM Appendix B', () => {
  for (const [name, enc] of Object.entries(KNOWN)) {
    assert.ok(F[name], `field ${name} missing`);
    assert.equal(F[name].encoding, enc, `${name}: 0x${F[name].encoding.toString(16)} != 0x${enc.toString(16)}`);
  }
});

test('encodings are unique and high halves resolve only for 64-bit fields', () => {
  const seen = new Set<number>();
  for (const f of VMCS_FIELDS) { assert.ok(!seen.has(f.encoding), f.name); seen.add(f.encoding); }
  assert.equal(fieldByEncoding(0x2011)?.field.name, 'TSC_OFFSET');
  assert.equal(fieldByEncoding(0x2011)?.high, true);
  assert.equal(fieldByEncoding(0x4003), null);
  assert.equal(F.GUEST_RIP.width, Width.Natural);
});
