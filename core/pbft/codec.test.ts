import { describe, it, expect } from 'vitest';
import {
  MAX_BATCH_REQUESTS,
  MAX_FRAME_BYTES,
  MAX_OP_BYTES,
  MAX_REPLICAS,
  CodecError,
  batchBytes,
  bytesToHex,
  decodeMessage,
  describe as describeMessage,
  encodeMessage,
  encodeMessageAfter,
  hexToBytes,
  requestBytes,
  signingBytes,
} from './codec.ts';
import type {
  Checkpoint,
  Commit,
  Batch,
  FetchBatch,
  FetchState,
  LogClaim,
  Status,
  Message,
  NewView,
  PrePrepare,
  Prepare,
  Reply,
  Request,
  StateChunk,
  ViewChange,
} from './messages.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures: a small cluster (n = 4, f = 1) in view 1.

const D1 = '3fa9c1' + '0123456789abcdef'.repeat(3) + '0badcafe0badcafe'.slice(0, 10);
const D2 = 'ab12cd' + 'f'.repeat(58);
const D3 = '00'.repeat(32);
const sigOf = (k: number) => Uint8Array.from({ length: 64 }, (_, i) => (k * 31 + i) & 0xff);
const macOf = (k: number) => Uint8Array.from({ length: 32 }, (_, i) => (k * 7 + i * 3) & 0xff);
const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

const request: Request = {
  type: 'request',
  client: 'client-1',
  timestamp: 5,
  readOnly: false,
  op: text('WRITE /notes.txt 0 hello!!'.slice(0, 24)),
  auth: [macOf(0), macOf(1), macOf(2), macOf(3)],
};
const readOnlyRequest: Request = {
  type: 'request',
  client: '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf',
  timestamp: Number.MAX_SAFE_INTEGER,
  readOnly: true,
  op: new Uint8Array(0),
  auth: [],
};
const unicodeRequest: Request = { ...request, client: 'élève-Ω-💡', timestamp: 128, op: new Uint8Array(300) };

const prePrepare: PrePrepare = {
  type: 'pre-prepare',
  view: 1,
  seq: 17,
  digest: D1,
  requests: [request, readOnlyRequest, unicodeRequest],
  replica: 1,
};
const nullPrePrepare: PrePrepare = { ...prePrepare, seq: 18, digest: D3, requests: [] };
const prepare = (replica: number): Prepare => ({
  type: 'prepare',
  view: 1,
  seq: 17,
  digest: D1,
  replica,
});
const commit: Commit = { type: 'commit', view: 1, seq: 17, digest: D1, replica: 3 };
const reply: Reply = {
  type: 'reply',
  view: 0,
  timestamp: 5,
  client: 'client-1',
  replica: 3,
  tentative: false,
  readOnly: false,
  result: text('ok 9 byte'),
};
const checkpoint = (replica: number): Checkpoint => ({
  type: 'checkpoint',
  seq: 128,
  stateDigest: D2,
  replica,
  sig: sigOf(20 + replica),
});
const viewChange = (replica: number): ViewChange => ({
  type: 'view-change',
  newView: 2,
  stableSeq: 128,
  checkpointProof: [checkpoint(0), checkpoint(1), checkpoint(3)],
  prepared: [
    { seq: 129, digest: D1, view: 1 },
    { seq: 130, digest: D3, view: 0 },
  ],
  prePrepared: [
    { seq: 129, digest: D1, view: 1 },
    { seq: 129, digest: D2, view: 0 },
    { seq: 130, digest: D3, view: 1 },
    { seq: 2 ** 40, digest: D2, view: 300 },
  ],
  replica,
  sig: sigOf(30 + replica),
});
const emptyViewChange: ViewChange = {
  type: 'view-change',
  newView: 1,
  stableSeq: 0,
  checkpointProof: [],
  prepared: [],
  prePrepared: [],
  replica: 0,
  sig: new Uint8Array(0),
};
const newView: NewView = {
  type: 'new-view',
  view: 2,
  viewChanges: [viewChange(0), viewChange(1), emptyViewChange],
  order: [
    { seq: 129, digest: D1 },
    { seq: 130, digest: D3 },
  ],
  replica: 2,
  sig: sigOf(2),
};
const emptyNewView: NewView = {
  type: 'new-view',
  view: 7,
  viewChanges: [],
  order: [],
  replica: 3,
  sig: sigOf(3),
};
const fetchBatch: FetchBatch = { type: 'fetch-batch', seq: 129, digest: D1, replica: 3 };
const batch: Batch = { type: 'batch', seq: 129, digest: D1, requests: prePrepare.requests, replica: 0 };
const fetchState: FetchState = { type: 'fetch-state', seq: 128, chunk: 0, replica: 1 };
const status: Status = {
  type: 'status',
  view: 3,
  normal: false,
  lastExecuted: 130,
  firstUncommitted: 129,
  stableSeq: 128,
  replica: 2,
};
const stateChunk: StateChunk = {
  type: 'state-chunk',
  seq: 128,
  stateDigest: D2,
  proof: [checkpoint(0), checkpoint(1), checkpoint(2)],
  chunk: 2,
  chunkCount: 5,
  data: Uint8Array.from({ length: 64 * 1024 }, (_, i) => i & 0xff),
  replica: 0,
};

