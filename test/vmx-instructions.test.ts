// The VMX instructions as the host executes them through the VMX unit, against the SDM: VMsucceed /
// VMfailInvalid / VMfailValid(n) with the error numbers of Vol3C 31.4 (Table 31-1) and RFLAGS as
// Vol3C 31.2 defines them; VMREAD/VMWRITE widths (Vol3C 24.11.2, Vol2 VMREAD/VMWRITE); fields that
// exist only with supported features (Vol3D App. B footnotes); the capability MSRs (Vol3D App. A),
// checked for self-consistency and against what VM entry and INVEPT/INVVPID accept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../machine/vmx/vmcs-fields.js';
import { HostFault } from '../machine/vmx/vmx-unit.js';
import { lastEntryFailure } from '../machine/vmx/entry.js';
import { Rig, MSR_VMX, VMCS, VMCS2, VMXON, EPT_PML4, R, hex } from './harness/vmx.js';

// RFLAGS status flags (Vol1 3.4.3) and the three outcomes (Vol3C 31.2).
const CF = 1, PF = 4, AF = 16, ZF = 64, SF = 128, OF = 2048;
const STATUS = CF | PF | AF | ZF | SF | OF;
const SUCCEED = 0, FAIL_INVALID = -1;
// VM-instruction error numbers (Vol3C Table 31-1).
const ERR = {
  VMCLEAR_BAD_ADDR: 2, VMCLEAR_VMXON_PTR: 3, VMLAUNCH_NONCLEAR: 4, VMRESUME_NONLAUNCHED: 5, VMRESUME_AFTER_VMXOFF: 6,
  BAD_CONTROL: 7, BAD_HOST: 8, VMPTRLD_BAD_ADDR: 9, VMPTRLD_VMXON_PTR: 10, VMPTRLD_BAD_REV: 11, UNSUPPORTED_FIELD: 12,
  READ_ONLY: 13, VMXON_IN_ROOT: 15, MOV_SS: 26, BAD_INVEPT_INVVPID: 28,
} as const;

/** Check the status value and the RFLAGS encoding of it: VMsucceed clears CF/PF/AF/ZF/SF/OF, VMfailInvalid sets only CF, VMfailValid only ZF (and writes the error number). */
function expectStatus(r: Rig, got: number, want: number, what: string): void {
  assert.equal(got, want, `${what}: status ${got}, want ${want}`);
  const fl = r.m.cpu.getEflags() & STATUS;
  assert.equal(fl, want === SUCCEED ? 0 : want === FAIL_INVALID ? CF : ZF, `${what}: RFLAGS status bits ${hex(fl)}`);
  if (want > 0) assert.equal(r.vmx.read(F.VM_INSTRUCTION_ERROR), want, `${what}: VM-instruction error field`);
}

test('VMXON: VMfailInvalid for a bad region (alignment, width, revision incl. bit 31), VMfail(15) in VMX root, #UD/#GP conditions', () => {
  const r = new Rig();
  const vmx = r.vmx;
  const rev = vmx.rdmsr(MSR_VMX.BASIC)[0];
  expectStatus(r, vmx.vmxoff(), SUCCEED, 'VMXOFF');
  assert.throws(() => vmx.vmptrst(), HostFault, 'VMPTRST outside VMX operation is #UD');
  // Outside VMX operation: the region checks give VMfailInvalid (Vol3C 31.3 VMXON).
  const spare = 0x180000;
  r.wr(spare, 4, rev);
  expectStatus(r, vmx.vmxon(spare + 8), FAIL_INVALID, 'VMXON unaligned');
  expectStatus(r, vmx.vmxon(2 ** 36), FAIL_INVALID, 'VMXON beyond the physical-address width');
  r.wr(spare, 4, rev + 1);
  expectStatus(r, vmx.vmxon(spare), FAIL_INVALID, 'VMXON wrong revision');
  r.wr(spare, 4, (rev | 0x80000000) | 0);
  expectStatus(r, vmx.vmxon(spare), FAIL_INVALID, 'VMXON revision with bit 31 set');
  assert.equal(vmx.inVmxOperation, false);
  // #UD with CR4.VMXE = 0; #GP with CR0.NE = 0 (IA32_VMX_CR0_FIXED0).
  vmx.writeCr(4, 0x10);
  assert.throws(() => vmx.vmxon(spare), HostFault);
  vmx.writeCr(4, 0x2010);
  vmx.writeCr(0, 0x80000011);
  assert.throws(() => vmx.vmxon(spare), HostFault, 'VMXON with CR0.NE = 0 is #GP(0)');
  vmx.writeCr(0, 0x80000031);
  r.wr(spare, 4, rev);
  expectStatus(r, vmx.vmxon(spare), SUCCEED, 'VMXON');
  assert.equal(vmx.vmptrst(), -1, 'current-VMCS pointer is FFFFFFFF_FFFFFFFFH after VMXON');
  expectStatus(r, vmx.vmxon(spare), FAIL_INVALID, 'VMXON in VMX root without a current VMCS: VMfailInvalid');
  r.wr(VMCS, 4, rev);
  expectStatus(r, vmx.vmptrld(VMCS), SUCCEED, 'VMPTRLD');
  expectStatus(r, vmx.vmxon(spare), ERR.VMXON_IN_ROOT, 'VMXON in VMX root with a current VMCS');
});

