// Events in VMX non-root operation (Intel SDM Vol3C 25.2, 25.5, 26.6, 27.2-27.3): exceptions and
// the exception bitmap (with the #PF error-code mask/match), NMI and external-interrupt exiting
// (with and without "acknowledge interrupt on exit"), interrupt-window / NMI-window exiting, the
// monitor trap flag, the VMX-preemption timer, event injection through the guest IDT, IDT-vectoring
// information for exits during event delivery, triple faults, and the saved interruptibility and
// activity state. Interruption-information values are written out from Tables 24-16/24-19/24-20:
// vector 7:0, type 10:8 (0 external, 2 NMI, 3 hardware exception, 4 software interrupt,
// 5 privileged software exception, 6 software exception, 7 other), error-code valid 11, valid 31.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F } from '../machine/vmx/vmcs-fields.js';
import { Rig, FakeIntc, type Exit, type RigOptions, P, PIN_C, EXIT_C, R, II, GUEST_CODE, GUEST_PT, HANDLERS, IDT, GUEST_STACK, hex } from './harness/vmx.js';

const at = (off: number): string => `times ${off}-($-$$) nop`;
const EXC = (v: number, ec = false): number => (II.VALID | II.HW | (ec ? II.EC : 0) | v) >>> 0;
const handler = (v: number): number => HANDLERS + v * 16;
function rig(code: string, opts: RigOptions = {}, setup?: (r: Rig) => void): Rig {
  const r = new Rig({ code, ...opts });
  setup?.(r);
  return r;
}
/** Inject an event with VM entry. */
function inject(r: Rig, info: number, len = 0, code = 0): void {
  r.w(F.VM_ENTRY_INTR_INFO_FIELD, info >>> 0); r.w(F.VM_ENTRY_INSTRUCTION_LEN, len); r.w(F.VM_ENTRY_EXCEPTION_ERROR_CODE, code);
}
const unmap = (r: Rig, page: number): void => r.wr(GUEST_PT + 4 * (page >>> 12), 4, 0);

// ------------------------------------------------------------------ exceptions (25.2) and their exit information (27.2.2)

test('exception bitmap: #UD exits (reason 0, hardware exception, RIP of the faulting instruction); without its bit it goes to the guest IDT', () => {
  const a = rig(`${at(4)}\nud2\nhlt`, {}, (r) => r.w(F.EXCEPTION_BITMAP, 1 << 6)).go();
  assert.deepEqual([a.reason, a.intrInfo, a.rip - GUEST_CODE, a.idtInfo], [R.EXC_NMI, EXC(6), 4, 0]);
  const b = rig('ud2\nhlt', {}, (r) => r.w(F.EXCEPTION_BITMAP, ~(1 << 6) >>> 0)).go();
  assert.equal(b.rip, handler(6));
});

test('#GP with error code: VM-exit interruption error code, no IDT-vectoring information', () => {
  const e = rig('mov ax, 0x1234\nmov ds, ax\nhlt', {}, (r) => r.w(F.EXCEPTION_BITMAP, 1 << 13)).go();
  assert.deepEqual([e.intrInfo, e.intrErr, e.rip - GUEST_CODE, e.idtInfo], [EXC(13, true), 0x1234, 4, 0]);
});