const fixtures: readonly Message[] = [
  request,
  readOnlyRequest,
  unicodeRequest,
  prePrepare,
  nullPrePrepare,
  prepare(2),
  commit,
  reply,
  { ...reply, tentative: true, readOnly: true, result: new Uint8Array(0), client: 'c' },
  checkpoint(1),
  { ...checkpoint(1), sig: new Uint8Array(0) },
  viewChange(0),
  emptyViewChange,
  newView,
  emptyNewView,
  fetchState,
  fetchBatch,
  batch,
  { ...batch, requests: [] },
  status,
  { ...status, normal: true, view: 0, lastExecuted: 0, firstUncommitted: 1, stableSeq: 0 },
  stateChunk,
  { ...stateChunk, proof: [], chunk: 0, chunkCount: 1, data: new Uint8Array(0) },
];

// ---------------------------------------------------------------------------------------------
// Hand-built frames for the rejection cases (the encoder refuses to produce them).

function leb(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function frame(...parts: (number | readonly number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

const digestBytes = hexToBytes(D1);
/** Tag + view 1 + seq 17 + digest of a prepare or commit: the fields before the replica. */
const prepareHead = frame(0x03, 0x01, 0x11, digestBytes);

function expectRejected(bytes: Uint8Array, reason: string | RegExp): void {
  const result = decodeMessage(bytes);
  expect(result.ok).toBe(false);
  if (!result.ok) {
    if (typeof reason === 'string') expect(result.reason).toBe(reason);
    else expect(result.reason).toMatch(reason);
  }
}

function expectAccepted(bytes: Uint8Array): Message {
  const result = decodeMessage(bytes);
  if (!result.ok) throw new Error(`rejected: ${result.reason}`);
  return result.message;
}

// ---------------------------------------------------------------------------------------------

describe('round trip', () => {
  it.each(fixtures.map((m) => [describeMessage(m), m] as const))('%s', (_, m) => {
    const bytes = encodeMessage(m);
    const decoded = expectAccepted(bytes);
    expect(decoded).toEqual(m);
    expect(encodeMessage(decoded)).toEqual(bytes);
  });

  it('pins the wire layout of a PREPARE (changing it breaks every deployed replica)', () => {
    expect(bytesToHex(encodeMessage(prepare(2)))).toBe(`030111${D1}02`);
    expect(bytesToHex(encodeMessage({ ...prepare(2), view: 300 }))).toBe(`03ac0211${D1}02`);
  });

  it('pins the wire layout of a VIEW-CHANGE claim: seq, digest, view', () => {
    const vc = { ...emptyViewChange, prepared: [{ seq: 3, digest: D1, view: 300 }] };
    expect(bytesToHex(encodeMessage(vc))).toBe(`0701000001` + `03${D1}ac02` + `00` + `00` + `00`);
  });

  it('encodes numbers up to Number.MAX_SAFE_INTEGER as minimal LEB128', () => {
    for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 49, Number.MAX_SAFE_INTEGER]) {
      const bytes = encodeMessage({ ...commit, seq: n });
      expect(Array.from(bytes.subarray(2, 2 + leb(n).length))).toEqual(leb(n));
      expect(expectAccepted(bytes)).toEqual({ ...commit, seq: n });
    }
  });

  it('decodes byte fields as views into the input, as documented', () => {
    const bytes = encodeMessage(request);
    const decoded = expectAccepted(bytes) as Request;
    expect(decoded.op.buffer).toBe(bytes.buffer);
    expect(decoded.auth[0]!.buffer).toBe(bytes.buffer);
  });

  it('decodes a frame that is a view into a larger buffer', () => {
    const bytes = encodeMessage(prePrepare);
    const big = new Uint8Array(bytes.length + 20);
    big.set(bytes, 7);
    expect(expectAccepted(big.subarray(7, 7 + bytes.length))).toEqual(prePrepare);
  });
});

describe('signing bytes, request bytes and batch bytes', () => {
  const signed = [request, checkpoint(1), viewChange(3), newView] as const;

  it.each(signed.map((m) => [m.type, m] as const))(
    '%s: signing bytes are the encoding without the trailing sig/auth',
    (_, m) => {
      const full = encodeMessage(m);
      const signing = signingBytes(m);
      expect(signing.length).toBeLessThan(full.length);
      expect(full.subarray(0, signing.length)).toEqual(signing);
      const unsigned = m.type === 'request' ? { ...m, auth: [] } : { ...m, sig: new Uint8Array(0) };
      expect(signingBytes(unsigned)).toEqual(signing);
    },
  );

  it('signing bytes of a request are its request bytes, which leave the authenticator out', () => {
    expect(signingBytes(request)).toEqual(requestBytes(request));
    expect(requestBytes({ ...request, auth: [macOf(9)] })).toEqual(requestBytes(request));
    expect(requestBytes({ ...request, timestamp: 6 })).not.toEqual(requestBytes(request));
  });

  it('signing bytes of relayed proofs cover the nested signatures', () => {
    const forged = {
      ...viewChange(0),
      checkpointProof: [checkpoint(0), checkpoint(1), { ...checkpoint(3), sig: sigOf(99) }],
    };
    expect(signingBytes(forged)).not.toEqual(signingBytes(viewChange(0)));
  });

  it('batch bytes are the batch inside the pre-prepare encoding, authenticators included', () => {
    const full = encodeMessage(prePrepare);
    const batch = batchBytes(prePrepare.requests);
    const start = 3 + 32; // tag, view 1, seq 17, digest
    expect(full.subarray(start, start + batch.length)).toEqual(batch);
    const reMacd = [{ ...request, auth: [macOf(0), macOf(1), macOf(2), macOf(9)] }, readOnlyRequest, unicodeRequest];
    expect(batchBytes(reMacd)).not.toEqual(batch);
    expect(Array.from(batchBytes([]))).toEqual([0]);
  });
});

describe('encodings reused on the hot path', () => {
  it('a decoded request encodes, and gives request bytes, exactly as a fresh copy of it would', () => {
    const decoded = expectAccepted(encodeMessage(prePrepare)) as PrePrepare;
    for (const [i, r] of decoded.requests.entries()) {
      const fresh = { ...r, op: r.op.slice(), auth: r.auth.map((m) => m.slice()) };
      expect(requestBytes(r)).toEqual(requestBytes(fresh));
      expect(encodeMessage(r)).toEqual(encodeMessage(prePrepare.requests[i]!));
    }
    expect(batchBytes(decoded.requests)).toEqual(batchBytes(prePrepare.requests));
  });

  it('encodeMessageAfter puts one byte before the canonical encoding', () => {
    expect(Array.from(encodeMessageAfter(0x04, reply))).toEqual([0x04, ...encodeMessage(reply)]);
  });
});

describe('hex', () => {
  it('round-trips and is lowercase', () => {
    const b = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(bytesToHex(b)).toMatch(/^[0-9a-f]{512}$/);
    expect(hexToBytes(bytesToHex(b))).toEqual(b);
    expect(bytesToHex(hexToBytes(D1))).toBe(D1);
  });

  it('rejects odd lengths, uppercase and non-hex', () => {
    for (const bad of ['abc', 'AB', 'zz', '0g', ' 0']) expect(() => hexToBytes(bad)).toThrow(CodecError);
  });
});

describe('strict decoding: each rejection class', () => {
  it('rejects empty, oversized and unknown frames', () => {
    expectRejected(new Uint8Array(0), 'empty frame');
    expectRejected(
      new Uint8Array(MAX_FRAME_BYTES + 1),
      `frame too large: ${MAX_FRAME_BYTES + 1} > ${MAX_FRAME_BYTES} bytes`,
    );
    expectRejected(frame(0x4f, 1, 2, 3), 'unknown message tag 0x4f');
    expectRejected(frame(0x00), 'unknown message tag 0x00');
    expectRejected('not bytes' as unknown as Uint8Array, 'not a Uint8Array');
  });

  it('rejects trailing bytes', () => {
    const bytes = encodeMessage(prepare(2));
    expectRejected(frame(bytes, 0), `1 trailing bytes after prepare at byte ${bytes.length}`);
  });

  it('rejects every truncation, naming the message being read', () => {
    const bytes = encodeMessage(prePrepare);
    for (let n = 1; n < bytes.length; n++)
      expectRejected(bytes.subarray(0, n), /^truncated (pre-prepare|request) at byte \d+$/);
    expectRejected(bytes.subarray(0, 17), 'truncated pre-prepare at byte 3');
    expectRejected(bytes.subarray(0, 40), 'truncated request at byte 37');
  });

  it('rejects lengths beyond the remaining input', () => {
    // A request whose op claims 1000 bytes but 10 follow.
    expectRejected(frame(0x01, 1, 0x63, 5, 0, leb(1000), new Uint8Array(10)), 'truncated request at byte 5');
    // A pre-prepare claiming 900 requests in 3 bytes.
    expectRejected(frame(0x02, 1, 1, digestBytes, leb(900), 1, 2, 3), 'truncated pre-prepare at byte 35');
  });

  it('rejects non-minimal varints', () => {
    expectRejected(frame(0x03, 0x81, 0x00, 0x11, digestBytes, 2, 0), 'non-minimal varint in prepare at byte 1');
    expectRejected(frame(0x03, 0x80, 0x80, 0x00, 0x11, digestBytes, 2, 0), 'non-minimal varint in prepare at byte 1');
    expectRejected(frame(0x03, 0x01, 0x91, 0x00, digestBytes, 2, 0), 'non-minimal varint in prepare at byte 2');
  });

  it('rejects numbers above Number.MAX_SAFE_INTEGER', () => {
    const maxSafe = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f];
    expect(expectAccepted(frame(0x04, maxSafe, 0x11, digestBytes, 2))).toMatchObject({ view: Number.MAX_SAFE_INTEGER });
    const twoTo53 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    expectRejected(frame(0x04, twoTo53, 0x11, digestBytes, 2), 'number too large (> 2^53-1) in commit at byte 1');
    const nineBytes = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
    expectRejected(frame(0x04, nineBytes, 0x11, digestBytes, 2), 'number too large (> 2^53-1) in commit at byte 1');
  });

  it('rejects booleans other than 0 and 1', () => {
    expectRejected(frame(0x01, 1, 0x63, 5, 2, 0, 0), 'invalid boolean 0x02 in request at byte 4');
    expectRejected(frame(0x05, 0, 5, 1, 0x63, 3, 0xff, 0), 'invalid boolean 0xff in reply at byte 6');
  });

  it('rejects replica ids at or above MAX_REPLICAS', () => {
    expect(expectAccepted(frame(prepareHead, leb(MAX_REPLICAS - 1)))).toMatchObject({ replica: 255 });
    expectRejected(frame(prepareHead, leb(MAX_REPLICAS)), 'replica id too large: 256 >= 256 in prepare at byte 35');
  });

  it('rejects a nested message of the wrong type', () => {
    const asRequest = encodeMessage(prepare(2));
    expectRejected(
      frame(0x02, 1, 0x11, digestBytes, 1, asRequest, 1, 0),
      'expected request, got prepare (tag 0x03) in pre-prepare at byte 36',
    );
    const vc = encodeMessage({ ...emptyViewChange, checkpointProof: [checkpoint(0)] });
    vc[4] = 0x4f; // the nested checkpoint's tag
    expectRejected(vc, 'expected checkpoint, got tag 0x4f in view-change at byte 4');
    const nv = encodeMessage({ ...emptyNewView, viewChanges: [emptyViewChange] });
    nv[3] = 0x08;
    expectRejected(nv, 'expected view-change, got new-view (tag 0x08) in new-view at byte 3');
  });

  it('rejects an op above MAX_OP_BYTES', () => {
    const op = new Uint8Array(70000);
    expectRejected(
      frame(0x01, 1, 0x63, 5, 0, leb(op.length), op, 0),
      'op too large: 70000 > 65536 bytes in request at byte 5',
    );
    expect(
      expectAccepted(frame(0x01, 1, 0x63, 5, 0, leb(MAX_OP_BYTES), new Uint8Array(MAX_OP_BYTES), 0)),
    ).toMatchObject({
      type: 'request',
    });
  });

  it('rejects more than MAX_BATCH_REQUESTS requests, MAX_REPLICAS authenticator entries or proofs, and long MACs', () => {
    expectRejected(
      frame(0x02, 1, 1, digestBytes, leb(MAX_BATCH_REQUESTS + 1)),
      'too many requests: 1025 > 1024 in pre-prepare at byte 35',
    );
    expectRejected(
      frame(0x01, 1, 0x63, 5, 0, 0, leb(257)),
      'too many authenticator entries: 257 > 256 in request at byte 6',
    );
    expectRejected(
      frame(0x01, 1, 0x63, 5, 0, 0, 1, 65, new Uint8Array(65)),
      'MAC too large: 65 > 64 bytes in request at byte 7',
    );
    expectRejected(frame(0x07, 2, 0, leb(257)), 'too many checkpoints: 257 > 256 in view-change at byte 3');
    expectRejected(frame(0x08, 2, leb(300)), 'too many view-changes: 300 > 256 in new-view at byte 2');
  });

  it('rejects signatures that are neither empty nor 64 bytes', () => {
    const checkpointHead = frame(0x06, 0x01, digestBytes, 2);
    expectRejected(
      frame(checkpointHead, 12, new Uint8Array(12)),
      'signature length 12 (must be 0 or 64) in checkpoint at byte 35',
    );
    expectRejected(
      frame(checkpointHead, 65, new Uint8Array(65)),
      'signature length 65 (must be 0 or 64) in checkpoint at byte 35',
    );
  });

  it('rejects a PREPARE that still carries a signature (the normal case is unsigned)', () => {
    expectRejected(frame(prepareHead, 2, 0), '1 trailing bytes after prepare at byte 36');
  });

  it('rejects empty, long and invalid UTF-8 client ids', () => {
    const withClient = (c: readonly number[]) => frame(0x01, leb(c.length), c, 5, 0, 0, 0);
    expectRejected(withClient([]), 'empty client id in request at byte 1');
    expectRejected(withClient(new Array(129).fill(0x61)), 'client id too long: 129 > 128 bytes in request at byte 1');
    expect(expectAccepted(withClient(new Array(128).fill(0x61)))).toMatchObject({ client: 'a'.repeat(128) });
    for (const bad of [
      [0xc0, 0x80], // overlong NUL
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // UTF-16 surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xf5, 0x80, 0x80, 0x80],
      [0xe2, 0x82], // cut short
      [0x80], // lone continuation byte
      [0x61, 0xe2, 0x28, 0xa1],
    ]) {
      expectRejected(withClient(bad), 'invalid UTF-8 in client id in request at byte 2');
    }
  });

  it('decodes a repeated client id to the same string, and every other id to its own (the id cache)', () => {
    const withClient = (c: readonly number[]) => frame(0x01, leb(c.length), c, 5, 0, 0, 0);
    const id = [...new TextEncoder().encode('12D3KooWExample/7')];
    const first = expectAccepted(withClient(id)) as { client: string };
    const again = expectAccepted(withClient(id)) as { client: string };
    expect(again.client).toBe(first.client);
    // One byte different, or one byte shorter: not the cached id.
    expect(expectAccepted(withClient([...id.slice(0, -1), 0x38]))).toMatchObject({ client: '12D3KooWExample/8' });
    expect(expectAccepted(withClient(id.slice(0, -1)))).toMatchObject({ client: '12D3KooWExample/' });
    // More ids than the cache holds: each still decodes to itself, and invalid bytes stay invalid.
    for (let j = 0; j < 10_000; j++) {
      const bytes = [...new TextEncoder().encode(`peer/${j}`)];
      expect((expectAccepted(withClient(bytes)) as { client: string }).client).toBe(`peer/${j}`);
    }
    expectRejected(withClient([0x61, 0xe2, 0x28, 0xa1]), 'invalid UTF-8 in client id in request at byte 2');
  });

  it('rejects a state chunk index at or beyond its chunk count', () => {
    const chunk = (index: number, count: number) => frame(0x0a, 1, digestBytes, 0, index, count, 0, 0);
    expect(expectAccepted(chunk(4, 5))).toMatchObject({ chunk: 4, chunkCount: 5 });
    expectRejected(chunk(5, 5), 'chunk 5 out of range: chunkCount 5 in state-chunk at byte 36');
    expectRejected(chunk(0, 0), 'chunk 0 out of range: chunkCount 0 in state-chunk at byte 36');
  });
});

