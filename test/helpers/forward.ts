/** For fixtures that start a server per test or per block (useStack, useFakeCodat, useSimulator). */

/** An object that forwards every property read to whatever `target()` is at that moment (methods bound to it). */
export function forwardTo<T extends object>(target: () => T | undefined, outside: string): T {
  // The target's shape, supplied by the get trap below.
  return new Proxy({} as T, {
    get(_shell, property) {
      const object = target();
      if (!object) throw new Error(outside);
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