test('#PF exits: qualification = linear address; the error-code mask/match decides with bit 14 set and clear (Vol3C 25.2)', () => {
  /** One access to the unmapped page 9000H: 'exit' (with [error code, qualification]) or 'guest' (#PF handler). */
  const pf = (write: boolean, bit14: boolean, mask: number, match: number): string => {
    const e = rig(write ? 'mov dword [0x9008], 1\nhlt' : 'mov eax, [0x9004]\nhlt', {}, (r) => {
      unmap(r, 0x9000);
      r.w(F.EXCEPTION_BITMAP, bit14 ? 1 << 14 : 0); r.w(F.PAGE_FAULT_ERROR_CODE_MASK, mask); r.w(F.PAGE_FAULT_ERROR_CODE_MATCH, match);
    }).go();
    if (e.reason === R.EXC_NMI) {
      assert.deepEqual([e.intrInfo, e.rip, e.idtInfo], [EXC(14, true), GUEST_CODE, 0]);
      return `exit ${e.intrErr} ${hex(e.qual)}`;
    }
    assert.equal(e.rip, handler(14));
    return 'guest';
  };
  // Error codes: read of a not-present page 0, write 2 (Vol3A 4.7).
  assert.equal(pf(false, true, 0, 0), 'exit 0 0x9004');
  assert.equal(pf(true, true, 0, 0), 'exit 2 0x9008');
  // Bit 14 = 1: exits iff (error code AND mask) = match.
  assert.equal(pf(false, true, 2, 2), 'guest');
  assert.equal(pf(true, true, 2, 2), 'exit 2 0x9008');
  // Bit 14 = 0: exits iff (error code AND mask) ≠ match.
  assert.equal(pf(false, false, 2, 2), 'exit 0 0x9004');
  assert.equal(pf(true, false, 2, 2), 'guest');
  assert.equal(pf(true, false, 0, 0), 'guest', 'bit 14 = 0 with mask = match = 0: no #PF exits');
});

test('a #PF that exits leaves CR2 alone; one delivered to the guest loads it', () => {
  const r = rig('mov eax, [0x9004]\nhlt', {}, (rr) => { unmap(rr, 0x9000); rr.w(F.EXCEPTION_BITMAP, 1 << 14); rr.vmx.writeCr2(0xdead0000); });
  r.go();
  assert.equal(r.m.cpu.cr2 >>> 0, 0xdead0000);
  const s = rig('mov eax, [0x9004]\nhlt', {}, (rr) => { unmap(rr, 0x9000); rr.vmx.writeCr2(0xdead0000); });
  s.go();
  assert.equal(s.m.cpu.cr2 >>> 0, 0x9004);
});

test('INT3 / INTO are software exceptions (type 6), INT1 a privileged software exception (type 5): instruction length, RIP of the instruction; INT n never exits', () => {
  const code = `${at(0)}\nint3\n${at(0x10)}\nmov al, 0x7f\nadd al, 1\n${at(0x20)}\ninto\n${at(0x30)}\nicebp\n${at(0x40)}\nint 3\nhlt`;
  const r = rig(code, {}, (rr) => rr.w(F.EXCEPTION_BITMAP, (1 << 1) | (1 << 3) | (1 << 4)));
  r.onExit = (e, rr) => e.reason === R.EXC_NMI && rr.skip(e);
  r.launch(); r.run();
  const x = r.exits;
  assert.deepEqual(x.filter((e) => e.reason === R.EXC_NMI).map((e) => [e.intrInfo, e.rip - GUEST_CODE, e.len]), [
    [(II.VALID | II.SWE | 3) >>> 0, 0x00, 1], [(II.VALID | II.SWE | 4) >>> 0, 0x20, 1], [(II.VALID | II.PSE | 1) >>> 0, 0x30, 1],
  ]);
  assert.equal(x[x.length - 1].rip, handler(3), 'INT 3 (CD 03) is a software interrupt: delivered through the IDT');
});

test('single-step #DB (TF) that exits: trap (RIP = next instruction), qualification BS, DR6 not modified (Vol3C 27.1)', () => {
  const r = rig('nop\nnop\nhlt', {}, (rr) => { rr.w(F.EXCEPTION_BITMAP, 1 << 1); rr.w(F.GUEST_RFLAGS, 0x102); });
  const dr6 = r.m.cpu.dr[6];
  const e = r.go();
  assert.deepEqual([e.reason, e.intrInfo, e.qual, e.rip - GUEST_CODE], [R.EXC_NMI, EXC(1), 0x4000, 1]);
  assert.equal(r.m.cpu.dr[6], dr6, 'DR6 unchanged');
});

// ------------------------------------------------------------------ NMIs and external interrupts (25.2, 27.2.2)