describe('encoding refuses messages it could not decode', () => {
  const cases: [string, Message][] = [
    ['negative view', { ...prepare(1), view: -1 }],
    ['fractional seq', { ...commit, seq: 1.5 }],
    ['unsafe timestamp', { ...request, timestamp: 2 ** 53 }],
    ['NaN', { ...commit, view: NaN }],
    ['uppercase digest', { ...commit, digest: D1.toUpperCase() }],
    ['short digest', { ...commit, digest: 'abc' }],
    ['replica 256', { ...commit, replica: MAX_REPLICAS }],
    ['empty client', { ...request, client: '' }],
    ['long client', { ...request, client: 'é'.repeat(65) }],
    ['lone surrogate', { ...request, client: 'a\ud800b' }],
    ['big op', { ...request, op: new Uint8Array(MAX_OP_BYTES + 1) }],
    ['257 MACs', { ...request, auth: new Array<Uint8Array>(257).fill(macOf(0)) }],
    ['long MAC', { ...request, auth: [new Uint8Array(65)] }],
    ['1025 requests', { ...prePrepare, requests: new Array<Request>(1025).fill(readOnlyRequest) }],
    ['10-byte sig', { ...checkpoint(1), sig: new Uint8Array(10) }],
    ['claim with a bad digest', { ...emptyViewChange, prePrepared: [{ seq: 1, digest: 'x', view: 0 }] }],
    ['chunk out of range', { ...stateChunk, chunk: 5 }],
    ['non-boolean', { ...request, readOnly: 1 as unknown as boolean }],
    ['frame too large', { ...reply, result: new Uint8Array(MAX_FRAME_BYTES) }],
  ];
  it.each(cases)('%s', (_, m) => {
    expect(() => encodeMessage(m)).toThrow(CodecError);
  });

  it('still encodes after a refusal (the shared buffer is reset)', () => {
    expect(() => encodeMessage({ ...reply, result: new Uint8Array(MAX_FRAME_BYTES) })).toThrow(/too large/);
    expect(expectAccepted(encodeMessage(prePrepare))).toEqual(prePrepare);
  });
});