test('VMXON: #GP(0) while IA32_FEATURE_CONTROL is unlocked or VMX outside SMX is disabled', () => {
  const r = new Rig();
  r.vmx.vmxoff();
  r.vmx.featureControl = 0;
  assert.throws(() => r.vmx.vmxon(VMXON), HostFault);
  r.vmx.featureControl = 1; // locked, VMX disabled outside SMX
  assert.throws(() => r.vmx.vmxon(VMXON), HostFault);
});

test('VMCLEAR / VMPTRLD / VMPTRST: error numbers 2, 3, 9, 10, 11 (VMfailValid only with a current VMCS)', () => {
  const r = new Rig();
  const vmx = r.vmx;
  expectStatus(r, vmx.vmclear(VMCS + 0x800), ERR.VMCLEAR_BAD_ADDR, 'VMCLEAR unaligned');
  expectStatus(r, vmx.vmclear(2 ** 36), ERR.VMCLEAR_BAD_ADDR, 'VMCLEAR beyond the width');
  expectStatus(r, vmx.vmclear(VMXON), ERR.VMCLEAR_VMXON_PTR, 'VMCLEAR VMXON pointer');
  expectStatus(r, vmx.vmptrld(VMCS2 + 16), ERR.VMPTRLD_BAD_ADDR, 'VMPTRLD unaligned');
  expectStatus(r, vmx.vmptrld(VMXON), ERR.VMPTRLD_VMXON_PTR, 'VMPTRLD VMXON pointer');
  const rev = vmx.rdmsr(MSR_VMX.BASIC)[0];
  r.wr(VMCS2, 4, rev ^ 1);
  expectStatus(r, vmx.vmptrld(VMCS2), ERR.VMPTRLD_BAD_REV, 'VMPTRLD wrong revision');
  r.wr(VMCS2, 4, (rev | 0x80000000) | 0);
  expectStatus(r, vmx.vmptrld(VMCS2), ERR.VMPTRLD_BAD_REV, 'VMPTRLD shadow-VMCS indicator without VMCS shadowing');
  assert.equal(vmx.vmptrst(), VMCS, 'a failed VMPTRLD leaves the current VMCS');
  // VMCLEAR does not check the revision identifier (Vol3C 31.3 VMCLEAR).
  expectStatus(r, vmx.vmclear(VMCS2), SUCCEED, 'VMCLEAR of a region with another revision');
  // VMCLEAR of the current VMCS invalidates the current-VMCS pointer.
  expectStatus(r, vmx.vmclear(VMCS), SUCCEED, 'VMCLEAR current');
  assert.equal(vmx.vmptrst(), -1);
  expectStatus(r, vmx.vmclear(VMCS + 8), FAIL_INVALID, 'VMCLEAR error without a current VMCS');
  vmx.vmread(F.GUEST_RIP.encoding);
  assert.equal(vmx.status, FAIL_INVALID, 'VMREAD without a current VMCS');
  expectStatus(r, vmx.vmwrite(F.GUEST_RIP.encoding, 0), FAIL_INVALID, 'VMWRITE without a current VMCS');
  r.wr(VMCS2, 4, rev);
  expectStatus(r, vmx.vmptrld(VMCS2), SUCCEED, 'VMPTRLD');
  assert.equal(vmx.vmptrst(), VMCS2);
  expectStatus(r, vmx.vmxoff(), SUCCEED, 'VMXOFF');
  assert.throws(() => vmx.vmread(F.GUEST_RIP.encoding), HostFault, 'VMREAD outside VMX operation is #UD');
});

