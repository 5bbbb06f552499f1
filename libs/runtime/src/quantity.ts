/**
 * Kubernetes resource quantities (`500m`, `2`, `1Gi`, `1.5G`, `1e3`), as defined by
 * k8s.io/apimachinery/pkg/api/resource (Quantity): a signed decimal number followed by a binary
 * suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m "" k M G T P E) or a decimal exponent.
 */
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const MULTIPLIERS: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** Whether `text` is a well-formed Kubernetes quantity. */
export function isQuantity(text: string): boolean {
  return typeof text === 'string' && QUANTITY.test(text);
}

/**
 * The value of a quantity in base units: cores for CPU (`500m` → 0.5), bytes for memory and
 * storage (`1Gi` → 1073741824).
 * @throws RangeError when `text` is not a quantity
 */
export function parseQuantity(text: string): number {
  const match = QUANTITY.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a Kubernetes quantity (e.g. 500m, 2, 1Gi)`);
  const [, number, suffix = ''] = match;
  if (/^[eE]/.test(suffix)) return Number(`${number}${suffix}`);
  return Number(number) * MULTIPLIERS[suffix];
}

/** A CPU quantity in whole millicores, rounded up (`0.25` → 250, `1` → 1000). */
export function toMillicores(text: string): number {
  return Math.ceil(parseQuantity(text) * 1000 - 1e-9);
}

/** A memory or storage quantity in whole bytes, rounded up. */
export function toBytes(text: string): number {
  return Math.ceil(parseQuantity(text) - 1e-9);
}