describe('describe', () => {
  it('gives one line per message type', () => {
    expect(describeMessage(prePrepare)).toBe('PRE-PREPARE v=1 n=17 d=3fa9c1 batch=3 from 1');
    expect(describeMessage(prepare(2))).toBe('PREPARE v=1 n=17 d=3fa9c1 from 2');
    expect(describeMessage(commit)).toBe('COMMIT v=1 n=17 d=3fa9c1 from 3');
    expect(describeMessage(request)).toBe('REQUEST c=client-1 t=5 op=24B');
    expect(describeMessage({ ...request, readOnly: true, op: new Uint8Array(70000) })).toBe(
      'REQUEST c=client-1 t=5 op=68.4KiB read-only',
    );
    expect(describeMessage(unicodeRequest)).toBe('REQUEST c="élève-Ω-💡" t=128 op=300B');
    expect(describeMessage({ ...request, client: 'evil\nCOMMIT' })).toBe('REQUEST c="evil\\nCOMMIT" t=5 op=24B');
    expect(describeMessage(reply)).toBe('REPLY v=0 t=5 c=client-1 from 3 r=9B');
    expect(describeMessage(viewChange(0))).toBe('VIEW-CHANGE v=2 n=128 C=3 P=2 Q=4 from 0');
    expect(describeMessage(newView)).toBe('NEW-VIEW v=2 V=3 O=2 from 2');
    expect(describeMessage(fetchBatch)).toBe('FETCH-BATCH n=129 d=3fa9c1 from 3');
    expect(describeMessage(batch)).toBe('BATCH n=129 d=3fa9c1 batch=3 from 0');
    expect(describeMessage(checkpoint(1))).toBe('CHECKPOINT n=128 d=ab12cd from 1');
    expect(describeMessage(fetchState)).toBe('FETCH-STATE n=128 chunk=0 from 1');
    expect(describeMessage(status)).toBe('STATUS v=3 view-change exec=130 h=128 from 2');
    expect(describeMessage(stateChunk)).toBe('STATE-CHUNK n=128 2/5 64KiB from 0');
    expect(describeMessage({ ...stateChunk, data: new Uint8Array(3 * 1024 * 1024) })).toBe(
      'STATE-CHUNK n=128 2/5 3MiB from 0',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Seeded fuzzing. Reproduce a failure with CODEC_FUZZ_SEED=<seed> npx vitest run core/pbft/codec.test.ts

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const envSeed = Number(process.env['CODEC_FUZZ_SEED']);
const SEED = Number.isInteger(envSeed) ? envSeed : 0x5eed_c0de;

class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(maxLength: number): Uint8Array {
    const out = new Uint8Array(this.int(maxLength + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }
  uint(): number {
    switch (this.int(4)) {
      case 0:
        return this.pick([0, 1, 127, 128, 16383, 16384, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]);
      case 1:
        return this.int(128);
      case 2:
        return this.int(1_000_000);
      default:
        return this.int(2 ** 31) * 2 ** this.int(23) + this.int(2);
    }
  }
  digest(): string {
    return bytesToHex(Uint8Array.from({ length: 32 }, () => this.int(256)));
  }
  client(): string {
    const alphabet = ['a', 'z', '0', '-', '/', 'é', 'Ω', '💡', '\u0000', '\uffff', '\u{10ffff}', ' '];
    let s = this.pick(['client-', 'c', '12D3KooW']);
    for (let i = this.int(20); i > 0; i--) s += this.pick(alphabet);
    return s;
  }
  sig(): Uint8Array {
    return this.int(2) === 0 ? new Uint8Array(0) : Uint8Array.from({ length: 64 }, () => this.int(256));
  }
  list<T>(max: number, item: () => T): T[] {
    return Array.from({ length: this.int(max + 1) }, item);
  }
  replica(): number {
    return this.int(2) === 0 ? this.int(4) : this.int(MAX_REPLICAS);
  }

  request(): Request {
    return {
      type: 'request',
      client: this.client(),
      timestamp: this.uint(),
      readOnly: this.int(2) === 1,
      op: this.bytes(40),
      auth: this.list(4, () => this.bytes(64)),
    };
  }
  prePrepare(): PrePrepare {
    const requests = this.list(3, () => this.request());
    return {
      type: 'pre-prepare',
      view: this.uint(),
      seq: this.uint(),
      digest: this.digest(),
      requests,
      replica: this.replica(),
    };
  }
  prepare(): Prepare {
    return {
      type: 'prepare',
      view: this.uint(),
      seq: this.uint(),
      digest: this.digest(),
      replica: this.replica(),
    };
  }
  claim(): LogClaim {
    return { seq: this.uint(), digest: this.digest(), view: this.uint() };
  }
  checkpoint(): Checkpoint {
    return {
      type: 'checkpoint',
      seq: this.uint(),
      stateDigest: this.digest(),
      replica: this.replica(),
      sig: this.sig(),
    };
  }
  viewChange(): ViewChange {
    return {
      type: 'view-change',
      newView: this.uint(),
      stableSeq: this.uint(),
      checkpointProof: this.list(3, () => this.checkpoint()),
      prepared: this.list(3, () => this.claim()),
      prePrepared: this.list(3, () => this.claim()),
      replica: this.replica(),
      sig: this.sig(),
    };
  }
  message(): Message {
    switch (this.int(13)) {
      case 0:
        return this.request();
      case 1:
        return this.prePrepare();
      case 2:
        return this.prepare();
      case 3:
        return { type: 'commit', view: this.uint(), seq: this.uint(), digest: this.digest(), replica: this.replica() };
      case 4:
        return {
          type: 'reply',
          view: this.uint(),
          timestamp: this.uint(),
          client: this.client(),
          replica: this.replica(),
          tentative: this.int(2) === 1,
          readOnly: this.int(2) === 1,
          result: this.bytes(50),
        };
      case 5:
        return this.checkpoint();
      case 6:
        return this.viewChange();
      case 7:
        return {
          type: 'new-view',
          view: this.uint(),
          viewChanges: this.list(2, () => this.viewChange()),
          order: this.list(3, () => ({ seq: this.uint(), digest: this.digest() })),
          replica: this.replica(),
          sig: this.sig(),
        };
      case 8:
        return { type: 'fetch-state', seq: this.uint(), chunk: this.uint(), replica: this.replica() };
      case 10:
        return { type: 'fetch-batch', seq: this.uint(), digest: this.digest(), replica: this.replica() };
      case 11:
        return {
          type: 'batch',
          seq: this.uint(),
          digest: this.digest(),
          requests: this.list(3, () => this.request()),
          replica: this.replica(),
        };
      case 9:
        return {
          type: 'status',
          view: this.uint(),
          normal: this.int(2) === 1,
          lastExecuted: this.uint(),
          firstUncommitted: this.uint(),
          stableSeq: this.uint(),
          replica: this.replica(),
        };
      default: {
        const chunkCount = 1 + this.int(10);
        return {
          type: 'state-chunk',
          seq: this.uint(),
          stateDigest: this.digest(),
          proof: this.list(3, () => this.checkpoint()),
          chunk: this.int(chunkCount),
          chunkCount,
          data: this.bytes(100),
          replica: this.replica(),
        };
      }
    }
  }

  /** One random edit of a valid encoding: flip, overwrite, insert, delete, truncate or extend. */
  mutate(valid: Uint8Array): Uint8Array {
    const b = Array.from(valid);
    for (let edits = 1 + this.int(3); edits > 0; edits--) {
      const at = this.int(b.length + 1);
      switch (this.int(6)) {
        case 0:
          if (at < b.length) b[at] = b[at]! ^ (1 << this.int(8));
          break;
        case 1:
          if (at < b.length) b[at] = this.pick([0x00, 0x01, 0x02, 0x40, 0x7f, 0x80, 0xff, this.int(256)]);
          break;
        case 2:
          b.splice(at, 0, this.int(256));
          break;
        case 3:
          b.splice(at, 1 + this.int(4));
          break;
        case 4:
          b.length = at;
          break;
        default:
          b.push(...this.bytes(4));
      }
    }
    return Uint8Array.from(b);
  }
}

/** Decode `bytes` and check the codec's two promises: no bug escapes, and acceptance is canonical. */
function checkDecode(bytes: Uint8Array, context: string): boolean {
  const result = decodeMessage(bytes);
  if (!result.ok) {
    expect(result.reason, context).not.toMatch(/^decoder error/);
    return false;
  }
  expect(bytesToHex(encodeMessage(result.message)), context).toBe(bytesToHex(bytes));
  return true;
}

describe(`seeded fuzzing (seed=${SEED})`, () => {
  it('round-trips 3,000 random valid messages of every type', () => {
    const gen = new Gen(SEED);
    for (let i = 0; i < 3000; i++) {
      const m = gen.message();
      const context = `seed=${SEED} message #${i}: ${describeMessage(m)}`;
      const bytes = encodeMessage(m);
      const result = decodeMessage(bytes);
      expect(result, context).toEqual({ ok: true, message: m });
    }
  });

  it('never throws on 20,000 random byte strings and accepts only canonical ones', () => {
    const gen = new Gen(SEED + 1);
    for (let i = 0; i < 20_000; i++) {
      // Mostly a real tag first, so the fuzz gets past the tag check.
      const body = gen.bytes(gen.pick([4, 40, 200]));
      const bytes = gen.int(8) === 0 ? body : frame(1 + gen.int(10), body);
      checkDecode(bytes, `seed=${SEED} random #${i}: ${bytesToHex(bytes)}`);
    }
  });

  it('never throws on 20,000 mutations and truncations of valid encodings; accepted ones re-encode identically', () => {
    const gen = new Gen(SEED + 2);
    const valid = [
      ...fixtures.filter((m) => m.type !== 'state-chunk'),
      ...Array.from({ length: 200 }, () => gen.message()),
    ].map(encodeMessage);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = gen.mutate(gen.pick(valid));
      if (checkDecode(bytes, `seed=${SEED} mutation #${i}: ${bytesToHex(bytes)}`)) accepted++;
    }
    // The mutations must also reach the accepting paths, or the canonical check above is idle.
    expect(accepted, `seed=${SEED}`).toBeGreaterThan(500);
  });

  it('decodes client ids exactly like a strict UTF-8 decoder (differential, 20,000 cases)', () => {
    const gen = new Gen(SEED + 3);
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const lead = [0x61, 0x7f, 0x80, 0xbf, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    const cont = [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0];
    for (let i = 0; i < 20_000; i++) {
      const id = Array.from({ length: 1 + gen.int(6) }, () => (gen.int(2) === 0 ? gen.pick(lead) : gen.pick(cont)));
      const bytes = frame(0x01, id.length, id, 5, 0, 0, 0);
      let expected: string | undefined;
      try {
        expected = strict.decode(Uint8Array.from(id));
      } catch {
        expected = undefined;
      }
      const result = decodeMessage(bytes);
      const context = `seed=${SEED} client bytes ${bytesToHex(Uint8Array.from(id))}`;
      expect(result.ok ? (result.message as Request).client : undefined, context).toBe(expected);
      if (expected !== undefined)
        expect(requestBytes({ ...request, client: expected }).subarray(1, 2 + id.length)).toEqual(frame(id.length, id));
    }
  });
});