test('VMREAD/VMWRITE widths: 16-bit truncation, 64-bit full and high accesses, natural width = 32 bits', () => {
  const r = new Rig();
  const vmx = r.vmx;
  const rd = (enc: number): number => { const v = vmx.vmread(enc); assert.equal(vmx.status, SUCCEED, `VMREAD ${hex(enc)}`); return v >>> 0; };
  // 16-bit field: the high bits of the source are ignored.
  expectStatus(r, vmx.vmwrite(0x0800, 0x12345678), SUCCEED, 'VMWRITE GUEST_ES_SELECTOR');
  assert.equal(rd(0x0800), 0x5678);
  // 64-bit field (TSC offset 2010H/2011H). High access first, then a 32-bit full write clears the high half
  // ("if the VMCS field is longer, the high bits of the field are cleared", Vol2 VMWRITE).
  expectStatus(r, vmx.vmwrite(0x2011, 0x11112222), SUCCEED, 'VMWRITE TSC offset (high)');
  assert.equal(rd(0x2011), 0x11112222);
  expectStatus(r, vmx.vmwrite(0x2010, 0x89abcdef | 0), SUCCEED, 'VMWRITE TSC offset (full)');
  assert.equal(rd(0x2010), 0x89abcdef, 'VMREAD full returns the low 32 bits');
  assert.equal(rd(0x2011), 0, 'the high half was cleared by the 32-bit full write');
  expectStatus(r, vmx.vmwrite(0x2011, 0x01234567), SUCCEED, 'VMWRITE TSC offset (high)');
  assert.equal(rd(0x2010), 0x89abcdef, 'a high write leaves the low half');
  assert.equal(r.r(F.TSC_OFFSET), 0x01234567 * 2 ** 32 + 0x89abcdef);
  // 32-bit and natural-width fields hold 32 bits.
  expectStatus(r, vmx.vmwrite(0x681e, 0xfffffff0 | 0), SUCCEED, 'VMWRITE GUEST_RIP');
  assert.equal(rd(0x681e), 0xfffffff0);
  expectStatus(r, vmx.vmwrite(0x4004, 0xdeadbeef | 0), SUCCEED, 'VMWRITE exception bitmap');
  assert.equal(rd(0x4004), 0xdeadbeef);
});

test('VMREAD/VMWRITE: unsupported components → 12, read-only exit information → 13 (IA32_VMX_MISC bit 29 = 0)', () => {
  const r = new Rig();
  const vmx = r.vmx;
  const misc = vmx.rdmsr(MSR_VMX.MISC)[0];
  assert.equal((misc >>> 29) & 1, 0, 'IA32_VMX_MISC[29]: VMWRITE to exit-information fields is not supported');
  // Encodings that name no field (Vol3D B: bit 12 and bits 31:15 are reserved; 4C02H is not a field;
  // access type 1 exists only for 64-bit fields).
  for (const enc of [0x5002, 0x14002, 0x4c02, 0x4003, 0x0801, 0x6801]) {
    vmx.vmread(enc);
    assert.equal(vmx.status, ERR.UNSUPPORTED_FIELD, `VMREAD ${hex(enc)}`);
    assert.equal(vmx.read(F.VM_INSTRUCTION_ERROR), ERR.UNSUPPORTED_FIELD);
    expectStatus(r, vmx.vmwrite(enc, 0), ERR.UNSUPPORTED_FIELD, `VMWRITE ${hex(enc)}`);
  }
  // The exit-information fields (type 1, Vol3C 24.9) are read-only.
  for (const enc of [0x4400, 0x4402, 0x4404, 0x440c, 0x6400, 0x640a, 0x2400, 0x2401]) {
    expectStatus(r, vmx.vmwrite(enc, 1), ERR.READ_ONLY, `VMWRITE ${hex(enc)}`);
    vmx.vmread(enc);
    assert.equal(vmx.status, SUCCEED, `VMREAD ${hex(enc)} is allowed`);
  }
  // Unsupported-component wins over read-only: a high access to a 32-bit exit-information field.
  expectStatus(r, vmx.vmwrite(0x4403, 1), ERR.UNSUPPORTED_FIELD, 'VMWRITE 4403H');
});