test('NMI exiting: exit before the next instruction with type NMI; without it the NMI goes through the guest IDT', () => {
  const r = rig('nop\nhlt', { pin: PIN_C.NMI });
  r.launch(); r.m.cpu.nmiPending = true; r.run();
  const e = r.exits[0];
  assert.deepEqual([e.reason, e.intrInfo, e.rip], [R.EXC_NMI, (II.VALID | II.NMI | 2) >>> 0, GUEST_CODE]);
  const s = rig('nop\nhlt');
  s.launch(); s.m.cpu.nmiPending = true; s.run();
  assert.equal(s.exits[0].rip, handler(2));
  assert.equal(s.exits[0].intr & 8, 8, 'blocking by NMI while in the NMI handler');
});

test('external-interrupt exiting: exits even with IF = 0; "acknowledge interrupt on exit" = 0 leaves it pending, = 1 reports the vector', () => {
  const noAck = rig('nop\nhlt', { pin: PIN_C.EXT_INTR });
  const pic = new FakeIntc();
  noAck.m.cpu.intc = pic; pic.pending = 0x30;
  noAck.launch(); noAck.run();
  assert.deepEqual([noAck.exits[0].reason, noAck.exits[0].intrInfo & II.VALID, noAck.exits[0].rip], [R.EXT_INTR, 0, GUEST_CODE]);
  assert.equal(pic.acks, 0); assert.equal(pic.pending, 0x30, 'still pending');
  const ack = rig('nop\nhlt', { pin: PIN_C.EXT_INTR, exit: EXIT_C.ACK_INTR });
  const pic2 = new FakeIntc();
  ack.m.cpu.intc = pic2; pic2.pending = 0x31;
  ack.launch(); ack.run();
  assert.deepEqual([ack.exits[0].reason, ack.exits[0].intrInfo], [R.EXT_INTR, (II.VALID | II.EXT | 0x31) >>> 0]);
  assert.equal(pic2.acks, 1);
  const none = rig('sti\nnop\nhlt');
  const pic3 = new FakeIntc();
  none.m.cpu.intc = pic3; pic3.pending = 0x32;
  none.launch(); none.run();
  assert.equal(none.exits[0].rip, handler(0x32), 'without exiting: delivered through the guest IDT after the STI shadow');
});

test('an external interrupt that wakes a halted guest exits with activity state HLT and RIP after the HLT', () => {
  const r = rig(`${at(4)}\nhlt\nnop`, { pin: PIN_C.EXT_INTR, noHlt: true });
  const pic = new FakeIntc();
  r.m.cpu.intc = pic;
  r.launch(); r.run(1000);
  assert.equal(r.exits.length, 0, 'halted, nothing pending');
  pic.pending = 0x40;
  r.run(1000);
  const e = r.exits[0];
  assert.deepEqual([e.reason, e.activity, e.rip - GUEST_CODE], [R.EXT_INTR, 1, 5]);
});

// ------------------------------------------------------------------ windows, MTF, preemption timer (25.2, 25.5)

test('interrupt-window exiting: at the first boundary with IF = 1 and no STI/MOV-SS blocking', () => {
  const a = rig('nop\nhlt', { proc: P.INTR_WINDOW }, (r) => r.w(F.GUEST_RFLAGS, 0x202)).go();
  assert.deepEqual([a.reason, a.rip], [R.INTR_WINDOW, GUEST_CODE], 'IF = 1 at entry: before any instruction');
  const b = rig(`${at(2)}\nsti\nnop\nnop\nhlt`, { proc: P.INTR_WINDOW }).go();
  assert.deepEqual([b.reason, b.rip - GUEST_CODE, b.intr], [R.INTR_WINDOW, 4, 0], 'after STI and the instruction it shields');
  const c = rig('nop\nhlt', { proc: P.INTR_WINDOW }, (r) => { r.w(F.GUEST_RFLAGS, 0x202); r.w(F.GUEST_INTERRUPTIBILITY_INFO, 1); }).go();
  assert.deepEqual([c.reason, c.rip - GUEST_CODE], [R.INTR_WINDOW, 1], 'STI blocking from the VMCS holds for one instruction');
});

