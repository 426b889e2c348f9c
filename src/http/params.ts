/**
 * Reading request parameters: a query-string value is a string, an array (a
 * repeated key) or absent. These helpers turn them into what the handlers
 * need, or a UserInputError that names the parameter.
 */
import { UserInputError } from '../core/errors.js';
import type { Lang } from '../core/types.js';

/** The single string value of a parameter ('' when absent); a repeated key is a user error. */
export function str(query: Record<string, unknown>, name: string): string {
  const v = query[name];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new UserInputError('bad_parameter', `Give "${name}" once, as text`);
  return v;
}

/** A whole-number parameter within [min, max], or the default when absent/empty. */
export function int(query: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const s = str(query, name).trim();
  if (s === '') return def;
  if (!/^\d+$/.test(s)) throw new UserInputError('bad_parameter', `"${name}" must be a whole number from ${min} to ${max}`);
  const n = Number(s);
  if (n < min || n > max) throw new UserInputError('bad_parameter', `"${name}" must be a whole number from ${min} to ${max}`);
  return n;
}

/** `lang` parameter: zh, en, or undefined when absent. */
export function lang(query: Record<string, unknown>): Lang | undefined {
  const s = str(query, 'lang');
  if (s === '') return undefined;
  if (s !== 'zh' && s !== 'en') throw new UserInputError('bad_parameter', '"lang" must be zh or en');
  return s;
}

/** A boolean flag given as 1/0/true/false (absent → default). */
export function flag(query: Record<string, unknown>, name: string, def: boolean): boolean {
  const s = str(query, name);
  if (s === '') return def;
  if (s === '1' || s === 'true') return true;
  if (s === '0' || s === 'false') return false;
  throw new UserInputError('bad_parameter', `"${name}" must be 1 or 0`);
}