test('fields exist exactly when the processor supports the feature they belong to (Vol3D App. B footnotes)', () => {
  const r = new Rig();
  const vmx = r.vmx;
  const allowed1 = (msr: number, bit: number): boolean => ((vmx.rdmsr(msr)[1] >>> bit) & 1) === 1;
  // [encoding, capability MSR, control bit] from the footnotes of Tables B-1..B-4.
  const deps: [number, number, number, string][] = [
    [0x0000, MSR_VMX.PROC2, 5, 'VPID / enable VPID'],
    [0x0002, MSR_VMX.PIN, 7, 'posted-interrupt notification vector / process posted interrupts'],
    [0x0004, MSR_VMX.PROC2, 18, 'EPTP index / EPT-violation #VE'],
    [0x0810, MSR_VMX.PROC2, 9, 'guest interrupt status / virtual-interrupt delivery'],
    [0x0812, MSR_VMX.PROC2, 17, 'PML index / enable PML'],
    [0x200e, MSR_VMX.PROC2, 17, 'PML address / enable PML'],
    [0x2012, MSR_VMX.PROC, 21, 'virtual-APIC address / use TPR shadow'],
    [0x2014, MSR_VMX.PROC2, 0, 'APIC-access address / virtualize APIC accesses'],
    [0x201a, MSR_VMX.PROC2, 1, 'EPT pointer / enable EPT'],
    [0x201c, MSR_VMX.PROC2, 9, 'EOI-exit bitmap 0 / virtual-interrupt delivery'],
    [0x2026, MSR_VMX.PROC2, 14, 'VMREAD bitmap / VMCS shadowing'],
    [0x2032, MSR_VMX.PROC2, 25, 'TSC multiplier / use TSC scaling'],
    [0x280a, MSR_VMX.PROC2, 1, 'guest PDPTE0 / enable EPT'],
    [0x2804, MSR_VMX.ENTRY, 14, 'guest IA32_PAT / load IA32_PAT'],
    [0x2806, MSR_VMX.ENTRY, 15, 'guest IA32_EFER / load IA32_EFER'],
    [0x2808, MSR_VMX.ENTRY, 13, 'guest IA32_PERF_GLOBAL_CTRL / load IA32_PERF_GLOBAL_CTRL'],
    [0x2c04, MSR_VMX.EXIT, 12, 'host IA32_PERF_GLOBAL_CTRL / load IA32_PERF_GLOBAL_CTRL'],
    [0x401c, MSR_VMX.PROC, 21, 'TPR threshold / use TPR shadow'],
    [0x401e, MSR_VMX.PROC, 31, 'secondary controls / activate secondary controls'],
    [0x4020, MSR_VMX.PROC2, 10, 'PLE gap / PAUSE-loop exiting'],
    [0x482e, MSR_VMX.PIN, 6, 'VMX-preemption timer value / activate VMX-preemption timer'],
  ];
  for (const [enc, msr, bit, what] of deps) {
    vmx.vmread(enc);
    const exists = vmx.status === SUCCEED;
    assert.equal(exists, allowed1(msr, bit), `${what}: field ${hex(enc)} ${exists ? 'exists' : 'does not exist'}`);
    if (!exists) assert.equal(vmx.status, ERR.UNSUPPORTED_FIELD);
  }
});

test('IA32_VMX_VMCS_ENUM bits 9:1 = the highest index of any field the processor supports (Vol3D A.9)', () => {
  const r = new Rig();
  const vmx = r.vmx;
  let max = -1;
  // Every encoding with access type 0 and bits 12, 31:15 clear (Vol3D B).
  for (let enc = 0; enc < 0x8000; enc += 2) {
    if ((enc & 0x1000) !== 0) continue;
    vmx.vmread(enc);
    if (vmx.status === SUCCEED) max = Math.max(max, (enc >>> 1) & 0x1ff);
  }
  const [lo, hi] = vmx.rdmsr(MSR_VMX.ENUM);
  assert.equal((lo >>> 1) & 0x1ff, max, `VMCS_ENUM reports ${(lo >>> 1) & 0x1ff}, the highest index in use is ${max}`);
  assert.equal(lo & ~0x3fe, 0); assert.equal(hi, 0);
  // The VMX-preemption timer value (482EH, index 23) is the highest-index field of the features supported here.
  assert.equal(max, 23);
});

