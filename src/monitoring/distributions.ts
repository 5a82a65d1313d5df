// The special functions behind the drift tests, computed as scipy 1.10 computes them so that
// p-values agree number for number: the normal distribution (cephes ndtr's branches), the
// regularized upper incomplete gamma (cephes igamc's domain split) for chi², the one-sided
// Smirnov and two-sided Kolmogorov distributions (scipy.stats.kstwo: Simard–L'Ecuyer's choice
// among Ruben–Gambino, Durbin–Marsaglia–Tsang–Wang, Pomeranz and Pelz–Good) and the exact
// two-sample K-S p-value (ks_2samp: Hodges' lattice paths, Viehmann's recursion).
// The algorithms follow scipy's; the code is written from their descriptions, in plain doubles
// with care where scipy uses double-double, which keeps every value within ~1e-12 of scipy's.

import { InputError } from "../common/errors.ts";

const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const EPS = 2 ** -53;
/** log(2^-1075): below this exp() is 0 (cephes MINLOG). */
const MIN_LOG = -745.1332191019412;
/** log(DBL_MAX): cephes erfc returns 0 when x² exceeds it. */
const MAX_LOG = 709.782712893384;
const TWO_128 = 2 ** 128;
const TWO_M128 = 2 ** -128;

function clip01(p: number): number {
  return Math.min(Math.max(p, 0), 1);
}

/** x · 2^e without intermediate overflow or underflow of 2^e. */
export function ldexp(x: number, e: number): number {
  let y = x;
  let rest = e;
  while (rest > 1000) {
    y *= 2 ** 1000;
    rest -= 1000;
  }
  while (rest < -1000) {
    y *= 2 ** -1000;
    rest += 1000;
  }
  return y * 2 ** rest;
}

/** Rounds half to even, as numpy.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Error function and the normal distribution

/** erf by its Maclaurin series; used for |x| ≤ 1 where the alternating terms stay below 1. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let k = 1; k < 100; k++) {
    term *= -x2 / k;
    const add = term / (2 * k + 1);
    sum += add;
    if (Math.abs(add) <= EPS * 0.25 * Math.abs(sum)) break;
  }
  return (2 / SQRT_PI) * sum;
}

/** exp(-x²) with x² split so that the rounding of x² does not cost x²·ε of relative error. */
function expMinusSquare(x: number): number {
  const split = 134217729 * x; // 2^27 + 1: Veltkamp split
  const hi = split - (split - x);
  const lo = x - hi;
  return Math.exp(-hi * hi) * Math.exp(-(2 * hi * lo + lo * lo));
}

/** erfc(x) for x ≥ 1 by its continued fraction (≤ ~190 terms; ~1e-14 relative error). */
function erfcPositive(x: number): number {
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) <= EPS) break;
  }
  return expMinusSquare(x) / (SQRT_PI * f);
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return -erf(-x);
  if (x <= 1) return erfSeries(x);
  return 1 - erfcPositive(x);
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax < 1) return 1 - erfSeries(x);
  if (ax * ax > MAX_LOG) return x < 0 ? 2 : 0;
  const y = erfcPositive(ax);
  return x < 0 ? 2 - y : y;
}

/** Φ(z), as scipy.special.ndtr: 0.5 + 0.5·erf near 0, 0.5·erfc in the tails. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const x = z * Math.SQRT1_2;
  const ax = Math.abs(x);
  if (ax < Math.SQRT1_2) return 0.5 + 0.5 * erf(x);
  const y = 0.5 * erfc(ax);
  return x > 0 ? 1 - y : y;
}

/** 1 − Φ(z) without cancellation (scipy.stats.norm.sf = ndtr(−z)). */
export function normalSf(z: number): number {
  return normalCdf(-z);
}

// ---------------------------------------------------------------------------------------------
// Gamma function and the regularized incomplete gamma

