// EPT in VMX non-root operation (Intel SDM Vol3C 28.2): EPT violations with the exit qualification
// of Table 27-7 (bit 0 read, 1 write, 2 fetch, 3-5 the R/W/X permissions ANDed over the entries
// walked, 7 guest-linear address valid, 8 access to the final translation vs. a guest
// paging-structure entry) and the guest-physical / guest-linear address fields; EPT
// misconfigurations (28.2.3.1, reason 49); accessed/dirty flags (28.2.4, EPTP bit 6; guest
// paging-structure accesses count as writes); violations during event delivery (IDT-vectoring);
// PDPTE loading through EPT; INVEPT. The harness's EPT is an identity map: PML4 110000H → PDPT
// 111000H → PD 112000H; PD[0] → PT 113000H (4-KiB pages), PD[1..7] 2-MiB pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../machine/vmx/vmcs-fields.js';
import { Rig, type RigOptions, P, P2, R, II, GUEST_CODE, GUEST_PT, IDT, EPT_PML4, EPT_PDPT, EPT_PD, EPT_PT, hex } from './harness/vmx.js';

const Q = { READ: 1, WRITE: 2, FETCH: 4, R: 8, W: 16, X: 32, GLA_VALID: 0x80, TRANSLATED: 0x100 } as const;
const A = 1 << 8, D = 1 << 9; // EPT accessed / dirty flags
const WB = 6 << 3;
const pte = (page: number): number => EPT_PT + 8 * (page >>> 12);
function rig(code: string, opts: RigOptions = {}, setup?: (r: Rig) => void): Rig {
  const r = new Rig({ code, ept: true, ...opts });
  setup?.(r);
  return r;
}
/** Set the R/W/X bits of the EPT leaf for a 4-KiB page. */
const perm = (r: Rig, page: number, rwx: number): void => r.wr(pte(page), 4, (page & ~0xfff) | WB | rwx);
/** Guest PDE/PTEs with accessed and dirty flags already set, so guest page walks write nothing. */
const guestAd = (r: Rig): void => { r.wr(0x13000, 4, GUEST_PT | 0x67); for (let k = 0; k < 1024; k++) r.wr(GUEST_PT + 4 * k, 4, (k << 12) | 0x67); };

test('EPT violation on a read of a not-present page: read bit, permissions 0, GLA valid + translated, GPA and GLA', () => {
  const e = rig('mov eax, [0x9004]\nhlt', {}, (r) => perm(r, 0x9000, 0)).go();
  assert.deepEqual([e.reason, hex(e.qual), e.gpa, e.gla, e.rip], [R.EPT_VIOLATION, hex(Q.READ | Q.GLA_VALID | Q.TRANSLATED), 0x9004, 0x9004, GUEST_CODE]);
});

test('EPT violation on a write to a read-only page and a fetch from a non-executable page', () => {
  const w = rig('mov [0x9008], eax\nhlt', {}, (r) => perm(r, 0x9000, 1)).go();
  assert.deepEqual([w.reason, hex(w.qual), w.gpa, w.gla], [R.EPT_VIOLATION, hex(Q.WRITE | Q.R | Q.GLA_VALID | Q.TRANSLATED), 0x9008, 0x9008]);
  const f = rig('jmp 0x9000', {}, (r) => { perm(r, 0x9000, 3); r.wr(0x9000, 1, 0xf4); }).go();
  assert.deepEqual([f.reason, hex(f.qual), f.gpa, f.gla, f.rip], [R.EPT_VIOLATION, hex(Q.FETCH | Q.R | Q.W | Q.GLA_VALID | Q.TRANSLATED), 0x9000, 0x9000, 0x9000]);
});