test('saved interruptibility: blocking by STI / by MOV SS when an instruction in the shadow exits (27.3.4)', () => {
  const a = rig('sti\ncpuid\nhlt').go();
  assert.deepEqual([a.reason, a.rip - GUEST_CODE, a.intr], [R.CPUID, 1, 1]);
  const b = rig(`mov ax, ss\nmov ss, ax\ncpuid\nhlt`).go();
  assert.deepEqual([b.reason, b.intr], [R.CPUID, 2]);
});

test('NMI-window exiting with virtual NMIs: immediate without blocking; after an injected NMI only once IRET unblocks', () => {
  const pin = PIN_C.NMI | PIN_C.VIRTUAL_NMIS;
  const a = rig('nop\nhlt', { pin, proc: P.NMI_WINDOW }).go();
  assert.deepEqual([a.reason, a.rip], [R.NMI_WINDOW, GUEST_CODE]);
  // Inject a virtual NMI; its handler IRETs back to GUEST_CODE + 0x10.
  const r = rig(`${at(0x10)}\nnop\nhlt`, { pin, proc: P.NMI_WINDOW }, (rr) => {
    inject(rr, II.VALID | II.NMI | 2);
    rr.m.mem.load(handler(2), new Uint8Array([0x90, 0xcf])); // nop; iretd
    rr.w(F.GUEST_RIP, GUEST_CODE + 0x10);
  });
  const e = r.go();
  assert.deepEqual([e.reason, e.rip - GUEST_CODE, e.intr & 8], [R.NMI_WINDOW, 0x10, 0], 'NMI window opens after the handler\'s IRET');
});

test('monitor trap flag: exit after each instruction (RIP = next), after a fault is delivered, after an injected event', () => {
  const r = rig('nop\nmov eax, 1\nhlt', { proc: P.MTF });
  r.onExit = (e) => e.reason === R.MTF;
  r.launch(); r.run();
  assert.deepEqual(r.exits.map((e) => [e.reason, e.rip - GUEST_CODE]), [[R.MTF, 1], [R.MTF, 6], [R.HLT, 6]]);
  const f = rig('ud2\nhlt', { proc: P.MTF }).go();
  assert.deepEqual([f.reason, f.rip], [R.MTF, handler(6)], 'a faulting instruction: MTF exit after the fault is delivered');
  const i = rig('nop\nhlt', { proc: P.MTF }, (rr) => { rr.w(F.GUEST_RFLAGS, 0x202); inject(rr, II.VALID | II.EXT | 0x30); }).go();
  assert.deepEqual([i.reason, i.rip], [R.MTF, handler(0x30)], 'injection: MTF exit before the handler runs');
});

test('MTF exit after a pending interrupt is delivered (no instruction in between)', () => {
  const r = rig('sti\nnop\nnop\nhlt', { proc: P.MTF });
  const pic = new FakeIntc();
  r.m.cpu.intc = pic;
  r.onExit = (e) => e.reason === R.MTF && e.rip !== handler(0x50);
  r.launch();
  pic.pending = 0x50;
  r.run();
  // STI (MTF exit at 1), NOP in the shadow (MTF exit at 2), then the interrupt is delivered: MTF exit at its handler.
  assert.deepEqual(r.exits.map((e) => [e.reason, e.rip - GUEST_CODE]), [[R.MTF, 1], [R.MTF, 2], [R.MTF, handler(0x50) - GUEST_CODE]]);
});

