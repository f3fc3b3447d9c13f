// The opcode table: one row per instruction form, for the i686 (16/32-bit) instruction set.
// It drives the decoder (ModRM presence, immediates), handler lookup (by name, see ops/index.ts),
// block building (which instructions end a decoded block) and generated tests.
//
// Row: KEY  MNEMONIC  OPERANDS  HANDLER  FLAGS
//   KEY       "8B" one-byte opcode; "0F22" two-byte; "80/3" ModRM.reg = 3 of a group;
//             "0F01/C1" a full ModRM byte (register form) of a group; "0FAE/E8-EF" a range of them;
//             "40-47" a register-in-opcode range; "66.0FC7/6" a form selected by a mandatory
//             prefix (66, F3 or F2: SDM Vol2 2.1.2; the prefix then has no other meaning).
//   OPERANDS  Intel SDM Appendix A notation: E/G (ModRM rm/reg), M (memory only), R (register only),
//             I (immediate; "Ibs" = sign-extended imm8), J (relative), O (moffs), A (far pointer),
//             S (segment register), C/D (control/debug register), F (x87 ModRM); sizes b w d v z p q a s.
//             Others (AL, eAX, CL, 1, DX, Xb, Yv...) are implicit and do not affect decoding.
//   HANDLER   the handler is `op_<KEY with / - . as _>_<HANDLER>` in ops/*.ts, except that a ModRM-byte
//             range is named after its first byte ("0FAE/E8-EF" → op_0FAE_E8_lfence); a handler whose
//             behaviour depends on operand size is looked up as `<name>16` / `<name>32` first.
//   FLAGS     B = ends a decoded block (control transfer or CPU mode/state change), L = LOCK allowed,
//             N = no 66/F2/F3 prefix allowed (SDM "NP" / "Use of Prefixes: causes #UD"): #UD with one.