test('permission bits are the AND over every EPT level walked (here: a read-execute PD entry above an RWX page)', () => {
  const e = rig('mov [0x9008], eax\nhlt', {}, (r) => { guestAd(r); r.wr(EPT_PD, 4, EPT_PT | 5); }).go();
  assert.equal(hex(e.qual), hex(Q.WRITE | Q.R | Q.X | Q.GLA_VALID | Q.TRANSLATED));
  // A 2-MiB page (PD[1]) mapped read-only.
  const big = rig('mov [0x200010], eax\nhlt', {}, (r) => r.wr(EPT_PD + 8, 4, 0x200000 | 0x80 | WB | 1)).go();
  assert.deepEqual([hex(big.qual), big.gpa], [hex(Q.WRITE | Q.R | Q.GLA_VALID | Q.TRANSLATED), 0x200010]);
});

test('violation on a guest paging-structure entry: bit 8 clear, GPA of the PTE; with EPT A/D the access counts as a write (bits 0 and 1)', () => {
  // The guest page table (14000H) is not mapped by EPT: the first fetch (at 1000H) reads PTE 1 at 14004H.
  const e = rig('hlt', {}, (r) => perm(r, GUEST_PT, 0)).go();
  assert.deepEqual([e.reason, hex(e.qual), e.gpa, e.gla, e.rip], [R.EPT_VIOLATION, hex(Q.READ | Q.GLA_VALID), GUEST_PT + 4, GUEST_CODE, GUEST_CODE]);
  const ad = rig('hlt', {}, (r) => { perm(r, GUEST_PT, 0); r.w(F.EPT_POINTER, r.r(F.EPT_POINTER) | 0x40); }).go();
  assert.equal(hex(ad.qual), hex(Q.READ | Q.WRITE | Q.GLA_VALID), 'Table 27-7: both bits 0 and 1 with EPT A/D flags');
  const ro = rig('hlt', {}, (r) => { perm(r, GUEST_PT, 1); r.w(F.EPT_POINTER, r.r(F.EPT_POINTER) | 0x40); }).go();
  assert.equal(hex(ro.qual), hex(Q.READ | Q.WRITE | Q.R | Q.GLA_VALID), 'a read-only guest page table violates on the walk itself');
});

test('EPT misconfigurations (28.2.3.1): write without read, execute-only (not supported), memory type 2, reserved PML4E bits → reason 49 with the GPA', () => {
  const cases: [string, (r: Rig) => void][] = [
    ['W without R', (r) => perm(r, 0x9000, 2)],
    ['execute-only', (r) => perm(r, 0x9000, 4)],
    ['memory type 2', (r) => r.wr(pte(0x9000), 4, 0x9000 | (2 << 3) | 7)],
    ['memory type 7', (r) => r.wr(pte(0x9000), 4, 0x9000 | (7 << 3) | 7)],
    ['reserved bit 3 in the PML4 entry', (r) => r.wr(EPT_PML4, 4, EPT_PDPT | 8 | 7)],
    ['reserved bits 20:12 in a 2-MiB page entry', (r) => r.wr(EPT_PD + 8, 4, 0x201000 | 0x80 | WB | 7)],
    ['physical-address bits above MAXPHYADDR', (r) => r.wr(pte(0x9000) + 4, 4, 0x10)],
  ];
  for (const [what, set] of cases) {
    const target = what.includes('2-MiB') ? 0x200004 : 0x9004;
    const e = rig(`mov eax, [${target}]\nhlt`, {}, set).go();
    // A bad PML4 entry fails the first access: the guest's page-directory entry for the code fetch (13000H).
    assert.deepEqual([e.reason, e.gpa, e.rip], [R.EPT_MISCONFIG, what.includes('PML4') ? 0x13000 : target, GUEST_CODE], what);
  }
});