test('VMLAUNCH on a launched VMCS → 4, VMRESUME on a clear one → 5, VMCLEAR makes it launchable again; MOV-SS blocking → 26', () => {
  const r = new Rig({ code: 'hlt' });
  const vmx = r.vmx;
  expectStatus(r, vmx.vmresume(), ERR.VMRESUME_NONLAUNCHED, 'VMRESUME with a clear VMCS');
  r.go();
  assert.equal(r.exits[0].reason, R.HLT);
  assert.equal(r.m.cpu.nonRoot, null);
  expectStatus(r, vmx.vmlaunch(), ERR.VMLAUNCH_NONCLEAR, 'VMLAUNCH with a launched VMCS');
  expectStatus(r, vmx.vmclear(VMCS), SUCCEED, 'VMCLEAR');
  expectStatus(r, vmx.vmptrld(VMCS), SUCCEED, 'VMPTRLD');
  expectStatus(r, vmx.vmresume(), ERR.VMRESUME_NONLAUNCHED, 'VMRESUME after VMCLEAR');
  // VM entry with events blocked by MOV SS fails before any other check (Vol3C 26.1).
  r.m.cpu.intShadow = true; r.m.cpu.shadowMovSs = true;
  expectStatus(r, vmx.vmlaunch(), ERR.MOV_SS, 'VMLAUNCH after MOV SS');
  r.m.cpu.intShadow = false; r.m.cpu.shadowMovSs = false;
  expectStatus(r, vmx.vmlaunch(), SUCCEED, 'VMLAUNCH after VMCLEAR');
  assert.notEqual(r.m.cpu.nonRoot, null, 'in VMX non-root operation');
});

test('VMRESUME of a VMCS launched before VMXOFF/VMXON → 6 (Table 31-1)', () => {
  const r = new Rig({ code: 'hlt' });
  r.go();
  const vmx = r.vmx;
  expectStatus(r, vmx.vmxoff(), SUCCEED, 'VMXOFF');
  expectStatus(r, vmx.vmxon(VMXON), SUCCEED, 'VMXON');
  expectStatus(r, vmx.vmptrld(VMCS), SUCCEED, 'VMPTRLD');
  expectStatus(r, vmx.vmresume(), ERR.VMRESUME_AFTER_VMXOFF, 'VMRESUME after VMXOFF');
});

test('INVEPT / INVVPID: types per IA32_VMX_EPT_VPID_CAP, invalid EPTP / VPID / descriptor → 28', () => {
  const r = new Rig();
  const vmx = r.vmx;
  const [capLo, capHi] = vmx.rdmsr(MSR_VMX.EPT_VPID);
  const eptp = EPT_PML4 | (3 << 3) | 6;
  for (let type = 0; type < 4; type++) {
    const ok = ((capLo >>> (24 + type)) & 1) === 1 && type !== 0; // INVEPT type t: bit 24 + t (Vol3D A.10)
    expectStatus(r, vmx.invept(type, eptp), ok ? SUCCEED : ERR.BAD_INVEPT_INVVPID, `INVEPT type ${type}`);
  }
  assert.equal((capLo >>> 25) & 1, 1, 'single-context INVEPT supported');
  // Single-context INVEPT checks the EPTP as VM entry does (Vol3C 31.3 INVEPT).
  expectStatus(r, vmx.invept(1, EPT_PML4 | (2 << 3) | 6), ERR.BAD_INVEPT_INVVPID, 'INVEPT with a 3-level EPTP');
  expectStatus(r, vmx.invept(1, EPT_PML4 | (3 << 3) | 2), ERR.BAD_INVEPT_INVVPID, 'INVEPT with memory type WT');
  expectStatus(r, vmx.invept(2, 0), SUCCEED, 'all-context INVEPT ignores the descriptor');
  for (let type = 0; type < 4; type++) {
    const ok = ((capHi >>> (8 + type)) & 1) === 1; // INVVPID type t: bit 40 + t
    expectStatus(r, vmx.invvpid(type, 1, 0x1000), ok ? SUCCEED : ERR.BAD_INVEPT_INVVPID, `INVVPID type ${type}`);
  }
  expectStatus(r, vmx.invvpid(4, 1), ERR.BAD_INVEPT_INVVPID, 'INVVPID type 4');
  expectStatus(r, vmx.invvpid(1, 0), ERR.BAD_INVEPT_INVVPID, 'single-context INVVPID of VPID 0');
  expectStatus(r, vmx.invvpid(0, 0, 0x1000), ERR.BAD_INVEPT_INVVPID, 'individual-address INVVPID of VPID 0');
  expectStatus(r, vmx.invvpid(2, 0), SUCCEED, 'all-context INVVPID ignores the VPID');
  expectStatus(r, vmx.invvpid(1, 0x10001), ERR.BAD_INVEPT_INVVPID, 'descriptor bits 63:16 must be 0');
  vmx.vmclear(VMCS);
  expectStatus(r, vmx.invvpid(7, 1), FAIL_INVALID, 'INVVPID error without a current VMCS');
});