/** Stirling's correction lgamma(x) − [(x−½)log x − x + log√(2π)], for x ≥ 10. */
function stirlingCorrection(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  // Bernoulli numbers: B_{2j} / (2j(2j−1)), j = 1..8.
  return (
    r *
    (1 / 12 +
      r2 *
        (-1 / 360 +
          r2 *
            (1 / 1260 +
              r2 *
                (-1 / 1680 +
                  r2 *
                    (1 / 1188 + r2 * (-691 / 360360 + r2 * (1 / 156 + r2 * (-3617 / 122400))))))))
  );
}

/** log Γ(x) for x > 0 (absolute error ~1e-15 below 10, relative ~1e-16 above). */
export function lgamma(x: number): number {
  if (!(x > 0)) throw new InputError(`lgamma: expected a positive argument, got ${x}`);
  if (x === Number.POSITIVE_INFINITY) return x;
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + LOG_SQRT_2PI + stirlingCorrection(x);
  let product = 1;
  let y = x;
  while (y < 10) {
    product *= y;
    y += 1;
  }
  return (y - 0.5) * Math.log(y) - y + LOG_SQRT_2PI + stirlingCorrection(y) - Math.log(product);
}

/** log(1 + x) − x, accurate for small |x| as well. */
export function log1pmx(x: number): number {
  if (Math.abs(x) > 0.5) return Math.log1p(x) - x;
  // log(1+x) = 2·atanh(u), u = x/(2+x); 2u − x = −x²/(2+x).
  const u = x / (2 + x);
  const u2 = u * u;
  let power = u * u2;
  let sum = 0;
  for (let k = 3; k < 200; k += 2) {
    const term = power / k;
    sum += term;
    if (Math.abs(term) <= EPS * 0.25 * Math.abs(sum)) break;
    power *= u2;
  }
  return (-x * x) / (2 + x) + 2 * sum;
}

/** x^a e^{-x} / Γ(a), through Stirling's form when a is large so that nothing cancels. */
function gammaDensityFactor(a: number, x: number): number {
  let logValue: number;
  if (a >= 10) {
    logValue = a * log1pmx((x - a) / a) + 0.5 * Math.log(a) - LOG_SQRT_2PI - stirlingCorrection(a);
  } else {
    logValue = a * Math.log(x) - x - lgamma(a);
  }
  if (logValue < MIN_LOG) return 0;
  return Math.exp(logValue);
}

const GAMMA_MAXITER = 100000;

/** P(a, x) by its power series (DLMF 8.11.4). */
function lowerGammaSeries(a: number, x: number): number {
  const factor = gammaDensityFactor(a, x);
  if (factor === 0) return 0;
  let r = a;
  let c = 1;
  let sum = 1;
  for (let i = 0; i < GAMMA_MAXITER; i++) {
    r += 1;
    c *= x / r;
    sum += c;
    if (c <= EPS * sum) break;
  }
  return (sum * factor) / a;
}

/** Q(a, x) by its continued fraction (DLMF 8.9.2), for x > a. */
function upperGammaFraction(a: number, x: number): number {
  const factor = gammaDensityFactor(a, x);
  if (factor === 0) return 0;
  // Modified Lentz on Q = factor / (x + 1 − a − 1·(1−a)/(x + 3 − a − 2·(2−a)/(x + 5 − a − …))).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_MAXITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) <= EPS) break;
  }
  return factor * h;
}

/** Q(a, x) for small x by DLMF 8.7.3, avoiding the cancellation of 1 − P. */
function upperGammaSmallX(a: number, x: number): number {
  let fac = 1;
  let sum = 0;
  for (let n = 1; n < GAMMA_MAXITER; n++) {
    fac *= -x / n;
    const term = fac / (a + n);
    sum += term;
    if (Math.abs(term) <= EPS * Math.abs(sum)) break;
  }
  const logx = Math.log(x);
  return -Math.expm1(a * logx - lgamma(1 + a)) - Math.exp(a * logx - lgamma(a)) * sum;
}

