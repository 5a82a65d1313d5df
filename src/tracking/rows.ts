// Small helpers the tracking and registry stores share to turn SQL rows into entities: ids in
// chunks for IN lists, child rows grouped by owner, and the last value given per key.

/** Ids per IN list. */
const ID_CHUNK = 5000;

export function chunks<T>(items: T[], size = ID_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function lastByKey<T extends { key: string }>(items: T[]): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(item.key, item);
  return [...byKey.values()];
}