export const OPCODE_TABLE = `
00      add       Eb,Gb     addEbGb     L
01      add       Ev,Gv     addEvGv     L
02      add       Gb,Eb     addGbEb     -
03      add       Gv,Ev     addGvEv     -
04      add       AL,Ib     addALIb     -
05      add       eAX,Iz    addeAXIz    -
06      push      ES        pushES      -
07      pop       ES        popES       B
08      or        Eb,Gb     orEbGb      L
09      or        Ev,Gv     orEvGv      L
0A      or        Gb,Eb     orGbEb      -
0B      or        Gv,Ev     orGvEv      -
0C      or        AL,Ib     orALIb      -
0D      or        eAX,Iz    oreAXIz     -
0E      push      CS        pushCS      -
10      adc       Eb,Gb     adcEbGb     L
11      adc       Ev,Gv     adcEvGv     L
12      adc       Gb,Eb     adcGbEb     -
13      adc       Gv,Ev     adcGvEv     -
14      adc       AL,Ib     adcALIb     -
15      adc       eAX,Iz    adceAXIz    -
16      push      SS        pushSS      -
17      pop       SS        popSS       B
18      sbb       Eb,Gb     sbbEbGb     L
19      sbb       Ev,Gv     sbbEvGv     L
1A      sbb       Gb,Eb     sbbGbEb     -
1B      sbb       Gv,Ev     sbbGvEv     -
1C      sbb       AL,Ib     sbbALIb     -
1D      sbb       eAX,Iz    sbbeAXIz    -
1E      push      DS        pushDS      -
1F      pop       DS        popDS       B
20      and       Eb,Gb     andEbGb     L
21      and       Ev,Gv     andEvGv     L
22      and       Gb,Eb     andGbEb     -
23      and       Gv,Ev     andGvEv     -
24      and       AL,Ib     andALIb     -
25      and       eAX,Iz    andeAXIz    -
27      daa       -         daa         -
28      sub       Eb,Gb     subEbGb     L
29      sub       Ev,Gv     subEvGv     L
2A      sub       Gb,Eb     subGbEb     -
2B      sub       Gv,Ev     subGvEv     -
2C      sub       AL,Ib     subALIb     -
2D      sub       eAX,Iz    subeAXIz    -
2F      das       -         das         -
30      xor       Eb,Gb     xorEbGb     L
31      xor       Ev,Gv     xorEvGv     L
32      xor       Gb,Eb     xorGbEb     -
33      xor       Gv,Ev     xorGvEv     -
34      xor       AL,Ib     xorALIb     -
35      xor       eAX,Iz    xoreAXIz    -
37      aaa       -         aaa         -
38      cmp       Eb,Gb     cmpEbGb     -
39      cmp       Ev,Gv     cmpEvGv     -
3A      cmp       Gb,Eb     cmpGbEb     -
3B      cmp       Gv,Ev     cmpGvEv     -
3C      cmp       AL,Ib     cmpALIb     -
3D      cmp       eAX,Iz    cmpeAXIz    -
3F      aas       -         aas         -
40-47   inc       Zv        incZv       -
48-4F   dec       Zv        decZv       -
50-57   push      Zv        pushZv      -
58-5F   pop       Zv        popZv       -
60      pusha     -         pusha       -
61      popa      -         popa        -
62      bound     Gv,Ma     boundGvMa   -
63      arpl      Ew,Gw     arplEwGw    -
68      push      Iz        pushIz      -
69      imul      Gv,Ev,Iz  imulGvEvIz  -
6A      push      Ibs       pushIbs     -
6B      imul      Gv,Ev,Ibs imulGvEvIbs -
6C      insb      Yb,DX     insb        -
6D      ins       Yz,DX     ins         -
6E      outsb     DX,Xb     outsb       -
6F      outs      DX,Xz     outs        -
70-7F   jcc       Jb        jccJb       B
80/0    add       Eb,Ib     addEbIb     L
80/1    or        Eb,Ib     orEbIb      L
80/2    adc       Eb,Ib     adcEbIb     L
80/3    sbb       Eb,Ib     sbbEbIb     L
80/4    and       Eb,Ib     andEbIb     L
80/5    sub       Eb,Ib     subEbIb     L
80/6    xor       Eb,Ib     xorEbIb     L
80/7    cmp       Eb,Ib     cmpEbIb     -
81/0    add       Ev,Iz     addEvIz     L
81/1    or        Ev,Iz     orEvIz      L
81/2    adc       Ev,Iz     adcEvIz     L
81/3    sbb       Ev,Iz     sbbEvIz     L
81/4    and       Ev,Iz     andEvIz     L
81/5    sub       Ev,Iz     subEvIz     L
81/6    xor       Ev,Iz     xorEvIz     L
81/7    cmp       Ev,Iz     cmpEvIz     -
82/0    add       Eb,Ib     addEbIb     L
82/1    or        Eb,Ib     orEbIb      L
82/2    adc       Eb,Ib     adcEbIb     L
82/3    sbb       Eb,Ib     sbbEbIb     L
82/4    and       Eb,Ib     andEbIb     L
82/5    sub       Eb,Ib     subEbIb     L
82/6    xor       Eb,Ib     xorEbIb     L
82/7    cmp       Eb,Ib     cmpEbIb     -
83/0    add       Ev,Ibs    addEvIbs    L
83/1    or        Ev,Ibs    orEvIbs     L
83/2    adc       Ev,Ibs    adcEvIbs    L
83/3    sbb       Ev,Ibs    sbbEvIbs    L
83/4    and       Ev,Ibs    andEvIbs    L
83/5    sub       Ev,Ibs    subEvIbs    L
83/6    xor       Ev,Ibs    xorEvIbs    L
83/7    cmp       Ev,Ibs    cmpEvIbs    -
84      test      Eb,Gb     testEbGb    -
85      test      Ev,Gv     testEvGv    -
86      xchg      Eb,Gb     xchgEbGb    L
87      xchg      Ev,Gv     xchgEvGv    L
88      mov       Eb,Gb     movEbGb     -
89      mov       Ev,Gv     movEvGv     -
8A      mov       Gb,Eb     movGbEb     -
8B      mov       Gv,Ev     movGvEv     -
8C      mov       Ev,Sw     movEvSw     -
8D      lea       Gv,M      leaGvM      -
8E      mov       Sw,Ew     movSwEw     B
8F/0    pop       Ev        popEv       -
90      nop       -         nop         -
91-97   xchg      Zv,eAX    xchgZveAX   -
98      cbw       -         cbw         -
99      cwd       -         cwd         -
9A      call      Ap        callfAp     B
9B      fwait     -         fwait       -
9C      pushf     -         pushf       -
9D      popf      -         popf        B
9E      sahf      -         sahf        -
9F      lahf      -         lahf        -
A0      mov       AL,Ob     movALOb     -
A1      mov       eAX,Ov    moveAXOv    -
A2      mov       Ob,AL     movObAL     -
A3      mov       Ov,eAX    movOveAX    -
A4      movsb     Yb,Xb     movsb       -
A5      movs      Yv,Xv     movs        -
A6      cmpsb     Xb,Yb     cmpsb       -
A7      cmps      Xv,Yv     cmps        -
A8      test      AL,Ib     testALIb    -
A9      test      eAX,Iz    testeAXIz   -
AA      stosb     Yb,AL     stosb       -
AB      stos      Yv,eAX    stos        -
AC      lodsb     AL,Xb     lodsb       -
AD      lods      eAX,Xv    lods        -
AE      scasb     AL,Yb     scasb       -
AF      scas      eAX,Yv    scas        -
B0-B7   mov       Zb,Ib     movZbIb     -
B8-BF   mov       Zv,Iv     movZvIv     -
C0/0    rol       Eb,Ib     rolEbIb     -
C0/1    ror       Eb,Ib     rorEbIb     -
C0/2    rcl       Eb,Ib     rclEbIb     -
C0/3    rcr       Eb,Ib     rcrEbIb     -
C0/4    shl       Eb,Ib     shlEbIb     -
C0/5    shr       Eb,Ib     shrEbIb     -
C0/6    sal       Eb,Ib     shlEbIb     -
C0/7    sar       Eb,Ib     sarEbIb     -
C1/0    rol       Ev,Ib     rolEvIb     -
C1/1    ror       Ev,Ib     rorEvIb     -
C1/2    rcl       Ev,Ib     rclEvIb     -
C1/3    rcr       Ev,Ib     rcrEvIb     -
C1/4    shl       Ev,Ib     shlEvIb     -
C1/5    shr       Ev,Ib     shrEvIb     -
C1/6    sal       Ev,Ib     shlEvIb     -
C1/7    sar       Ev,Ib     sarEvIb     -
C2      ret       Iw        retIw       B
C3      ret       -         ret         B
C4      les       Gv,Mp     lesGvMp     -
C5      lds       Gv,Mp     ldsGvMp     -
C6/0    mov       Eb,Ib     movEbIb     -
C7/0    mov       Ev,Iz     movEvIz     -
C8      enter     Iw,Ib     enter       -
C9      leave     -         leave       -
CA      retf      Iw        retfIw      B
CB      retf      -         retf        B
CC      int3      -         int3        B
CD      int       Ib        intIb       B
CE      into      -         into        B
CF      iret      -         iret        B
D0/0    rol       Eb,1      rolEb1      -
D0/1    ror       Eb,1      rorEb1      -
D0/2    rcl       Eb,1      rclEb1      -
D0/3    rcr       Eb,1      rcrEb1      -
D0/4    shl       Eb,1      shlEb1      -
D0/5    shr       Eb,1      shrEb1      -
D0/6    sal       Eb,1      shlEb1      -
D0/7    sar       Eb,1      sarEb1      -
D1/0    rol       Ev,1      rolEv1      -
D1/1    ror       Ev,1      rorEv1      -
D1/2    rcl       Ev,1      rclEv1      -
D1/3    rcr       Ev,1      rcrEv1      -
D1/4    shl       Ev,1      shlEv1      -
D1/5    shr       Ev,1      shrEv1      -
D1/6    sal       Ev,1      shlEv1      -
D1/7    sar       Ev,1      sarEv1      -
D2/0    rol       Eb,CL     rolEbCL     -
D2/1    ror       Eb,CL     rorEbCL     -
D2/2    rcl       Eb,CL     rclEbCL     -
D2/3    rcr       Eb,CL     rcrEbCL     -
D2/4    shl       Eb,CL     shlEbCL     -
D2/5    shr       Eb,CL     shrEbCL     -
D2/6    sal       Eb,CL     shlEbCL     -
D2/7    sar       Eb,CL     sarEbCL     -
D3/0    rol       Ev,CL     rolEvCL     -
D3/1    ror       Ev,CL     rorEvCL     -
D3/2    rcl       Ev,CL     rclEvCL     -
D3/3    rcr       Ev,CL     rcrEvCL     -
D3/4    shl       Ev,CL     shlEvCL     -
D3/5    shr       Ev,CL     shrEvCL     -
D3/6    sal       Ev,CL     shlEvCL     -
D3/7    sar       Ev,CL     sarEvCL     -
D4      aam       Ib        aam         -
D5      aad       Ib        aad         -
D6      salc      -         salc        -
D7      xlat      -         xlat        -
D8      x87       Fx        x87         -
D9      x87       Fx        x87         -
DA      x87       Fx        x87         -
DB      x87       Fx        x87         -
DC      x87       Fx        x87         -
DD      x87       Fx        x87         -
DE      x87       Fx        x87         -
DF      x87       Fx        x87         -
E0      loopne    Jb        loopne      B
E1      loope     Jb        loope       B
E2      loop      Jb        loop        B
E3      jecxz     Jb        jecxz       B
E4      in        AL,Ib     inALIb      B
E5      in        eAX,Ib    ineAXIb     B
E6      out       Ib,AL     outIbAL     B
E7      out       Ib,eAX    outIbeAX    B
E8      call      Jz        callJz      B
E9      jmp       Jz        jmpJz       B
EA      jmp       Ap        jmpfAp      B
EB      jmp       Jb        jmpJb       B
EC      in        AL,DX     inALDX      B
ED      in        eAX,DX    ineAXDX     B
EE      out       DX,AL     outDXAL     B
EF      out       DX,eAX    outDXeAX    B
F1      int1      -         int1        B
F4      hlt       -         hlt         B
F5      cmc       -         cmc         -
F6/0    test      Eb,Ib     testEbIb    -
F6/1    test      Eb,Ib     testEbIb    -
F6/2    not       Eb        notEb       L
F6/3    neg       Eb        negEb       L
F6/4    mul       Eb        mulEb       -
F6/5    imul      Eb        imulEb      -
F6/6    div       Eb        divEb       -
F6/7    idiv      Eb        idivEb      -
F7/0    test      Ev,Iz     testEvIz    -
F7/1    test      Ev,Iz     testEvIz    -
F7/2    not       Ev        notEv       L
F7/3    neg       Ev        negEv       L
F7/4    mul       Ev        mulEv       -
F7/5    imul      Ev        imulEv      -
F7/6    div       Ev        divEv       -
F7/7    idiv      Ev        idivEv      -
F8      clc       -         clc         -
F9      stc       -         stc         -
FA      cli       -         cli         -
FB      sti       -         sti         B
FC      cld       -         cld         -
FD      std       -         std         -
FE/0    inc       Eb        incEb       L
FE/1    dec       Eb        decEb       L
FF/0    inc       Ev        incEv       L
FF/1    dec       Ev        decEv       L
FF/2    call      Ev        callEv      B
FF/3    call      Mp        callfMp     B
FF/4    jmp       Ev        jmpEv       B
FF/5    jmp       Mp        jmpfMp      B
FF/6    push      Ev        pushEv      -
0F00/0  sldt      Ew        sldtEw      -
0F00/1  str       Ew        strEw       -
0F00/2  lldt      Ew        lldtEw      B
0F00/3  ltr       Ew        ltrEw       B
0F00/4  verr      Ew        verrEw      -
0F00/5  verw      Ew        verwEw      -
0F01/0  sgdt      Ms        sgdtMs      -
0F01/1  sidt      Ms        sidtMs      -
0F01/2  lgdt      Ms        lgdtMs      B
0F01/3  lidt      Ms        lidtMs      B
0F01/4  smsw      Ew        smswEw      -
0F01/6  lmsw      Ew        lmswEw      B
0F01/7  invlpg    Mb        invlpgMb    B
0F01/C1 vmcall    -         vmcall      BN
0F01/C2 vmlaunch  -         vmlaunch    BN
0F01/C3 vmresume  -         vmresume    BN
0F01/C4 vmxoff    -         vmxoff      BN
0F01/C8 monitor   -         monitor     BN
0F01/C9 mwait     -         mwait       BN
0F01/D0 xgetbv    -         xgetbv      N
0F01/D1 xsetbv    -         xsetbv      BN
0F02    lar       Gv,Ew     larGvEw     -
0F03    lsl       Gv,Ew     lslGvEw     -
0F06    clts      -         clts        B
0F08    invd      -         invd        -
0F09    wbinvd    -         wbinvd      -
0F0B    ud2       -         ud2         B
0F0D    nop       Ev        hintNop     -
0F18    nop       Ev        hintNop     -
0F19    nop       Ev        hintNop     -
0F1A    nop       Ev        hintNop     -
0F1B    nop       Ev        hintNop     -
0F1C    nop       Ev        hintNop     -
0F1D    nop       Ev        hintNop     -
0F1E    nop       Ev        hintNop     -
0F1F    nop       Ev        hintNop     -
0F20    mov       Rd,Cd     movRdCd     -
0F21    mov       Rd,Dd     movRdDd     -
0F22    mov       Cd,Rd     movCdRd     B
0F23    mov       Dd,Rd     movDdRd     B
0F30    wrmsr     -         wrmsr       B
0F31    rdtsc     -         rdtsc       -
0F32    rdmsr     -         rdmsr       -
0F33    rdpmc     -         rdpmc       -
0F34    sysenter  -         sysenter    B
0F35    sysexit   -         sysexit     B
0F40-4F cmovcc    Gv,Ev     cmovccGvEv  -
0F78    vmread    Ed,Gd     vmread      BN
0F79    vmwrite   Gd,Ed     vmwrite     BN
0F80-8F jcc       Jz        jccJz       B
0F90-9F setcc     Eb        setccEb     -
0FA0    push      FS        pushFS      -
0FA1    pop       FS        popFS       B
0FA2    cpuid     -         cpuid       B
0FA3    bt        Ev,Gv     btEvGv      -
0FA4    shld      Ev,Gv,Ib  shldEvGvIb  -
0FA5    shld      Ev,Gv,CL  shldEvGvCL  -
0FA8    push      GS        pushGS      -
0FA9    pop       GS        popGS       B
0FAA    rsm       -         rsm         B
0FAB    bts       Ev,Gv     btsEvGv     L
0FAC    shrd      Ev,Gv,Ib  shrdEvGvIb  -
0FAD    shrd      Ev,Gv,CL  shrdEvGvCL  -
0FAE/0  fxsave    M         fxsave      N
0FAE/1  fxrstor   M         fxrstor     N
0FAE/2  ldmxcsr   Md        ldmxcsr     N
0FAE/3  stmxcsr   Md        stmxcsr     N
0FAE/7  clflush   Mb        clflush     N
0FAE/E8-EF lfence  -         lfence      N
0FAE/F0-F7 mfence  -         mfence      N
0FAE/F8-FF sfence  -         sfence      N
0FAF    imul      Gv,Ev     imulGvEv    -
0FB0    cmpxchg   Eb,Gb     cmpxchgEbGb L
0FB1    cmpxchg   Ev,Gv     cmpxchgEvGv L
0FB2    lss       Gv,Mp     lssGvMp     B
0FB3    btr       Ev,Gv     btrEvGv     L
0FB4    lfs       Gv,Mp     lfsGvMp     -
0FB5    lgs       Gv,Mp     lgsGvMp     -
0FB6    movzx     Gv,Eb     movzxGvEb   -
0FB7    movzx     Gv,Ew     movzxGvEw   -
0FB9    ud1       Gv,Ev     ud1         B
0FBA/4  bt        Ev,Ib     btEvIb      -
0FBA/5  bts       Ev,Ib     btsEvIb     L
0FBA/6  btr       Ev,Ib     btrEvIb     L
0FBA/7  btc       Ev,Ib     btcEvIb     L
0FBB    btc       Ev,Gv     btcEvGv     L
0FBC    bsf       Gv,Ev     bsfGvEv     -
0FBD    bsr       Gv,Ev     bsrGvEv     -
0FBE    movsx     Gv,Eb     movsxGvEb   -
0FBF    movsx     Gv,Ew     movsxGvEw   -
0FC0    xadd      Eb,Gb     xaddEbGb    L
0FC1    xadd      Ev,Gv     xaddEvGv    L
0FC7/1  cmpxchg8b Mq        cmpxchg8b   L
0FC7/6  vmptrld   Mq        vmptrld     BN
66.0FC7/6 vmclear Mq        vmclear     B
F3.0FC7/6 vmxon   Mq        vmxon       B
0FC7/7  vmptrst   Mq        vmptrst     BN
0FC8-CF bswap     Zv        bswapZd     -
0FFF    ud0       Gv,Ev     ud0         B
`;

