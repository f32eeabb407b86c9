/** Types for dns-packet@5.6.1's `types.js` (type name ↔ code), which @types/dns-packet does not cover. */
declare module 'dns-packet/types.js' {
  /** `'A'` → 1, `'UNKNOWN_65'` → 65, `'ANY'` → 255; 0 for unknown names. */
  export function toType(name: string): number;
  /** 1 → `'A'`, 65 → `'UNKNOWN_65'`. */
  export function toString(type: number): string;
  const types: { toType: typeof toType; toString: typeof toString };
  export default types;
}