// ------------------------------------------------------------------ capability MSRs (Vol3D App. A)

/** Default1 classes (Vol3D A.2): bits reported as 1 in the allowed-0 half of the non-TRUE MSRs. */
const DEFAULT1: Record<string, number[]> = {
  pin: [1, 2, 4],
  proc: [1, 4, 5, 6, 8, 13, 14, 15, 16, 26],
  exit: [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 14, 16, 17],
  entry: [0, 1, 2, 3, 4, 5, 6, 7, 8, 12],
};
const bits = (l: number[]): number => l.reduce((a, b) => (a | (1 << b)) | 0, 0);

test('control capability MSRs: allowed-0 ⊆ allowed-1, default1 bits, TRUE MSRs differ only in default1 allowed-0 bits (A.3-A.5)', () => {
  const r = new Rig();
  const vmx = r.vmx;
  const basic = vmx.rdmsr(MSR_VMX.BASIC);
  assert.equal((basic[1] >>> 23) & 1, 1, 'IA32_VMX_BASIC[55]: TRUE MSRs exist');
  const pairs: [string, number, number][] = [
    ['pin', MSR_VMX.PIN, MSR_VMX.TRUE_PIN], ['proc', MSR_VMX.PROC, MSR_VMX.TRUE_PROC],
    ['exit', MSR_VMX.EXIT, MSR_VMX.TRUE_EXIT], ['entry', MSR_VMX.ENTRY, MSR_VMX.TRUE_ENTRY],
  ];
  for (const [name, plain, tru] of pairs) {
    const [lo, hi] = vmx.rdmsr(plain), [tlo, thi] = vmx.rdmsr(tru);
    const d1 = bits(DEFAULT1[name]);
    assert.equal(lo & ~hi, 0, `${name}: a must-be-1 bit is not allowed to be 1`);
    assert.equal(tlo & ~thi, 0, `TRUE ${name}: a must-be-1 bit is not allowed to be 1`);
    assert.equal(lo & d1, d1, `${name}: default1 bits must read 1 in the allowed-0 half`);
    assert.equal(thi, hi, `TRUE ${name}: allowed-1 half equals the non-TRUE one`);
    assert.equal(tlo & ~d1, lo & ~d1, `TRUE ${name}: outside default1 the allowed-0 halves agree`);
    assert.equal(tlo & ~lo, 0, `TRUE ${name}: allowed-0 is a subset`);
  }
  const [p2lo, p2hi] = vmx.rdmsr(MSR_VMX.PROC2);
  assert.equal(p2lo, 0, 'every secondary control may be 0');
  assert.equal((vmx.rdmsr(MSR_VMX.PROC)[1] >>> 31) & 1, 1, '"activate secondary controls" may be 1');
  assert.equal(p2hi & (1 << 7) ? p2hi & (1 << 1) : 2, 2, 'unrestricted guest requires EPT to be supported');
});