/**
 * x87 encodings that are reserved (#UD) on this CPU, for the Fx rows (which otherwise take every
 * ModRM byte): the empty cells of the escape-opcode maps, SDM Vol2 A.5.2 (Tables ), and
 * FISTTP (DB/DD/DF /1, an SSE3 instruction the i686 lacks). "Dx/r" is the memory form with
 * ModRM.reg = r, "Dx:lo-hi" register forms by ModRM byte. The undocumented aliases that processors
 * execute (FSTP1 D9 D8-DF, FXCH4 DD C8-CF, FFREEP DF C0-C7...) are left to the x87 handler.
 */
export const X87_RESERVED = 'D9/1 D9:D1-D7 D9:E2-E3 D9:E6-E7 D9:EF DA:E0-E8 DA:EA-FF DB/1 DB/4 DB/6 DB:E5-E7 DB:F8-FF ' +
  'DD/1 DD/5 DD:F0-FF DE:D8 DE:DA-DF DF/1 DF:E1-E7 DF:F8-FF';

/** X87_RESERVED as a map: index (opcode - 0xD8) * 72 + (memory form ? ModRM.reg : 8 + (ModRM & 0x3F)). */
export const X87_UD: Uint8Array = (() => {
  const ud = new Uint8Array(8 * 72);
  for (const item of X87_RESERVED.split(' ')) {
    const op = parseInt(item.slice(0, 2), 16) - 0xd8;
    if (item[2] === '/') ud[op * 72 + parseInt(item.slice(3), 10)] = 1;
    else {
      const [lo, hi] = item.slice(3).split('-').map((h) => parseInt(h, 16));
      for (let m = lo; m <= (hi ?? lo); m++) ud[op * 72 + 8 + (m & 0x3f)] = 1;
    }
  }
  return ud;
})();