test('VMX-preemption timer: counts down every 2^X TSC ticks (IA32_VMX_MISC[4:0]), exits with reason 52, value saved on exit', () => {
  const rate = new Rig().vmx.rdmsr(0x485)[0] & 0x1f;
  const n = 100;
  const r = rig('l: jmp l', { pin: PIN_C.PREEMPTION, exit: EXIT_C.SAVE_TIMER }, (rr) => rr.w(F.VMX_PREEMPTION_TIMER_VALUE, n));
  const t0 = r.m.clock.insns;
  const e = r.go(10 * n << rate);
  const ran = e.insns - t0;
  assert.equal(e.reason, R.PREEMPTION);
  assert.ok(ran >= (n - 1) << rate && ran <= (n << rate) + 2, `exit after ${ran} instructions (${n} × 2^${rate})`);
  assert.equal(e.f.VMX_PREEMPTION_TIMER_VALUE, 0, 'saved value 0 after expiry');
  const zero = rig('nop\nhlt', { pin: PIN_C.PREEMPTION }, (rr) => rr.w(F.VMX_PREEMPTION_TIMER_VALUE, 0)).go();
  assert.deepEqual([zero.reason, zero.rip], [R.PREEMPTION, GUEST_CODE], 'value 0: exit before the first instruction');
  const saved = rig('nop\nnop\ncpuid', { pin: PIN_C.PREEMPTION, exit: EXIT_C.SAVE_TIMER }, (rr) => rr.w(F.VMX_PREEMPTION_TIMER_VALUE, 1000)).go();
  assert.equal(saved.reason, R.CPUID);
  assert.ok(saved.f.VMX_PREEMPTION_TIMER_VALUE >= 999 && saved.f.VMX_PREEMPTION_TIMER_VALUE <= 1000, `saved ${saved.f.VMX_PREEMPTION_TIMER_VALUE}`);
});

test('VMX-preemption timer wakes a halted guest: exit 52 with activity state HLT', () => {
  const r = rig('hlt\nnop', { pin: PIN_C.PREEMPTION, noHlt: true }, (rr) => rr.w(F.VMX_PREEMPTION_TIMER_VALUE, 50));
  const e = r.go(1_000_000);
  assert.deepEqual([e.reason, e.activity, e.rip - GUEST_CODE], [R.PREEMPTION, 1, 1]);
});

// ------------------------------------------------------------------ event injection (26.6)

test('injection through the guest IDT: external interrupt, NMI, #GP with error code, INT n and INT3 with instruction length', () => {
  const cases: [string, number, number, number, number, number][] = [
    // what, info, len, error code, vector, pushed EIP
    ['external interrupt', II.VALID | II.EXT | 0x30, 0, 0, 0x30, GUEST_CODE],
    ['NMI', II.VALID | II.NMI | 2, 0, 0, 2, GUEST_CODE],
    ['#GP(18H)', II.VALID | II.HW | II.EC | 13, 0, 0x18, 13, GUEST_CODE],
    ['INT 80H (length 2)', II.VALID | II.SWI | 0x80, 2, 0, 0x80, GUEST_CODE + 2],
    ['INT3 (length 1)', II.VALID | II.SWE | 3, 1, 0, 3, GUEST_CODE + 1],
  ];
  for (const [what, info, len, code, vec, eip] of cases) {
    const r = rig('nop\nhlt', {}, (rr) => { rr.w(F.GUEST_RFLAGS, 0x202); inject(rr, info, len, code); });
    const e = r.go();
    assert.equal(e.rip, handler(vec), `${what}: handler`);
    const ec = (info & II.EC) !== 0 ? 1 : 0;
    if (ec) assert.equal(r.stack(e, 0), code, `${what}: error code pushed`);
    assert.equal(r.stack(e, ec), eip, `${what}: return EIP`);
    assert.equal(r.stack(e, ec + 1), 0x08, `${what}: CS`);
    assert.equal(r.stack(e, ec + 2) & 0x200, 0x200, `${what}: EFLAGS.IF pushed as 1`);
    assert.equal(e.f.VM_ENTRY_INTR_INFO_FIELD & II.VALID, 0, `${what}: the exit cleared the valid bit (24.8.3)`);
  }
});