test('IA32_VMX_BASIC, MISC, CR0/CR4 FIXED0 ⊆ FIXED1, EPT_VPID_CAP (A.1, A.6, A.7, A.8, A.10)', () => {
  const r = new Rig();
  const vmx = r.vmx;
  const [blo, bhi] = vmx.rdmsr(MSR_VMX.BASIC);
  assert.equal(blo >>> 31, 0, 'revision identifier bit 31 is 0');
  assert.notEqual(blo & 0x7fffffff, 0);
  const size = bhi & 0x1fff;
  assert.ok(size > 0 && size <= 4096, `region size ${size}`);
  assert.ok([0, 6].includes((bhi >>> 18) & 0xf), 'VMCS memory type UC or WB');
  const [mlo, mhi] = vmx.rdmsr(MSR_VMX.MISC);
  assert.equal((mlo >>> 6) & 7, 7, 'activity states HLT, shutdown, wait-for-SIPI supported');
  assert.ok(((mlo >>> 16) & 0x1ff) >= 4, 'at least 4 CR3-target values');
  assert.equal((mlo >>> 30) & 1, 0, 'injection with instruction length 0 not supported');
  assert.equal(mhi, 0, 'MSEG revision identifier');
  const f0 = vmx.rdmsr(MSR_VMX.CR0_F0)[0], f1 = vmx.rdmsr(MSR_VMX.CR0_F1)[0];
  assert.equal(f0 & ~f1, 0, 'CR0: fixed-1 bits are allowed to be 1');
  assert.equal(f0 & 0x80000021, 0x80000021 | 0, 'CR0.PE, NE, PG fixed to 1 in VMX operation');
  const g0 = vmx.rdmsr(MSR_VMX.CR4_F0)[0], g1 = vmx.rdmsr(MSR_VMX.CR4_F1)[0];
  assert.equal(g0 & ~g1, 0, 'CR4: fixed-1 bits are allowed to be 1');
  assert.equal(g0 & 0x2000, 0x2000, 'CR4.VMXE fixed to 1');
  const [elo, ehi] = vmx.rdmsr(MSR_VMX.EPT_VPID);
  assert.equal((elo >>> 6) & 1, 1, 'page-walk length 4');
  assert.ok(((elo >>> 8) & 1) === 1 || ((elo >>> 14) & 1) === 1, 'UC or WB EPT paging structures');
  assert.equal((elo >>> 20) & 1, (elo >>> 25) & 1 | (elo >>> 26) & 1, 'INVEPT supported iff some INVEPT type is');
  assert.equal(ehi & 1, ((ehi >>> 8) & 0xf) !== 0 ? 1 : 0, 'INVVPID supported iff some INVVPID type is');
});

test('VM entry accepts exactly the control settings the TRUE capability MSRs allow (every bit of every control)', () => {
  const r = new Rig({ code: 'hlt' });
  const vmx = r.vmx;
  const sets: [typeof F.PIN_BASED_VM_EXEC_CONTROL, number][] = [
    [F.PIN_BASED_VM_EXEC_CONTROL, MSR_VMX.TRUE_PIN], [F.CPU_BASED_VM_EXEC_CONTROL, MSR_VMX.TRUE_PROC],
    [F.VM_EXIT_CONTROLS, MSR_VMX.TRUE_EXIT], [F.VM_ENTRY_CONTROLS, MSR_VMX.TRUE_ENTRY],
  ];
  let failures = 0;
  for (const [field, msr] of sets) {
    const [lo, hi] = vmx.rdmsr(msr);
    const base = r.r(field);
    for (let b = 0; b < 32; b++) {
      const bit = (1 << b) | 0;
      // A must-be-1 bit cleared, or a not-allowed bit set: VMfailValid(7).
      if ((lo & bit) !== 0) r.w(field, (base & ~bit) >>> 0);
      else if ((hi & bit) === 0) r.w(field, (base | bit) >>> 0);
      else continue;
      expectStatus(r, vmx.vmlaunch(), ERR.BAD_CONTROL, `${field.name} bit ${b}`);
      assert.ok(lastEntryFailure !== null && lastEntryFailure.field === field.name, `${field.name} bit ${b}: ${lastEntryFailure}`);
      failures++;
      r.w(field, base);
    }
  }
  // Secondary controls: every bit not allowed to be 1 fails, once "activate secondary controls" is set.
  const [, p2hi] = vmx.rdmsr(MSR_VMX.PROC2);
  r.w(F.CPU_BASED_VM_EXEC_CONTROL, (r.r(F.CPU_BASED_VM_EXEC_CONTROL) | 0x80000000) >>> 0);
  for (let b = 0; b < 32; b++) {
    if (((p2hi >>> b) & 1) === 1) continue;
    r.w(F.SECONDARY_VM_EXEC_CONTROL, (1 << b) >>> 0);
    expectStatus(r, vmx.vmlaunch(), ERR.BAD_CONTROL, `secondary bit ${b}`);
    failures++;
  }
  assert.ok(failures > 60, `${failures} reserved settings rejected`);
  r.w(F.SECONDARY_VM_EXEC_CONTROL, 0);
  expectStatus(r, vmx.vmlaunch(), SUCCEED, 'the unmodified VMCS is valid');
});