export const enum OpFlag { EndsBlock = 1, Lockable = 2, NoPrefix = 4 }

/** One parsed row of the table. */
export interface OpDef {
  /** Opcode: 0x00-0xFF, or 0x0F00-0x0FFF for the two-byte map. */
  readonly opcode: number;
  /** Mandatory prefix selecting this form (0x66, 0xF3, 0xF2), or 0. */
  readonly prefix: number;
  /** ModRM.reg for group rows, -1 otherwise. */
  readonly groupReg: number;
  /** Full ModRM byte for register-form rows like 0F01/C1 (first of a range), -1 otherwise. */
  readonly modrmByte: number;
  /** Last ModRM byte of a register-form range (= modrmByte for a single byte). */
  readonly modrmLast: number;
  /** Valid ModRM.reg values (bit n = reg n): other values are #UD (Sreg 6/7, MOV to CS, CR1/5/6/7). */
  readonly regMask: number;
  readonly mnemonic: string;
  readonly operands: readonly string[];
  /** Base handler name, e.g. "op_0F22_movCdRd". */
  readonly handler: string;
  readonly flags: number;
  // Decoding facts derived from the operands:
  readonly hasModrm: boolean;
  /** Immediate kinds in order: 'b' (imm8), 'bs' (sign-extended imm8), 'w' (imm16), 'z' (16/32 by operand size), 'zs' (same, sign-extended), 'p' (far pointer offset+selector), 'o' (moffs, by address size). */
  readonly imms: readonly string[];
  readonly memOnly: boolean;
  readonly regOnly: boolean;
}

