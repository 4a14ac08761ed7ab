/**
 * The Client panel's pure parts: turning the form into a LabOp, and a submitted operation's outcome
 * into what a student reads — the result, and how many replicas matched against the f+1 a client
 * needs before it accepts a result (§4.1).
 */
import type { LabOp, LabResult } from '../../../core/host/lab-api.ts';

export type OpKind = LabOp['kind'];

export const OP_KINDS: readonly OpKind[] = ['write', 'append', 'read', 'delete', 'list', 'stat'];

export interface OpForm {
  readonly kind: OpKind;
  /** A file path, or for `list` the directory. */
  readonly path: string;
  /** The contents for write and append. */
  readonly text: string;
}

export type BuiltOp = { readonly ok: true; readonly op: LabOp } | { readonly ok: false; readonly reason: string };

/** Operations that change the file system (the file browser refreshes after them). */
export function isMutating(kind: OpKind): boolean {
  return kind === 'write' || kind === 'append' || kind === 'delete';
}

export function needsText(kind: OpKind): boolean {
  return kind === 'write' || kind === 'append';
}

/** The form as an operation. The store checks paths itself (BAD_PATH); here only what the form must have. */
export function buildOp(form: OpForm): BuiltOp {
  const path = form.path.trim();
  if (form.kind === 'list') return { ok: true, op: { kind: 'list', dir: path === '' ? '/' : path } };
  if (!path.startsWith('/')) return { ok: false, reason: 'a path starts with / (for example /notes.txt)' };
  if (needsText(form.kind)) return { ok: true, op: { kind: form.kind as 'write' | 'append', path, text: form.text } };
  return { ok: true, op: { kind: form.kind as 'read' | 'delete' | 'stat', path } };
}

export function describeOp(op: LabOp): string {
  if (op.kind === 'list') return `list ${op.dir}`;
  if (op.kind === 'write' || op.kind === 'append') return `${op.kind} ${op.path} (${(op.text ?? '').length} chars)`;
  return `${op.kind} ${op.path}`;
}

export function describeResult(result: LabResult): string {
  switch (result.kind) {
    case 'written':
      return `written: ${result.stat.path}, ${result.stat.size} bytes, version ${result.stat.version}, executed at n=${result.stat.modifiedSeq}`;
    case 'data':
      return result.text === null
        ? `${result.stat.path}: ${result.stat.size} bytes of binary data`
        : `${result.stat.path}: ${result.text}`;
    case 'deleted':
      return `deleted ${result.path}`;
    case 'revoked':
      return `revoked client ${result.client}: every replica refuses its requests`;
    case 'listing':
      return `${result.entries.length} file${result.entries.length === 1 ? '' : 's'} under ${result.dir}`;
    case 'stat':
      return `${result.stat.path}: ${result.stat.size} bytes, version ${result.stat.version}, last changed at n=${result.stat.modifiedSeq}`;
    case 'error':
      return `${result.code}: ${result.message}`;
  }
}

/** The sequence number an operation that changed a file was executed at (its Log row), if the result says. */
export function executedSeq(result: LabResult): number | null {
  return result.kind === 'written' ? result.stat.modifiedSeq : null;
}

export interface Acceptance {
  readonly matching: number;
  readonly needed: number;
  readonly accepted: boolean;
  readonly label: string;
}

/**
 * A client accepts a result once f+1 replicas sent the same committed one (§4.1): at least one of
 * them is correct; or once 2f+1 sent the same tentative one (§5.1): then it will commit.
 */
export function acceptance(matching: number, f: number, committed = true): Acceptance {
  const needed = committed ? f + 1 : 2 * f + 1;
  return {
    matching,
    needed,
    accepted: matching >= needed,
    label: `${matching} replica${matching === 1 ? '' : 's'} matched (${committed ? 'f+1' : '2f+1'} = ${needed} needed${committed ? '' : ', tentative'})`,
  };
}