/** The regularized upper incomplete gamma Q(a, x) (scipy.special.gammaincc, cephes igamc). */
export function gammaincc(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x)) return Number.NaN;
  if (a < 0 || x < 0) throw new InputError(`gammaincc: expected a ≥ 0 and x ≥ 0, got ${a}, ${x}`);
  if (a === 0) return x > 0 ? 0 : Number.NaN;
  if (x === 0) return 1;
  if (a === Number.POSITIVE_INFINITY) return x === Number.POSITIVE_INFINITY ? Number.NaN : 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (x > 1.1) return x < a ? 1 - lowerGammaSeries(a, x) : upperGammaFraction(a, x);
  if (x <= 0.5) {
    return -0.4 / Math.log(x) < a ? 1 - lowerGammaSeries(a, x) : upperGammaSmallX(a, x);
  }
  return x * 1.1 < a ? 1 - lowerGammaSeries(a, x) : upperGammaSmallX(a, x);
}

/** The chi-square survival function (scipy.stats.chi2.sf = chdtrc(df, x) = Q(df/2, x/2)). */
export function chi2Sf(x: number, df: number): number {
  if (!(df > 0) || !Number.isFinite(df)) {
    throw new InputError(`chi2Sf: expected positive finite degrees of freedom, got ${df}`);
  }
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  return clip01(gammaincc(df / 2, x / 2));
}

// ---------------------------------------------------------------------------------------------
// One-sided Smirnov distribution

/** The product of two doubles as an exact sum hi + lo (Dekker). */
function twoProduct(a: number, b: number): [number, number] {
  const p = a * b;
  const sa = 134217729 * a;
  const ah = sa - (sa - a);
  const al = a - ah;
  const sb = 134217729 * b;
  const bh = sb - (sb - b);
  const bl = b - bh;
  const err = ah * bh - p + ah * bl + al * bh + al * bl;
  return [p, err];
}

/** (hi + lo)^m for a number given as an unevaluated sum, hi > 0. */
function powSum(hi: number, lo: number, m: number): number {
  return hi ** m * Math.exp(m * Math.log1p(lo / hi));
}

/**
 * P(D⁺_n ≥ d), the one-sided Smirnov survival function (scipy.special.smirnov), by the
 * Birnbaum–Tingey sum of positive terms (in logarithms, so nothing overflows).
 */
