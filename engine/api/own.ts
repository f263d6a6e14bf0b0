/**
 * Sets `o[name]` as an own property, also for the name `__proto__`, which an assignment would take
 * as the object's prototype: data (JSON fields, header names) may use any name.
 */
export function setOwn<T>(o: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(o, name, { value, enumerable: true, writable: true, configurable: true });
  else o[name] = value;
}