function parseRow(line: string): OpDef[] {
  const [key, mnemonic, ops, handlerName, flagStr] = line.trim().split(/\s+/);
  const operands = ops === '-' ? [] : ops.split(',');
  let flags = 0;
  if (flagStr.includes('B')) flags |= OpFlag.EndsBlock;
  if (flagStr.includes('L')) flags |= OpFlag.Lockable;
  if (flagStr.includes('N')) flags |= OpFlag.NoPrefix;
  const m = key.match(/^(?:(66|F3|F2)\.)?([0-9A-F]+)(?:-([0-9A-F]+))?(?:\/([0-7]|[0-9A-F]{2})(?:-([0-9A-F]{2}))?)?$/);
  if (m === null) throw new Error(`optable: bad key ${key}`);
  const [, pfx, opLo, opHi, sub, subHi] = m;
  const nameKey = subHi !== undefined ? key.slice(0, key.lastIndexOf('-')) : key;
  const handler = `op_${nameKey.replace(/[/.-]/g, '_')}_${handlerName}`;
  let groupReg = -1, modrmByte = -1, modrmLast = -1;
  if (sub !== undefined) {
    if (sub.length === 1) groupReg = parseInt(sub, 10);
    else { modrmByte = parseInt(sub, 16); modrmLast = subHi !== undefined ? parseInt(subHi, 16) : modrmByte; }
  }
  const imms: string[] = [];
  let hasModrm = groupReg >= 0 || modrmByte >= 0;
  let memOnly = false, regOnly = false, regMask = 0xff;
  for (const o of operands) {
    const k = o[0];
    if (o === 'AL' || o === 'eAX' || o === 'CL' || o === 'DX' || o === '1' || /^[XY]/.test(o) || /^[ECSDFG]S$/.test(o)) continue;
    if ('EGMRSCDF'.includes(k)) hasModrm = true;
    if (k === 'M') memOnly = true;
    if (k === 'R') regOnly = true;
    // Sreg 6/7 do not exist and MOV to CS is #UD (SDM Vol2 MOV); CR1, CR5-CR7 are reserved (MOV—Move to/from Control Registers).
    if (k === 'S') regMask &= o === operands[0] ? 0x3d : 0x3f;
    if (k === 'C') regMask &= 0x1d;
    if (k === 'I') imms.push(o === 'Ibs' ? 'bs' : o === 'Ib' ? 'b' : o === 'Iw' ? 'w' : 'z');
    if (k === 'J') imms.push(o === 'Jb' ? 'bs' : 'zs');
    if (k === 'O') imms.push('o');
    if (k === 'A') imms.push('p');
  }
  const prefix = pfx !== undefined ? parseInt(pfx, 16) : 0;
  const base = { prefix, mnemonic, operands, handler, flags, hasModrm, imms, memOnly, regOnly, groupReg, modrmByte, modrmLast, regMask };
  const lo = parseInt(opLo, 16);
  const hi = opHi !== undefined ? (lo & ~0xff) | parseInt(opHi, 16) : lo;
  const out: OpDef[] = [];
  for (let op = lo; op <= hi; op++) out.push({ ...base, opcode: op });
  return out;
}

/** All rows, parsed. */
export const OPDEFS: readonly OpDef[] = OPCODE_TABLE.split('\n').filter((l) => l.trim() !== '').flatMap(parseRow);