export function smirnovSf(n: number, d: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new InputError(`smirnovSf: expected a positive integer n, got ${n}`);
  }
  if (Number.isNaN(d) || d < 0 || d > 1) return Number.NaN;
  if (n === 1) return 1 - d;
  if (d === 0) return 1;
  if (d === 1) return 0;
  const [nxHi, nxLo] = twoProduct(n, d);
  let nxFloor = Math.floor(nxHi);
  if (nxFloor === nxHi && nxLo < 0) nxFloor -= 1;
  let alpha = nxHi - nxFloor + nxLo;
  if (alpha >= 1) {
    nxFloor += 1;
    alpha = 0;
  }
  let lastTerm = n - nxFloor - (alpha === 0 ? 0 : 1);
  if (alpha === 0) lastTerm -= 1;
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    const cdf = d * powSum(1, d, n - 1);
    return clip01(1 - cdf);
  }
  if (-2 * n * d * d < MIN_LOG) return 0;
  if (nxFloor >= n - 1) {
    const oneMinus = 1 - d;
    const lo = 1 - oneMinus - d;
    return clip01(powSum(oneMinus, lo, n));
  }
  if (n > 1_000_000) {
    const logp = -((6 * n * d + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  // sf = d · Σ_{v=0}^{lastTerm} C(n,v) (d + v/n)^(v−1) (1 − d − v/n)^(n−v)
  let binomMantissa = 1;
  let binomExponent = 0; // C(n, v) = binomMantissa · 2^binomExponent
  let sum = 0;
  const terms = lastTerm + 1;
  const middle = Math.floor(n / 2);
  for (let v = 0; v < terms; v++) {
    const t1 = (v + nxHi + nxLo) / n;
    const t2 = (n - v - nxHi - nxLo) / n;
    const logTerm =
      Math.log(binomMantissa) +
      binomExponent * Math.LN2 +
      (v - 1) * Math.log(t1) +
      (n - v) * Math.log(t2);
    const term = logTerm < MIN_LOG ? 0 : Math.exp(logTerm);
    sum += term;
    if (v > 0) {
      if (term !== 0) {
        if (4 * (terms - v) * term < EPS * sum && v !== terms - 1) break;
      } else if (v > middle) {
        break;
      }
    }
    binomMantissa *= (n - v) / (v + 1);
    if (binomMantissa > 2 ** 500) {
      binomMantissa *= 2 ** -500;
      binomExponent += 500;
    } else if (binomMantissa < 2 ** -500) {
      binomMantissa *= 2 ** 500;
      binomExponent -= 500;
    }
  }
  return clip01(d * sum);
}

// ---------------------------------------------------------------------------------------------
// Two-sided one-sample Kolmogorov distribution (scipy.stats.kstwo)

/** log(n! / n^n) by Stirling's series. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const x = rn / n;
  const series =
    8.333333333333333e-2 +
    x *
      (-2.777777777777778e-3 +
        x *
          (7.936507936507937e-4 +
            x *
              (-5.952380952380952e-4 +
                x *
                  (8.417508417508417e-4 +
                    x *
                      (-1.917526917526918e-3 +
                        x * (6.41025641025641e-3 + x * -2.955065359477124e-2))))));
  return Math.log(n) / 2 - n + LOG_SQRT_2PI + rn * series;
}

function matMul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k] as number;
      if (aik === 0) continue;
      const row = k * m;
      const outRow = i * m;
      for (let j = 0; j < m; j++)
        out[outRow + j] = (out[outRow + j] as number) + aik * (b[row + j] as number);
    }
  }
  return out;
}

/** P(D_n ≤ d) by Durbin's matrix in Marsaglia–Tsang–Wang's form. */
function kolmogorovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (v[j - 1] as number) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)] as number;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] as number;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] as number;

  let power: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let nn = n;
  let exponent = 0;
  let hExponent = 0;
  while (nn > 0) {
    if (nn % 2) {
      power = matMul(power, H, m);
      exponent += hExponent;
    }
    H = matMul(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)] as number) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) / TWO_128;
      hExponent += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + (k - 1)] as number;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_M128) {
      p *= TWO_128;
      exponent -= 128;
    }
  }
  if (exponent !== 0) p = ldexp(p, exponent);
  return clip01(p);
}

function pomeranzBounds(
  i: number,
  n: number,
  ll: number,
  ceilf: number,
  roundf: number,
): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n ≤ d) by Pomeranz's recursion. */
function kolmogorovCdfPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let exponent = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] as number) * gOverN) / m;
    twogpower[m] = ((twogpower[m - 1] as number) * twoGOverN) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] as number) * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const start = k1 - V0s;
      const aLength = Math.max(0, Math.min(ln2, npwrs - start));
      const convStart = j1 - k1;
      const convLength = j2 - j1 + 1;
      let max = 0;
      for (let out = 0; out < convLength; out++) {
        const idx = convStart + out;
        let s = 0;
        const lo = Math.max(0, idx - (ln2 - 1));
        const hi = Math.min(idx, aLength - 1);
        for (let a = lo; a <= hi; a++) s += (V0[start + a] as number) * (pwrs[idx - a] as number);
        V1[out] = s;
        if (s > max) max = s;
      }
      if (max > 0 && max < TWO_M128) {
        for (let q = 0; q < npwrs; q++) V1[q] = (V1[q] as number) * TWO_128;
        exponent -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let answer = V1[n - V1s] as number;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > TWO_128) {
      answer *= TWO_M128;
      exponent += 128;
    }
    answer *= m;
  }
  if (exponent !== 0) answer = ldexp(answer, exponent);
  return clip01(answer);
}