test('an injected #PF does not consult the exception bitmap and does not load CR2; a fault during its delivery does exit', () => {
  const a = rig('nop\nhlt', {}, (r) => { r.w(F.EXCEPTION_BITMAP, 1 << 14); inject(r, II.VALID | II.HW | II.EC | 14, 0, 2); r.vmx.writeCr2(0x5000); });
  const e = a.go();
  assert.equal(e.rip, handler(14), 'delivered to the guest although bit 14 is set');
  assert.equal(a.m.cpu.cr2, 0x5000, 'CR2 as the VMM set it');
  // Gate 14 not present: #NP(14·8 + 2 + EXT) during delivery; #NP exits with the #PF as IDT-vectoring information.
  const b = rig('nop\nhlt', {}, (r) => {
    r.w(F.EXCEPTION_BITMAP, (1 << 14) | (1 << 11)); inject(r, II.VALID | II.HW | II.EC | 14, 0, 2);
    r.wr(IDT + 14 * 8 + 4, 4, r.rd(IDT + 14 * 8 + 4) & ~0x8000);
  });
  const f = b.go();
  assert.deepEqual([f.reason, f.intrInfo, f.intrErr, f.idtInfo, f.idtErr, f.rip], [R.EXC_NMI, EXC(11, true), 14 * 8 + 3, EXC(14, true), 2, GUEST_CODE]);
});

// ------------------------------------------------------------------ IDT-vectoring information (27.2.4)

test('exception during delivery of INT n: IDT-vectoring = the software interrupt, instruction length, RIP of the INT', () => {
  const r = rig(`${at(3)}\nint 0x40\nhlt`, {}, (rr) => {
    rr.w(F.EXCEPTION_BITMAP, 1 << 11);
    rr.wr(IDT + 0x40 * 8 + 4, 4, rr.rd(IDT + 0x40 * 8 + 4) & ~0x8000);
  });
  const e = r.go();
  assert.deepEqual([e.reason, e.intrInfo, e.intrErr, e.idtInfo, e.len, e.rip - GUEST_CODE],
    [R.EXC_NMI, EXC(11, true), 0x40 * 8 + 2, (II.VALID | II.SWI | 0x40) >>> 0, 2, 3]);
});

test('#PF during delivery of an injected external interrupt (stack not present): IDT-vectoring = the interrupt', () => {
  const r = rig('nop\nhlt', {}, (rr) => {
    rr.w(F.GUEST_RSP, 0x9000 + 0x100); unmap(rr, 0x9000);
    rr.w(F.EXCEPTION_BITMAP, 1 << 14); rr.w(F.GUEST_RFLAGS, 0x202); inject(rr, II.VALID | II.EXT | 0x30);
  });
  const e = r.go();
  assert.deepEqual([e.reason, e.intrInfo, e.intrErr, e.qual, e.idtInfo, e.rip],
    [R.EXC_NMI, EXC(14, true), 2, 0x90fc, (II.VALID | II.EXT | 0x30) >>> 0, GUEST_CODE]);
});

test('a nested exception that exits is reported itself, not the #DF it would have formed (Vol3C 25.2)', () => {
  // #GP (bit 13) during delivery of a #NP: contributory + contributory would be #DF; #GP exits first.
  const r = rig('mov ax, 0x18\nmov ds, ax\nhlt', {}, (rr) => {
    rr.w(F.EXCEPTION_BITMAP, 1 << 13);
    rr.wr(0x10018 + 4, 4, 0x00cf1300); // GDT 18H: data segment, not present → #NP(18H)
    rr.wr(IDT + 11 * 8 + 4, 4, rr.rd(IDT + 11 * 8 + 4) & ~0x1f00); // gate 11: type 0 → #GP(11·8+2+1) delivering it
  });
  const e = r.go();
  assert.deepEqual([e.intrInfo, e.intrErr, e.idtInfo, e.idtErr], [EXC(13, true), 11 * 8 + 3, EXC(11, true), 0x18]);
});

test('triple fault in VMX non-root operation is a VM exit (reason 2), not a shutdown', () => {
  const r = rig('ud2', {}, (rr) => rr.w(F.GUEST_IDTR_LIMIT, 0));
  const e = r.go();
  assert.equal(e.reason, R.TRIPLE_FAULT);
  assert.equal(r.result?.end, 'hypervisor-halt', 'the machine did not report a triple fault of its own');
  void hex;
});
