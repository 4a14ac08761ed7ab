/** Conversions between the file store's binary operations/results and the LabApi's JSON forms. */
import type { FileOp, FileResult, FileStat } from '../app/file-ops.ts';
import type { LabFileStat, LabOp, LabResult } from './lab-api.ts';

export class BadOpError extends Error {
  override readonly name = 'BadOpError';
}

export function fileOpFromLab(op: LabOp): FileOp {
  switch (op.kind) {
    case 'write':
    case 'append': {
      if (op.text !== undefined && op.base64 !== undefined) throw new BadOpError('give text or base64, not both');
      const data =
        op.base64 !== undefined
          ? new Uint8Array(Buffer.from(op.base64, 'base64'))
          : new TextEncoder().encode(op.text ?? '');
      return { kind: op.kind, path: op.path, data };
    }
    case 'read':
    case 'delete':
    case 'stat':
      return { kind: op.kind, path: op.path };
    case 'list':
      return { kind: 'list', dir: op.dir };
    default:
      throw new BadOpError(`unknown operation ${JSON.stringify((op as { kind: unknown }).kind)}`);
  }
}

const stat = (s: FileStat): LabFileStat => ({
  path: s.path,
  size: s.size,
  version: s.version,
  modifiedSeq: s.modifiedSeq,
});
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function labResultFromFile(result: FileResult): LabResult {
  switch (result.kind) {
    case 'written':
    case 'stat':
      return { kind: result.kind, stat: stat(result.stat) };
    case 'data': {
      let text: string | null;
      try {
        text = strictUtf8.decode(result.data);
      } catch {
        text = null;
      }
      return { kind: 'data', stat: stat(result.stat), text, base64: Buffer.from(result.data).toString('base64') };
    }
    case 'deleted':
      return { kind: 'deleted', path: result.path };
    case 'revoked':
      return { kind: 'revoked', client: result.client };
    case 'listing':
      return { kind: 'listing', dir: result.dir, entries: result.entries.map(stat) };
    case 'error':
      return { kind: 'error', code: result.code, message: result.message };
  }
}