/** P(D_n ≤ x) by Pelz and Good's asymptotic series. */
function kolmogorovCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const PI2 = Math.PI * Math.PI;
  const PI4 = PI2 * PI2;
  const PI6 = PI4 * PI2;
  const SQRT2PI = Math.sqrt(2 * Math.PI);
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = q ** (8 * k);
    const coeffs = [
      1,
      k1a + k1b * m2,
      k2a + k2b * m2 + k2c * m4,
      k3a + k3b * m2 + k3c * m4 + k3d * m6,
    ];
    for (let i = 0; i < 4; i++) K[i] = (K[i] as number) * qpower + (coeffs[i] as number);
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = ((K[i] as number) * q * SQRT2PI) / (divisors[i] as number);
  q = Math.exp(-PI2 / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    const kpi = Math.PI * k;
    k2extra += k2 * qp;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2] = (K[2] as number) + (k2extra * PI2 * SQRT2PI) / (-36 * z3);
  K[3] = (K[3] as number) + (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += (K[i] as number) / n ** (i / 2);
  return sum;
}

/** The survival function of kstwo for d strictly inside (0.5/n, 1), as scipy's _kolmogn. */
function kolmogorovSfInner(n: number, x: number): number {
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - clip01(prob));
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip01(1 - kolmogorovCdfDurbin(n, x));
    if (nxSquared <= 4) return clip01(1 - kolmogorovCdfPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nxSquared >= 18) cdf = 1;
  else if (n <= 100000 && n * x ** 1.5 <= 1.4) cdf = kolmogorovCdfDurbin(n, x);
  else cdf = kolmogorovCdfPelzGood(n, x);
  return clip01(1 - clip01(cdf));
}

/** scipy.stats.kstwo.sf(d, n): P(D_n ≥ d) for the two-sided one-sample K-S statistic. */
export function kstwoSf(d: number, n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new InputError(`kstwoSf: expected a positive integer n, got ${n}`);
  }
  if (Number.isNaN(d)) return Number.NaN;
  if (d <= 0.5 / n) return 1;
  if (d >= 1) return 0;
  return kolmogorovSfInner(n, d);
}

// ---------------------------------------------------------------------------------------------
// Exact two-sample K-S (scipy.stats._stats_py._attempt_exact_2kssamp, two-sided)

export function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** P(D_{n,n} ≥ h/n), for two samples of the same size (Hodges' alternating sum in Horner form). */
function outsideSquareProbability(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/** The share of lattice paths from (0,0) to (m,n) leaving |x/m − y/n| < h/lcm (Viehmann's recursion). */
function outsideStripProbability(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const offset = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + offset] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] as number;
}

/**
 * The exact two-sided p-value of the two-sample K-S statistic d for sizes n1, n2, as scipy's
 * _attempt_exact_2kssamp: d is first snapped to the lattice (h / lcm(n1, n2)), which is the
 * statistic scipy reports. Undefined when the computation fails (scipy then uses kstwo).
 */
export function ks2SampExactPValue(
  d: number,
  n1: number,
  n2: number,
): { statistic: number; pValue: number } | undefined {
  if (!Number.isInteger(n1) || !Number.isInteger(n2) || n1 < 1 || n2 < 1) {
    throw new InputError(`ks2SampExactPValue: expected positive integer sizes, got ${n1}, ${n2}`);
  }
  if (!(d >= 0 && d <= 1)) {
    throw new InputError(`ks2SampExactPValue: expected a statistic in [0, 1], got ${d}`);
  }
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const prob = n1 === n2 ? outsideSquareProbability(n1, h) : outsideStripProbability(n1, n2, g, h);
  if (!(prob >= 0 && prob <= 1)) return undefined;
  return { statistic, pValue: prob };
}