test('EPT accessed and dirty flags (EPTP bit 6): A in every entry walked, D in the leaf on a write; untouched without bit 6', () => {
  const r = rig('mov eax, [0x9004]\ncpuid\nmov [0x9008], eax\nhlt', {}, (rr) => {
    rr.w(F.EPT_POINTER, rr.r(F.EPT_POINTER) | 0x40);
    guestAd(rr); // so that only the "treated as writes" rule can dirty the guest page table's EPT entry
  });
  r.onExit = (e, rr) => {
    if (e.reason !== R.CPUID) return false;
    // After the read: accessed flags on the walk to 9000H, no dirty flag yet.
    assert.equal(rr.rd(EPT_PML4) & A, A); assert.equal(rr.rd(EPT_PDPT) & A, A); assert.equal(rr.rd(EPT_PD) & A, A);
    assert.equal(rr.rd(pte(0x9000)) & (A | D), A);
    assert.equal(rr.rd(pte(0xa000)) & A, 0, 'an entry not used is not marked');
    // The guest's own page table was accessed by the walk: treated as a write, so its EPT leaf is dirty.
    assert.equal(rr.rd(pte(GUEST_PT)) & (A | D), A | D);
    return rr.skip(e);
  };
  r.launch(); r.run();
  assert.equal(r.exits[r.exits.length - 1].reason, R.HLT);
  assert.equal(r.rd(pte(0x9000)) & (A | D), A | D, 'dirty after the write');
  const off = rig('mov eax, [0x9004]\nmov [0x9008], eax\nhlt');
  off.go();
  assert.equal(off.rd(pte(0x9000)) & (A | D), 0);
  assert.equal(off.rd(EPT_PML4) & A, 0);
});

test('EPT violation during event delivery: IDT-vectoring information = the event (injected interrupt, INT n)', () => {
  // The IDT page (11000H) not readable under EPT.
  const inj = rig('nop\nhlt', {}, (r) => {
    perm(r, IDT, 0); r.w(F.GUEST_RFLAGS, 0x202);
    r.w(F.VM_ENTRY_INTR_INFO_FIELD, (II.VALID | II.EXT | 0x30) >>> 0);
  }).go();
  assert.deepEqual([inj.reason, hex(inj.qual), inj.gpa, inj.gla, inj.idtInfo, inj.rip],
    [R.EPT_VIOLATION, hex(Q.READ | Q.GLA_VALID | Q.TRANSLATED), IDT + 0x30 * 8, IDT + 0x30 * 8, (II.VALID | II.EXT | 0x30) >>> 0, GUEST_CODE]);
  const intn = rig('nop\nint 0x41\nhlt', {}, (r) => perm(r, IDT, 0)).go();
  assert.deepEqual([intn.reason, intn.gpa, intn.idtInfo, intn.len, intn.rip - GUEST_CODE],
    [R.EPT_VIOLATION, IDT + 0x41 * 8, (II.VALID | II.SWI | 0x41) >>> 0, 2, 1]);
});

test('PDPTE loading through EPT (MOV to CR3 under PAE): violation without a guest-linear address (bit 7 = 0)', () => {
  const r = rig('mov eax, 0x18000\nmov cr3, eax\nhlt', {}, (rr) => {
    rr.wr(0x15000, 4, 0x16001); for (let k = 0; k < 512; k++) rr.wr(0x16000 + 8 * k, 4, ((k << 21) | 0x83) | 0);
    rr.w(F.GUEST_CR3, 0x15000); rr.w(F.GUEST_CR4, 0x2030); rr.w(F.GUEST_PDPTE0, 0x16001);
    perm(rr, 0x18000, 0);
  });
  const e = r.go();
  assert.deepEqual([e.reason, hex(e.qual), e.gpa, e.rip - GUEST_CODE], [R.EPT_VIOLATION, hex(Q.READ), 0x18000, 5]);
});

test('with VPID, EPT changes take effect after single-context INVEPT (28.3.3.1)', () => {
  const r = rig('mov [0x9000], eax\ncpuid\nmov [0x9004], eax\nhlt', { proc2: P2.VPID }, (rr) => rr.w(F.VIRTUAL_PROCESSOR_ID, 1));
  r.onExit = (e, rr) => {
    if (e.reason !== R.CPUID) return false;
    perm(rr, 0x9000, 1); // now read-only
    assert.equal(rr.vmx.invept(1, rr.r(F.EPT_POINTER)), 0);
    return rr.skip(e);
  };
  r.launch(); r.run();
  const last = r.exits[r.exits.length - 1];
  assert.deepEqual([last.reason, last.gpa], [R.EPT_VIOLATION, 0x9004]);
  void P;
});
