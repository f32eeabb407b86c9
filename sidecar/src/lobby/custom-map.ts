/**
 * Dictionaries keyed by custom attribute names (`x-<key>` without the prefix).
 *
 * Every key matching CUSTOM_KEY_PATTERN must be an ordinary key, `__proto__` and `constructor`
 * included. A plain `{}` gets that wrong twice: assigning `obj['__proto__'] = 'a'` calls the
 * inherited prototype setter (a string is ignored, so the attribute vanishes), and reading
 * `obj['constructor']` on a map without that key returns `Object`. These maps have no prototype
 * and every entry is defined as an own data property; read them with `ownValue`.
 * `JSON.stringify` writes them like any object (an own `"__proto__"` key included), and
 * `JSON.parse` on the other side gives it back as an own property.
 */

/** A null-prototype object holding `entries` as own enumerable properties (later duplicates win). */
export function customMap<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** `map[key]` when it is the map's own property; undefined otherwise (never an inherited member). */
export function ownValue<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}
